#!/usr/bin/env bash
# Install the declared minimum versions of the dependencies whose APIs we rely on (ASE's Bussi and
# Nosé–Hoover-chain thermostats, spglib's dataset attributes, phonopy's result objects) into a throw-away
# venv on top of the installed project, and run the tests that use them. Usage: bash scripts/check_minimum_versions.sh
set -euo pipefail
cd "$(dirname "$0")/.."
venv="$(mktemp -d)/minvenv"
python3 -m venv --system-site-packages "$venv"
ase_min=$(python3 -c "import re,tomllib;d=tomllib.load(open('pyproject.toml','rb'))['project']['dependencies'];print(next(re.search(r'>=([\d.]+)',x).group(1) for x in d if x.startswith('ase')))")
spglib_min=$(python3 -c "import re,tomllib;d=tomllib.load(open('pyproject.toml','rb'))['project']['dependencies'];print(next(re.search(r'>=([\d.]+)',x).group(1) for x in d if x.startswith('spglib')))")
phonopy_min=$(python3 -c "import re,tomllib;d=tomllib.load(open('pyproject.toml','rb'))['project']['dependencies'];print(next(re.search(r'>=([\d.]+)',x).group(1) for x in d if x.startswith('phonopy')))")
"$venv/bin/pip" install -q "ase==$ase_min" "spglib==$spglib_min" "phonopy==$phonopy_min"
"$venv/bin/python" -c "import ase, spglib, phonopy; print('ase', ase.__version__, 'spglib', spglib.__version__, 'phonopy', phonopy.__version__)"
"$venv/bin/python" -m pytest -q -p no:cacheprovider tests/test_md.py tests/test_materials.py tests/test_checkpoint.py \
    tests/test_harmonic.py -k "not lammps and not snap"
