"""Periodic geometry shared by the analyses: the one minimum-image convention of the project.

A displacement d (Å) is brought to its minimum image by rounding its fractional coordinates to the
nearest integer, f → f − round(f), with cells whose rows are the lattice vectors (Å). This is exact for
displacements shorter than half the shortest cell height and for cells that are not strongly sheared
(all cells this project builds); `superionic.trajectory.unwrap` uses the same convention frame to frame.
"""

from __future__ import annotations

import numpy as np


def minimum_image(d: np.ndarray, cell: np.ndarray, inv: np.ndarray | None = None) -> np.ndarray:
    """Minimum-image vectors (Å) of displacements d (Å).

    cell: one (3, 3) cell for every vector, d of shape (..., 3); or per-frame cells (F, 3, 3) with d of
    shape (F, ..., 3). inv: the inverse cell(s), when already at hand.
    """
    d = np.asarray(d, dtype=float)
    cell = np.asarray(cell, dtype=float)
    inv = np.linalg.inv(cell) if inv is None else inv
    if cell.ndim == 2:
        f = d @ inv
        f -= np.round(f)
        return f @ cell
    f = np.einsum("f...i,fij->f...j", d, inv)
    f -= np.round(f)
    return np.einsum("f...i,fij->f...j", f, cell)


def pair_vectors(a: np.ndarray, b: np.ndarray, cell: np.ndarray) -> np.ndarray:
    """Minimum-image vectors b_j − a_i (Å) for all pairs: a (n, 3), b (m, 3) Å → (n, m, 3)."""
    return minimum_image(np.asarray(b)[None, :, :] - np.asarray(a)[:, None, :], cell)


def pair_distances(a: np.ndarray, b: np.ndarray, cell: np.ndarray) -> np.ndarray:
    """Minimum-image distances |b_j − a_i| (Å) for all pairs: (n, m)."""
    return np.linalg.norm(pair_vectors(a, b, cell), axis=-1)


__all__ = ["minimum_image", "pair_vectors", "pair_distances"]
