"""Ordered approximants and random realisations of partially occupied crystallographic sites.

Input: a structure holding *every* site of the published structure (e.g. from `ase.spacegroup.crystal`
with all Wyckoff positions, already repeated to the supercell), with `site_kind[i]` naming the
crystallographic site of atom i and `occupancy[kind] = {species: fraction}`.

Counts: each kind with n sites in the cell gets round(fraction × n) atoms of each species (largest
remainder within the kind so that the counts never exceed n); if the result is not charge neutral,
the count of the partially occupied mobile-ion kind with the largest rounding residue is moved by one
until it is (`fix_charge`).

Which sites (documented rule):

* ``approximant`` – deterministic farthest-point selection: fully occupied kinds first, then partial
  kinds in order of increasing multiplicity (fewest sites first); within a kind, repeatedly take the site whose distance to the nearest already placed atom of
  the same species is largest (ties → lowest index). This spreads partially occupied ions as far apart
  as possible (the electrostatically sensible ordered approximant of a disordered site).
* ``random`` – uniformly random sites (NumPy generator with the given seed), rejecting any site closer
  than `exclusion` Å (default: the sanity-check bound of that pair, `checks.pair_bound`) to an already
  placed atom of the same species (random sequential addition, retried
  with fresh draws); reproducible for a fixed seed.

Mixed sites (two species sharing a site, e.g. Ge/P on LGPS 4d, S/Cl in argyrodites) are split the same
way: the minority species is placed first by the rule, the rest of the kind takes the majority species.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from ase import Atoms

from ..errors import InputError

MODES = ("approximant", "random")


def _dist_matrix(atoms: Atoms, idx: np.ndarray, others: np.ndarray) -> np.ndarray:
    if len(others) == 0:
        return np.full((len(idx), 0), np.inf)
    from ase.geometry import get_distances

    return get_distances(atoms.positions[idx], atoms.positions[others], cell=atoms.cell, pbc=atoms.pbc)[1]


def select_sites(
    atoms: Atoms,
    candidates: Sequence[int],
    n: int,
    *,
    placed: Sequence[int] = (),
    mode: str = "approximant",
    rng: np.random.Generator | None = None,
    exclusion: float = 0.0,
    tries: int = 200,
) -> np.ndarray:
    """Choose n of `candidates` (atom indices) by `mode`, keeping away from `placed` atoms (see module doc)."""
    cand = np.asarray(candidates, dtype=int)
    if not 0 <= n <= len(cand):
        raise InputError(f"cannot place {n} atoms on {len(cand)} sites")
    if n == 0:
        return np.array([], dtype=int)
    placed = np.asarray(placed, dtype=int)
    if mode == "approximant":
        dmin = _dist_matrix(atoms, cand, placed).min(axis=1) if len(placed) else np.full(len(cand), np.inf)
        chosen: list[int] = []
        free = np.ones(len(cand), bool)
        full = _dist_matrix(atoms, cand, cand)
        for _ in range(n):
            score = np.where(free, dmin, -np.inf)
            k = int(np.argmax(score))  # inf (nothing placed yet) beats finite; ties → lowest index
            if score[k] < exclusion:
                raise InputError(
                    f"cannot place {n} atoms on {len(cand)} sites at least {exclusion} Å apart "
                    "(farthest-point rule): use a larger supercell or a smaller exclusion"
                )
            chosen.append(k)
            free[k] = False
            dmin = np.minimum(dmin, full[:, k])
        return cand[np.array(chosen)]
    if mode == "random":
        if rng is None:
            raise InputError("random site selection needs a seed")
        full = _dist_matrix(atoms, cand, cand)
        base_ok = (
            (_dist_matrix(atoms, cand, placed).min(axis=1) >= exclusion) if len(placed) else np.ones(len(cand), bool)
        )
        for _ in range(tries):
            ok = base_ok.copy()
            chosen = []
            for k in rng.permutation(len(cand)):
                if ok[k]:
                    chosen.append(k)
                    ok &= full[:, k] >= exclusion
                    if len(chosen) == n:
                        return cand[np.sort(np.array(chosen))]
        raise InputError(
            f"could not place {n} atoms on {len(cand)} sites at least {exclusion} Å apart "
            f"in {tries} random attempts: use a larger supercell or mode='approximant'"
        )
    raise InputError(f"unknown disorder mode {mode!r}; choose one of {', '.join(MODES)}")


def _counts(fracs: dict[str, float], n: int) -> dict[str, int]:
    raw = {s: f * n for s, f in fracs.items()}
    counts = {s: int(np.floor(v + 1e-9)) for s, v in raw.items()}
    room = n - sum(counts.values())
    for s in sorted(raw, key=lambda s: -(raw[s] - counts[s])):
        if room <= 0:
            break
        if raw[s] - counts[s] >= 0.5 - 1e-9:
            counts[s] += 1
            room -= 1
    return counts


def resolve_occupancies(
    atoms: Atoms,
    site_kind: Sequence,
    occupancy: dict,
    *,
    mode: str = "approximant",
    seed: int = 0,
    exclusion: float | None = None,
    mobile: Sequence[str] = ("Li", "Na", "Ag", "Cu"),
    fix_charge: bool = True,
    charges: dict[str, int] | None = None,
) -> Atoms:
    """One ordered configuration of a structure whose sites carry fractional occupancies (module doc)."""
    from .checks import FORMAL_CHARGES, pair_bound

    if mode not in MODES:
        raise InputError(f"unknown disorder mode {mode!r}; choose one of {', '.join(MODES)}")
    rng = np.random.default_rng(seed)
    kinds = np.asarray(site_kind)
    table = dict(FORMAL_CHARGES, **(charges or {}))
    plan: dict = {}
    for kind in dict.fromkeys(kinds.tolist()):
        fr = {s: float(f) for s, f in occupancy[kind].items() if f > 0}
        if sum(fr.values()) > 1 + 1e-6:
            raise InputError(f"site {kind}: occupancies {fr} sum to more than 1")
        plan[kind] = (fr, _counts(fr, int(np.sum(kinds == kind))))
    if fix_charge:
        _fix_charge(plan, kinds, table, mobile)
    keep_species: dict[int, str] = {}
    # fully occupied kinds first, then partial kinds with the fewest sites (the most specific) first
    order = sorted(plan, key=lambda k: (sum(plan[k][0].values()) < 1 - 1e-9, int(np.sum(kinds == k)), str(k)))
    for kind in order:
        fr, counts = plan[kind]
        idx = np.flatnonzero(kinds == kind)
        free = idx.copy()
        species = sorted(counts, key=lambda s: (counts[s], s))  # minority species first
        for n_done, s in enumerate(species):
            if n_done == len(species) - 1 and sum(counts.values()) == len(idx):
                chosen = free  # the majority species fills what is left of a fully occupied (mixed) site
            else:
                placed = [i for i, sp in keep_species.items() if sp == s]
                excl = (exclusion if exclusion is not None else pair_bound(s, s)) if s in mobile else 0.0
                chosen = select_sites(atoms, free, counts[s], placed=placed, mode=mode, rng=rng, exclusion=excl)
            for i in chosen:
                keep_species[int(i)] = s
            free = np.setdiff1d(free, chosen)
    keep = np.array(sorted(keep_species))
    out = atoms[keep]
    out.set_chemical_symbols([keep_species[int(i)] for i in keep])
    for k in ("spacegroup_kinds",):
        if k in out.arrays:
            del out.arrays[k]
    out.info = dict(atoms.info)
    out.info.update(disorder_mode=mode, disorder_seed=seed if mode == "random" else None)
    return out


def _fix_charge(plan: dict, kinds: np.ndarray, table: dict, mobile: Sequence[str]) -> None:
    def charge() -> float:
        return sum(table.get(s, 0) * c for fr, counts in plan.values() for s, c in counts.items())

    for _ in range(1000):
        q = charge()
        if q == 0:
            return
        best = None
        for kind, (fr, counts) in plan.items():
            n = int(np.sum(kinds == kind))
            for s, f in fr.items():
                if s not in mobile or f >= 1 or table.get(s, 0) == 0:
                    continue
                step = -1 if q * table[s] > 0 else 1
                new = counts[s] + step
                if 0 <= new and sum(counts.values()) + step <= n:
                    resid = abs(f * n - new)
                    if best is None or resid < best[0]:
                        best = (resid, kind, s, step)
        if best is None:
            return
        _, kind, s, step = best
        plan[kind][1][s] += step
