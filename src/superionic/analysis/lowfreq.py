"""Zero-frequency limit and low-frequency law of the VDOS.

For a species (or atom group) of a `vdos` Dataset:

* g(0): the zero-frequency limit of the model fit g(ν) = g₀ + a ν^n (below), and the plain spectrum
  value at ν = 0 (`g_at_zero`, a lag-windowed Green–Kubo integral). D_from_g0 = g₀ Z(0)/12, i.e.
  g_ν(0) = 4mD/(k_B T) with T the kinetic temperature m<v²>/3k_B of the same velocities (exact
  Green–Kubo, also for central-difference velocities).
* the power law g − g₀ ≈ a ν^n on a low-frequency window. The fit is a *forward model*: the trial
  spectrum is convolved with the spectral kernel of the lag window before it is compared with the
  data, so the finite resolution (which turns a Debye ν² into ν² + σ², a spurious g₀ > 0) does not
  bias g₀ or n. Default window: from one resolution FWHM to max(0.15 × the median frequency of the
  band, 8 FWHM above the start); overridable.
* the alternative fit g₀ + aν + bν² (same forward model, linear least squares).
* uncertainties from a bootstrap over the units kept by `vdos` (atom subsets × time blocks): the
  units are resampled with replacement, the spectrum is recomputed and refitted.
* 'unresolved' instead of a class when the default window has to reach into the band (resolution
  too coarse: run longer) or the exponent hits the bounds of its search; the numbers are then kept
  but must not be read as a law, and no class is claimed (the plain g(ν=0) then also holds the
  main-lobe smear of the band).
* classification: 'diffusive' when g₀ > 3 g0_err and g₀ exceeds the bound on side-lobe leakage of
  the vibrational band through the lag window (`leakage_bound`), else 'Debye-like' when n ≥ 1.5,
  else 'liquid-like' (n < 1.5; the liquid/INM limit is n ≈ 1, Debye n = 2).

Fit weights are 1/σ_i² with σ_i the bootstrap spread of each spectral point (relative weights 1/g²
when fewer than 3 units exist).
"""

from __future__ import annotations

import warnings

import numpy as np
import xarray as xr
from scipy.optimize import minimize_scalar

from .. import units
from ..errors import InputError
from .vdos import selection, spectrum_from_vacf
from .windows import lag_window

N_BOUNDS = (0.2, 4.5)


