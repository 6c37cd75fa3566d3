"""Statistics of the Li bottleneck windows over time: the breathing spectrum of a window variable, the
crossings of mobile ions through windows (hops), the window geometry at hops against all times, hop-triggered
averages, and the one-call summary a study uses.

The windows themselves (the triangular faces of the anion tessellation) and their geometry per frame are in
`analysis.bottleneck`; see docs/bottleneck.md for the definitions, formulas and limits.
"""

from __future__ import annotations

import numpy as np
import scipy.stats as sstats
import xarray as xr

from .. import units
from .._compat import renamed_keyword
from ..errors import InputError
from ..trajectory.model import Trajectory
from ..trajectory.unwrap import unwrap_positions
from . import lag_windows
from .bottleneck import _membership, _need_frames, window_geometry, windows
from .correlate import autocorrelation, cosine_transform


@renamed_keyword(window="lag_window")
def breathing_spectrum(
    geometry: xr.Dataset, variable: str = "inradius", max_lag: int | None = None, lag_window: str = "hann"
) -> xr.Dataset:
    """Power spectrum of δx(t) = x(t) − <x>_t of a window variable (default in-radius), mean over windows.

    S(ν) = 4∫₀^∞ w(t) C(t) cos(2πνt) dt with C(t) = <δx(0)δx(t)> (all origins); ν in THz, S in
    (unit of x)²/THz; ∫₀^{ν_Nyq} S dν = <δx²> exactly (trapezoid rule). max_lag (frames): default half
    the trajectory; its resolution (FWHM ≈ 1/(max_lag·Δt)) is in attrs.
    """
    if variable not in geometry:
        raise InputError(
            f"geometry has no variable {variable!r}; choose one of {', '.join(map(str, geometry.data_vars))}"
        )
    x = geometry[variable].values
    t = x.shape[0]
    if t < 8:
        raise InputError(f"the trajectory has {t} frame(s); a breathing spectrum needs at least 8")
    if x.shape[1] == 0:
        raise InputError("no windows to analyse (windows() found none: lower min_occupancy or check species)")
    lag_windows.check_lag_window(lag_window)
    max_lag = t // 2 if max_lag is None else int(max_lag)
    if not 4 <= max_lag <= t:
        raise InputError(f"max_lag must be between 4 and the number of frames ({t}), got {max_lag}")
    dt = float(geometry.attrs["dt_fs"])
    dx = x - x.mean(axis=0)
    c = autocorrelation(dx, max_lag).mean(axis=1)  # (max_lag,), unit²
    nu, s = cosine_transform(c * lag_windows.lag_window(lag_window, max_lag), dt)
    nu_thz, s_thz = nu * 1e3, s * 1e-3
    u = geometry[variable].attrs.get("units", "")
    ds = xr.Dataset(
        {
            "spectrum": ("frequency", s_thz, {"units": f"{u}2 THz-1", "long_name": f"power spectrum of δ{variable}"}),
            "acf": ("lag_time", c, {"units": f"{u}2", "long_name": f"<δ{variable}(0) δ{variable}(t)>"}),
            "variance": ((), float((dx**2).mean()), {"units": f"{u}2", "long_name": "<δx²> = ∫S dν"}),
        },
        coords={
            "frequency": ("frequency", nu_thz, {"units": units.FREQUENCY}),
            "energy": ("frequency", nu_thz * units.THZ_TO_MEV, {"units": units.ENERGY_MEV}),
            "lag_time": ("lag_time", np.arange(max_lag) * dt, {"units": units.TIME}),
        },
        attrs={
            "analysis": "bottleneck breathing spectrum",
            "variable": variable,
            "lag_window": lag_window,
            "max_lag": max_lag,
            "dt_fs": dt,
            "n_windows": x.shape[1],
            "resolution_fwhm_THz": lag_windows.resolution_fwhm(lag_window, max_lag, dt) * 1e3,
            "normalisation": "S(ν) = 4∫ w C cos(2πνt) dt, one-sided; trapezoid ∫S dν = <δx²>",
        },
    )
    return ds


