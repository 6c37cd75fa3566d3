"""Li6PS5Cl argyrodite (F-43m, No. 216) builders, with S/Cl site exchange, Li arrangement and Cl excess.

Setting (shared/SCIENCE.md §6; Deiseroth et al., Angew. Chem. Int. Ed. 47, 755 (2008), and the Li6PS5Cl
refinements summarised in SCIENCE.md): P 4b (½,½,½); S1 16e (x,x,x) x = 0.62 forming PS4 tetrahedra
(P–S ≈ 2.05 Å); "free" S2 on 4c (¼,¼,¼); Cl on 4a (0,0,0); Li on half of the 48h sites (x,x,z), x = 0.31,
z = 0.025. a = 9.859 Å. The 48h sites pair into close doublets; twelve sites form a cage around each 4c
anion.

Parameters (all applied in the requested supercell, so disorder is not periodic with the unit cell):

* ``exchange`` – S/Cl site-exchange fraction: the fraction of 4c sites holding Cl (the same number of 4a
  sites then hold S). 0 = ordered anions (Cl on 4a), 0.5 = fully random, 1 = inverted.
* ``x`` – Cl excess of Li6−xPS5−xCl1+x: round(x·n_fu) free S²⁻ on 4c become Cl⁻, and the same number of Li
  are removed (charge compensation by Li vacancies).
* ``li`` – Li arrangement: ``ordered`` keeps the lower-indexed site of every 48h doublet (the ordered
  approximant, Li24P4S20Cl4, 52 atoms per cell; indices from ase.spacegroup.crystal's site order);
  ``random`` keeps one site per doublet chosen at random (seeded).
* ``seed`` – seed of every random choice. With ``exchange``/``x`` the S/Cl choice and the vacancy
  positions follow the `disorder` rule: farthest-point (deterministic) when li='ordered', seeded random
  otherwise.
"""

from __future__ import annotations

import warnings

import numpy as np
from ase import Atoms
from ase.spacegroup import crystal

from ..errors import InputError
from .disorder import select_sites

A_LI6PS5CL = 9.859  # Å, room-temperature lattice parameter


def li6ps5cl_full_sites(a: float = A_LI6PS5CL, x_s: float = 0.62, x_li: float = 0.31, z_li: float = 0.025) -> Atoms:
    """All crystallographic sites, 48h fully occupied (Li48, unphysical; input for the approximant)."""
    atoms = crystal(
        ["P", "S", "S", "Cl", "Li"],
        basis=[(0.5, 0.5, 0.5), (x_s, x_s, x_s), (0.25, 0.25, 0.25), (0.0, 0.0, 0.0), (x_li, x_li, z_li)],
        spacegroup=216,
        cellpar=[a, a, a, 90, 90, 90],
        primitive_cell=False,
    )
    labels = np.array(["P4b", "S16e", "S4c", "Cl4a", "Li48h"])
    atoms.arrays["site_kind"] = labels[atoms.arrays.pop("spacegroup_kinds")]
    return atoms


def li_doublets(atoms: Atoms) -> list[tuple[int, int]]:
    """Pairs of Li sites that form the close 48h doublets (each site's nearest Li neighbour)."""
    li = np.flatnonzero(np.array(atoms.get_chemical_symbols()) == "Li")
    pairs: set[tuple[int, int]] = set()
    for i in li:
        d = atoms.get_distances(i, li, mic=True)
        d[li == i] = np.inf
        j = int(li[np.argmin(d)])
        pairs.add((min(i, j), max(i, j)))
    return sorted(pairs)


