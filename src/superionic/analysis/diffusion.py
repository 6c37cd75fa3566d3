"""Mean squared displacement, non-Gaussian parameter, self van Hove function and tracer diffusion.

MSD_α(t) = <|r_i(t0+t) − r_i(t0)|²> over atoms i of species α and all origins t0 (FFT kernel), from
unwrapped positions with the framework drift removed. In the diffusive regime MSD = 2 d D t + c
(d = 3 dimensions, c an offset from vibrations/ballistic motion); D is reported in cm²/s
(1 Å²/fs = 0.1 cm²/s).

Uncertainty (the point of this module): the MSD points at different lags share time origins and are
strongly correlated, so an ordinary least-squares error bar is far too small. D is fitted by
generalised least squares (GLS) with the covariance matrix

    Σ_ij = s_i s_j ρ_ij / N,      ρ_ij = S(m_i, m_j) / [(T − m_i)(T − m_j) m_i m_j]

where ρ is the exact overlap structure of the all-origin MSD estimator of a Gaussian random walk
observed on T frames (Qian et al. 1991; Bullerjahn, von Bülow & Hummer, J. Chem. Phys. 153, 024116
(2020)), computed in closed form (`rw_overlap`, O(M²) vectorised, no Python loop), N the number of
independent atoms, and s_i² = Var(|Δr|²) of one displacement at lag m_i: the Gaussian value
(2/d)·M_i² times the non-Gaussian inflation 1 + (d+2)/2·α₂(t) measured from the data, with M_i the
fitted line (not the noisy data, to avoid weights correlated with the values); iterated twice.
The random-walk model is applied on a coarse time grid of q frames, q·dt = the fit range start, with
the fit lags multiples of q: below that scale real motion is smooth (ballistic, vibrational), and a
frame-level random-walk model would mistake it for independent steps and give too small an error.
σ_D is the GLS standard error. Two checks flag a fit range that is not diffusive (`fit_range_ok` = 0):
the log–log slope of the MSD on the fit range must lie in LOGLOG_RANGE (a caged or vibrating species has
a slope well below 1), and χ² must stay below its 99.9 % quantile; when the random-walk model fails
that test, σ_D is scaled by √(χ²/dof) (Birge ratio). Calibration (tests): D within 2σ of the exact value in ~95 % of Langevin realisations.

Diffusive fit range (automatic unless given): on ~40 log-spaced lags the secant slope of the MSD is
compared with the GLS slope over the later lags [2t, 8t]; the first lag t_c where they agree (within
`rel_tol` or 3σ) for three consecutive lags marks the end of the ballistic/cage regime, and the fit range
starts at 3·t_c (the GLS weights the earliest lags most, so residual curvature there would bias D). It
ends at the longest lag (default half the trajectory). Both are stated in the result.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy.stats import chi2 as chi2_dist

from .. import units
from .._compat import renamed_keyword
from ..errors import InputError
from ..trajectory.blocks import FrameSource, atom_blocks, opened, position_sums, unwrapped_positions
from ..trajectory.model import Trajectory
from ..trajectory.unwrap import unwrap_positions
from .correlate import autocorrelation
from .correlate import msd as msd_kernel

AXES = ["x", "y", "z"]
#: the automatic fit range starts at this multiple of the lag where the local slope has converged
START_MARGIN = 3.0
#: time step of the random-walk noise model as a fraction of the fit range start
RESOLUTION_FRACTION = 1.0
#: log–log MSD slope accepted as diffusive on the fit range (1 = Fickian; < 1 still caged/subdiffusive)
LOGLOG_RANGE = (0.7, 1.3)


# ----------------------------------------------------------------------------- positions
def mobile_positions(traj: Trajectory, species: str, remove_drift: bool = True) -> np.ndarray:
    """Unwrapped positions (T, n, 3) Å of one species, minus the mean displacement of all other
    atoms (the framework) when `remove_drift` and other atoms exist.
    """
    r = unwrap_positions(traj.positions, traj.cells)
    idx = traj.indices(species)
    out = r[:, idx]
    if remove_drift:
        others = np.setdiff1d(np.arange(traj.n_atoms), idx)
        if others.size:
            drift = r[:, others].mean(axis=1)
            out = out - (drift - drift[0])[:, None, :]
    return out


# ----------------------------------------------------------------------------- MSD
def msd(
    traj: Trajectory, species: list[str] | str | None = None, max_lag: int | None = None, remove_drift: bool = True
) -> xr.Dataset:
    """MSD per species (Å²) and per Cartesian axis, all time origins (FFT), unwrapped positions.

    max_lag: number of lags kept (frames, including lag 0); default half the trajectory.
    Returns `msd` (species, time) = Σ_axes `msd_axis` (species, time, axis), and `n_atoms`.
    """
    species = traj.species_list(species)
    max_lag = traj.max_lag(max_lag, minimum=3)
    total, axis, counts = [], [], []
    for s in species:
        r = mobile_positions(traj, s, remove_drift)
        t, n, _ = r.shape
        per_axis = msd_kernel(r.reshape(t, n * 3, 1), max_lag).reshape(max_lag, n, 3).mean(axis=1)
        axis.append(per_axis)
        total.append(per_axis.sum(axis=1))
        counts.append(n)
    return _msd_dataset(species, total, axis, counts, max_lag, traj.dt, traj.n_frames, remove_drift)


def _msd_dataset(
    species, total, axis, counts, max_lag: int, dt: float, n_frames: int, remove_drift: bool
) -> xr.Dataset:
    time = np.arange(max_lag) * dt
    ds = xr.Dataset(
        {
            "msd": (
                ("species", "time"),
                np.array(total),
                {"units": "angstrom2", "long_name": "mean squared displacement"},
            ),
            "msd_axis": (
                ("species", "time", "axis"),
                np.array(axis),
                {"units": "angstrom2", "long_name": "MSD per Cartesian component <Δx_a²>"},
            ),
            "n_atoms": ("species", np.array(counts), {"units": units.DIMENSIONLESS}),
        },
        coords={
            "species": species,
            "time": ("time", time, {"units": units.TIME}),
            "axis": ("axis", AXES, {"units": units.DIMENSIONLESS}),
        },
    )
    ds.attrs.update(
        analysis="msd",
        dt_fs=dt,
        n_frames=n_frames,
        max_lag=max_lag,
        unwrapped="minimum-image frame-to-frame",
        drift_removed=int(bool(remove_drift)),
        normalisation="average over atoms of the species and all T−m time origins",
    )
    return ds


# ----------------------------------------------------------------------------- moments
def _log_lags(max_lag: int, n: int = 40) -> np.ndarray:
    """Integer lags 1 … max_lag−1, roughly log-spaced, unique."""
    return np.unique(np.round(np.geomspace(1, max_lag - 1, n)).astype(int))


def displacement_moments(
    r: np.ndarray, lags: np.ndarray, max_samples: int = 4_000_000
) -> tuple[np.ndarray, np.ndarray]:
    """Direct <|Δr|²> and <|Δr|⁴> (Å², Å⁴) at the given lags (frames), averaged over atoms and origins.

    Origins are strided so at most `max_samples` displacements enter each lag (ratios such as α₂
    are insensitive to this).
    """
    s2, s4, count = _moment_sums(r, lags, r.shape[1], max_samples)
    return s2 / count, s4 / count


def _moment_sums(
    r: np.ndarray, lags: np.ndarray, n_atoms: int, max_samples: int = 4_000_000
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sums of |Δr|² and |Δr|⁴ and their number at the given lags, over the atoms of `r` (T, n, 3) and
    origins strided as `displacement_moments` strides them for `n_atoms` atoms (so that sums over blocks
    of atoms add up to the moments of all of them).
    """
    t = r.shape[0]
    s2 = np.empty(len(lags))
    s4 = np.empty(len(lags))
    count = np.empty(len(lags))
    for k, m in enumerate(lags):
        n_orig = t - m
        stride = max(1, int(np.ceil(n_orig * n_atoms / max_samples)))
        d = r[m::stride][: len(range(0, n_orig, stride))] - r[:n_orig:stride]
        sq = np.einsum("tnj,tnj->tn", d, d)
        s2[k] = sq.sum()
        s4[k] = (sq * sq).sum()
        count[k] = sq.size
    return s2, s4, count


