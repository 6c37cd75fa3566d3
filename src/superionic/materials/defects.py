"""Vacancies and aliovalent substitution with charge compensation.

Charge neutrality is kept with formal charges (`checks.FORMAL_CHARGES`): a change of the total charge by
Δq is compensated by removing Δq/q_c ions of a compensating species of charge q_c (same sign as Δq;
default for substitutions: the mobile Li⁺, i.e. Li vacancies), e.g. S²⁻ → Cl⁻ on x sites with x Li removed gives
Li6−xPS5−xCl1+x. Which atoms: farthest-point (deterministic, mode='approximant') or seeded random.
"""

from __future__ import annotations

import numpy as np
from ase import Atoms

from ..errors import InputError
from .checks import FORMAL_CHARGES
from .disorder import select_sites


def _indices(atoms: Atoms, species: str, sites: np.ndarray | None) -> np.ndarray:
    idx = np.flatnonzero(np.array(atoms.get_chemical_symbols()) == species)
    if sites is not None:
        idx = np.intersect1d(idx, np.asarray(sites, dtype=int))
    if len(idx) == 0:
        raise InputError(f"no {species} atoms {'on the given sites ' if sites is not None else ''}to modify")
    return idx


def substitute(
    atoms: Atoms,
    old: str,
    new: str,
    n: int,
    *,
    sites=None,
    compensate: str | None = "Li",
    mode: str = "approximant",
    seed: int = 0,
    charges: dict[str, int] | None = None,
) -> Atoms:
    """Replace n `old` atoms by `new`; remove `compensate` ions to restore neutrality (None: no compensation).

    Δq = n (q_new − q_old) must be a multiple of q_compensate; Δq > 0 removes Δq/q_c compensating ions.
    """
    table = dict(FORMAL_CHARGES, **(charges or {}))
    rng = np.random.default_rng(seed)
    cand = _indices(atoms, old, sites)
    if not 0 < n <= len(cand):
        raise InputError(f"cannot substitute {n} of {len(cand)} {old} atoms")
    out = atoms.copy()
    chosen = select_sites(out, cand, n, mode=mode, rng=rng)
    sym = np.array(out.get_chemical_symbols(), dtype=object)
    sym[chosen] = new
    out.set_chemical_symbols(list(sym))
    dq = n * (table[new] - table[old])
    if compensate is not None and dq != 0:
        qc = table[compensate]
        if dq % qc or dq * qc < 0:
            raise InputError(
                f"a charge change of {dq:+d} cannot be compensated by removing {compensate} "
                f"(charge {qc:+d}); choose another compensating species"
            )
        out = remove(out, compensate, dq // qc, mode=mode, seed=seed + 1, placed=chosen)
    out.info.setdefault("defects", []).append({"substitute": f"{old}->{new}", "n": n, "compensate": compensate})
    return out


def remove(
    atoms: Atoms, species: str, n: int, *, sites=None, mode: str = "approximant", seed: int = 0, placed=()
) -> Atoms:
    """Remove n atoms of `species` (vacancies), spread by the `mode` rule; no charge compensation."""
    cand = _indices(atoms, species, sites)
    if not 0 <= n <= len(cand):
        raise InputError(f"cannot remove {n} of {len(cand)} {species} atoms")
    rng = np.random.default_rng(seed)
    gone = select_sites(atoms, cand, n, placed=placed, mode=mode, rng=rng)
    out = atoms[np.setdiff1d(np.arange(len(atoms)), gone)]
    out.info = dict(atoms.info)
    return out


def vacancies(
    atoms: Atoms,
    species: str,
    n: int,
    *,
    compensate: str | None = None,
    mode: str = "approximant",
    seed: int = 0,
    charges: dict[str, int] | None = None,
) -> Atoms:
    """N vacancies of `species`; with `compensate`, also remove counter-ions so the cell stays neutral
    (e.g. a Li⁺ + Cl⁻ Schottky pair: vacancies(atoms, 'Li', 1, compensate='Cl')).
    """
    table = dict(FORMAL_CHARGES, **(charges or {}))
    out = remove(atoms, species, n, mode=mode, seed=seed)
    dq = -n * table[species]
    if compensate is not None and dq:
        qc = table[compensate]
        if dq % qc or dq * qc < 0:
            raise InputError(
                f"removing {n} {species} changes the charge by {dq:+d}; removing {compensate} "
                f"(charge {qc:+d}) cannot restore neutrality"
            )
        out = remove(out, compensate, dq // qc, mode=mode, seed=seed + 1)
    out.info.setdefault("defects", []).append({"vacancy": species, "n": n, "compensate": compensate})
    return out
