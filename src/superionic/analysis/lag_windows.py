"""Lag windows: the tapers applied to correlation functions before a Fourier transform.

Each lag window w(m) is 1 at lag 0 (so sum rules that depend on c(0) are kept) and falls to 0 at the
last lag; its effective frequency resolution is stated with the spectrum (attrs `lag_window`,
`resolution_fwhm_*`). Not to be confused with a fit range (a range of lag times or frequencies that a
fit uses) or a bottleneck window (the triangle of anions a mobile ion passes, analysis/bottleneck.py).
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError

LAG_WINDOWS = ("hann", "none", "blackman", "triangle")


def check_lag_window(name: str) -> None:
    """Raise InputError unless `name` is one of LAG_WINDOWS."""
    if name not in LAG_WINDOWS:
        raise InputError(f"unknown lag window {name!r}; choose one of {', '.join(LAG_WINDOWS)}")


def lag_window(name: str, n: int) -> np.ndarray:
    """Half window of length n with w(0) = 1 (the decaying half of the symmetric window)."""
    m = np.arange(n) / max(n - 1, 1)
    if name == "hann":
        return 0.5 * (1.0 + np.cos(np.pi * m))
    if name == "blackman":
        return 0.42 + 0.5 * np.cos(np.pi * m) + 0.08 * np.cos(2 * np.pi * m)
    if name == "triangle":
        return 1.0 - m
    if name == "none":
        return np.ones(n)
    raise ValueError(f"unknown lag window {name!r}; choose one of {', '.join(LAG_WINDOWS)}")


def resolution_fwhm(name: str, n: int, dt: float) -> float:
    """Approximate FWHM of the spectral line a lag window of n lags (step dt) imposes, in 1/(unit of dt)."""
    t_max = (n - 1) * dt
    factor = {"hann": 1.0, "blackman": 1.15, "triangle": 0.89, "none": 0.60}[name]
    return factor / t_max
