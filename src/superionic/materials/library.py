"""Named materials and supercells."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
from ase import Atoms

from ..errors import InputError
from .argyrodite import li6ps5cl_ordered

MATERIALS: dict[str, Callable[[], Atoms]] = {
    "Li6PS5Cl": li6ps5cl_ordered,
}


def parse_supercell(spec: str | tuple[int, int, int] | list[int] | None) -> tuple[int, int, int]:
    """'2x2x2' / [2, 2, 2] / None → (2, 2, 2) / (1, 1, 1)."""
    if spec is None:
        return (1, 1, 1)
    if isinstance(spec, str):
        try:
            parts = tuple(int(x) for x in spec.lower().split("x"))
        except ValueError:
            parts = ()
    else:
        parts = tuple(int(x) for x in spec)
    if len(parts) != 3 or min(parts) < 1:
        raise InputError(f"supercell must look like 2x2x2 (three positive integers), got {spec!r}")
    return parts  # type: ignore[return-value]


def build_material(name_or_file: str, supercell=None) -> Atoms:
    """A named material from the library, or any structure file ASE reads (CIF, POSCAR …), repeated."""
    if name_or_file in MATERIALS:
        atoms = MATERIALS[name_or_file]()
    elif Path(name_or_file).exists():
        import ase.io
        atoms = ase.io.read(name_or_file)
    else:
        raise InputError(f"unknown material {name_or_file!r}: not in the library "
                         f"({', '.join(MATERIALS)}) and not a file")
    reps = parse_supercell(supercell)
    if reps != (1, 1, 1):
        info = dict(atoms.info)
        atoms = atoms.repeat(reps)
        atoms.info.update(info)
    atoms.info["supercell"] = list(reps)
    atoms.wrap()
    return atoms


def formula(atoms: Atoms) -> str:
    syms = atoms.get_chemical_symbols()
    return "".join(f"{s}{syms.count(s)}" for s in dict.fromkeys(syms))


def min_distance(atoms: Atoms) -> float:
    d = atoms.get_all_distances(mic=True)
    return float(np.min(d[np.triu_indices(len(atoms), 1)]))