def window_crossings(
    traj: Trajectory, windows: xr.Dataset, mobile: str | None = None, min_residence_fs: float | None = None
) -> xr.Dataset:
    """Crossings of mobile ions through the windows: `time` (ps), `frame`, `ion` (atom index), `window`,
    `from_tetrahedron`, `to_tetrahedron` (dim `crossing`, sorted by frame).

    A crossing is a change between consecutive stays of ≥ min_residence_fs (default max(2Δt, 100 fs))
    in two tetrahedra joined by a window, dated at the first frame of the new stay.
    """
    _need_frames(traj, 2, "crossing detection")
    mobile = mobile or windows.attrs["mobile"]
    idx = traj.indices(mobile)
    res = max(2 * traj.dt, 100.0) if min_residence_fs is None else float(min_residence_fs)
    if res < 0:
        raise InputError(f"min_residence_fs must be ≥ 0 fs, got {res}")
    min_frames = max(1, int(np.ceil(res / traj.dt - 1e-9)))
    member = _membership(traj, windows, mobile)
    pk = windows.tetrahedra.values
    lookup = {(int(a), int(b)): w for w, (a, b) in enumerate(pk)}
    rows, n_trans, n_unassigned = [], 0, 0
    for j in range(idx.size):
        m = member[:, j]
        start = np.flatnonzero(np.concatenate([[True], m[1:] != m[:-1]]))
        length = np.diff(np.append(start, len(m)))
        ok = (length >= min_frames) & (m[start] >= 0)
        st, tet = start[ok], m[start[ok]]
        ch = np.flatnonzero(tet[1:] != tet[:-1])
        for k in ch:
            a, b = int(tet[k]), int(tet[k + 1])
            n_trans += 1
            w = lookup.get((min(a, b), max(a, b)))
            if w is None:
                n_unassigned += 1
            else:
                rows.append((st[k + 1], idx[j], w, a, b))
    r = np.array(sorted(rows), dtype=int).reshape(-1, 5)
    d = units.DIMENSIONLESS
    ds = xr.Dataset(
        {
            "time": (
                "crossing",
                r[:, 0] * traj.dt * 1e-3,
                {"units": "ps", "long_name": "first frame in the new tetrahedron"},
            ),
            "frame": ("crossing", r[:, 0], {"units": d}),
            "ion": ("crossing", r[:, 1], {"units": d, "long_name": "atom index"}),
            "window": ("crossing", r[:, 2], {"units": d}),
            "from_tetrahedron": ("crossing", r[:, 3], {"units": d}),
            "to_tetrahedron": ("crossing", r[:, 4], {"units": d}),
        },
        attrs={
            "analysis": "window crossings",
            "mobile": mobile,
            "min_residence_fs": res,
            "min_residence_frames": min_frames,
            "dt_fs": traj.dt,
            "n_crossings": len(r),
            "n_transitions": n_trans,
            "n_unassigned": n_unassigned,
            "outside_fraction": float((member < 0).mean()),
            "definition": "change between stays >= min_residence in two tetrahedra sharing a window",
        },
    )
    return ds


