"""Li6PS5Cl argyrodite (F-43m, No. 216) builders.

Setting (shared/SCIENCE.md §6): P 4b (½,½,½); S1 16e (x,x,x) x = 0.62 forming PS4 tetrahedra
(P–S ≈ 2.05 Å); "free" S2 on 4c (¼,¼,¼); Cl on 4a (0,0,0); Li on half of the 48h sites (x,x,z),
x = 0.31, z = 0.025. The 48h sites pair into close doublets (Li–Li ≈ 1.9 Å); twelve sites form a cage
around each 4c anion. The *ordered approximant* keeps one site of every doublet: Li24P4S20Cl4,
52 atoms per conventional cell. Positions after Deiseroth et al., Angew. Chem. Int. Ed. 47, 755 (2008),
and the Li6PS5Cl refinements summarised in SCIENCE.md.
"""

from __future__ import annotations

import numpy as np
from ase import Atoms
from ase.spacegroup import crystal

A_LI6PS5CL = 9.859  # Å, room-temperature lattice parameter


def li6ps5cl_full_sites(a: float = A_LI6PS5CL, x_s: float = 0.62, x_li: float = 0.31,
                        z_li: float = 0.025) -> Atoms:
    """All crystallographic sites, 48h fully occupied (Li48, unphysical; input for the approximant)."""
    return crystal(
        ["P", "S", "S", "Cl", "Li"],
        basis=[(0.5, 0.5, 0.5), (x_s, x_s, x_s), (0.25, 0.25, 0.25), (0.0, 0.0, 0.0), (x_li, x_li, z_li)],
        spacegroup=216,
        cellpar=[a, a, a, 90, 90, 90],
        primitive_cell=False,
    )


def li_doublets(atoms: Atoms) -> list[tuple[int, int]]:
    """Pairs of Li sites that form the close 48h doublets (each site's nearest Li neighbour)."""
    li = np.flatnonzero(np.array(atoms.get_chemical_symbols()) == "Li")
    d = atoms.get_distances(li[0], li, mic=True)
    pairs: set[tuple[int, int]] = set()
    for i in li:
        d = atoms.get_distances(i, li, mic=True)
        d[li == i] = np.inf
        j = int(li[np.argmin(d)])
        pairs.add((min(i, j), max(i, j)))
    return sorted(pairs)


def li6ps5cl_ordered(a: float = A_LI6PS5CL) -> Atoms:
    """Ordered approximant Li24P4S20Cl4 (52 atoms): one Li of each 48h doublet, the lower-indexed one.

    Raises AssertionError if the doublet pairing is not one-to-one (wrong site parameters).
    """
    full = li6ps5cl_full_sites(a)
    pairs = li_doublets(full)
    li = np.flatnonzero(np.array(full.get_chemical_symbols()) == "Li")
    assert len(pairs) * 2 == len(li), "48h sites did not pair into doublets"
    drop = [j for _, j in pairs]
    keep = [i for i in range(len(full)) if i not in set(drop)]
    atoms = full[keep]
    atoms.info["material"] = "Li6PS5Cl (ordered approximant)"
    return atoms
