"""Scattering vectors Q: commensurate with any cell, spherical (powder) shells, or user-given lists.

Conventions: Q in Å⁻¹ with the physics factor 2π included, Q = hkl · B where the rows of
B = 2π (cell⁻¹)ᵀ are the reciprocal lattice vectors and the rows of `cell` are the lattice vectors.
A Q is *commensurate* with a periodic cell when hkl are integers; only those Q give a density
exp(iQ·r) that is unchanged when an atom is wrapped back into the box (needed for coherent
scattering from wrapped coordinates). The self part uses unwrapped displacements and accepts any Q.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError


def reciprocal_cell(cell: np.ndarray) -> np.ndarray:
    """Reciprocal lattice vectors as rows, Å⁻¹, including the 2π: B = 2π (cell⁻¹)ᵀ."""
    cell = np.asarray(cell, dtype=float)
    if cell.shape != (3, 3) or abs(np.linalg.det(cell)) < 1e-12:
        raise InputError(f"cell must be a non-singular 3×3 matrix (lattice vectors as rows), got {cell.shape}")
    return 2.0 * np.pi * np.linalg.inv(cell).T


def commensurate_qpoints(cell: np.ndarray, q_max: float, q_min: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """All Q = hkl·B with q_min ≤ |Q| ≤ q_max (Å⁻¹), Q = 0 excluded.

    Returns (Q (M, 3) Å⁻¹, hkl (M, 3) int), sorted by |Q|. One member of each ±Q pair is kept
    (the other gives the complex conjugate density; correlation functions take the real part).
    """
    if q_max <= 0 or q_min < 0 or q_min > q_max:
        raise InputError(f"need 0 ≤ q_min ≤ q_max and q_max > 0, got q_min={q_min}, q_max={q_max}")
    b = reciprocal_cell(cell)
    # |h_i| ≤ q_max / (distance between reciprocal planes) = q_max |a_i| / 2π
    cell = np.asarray(cell, dtype=float)
    hmax = np.ceil(q_max * np.linalg.norm(cell, axis=1) / (2 * np.pi)).astype(int) + 1
    n_total = np.prod(2 * hmax + 1)
    if n_total > 50_000_000:
        raise InputError(f"q_max={q_max} Å⁻¹ spans {n_total} reciprocal lattice points; lower q_max")
    grids = np.meshgrid(*[np.arange(-h, h + 1) for h in hmax], indexing="ij")
    hkl = np.stack([g.ravel() for g in grids], axis=1)
    # keep one of ±hkl: first non-zero index positive
    first = np.where(hkl[:, 0] != 0, hkl[:, 0], np.where(hkl[:, 1] != 0, hkl[:, 1], hkl[:, 2]))
    hkl = hkl[first > 0]
    q = hkl @ b
    qn = np.linalg.norm(q, axis=1)
    keep = (qn >= q_min) & (qn <= q_max)
    order = np.argsort(qn[keep], kind="stable")
    return q[keep][order], hkl[keep][order]


def fibonacci_directions(n: int) -> np.ndarray:
    """N unit vectors spread evenly over a hemisphere (Fibonacci lattice), (n, 3).

    A hemisphere suffices because correlation functions are taken as real parts (Q and −Q equal).
    """
    if n < 1:
        raise InputError(f"number of directions must be ≥ 1, got {n}")
    i = np.arange(n) + 0.5
    z = 1.0 - i / n  # uniform in cos θ over (0, 1]
    phi = np.pi * (1.0 + 5**0.5) * i
    r = np.sqrt(1.0 - z * z)
    return np.stack([r * np.cos(phi), r * np.sin(phi), z], axis=1)


@dataclass
class QSet:
    """Q vectors grouped into shells of |Q| (one shell per requested value).

    vectors: (M, 3) Å⁻¹; shell: (M,) index of the shell each vector belongs to;
    q: (S,) nominal |Q| of each shell, Å⁻¹; hkl: (M, 3) integer Miller indices or None
    (None when the vectors are not commensurate with a cell); method: how they were made.
    """

    vectors: np.ndarray
    shell: np.ndarray
    q: np.ndarray
    hkl: np.ndarray | None = None
    method: str = "user"
    info: dict = field(default_factory=dict)

    def __post_init__(self):
        self.vectors = np.atleast_2d(np.asarray(self.vectors, dtype=float))
        self.shell = np.asarray(self.shell, dtype=int)
        self.q = np.atleast_1d(np.asarray(self.q, dtype=float))
        if self.vectors.shape[1] != 3 or self.shell.shape != (len(self.vectors),):
            raise InputError("Q vectors must be (M, 3) with one shell index each")
        missing = sorted(set(range(len(self.q))) - set(self.shell.tolist()))
        if missing:
            raise InputError(
                f"no Q vectors in shell(s) {[float(self.q[i]) for i in missing]} Å⁻¹: "
                "widen the shell (q_width) or choose Q values that fit the cell"
            )

    @property
    def n_shells(self) -> int:
        """Number of |Q| shells."""
        return len(self.q)

    def counts(self) -> np.ndarray:
        """Number of Q vectors in each shell."""
        return np.bincount(self.shell, minlength=self.n_shells)

    def mean_norm(self) -> np.ndarray:
        """Mean |Q| of the vectors in each shell, Å⁻¹."""
        qn = np.linalg.norm(self.vectors, axis=1)
        return np.bincount(self.shell, qn, minlength=self.n_shells) / self.counts()


def _check_q_values(q_values) -> np.ndarray:
    q = np.atleast_1d(np.asarray(q_values, dtype=float))
    if q.ndim != 1 or len(q) == 0 or np.any(~np.isfinite(q)) or np.any(q <= 0):
        shown = ", ".join(f"{x:g}" for x in q.ravel()) if q.size else "none"
        raise InputError(f"Q values must be positive numbers in Å⁻¹, got {shown}")
    return q


def powder_directions(q_values, n_directions: int = 24) -> QSet:
    """Isotropic (powder) average by n Fibonacci directions at exactly each |Q| (self part only)."""
    q = _check_q_values(q_values)
    d = fibonacci_directions(n_directions)
    vec = (q[:, None, None] * d[None]).reshape(-1, 3)
    shell = np.repeat(np.arange(len(q)), n_directions)
    return QSet(vec, shell, q, None, "directions", {"n_directions": n_directions})


def spherical_shells(
    cell: np.ndarray, q_values, q_width: float | None = None, max_per_shell: int | None = 64, seed: int = 0
) -> QSet:
    """Commensurate Q vectors within |Q| ∈ [q − w/2, q + w/2] for each requested q (powder shells).

    q_width defaults to the largest reciprocal lattice vector length (so every shell holds vectors).
    Shells with more than `max_per_shell` vectors are subsampled at random (seeded), spreading the
    choice over the shell. Returns a QSet with Miller indices.
    """
    q = _check_q_values(q_values)
    b = reciprocal_cell(cell)
    if q_width is None:
        q_width = float(np.linalg.norm(b, axis=1).max())
    if q_width <= 0:
        raise InputError(f"q_width must be positive (Å⁻¹), got {q_width}")
    allq, allhkl = commensurate_qpoints(cell, q.max() + q_width / 2, max(0.0, q.min() - q_width / 2))
    qn = np.linalg.norm(allq, axis=1)
    rng = np.random.default_rng(seed)
    vecs, hkls, shells = [], [], []
    for i, qi in enumerate(q):
        sel = np.flatnonzero(np.abs(qn - qi) <= q_width / 2 + 1e-12)
        if len(sel) == 0:
            raise InputError(
                f"no Q vector of this cell lies within {q_width / 2:.4g} Å⁻¹ of {qi} Å⁻¹; "
                "increase q_width or use a larger supercell"
            )
        if max_per_shell and len(sel) > max_per_shell:
            sel = np.sort(rng.choice(sel, max_per_shell, replace=False))
        vecs.append(allq[sel])
        hkls.append(allhkl[sel])
        shells.append(np.full(len(sel), i))
    return QSet(
        np.concatenate(vecs),
        np.concatenate(shells),
        q,
        np.concatenate(hkls),
        "shells",
        {"q_width": q_width, "max_per_shell": max_per_shell, "seed": seed},
    )


def commensurate_shells(cell: np.ndarray, n_shells: int, shell_tol: float = 0.02) -> QSet:
    """The commensurate Q vectors of the `n_shells` smallest |Q| (one of each ±Q pair), a shell holding the |Q| within
    a relative `shell_tol` of its first (so a nearly cubic cell keeps all three ⟨100⟩ vectors in one). A QSet with
    Miller indices; q is each shell's mean |Q|, Å⁻¹.
    """
    if n_shells < 1:
        raise InputError(f"n_shells must be ≥ 1, got {n_shells}")
    top = float(np.linalg.norm(reciprocal_cell(cell), axis=1).min()) * (1.0 + shell_tol) + 1e-12
    while True:  # widen until the last shell wanted is complete: its first |Q| × (1 + shell_tol) lies within
        qv, hkl = commensurate_qpoints(cell, top)
        qn = np.linalg.norm(qv, axis=1)
        shell = np.zeros(len(qn), dtype=int)
        firsts = [float(qn[0])] if len(qn) else []
        for i in range(1, len(qn)):  # a new shell where |Q| leaves the first |Q| of the current one
            if qn[i] > firsts[-1] * (1 + shell_tol):
                firsts.append(float(qn[i]))
            shell[i] = len(firsts) - 1
        if len(firsts) >= n_shells and firsts[n_shells - 1] * (1 + shell_tol) <= top:
            keep = shell < n_shells
            q = np.array([qn[keep][shell[keep] == s].mean() for s in range(n_shells)])
            return QSet(qv[keep], shell[keep], q, hkl[keep], "smallest commensurate shells", {"shell_tol": shell_tol})
        top *= 1.5


def qpoints_from_list(vectors, cell: np.ndarray | None = None) -> QSet:
    """User-given Q vectors (M, 3) in Å⁻¹, each its own shell; Miller indices when commensurate."""
    vec = np.atleast_2d(np.asarray(vectors, dtype=float))
    if vec.ndim != 2 or vec.shape[1] != 3 or not np.all(np.isfinite(vec)):
        raise InputError(f"Q vectors must be an (M, 3) array in Å⁻¹, got shape {vec.shape}")
    hkl = None
    if cell is not None:
        hkl = miller_indices(vec, cell)
    return QSet(vec, np.arange(len(vec)), np.linalg.norm(vec, axis=1), hkl, "user")


def miller_indices(vectors: np.ndarray, cell: np.ndarray, tol: float = 1e-6) -> np.ndarray | None:
    """Integer hkl with Q = hkl·B when every vector is commensurate with `cell`, else None."""
    h = np.asarray(vectors, dtype=float) @ np.asarray(cell, dtype=float).T / (2 * np.pi)
    hr = np.round(h)
    if np.all(np.abs(h - hr) < tol):
        return hr.astype(int)
    return None
