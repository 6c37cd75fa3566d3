"""Equilibration diagnostics from a thermodynamic time series (temperature, potential energy).

Two complementary checks:

* **drift** – ordinary least-squares slope of the series against time over a window, with a standard
  error corrected for autocorrelation (statistical inefficiency g: σ_slope → σ_slope·√g). A series is
  drift-free when |slope| ≤ `n_sigma`·σ_slope.
* **detected start** – the start index t₀ that maximises the number of effectively uncorrelated samples
  N_eff(t₀) = (N − t₀)/g(t₀) (Chodera, J. Chem. Theory Comput. 12, 1799 (2016)); data before t₀ is
  the transient to discard.
"""

from __future__ import annotations

import numpy as np


def statistical_inefficiency(x: np.ndarray) -> float:
    """G = 1 + 2 Σ_t (1 − t/N) C(t), summed until C first drops below zero (g ≥ 1)."""
    x = np.asarray(x, dtype=float)
    n = len(x)
    if n < 3:
        return 1.0
    dx = x - x.mean()
    var = dx @ dx / n
    if var == 0:
        return 1.0
    f = np.fft.rfft(dx, 2 * n)
    acf = np.fft.irfft(f * np.conj(f))[:n] / (n - np.arange(n)) / var
    g = 1.0
    for t in range(1, n - 1):
        if acf[t] <= 0:
            break
        g += 2.0 * acf[t] * (1 - t / n)
    return max(1.0, g)


def detect_equilibration(x: np.ndarray, n_candidates: int = 50) -> tuple[int, float, float]:
    """(t0, g, N_eff): start index maximising the effective sample count of x[t0:]."""
    x = np.asarray(x, dtype=float)
    n = len(x)
    best = (0, statistical_inefficiency(x), 0.0)
    best = (0, best[1], n / best[1])
    for t0 in np.unique(np.linspace(0, max(n - 10, 0), n_candidates).astype(int)):
        g = statistical_inefficiency(x[t0:])
        neff = (n - t0) / g
        if neff > best[2]:
            best = (int(t0), g, neff)
    return best


def drift(times: np.ndarray, x: np.ndarray) -> tuple[float, float]:
    """(slope, standard error) of x against time; the error is inflated by √g for correlated data."""
    t = np.asarray(times, dtype=float)
    x = np.asarray(x, dtype=float)
    if len(t) < 3:
        return 0.0, np.inf
    A = np.vstack([t - t.mean(), np.ones_like(t)]).T
    coef, *_ = np.linalg.lstsq(A, x, rcond=None)
    resid = x - A @ coef
    s2 = resid @ resid / (len(t) - 2)
    se = np.sqrt(s2 / np.sum((t - t.mean()) ** 2)) * np.sqrt(statistical_inefficiency(resid))
    return float(coef[0]), float(se)


def equilibration_report(
    times_fs: np.ndarray, temperature: np.ndarray, epot_per_atom: np.ndarray, n_sigma: float = 3.0
) -> dict:
    """Drift of T (K/ps) and E_pot (eV/atom/ps) over the second half, and the detected transient.

    `equilibrated` is True when neither series drifts by more than `n_sigma` standard errors over the
    second half of the window.
    """
    times_fs = np.asarray(times_fs, dtype=float)
    half = len(times_fs) // 2
    out: dict = {
        "window_fs": float(times_fs[-1] - times_fs[0]) if len(times_fs) else 0.0,
        "samples": int(len(times_fs)),
    }
    ok = True
    for name, series, unit in (("temperature", temperature, "K/ps"), ("epot", epot_per_atom, "eV/atom/ps")):
        s, se = drift(times_fs[half:] / 1000.0, np.asarray(series)[half:])
        t0, g, neff = detect_equilibration(series)
        flat = bool(abs(s) <= n_sigma * se) if np.isfinite(se) else False
        ok &= flat
        out[name] = {
            "drift": s,
            "drift_stderr": se,
            "drift_unit": unit,
            "drift_free": flat,
            "detected_start_index": t0,
            "statistical_inefficiency": g,
            "n_effective": neff,
            "mean_second_half": float(np.mean(np.asarray(series)[half:])) if len(series) else None,
        }
    out["equilibrated"] = bool(ok)
    return out