def li6ps5cl(
    supercell=(1, 1, 1),
    exchange: float = 0.0,
    li: str = "ordered",
    x: float = 0.0,
    seed: int = 0,
    a: float = A_LI6PS5CL,
) -> Atoms:
    """Li6−xPS5−xCl1+x in a supercell with S/Cl exchange and Li arrangement (see module docstring)."""
    exchange, x = float(exchange), float(x)
    if not 0.0 <= exchange <= 1.0:
        raise InputError(
            f"S/Cl site-exchange fraction must lie in [0, 1] (fraction of 4c sites holding Cl), got {exchange}"
        )
    if not 0.0 <= x < 1.0:
        raise InputError(f"Cl excess x of Li6-xPS5-xCl1+x must lie in [0, 1), got {x}")
    if li not in ("ordered", "random"):
        raise InputError(f"Li arrangement must be 'ordered' or 'random', got {li!r}")
    if li == "ordered" and seed != 0:
        # found when two 'exchange=0.5,seed=1' and 'seed=2' studies turned out to be the same run, bit for bit
        warnings.warn(
            f"seed={seed} changes nothing with li='ordered': the S/Cl sites and Li vacancies are then chosen "
            "farthest-point (deterministic). For another random configuration use li=random with the seed.",
            RuntimeWarning,
            stacklevel=2,
        )
    rng = np.random.default_rng(seed)
    mode = "approximant" if li == "ordered" else "random"
    full = li6ps5cl_full_sites(a).repeat(tuple(supercell))
    kinds = full.arrays["site_kind"]
    sym = np.array(full.get_chemical_symbols(), dtype=object)
    s4c, cl4a = np.flatnonzero(kinds == "S4c"), np.flatnonzero(kinds == "Cl4a")
    n_fu = len(s4c)
    n_x = int(round(x * n_fu))
    if x > 0 and n_x == 0:
        raise InputError(
            f"x = {x} is below one substitution in this supercell ({n_fu} formula units): use a larger supercell"
        )
    # Cl excess: n_x free S on 4c become Cl
    extra = select_sites(full, s4c, n_x, mode=mode, rng=rng)
    sym[extra] = "Cl"
    rest4c = np.setdiff1d(s4c, extra)
    # site exchange among the remaining 4c S and the 4a Cl
    n_ex = int(round(exchange * len(rest4c)))
    if exchange > 0 and n_ex == 0:
        raise InputError(
            f"exchange = {exchange} is below one swap in this supercell ({len(rest4c)} 4c S): use a larger supercell"
        )
    cl_on_4c = select_sites(full, rest4c, n_ex, mode=mode, rng=rng)
    s_on_4a = select_sites(full, cl4a, n_ex, placed=cl_on_4c, mode=mode, rng=rng)
    sym[cl_on_4c], sym[s_on_4a] = "Cl", "S"
    # Li: one site of every 48h doublet
    pairs = np.array(li_doublets(full))
    li_all = np.flatnonzero(kinds == "Li48h")
    if len(pairs) * 2 != len(li_all):
        raise InputError("48h sites did not pair into doublets (wrong site parameters)")
    pick = np.zeros(len(pairs), int) if li == "ordered" else rng.integers(0, 2, len(pairs))
    li_keep = pairs[np.arange(len(pairs)), pick]
    # Li vacancies compensating the Cl excess
    vac = select_sites(full, li_keep, n_x, mode=mode, rng=rng) if n_x else np.array([], int)
    li_keep = np.setdiff1d(li_keep, vac)
    keep = np.sort(np.concatenate([np.flatnonzero(kinds != "Li48h"), li_keep]))
    full.set_chemical_symbols(list(sym))
    atoms = full[keep]
    n_cl = int(np.sum(np.array(atoms.get_chemical_symbols()) == "Cl"))
    atoms.info.update(
        material="Li6PS5Cl",
        exchange=n_ex / max(len(rest4c), 1),
        li_arrangement=li,
        x=n_x / n_fu,
        seed=seed,
        requested_exchange=exchange,
        requested_x=x,
        formula_units=n_fu,
        n_cl=n_cl,
    )
    return atoms


def li6ps5cl_ordered(a: float = A_LI6PS5CL) -> Atoms:
    """Ordered approximant Li24P4S20Cl4 (52 atoms): one Li of each 48h doublet, the lower-indexed one."""
    atoms = li6ps5cl(a=a)
    atoms.info["material"] = "Li6PS5Cl (ordered approximant)"
    return atoms
