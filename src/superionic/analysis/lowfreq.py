"""Zero-frequency limit and low-frequency law of the VDOS, as two separate verdicts.

For a species (or atom group) of a `vdos` Dataset:

* verdict (a), the zero-frequency limit. The estimate is the windowed spectrum at ν = 0,
  g(0) = 4∫w(t)Ẑ(t)dt, i.e. the Green–Kubo integral with the lag window: D_from_g0 = g(0)·Z(0)/12
  (g_ν(0) = 4mD/k_BT with T the kinetic temperature m<v²>/3k_B of the same velocities), so the VDOS and
  Green–Kubo routes agree by construction and the MSD route within its errors. g(0) > 0 is *resolved*
  (the species diffuses) when g(0) > 3σ, when it exceeds what the lag window can carry to ν = 0 from a
  spectrum that vanishes there — the side-lobe leakage of the band beyond the main lobe
  (`leakage_bound`) plus the main-lobe smear of a linear rise from zero (`main_lobe_smear`; the smear
  of the rise above g(0) is reported as the resolution's systematic bias on g(0), `g0_resolution_bias`)
  — and, when the MSD D of the same atoms is given, when the
  MSD confirms diffusion (D > 2σ and, when known, its diffusive regime reached: a windowed g(0) > 0 can
  also come from a slow bounded relaxation, e.g. anion reorientations, longer than the lag window). Otherwise g(0) is *consistent with zero*: the reported
  g0 is clipped at 0 and only the upper bound max(g(0), 0) + 2σ is a result. Nothing is ever negative.
* verdict (b), the law of g − g(0) ≈ a νⁿ on a low-frequency fit range, a *forward model*: the trial
  spectrum is convolved with the spectral kernel of the lag window before it is compared with the
  data, so the finite resolution (which turns a Debye ν² into ν² + σ²) does not bias n. g(0) is held at
  verdict (a)'s value (0 when not resolved), and the fit is admissible by construction: g ≥ 0 on the
  whole fit range (non-negative least squares on its end value). Default fit range: from one resolution FWHM
  to max(0.15 × the median frequency of the band, 8 FWHM above the start, twice the start). The law is
  'linear' (n ≈ 1, liquid-like), 'Debye' (n ≈ 2), 'other' (a resolved exponent that is neither, e.g. a
  sublinear rise) or 'unresolved': when the fit range reaches into the band (too short a run), when it lies
  below the lowest phonons of the cell (`finite_size.lowest_phonon`: a cell of edge L holds no vibration
  below ν_min ≈ v_s/L and only a few discrete shells just above it, so with ν_min known the fit range starts
  at 2 ν_min), when the exponent ends on its search bound (a fit on a bound is a failed fit, never a
  number), when the spectrum falls on the fit range (relaxational, not vibrational), or when n is too
  uncertain to tell the laws apart, or when velocities derived from positions at frames > 20 fs apart
  fold the bands above the Nyquist frequency into the spectrum.
* the seed's 'liquid-like' is (a) and (b) together: g(0) > 0 *and* a linear law (`classify`).
* alternatives on the same fit range: g − g(0) = aν + bν² and the Debye form aν² (for ν_D).
* uncertainties from a bootstrap over the blocks kept by `vdos` (atom subset × time block): the
  blocks are resampled with replacement, the spectrum is recomputed and refitted. Fit weights are 1/σ_i²
  with σ_i the bootstrap spread of each spectral point (relative weights 1/g² without bootstrap blocks).
"""

from __future__ import annotations

import warnings

import numpy as np
import xarray as xr
from scipy.optimize import minimize_scalar, nnls

from .. import units
from .._compat import renamed_keyword
from ..errors import InputError
from . import lag_windows
from .vdos import selection, spectrum_from_vacf, with_current_names

N_BOUNDS = (0.2, 4.5)


