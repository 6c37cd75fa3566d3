"""Which configurations to label next: committee disagreement or descriptor novelty.

Both work on SNAP descriptor rows (`snap.descriptors`), so they cost milliseconds per configuration,
against minutes for one DFT label.

* **Novelty** (before any model exists): farthest-point sampling on each configuration's mean
  bispectrum per element (standardised), so the first labels span the pool.
* **Committee**: K linear SNAP fits on bootstrap resamples of the labelled configurations; a pool
  configuration's score is the largest per-atom force spread of the committee,
  max_i sqrt(Σ_α Var_k F_iα) (eV/Å). High spread = the data do not yet pin the forces there.

Pool configurations need *some* energy and forces for `descriptors` (the fast sampling potential's
are fine): the rows of the design matrix do not depend on them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from ase import Atoms

from ...errors import InputError
from .snap import Design, SnapHyper, descriptors, normal_equations, solve


def _mean_descriptors(design: Design, frames: Sequence[Atoms]) -> np.ndarray:
    """Per-configuration mean descriptor per element (energy rows ÷ element counts), standardised later."""
    A = design.A_energy[:, : design.n_snap or None].copy()
    npe = design.n_per_element
    counts = A[:, ::npe].copy()
    for t in range(A.shape[1] // npe):
        c = np.maximum(counts[:, t : t + 1], 1.0)
        A[:, t * npe + 1 : (t + 1) * npe] /= c
    return np.delete(A, np.arange(0, A.shape[1], npe), axis=1)  # drop the count columns


def novelty_order(pool: Sequence[Atoms], hyper: SnapHyper, labelled: Sequence[Atoms] = (), n: int = 10) -> list[int]:
    """Indices of `n` pool configurations by farthest-point sampling from the labelled set (descriptor space)."""
    if n < 1 or not pool:
        return []
    frames = list(labelled) + list(pool)
    X = _mean_descriptors(descriptors(frames, hyper), frames)
    sd = X.std(axis=0)
    X = (X - X.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    nl = len(labelled)
    P = X[nl:]
    if nl:
        d = np.min(np.linalg.norm(P[:, None, :] - X[None, :nl, :], axis=2), axis=1)
    else:
        d = np.linalg.norm(P - P.mean(axis=0), axis=1)
    chosen: list[int] = []
    for _ in range(min(n, len(pool))):
        i = int(np.argmax(d))
        chosen.append(i)
        d = np.minimum(d, np.linalg.norm(P - P[i], axis=1))
        d[chosen] = -np.inf
    return chosen


def committee_spread(
    labelled: Sequence[Atoms],
    pool: Sequence[Atoms],
    hyper: SnapHyper,
    *,
    n_models: int = 5,
    ridge: float = 1e-4,
    energy_weight: float = 30.0,
    seed: int = 0,
) -> np.ndarray:
    """Largest per-atom force spread (eV/Å) of a bootstrap committee of SNAP fits, per pool configuration."""
    if len(labelled) < 3:
        raise InputError(f"a committee needs ≥ 3 labelled configurations, got {len(labelled)}")
    lab = descriptors(labelled, hyper)
    pd = descriptors(pool, hyper)
    rng = np.random.default_rng(seed)
    n = len(labelled)
    preds = []
    for _ in range(n_models):
        w = np.bincount(rng.integers(0, n, n), minlength=n).astype(float)
        ne = normal_equations(lab, w > 0, np.sqrt(np.maximum(w, 1e-12)))
        beta = solve(ne, energy_weight=energy_weight, ridge=ridge)
        preds.append(pd.A_force @ beta)
    F = np.array(preds)  # (models, rows)
    var = F.var(axis=0)
    per_atom = np.sqrt(var.reshape(-1, 3).sum(axis=1))
    cfg = pd.force_config[::3]
    out = np.zeros(len(pool))
    np.maximum.at(out, cfg, per_atom)
    return out


def select(
    pool: Sequence[Atoms],
    labelled: Sequence[Atoms],
    n: int,
    hyper: SnapHyper,
    *,
    min_for_committee: int = 8,
    seed: int = 0,
) -> tuple[list[int], str, np.ndarray | None]:
    """Choose `n` pool configurations to label: (indices, method, committee scores or None).

    Novelty until `min_for_committee` configurations are labelled, then committee disagreement.
    """
    if len(labelled) < min_for_committee:
        return novelty_order(pool, hyper, labelled, n), "novelty", None
    s = committee_spread(labelled, pool, hyper, seed=seed)
    return [int(i) for i in np.argsort(-s)[:n]], "committee", s
