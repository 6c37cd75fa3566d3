"""Current correlations C_L(Q,ω), C_T(Q,ω), dispersion and damping by damped-harmonic-oscillator fits.

j_α(Q,t) = Σ_{j∈α} v_j exp(iQ·r_j(t)); longitudinal j_L = Q̂·j, transverse j_T = j − Q̂(Q̂·j).
Per-species normalisation (as for F_αβ, not by the total atom count):

    C_L,αβ(Q,t) = (N_α N_β)^(−1/2) Re<j_L,α(Q,t) j_L,β*(Q,0)>,
    C_T,αβ(Q,t) = (N_α N_β)^(−1/2) ½ Re<j_T,α(Q,t)·j_T,β*(Q,0)>    (per transverse direction),

symmetrised in α ↔ β, in Å²/fs²; `C_L_total` = Σ √(c_α c_β) C_αβ (all atoms, number weighted; C_L(Q,0) =
k_BT/m for one species). Spectra: C(Q,E) = (2πħ)⁻¹ ∫ C(Q,t) w(t) e^{−iEt/ħ} dt (two-sided density,
stored for E ≥ 0; E in meV).

DHO model for a current spectrum (E = ħω, meV):
    C(E) = (B/π) Γ E² / ((E² − E₀²)² + Γ² E²),   ∫_{−∞}^{∞} C dE = B,
which peaks exactly at E₀ for any Γ. Γ is the full damping (friction) rate in energy units; the
amplitude decays at Γ/2, and a mode is **overdamped when its damping Γ/2 exceeds its frequency E₀**
(no oscillating solution).
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy.optimize import least_squares

from .. import units
from .._compat import renamed_keyword
from ..errors import InputError
from ..trajectory.model import Trajectory
from . import _scatter_kernels as K
from . import lag_windows
from .scattering import INV_A, _coherent_qset, _fwhm, fractional_positions, time_to_energy


@renamed_keyword(window="lag_window")
def current_correlations(
    traj: Trajectory,
    q,
    species=None,
    *,
    q_width: float | None = None,
    max_per_shell: int | None = 64,
    max_lag: int | None = None,
    lag_window: str = "hann",
    pad: int = 2,
    backend: str = "auto",
    seed: int = 0,
) -> xr.Dataset:
    """C_L and C_T per species pair and totals, in time (Å²/fs²) and energy (Å²/fs²/meV, E ≥ 0).

    q: |Q| values (commensurate shells), (M, 3) commensurate vectors, or a QSet. Needs velocities.
    """
    vel = traj.require_velocities()
    lag_windows.check_lag_window(lag_window)
    species = traj.species_list(species)
    max_lag = traj.max_lag(max_lag)
    qs = _coherent_qset(traj, q, q_width, max_per_shell, seed)
    sel = np.concatenate([traj.indices(s) for s in species])
    groups = np.concatenate([np.full(len(traj.indices(s)), i) for i, s in enumerate(species)])
    frac = fractional_positions(traj)[:, sel]
    _, j = K.densities(frac, qs.hkl, groups, len(species), vel[:, sel], backend)  # (T, G, M, 3)
    qhat = qs.vectors / np.linalg.norm(qs.vectors, axis=1)[:, None]
    jl = np.einsum("tgmd,md->tgm", j, qhat)
    jt = j - jl[..., None] * qhat[None, None]
    t_n = traj.n_frames
    nfft = K.nfft_for(t_n, max_lag)
    counts = np.array([len(traj.indices(s)) for s in species], dtype=float)
    norm = np.sqrt(counts[:, None] * counts[None, :])[:, :, None, None] * qs.counts()[None, None, :, None]
    cl = K.power_to_correlation(K.cross_spectra(jl, qs.shell, qs.n_shells, nfft), t_n, max_lag) / norm
    ct = 0.5 * K.power_to_correlation(K.cross_spectra(jt, qs.shell, qs.n_shells, nfft), t_n, max_lag) / norm
    c = counts / counts.sum()
    coef = np.sqrt(c[:, None] * c[None, :])
    cl_tot = np.einsum("ab,abqt->qt", coef, cl)
    ct_tot = np.einsum("ab,abqt->qt", coef, ct)
    dt = traj.dt
    w = lag_windows.lag_window(lag_window, max_lag)

    def spec(arr):
        a = np.moveaxis(arr, -1, 0) * w.reshape((-1,) + (1,) * (arr.ndim - 1))
        e, s = time_to_energy(a, dt, pad)
        keep = e >= 0
        return e[keep], np.moveaxis(s[keep], 0, -1)

    energy, cl_w = spec(cl)
    _, ct_w = spec(ct)
    _, cl_tot_w = spec(cl_tot)
    _, ct_tot_w = spec(ct_tot)
    e_all, r_eff = time_to_energy(w[:, None], dt, pad)
    time = np.arange(max_lag) * dt
    u_t, u_e = "angstrom2 fs-2", "angstrom2 fs-2 meV-1"
    dims4 = ("species_a", "species_b", "q")
    ds = xr.Dataset(
        {
            "C_L": (dims4 + ("time",), cl, {"units": u_t, "long_name": "longitudinal current correlation"}),
            "C_T": (
                dims4 + ("time",),
                ct,
                {"units": u_t, "long_name": "transverse current correlation (per direction)"},
            ),
            "C_L_total": (("q", "time"), cl_tot, {"units": u_t}),
            "C_T_total": (("q", "time"), ct_tot, {"units": u_t}),
            "C_L_w": (dims4 + ("energy",), cl_w, {"units": u_e, "long_name": "C_L(Q,E), two-sided density"}),
            "C_T_w": (dims4 + ("energy",), ct_w, {"units": u_e}),
            "C_L_total_w": (("q", "energy"), cl_tot_w, {"units": u_e}),
            "C_T_total_w": (("q", "energy"), ct_tot_w, {"units": u_e}),
            "q_mean": ("q", qs.mean_norm(), {"units": INV_A}),
            "n_qvectors": ("q", qs.counts(), {"units": units.DIMENSIONLESS}),
        },
        coords={
            "species_a": species,
            "species_b": species,
            "q": ("q", qs.q, {"units": INV_A}),
            "time": ("time", time, {"units": units.TIME}),
            "energy": ("energy", energy, {"units": units.ENERGY_MEV}),
            "frequency": ("energy", energy / units.THZ_TO_MEV, {"units": units.FREQUENCY}),
        },
    )
    ds.attrs.update(
        analysis="current_correlations",
        lag_window=lag_window,
        pad=pad,
        dt_fs=dt,
        n_frames=t_n,
        max_lag=max_lag,
        q_method=qs.method,
        q_info=qs.info,
        backend=backend,
        effective_resolution_fwhm_meV=_fwhm(e_all, r_eff[:, 0]),
        normalisation="C_αβ = (N_α N_β)^-1/2 Re<j_α(Q,t)·j_β*(Q,0)> symmetrised; C_T per transverse "
        "direction; totals Σ √(c_α c_β) C_αβ; spectra ∫ C dE (both signs) = C(t=0)",
    )
    return ds


# ----------------------------------------------------------------------------- DHO fits
def dho_current(energy, b, e0, gamma) -> np.ndarray:
    """DHO current spectrum (B/π) Γ E² / ((E² − E₀²)² + Γ² E²) (meV⁻¹ × units of B)."""
    e = np.asarray(energy, dtype=float)
    return b / np.pi * gamma * e**2 / ((e**2 - e0**2) ** 2 + (gamma * e) ** 2)


def fit_dho(energy, spectrum, errors=None, e_max: float | None = None, e0_guess: float | None = None) -> dict:
    """Fit the DHO current form to C(E), E ≥ 0. Returns E₀, Γ (meV) with errors, ω₀ in THz,
    damping = Γ/2, overdamped = damping > E₀, χ²_red.
    """
    e = np.asarray(energy, dtype=float)
    y = np.asarray(spectrum, dtype=float)
    s = np.ones_like(y) if errors is None else np.asarray(errors, dtype=float)
    ok = (e > 0) & np.isfinite(y) & (s > 0)
    if e_max is not None:
        ok &= e <= e_max
    e, y, s = e[ok], y[ok], s[ok]
    if len(e) < 5:
        raise InputError("too few energy points for a DHO fit; raise e_max or the energy resolution")
    de = float(np.median(np.diff(e)))
    area = 2.0 * float(np.sum(y) * de)  # two-sided density: B = 2 ∫₀^∞
    epk = float(e[np.argmax(y)]) if e0_guess is None else float(e0_guess)
    half = y >= y.max() / 2
    width = max(float(e[half].max() - e[half].min()), 2 * de)
    best = None
    for g0 in (width, 0.3 * width, 3 * width):
        p0 = [max(area, 1e-30), max(epk, de), g0]
        try:
            r = least_squares(
                lambda p: (dho_current(e, *p) - y) / s,
                p0,
                bounds=([0, 0, 1e-9], [np.inf, np.inf, np.inf]),
                x_scale="jac",
                max_nfev=5000,
            )
        except Exception:  # pragma: no cover
            continue
        if best is None or r.cost < best.cost:
            best = r
    if best is None:  # every start failed: a failed fit, never a number
        nan = float("nan")
        return {
            "B": nan,
            "E0_meV": nan,
            "E0_err_meV": nan,
            "gamma_meV": nan,
            "gamma_err_meV": nan,
            "omega0_THz": nan,
            "damping_meV": nan,
            "overdamped": False,
            "chi2_red": nan,
            "success": False,
        }
    b, e0, g = best.x
    dof = max(len(e) - 3, 1)
    chi2 = 2 * best.cost
    jtj = best.jac.T @ best.jac
    cov = np.linalg.pinv(jtj) * (chi2 / dof if errors is None else 1.0)
    err = np.sqrt(np.clip(np.diag(cov), 0, None))
    return {
        "B": float(b),
        "E0_meV": float(e0),
        "E0_err_meV": float(err[1]),
        "gamma_meV": float(g),
        "gamma_err_meV": float(err[2]),
        "omega0_THz": float(e0 / units.THZ_TO_MEV),
        "damping_meV": float(g / 2),
        "overdamped": bool(g / 2 > e0),
        "chi2_red": float(chi2 / dof),
        "success": bool(best.success),
    }


def dispersion(ds: xr.Dataset, pair: tuple[str, str] | None = None, e_max: float | None = None) -> xr.Dataset:
    """DHO fits of C_L and C_T at every Q: E₀(Q), Γ(Q), overdamped flags (total or one species pair)."""
    out = {}
    for kind in ("L", "T"):
        if pair is None:
            spec = ds[f"C_{kind}_total_w"]
        else:
            spec = ds[f"C_{kind}_w"].sel(species_a=pair[0], species_b=pair[1])
        fits = [fit_dho(ds.energy.values, spec.isel(q=i).values, e_max=e_max) for i in range(ds.sizes["q"])]
        out[f"E0_{kind}"] = (
            "q",
            [f["E0_meV"] for f in fits],
            {"units": units.ENERGY_MEV, "long_name": f"DHO frequency ({kind})"},
        )
        out[f"E0_{kind}_err"] = ("q", [f["E0_err_meV"] for f in fits], {"units": units.ENERGY_MEV})
        out[f"gamma_{kind}"] = (
            "q",
            [f["gamma_meV"] for f in fits],
            {"units": units.ENERGY_MEV, "long_name": "DHO damping Γ (full)"},
        )
        out[f"gamma_{kind}_err"] = ("q", [f["gamma_err_meV"] for f in fits], {"units": units.ENERGY_MEV})
        out[f"overdamped_{kind}"] = (
            "q",
            [f["overdamped"] for f in fits],
            {"units": units.DIMENSIONLESS, "long_name": "Γ/2 > E0"},
        )
    res = xr.Dataset(out, coords={"q": ds.q})
    res.attrs.update(
        analysis="dispersion",
        model="DHO current spectrum (B/π)ΓE²/((E²−E0²)²+Γ²E²)",
        overdamped_criterion="damping Γ/2 > frequency E0",
        resolution_fwhm_meV=ds.attrs.get("effective_resolution_fwhm_meV", np.nan),
        pair="total" if pair is None else "-".join(pair),
    )
    return res
