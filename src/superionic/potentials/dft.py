"""Density-functional theory as a teacher: CP2K (Quickstep, Gaussian and plane waves) through ASE.

`DFTSettings` holds every choice that determines the labels (functional, dispersion, basis set,
pseudopotentials, density cutoffs, k-points, SCF tolerance, smearing); its `key()` is the hash that
labelled data carry, so labels made with other settings are never mixed. `cp2k_calculator` builds
ASE's CP2K calculator (a persistent ``cp2k_shell`` process) from them.

Default: PBE with Grimme's D3(BJ) dispersion, DZVP-MOLOPT-SR-GTH basis, GTH-PBE pseudopotentials,
400 Ry density cutoff (relative cutoff 50 Ry), Γ point, Fermi–Dirac smearing at 300 K (the SCF of the
argyrodite cells oscillates without it), EPS_SCF 1e-6. The convergence of these choices is measured by
``scripts/dft_convergence.py`` and stated in docs/dft.md. Units: energies eV, forces eV/Å, stress eV/Å³.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from ase.calculators.cp2k import CP2K

from ..errors import InputError


class TeacherFailed(InputError):
    """The teacher gave no trustworthy label for one configuration (e.g. its SCF did not converge)."""


CP2K_SHELL = ("cp2k_shell.psmp", "cp2k_shell.ssmp", "cp2k_shell")
DISPERSIONS = ("D3(BJ)", "D3", None)


def cp2k_executable() -> str | None:
    """The first CP2K shell binary on PATH (or $SUPERIONIC_CP2K), or None."""
    env = os.environ.get("SUPERIONIC_CP2K")
    if env:
        return env
    for name in CP2K_SHELL:
        if shutil.which(name):
            return name
    return None


@functools.cache
def cp2k_version() -> str | None:
    """CP2K's version string (e.g. '2023.1'), read once from ``cp2k.<flavour> --version``; None if unknown."""
    exe = cp2k_executable()
    if exe is None:
        return None
    main = shutil.which(exe.replace("cp2k_shell", "cp2k")) or shutil.which("cp2k")
    if main is None:
        return None
    try:
        out = subprocess.run([main, "--version"], capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r"CP2K version\s+(\S+)", out)
    return m.group(1) if m else None


@dataclass(frozen=True)
class DFTSettings:
    """Every choice that determines a DFT label (CP2K Quickstep)."""

    functional: str = "PBE"
    dispersion: str | None = "D3(BJ)"
    basis: str = "DZVP-MOLOPT-SR-GTH"
    basis_file: str = "BASIS_MOLOPT"
    pseudopotential: str = "GTH-PBE"
    pseudopotential_file: str = "GTH_POTENTIALS"
    cutoff_ry: float = 400.0  # plane-wave density cutoff, Ry
    rel_cutoff_ry: float = 50.0  # Gaussians mapped onto the grid level with this cutoff, Ry
    kpoints: tuple[int, int, int] | None = None  # Monkhorst–Pack mesh; None = Γ point only
    eps_scf: float = 1e-6  # SCF convergence (Hartree, CP2K's EPS_SCF)
    max_scf: int = 200
    smearing_K: float = 300.0  # Fermi–Dirac electronic temperature, K (0 = no smearing)
    added_mos: int = 40
    mixing_alpha: float = 0.2  # Broyden mixing

    def __post_init__(self) -> None:
        if self.dispersion not in DISPERSIONS:
            raise InputError(f"dispersion {self.dispersion!r}: choose D3(BJ), D3 or none")
        if self.cutoff_ry <= 0 or self.rel_cutoff_ry <= 0:
            raise InputError("DFT cutoffs must be > 0 Ry")
        if self.eps_scf <= 0 or self.max_scf < 1:
            raise InputError("eps_scf must be > 0 and max_scf ≥ 1")
        if self.kpoints is not None and (len(self.kpoints) != 3 or min(self.kpoints) < 1):
            raise InputError(f"kpoints must be three integers ≥ 1, not {self.kpoints}")

    def key(self) -> str:
        """16-hex hash of the settings: labels with different keys are never mixed."""
        return hashlib.sha256(json.dumps(self.as_dict(), sort_keys=True).encode()).hexdigest()[:16]

    def as_dict(self) -> dict[str, Any]:
        """The settings as plain JSON-able values (k-points as a list, plus the code's name)."""
        d = asdict(self)
        d["kpoints"] = list(self.kpoints) if self.kpoints else None
        d["code"] = "CP2K"
        return d

    def label(self) -> str:
        """Short human name, e.g. 'PBE-D3(BJ)/DZVP-MOLOPT-SR-GTH/400 Ry/Γ'."""
        k = "Γ" if self.kpoints is None else "×".join(map(str, self.kpoints))
        disp = f"-{self.dispersion}" if self.dispersion else ""
        return f"{self.functional}{disp}/{self.basis}/{self.cutoff_ry:g} Ry/{k}"

    def with_(self, **changes: Any) -> DFTSettings:
        """A copy with some settings changed."""
        return replace(self, **changes)

    def input_text(self) -> str:
        """The CP2K input sections ASE does not write itself (SCF, smearing, dispersion, k-points)."""
        smear = ""
        if self.smearing_K > 0:
            smear = (
                "      &SMEAR ON\n        METHOD FERMI_DIRAC\n"
                f"        ELECTRONIC_TEMPERATURE {self.smearing_K:g}\n      &END SMEAR\n"
            )
        scf = (
            "    &SCF\n"
            f"      EPS_SCF {self.eps_scf:.3E}\n"
            "      SCF_GUESS ATOMIC\n"
            f"      ADDED_MOS {self.added_mos}\n"
            f"{smear}"
            "      &DIAGONALIZATION\n        ALGORITHM STANDARD\n      &END DIAGONALIZATION\n"
            "      &MIXING\n        METHOD BROYDEN_MIXING\n"
            f"        ALPHA {self.mixing_alpha:g}\n        NBROYDEN 8\n      &END MIXING\n"
            "    &END SCF\n"
        )
        vdw = ""
        if self.dispersion:
            kind = "DFTD3(BJ)" if self.dispersion == "D3(BJ)" else "DFTD3"
            vdw = (
                "    &XC\n      &VDW_POTENTIAL\n        POTENTIAL_TYPE PAIR_POTENTIAL\n"
                f"        &PAIR_POTENTIAL\n          TYPE {kind}\n          PARAMETER_FILE_NAME dftd3.dat\n"
                f"          REFERENCE_FUNCTIONAL {self.functional}\n        &END PAIR_POTENTIAL\n"
                "      &END VDW_POTENTIAL\n    &END XC\n"
            )
        kp = ""
        if self.kpoints is not None:
            kp = (
                "    &KPOINTS\n"
                f"      SCHEME MONKHORST-PACK {' '.join(map(str, self.kpoints))}\n"
                "      SYMMETRY OFF\n      FULL_GRID ON\n    &END KPOINTS\n"
            )
        grid = f"    &MGRID\n      REL_CUTOFF {self.rel_cutoff_ry:g}\n    &END MGRID\n"
        return f"&FORCE_EVAL\n  &DFT\n{grid}{scf}{vdw}{kp}  &END DFT\n&END FORCE_EVAL\n"


