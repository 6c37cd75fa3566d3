"""Diffusion figures (matplotlib Figures, no pyplot state): MSD with the fit range and D ± σ, Arrhenius plot with
the extrapolation marked, residence-time distribution. Every function returns a Figure.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from .. import units
from ..results import positive_text
from .figures import new_axes


def plot_msd(
    ds: xr.Dataset, species: list[str] | None = None, loglog: bool = False, ax=None, cage: xr.Dataset | None = None
):
    """MSD(t) per species (ps on x, Å² on y) with the GLS line on its diffusive fit range (shaded) and
    D ± σ in the legend. `ds` is a `diffusion` Dataset; `cage` an optional `cage_diffusion` Dataset whose
    cage-to-cage MSD is drawn dotted with its D.
    """
    species = species or [str(s) for s in ds.species.values]
    fig, ax = new_axes(ax, figsize=(5.0, 3.8))
    t_ps = ds.time.values * 1e-3
    for k, s in enumerate(species):
        color = f"C{k}"
        y = ds.msd.sel(species=s).values
        ax.plot(t_ps[1:], y[1:], color=color, lw=1.2, label=f"{s} MSD")
        if "D" in ds:
            d, de = float(ds.D.sel(species=s)), float(ds.D_err.sel(species=s))
            lo, hi = float(ds.fit_start.sel(species=s)), float(ds.fit_stop.sel(species=s))
            slope = d / units.A2_PER_FS_TO_CM2_PER_S * 6.0  # Å²/fs
            tt = np.linspace(lo, hi, 50)
            ax.plot(
                tt * 1e-3,
                slope * tt + float(ds.intercept.sel(species=s)),
                "--",
                color="k",
                lw=1,
                label=f"{s}: D = {d:.3g} ± {de:.2g} cm²/s",
            )
            ax.axvspan(lo * 1e-3, hi * 1e-3, color=color, alpha=0.08)
    ax.set_xlabel("lag time t (ps)")
    if cage is not None and int(cage.cage_changes) > 0:  # with none, MSD_cage is zero: nothing to draw
        tc = cage.time.values * 1e-3
        d_text = positive_text(float(cage.D), float(cage.D_err), "cm²/s")
        ax.plot(
            tc[1:],
            cage.msd_cage.values[1:],
            ":",
            color="k",
            lw=1.4,
            label=f"{cage.attrs.get('species', '')} cage-to-cage: D = {d_text}",
        )
    elif cage is not None:
        ax.plot([], [], ":", color="k", label=f"{cage.attrs.get('species', '')}: no cage change, no cage-to-cage MSD")
    ax.set_ylabel("MSD (Å²)")
    if loglog:
        ax.set_xscale("log")
        ax.set_yscale("log")
    ax.legend(fontsize=8, frameon=False)
    ax.set_title("MSD; shaded: diffusive fit range (GLS, 1σ)", fontsize=9)
    return fig


def plot_arrhenius(ds: xr.Dataset, label: str | None = None, ax=None):
    """ln-scale value vs 1000/T with error bars, the fitted line over the data (solid) and beyond it
    (dashed, 'extrapolation'), and predicted points marked 'extrapolated'. `ds` from `arrhenius`.
    """
    q = ds.attrs.get("quantity", "D")
    unit = ds.value.attrs.get("units", "")
    fig, ax = new_axes(ax, figsize=(5.0, 3.8))
    t = ds.temperature.values
    ax.errorbar(
        1000.0 / t, ds.value.values, yerr=ds.error.values, fmt="o", color="C0", capsize=3, label=label or f"{q} (MD)"
    )
    ct = ds.curve_temperature.values
    cv, ce = ds.curve.values, ds.curve_err.values
    inside = (ct >= t.min()) & (ct <= t.max())
    ea, eae = float(ds.E_a), float(ds.E_a_err)
    ax.plot(1000.0 / ct[inside], cv[inside], "-", color="k", lw=1, label=f"fit: E_a = {ea:.3f} ± {eae:.3f} eV")
    for part in (ct < t.min(), ct > t.max()):
        if part.any():
            ax.plot(1000.0 / ct[part], cv[part], "--", color="0.4", lw=1)
            ax.fill_between(1000.0 / ct[part], cv[part] - ce[part], cv[part] + ce[part], color="0.85")
    first = True
    for pt, pv, pe, ex in zip(
        ds.predict_temperature.values, ds.predicted.values, ds.predicted_err.values, ds.extrapolated.values
    ):
        ax.errorbar(
            [1000.0 / pt],
            [pv],
            yerr=[pe],
            fmt="s",
            mfc="white",
            color="C3",
            capsize=3,
            label=("extrapolated" if ex else "interpolated") + f" {pt:g} K" if first else None,
        )
        if ex:
            ax.annotate(
                "extrapolation",
                (1000.0 / pt, pv),
                textcoords="offset points",
                xytext=(-10, 8),
                fontsize=8,
                color="C3",
                ha="right",
            )
        first = False
    ax.set_yscale("log")
    ax.set_xlabel("1000 / T (1/K)")
    ax.set_ylabel(f"{q} ({unit})")
    ax.legend(fontsize=8, frameon=False)
    return fig


def plot_residence(ds: xr.Dataset, ax=None):
    """Residence-time density from a `hopping` Dataset (log y), with the mean marked."""
    fig, ax = new_axes(ax, figsize=(5.0, 3.5))
    ax.step(ds.residence_time.values * 1e-3, ds.residence_hist.values * 1e3, where="mid", color="C0")
    if np.isfinite(float(ds.mean_residence)):
        ax.axvline(
            float(ds.mean_residence) * 1e-3,
            ls="--",
            color="k",
            lw=1,
            label=f"mean {float(ds.mean_residence) * 1e-3:.3g} ps",
        )
        ax.legend(fontsize=8, frameon=False)
    ax.set_yscale("log")
    ax.set_xlabel("residence time (ps)")
    ax.set_ylabel("density (1/ps)")
    return fig