# --------------------------------------------------------------------------- resolution kernel
def window_kernel(window: str, max_lag: int, dt_fs: float, nu_thz: np.ndarray) -> np.ndarray:
    """Spectral kernel K(ν) (1/THz, ∫K dν = 1 over a period) that the lag window imposes on g.

    K(ν) = Δt Σ_m c_m w_m cos(2πνmΔt) with the even extension used by `cosine_transform`.
    """
    w = lag_window(window, max_lag)
    c = w.copy()
    c[1:max_lag - 1] *= 2.0
    dt_ps = dt_fs * 1e-3
    m = np.arange(max_lag)
    nu = np.asarray(nu_thz, dtype=float)
    out = np.empty(nu.shape)
    flat = nu.ravel()
    step = max(1, 2_000_000 // max_lag)
    res = out.ravel()
    for s in range(0, flat.size, step):
        res[s:s + step] = dt_ps * (np.cos(2 * np.pi * np.outer(flat[s:s + step], m) * dt_ps) @ c)
    return res.reshape(nu.shape)


class ForwardModel:
    """Convolution of trial spectra f(|ν|) with the window kernel, evaluated at the fit frequencies."""

    def __init__(self, nu_fit: np.ndarray, window: str, max_lag: int, dt_fs: float, dnu: float,
                 fwhm: float, oversample: int = 4, reach: float = 12.0):
        self.nu_fit = np.asarray(nu_fit, dtype=float)
        h = dnu / oversample
        ext = self.nu_fit.max() + reach * fwhm
        self.grid = np.arange(-np.ceil(ext / h), np.ceil(ext / h) + 1) * h      # even grid
        n_off = np.rint((self.nu_fit[:, None] - self.grid[None, :]) / h).astype(int)
        offs = np.unique(n_off)
        kv = window_kernel(window, max_lag, dt_fs, offs * h)
        k = kv[np.searchsorted(offs, n_off)] * h
        self.kmat = k / k.sum(axis=1, keepdims=True)
        self.absgrid = np.abs(self.grid)

    def basis(self, n: float) -> np.ndarray:
        """Smoothed |ν|^n at the fit frequencies."""
        return self.kmat @ (self.absgrid ** n)


def _wlsq(cols: list[np.ndarray], y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, float]:
    a = np.column_stack(cols) * np.sqrt(w)[:, None]
    b = y * np.sqrt(w)
    coef, *_ = np.linalg.lstsq(a, b, rcond=None)
    r = b - a @ coef
    return coef, float(r @ r)


def fit_power_law(model: ForwardModel, y: np.ndarray, w: np.ndarray,
                  fix_n: float | None = None) -> dict:
    """Weighted fit of g₀ + a ν^n (forward-modelled); returns g0, a, n, chi2."""
    ones = np.ones_like(y)

    def sse(n):
        return _wlsq([ones, model.basis(n)], y, w)[1]

    if fix_n is None:
        grid = np.linspace(*N_BOUNDS, 18)
        vals = [sse(n) for n in grid]
        i = int(np.argmin(vals))
        lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
        n = float(minimize_scalar(sse, bounds=(lo, hi), method="bounded",
                                  options={"xatol": 1e-5}).x)
    else:
        n = float(fix_n)
    coef, chi2 = _wlsq([ones, model.basis(n)], y, w)
    return {"g0": float(coef[0]), "a": float(coef[1]), "n": n, "chi2": chi2}


def fit_quadratic(model: ForwardModel, y: np.ndarray, w: np.ndarray) -> dict:
    """Weighted linear fit of g₀ + aν + bν² (forward-modelled)."""
    coef, chi2 = _wlsq([np.ones_like(y), model.basis(1.0), model.basis(2.0)], y, w)
    return {"g0": float(coef[0]), "a": float(coef[1]), "b": float(coef[2]), "chi2": chi2}


def leakage_bound(nu: np.ndarray, g: np.ndarray, above: float, window: str, max_lag: int,
                  dt_fs: float) -> float:
    """Upper bound (1/THz) on what the lag window's side lobes carry from the band above `above` THz
    down to ν = 0: 2 Σ_j g_j |K|_env(ν_j) Δν, with |K|_env the envelope of the window kernel (its
    oscillation removed by a running maximum over ±2 bins of a 4× oversampled kernel, so a band that
    falls between grid points is covered too). A g₀ below this bound is not evidence of
    diffusion: it can be leakage of the vibrational band (sharp bands, short lag windows).
    """
    from .correlate import cosine_transform

    over = 4                                                        # kernel on a 4× finer grid
    w = np.concatenate([lag_window(window, max_lag), np.zeros((over - 1) * max_lag)])
    _, k = cosine_transform(w, dt_fs)                               # 2K(ν), fs
    k = np.abs(k) * 0.5e-3                                          # |K| in 1/THz
    half = 2 * over                                                 # running max over ±2 coarse bins
    pad = np.concatenate([k, np.full(half, k[-1])])
    env_fine = np.max(np.stack([np.roll(pad, s) for s in range(-half, half + 1)]), axis=0)[: len(k)]
    env = env_fine[::over][: len(nu)]
    if len(env) < len(nu):
        env = np.concatenate([env, np.full(len(nu) - len(env), env[-1])])
    far = nu > above
    dnu = float(nu[1] - nu[0])
    return float(2.0 * np.sum(np.clip(g[far], 0.0, None) * env[far]) * dnu)


# --------------------------------------------------------------------------- windows
#: a default fit window reaching above this fraction of the band's median frequency is "unresolved"
COARSE_FRACTION = 0.6


def band_median(nu: np.ndarray, g: np.ndarray) -> float:
    """Median frequency of the spectrum (THz): half of ∫g dν lies below it."""
    cum = np.concatenate([[0.0], np.cumsum(0.5 * (g[1:] + g[:-1]) * np.diff(nu))])
    return float(np.interp(0.5, cum / cum[-1], nu))


def default_fit_window(nu: np.ndarray, g: np.ndarray, fwhm: float) -> tuple[float, float]:
    """(lo, hi) THz: lo = one resolution FWHM; hi = max(0.15 × median frequency, lo + 8 FWHM)."""
    median = band_median(nu, g)
    lo = float(fwhm)
    hi = max(0.15 * median, lo + 8.0 * fwhm)
    if hi > COARSE_FRACTION * median:
        warnings.warn(f"the resolution ({fwhm:.3g} THz FWHM) is coarse for this band (median "
                      f"{median:.3g} THz): the low-frequency window {lo:.3g}–{hi:.3g} THz reaches into the "
                      "band; use a longer max_lag or trajectory", RuntimeWarning, stacklevel=3)
    return lo, hi


# --------------------------------------------------------------------------- bootstrap
def _spectra_from_units(sums: np.ndarray, cnt: np.ndarray, dt: float, window: str,
                        samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Spectra (B, F) and Z(0) (B,) of resampled units; samples (B, K) unit indices."""
    s = sums[samples].sum(axis=1)
    c = cnt[samples].sum(axis=1)
    z = s / np.where(c > 0, c, 1)
    _, g = spectrum_from_vacf(z, dt, window)
    return g, z[:, 0]


def analyse_lowfreq(ds: xr.Dataset, name: str, fit_window: tuple[float, float] | None = None,
                    n_boot: int = 200, seed: int = 0) -> dict:
    """Low-frequency analysis of one species/group of a `vdos` Dataset (see module docstring).

    Returns a dict: g0, g0_err (1/THz), g_at_zero(_err), exponent, exponent_err, amplitude (a in
    1/THz^(n+1)), quadratic {g0, a, b and errors}, D_from_g0(_err) (cm²/s), fit_window (THz),
    classification, n_units, debye_a (a of g₀ + aν² with n fixed at 2) and its error.
    """
    sel = selection(ds, name)
    nu = ds.frequency.values
    g = sel.g.values
    dt, window, max_lag = float(ds.attrs["dt_fs"]), ds.attrs["window"], int(ds.attrs["max_lag"])
    fwhm = float(ds.attrs["resolution_fwhm_THz"])
    dnu = float(nu[1] - nu[0])
    if fit_window is not None:
        lo, hi = fit_window
        resolved = True
    else:
        lo, hi = default_fit_window(nu, g, fwhm)
        resolved = hi <= COARSE_FRACTION * band_median(nu, g)
    if not (0 <= lo < hi):
        raise InputError(f"fit window must satisfy 0 ≤ low < high (THz), got {lo}, {hi}")
    mask = (nu >= lo) & (nu <= hi)
    if mask.sum() < 5:
        raise InputError(f"the fit window {lo:.3g}–{hi:.3g} THz holds {mask.sum()} spectral points "
                         f"(step {dnu:.3g} THz); widen it or use a longer max_lag")
    nu_fit, y = nu[mask], g[mask]
    model = ForwardModel(nu_fit, window, max_lag, dt, dnu, fwhm)

    sums, cnt = sel.vacf_units.values, sel.unit_pairs.values
    keep = cnt[:, 0] > 0
    sums, cnt = sums[keep], cnt[keep]
    k = sums.shape[0]
    z0 = float(sel.vacf.values[0])
    rng = np.random.default_rng(seed)
    boot = k >= 3 and n_boot > 1
    if boot:
        samples = rng.integers(0, k, (n_boot, k))
        gb, z0b = _spectra_from_units(sums, cnt, dt, window, samples)
        sig = gb[:, mask].std(axis=0, ddof=1)
        floor = 1e-3 * np.abs(y).max() + 1e-300
        w = 1.0 / np.maximum(sig, floor) ** 2
    else:
        if n_boot > 1:
            warnings.warn(f"{name}: only {k} bootstrap unit(s); uncertainties are not available "
                          "(use more atoms, atom_groups or time_blocks)", RuntimeWarning, stacklevel=2)
        w = 1.0 / np.maximum(np.abs(y), 1e-3 * np.abs(y).max() + 1e-300) ** 2

    main = fit_power_law(model, y, w)
    quad = fit_quadratic(model, y, w)
    deb = fit_power_law(model, y, w, fix_n=2.0)
    res = {
        "g0": main["g0"], "exponent": main["n"], "amplitude": main["a"],
        "g_at_zero": float(g[0]), "fit_window": [float(lo), float(hi)], "n_fit_points": int(mask.sum()),
        "quadratic": {"g0": quad["g0"], "a": quad["a"], "b": quad["b"]},
        "debye_a": deb["a"], "n_units": k, "z0": z0,
    }
    nan = float("nan")
    if boot:
        fits = [fit_power_law(model, gb[i, mask], w) for i in range(n_boot)]
        quads = [fit_quadratic(model, gb[i, mask], w) for i in range(n_boot)]
        debs = [fit_power_law(model, gb[i, mask], w, fix_n=2.0) for i in range(n_boot)]
        res["g0_err"] = float(np.std([f["g0"] for f in fits], ddof=1))
        res["exponent_err"] = float(np.std([f["n"] for f in fits], ddof=1))
        res["amplitude_err"] = float(np.std([f["a"] for f in fits], ddof=1))
        res["g_at_zero_err"] = float(gb[:, 0].std(ddof=1))
        for key in ("g0", "a", "b"):
            res["quadratic"][key + "_err"] = float(np.std([q[key] for q in quads], ddof=1))
        res["debye_a_err"] = float(np.std([d["a"] for d in debs], ddof=1))
        d_b = np.array([f["g0"] for f in fits]) * 1e3 * z0b / 12.0 * units.A2_PER_FS_TO_CM2_PER_S
        res["D_from_g0_err"] = float(d_b.std(ddof=1))
    else:
        for key in ("g0_err", "exponent_err", "amplitude_err", "g_at_zero_err", "debye_a_err", "D_from_g0_err"):
            res[key] = nan
        for key in ("g0", "a", "b"):
            res["quadratic"][key + "_err"] = nan
    res["D_from_g0"] = res["g0"] * 1e3 * z0 / 12.0 * units.A2_PER_FS_TO_CM2_PER_S
    res["D_at_zero"] = res["g_at_zero"] * 1e3 * z0 / 12.0 * units.A2_PER_FS_TO_CM2_PER_S
    res["leakage_bound"] = leakage_bound(nu, g, hi, window, max_lag, dt)
    # the law is not determined when the window reaches into the band (too short a run for the
    # resolution) or when the exponent runs into the bounds of its search
    at_bound = min(abs(res["exponent"] - N_BOUNDS[0]), abs(res["exponent"] - N_BOUNDS[1])) < 1e-3
    res["resolved"] = bool(resolved and not at_bound)
    # a coarse window: the plain g(ν=0) then also holds the main-lobe smear of the low-frequency band,
    # so neither the law nor diffusion can be read, and no class is claimed
    cls = classify(res["g0"], res["g0_err"], res["exponent"], res["leakage_bound"]) if resolved else "unresolved"
    res["classification"] = cls if (cls == "diffusive" or res["resolved"]) else "unresolved"
    return res


def classify(g0: float, g0_err: float, n: float, leakage: float = 0.0) -> str:
    """'diffusive' if g₀ > 3σ and g₀ > the window-leakage bound; else 'Debye-like' for n ≥ 1.5,
    'liquid-like' for n < 1.5."""
    if np.isfinite(g0_err) and g0 > 3.0 * g0_err and g0 > max(leakage, 0.0) and g0 > 0:
        return "diffusive"
    return "Debye-like" if n >= 1.5 else "liquid-like"


def lowfreq(ds: xr.Dataset, fit_window: tuple[float, float] | None = None, n_boot: int = 200,
            seed: int = 0) -> xr.Dataset:
    """`analyse_lowfreq` for every species and group, as a Dataset over `name`."""
    from .vdos import names_of
    names = names_of(ds)
    rows = [analyse_lowfreq(ds, n, fit_window, n_boot, seed) for n in names]
    spec = {"g0": "THz-1", "g0_err": "THz-1", "g_at_zero": "THz-1", "g_at_zero_err": "THz-1",
            "exponent": units.DIMENSIONLESS, "exponent_err": units.DIMENSIONLESS,
            "D_from_g0": units.DIFFUSION, "D_from_g0_err": units.DIFFUSION}
    data = {k: ("name", np.array([r[k] for r in rows]), {"units": u}) for k, u in spec.items()}
    data["classification"] = ("name", np.array([r["classification"] for r in rows]),
                              {"units": units.DIMENSIONLESS})
    data["fit_window"] = (("name", "bound"), np.array([r["fit_window"] for r in rows]), {"units": units.FREQUENCY})
    out = xr.Dataset(data, coords={"name": names, "bound": ["low", "high"]})
    out.attrs.update(analysis="lowfreq", model="g0 + a nu^n convolved with the lag-window kernel",
                     n_boot=n_boot, window=ds.attrs["window"])
    return out
