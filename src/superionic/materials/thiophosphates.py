"""Thiophosphate electrolytes: Li10GeP2S12 (LGPS) and β-Li3PS4.

Li10GeP2S12 – Kamaya, Homma, Yamakawa, Hirayama, Kanno, Kato, Hama, Kawamoto, Mitsui,
  Nat. Mater. 10, 682 (2011), doi:10.1038/nmat3066: P4_2/nmc (No. 137, origin choice 1), a = 8.71771 Å,
  c = 12.6338 Å, Z = 2. Ge/P share 4d (0.5/0.5); P2 on 2b; S1–S3 on 8g; Li1 16h (occ. 0.691),
  Li2 4d (occ. 1), Li3 8f (occ. 0.643). Ordered-approximant rule for Li: the 16h sites come in pairs
  1.46 Å apart, so at most one Li per pair (Li1 occupancy 1/2) and the remaining Li fill 8f (occupancy 1):
  8 + 4 + 8 = 20 Li per cell, the published Li content (published occupancies in
  `LGPS_PUBLISHED_OCCUPANCY`). The Ge/P ordering on 4d and the choice within each 16h pair follow the
  `disorder` rule (approximant: farthest-point; random: seeded). Li20Ge2P4S24: 50 atoms per cell.
  Coordinates entered from the published table (transcription checked here through the P–S, Ge–S and
  Li–S bond lengths and the host space group, see tests).

β-Li3PS4 (Homma et al., Solid State Ionics 182, 53 (2011), Pnma) is not in the library yet: its P and S
coordinates could not be verified offline here (Li sites: 8d (0.3562, 0.013, 0.439) full, 4b occ. 0.7,
4c (0.999, 0.25, 0.889) occ. 0.3). Load it from a CIF with `build_material("beta-Li3PS4.cif", disorder=...)`.
"""

from __future__ import annotations

from ase import Atoms

from .sites import Site, build_from_sites

LGPS_SITES = [
    Site("Ge1/P1", {"Ge": 0.5, "P": 0.5}, (0.0, 0.5, 0.6935)),
    Site("P2", {"P": 1.0}, (0.0, 0.0, 0.5)),
    Site("S1", {"S": 1.0}, (0.0, 0.1901, 0.4083)),
    Site("S2", {"S": 1.0}, (0.0, 0.2903, 0.0947)),
    Site("S3", {"S": 1.0}, (0.0, 0.6923, 0.7885)),
    Site("Li1", {"Li": 0.5}, (0.2504, 0.2650, 0.1931)),
    Site("Li2", {"Li": 1.0}, (0.0, 0.5, 0.9429)),
    Site("Li3", {"Li": 1.0}, (0.2628, 0.2628, 0.0)),
]
LGPS_PUBLISHED_OCCUPANCY = {"Li1 (16h)": 0.691, "Li2 (4d)": 1.0, "Li3 (8f)": 0.643}
LGPS_CELL = (8.71771, 8.71771, 12.6338, 90, 90, 90)

def li10gep2s12(supercell=(1, 1, 1), disorder: str = "approximant", seed: int = 0) -> Atoms:
    """Li10GeP2S12 (LGPS), ordered by the `disorder` rule in the given supercell."""
    atoms = build_from_sites(LGPS_SITES, 137, LGPS_CELL, setting=1, supercell=supercell, mode=disorder, seed=seed)
    atoms.info["material"] = "Li10GeP2S12"
    return atoms
