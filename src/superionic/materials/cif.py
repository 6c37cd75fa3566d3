"""Any CIF (or other ASE-readable file) as a structure; partial occupancies need an explicit disorder choice.

ASE reads the CIF with its fractional occupancies (`atoms.info['occupancy']`, per-atom site tag). A file
with partial or mixed occupancies is refused unless `disorder` is given ('approximant' or 'random',
see `disorder`): silently picking one species per site would change the composition.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from ase import Atoms

from ..errors import InputError
from .disorder import MODES, resolve_occupancies


def read_structure(
    path: str | Path, supercell=(1, 1, 1), disorder: str | None = None, seed: int = 0, exclusion: float | None = None
) -> Atoms:
    """Read a structure file; resolve partial occupancies in the supercell by `disorder` (or refuse)."""
    import ase.io

    path = Path(path)
    try:
        atoms = ase.io.read(path)
    except Exception as err:  # ASE raises many types for unreadable files
        raise InputError(f"could not read structure file {path}: {err}") from err
    occ = atoms.info.get("occupancy")
    partial = bool(occ) and any(len(v) > 1 or any(float(f) < 1 - 1e-6 for f in v.values()) for v in occ.values())
    if not partial:
        atoms = atoms.repeat(tuple(supercell))
        atoms.info["source_file"] = str(path)
        for k in ("occupancy", "spacegroup"):
            atoms.info.pop(k, None)
        return _clean(atoms)
    if disorder is None:
        bad = {k: v for k, v in occ.items() if len(v) > 1 or any(float(f) < 1 - 1e-6 for f in v.values())}
        raise InputError(
            f"{path.name} has partially occupied sites {_fmt(bad)}: choose how to order them with "
            f"disorder='approximant' (deterministic, farthest-point) or disorder='random' (seeded); "
            f"CLI: MATERIAL:disorder=approximant"
        )
    if disorder not in MODES:
        raise InputError(f"unknown disorder mode {disorder!r}; choose one of {', '.join(MODES)}")
    if "spacegroup_kinds" not in atoms.arrays:
        raise InputError(
            f"{path.name}: ASE returned no site labels for the partial occupancies; "
            "convert the file to a standard CIF with symmetry operations"
        )
    atoms.arrays["site_kind"] = np.array([str(t) for t in atoms.arrays.pop("spacegroup_kinds")])
    atoms = atoms.repeat(tuple(supercell))
    occupancy = {str(k): {s: float(f) for s, f in v.items()} for k, v in occ.items()}
    out = resolve_occupancies(
        atoms, atoms.arrays["site_kind"], occupancy, mode=disorder, seed=seed, exclusion=exclusion
    )
    out.info["source_file"] = str(path)
    return _clean(out)


def _clean(atoms: Atoms) -> Atoms:
    for k in ("spacegroup_kinds",):
        atoms.arrays.pop(k, None)
    atoms.info.pop("occupancy", None)
    atoms.info.pop("spacegroup", None)
    atoms.set_tags(0)
    return atoms


def _fmt(occ: dict) -> str:
    return "; ".join(f"site {k}: " + ", ".join(f"{s} {float(f):.3g}" for s, f in v.items()) for k, v in occ.items())
