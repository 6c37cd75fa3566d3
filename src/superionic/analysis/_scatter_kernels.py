"""Kernels for scattering correlations: Fourier densities ρ(Q,t), currents j(Q,t), and FFT correlations.

Two backends compute the same densities ρ_g(Q,t) = Σ_{j∈g} exp(2πi hkl·s_j(t)) (s fractional coordinates,
so Q follows the cell of each frame) and currents j_g(Q,t) = Σ_{j∈g} v_j exp(...):
* `numpy` (reference): exp of the phase matrix, frames in chunks;
* `numba`: exp(2πi s_d) once per atom and axis, then all |h| ≤ h_max by the reciprocal-lattice
  recurrence z^h = z^(h−1)·z (multiplications only), frames in parallel.
Correlations use zero-padded FFTs over time: all time origins, lag m averaged over T − m origins.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.fft as sfft

_nb: Any
try:  # numba is optional
    import numba as _nb
except Exception:  # pragma: no cover
    _nb = None

#: complex numbers per FFT block (≈ 128 MB)
BLOCK_COMPLEX = 8_000_000


def nfft_for(n_frames: int, max_lag: int) -> int:
    """FFT length for linear (non-circular) correlations up to max_lag over n_frames."""
    return sfft.next_fast_len(n_frames + max_lag, real=False)


def origin_counts(n_frames: int, max_lag: int) -> np.ndarray:
    return (n_frames - np.arange(max_lag)).astype(float)


# ----------------------------------------------------------------------------- self part
def self_power(
    pos: np.ndarray, qvec: np.ndarray, nfft: int, groups: np.ndarray, n_groups: int, workers: int = -1
) -> np.ndarray:
    """Σ over atoms of |FFT_t exp(iQ·r_j(t))|², per atom group: (n_groups, M, nfft) float.

    pos: (T, n, 3) unwrapped Cartesian positions, Å; qvec: (M, 3) Å⁻¹; groups: (n,) group of each atom.
    Streams over atoms and Q in blocks bounded by BLOCK_COMPLEX.
    """
    t, n, _ = pos.shape
    m = len(qvec)
    out = np.zeros((n_groups, m, nfft))
    per_pair = nfft
    mb = max(1, min(m, BLOCK_COMPLEX // per_pair))
    nb = max(1, min(n, BLOCK_COMPLEX // (per_pair * mb)))
    x = np.empty((nb, nfft, mb), dtype=np.complex128)
    for a0 in range(0, n, nb):
        a1 = min(n, a0 + nb)
        r = np.ascontiguousarray(pos[:, a0:a1].transpose(1, 0, 2))  # (nb, T, 3)
        r = r - r[:, :1]  # phase origin (precision)
        g_ids = np.ascontiguousarray(groups[a0:a1], dtype=np.int64)
        for q0 in range(0, m, mb):
            q1 = min(m, q0 + mb)
            xb = x[: a1 - a0, :, : q1 - q0]
            _fill_phases(r, np.ascontiguousarray(qvec[q0:q1]), xb)
            f = sfft.fft(xb, axis=1, workers=workers, overwrite_x=True)  # (nb, nfft, mb)
            _add_group_power(f, g_ids, out[:, q0:q1])
    return out


def power_to_correlation(power: np.ndarray, n_frames: int, max_lag: int, workers: int = -1) -> np.ndarray:
    """Inverse FFT of a (real, non-negative-lag) power spectrum → correlation for lags 0..max_lag−1,
    each divided by its number of time origins. Works on the last axis.
    """
    c = sfft.ifft(power, axis=-1, workers=workers)[..., :max_lag].real
    return c / origin_counts(n_frames, max_lag)


def _fill_phases_np(r, q, x):
    t = r.shape[1]
    theta = r @ q.T  # (nb, T, mb)
    x[:, t:] = 0.0
    np.cos(theta, out=x.real[:, :t])
    np.sin(theta, out=x.imag[:, :t])


def _add_group_power_np(f, groups, out):
    p = f.real**2 + f.imag**2  # (nb, nfft, mb)
    for g in np.unique(groups):
        out[g] += p[groups == g].sum(axis=0).T


if _nb is not None:

    @_nb.njit(parallel=True, cache=True)
    def _fill_phases(r, q, x):  # pragma: no cover - jit
        nb, t, _ = r.shape
        nfft = x.shape[1]
        mb = q.shape[0]
        for i in _nb.prange(nb):
            for k in range(t):
                for j in range(mb):
                    th = r[i, k, 0] * q[j, 0] + r[i, k, 1] * q[j, 1] + r[i, k, 2] * q[j, 2]
                    x[i, k, j] = complex(np.cos(th), np.sin(th))
            for k in range(t, nfft):
                for j in range(mb):
                    x[i, k, j] = 0.0

    @_nb.njit(parallel=True, cache=True)
    def _add_group_power(f, groups, out):  # pragma: no cover - jit
        nb, nfft, mb = f.shape
        for j in _nb.prange(mb):
            for i in range(nb):
                g = groups[i]
                for k in range(nfft):
                    z = f[i, k, j]
                    out[g, j, k] += z.real * z.real + z.imag * z.imag
else:  # pragma: no cover
    _fill_phases = _fill_phases_np
    _add_group_power = _add_group_power_np


# ----------------------------------------------------------------------------- densities
def densities_numpy(
    frac: np.ndarray, hkl: np.ndarray, groups: np.ndarray, n_groups: int, vel: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Reference: ρ (T, G, M) complex and, with velocities, j (T, G, M, 3) complex."""
    t, n, _ = frac.shape
    m = len(hkl)
    rho = np.zeros((t, n_groups, m), dtype=complex)
    jj = None if vel is None else np.zeros((t, n_groups, m, 3), dtype=complex)
    onehot = np.zeros((n, n_groups))
    onehot[np.arange(n), groups] = 1.0
    hk = 2 * np.pi * np.asarray(hkl, dtype=float).T  # (3, M)
    tc = max(1, BLOCK_COMPLEX // max(1, n * m))
    for f0 in range(0, t, tc):
        f1 = min(t, f0 + tc)
        ph = np.exp(1j * (frac[f0:f1] @ hk))  # (tc, n, M)
        rho[f0:f1] = np.einsum("tnm,ng->tgm", ph, onehot)
        if vel is not None and jj is not None:
            for d in range(3):
                jj[f0:f1, :, :, d] = np.einsum("tnm,tn,ng->tgm", ph, vel[f0:f1, :, d], onehot)
    return rho, jj


if _nb is not None:

    @_nb.njit(parallel=True, cache=True)
    def _densities_nb(frac, hkl, groups, n_groups, vel, want_j, rho, jj):  # pragma: no cover - jit
        t_n, n, _ = frac.shape
        m = hkl.shape[0]
        h0 = 0
        h1 = 0
        h2 = 0
        for k in range(m):
            h0 = max(h0, abs(hkl[k, 0]))
            h1 = max(h1, abs(hkl[k, 1]))
            h2 = max(h2, abs(hkl[k, 2]))
        hm = max(h0, max(h1, h2))
        two_pi = 2.0 * np.pi
        for t in _nb.prange(t_n):
            p = np.empty((3, 2 * hm + 1), dtype=np.complex128)
            for i in range(n):
                for d in range(3):
                    ang = two_pi * frac[t, i, d]
                    z = complex(np.cos(ang), np.sin(ang))
                    p[d, hm] = 1.0
                    for h in range(1, hm + 1):
                        v = p[d, hm + h - 1] * z
                        p[d, hm + h] = v
                        p[d, hm - h] = v.conjugate()
                g = groups[i]
                if want_j:
                    vx = vel[t, i, 0]
                    vy = vel[t, i, 1]
                    vz = vel[t, i, 2]
                for k in range(m):
                    ph = p[0, hm + hkl[k, 0]] * p[1, hm + hkl[k, 1]] * p[2, hm + hkl[k, 2]]
                    rho[t, g, k] += ph
                    if want_j:
                        jj[t, g, k, 0] += ph * vx
                        jj[t, g, k, 1] += ph * vy
                        jj[t, g, k, 2] += ph * vz


def densities_numba(frac, hkl, groups, n_groups, vel=None):
    """Fast backend of `densities_numpy` (same result to rounding)."""
    if _nb is None:  # pragma: no cover
        raise RuntimeError("numba is not installed; use backend='numpy'")
    t, n, _ = frac.shape
    m = len(hkl)
    rho = np.zeros((t, n_groups, m), dtype=np.complex128)
    want_j = vel is not None
    jj = np.zeros((t, n_groups, m, 3) if want_j else (1, 1, 1, 3), dtype=np.complex128)
    v = np.ascontiguousarray(vel, dtype=np.float64) if want_j else np.zeros((1, 1, 3))
    _densities_nb(
        np.ascontiguousarray(frac, dtype=np.float64),
        np.ascontiguousarray(hkl, dtype=np.int64),
        np.ascontiguousarray(groups, dtype=np.int64),
        int(n_groups),
        v,
        want_j,
        rho,
        jj,
    )
    return rho, (jj if want_j else None)


def densities(frac, hkl, groups, n_groups, vel=None, backend: str = "auto"):
    """Dispatch to the numba kernel ('auto' when numba imports) or the NumPy reference."""
    if backend == "auto":
        backend = "numba" if _nb is not None else "numpy"
    if backend == "numba":
        return densities_numba(frac, hkl, groups, n_groups, vel)
    if backend == "numpy":
        return densities_numpy(frac, hkl, groups, n_groups, vel)
    raise ValueError(f"unknown backend {backend!r}; choose auto, numba or numpy")


def cross_spectra(x: np.ndarray, shell: np.ndarray, n_shells: int, nfft: int, workers: int = -1) -> np.ndarray:
    """Shell-summed symmetrised cross spectra Re(X_a X_b*) for all group pairs.

    x: (T, G, M) or (T, G, M, k) complex series (k components are summed, e.g. transverse currents).
    Returns (G, G, n_shells, nfft) real: inverse FFT of it gives Σ_{Q∈shell} Re <x_a(t+m) x_b*(t)> summed
    over origins, symmetrised in a ↔ b.
    """
    f = sfft.fft(x, n=nfft, axis=0, workers=workers)  # (nfft, G, M[, k])
    if f.ndim == 3:
        f = f[..., None]
    g, m = f.shape[1], f.shape[2]
    onehot = np.zeros((n_shells, m))
    onehot[shell, np.arange(m)] = 1.0
    out = np.zeros((g, g, n_shells, nfft))
    for a in range(g):
        for b in range(a, g):
            p = (f[:, a] * f[:, b].conj()).real.sum(axis=-1)  # (nfft, M)
            s = onehot @ p.T
            out[a, b] = s
            out[b, a] = s
    return out