def hop_statistics(
    geometry: xr.Dataset,
    crossings: xr.Dataset,
    variable: str = "inradius",
    bins: int = 30,
    n_boot: int = 1000,
    seed: int = 0,
    lag: int = 0,
) -> xr.Dataset:
    """Window `variable` (default in-radius, Å) at crossing frames (+ lag) vs at all times, same windows.

    Returns histograms (`density_hop`, `density_all`, 1/unit), `mean_hop`, `mean_all` (windows weighted by
    their crossings), `mean_shift` = mean over crossings of x_w(t_c) − <x_w>_t with bootstrap `mean_shift_err` (1σ),
    `ks_statistic` and `ks_pvalue` (all-time distribution as the population).
    """
    if variable not in geometry:
        raise InputError(
            f"geometry has no variable {variable!r}; choose one of {', '.join(map(str, geometry.data_vars))}"
        )
    if bins < 1 or n_boot < 2:
        raise InputError(f"bins must be ≥ 1 and n_boot ≥ 2, got {bins} and {n_boot}")
    x = geometry[variable].values
    u = geometry[variable].attrs.get("units", "")
    nf = x.shape[0]
    fr = crossings.frame.values.astype(int) + int(lag)
    w = crossings.window.values.astype(int)
    ok = (fr >= 0) & (fr < nf)
    fr, w = fr[ok], w[ok]
    n = len(fr)
    wins, cnt = np.unique(w, return_counts=True)
    allv = x[:, wins]  # (F, n_wins)
    weights = np.broadcast_to(cnt / (nf * max(n, 1)), allv.shape).ravel()
    allv = allv.ravel()
    lo, hi = (np.nanmin(x), np.nanmax(x)) if n == 0 else (allv.min(), allv.max())
    edges = np.linspace(lo, hi if hi > lo else lo + 1e-9, bins + 1)
    hop = x[fr, w]
    h_all, _ = np.histogram(allv, edges, weights=weights, density=True) if n else (np.zeros(bins), None)
    h_hop, _ = np.histogram(hop, edges, density=True) if n else (np.zeros(bins), None)
    if n:
        delta = hop - x[:, w].mean(axis=0)
        shift = float(delta.mean())
        boot = np.random.default_rng(seed).integers(0, n, size=(n_boot, n))
        shift_err = float(delta[boot].mean(axis=1).std(ddof=1)) if n > 1 else np.nan
        srt = np.argsort(allv)
        va, cw = allv[srt], np.cumsum(weights[srt])
        cw /= cw[-1]
        grid = np.union1d(va, hop)
        f_all = np.concatenate([[0.0], cw])[np.searchsorted(va, grid, side="right")]
        f_hop = np.searchsorted(np.sort(hop), grid, side="right") / n
        ks = float(np.abs(f_all - f_hop).max())
        ks_p = float(sstats.kstwo.sf(ks, n))
        mean_hop, mean_all = float(hop.mean()), float(np.sum(allv * weights) / weights.sum())
    else:
        shift = shift_err = ks = ks_p = mean_hop = mean_all = np.nan
    ds = xr.Dataset(
        {
            "density_hop": ("bin", h_hop, {"units": f"{u}-1", "long_name": f"{variable} at crossings"}),
            "density_all": ("bin", h_all, {"units": f"{u}-1", "long_name": f"{variable} at all times (same windows)"}),
            "mean_hop": ((), mean_hop, {"units": u}),
            "mean_all": ((), mean_all, {"units": u}),
            "mean_shift": ((), shift, {"units": u, "long_name": "mean of x_w(t_c) − <x_w>"}),
            "mean_shift_err": ((), shift_err, {"units": u, "long_name": "bootstrap 1σ over crossings"}),
            "ks_statistic": ((), ks, {"units": units.DIMENSIONLESS}),
            "ks_pvalue": ((), ks_p, {"units": units.DIMENSIONLESS}),
            "n_crossings": ((), n, {"units": units.DIMENSIONLESS}),
        },
        coords={"bin": ("bin", 0.5 * (edges[1:] + edges[:-1]), {"units": u, "long_name": f"{variable} bin centre"})},
        attrs={
            "analysis": "bottleneck hop statistics",
            "variable": variable,
            "lag_frames": int(lag),
            "n_boot": n_boot,
            "seed": seed,
            "definition": "all-time distribution weights each window by its crossings",
        },
    )
    return ds


