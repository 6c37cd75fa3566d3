"""Sanity checks every library structure passes (and any structure can be put through).

* composition – the reduced formula equals the expected one;
* charge neutrality – Σ formal charges = 0 (table `FORMAL_CHARGES`, overridable);
* shortest distances – every pair of species is farther apart than a per-pair bound, by default
  `BOUND_FACTOR` × (covalent radius A + covalent radius B) (ASE radii), overridable per pair;
* host framework – the space group (spglib) of the non-mobile atoms, with species that share sites
  (S/Cl in argyrodites, Ge/P in LGPS) merged, equals the published one.
"""

from __future__ import annotations

from functools import reduce
from math import gcd

import numpy as np
from ase import Atoms
from ase.data import atomic_numbers, covalent_radii

from ..errors import InputError

FORMAL_CHARGES: dict[str, int] = {
    "Li": 1,
    "Na": 1,
    "K": 1,
    "Ag": 1,
    "Cu": 1,
    "Mg": 2,
    "Ca": 2,
    "Zn": 2,
    "Al": 3,
    "Ga": 3,
    "Y": 3,
    "La": 3,
    "In": 3,
    "Sc": 3,
    "Zr": 4,
    "Ge": 4,
    "Si": 4,
    "Sn": 4,
    "Ti": 4,
    "Hf": 4,
    "Ta": 5,
    "Nb": 5,
    "P": 5,
    "Sb": 5,
    "As": 5,
    "B": 3,
    "O": -2,
    "S": -2,
    "Se": -2,
    "Te": -2,
    "F": -1,
    "Cl": -1,
    "Br": -1,
    "I": -1,
    "N": -3,
}
BOUND_FACTOR = 0.7


def formal_charge(atoms: Atoms, charges: dict[str, int] | None = None) -> int:
    """Total formal charge (e) from `FORMAL_CHARGES` updated by `charges`; InputError for an element without one."""
    table = dict(FORMAL_CHARGES, **(charges or {}))
    missing = sorted({s for s in atoms.get_chemical_symbols() if s not in table})
    if missing:
        raise InputError(f"no formal charge known for {missing}: pass charges={{'X': q}}")
    return int(sum(table[s] for s in atoms.get_chemical_symbols()))


def reduced_formula(atoms_or_counts) -> dict[str, int]:
    """{species: count} of Atoms or of a count mapping, divided by the greatest common divisor of the counts."""
    if isinstance(atoms_or_counts, Atoms):
        syms = atoms_or_counts.get_chemical_symbols()
        counts = {s: syms.count(s) for s in dict.fromkeys(syms)}
    else:
        counts = dict(atoms_or_counts)
    g = reduce(gcd, counts.values())
    return {s: n // g for s, n in counts.items()}


def pair_min_distances(atoms: Atoms, cutoff: float = 4.0) -> dict[tuple[str, str], float]:
    """Shortest distance (Å, minimum image) for every species pair closer than `cutoff`; keys sorted."""
    from ase.neighborlist import neighbor_list

    i, j, d = neighbor_list("ijd", atoms, cutoff)
    species, t = np.unique(np.array(atoms.get_chemical_symbols()), return_inverse=True)
    n = len(species)
    best = np.full(n * n, np.inf)
    np.minimum.at(best, np.minimum(t[i], t[j]) * n + np.maximum(t[i], t[j]), d)
    return {(str(species[k // n]), str(species[k % n])): float(best[k]) for k in np.flatnonzero(np.isfinite(best))}


def pair_bound(a: str, b: str, bounds: dict | None = None) -> float:
    """Shortest allowed a–b distance (Å): the pair's `bounds` entry (either order), else BOUND_FACTOR × the sum
    of the covalent radii.
    """
    key = tuple(sorted((a, b)))
    if bounds and key in {tuple(sorted(k)) for k in bounds}:
        return float({tuple(sorted(k)): v for k, v in bounds.items()}[key])
    return BOUND_FACTOR * (covalent_radii[atomic_numbers[a]] + covalent_radii[atomic_numbers[b]])


def host_spacegroup(
    atoms: Atoms, mobile=("Li",), merge: list[tuple[str, ...]] | None = None, symprec: float = 1e-2
) -> tuple[int, str]:
    """(number, symbol) of the space group of the non-mobile atoms, species in each `merge` group unified."""
    import spglib

    keep = ~np.isin(atoms.get_chemical_symbols(), list(mobile))
    if not keep.any():
        raise InputError("the structure has no host atoms (all are mobile)")
    sym = np.array(atoms.get_chemical_symbols())[keep]
    numbers = np.array([atomic_numbers[s] for s in sym])
    for group in merge or []:
        numbers[np.isin(sym, list(group))] = atomic_numbers[group[0]]
    cell = (np.asarray(atoms.cell), atoms.get_scaled_positions()[keep], numbers)
    ds = spglib.get_symmetry_dataset(cell, symprec=symprec)
    if ds is None:
        raise InputError("spglib could not determine the host symmetry")
    return int(ds.number), str(ds.international)


def check_structure(
    atoms: Atoms,
    *,
    formula: dict[str, float] | str | None = None,
    spacegroup: int | None = None,
    mobile=("Li",),
    merge: list[tuple[str, ...]] | None = None,
    bounds: dict | None = None,
    charges: dict[str, int] | None = None,
    neutral: bool = True,
) -> dict:
    """Run the sanity checks; raise InputError naming the first failure, else return a report dict."""
    report: dict = {"formula": atoms.get_chemical_formula(), "n_atoms": len(atoms)}
    if formula is not None:
        want = _parse_formula(formula) if isinstance(formula, str) else dict(formula)
        have = reduced_formula(atoms)
        if reduced_formula({k: v for k, v in want.items() if v}) != have:
            raise InputError(f"composition {have} differs from the expected {want}")
    q = formal_charge(atoms, charges)
    report["formal_charge"] = q
    if neutral and q != 0:
        raise InputError(
            f"structure {atoms.get_chemical_formula()} carries formal charge {q:+d}: adjust the "
            "composition (vacancies / substitution with compensation)"
        )
    dmin = pair_min_distances(atoms)
    for (a, b), d in dmin.items():
        lim = pair_bound(a, b, bounds)
        if d < lim:
            raise InputError(f"atoms too close: {a}–{b} {d:.2f} Å < bound {lim:.2f} Å")
    report["min_distances"] = {f"{a}-{b}": round(d, 3) for (a, b), d in sorted(dmin.items())}
    if spacegroup is not None:
        num, symb = host_spacegroup(atoms, mobile, merge)
        report["host_spacegroup"] = f"{symb} ({num})"
        if num != spacegroup:
            raise InputError(f"host framework has space group {symb} ({num}), expected {spacegroup}")
    return report


def _parse_formula(s: str) -> dict[str, float]:
    import re

    out: dict[str, float] = {}
    for el, n in re.findall(r"([A-Z][a-z]?)([0-9.]*)", s):
        out[el] = out.get(el, 0) + (float(n) if n else 1.0)
    return {k: int(round(v)) if abs(v - round(v)) < 1e-9 else v for k, v in out.items()}
