"""Build a structure from published Wyckoff positions (ase.spacegroup.crystal), partial occupancies resolved.

`Site(label, species, xyz)` with species {symbol: occupancy}. `build_from_sites` expands every site with
the space group (all sites present, one atom per site, labelled by `site_kind`), repeats to the supercell
and resolves partial/mixed occupancies with `disorder.resolve_occupancies` (approximant or random rule).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ase import Atoms
from ase.spacegroup import crystal

from .disorder import resolve_occupancies


@dataclass(frozen=True)
class Site:
    """One published Wyckoff site: `label`, `species` {symbol: occupancy}, fractional coordinates `xyz`."""

    label: str
    species: dict
    xyz: tuple

    @property
    def partial(self) -> bool:
        """True when the site is mixed or not fully occupied."""
        return len(self.species) > 1 or any(f < 1 for f in self.species.values())


def all_sites(
    sites: list[Site], spacegroup: int, cellpar, setting: int = 1, supercell=(1, 1, 1)
) -> tuple[Atoms, np.ndarray]:
    """Every site of the published structure (majority species on each), repeated; plus the site labels."""
    symbols = [max(s.species, key=s.species.get) for s in sites]
    atoms = crystal(
        symbols,
        basis=[s.xyz for s in sites],
        spacegroup=spacegroup,
        setting=setting,
        cellpar=list(cellpar),
        primitive_cell=False,
        onduplicates="error",
    )
    kinds = np.array([sites[k].label for k in atoms.arrays["spacegroup_kinds"]])
    del atoms.arrays["spacegroup_kinds"]
    atoms.arrays["site_kind"] = kinds
    atoms = atoms.repeat(tuple(supercell))
    return atoms, atoms.arrays["site_kind"].copy()


def build_from_sites(
    sites: list[Site],
    spacegroup: int,
    cellpar,
    *,
    setting: int = 1,
    supercell=(1, 1, 1),
    mode: str = "approximant",
    seed: int = 0,
    exclusion: float | None = None,
    mobile=("Li", "Na", "Ag", "Cu"),
) -> Atoms:
    """The ordered structure: all sites expanded, repeated, partial occupancies resolved by `mode`."""
    atoms, kinds = all_sites(sites, spacegroup, cellpar, setting, supercell)
    occ = {s.label: dict(s.species) for s in sites}
    out = resolve_occupancies(atoms, kinds, occ, mode=mode, seed=seed, exclusion=exclusion, mobile=mobile)
    out.arrays["site_kind"] = np.asarray(out.arrays["site_kind"]).astype("U16")
    return out
