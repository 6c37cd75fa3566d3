"""FFT correlation kernels shared by every analysis (NumPy/SciPy reference implementation).

All functions average over *all time origins*: for a lag of m frames the average runs over the
T − m available origins. Inputs are (T, n, d) arrays (time, items, components); atoms are processed in
blocks so memory stays bounded for long trajectories.
"""

from __future__ import annotations

import numpy as np
import scipy.fft as sfft

#: cap on the floats of one FFT block: its transform and temporaries take ~64 MB whatever T (the
#: atom-block streaming analyses count on this bounded workspace)
_BLOCK_FLOATS = 4_000_000


def _atom_blocks(t: int, n: int, d: int):
    size = max(1, _BLOCK_FLOATS // max(1, 4 * t * d))
    for s in range(0, n, size):
        yield slice(s, min(n, s + size))


def autocorrelation(x: np.ndarray, max_lag: int | None = None) -> np.ndarray:
    """All-origin autocorrelation C(m) = <x(t)·x(t+m)>_t summed over the last axis, per item.

    x: (T, n, d) real. Returns (max_lag, n); max_lag defaults to T.
    """
    x = np.asarray(x, dtype=float)
    if x.ndim == 2:
        x = x[:, :, None]
    t, n, d = x.shape
    max_lag = t if max_lag is None else min(int(max_lag), t)
    nfft = sfft.next_fast_len(2 * t, real=True)
    out = np.empty((max_lag, n))
    norm = (t - np.arange(max_lag))[:, None]
    for sl in _atom_blocks(t, n, d):
        f = sfft.rfft(x[:, sl], n=nfft, axis=0, workers=-1)
        p = (f.real**2 + f.imag**2).sum(axis=-1)
        out[:, sl] = sfft.irfft(p, n=nfft, axis=0, workers=-1)[:max_lag] / norm
    return out


def msd(r: np.ndarray, max_lag: int | None = None) -> np.ndarray:
    """All-origin mean squared displacement per item, summed over components.

    r: (T, n, d) unwrapped positions. Returns (max_lag, n):
    MSD(m) = <|r(t+m) − r(t)|²>_t = S1(m) − 2 S2(m), with S2 the FFT autocorrelation.
    """
    r = np.asarray(r, dtype=float)
    if r.ndim == 2:
        r = r[:, :, None]
    t, n, d = r.shape
    max_lag = t if max_lag is None else min(int(max_lag), t)
    out = np.empty((max_lag, n))
    for sl in _atom_blocks(t, n, d):
        rb = r[:, sl]
        r0 = rb - rb.mean(axis=0)  # shift invariance; improves float precision
        s2 = autocorrelation(r0, max_lag)
        sq = (r0**2).sum(axis=-1)  # (T, nb)
        # S1(m) = [sum_{t<T-m} |r(t)|² + sum_{t>=m} |r(t)|²] / (T-m), via prefix sums
        c = np.concatenate([np.zeros((1, sq.shape[1])), np.cumsum(sq, axis=0)])
        m = np.arange(max_lag)
        head = c[t - m]  # sum_{t=0}^{T-m-1}
        tail = c[t] - c[m]  # sum_{t=m}^{T-1}
        s1 = (head + tail) / (t - m)[:, None]
        out[:, sl] = s1 - 2.0 * s2
    out[0] = 0.0
    return out


def cosine_transform(c: np.ndarray, dt: float) -> tuple[np.ndarray, np.ndarray]:
    """One-sided spectrum 2∫_{-∞}^{∞} c(t) e^{-2πiνt} dt = 4∫₀^∞ c(t) cos(2πνt) dt of an even function.

    c: (M, ...) samples at t = 0, dt, …, (M−1)dt (already multiplied by the lag window). Returns (ν, spectrum)
    with ν in 1/(unit of dt) from 0 to the Nyquist frequency. With the trapezoid rule over ν the discrete result
    integrates to exactly c(0).
    """
    c = np.asarray(c, dtype=float)
    sym = np.concatenate([c, c[-2:0:-1]], axis=0)  # even extension, length 2M−2
    spec = 2.0 * dt * sfft.rfft(sym, axis=0, workers=-1).real
    nu = sfft.rfftfreq(sym.shape[0], d=dt)
    return nu, spec
