"""Atoms bound to a centre that does not diffuse: the S of a PS4 unit, the O of a PO4 or SiO4 unit.

A reorienting polyanion moves its outer atoms by up to twice the bond length (S of PS4: 3–4 Å in 10 ps), and
the plain MSD of such atoms can pass every check of a diffusive regime over a short run. Their long-range D is
their centre's. An atom is *bound* when one atom of a centre species stays within a bond length of it in every
one of up to `N_FRAMES` evenly spaced frames: its displacement is then at most the centre's plus two bond
lengths, at every lag. A bond length is `TOLERANCE` × the sum of the covalent radii (ASE; P–S 2.44 Å, Si–O
2.04 Å, Li–S 2.68 Å).

`restate_if_bound` turns a diffusive plain-MSD summary entry of a species with bound atoms into a non-diffusive
one (the same fit, kept under D_fit) with `bound_to` and `bound_fraction`: with all atoms bound the long-range D
is the centre's; with some the plain MSD mixes bounded and free motion, and its slope is not the species' D.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from ase.data import atomic_numbers, covalent_radii
from ase.geometry import get_distances

#: frames checked (evenly spaced, first and last included)
N_FRAMES = 40
#: bond length = TOLERANCE × (r_cov,i + r_cov,j)
TOLERANCE = 1.15


def bond_length(a: str, b: str) -> float:
    """The largest distance (Å) at which `a` and `b` count as bound."""
    return TOLERANCE * float(covalent_radii[atomic_numbers[a]] + covalent_radii[atomic_numbers[b]])


def bound_atoms(source, species: str, centres: Iterable[str], n_frames: int = N_FRAMES) -> dict[str, np.ndarray]:
    """Which atoms of `species` stay bound to one atom of each centre species throughout the run.

    source: a Trajectory or FrameSource. Returns {centre species: boolean mask over the atoms of `species`} for the
    centre species present (other than `species` itself) with at least one bound atom.
    """
    from ..trajectory.blocks import open_trajectory

    src = open_trajectory(source)
    idx = src.indices(species)
    frames = np.unique(np.linspace(0, src.n_frames - 1, min(n_frames, src.n_frames)).astype(int))
    centres = [c for c in centres if c != species and c in src.species]
    positions = [src.read_positions(None, int(k), int(k) + 1)[0] for k in frames] if centres else []  # read once
    found: dict[str, np.ndarray] = {}
    for centre in centres:
        cidx = src.indices(centre)
        cutoff = bond_length(species, centre)
        partner = None  # each atom's nearest centre atom in the first frame
        bound = np.ones(idx.size, dtype=bool)
        for k, pos in zip(frames, positions, strict=True):
            _, dist = get_distances(pos[idx], pos[cidx], cell=src.cells[k], pbc=True)
            near = dist.argmin(axis=1)
            partner = near if partner is None else partner
            bound &= (dist[np.arange(idx.size), near] <= cutoff) & (near == partner)
        if bound.any():
            found[centre] = bound
    return found


def restate_if_bound(entry: dict, bound: dict[str, np.ndarray], regime_key: str) -> dict:
    """A plain-MSD summary entry (`results.nonnegative_fields` fields and a regime flag under `regime_key`) of a
    species with bound atoms (`bound_atoms`): unchanged when none is bound; otherwise the same fit restated as not
    diffusive (D null, its fit under D_fit), the regime flag False, "bound_to" the centre species and
    "bound_fraction" the fraction of the species' atoms bound to any of them.
    """
    from ..results import fit_value, nonnegative_fields

    if not bound:
        return entry
    any_bound = np.logical_or.reduce(list(bound.values()))
    restated = nonnegative_fields(*fit_value(entry), regime_ok=False)
    return {
        **entry,
        **restated,
        regime_key: False,
        "bound_to": sorted(bound),
        "bound_fraction": float(any_bound.mean()),
    }


def check_bound(source, entries: dict[str, dict], carriers: Iterable[str], regime_key: str) -> dict[str, dict]:
    """Every diffusive species entry of `entries` ({species: plain-MSD entry}) other than the `carriers`, restated
    by `restate_if_bound` against the centres among the non-diffusive species (carriers excluded). Returns the
    new entries (the others as they were).
    """
    carriers = set(carriers)
    centres = [s for s, e in entries.items() if s not in carriers and not e[regime_key]]
    out = dict(entries)
    for s, e in entries.items():
        if s in carriers or not e[regime_key] or not centres:
            continue
        out[s] = restate_if_bound(e, bound_atoms(source, s, centres), regime_key)
    return out


__all__ = ["bond_length", "bound_atoms", "check_bound", "restate_if_bound", "N_FRAMES", "TOLERANCE"]
