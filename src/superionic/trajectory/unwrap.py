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
    return Unwrapper()(pos, cells)


class Unwrapper:
    """Minimum-image unwrapping of consecutive time chunks, continued across chunk borders.

    Feeding the chunks of a run in order gives the same numbers as one call on the whole run
    (`unwrap_positions` is that call): each frame-to-frame step is the minimum image in the cell of the
    later frame, the steps are summed in order, and the path starts at the first frame's position.
    """

    def __init__(self) -> None:
        self.origin: np.ndarray | None = None  # first frame of the run (raw)
        self.frac: np.ndarray | None = None  # fractional coordinates of the last frame seen
        self.cum: np.ndarray | None = None  # sum of the steps up to the last frame seen

    def __call__(self, pos: np.ndarray, cells: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Unwrapped positions (L, n, 3) of the next chunk pos (L, n, 3) with cells (L, 3, 3); `out` may
        be `pos` itself (unwrapping in place).
        """
        pos = np.asarray(pos, dtype=float)
        cells = np.asarray(cells, dtype=float)
        out = np.empty_like(pos) if out is None else out
        if len(pos) == 0:
            return out
        frac = np.matmul(pos, np.linalg.inv(cells))
        last = frac[-1].copy()
        if self.origin is None:
            self.origin = pos[0].copy()
            dfrac = np.diff(frac, axis=0)
            del frac
            dfrac -= np.round(dfrac)
            steps = np.matmul(dfrac, cells[1:])
            del dfrac
            out[0] = self.origin
            np.cumsum(steps, axis=0, out=out[1:])
            self.cum = out[-1].copy() if len(pos) > 1 else np.zeros_like(self.origin)
            out[1:] += self.origin
        else:
            assert self.frac is not None and self.cum is not None
            dfrac = np.diff(frac, axis=0, prepend=self.frac[None])
            del frac
            dfrac -= np.round(dfrac)
            steps = np.matmul(dfrac, cells)
            del dfrac
            steps[0] += self.cum
            np.cumsum(steps, axis=0, out=out)
            self.cum = out[-1].copy()
            out += self.origin
        self.frac = last
        return out