@renamed_keyword(window_frames="hop_lag_frames")
def hop_triggered_average(
    traj: Trajectory, windows, crossings: xr.Dataset, hop_lag_frames: int = 10, geometry: xr.Dataset | None = None
) -> xr.Dataset:
    """Averages over crossings of window quantities at lags −τ … +τ frames (τ = hop_lag_frames) of the crossing.

    windows: the Dataset from `windows()` (framework = all its anions) or (W, 3) atom indices (framework =
    those atoms). crossings: from `window_crossings` (only `frame` and `window` are used).

    `anion_displacement` (lag): mean |u| of the window's three anions, u = x − <x> with the framework drift
    removed (Å); `inradius` and `inradius_deviation` = r − <r_w> (Å); `*_err` standard errors over
    crossings; `count`; the all-time `anion_displacement_baseline` and `inradius_baseline` for comparison.
    """
    tau = int(hop_lag_frames)
    if tau < 0:
        raise InputError(f"hop_lag_frames must be ≥ 0, got {hop_lag_frames}")
    tri = np.asarray(windows.anions.values if isinstance(windows, xr.Dataset) else windows, dtype=int)
    geometry = window_geometry(traj, tri) if geometry is None else geometry
    aidx = windows.anion_index.values if isinstance(windows, xr.Dataset) else np.unique(tri)
    un = unwrap_positions(traj.positions[:, aidx], traj.cells)
    u = un - un.mean(axis=0)
    u -= u.mean(axis=1, keepdims=True)  # framework drift
    umag = np.zeros((traj.n_frames, traj.n_atoms))
    umag[:, aidx] = np.linalg.norm(u, axis=-1)
    lags = np.arange(-tau, tau + 1)
    fr, w = crossings.frame.values.astype(int), crossings.window.values.astype(int)
    f = fr[:, None] + lags[None]  # (C, L)
    valid = (f >= 0) & (f < traj.n_frames)
    fc = np.clip(f, 0, traj.n_frames - 1)
    disp = umag[fc[..., None], tri[w][:, None, :]].mean(axis=-1)  # (C, L)
    r = geometry.inradius.values
    rr = r[fc, w[:, None]]
    rdev = rr - r.mean(axis=0)[w][:, None]
    cnt = valid.sum(axis=0)

    def avg(a):
        with np.errstate(invalid="ignore", divide="ignore"):
            m = np.where(valid, a, 0).sum(0) / cnt
            var = np.where(valid, (a - m) ** 2, 0).sum(0) / np.maximum(cnt - 1, 1)
            return m, np.where(cnt > 1, np.sqrt(var / cnt), np.nan)

    d_m, d_e = avg(disp)
    r_m, r_e = avg(rr)
    dv_m, dv_e = avg(rdev)
    base_d = float(umag[:, tri[w]].mean()) if len(w) else np.nan
    base_r = float(r[:, w].mean()) if len(w) else np.nan
    L = units.LENGTH
    ds = xr.Dataset(
        {
            "anion_displacement": ("lag", d_m, {"units": L, "long_name": "mean |x − <x>| of the window anions"}),
            "anion_displacement_err": ("lag", d_e, {"units": L}),
            "inradius": ("lag", r_m, {"units": L}),
            "inradius_err": ("lag", r_e, {"units": L}),
            "inradius_deviation": ("lag", dv_m, {"units": L, "long_name": "r − <r_w>"}),
            "inradius_deviation_err": ("lag", dv_e, {"units": L}),
            "count": ("lag", cnt, {"units": units.DIMENSIONLESS}),
            "anion_displacement_baseline": ((), base_d, {"units": L, "long_name": "all-time mean, same windows"}),
            "inradius_baseline": ((), base_r, {"units": L, "long_name": "all-time mean, same windows"}),
        },
        coords={
            "lag": ("lag", lags, {"units": units.DIMENSIONLESS, "long_name": "frames after the crossing"}),
            "lag_time": ("lag", lags * traj.dt, {"units": units.TIME}),
        },
        attrs={"analysis": "hop-triggered average", "hop_lag_frames": tau, "dt_fs": traj.dt, "n_crossings": len(fr)},
    )
    return ds


