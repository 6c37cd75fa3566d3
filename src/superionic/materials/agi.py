"""α-AgI, the archetypal superionic conductor (stable above 420 K).

Source: Strock, Z. Phys. Chem. B 25, 441 (1934); neutron refinement Cava, Reidinger, Wuensch,
Solid State Commun. 24, 411 (1977): Im-3m (No. 229), a = 5.07 Å (≈ 440 K): I on 2a (0, 0, 0) – a bcc
anion lattice; Ag disordered over the 12 tetrahedral 12d sites (1/4, 0, 1/2), occupancy 1/6.
Ag is resolved by the `disorder` rule (2 Ag per conventional cell, at least `exclusion` Å apart).
"""

from __future__ import annotations

from ase import Atoms

from .sites import Site, build_from_sites

AGI_SITES = [
    Site("I", {"I": 1.0}, (0.0, 0.0, 0.0)),
    Site("Ag", {"Ag": 1 / 6}, (0.25, 0.0, 0.5)),
]
AGI_CELL = (5.07, 5.07, 5.07, 90, 90, 90)


def alpha_agi(supercell=(1, 1, 1), disorder: str = "approximant", seed: int = 0) -> Atoms:
    """α-AgI (Im-3m, a = 5.07 Å) repeated to `supercell`, Ag placed by the `disorder` rule at least 2.5 Å apart."""
    atoms = build_from_sites(
        AGI_SITES, 229, AGI_CELL, supercell=supercell, mode=disorder, seed=seed, exclusion=2.5, mobile=("Ag",)
    )
    atoms.info["material"] = "alpha-AgI"
    return atoms