# --------------------------------------------------------------------------- resolution kernel
def lag_window_kernel(lag_window: str, max_lag: int, dt_fs: float, nu_thz: np.ndarray) -> np.ndarray:
    """Spectral kernel K(ν) (1/THz, ∫K dν = 1 over a period) that the lag window imposes on g.

    K(ν) = Δt Σ_m c_m w_m cos(2πνmΔt) with the even extension used by `cosine_transform`.
    """
    w = lag_windows.lag_window(lag_window, max_lag)
    c = w.copy()
    c[1 : max_lag - 1] *= 2.0
    dt_ps = dt_fs * 1e-3
    m = np.arange(max_lag)
    nu = np.asarray(nu_thz, dtype=float)
    out = np.empty(nu.shape)
    flat = nu.ravel()
    step = max(1, 2_000_000 // max_lag)
    res = out.ravel()
    for s in range(0, flat.size, step):
        res[s : s + step] = dt_ps * (np.cos(2 * np.pi * np.outer(flat[s : s + step], m) * dt_ps) @ c)
    return res.reshape(nu.shape)


class ForwardModel:
    """Convolution of trial spectra f(|ν|) with the lag-window kernel, evaluated at the fit frequencies."""

    def __init__(
        self,
        nu_fit: np.ndarray,
        lag_window: str,
        max_lag: int,
        dt_fs: float,
        dnu: float,
        fwhm: float,
        oversample: int = 4,
        reach: float = 12.0,
    ):
        self.nu_fit = np.asarray(nu_fit, dtype=float)
        h = dnu / oversample
        ext = self.nu_fit.max() + reach * fwhm
        self.grid = np.arange(-np.ceil(ext / h), np.ceil(ext / h) + 1) * h  # even grid
        n_off = np.rint((self.nu_fit[:, None] - self.grid[None, :]) / h).astype(int)
        offs = np.unique(n_off)
        kv = lag_window_kernel(lag_window, max_lag, dt_fs, offs * h)
        k = kv[np.searchsorted(offs, n_off)] * h
        self.kmat = k / k.sum(axis=1, keepdims=True)
        self.absgrid = np.abs(self.grid)

    def basis(self, n: float) -> np.ndarray:
        """Smoothed |ν|^n at the fit frequencies."""
        return self.kmat @ (self.absgrid**n)


def _nnls(cols: list[np.ndarray], y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, float]:
    """Weighted least squares with every coefficient ≥ 0 (scipy NNLS); returns (coef, χ²)."""
    sw = np.sqrt(w)
    coef, rnorm = nnls(np.column_stack(cols) * sw[:, None], y * sw, maxiter=50 * len(cols))
    return coef, float(rnorm * rnorm)


def fit_power_law(model: ForwardModel, y: np.ndarray, w: np.ndarray, g0: float, fix_n: float | None = None) -> dict:
    """Weighted fit of g(ν) = g₀ + a νⁿ with g₀ ≥ 0 held (forward-modelled), admissible by construction:
    g ≥ 0 on the whole fit range [0, ν_hi] (a may be < 0, a falling spectrum, down to g(ν_hi) = 0).

    Parametrised by the end value g_hi = g₀ + a ν_hiⁿ ≥ 0 (NNLS). n is searched in `N_BOUNDS` unless
    `fix_n`. Returns a, n, chi2 and the flags n_at_bound (n on its search bound) and rising (a > 0).
    """
    top = float(model.nu_fit.max())

    def solve(n: float) -> tuple[float, float]:
        b = model.basis(n) / top**n
        coef, chi2 = _nnls([b], y - g0 * (1.0 - b), w)
        return float(coef[0] - g0) / top**n, chi2

    if fix_n is None:
        grid = np.linspace(*N_BOUNDS, 18)
        vals = [solve(n)[1] for n in grid]
        i = int(np.argmin(vals))
        lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
        n = float(minimize_scalar(lambda x: solve(x)[1], bounds=(lo, hi), method="bounded", options={"xatol": 1e-5}).x)
    else:
        n = float(fix_n)
    a, chi2 = solve(n)
    at_bound = fix_n is None and min(abs(n - N_BOUNDS[0]), abs(n - N_BOUNDS[1])) < 1e-3
    return {"a": a, "n": n, "chi2": chi2, "n_at_bound": bool(at_bound), "rising": bool(a > 0.0)}


def fit_quadratic(model: ForwardModel, y: np.ndarray, w: np.ndarray) -> dict:
    """Weighted linear fit of aν + bν² (forward-modelled) to y = g − g(0)."""
    sw = np.sqrt(w)
    a = np.column_stack([model.basis(1.0), model.basis(2.0)]) * sw[:, None]
    coef, *_ = np.linalg.lstsq(a, y * sw, rcond=None)
    return {"a": float(coef[0]), "b": float(coef[1])}


@renamed_keyword(window="lag_window")
def leakage_bound(nu: np.ndarray, g: np.ndarray, above: float, lag_window: str, max_lag: int, dt_fs: float) -> float:
    """Upper bound (1/THz) on what the lag window's side lobes carry from the band above `above` THz
    down to ν = 0: 2 Σ_j g_j |K|_env(ν_j) Δν, with |K|_env the envelope of the lag-window kernel (its
    oscillation removed by a running maximum over ±2 bins of a 4× oversampled kernel, so a band that
    falls between grid points is covered too). A g₀ below this bound is not evidence of
    diffusion: it can be leakage of the vibrational band (sharp bands, short lag windows).
    """
    from .correlate import cosine_transform

    over = 4  # kernel on a 4× finer grid
    w = np.concatenate([lag_windows.lag_window(lag_window, max_lag), np.zeros((over - 1) * max_lag)])
    _, k = cosine_transform(w, dt_fs)  # 2K(ν), fs
    k = np.abs(k) * 0.5e-3  # |K| in 1/THz
    half = 2 * over  # running max over ±2 coarse bins
    pad = np.concatenate([k, np.full(half, k[-1])])
    env_fine = np.max(np.stack([np.roll(pad, s) for s in range(-half, half + 1)]), axis=0)[: len(k)]
    env = env_fine[::over][: len(nu)]
    if len(env) < len(nu):
        env = np.concatenate([env, np.full(len(nu) - len(env), env[-1])])
    far = nu > above
    dnu = float(nu[1] - nu[0])
    return float(2.0 * np.sum(np.clip(g[far], 0.0, None) * env[far]) * dnu)


@renamed_keyword(window="lag_window")
def main_lobe_smear(
    nu: np.ndarray, g: np.ndarray, fwhm: float, lag_window: str, max_lag: int, dt_fs: float, base: float = 0.0
) -> float:
    """What the lag window's main lobe (|ν| < 2 FWHM) carries to ν = 0 (1/THz) from a linear rise from `base`
    at ν = 0 to the measured g(2 FWHM): ∫K(ν)·(g(2F) − base)₊|ν|/2F dν. With base = 0 it bounds what a
    spectrum vanishing at ν = 0 can show there (a windowed g(0) below it can be the smear of a
    vibrational rise, not diffusion); with base = g(0) it is the resolution's systematic bias on g(0).
    """
    edge = 2.0 * fwhm
    rise = max(float(np.interp(edge, nu, g)) - base, 0.0)
    grid = np.linspace(-edge, edge, 801)
    k = lag_window_kernel(lag_window, max_lag, dt_fs, grid)
    return float(np.trapezoid(k * rise * np.abs(grid) / edge, grid))


# --------------------------------------------------------------------------- fit ranges
#: a default fit range reaching above this fraction of the band's median frequency is "unresolved"
COARSE_FRACTION = 0.6
#: confidence level of the upper bound quoted for a g(0) consistent with zero
UPPER_QUANTILE = 0.95
#: a law needs the exponent to this precision (larger bootstrap errors: "unresolved")
MAX_EXPONENT_ERR = 0.5
#: with the cell's lowest phonon ν_min known, the fit range starts at this multiple of ν_min: just above
#: ν_min a small cell holds a few discrete commensurate shells (ν_min·√(h²+k²+l²)), not a continuum
FINITE_SIZE_START = 2.0
#: with velocities from positions, a Nyquist frequency (THz) below this folds the vibrational bands of
#: solids (up to ~20 THz) into the spectrum, so no law is read from it
FOLDING_NYQUIST = 25.0
#: |n − 1| (linear) or |n − 2| (Debye) up to this much (plus 2σ) counts as that law
LAW_TOLERANCE = 0.25


def band_median(nu: np.ndarray, g: np.ndarray) -> float:
    """Median frequency of the spectrum (THz): half of ∫g dν lies below it."""
    cum = np.concatenate([[0.0], np.cumsum(0.5 * (g[1:] + g[:-1]) * np.diff(nu))])
    return float(np.interp(0.5, cum / cum[-1], nu))


def default_fit_range(nu: np.ndarray, g: np.ndarray, fwhm: float, start: float | None = None) -> tuple[float, float]:
    """(lo, hi) THz: lo = max(one resolution FWHM, start); hi = max(0.15 × median frequency, lo + 8 FWHM, 2 lo)
    (an exponent needs a lever arm of at least a factor 2 in frequency).
    """
    median = band_median(nu, g)
    lo = max(float(fwhm), float(start or 0.0))
    hi = max(0.15 * median, lo + 8.0 * fwhm, 2.0 * lo)
    return lo, hi


def _check_fit_range(nu: np.ndarray, lo: float, hi: float) -> np.ndarray:
    if not (0 <= lo < hi):
        raise InputError(f"fit range must satisfy 0 ≤ low < high (THz), got {lo}, {hi}")
    mask = (nu >= lo) & (nu <= hi)
    if mask.sum() < 5:
        raise InputError(
            f"the fit range {lo:.3g}–{hi:.3g} THz holds {mask.sum()} spectral points "
            f"(step {float(nu[1] - nu[0]):.3g} THz); widen it or use a longer max_lag"
        )
    return mask


# --------------------------------------------------------------------------- bootstrap
#: bootstrap resamples turned into spectra at once (bounds the memory of long lag windows)
BOOT_BATCH = 16


def _spectra_from_blocks(
    sums: np.ndarray, cnt: np.ndarray, dt: float, lag_window: str, samples: np.ndarray, columns: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Spectra at the frequency indices `columns` (B, C) and Z(0) (B,) of resampled blocks; samples (B, K) block
    indices. A resample is a count per block, so its sums are one matrix product; BOOT_BATCH spectra at a time.
    """
    k = sums.shape[0]
    g = np.empty((len(samples), len(columns)))
    z0 = np.empty(len(samples))
    for b0 in range(0, len(samples), BOOT_BATCH):
        counts = np.stack([np.bincount(r, minlength=k) for r in samples[b0 : b0 + BOOT_BATCH]]).astype(float)
        c = counts @ cnt
        z = (counts @ sums) / np.where(c > 0, c, 1)
        _, spec = spectrum_from_vacf(z, dt, lag_window)
        g[b0 : b0 + len(counts)] = spec[:, columns]
        z0[b0 : b0 + len(counts)] = z[:, 0]
    return g, z0


def _std(values) -> float:
    v = np.asarray(values, dtype=float)
    return float(v.std(ddof=1)) if v.size > 1 else float("nan")


# --------------------------------------------------------------------------- verdicts
def zero_frequency_verdict(g0: float, g0_err: float, leakage: float, msd_D: tuple[float, float] | None = None) -> dict:
    """Verdict (a) on the windowed value g(ν = 0) ± σ (1/THz): {'resolved': bool, 'upper': bound or NaN, 'status':
    'resolved' | 'consistent with zero' | 'not diffusion' | 'not confirmed' | 'not assessed', 'reason'}.

    Resolved (diffusive) when g(0) > 3σ, g(0) exceeds the side-lobe leakage of the spectrum beyond the
    lag window's main lobe (`leakage`), and — when the MSD route is given as `msd_D` = (D, σ[, diffusive
    regime reached]) in cm²/s — the MSD confirms diffusion (D > 2σ, and its diffusive regime reached when
    that flag is given): a g(0) > 0 that the MSD does not confirm is a slow relaxation (rotations,
    rattling between sites, correlated hops) longer than the lag window. Otherwise g(0) is
    consistent with zero and only its upper bound max(g(0), 0) + 2σ (≈ 97.5 %) is a result.
    """
    if not np.isfinite(g0_err):
        return {
            "resolved": False,
            "upper": float("nan"),
            "status": "not assessed",
            "reason": "no uncertainty (fewer than 3 bootstrap blocks): g(0) is not assessed",
        }
    upper = max(g0, 0.0) + 2.0 * g0_err
    if g0 <= 3.0 * g0_err:
        return {
            "resolved": False,
            "upper": upper,
            "status": "consistent with zero",
            "reason": f"g(0) is consistent with zero: < {upper:.2g} 1/THz",
        }
    if g0 <= leakage:
        return {
            "resolved": False,
            "upper": upper,
            "status": "consistent with zero",
            "reason": f"g(0) = {g0:.2g} 1/THz is below the lag window's "
            f"side-lobe leakage of the band ({leakage:.2g} 1/THz): run longer",
        }
    if msd_D is not None and np.all(np.isfinite(msd_D[:2])):
        if not msd_D[0] > 2.0 * msd_D[1]:
            return {
                "resolved": False,
                "upper": upper,
                "status": "not diffusion",
                "reason": f"g(0) = {g0:.2g} ± {g0_err:.2g} 1/THz with this lag window, but the MSD shows no diffusion (D = {msd_D[0]:.2g} ± {msd_D[1]:.2g} cm²/s): a slow "
                "non-diffusive relaxation (anion rotations, rattling) longer than the lag window, not diffusion",
            }
        if len(msd_D) > 2 and not msd_D[2]:
            return {
                "resolved": False,
                "upper": upper,
                "status": "not confirmed",
                "reason": f"g(0) = {g0:.2g} ± {g0_err:.2g} 1/THz with this lag window, but the MSD has not reached its diffusive regime (†): relaxational weight (hops not yet "
                "uncorrelated, or bounded motion such as anion reorientations), not yet diffusion; run longer",
            }
    return {
        "resolved": True,
        "upper": float("nan"),
        "status": "resolved",
        "reason": "g(0) > 0 resolved: the species diffuses",
    }


def law_verdict(n: float, n_err: float, flags: list[str]) -> tuple[str, str]:
    """Verdict (b): the low-frequency law from the exponent n ± σ of g − g₀ ∝ νⁿ.

    A law is consistent with n when |n − n_law| ≤ LAW_TOLERANCE + 2σ. 'linear' (liquid-like, n_law = 1) or
    'Debye' (n_law = 2) when n is consistent with that law only; 'other' when it is consistent with neither
    (e.g. a sublinear rise); 'unresolved' when with both, when σ > MAX_EXPONENT_ERR, or when `flags` give
    reasons that make any law unresolved (fit range, finite size, fit on a bound). Returns (law, reason).
    """
    if flags:
        return "unresolved", "; ".join(flags)
    if not np.isfinite(n_err):
        return "unresolved", "no uncertainty on the exponent (fewer than 3 bootstrap blocks)"
    if n_err > MAX_EXPONENT_ERR:
        return "unresolved", f"n = {n:.2f} ± {n_err:.2f} is too uncertain: run longer"
    linear = abs(n - 1.0) <= LAW_TOLERANCE + 2 * n_err
    debye = abs(n - 2.0) <= LAW_TOLERANCE + 2 * n_err
    txt = f"n = {n:.2f} ± {n_err:.2f}"
    if linear and not debye:
        return "linear", f"{txt}: linear (liquid-like); Debye n = 2 excluded"
    if debye and not linear:
        return "Debye", f"{txt}: quadratic (Debye); linear n = 1 excluded"
    if linear and debye:
        return "unresolved", f"{txt}: neither linear nor Debye is excluded"
    return "other", f"{txt}: neither linear (n ≈ 1) nor Debye (n ≈ 2)"


def classify(g0_resolved: bool, law: str) -> str:
    """One label from the two verdicts: the seed's 'liquid-like' is g(0) > 0 *and* a linear law.
    ('other' laws count as unresolved for the label; the law itself is reported beside it.)

    'liquid-like' (diffusive + linear), 'diffusive' (g(0) > 0, law Debye or unresolved), 'Debye-like'
    (g(0) ≈ 0, n ≈ 2), 'linear' (g(0) ≈ 0, n ≈ 1: a liquid's INM law without diffusion), 'unresolved'.
    """
    if g0_resolved:
        return "liquid-like" if law == "linear" else "diffusive"
    return {"Debye": "Debye-like", "linear": "linear"}.get(law, "unresolved")


# --------------------------------------------------------------------------- analysis
@renamed_keyword(fit_window="fit_range")
def analyse_lowfreq(
    ds: xr.Dataset,
    name: str,
    fit_range: tuple[float, float] | None = None,
    n_boot: int = 200,
    seed: int = 0,
    lowest_phonon: dict | None = None,
    msd_D: tuple[float, float] | None = None,
) -> dict:
    """Low-frequency analysis of one species/group of a `vdos` Dataset (see module docstring).

    lowest_phonon: `finite_size.lowest_phonon` of the same cell ({'nu_min_THz', 'v_T_m_s', …}); the
    law is then measured only above the cell's lowest phonon. msd_D: (D, σ) cm²/s of the same species
    from the MSD, optionally with a third item, whether its diffusive regime was reached (`fit_range_ok`); a
    g(0) > 0 counts as diffusion only when the MSD confirms it (`zero_frequency_verdict`).

    Returns a dict with the zero-frequency verdict (g0 ≥ 0, g0_err, g0_resolved, g0_upper, g0_reason,
    D_from_g0(_err/_upper) cm²/s), the law verdict (exponent, exponent_err, law, law_reason,
    fit_range THz), the combined classification, the quadratic fit g₀ + aν + bν²,
    debye_a (a of g₀ + aν²) and diagnostics (g_at_zero: the plain windowed spectrum at ν = 0,
    leakage_bound, n_blocks, z0, finite_size).
    """
    ds = with_current_names(ds)  # VDOS files of earlier versions
    sel = selection(ds, name)
    nu = ds.frequency.values
    g = sel.g.values
    dt, lag_window, max_lag = float(ds.attrs["dt_fs"]), ds.attrs["lag_window"], int(ds.attrs["max_lag"])
    fwhm = float(ds.attrs["resolution_fwhm_THz"])
    dnu = float(nu[1] - nu[0])
    median = band_median(nu, g)
    flags: list[str] = []
    finite = None
    lo, hi = fit_range if fit_range is not None else default_fit_range(nu, g, fwhm)
    nyquist = 0.5e3 / dt
    if ds.attrs.get("velocities", "file") != "file" and nyquist < FOLDING_NYQUIST:
        flags.append(
            f"velocities from positions at {dt:g} fs fold every mode above {nyquist:.3g} THz into the "
            "spectrum: no law (store velocities, or frames ≤ 20 fs apart)"
        )
    if fit_range is None and hi > COARSE_FRACTION * median:
        flags.append(
            f"the resolution ({fwhm:.3g} THz FWHM) is coarse for this band (median {median:.3g} THz): "
            "the fit range reaches into the band; run longer"
        )
    if lowest_phonon is not None and np.isfinite(lowest_phonon.get("nu_min_THz", np.nan)):
        from .finite_size import needed_cell_length

        nu_min = float(lowest_phonon["nu_min_THz"])
        v_s = float(lowest_phonon.get("v_T_m_s", np.nan))
        # the edge at which the resolution-limited fit range would start at FINITE_SIZE_START × ν_min
        need = FINITE_SIZE_START * needed_cell_length(v_s, max(lo, fwhm)) if np.isfinite(v_s) else float("nan")
        finite = {
            "nu_min_THz": nu_min,
            "v_s_m_s": v_s,
            "method": lowest_phonon.get("method", ""),
            "needed_L_A": float(need),
        }
        start = FINITE_SIZE_START * nu_min
        if fit_range is not None and lo < start:
            flags.append(
                f"the fit range starts below {FINITE_SIZE_START:g}× the lowest phonon of this cell "
                f"({nu_min:.3g} THz): not a bulk property; needs L ≥ {need:.0f} Å"
            )
        elif fit_range is None and start > lo:
            lo, hi = default_fit_range(nu, g, fwhm, start=start)
            if hi > COARSE_FRACTION * median:
                flags.append(
                    f"below {FINITE_SIZE_START:g}× the lowest phonon of this cell ({nu_min:.3g} THz) its "
                    "modes are few and discrete, and above it the fit range reaches into the band: not a bulk "
                    f"property; needs L ≥ {need:.0f} Å"
                )
    mask = _check_fit_range(nu, lo, hi)
    model = ForwardModel(nu[mask], lag_window, max_lag, dt, dnu, fwhm)

    sums, cnt = sel.vacf_blocks.values, sel.block_pairs.values
    keep = cnt[:, 0] > 0
    sums, cnt = sums[keep], cnt[keep]
    k = sums.shape[0]
    z0 = float(sel.vacf.values[0])
    boot = k >= 3 and n_boot > 1
    # bootstrap spectra at ν = 0 and on the fit range (n_boot, 1 + n_fit_points) and their Z(0); empty without
    gb = z0b = np.zeros((0, 1))
    if boot:
        samples = np.random.default_rng(seed).integers(0, k, (n_boot, k))
        gb, z0b = _spectra_from_blocks(sums, cnt, dt, lag_window, samples, np.concatenate([[0], np.flatnonzero(mask)]))
    elif n_boot > 1:
        warnings.warn(
            f"{name}: only {k} bootstrap block(s); uncertainties are not available "
            "(use more atoms, atom_groups or time_blocks)",
            RuntimeWarning,
            stacklevel=2,
        )
    y = g[mask]
    floor = 1e-3 * np.abs(y).max() + 1e-300
    w = 1.0 / np.maximum(np.abs(y) if not boot else gb[:, 1:].std(axis=0, ddof=1), floor) ** 2
    nan = float("nan")
    to_d = 1e3 * z0 / 12.0 * units.A2_PER_FS_TO_CM2_PER_S  # g(0) in 1/THz → D in cm²/s

    def fits(y_zero: float, yw: np.ndarray) -> tuple[dict, dict, dict]:
        """(law, quadratic, Debye) fits of one spectrum on the fit range, g(0) held at its ν = 0 value (≥ 0)."""
        g0 = max(float(y_zero), 0.0)
        return fit_power_law(model, yw, w, g0), fit_quadratic(model, yw - g0, w), fit_power_law(model, yw, w, g0, 2.0)

    # (a) the zero-frequency limit: the windowed Green–Kubo value g(ν = 0) and its verdict
    g_zero = float(g[0])
    g_zero_err = _std(gb[:, 0]) if boot else nan
    leak = leakage_bound(nu, g, 2.0 * fwhm, lag_window, max_lag, dt)
    smear = main_lobe_smear(nu, g, fwhm, lag_window, max_lag, dt)
    zv = zero_frequency_verdict(g_zero, g_zero_err, leak + smear, msd_D)
    g0 = max(g_zero, 0.0)
    res: dict = {
        "g0": g0,
        "g0_err": g_zero_err if g_zero > 0 else nan,
        "g0_resolved": zv["resolved"],
        "g0_upper": zv["upper"],
        "g0_status": zv["status"],
        "g0_reason": zv["reason"],
        "g0_resolution_bias": main_lobe_smear(nu, g, fwhm, lag_window, max_lag, dt, base=g0),
        "leakage_bound": leak,
        "g_at_zero": g_zero,
        "g_at_zero_err": g_zero_err,
        "D_at_zero": g_zero * to_d,
        "D_from_g0": g0 * to_d,
        "D_from_g0_err": _std(gb[:, 0] * z0b) * 1e3 / 12.0 * units.A2_PER_FS_TO_CM2_PER_S
        if boot and g_zero > 0
        else nan,
        "D_from_g0_upper": zv["upper"] * to_d,
        "n_blocks": k,
        "z0": z0,
        "finite_size": finite,
        "fit_range": [float(lo), float(hi)],
        "n_fit_points": int(mask.sum()),
    }
    law, quad, deb = fits(g[0], g[mask])
    reps = [fits(gb[i, 0], gb[i, 1:]) for i in range(n_boot)] if boot else []

    # (b) the law of g − g(0) on the fit range
    res.update(exponent=law["n"], amplitude=law["a"], quadratic={"a": quad["a"], "b": quad["b"]}, debye_a=deb["a"])
    if boot:
        res["exponent_err"] = _std([r[0]["n"] for r in reps])
        res["amplitude_err"] = _std([r[0]["a"] for r in reps])
        for key in ("a", "b"):
            res["quadratic"][key + "_err"] = _std([r[1][key] for r in reps])
        res["debye_a_err"] = _std([r[2]["a"] for r in reps])
    else:
        res.update(exponent_err=nan, amplitude_err=nan, debye_a_err=nan)
        res["quadratic"].update(a_err=nan, b_err=nan)
    if law["n_at_bound"]:
        flags.append(f"the exponent ended on its search bound ({law['n']:.2f}): the fit failed")
    if not law["rising"]:
        flags.append(
            "the spectrum does not rise on the fit range (relaxational, e.g. a Lorentzian of diffusion): "
            "no vibrational law"
        )
    res["law"], res["law_reason"] = law_verdict(law["n"], res["exponent_err"], flags)
    if law["n_at_bound"]:  # a fit on its bound has no exponent (its value is named in law_reason)
        res.update(exponent=nan, exponent_err=nan, amplitude=nan, amplitude_err=nan)
    res["resolved"] = res["law"] != "unresolved"
    res["classification"] = classify(res["g0_resolved"], res["law"])
    return res


@renamed_keyword(fit_window="fit_range")
def lowfreq(
    ds: xr.Dataset,
    fit_range: tuple[float, float] | None = None,
    n_boot: int = 200,
    seed: int = 0,
    lowest_phonon: dict | None = None,
    msd_D: dict | None = None,
) -> xr.Dataset:
    """`analyse_lowfreq` for every species and group, as a Dataset over `name` (msd_D: {name: (D, σ)})."""
    from .vdos import names_of

    names = names_of(ds)
    rows = [analyse_lowfreq(ds, n, fit_range, n_boot, seed, lowest_phonon, (msd_D or {}).get(n)) for n in names]
    spec = {
        "g0": "THz-1",
        "g0_err": "THz-1",
        "g0_upper": "THz-1",
        "exponent": units.DIMENSIONLESS,
        "exponent_err": units.DIMENSIONLESS,
        "D_from_g0": units.DIFFUSION,
        "D_from_g0_err": units.DIFFUSION,
        "D_from_g0_upper": units.DIFFUSION,
    }
    data: dict[str, tuple] = {k: ("name", np.array([r[k] for r in rows]), {"units": u}) for k, u in spec.items()}
    for key in ("g0_resolved", "law", "classification"):
        data[key] = ("name", np.array([r[key] for r in rows]), {"units": units.DIMENSIONLESS})
    data["fit_range"] = (("name", "bound"), np.array([r["fit_range"] for r in rows]), {"units": units.FREQUENCY})
    out = xr.Dataset(data, coords={"name": names, "bound": ["low", "high"]})
    out.attrs.update(
        analysis="lowfreq",
        model="g(0): windowed Green-Kubo value; law: g(0) + a nu^n (g >= 0 on the fit range) convolved with the lag-window kernel",
        n_boot=n_boot,
        lag_window=with_current_names(ds).attrs["lag_window"],
        verdicts="g0_resolved: g(0) > 0 at 3 sigma above leakage; law: linear | Debye | unresolved; "
        "liquid-like = g(0) > 0 and linear",
    )
    return out