@renamed_keyword(window_frames="hop_lag_frames")
def bottleneck_summary(
    traj: Trajectory,
    anions=("S", "Cl"),
    mobile: str = "Li",
    reference: str = "mean",
    min_occupancy: float = 0.05,
    min_residence_fs: float | None = None,
    hop_lag_frames: int = 10,
    radii: dict | None = None,
    max_lag: int | None = None,
    bins: int = 30,
    n_boot: int = 1000,
    seed: int = 0,
) -> xr.Dataset:
    """All of the above in one Dataset for reports: per-window table (reference and mean geometry, breathing
    amplitude, crossings), the crossings themselves (`crossing_time` ps, `crossing_ion`, `crossing_window`),
    in-radius breathing spectrum, hop statistics and hop-triggered averages.
    """
    _need_frames(traj, 8, "bottleneck analysis")
    ws = windows(traj, anions, mobile, reference, min_occupancy)
    if ws.attrs["n_windows"] == 0:
        raise InputError(
            f"no windows: no two face-sharing tetrahedra have a mean {mobile} occupation ≥ "
            f"{min_occupancy}; lower min_occupancy or check the mobile species"
        )
    geo = window_geometry(traj, ws, radii)
    spec = breathing_spectrum(geo, max_lag=max_lag)
    cr = window_crossings(traj, ws, mobile, min_residence_fs)
    st = hop_statistics(geo, cr, bins=bins, n_boot=n_boot, seed=seed)
    hta = hop_triggered_average(traj, ws, cr, hop_lag_frames, geo)
    L = units.LENGTH
    per = xr.Dataset(
        {
            "window_anions": (("window", "vertex"), ws.anions.values, {"units": units.DIMENSIONLESS}),
            "window_tetrahedra": (("window", "side"), ws.tetrahedra.values, {"units": units.DIMENSIONLESS}),
            "ref_inradius": ("window", ws.ref_inradius.values, {"units": L}),
            "mean_area": ("window", geo.area.mean("time").values, {"units": "angstrom2"}),
            "mean_inradius": ("window", geo.inradius.mean("time").values, {"units": L}),
            "std_inradius": (
                "window",
                geo.inradius.std("time").values,
                {"units": L, "long_name": "breathing amplitude"},
            ),
            "n_crossings_window": (
                "window",
                np.bincount(cr.window.values, minlength=len(ws.window)),
                {"units": units.DIMENSIONLESS},
            ),
            "crossing_time": ("crossing", cr.time.values, {"units": "ps"}),
            "crossing_ion": ("crossing", cr.ion.values, {"units": units.DIMENSIONLESS, "long_name": "atom index"}),
            "crossing_window": ("crossing", cr.window.values, {"units": units.DIMENSIONLESS}),
        }
    )
    if radii:
        per["mean_passage_radius"] = ("window", geo.passage_radius.mean("time").values, {"units": L})
    out = xr.merge(
        [
            per,
            spec.rename(spectrum="breathing_spectrum", acf="breathing_acf", variance="inradius_variance"),
            st.rename(bin="inradius_bin"),
            hta.rename(
                inradius="hta_inradius",
                inradius_err="hta_inradius_err",
                inradius_deviation="hta_inradius_deviation",
                inradius_deviation_err="hta_inradius_deviation_err",
                count="hta_count",
                lag="hta_lag",
                lag_time="hta_lag_time",
            ),
        ],
        combine_attrs="override",
    )
    out.attrs = {
        "analysis": "bottleneck breathing",
        "anions": ws.attrs["anions"],
        "mobile": mobile,
        "reference": reference,
        "min_occupancy": float(min_occupancy),
        "n_tetrahedra": ws.attrs["n_tetrahedra"],
        "n_sites": ws.attrs["n_sites"],
        "n_windows": ws.attrs["n_windows"],
        "min_residence_fs": cr.attrs["min_residence_fs"],
        "n_crossings": cr.attrs["n_crossings"],
        "n_transitions": cr.attrs["n_transitions"],
        "n_unassigned": cr.attrs["n_unassigned"],
        "resolution_fwhm_THz": spec.attrs["resolution_fwhm_THz"],
        "hop_lag_frames": int(hop_lag_frames),
        "dt_fs": traj.dt,
        "n_frames": traj.n_frames,
        "radii_A": str(radii or {}),
        "normalisation": spec.attrs["normalisation"],
    }
    return out