def alpha2_from_moments(m2: np.ndarray, m4: np.ndarray, dims: int = 3) -> np.ndarray:
    """Non-Gaussian parameter α₂ = d<Δr⁴>/((d+2)<Δr²>²) − 1 (zero for a Gaussian)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return dims * m4 / ((dims + 2) * m2**2) - 1.0


def non_gaussian(
    traj: Trajectory,
    species: list[str] | str | None = None,
    lags: np.ndarray | None = None,
    max_lag: int | None = None,
    remove_drift: bool = True,
) -> xr.Dataset:
    """Non-Gaussian parameter α₂(t) = 3<Δr⁴>/(5<Δr²>²) − 1 per species on log-spaced lags.

    lags: integer frame lags (default ~40 log-spaced lags up to max_lag). Computed directly (not FFT)
    so short-lag values keep full precision.
    """
    species = traj.species_list(species)
    max_lag = traj.max_lag(max_lag, minimum=3)
    lags = _log_lags(max_lag) if lags is None else np.asarray(lags, dtype=int)
    if lags.min() < 1 or lags.max() >= traj.n_frames:
        raise InputError(f"lags must lie between 1 and {traj.n_frames - 1} frames")
    a2, m2s, m4s = [], [], []
    for s in species:
        m2, m4 = displacement_moments(mobile_positions(traj, s, remove_drift), lags)
        a2.append(alpha2_from_moments(m2, m4))
        m2s.append(m2)
        m4s.append(m4)
    ds = xr.Dataset(
        {
            "alpha2": (
                ("species", "lag_time"),
                np.array(a2),
                {"units": units.DIMENSIONLESS, "long_name": "non-Gaussian parameter α₂"},
            ),
            "msd": (("species", "lag_time"), np.array(m2s), {"units": "angstrom2"}),
            "m4": (("species", "lag_time"), np.array(m4s), {"units": "angstrom4", "long_name": "<|Δr|⁴>"}),
        },
        coords={"species": species, "lag_time": ("lag_time", lags * traj.dt, {"units": units.TIME})},
    )
    ds.attrs.update(analysis="non_gaussian", definition="α₂ = 3<Δr⁴>/(5<Δr²>²) − 1", dt_fs=traj.dt)
    return ds


def van_hove_self(
    traj: Trajectory,
    species: list[str] | str | None = None,
    times: list[float] | None = None,
    r_max: float = 10.0,
    n_bins: int = 200,
    remove_drift: bool = True,
) -> xr.Dataset:
    """Self part of the van Hove function G_s(r, t) (Å⁻³) per species at the given lag times (fs).

    Normalised so ∫ 4πr² G_s(r,t) dr = 1 (displacements beyond r_max are lost from the integral; the
    fraction kept is returned as `integral`). `p_r` = 4πr² G_s (Å⁻¹) is the radial distribution.
    Default times: 5 log-spaced lags up to half the trajectory.
    """
    species = traj.species_list(species)
    if times is None:
        lags = np.unique(np.round(np.geomspace(1, max(1, traj.n_frames // 2), 5)).astype(int))
    else:
        lags = np.unique(np.round(np.asarray(times, float) / traj.dt).astype(int))
    if lags.min() < 1 or lags.max() >= traj.n_frames:
        raise InputError(f"van Hove times must lie between dt = {traj.dt} fs and the trajectory length")
    edges = np.linspace(0.0, r_max, n_bins + 1)
    rc = 0.5 * (edges[1:] + edges[:-1])
    shell = 4.0 / 3.0 * np.pi * (edges[1:] ** 3 - edges[:-1] ** 3)
    out = np.empty((len(species), len(lags), n_bins))
    for a, s in enumerate(species):
        r = mobile_positions(traj, s, remove_drift)
        for k, m in enumerate(lags):
            dist = np.linalg.norm(r[m:] - r[:-m], axis=-1).ravel()
            h, _ = np.histogram(dist, bins=edges)
            out[a, k] = h / dist.size / shell
    p_r = out * 4 * np.pi * rc**2
    ds = xr.Dataset(
        {
            "G_s": (
                ("species", "lag_time", "r"),
                out,
                {"units": "angstrom-3", "long_name": "self van Hove G_s(r,t)", "normalisation": "∫ 4πr² G_s dr = 1"},
            ),
            "p_r": (("species", "lag_time", "r"), p_r, {"units": "angstrom-1", "long_name": "4πr² G_s(r,t)"}),
            "integral": (
                ("species", "lag_time"),
                p_r.sum(axis=-1) * (edges[1] - edges[0]),
                {"units": units.DIMENSIONLESS, "long_name": "fraction of displacements below r_max"},
            ),
        },
        coords={
            "species": species,
            "lag_time": ("lag_time", lags * traj.dt, {"units": units.TIME}),
            "r": ("r", rc, {"units": units.LENGTH}),
        },
    )
    ds.attrs.update(analysis="van_hove_self", r_max=r_max, n_bins=n_bins, dt_fs=traj.dt)
    return ds


# ----------------------------------------------------------------------------- covariance model
def _p2(x):
    return x * (x + 1) * (2 * x + 1) / 6.0


def _p3(x):
    return (x * (x + 1) / 2.0) ** 2


def rw_overlap(lags: np.ndarray, n_frames: int) -> np.ndarray:
    """Overlap sums S(m, n) = Σ_{origins} ov² of the all-origin MSD estimator (closed form, vectorised).

    For a d-dimensional Gaussian random walk with per-component step variance σ² and T frames,
    Cov(MSD̂(m), MSD̂(n)) = 2dσ⁴ S(m, n) / ((T − m)(T − n)) per atom. With m ≤ n, L = max(1, m+n−T+1):
    S = 2 Σ_{u=L}^{m−1} [(T−m−n)u² + u³] + (n−m+1)(T−n)m².
    """
    m0 = np.asarray(lags, dtype=float)
    a = np.minimum.outer(m0, m0)
    b = np.maximum.outer(m0, m0)
    t = float(n_frames)
    lo = np.maximum(1.0, a + b - t + 1.0)
    hi = a - 1.0
    s2 = np.where(hi >= lo, _p2(hi) - _p2(lo - 1.0), 0.0)
    s3 = np.where(hi >= lo, _p3(hi) - _p3(lo - 1.0), 0.0)
    return 2.0 * ((t - a - b) * s2 + s3) + (b - a + 1.0) * (t - b) * a * a


def rw_correlation_structure(lags: np.ndarray, n_frames: int) -> np.ndarray:
    """ρ_ij = S(m_i, m_j)/[(T−m_i)(T−m_j) m_i m_j]: Cov(MSD̂_i, MSD̂_j) = s_i s_j ρ_ij for one atom, where
    s_i² = Var(|Δr|²) at lag m_i of a single displacement (s_i² = 2dσ⁴m_i² for the random walk).
    """
    m = np.asarray(lags, dtype=float)
    w = (n_frames - m) * m
    return rw_overlap(lags, n_frames) / np.outer(w, w)


def gls_line(x: np.ndarray, y: np.ndarray, cov: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """GLS fit y = b x + c with covariance `cov`: returns ([b, c], 2×2 covariance of (b, c), χ²)."""
    scale = np.sqrt(np.diag(cov))
    corr = cov / np.outer(scale, scale)
    jitter = 0.0
    for _ in range(8):
        try:
            chol = np.linalg.cholesky(corr + jitter * np.eye(len(x)))
            break
        except np.linalg.LinAlgError:
            jitter = 1e-12 if jitter == 0 else jitter * 100
    else:  # pragma: no cover - pathological
        raise InputError("the MSD covariance matrix is singular; use fewer, more widely spaced lags")
    from scipy.linalg import solve_triangular

    design = np.column_stack([x, np.ones_like(x)]) / scale[:, None]
    xw = solve_triangular(chol, design, lower=True)
    yw = solve_triangular(chol, y / scale, lower=True)
    beta, *_ = np.linalg.lstsq(xw, yw, rcond=None)
    cov_beta = np.linalg.inv(xw.T @ xw)
    resid = yw - xw @ beta
    return beta, cov_beta, float(resid @ resid)


def fit_msd(
    time: np.ndarray,
    msd_values: np.ndarray,
    n_frames: int,
    n_independent: float,
    dims: int = 3,
    alpha2: tuple[np.ndarray, np.ndarray] | None = None,
    t_start: float | None = None,
    t_stop: float | None = None,
    rel_tol: float = 0.05,
    n_iter: int = 2,
    max_points: int | None = 400,
    resolution: float | None = None,
) -> dict:
    """GLS fit of MSD(t) = slope·t + intercept on the diffusive fit range with the random-walk covariance.

    time, msd_values: (M,) with time[0] = 0 (fs, Å²); n_frames: frames of the trajectory (origins);
    n_independent: independent particles averaged (atoms, or 1 for a collective MSD); dims: dimensions
    summed in the MSD; alpha2: optional (lag_times, α₂) measured, used to inflate the per-lag variance
    by 1 + (d+2)/2·max(α₂, 0) (smoothed over 5 log-spaced lags). t_start/t_stop (fs): fit range; automatic start if None. max_points: at
    most this many lags, evenly spaced over the fit range, enter the GLS (neighbouring MSD points are
    almost perfectly correlated, so thinning loses almost nothing and keeps the covariance well
    conditioned); None = all. resolution (fs): time step of the random-walk noise model; default
    the fit range start (fit lags are multiples of it).
    Returns slope and its σ (Å²/fs), intercept, the fit range (t_start, t_stop, fit_range_auto, fit_range_ok)
    and diagnostics.
    """
    time = np.asarray(time, float)
    y_all = np.asarray(msd_values, float)
    # the fit is scale-free: fit MSD / its largest value, so that a tiny MSD (Å² → e²Å² of a near-static
    # charge) does not underflow the covariance; slope and intercept are scaled back at the end
    unit = float(np.abs(y_all).max()) if y_all.size else 0.0
    if not np.isfinite(unit) or unit == 0.0:
        raise InputError(
            "the MSD is zero at every lag: nothing moves relative to the frame of reference "
            "(for a charge MSD: are all atoms mobile, so that removing the drift removes the motion?)"
        )
    y_all = y_all / unit
    dt = time[1] - time[0]
    lags_all = np.round(time / dt).astype(int)
    if alpha2 is not None:
        lt, a2 = alpha2
        good = np.isfinite(a2)
        a2s = np.convolve(np.pad(np.maximum(a2[good], 0.0), 2, mode="edge"), np.ones(5) / 5, mode="valid")
        a2c = np.interp(np.log(np.maximum(time, dt)), np.log(np.asarray(lt)[good]), a2s)
        inflation = 1.0 + (dims + 2) / 2.0 * a2c
    else:
        inflation = np.ones_like(time)
    stop = time[-1] if t_stop is None else float(t_stop)

    auto = t_start is None
    fit_range_ok = True
    if auto:
        t_start, fit_range_ok = _auto_start(
            time, y_all, lags_all, stop, dims, n_frames, n_independent, inflation, rel_tol
        )
    assert t_start is not None
    # model resolution: the random-walk model is applied to increments of q frames (≥ t_start/2), so that
    # the smooth (ballistic/vibrational) motion below that scale is not mistaken for independent steps
    q = (
        max(1, int(np.floor(resolution / dt)))
        if resolution
        else max(1, int(np.floor(RESOLUTION_FRACTION * t_start / dt)))
    )
    first = max(1, int(np.ceil(t_start / dt - 1e-9)))
    hi = min(int(np.floor(stop / dt + 1e-9)), len(time) - 1)
    if not resolution and (hi - first) // q < 2:  # short fit range: finer model steps (≥ 3 points)
        cap = max(1, (hi - first) // 2)
        q = max(d for d in range(1, cap + 1) if first % d == 0)  # keeps the fit range start on the grid
    lo = max(q, int(np.ceil(first / q)) * q)
    cand = np.arange(lo, hi + 1, q)
    if max_points and cand.size > max_points:
        cand = cand[:: int(np.ceil(cand.size / max_points))]
    if cand.size < 3:
        raise InputError(
            f"the fit range {t_start:g}–{stop:g} fs holds {cand.size} usable MSD points; "
            "it needs at least 3 (use a longer trajectory, a wider fit range or a finer model resolution)"
        )
    sel = cand
    rho = rw_correlation_structure(lags_all[sel] // q, n_frames // q) / n_independent
    a2_scale = np.sqrt(2.0 / dims * inflation[sel])
    x, y = time[sel], y_all[sel]
    line = np.polyfit(x, y, 1)
    if line[0] <= 0:
        line = np.array([max(y.mean() / x.mean(), 1e-300), 0.0])
    for _ in range(n_iter):
        model = np.maximum(line[0] * x + line[1], 1e-3 * np.abs(y).max() + 1e-300)
        s = a2_scale * model
        beta, cb, chi2 = gls_line(x, y, np.outer(s, s) * rho)
        line = beta if beta[0] > 0 else line
    dof = max(1, sel.size - 2)
    slope_err = float(np.sqrt(cb[0, 0]))
    # two checks that the fit range is really diffusive: the MSD grows ∝ t there (log–log slope near 1),
    # and the random-walk noise model fits (χ² below its 99.9 % quantile). When the model fails, σ is
    # scaled by √(χ²/dof) (Birge ratio) and the fit range is flagged.
    loglog = float(np.polyfit(np.log(x), np.log(y), 1)[0]) if np.all(y > 0) else float("nan")
    model_ok = chi2 <= chi2_dist.ppf(0.999, dof)
    if not model_ok:
        slope_err *= float(np.sqrt(chi2 / dof))
    fit_range_ok = fit_range_ok and model_ok and LOGLOG_RANGE[0] <= loglog <= LOGLOG_RANGE[1]
    return dict(
        slope=float(beta[0]) * unit,
        slope_err=slope_err * unit,
        intercept=float(beta[1]) * unit,
        intercept_err=float(np.sqrt(cb[1, 1])) * unit,
        t_start=float(x[0]),
        t_stop=float(x[-1]),
        n_points=int(sel.size),
        chi2_dof=chi2 / dof,
        fit_range_auto=bool(auto),
        fit_range_ok=bool(fit_range_ok),
        loglog_slope=loglog,
        max_inflation=float(inflation[sel].max()),
        model_resolution=float(q * dt),
    )


def _auto_start(time, y, lags, stop, dims, n_frames, n_independent, inflation, rel_tol, margin=None):
    """Start of the diffusive regime (see module doc).

    On ~40 log-spaced lags g_k, the secant slope over (g_k, g_k+1) is compared with the GLS slope over
    the later lags [2 g_k, 8 g_k]; the regime starts at the first g_k where they agree within
    `rel_tol` (relative) or 3σ of their difference, for three consecutive k; the fit range starts at
    `margin` × that lag. Noise model as in the fit, with the per-lag scale from the measured MSD.
    """
    margin = START_MARGIN if margin is None else margin
    m_stop = int(np.flatnonzero(time <= stop + 1e-9)[-1])
    if m_stop < 6:
        return time[1], False
    grid = _log_lags(m_stop + 1, 40)
    # an MSD that returns near zero (an oscillator) keeps a finite noise scale (a singular covariance otherwise)
    s = np.sqrt(2.0 / dims * inflation[grid]) * np.maximum(y[grid], 1e-6 * np.abs(y[grid]).max() + 1e-300)
    cov = np.outer(s, s) * rw_correlation_structure(lags[grid], n_frames) / n_independent
    ok = []
    for k in range(len(grid) - 1):
        later = np.flatnonzero((grid >= 2 * grid[k]) & (grid <= 8 * grid[k]))
        if later.size < 3:
            later = np.flatnonzero(grid >= 2 * grid[k])
        if later.size < 3:
            break
        beta, cb, _ = gls_line(time[grid[later]], y[grid[later]], cov[np.ix_(later, later)])
        dtk = time[grid[k + 1]] - time[grid[k]]
        sec = (y[grid[k + 1]] - y[grid[k]]) / dtk
        var = (cov[k + 1, k + 1] + cov[k, k] - 2 * cov[k, k + 1]) / dtk**2 + cb[0, 0]
        ok.append(abs(sec - beta[0]) <= max(rel_tol * abs(beta[0]), 3.0 * np.sqrt(max(var, 0.0))))
    ok = np.array(ok, dtype=bool)
    for k in range(len(ok)):
        if ok[k : k + 3].all():
            # safety margin: the GLS weights the earliest lags most, so residual curvature there biases D
            # a fit range starting past half the lags is too short to fit: cap it there and flag it
            start = int(round(margin * grid[k]))
            return time[min(start, m_stop // 2)], bool(start <= m_stop // 2)
    return time[m_stop // 2], False


# ----------------------------------------------------------------------------- Green–Kubo
def green_kubo(
    traj: Trajectory,
    species: list[str] | str | None = None,
    t_cut: float | dict | None = None,
    max_lag: int | None = None,
) -> xr.Dataset:
    """Green–Kubo D = (1/3)∫₀^{t_cut} <v(0)·v(t)> dt per species (cm²/s), with σ from the spread over atoms.

    t_cut (fs): upper integration limit, one value or {species: value}; default a quarter of the
    trajectory. Returns the running integral `D_running` (species, time) as well.
    """
    v = traj.require_velocities()
    species = traj.species_list(species)
    max_lag = traj.max_lag(max_lag, minimum=3)
    return _green_kubo(species, lambda s: [v[:, traj.indices(s)]], t_cut, max_lag, traj.dt)


def _green_kubo(species: list[str], velocity_blocks, t_cut, max_lag: int, dt: float) -> xr.Dataset:
    """`green_kubo` from the velocities of each species delivered as blocks of atoms (T, n_b, 3) by
    velocity_blocks(species); per-atom integrals do not depend on the blocks.
    """
    time = np.arange(max_lag) * dt
    run, d, de, cuts = [], [], [], []
    for s in species:
        tc = t_cut.get(s) if isinstance(t_cut, dict) else t_cut
        tc = time[-1] / 2 if tc is None else min(float(tc), time[-1])
        k = int(np.argmin(np.abs(time - tc)))
        ends, run_sum, n = [], 0.0, 0
        for vb in velocity_blocks(s):
            z = autocorrelation(vb, max_lag)  # (M, n_b) Å²/fs²
            integ = np.concatenate([np.zeros((1, z.shape[1])), np.cumsum(0.5 * (z[1:] + z[:-1]), axis=0) * dt]) / 3.0
            ends.append(integ[k])
            run_sum = run_sum + integ.sum(axis=1)
            n += z.shape[1]
            del vb, z, integ  # one block alive at a time
        per_atom = np.concatenate(ends) * units.A2_PER_FS_TO_CM2_PER_S
        d.append(per_atom.mean())
        de.append(per_atom.std(ddof=1) / np.sqrt(per_atom.size) if per_atom.size > 1 else np.nan)
        run.append(run_sum / n * units.A2_PER_FS_TO_CM2_PER_S)
        cuts.append(time[k])
    ds = xr.Dataset(
        {
            "D_GK": ("species", np.array(d), {"units": units.DIFFUSION, "long_name": "Green–Kubo D"}),
            "D_GK_err": (
                "species",
                np.array(de),
                {"units": units.DIFFUSION, "long_name": "σ of D_GK from the spread over atoms"},
            ),
            "t_cut": ("species", np.array(cuts), {"units": units.TIME}),
            "D_running": (
                ("species", "time"),
                np.array(run),
                {"units": units.DIFFUSION, "long_name": "(1/3)∫₀^t Z dt'"},
            ),
        },
        coords={"species": species, "time": ("time", time, {"units": units.TIME})},
    )
    ds.attrs.update(analysis="green_kubo", definition="D = (1/3)∫₀^t_cut <v(0)·v(t)> dt (trapezoid)")
    return ds


# ----------------------------------------------------------------------------- D
@renamed_keyword(fit_window="fit_range")
def diffusion(
    traj: Trajectory,
    species: list[str] | str | None = None,
    max_lag: int | None = None,
    t_start: float | None = None,
    t_stop: float | None = None,
    remove_drift: bool = True,
    rel_tol: float = 0.05,
    non_gaussian_correction: bool = True,
    per_axis: bool = True,
    fit_range: tuple[float, float] | None = None,
) -> xr.Dataset:
    """Tracer D ± σ per species (cm²/s) from a covariance-aware GLS fit of the MSD.

    max_lag: MSD lags kept (frames), default half the trajectory. t_start/t_stop (fs): diffusive fit range;
    t_start None → chosen automatically (ballistic/cage regime excluded), t_stop None → last lag.
    fit_range: alternatively (start, stop) as fractions of the trajectory length.
    non_gaussian_correction: inflate the per-lag variance by the measured α₂ (1 + 5α₂/2).
    Returns the MSD Dataset plus `D`, `D_err`, `intercept`, `D_axis`, `D_axis_err`, the fit range (`fit_start`, `fit_stop`, `fit_range_ok`),
    `alpha2` on log-spaced lags, and `D_GK` ± σ (Green–Kubo) when the trajectory has velocities.
    """
    ds = msd(traj, species, max_lag, remove_drift)
    lag_grid = _log_lags(ds.attrs["max_lag"])
    moments = (
        {s: displacement_moments(mobile_positions(traj, s, remove_drift), lag_grid) for s in ds.species.values}
        if non_gaussian_correction
        else None
    )
    gk = None
    if traj.velocities is not None:

        def gk(cuts, max_lag):
            return green_kubo(traj, list(cuts), cuts, max_lag)

    return _fit_diffusion(
        ds, moments, traj.n_frames, traj.dt, traj.metadata, t_start, t_stop, rel_tol, per_axis, fit_range, gk
    )


def _fit_diffusion(
    ds: xr.Dataset,
    moments: dict | None,
    n_frames: int,
    dt: float,
    metadata: dict,
    t_start,
    t_stop,
    rel_tol: float,
    per_axis: bool,
    fit_range,
    gk,
) -> xr.Dataset:
    """The fits of `diffusion` on an MSD Dataset: `moments` {species: (m2, m4) on _log_lags(max_lag)} or
    None (no α₂ correction); gk(t_cut per species, max_lag) → a `green_kubo` Dataset, or None.
    """
    non_gaussian_correction = moments is not None
    if fit_range is not None:
        total = n_frames * dt
        t_start, t_stop = fit_range[0] * total, fit_range[1] * total
    species = list(ds.species.values)
    time = ds.time.values
    max_lag = ds.attrs["max_lag"]
    lag_grid = _log_lags(max_lag)
    res, res_axis, a2s = [], [], []
    for s in species:
        n = int(ds.n_atoms.sel(species=s))
        a2 = None
        if moments is not None:
            m2, m4 = moments[s]
            a2 = alpha2_from_moments(m2, m4)
            a2s.append(a2)
        else:
            a2s.append(np.full(len(lag_grid), np.nan))
        aa = None if a2 is None else (lag_grid * dt, a2)
        r = fit_msd(time, ds.msd.sel(species=s).values, n_frames, n, 3, aa, t_start, t_stop, rel_tol)
        res.append(r)
        row = []
        if per_axis:
            for k in range(3):
                # per-axis fits on the same fit range, Gaussian variance model (no α₂ inflation)
                row.append(
                    fit_msd(
                        time,
                        ds.msd_axis.sel(species=s).values[:, k],
                        n_frames,
                        n,
                        1,
                        None,
                        r["t_start"],
                        r["t_stop"],
                        rel_tol,
                    )
                )
        res_axis.append(row)
    conv = units.A2_PER_FS_TO_CM2_PER_S
    d = np.array([r["slope"] / 6.0 for r in res]) * conv
    de = np.array([r["slope_err"] / 6.0 for r in res]) * conv
    dunit = {"units": units.DIFFUSION}
    ds["D"] = (
        "species",
        d,
        {
            **dunit,
            "long_name": "tracer diffusion coefficient",
            "method": "GLS fit of MSD = 6Dt + c with random-walk covariance",
        },
    )
    ds["D_err"] = ("species", de, {**dunit, "long_name": "standard error of D (1σ)"})
    ds["intercept"] = ("species", np.array([r["intercept"] for r in res]), {"units": "angstrom2"})
    ds["fit_start"] = ("species", np.array([r["t_start"] for r in res]), {"units": units.TIME})
    ds["fit_stop"] = ("species", np.array([r["t_stop"] for r in res]), {"units": units.TIME})
    ds["fit_range_ok"] = (
        "species",
        np.array([int(r["fit_range_ok"]) for r in res]),
        {"units": units.DIMENSIONLESS, "long_name": "1 if a diffusive regime was found"},
    )
    ds["chi2_dof"] = ("species", np.array([r["chi2_dof"] for r in res]), {"units": units.DIMENSIONLESS})
    ds["loglog_slope"] = (
        "species",
        np.array([r["loglog_slope"] for r in res]),
        {"units": units.DIMENSIONLESS, "long_name": "d ln MSD / d ln t on the fit range"},
    )
    if per_axis:
        ds["D_axis"] = (
            ("species", "axis"),
            np.array([[a["slope"] / 2.0 for a in row] for row in res_axis]) * conv,
            {**dunit, "long_name": "D per Cartesian axis, <Δx_a²> = 2 D_a t"},
        )
        ds["D_axis_err"] = (
            ("species", "axis"),
            np.array([[a["slope_err"] / 2.0 for a in row] for row in res_axis]) * conv,
            dunit,
        )
    ds["alpha2"] = (
        ("species", "lag_time"),
        np.array(a2s),
        {"units": units.DIMENSIONLESS, "long_name": "non-Gaussian parameter α₂"},
    )
    ds = ds.assign_coords(lag_time=("lag_time", lag_grid * dt, {"units": units.TIME}))
    if gk is not None:
        g = gk({s: float(ds.fit_start.sel(species=s)) * 2 for s in species}, max_lag)
        ds["D_GK"] = g.D_GK
        ds["D_GK_err"] = g.D_GK_err
    if metadata.get("temperature") is not None:
        ds.attrs["temperature"] = float(metadata["temperature"])
    ds.attrs.update(
        analysis="diffusion",
        fit_method="generalised least squares, covariance = random-walk overlap structure × per-lag variance "
        "(2/3)(6Dt+c)²(1+5α₂/2) / N_atoms; iterated twice; σ not rescaled by χ²",
        fit_range_fs=[float(res[0]["t_start"]), float(res[0]["t_stop"])] if res else [],
        fit_range_rule=(
            f"automatic: {START_MARGIN:g} × the first lag where the local MSD slope agrees with the "
            f"slope over [2t, 8t] within {rel_tol:.0%} or 3σ (ballistic/cage regime excluded)"
            if t_start is None
            else "given by the caller"
        ),
        model_resolution_fs=[float(r["model_resolution"]) for r in res],
        non_gaussian_correction=int(bool(non_gaussian_correction)),
        reference="Bullerjahn, von Bülow, Hummer, J. Chem. Phys. 153, 024116 (2020)",
    )
    return ds


# ----------------------------------------------------------------------------- streaming (bounded memory)
# The same analyses from a file (or any FrameSource) in atom blocks: every frame of a few atoms at a time
# (trajectory.blocks). MSD, per-axis MSD and the α₂ moments are sums over atoms, Green–Kubo integrals are
# per atom; the framework drift is a per-frame sum over all other atoms, taken in one pass over time.

#: bytes per atom and frame that a block holds: unwrapped positions, the MSD of each component, the
#: displacements of one lag (float64: 3 + 1.5 + ≤ 1.5 values of 8 bytes per component)
_MSD_BYTES = 48
#: velocities, their per-atom autocorrelation and running integral (float64, with margin)
_GK_BYTES = 48


def _drifts(
    src: FrameSource, species: list[str], remove_drift: bool, sums: dict | None = None, shared: bool = False
) -> dict:
    """Per species the framework drift subtracted by `mobile_positions`: the mean unwrapped position of
    all other atoms (shared: of all atoms outside `species`, one frame for them all) minus its first
    value, (T, 3) Å; None when not removed or no such atoms exist.
    Fills `sums` (if given) with every species' per-frame sum of unwrapped positions.
    """
    if not remove_drift:
        return {s: None for s in species}
    every = src.species
    groups = [src.indices(s) for s in every]
    total = position_sums(src, groups)  # (T, G, 3), one pass
    if sums is not None:
        sums.update({s: total[:, k] for k, s in enumerate(every)})
    out: dict[str, np.ndarray | None] = {}
    for s in species:
        others = [k for k, o in enumerate(every) if (o not in species if shared else o != s)]
        n_others = sum(len(groups[k]) for k in others)
        if n_others == 0:
            out[s] = None
            continue
        drift = total[:, others].sum(axis=1) / n_others
        out[s] = drift - drift[0]
    return out


def _mobile_blocks(src: FrameSource, species: str, drift, bytes_per_atom_frame: float, memory, block_atoms):
    """Yield (block atoms, unwrapped positions minus the drift (T, n_b, 3)), as `mobile_positions`."""
    for blk in atom_blocks(src.indices(species), src.n_frames, bytes_per_atom_frame, memory, block_atoms):
        r = unwrapped_positions(src, blk)
        if drift is not None:
            r -= drift[:, None, :]
        yield blk, r
        del r


def _streamed_msd(src: FrameSource, species: list[str], max_lag: int, remove_drift: bool, lags, memory, block_atoms):
    """(total, per-axis MSD, atom counts, {species: (m2, m4)} at `lags` or None) summed over atom blocks."""
    drifts = _drifts(src, species, remove_drift)
    t = src.n_frames
    total, axis, counts = [], [], []
    moments: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for s in species:
        n = len(src.indices(s))
        acc = np.zeros((max_lag, 3))
        sums = np.zeros((3, 0 if lags is None else len(lags)))
        for blk, r in _mobile_blocks(src, s, drifts[s], _MSD_BYTES, memory, block_atoms):
            k = len(blk)
            acc += msd_kernel(r.reshape(t, k * 3, 1), max_lag).reshape(max_lag, k, 3).sum(axis=1)
            if lags is not None:
                sums += np.array(_moment_sums(r, lags, n))
            del r
        per_axis = acc / n
        axis.append(per_axis)
        total.append(per_axis.sum(axis=1))
        counts.append(n)
        moments[s] = (sums[0] / sums[2], sums[1] / sums[2])
    return total, axis, counts, (moments if lags is not None else None)


def _velocity_blocks(src: FrameSource, memory, block_atoms):
    def blocks(species: str):
        for blk in atom_blocks(src.indices(species), src.n_frames, _GK_BYTES, memory, block_atoms):
            yield src.read_velocities(blk)

    return blocks


def msd_from_file(
    trajectory,
    species: list[str] | str | None = None,
    max_lag: int | None = None,
    remove_drift: bool = True,
    *,
    dt: float | None = None,
    format: str | None = None,
    memory: int | None = None,
    block_atoms: int | None = None,
) -> xr.Dataset:
    """`msd` in bounded memory. trajectory: a path (H5MD is read piece by piece; other formats are read
    whole through ASE), an open FrameSource (`trajectory.blocks.open_trajectory`) or a Trajectory.
    dt/format: as in `read_trajectory`, for a path. memory: bytes for one atom block (default
    `blocks.MEMORY_BUDGET`); block_atoms: atoms per block instead. Same Dataset as `msd`.
    """
    with opened(trajectory, dt, format) as src:
        species = src.species_list(species)
        max_lag = src.max_lag(max_lag, minimum=3)
        total, axis, counts, _ = _streamed_msd(src, species, max_lag, remove_drift, None, memory, block_atoms)
        return _msd_dataset(species, total, axis, counts, max_lag, src.dt, src.n_frames, remove_drift)


def green_kubo_from_file(
    trajectory,
    species: list[str] | str | None = None,
    t_cut: float | dict | None = None,
    max_lag: int | None = None,
    *,
    dt: float | None = None,
    format: str | None = None,
    memory: int | None = None,
    block_atoms: int | None = None,
) -> xr.Dataset:
    """`green_kubo` in bounded memory (velocities in atom blocks); arguments as in `msd_from_file`."""
    with opened(trajectory, dt, format) as src:
        src.require_velocities()
        species = src.species_list(species)
        max_lag = src.max_lag(max_lag, minimum=3)
        return _green_kubo(species, _velocity_blocks(src, memory, block_atoms), t_cut, max_lag, src.dt)


@renamed_keyword(fit_window="fit_range")
def diffusion_from_file(
    trajectory,
    species: list[str] | str | None = None,
    max_lag: int | None = None,
    t_start: float | None = None,
    t_stop: float | None = None,
    remove_drift: bool = True,
    rel_tol: float = 0.05,
    non_gaussian_correction: bool = True,
    per_axis: bool = True,
    fit_range: tuple[float, float] | None = None,
    *,
    dt: float | None = None,
    format: str | None = None,
    memory: int | None = None,
    block_atoms: int | None = None,
) -> xr.Dataset:
    """`diffusion` in bounded memory: the same Dataset (to float rounding) from a path, an open
    FrameSource or a Trajectory, holding every frame of a block of atoms at a time.

    Passes over the data: the framework drift (all atoms, in time chunks; only with remove_drift), the
    positions of each species in atom blocks (MSD, per-axis MSD, α₂ moments), and after the fit, whose
    fit range sets the Green–Kubo cut-off, the velocities in atom blocks. dt/format/memory/block_atoms as in
    `msd_from_file`; the other arguments as in `diffusion`.
    """
    with opened(trajectory, dt, format) as src:
        species = src.species_list(species)
        max_lag = src.max_lag(max_lag, minimum=3)
        lags = _log_lags(max_lag) if non_gaussian_correction else None
        total, axis, counts, moments = _streamed_msd(src, species, max_lag, remove_drift, lags, memory, block_atoms)
        ds = _msd_dataset(species, total, axis, counts, max_lag, src.dt, src.n_frames, remove_drift)
        gk = None
        if src.has_velocities:

            def gk(cuts, max_lag):
                return _green_kubo(list(cuts), _velocity_blocks(src, memory, block_atoms), cuts, max_lag, src.dt)

        return _fit_diffusion(
            ds, moments, src.n_frames, src.dt, src.metadata, t_start, t_stop, rel_tol, per_axis, fit_range, gk
        )


def mobile_position_sums(
    trajectory,
    species: list[str] | str,
    remove_drift: bool = True,
    *,
    dt: float | None = None,
    format: str | None = None,
) -> dict[str, np.ndarray]:
    """{species: Σ_i r_i(t)} (T, 3) Å over the atoms of each species of their unwrapped positions minus the
    drift of the framework, the atoms outside `species` (one frame for all: a charge displacement is
    Σ_s q_s of these, so mobile species must not be each other's frame), in one pass over time chunks:
    memory ∝ frames, not frames × atoms.
    """
    with opened(trajectory, dt, format) as src:
        species = src.species_list(species)
        sums: dict = {}
        drifts = _drifts(src, species, remove_drift, sums, shared=True)
        if not sums:
            sums = dict(zip(species, np.moveaxis(position_sums(src, [src.indices(s) for s in species]), 1, 0)))
        out = {}
        for s in species:
            total = sums[s]
            if drifts[s] is not None:
                total = total - len(src.indices(s)) * drifts[s]
            out[s] = total
        return out
