"""Scattering figures (matplotlib Figures, no pyplot state): F_s(Q,t), S(Q,E) vs measured, Γ(Q) with model fits, dispersion."""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..analysis.qens import GAMMA_MODELS, gamma_model
from .figures import new_axes


def fs_figure(fqt: xr.Dataset, species: str | None = None, ax=None):
    """F_s(Q,t) (one line per Q, log time axis in ps); F_inc when species is None."""
    da = fqt.F_inc if species is None else fqt.F_s.sel(species=species)
    fig, ax = new_axes(ax, figsize=(4.4, 3.2))
    t = fqt.time.values[1:] / 1000.0
    for i, q in enumerate(fqt.q.values):
        ax.semilogx(t, da.isel(q=i).values[1:], lw=1, label=f"Q = {q:g} Å⁻¹")
    ax.set_xlabel("time (ps)")
    ax.set_ylabel("F_s(Q,t)" if species else "F_inc(Q,t) (neutron weighted)")
    ax.set_title(species or "incoherent")
    ax.set_ylim(-0.05, 1.05)
    ax.legend(fontsize=7)
    return fig


def sqe_figure(
    sim: xr.DataArray, measured: xr.Dataset | None = None, fits: xr.Dataset | None = None, log: bool = True, axes=None
):
    """S(Q,E) per Q (panels): simulated (line, on the measured grid when given) and measured (points).
    axes: a (1, n_Q) array of Axes to draw on (default: a new Figure).
    """
    qs = measured.q.values if measured is not None else sim.q.values
    fig, axes = new_axes(axes, 1, len(qs), figsize=(3.2 * len(qs), 3.0), squeeze=False, sharey=False)
    for ax, q in zip(axes[0], qs):
        s = sim.sel(q=q, method="nearest")
        ax.plot(s.energy * 1e3, s.values, lw=1, label="simulation")
        if measured is not None:
            m = measured.sel(q=q)
            ax.errorbar(m.energy * 1e3, m.S.values, m.S_err.values, fmt=".", ms=2, lw=0.5, label="measured")
        if fits is not None and "gamma" in fits:
            f = fits.sel(q=q, method="nearest")
            if "resolved" in f and not int(f.resolved) and "gamma_upper" in f:
                ax.set_title(f"Q = {q:g} Å⁻¹, Γ < {float(f.gamma_upper) * 1e3:.3g} µeV (unresolved)", fontsize=8)
            else:
                ax.set_title(f"Q = {q:g} Å⁻¹, Γ = {float(f.gamma) * 1e3:.3g} µeV", fontsize=8)
        else:
            ax.set_title(f"Q = {q:g} Å⁻¹", fontsize=8)
        ax.set_xlabel("E (µeV)")
        if log:
            ax.set_yscale("log")
    axes[0][0].set_ylabel("S(Q,E)")
    axes[0][-1].legend(fontsize=7)
    return fig


def gamma_figure(fits: xr.Dataset, models: dict | None = None, gamma_var: str = "gamma", ax=None):
    """Γ(Q) with error bars against Q², unresolved widths as upper bounds (▽ at Γ_min), and the fitted jump models."""
    q = fits.q.values
    fig, ax = new_axes(ax, figsize=(4.4, 3.2))
    up = fits["gamma_upper"].values if "resolved" in fits and "gamma_upper" in fits else np.full(len(q), np.nan)
    unres = np.isfinite(up) & (fits["resolved"].values == 0 if "resolved" in fits else False)
    g, ge = fits[gamma_var].values, fits[f"{gamma_var}_err"].values
    ax.errorbar(q[~unres] ** 2, g[~unres], ge[~unres], fmt="o", ms=3, color="k", label="fits")
    if unres.any():
        ax.plot(q[unres] ** 2, up[unres], "v", ms=4, mfc="none", color="k", label="unresolved (upper bound)")
    qq = np.linspace(0, q.max() * 1.1, 200)
    for name, r in (models or {}).items():
        if name not in GAMMA_MODELS or not isinstance(r, dict) or not r.get("success"):
            continue
        ax.plot(qq**2, gamma_model(name, qq, **r["params"]), lw=1, label=f"{name} (χ²ᵣ {r['chi2_red']:.2g})")
    ax.set_xlabel("Q² (Å⁻²)")
    ax.set_ylabel("Γ (meV, HWHM)")
    ax.legend(fontsize=7)
    return fig


def dispersion_figure(disp: xr.Dataset, ax=None):
    """DHO frequencies E₀(Q) of C_L and C_T with damping bars; overdamped points open symbols."""
    fig, ax = new_axes(ax, figsize=(4.4, 3.2))
    q = disp.q.values
    for kind, color in (("L", "C0"), ("T", "C3")):
        e0 = disp[f"E0_{kind}"].values
        g = disp[f"gamma_{kind}"].values
        od = disp[f"overdamped_{kind}"].values.astype(bool)
        ax.errorbar(q[~od], e0[~od], g[~od] / 2, fmt="o", color=color, ms=4, lw=0.8, label=f"{kind}")
        if od.any():
            ax.errorbar(
                q[od], e0[od], g[od] / 2, fmt="o", mfc="none", color=color, ms=4, lw=0.8, label=f"{kind} overdamped"
            )
    ax.set_xlabel("Q (Å⁻¹)")
    ax.set_ylabel("E₀ (meV); bars: damping Γ/2")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=7)
    return fig
