"""Halide Li-ion conductors from published crystal structures.

LiAlCl4 – G. Mairesse, P. Barbier, J.-P. Vignacourt, "Lithium tetrachloroaluminate, LiAlCl4",
  Cryst. Struct. Commun. 6, 15 (1977); Crystallography Open Database entry 1004036. Single-crystal X-ray
  structure: P2₁/c (No. 14, unique axis b), a = 7.007 Å, b = 6.504 Å, c = 12.995 Å, β = 93.32°,
  V = 591.2 Å³, Z = 4. Six sites, all 4e and fully occupied: Al (0.70588, 0.32198, 0.89924),
  Cl1 (0.69400, 0.18329, 0.04695), Cl2 (0.80902, 0.62835, 0.92849), Cl3 (0.92580, 0.18160, 0.81372),
  Cl4 (0.43947, 0.31364, 0.81280), Li (0.15688, 0.98308, 0.36658): Li4Al4Cl16, 24 atoms. Isolated AlCl4
  tetrahedra (Al–Cl 2.12–2.15 Å) with Li in distorted octahedra of Cl (Li–Cl 2.45–2.82 Å). Checked here through those bonds,
  the density and the space group, see tests. A modest Li conductor (0.17 mS/cm at 333 K for the
  mechanochemically made compound, docs/screening.md): a low end for a screen's ranking.
"""

from __future__ import annotations

from ase import Atoms

from .sites import Site, build_from_sites

LIALCL4_SITES = [
    Site("Al", {"Al": 1.0}, (0.70588, 0.32198, 0.89924)),
    Site("Cl1", {"Cl": 1.0}, (0.69400, 0.18329, 0.04695)),
    Site("Cl2", {"Cl": 1.0}, (0.80902, 0.62835, 0.92849)),
    Site("Cl3", {"Cl": 1.0}, (0.92580, 0.18160, 0.81372)),
    Site("Cl4", {"Cl": 1.0}, (0.43947, 0.31364, 0.81280)),
    Site("Li", {"Li": 1.0}, (0.15688, 0.98308, 0.36658)),
]
LIALCL4_CELL = (7.007, 6.504, 12.995, 90, 93.32, 90)


def lialcl4(supercell=(1, 1, 1)) -> Atoms:
    """Monoclinic LiAlCl4 (P2₁/c), fully ordered (see module doc)."""
    atoms = build_from_sites(LIALCL4_SITES, 14, LIALCL4_CELL, supercell=supercell)
    atoms.info["material"] = "LiAlCl4"
    return atoms
