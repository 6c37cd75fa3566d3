"""Unwrapping of periodic positions for displacement-based analyses (MSD, F_s, hopping)."""

from __future__ import annotations

import numpy as np


def unwrap_positions(positions: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """Continuous (unwrapped) Cartesian positions, Å.

    Each frame-to-frame displacement is taken as the minimum image in the cell of the later frame,
    so an atom that crosses the box any number of times keeps its path. Requires that no atom moves
    more than half a box length between stored frames. Idempotent on already-unwrapped input.

    positions: (n_frames, n_atoms, 3) Å; cells: (n_frames, 3, 3) Å (rows are lattice vectors).
    """
    pos = np.asarray(positions, dtype=float)
    cells = np.asarray(cells, dtype=float)
    if cells.ndim == 2:
        cells = np.broadcast_to(cells, (pos.shape[0], 3, 3))
    inv = np.linalg.inv(cells)  # (F, 3, 3)
    frac = np.einsum("fai,fij->faj", pos, inv)  # fractional coordinates
    dfrac = np.diff(frac, axis=0)
    dfrac -= np.round(dfrac)
    steps = np.einsum("fai,fij->faj", dfrac, cells[1:])  # Cartesian minimum-image steps
    out = np.empty_like(pos)
    out[0] = pos[0]
    np.cumsum(steps, axis=0, out=out[1:])
    out[1:] += pos[0]
    return out