DEFAULT_DFT = DFTSettings()
# the default with a 2×2×2 mesh: forces converged in k-points to 0.002 eV/Å for the 52-atom Li6PS5Cl cell (docs/dft.md)
DFT_K222 = DEFAULT_DFT.with_(kpoints=(2, 2, 2))


class CheckedCP2K(CP2K):
    """ASE's CP2K calculator that refuses a result whose SCF did not converge (CP2K itself only warns)."""

    def calculate(self, *args: Any, **kwargs: Any) -> None:
        """Run CP2K; raise `TeacherFailed` if this calculation's output reports an unconverged SCF."""
        out = Path(f"{self.label}.out")
        start = out.stat().st_size if out.exists() else 0
        super().calculate(*args, **kwargs)
        with open(out, "rb") as fh:
            fh.seek(start)
            text = fh.read().decode(errors="replace")
        if "SCF run NOT converged" in text:
            raise TeacherFailed(
                f"CP2K's SCF did not converge within {self.parameters.max_scf} steps (see {out}); this configuration gets no label"
            )


def cp2k_calculator(
    settings: DFTSettings = DEFAULT_DFT, directory: str | Path | None = None, threads: int | None = None, **_: Any
):
    """ASE's CP2K calculator for `settings`; its files go to `directory` (a new temporary folder by default).

    threads: OpenMP threads of the CP2K process (default: $OMP_NUM_THREADS, else every core).
    The calculator keeps one ``cp2k_shell`` process; the next configuration starts from the previous
    wavefunction when the atoms only moved.
    """
    exe = cp2k_executable()
    if exe is None:
        raise InputError(
            "the DFT teacher needs CP2K: apt-get install cp2k (Debian/Ubuntu), or set SUPERIONIC_CP2K to a cp2k_shell"
        )
    from ase.units import Rydberg

    folder = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="superionic-cp2k-"))
    folder.mkdir(parents=True, exist_ok=True)
    n = threads or int(os.environ.get("OMP_NUM_THREADS", 0) or os.cpu_count() or 1)
    return CheckedCP2K(
        command=f"OMP_NUM_THREADS={n} {exe}",
        label=str(folder / "cp2k"),
        xc=settings.functional,
        basis_set=settings.basis,
        basis_set_file=settings.basis_file,
        pseudo_potential=settings.pseudopotential,
        potential_file=settings.pseudopotential_file,
        cutoff=settings.cutoff_ry * Rydberg,
        max_scf=settings.max_scf,
        inp=settings.input_text(),
        stress_tensor=True,
        print_level="LOW",
    )
