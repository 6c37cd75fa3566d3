"""VDOS figures (matplotlib Figures, no pyplot state): g(ν) per species on linear and log–log axes with the
fitted low-frequency law, and the neutron-weighted GDOS. Every function returns a Figure.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from .. import units
from ..analysis.vdos import names_of, selection
from .figures import new_axes


def _law(nu, fit):
    return fit["g0"] + fit["amplitude"] * nu ** fit["exponent"]


def vdos_lowfreq_figure(
    ds: xr.Dataset, fits: dict | None = None, names: list[str] | None = None, fmax: float | None = None, axes=None
):
    """Two rows per call: top g(ν) linear, bottom log–log with g₀ + aν^n (dashed) on its fit range.
    axes: a (2, n_names) array of Axes to draw on (default: a new Figure).

    fits: {name: analyse_lowfreq(...) result} (computed here when None).
    """
    from ..analysis.lowfreq import analyse_lowfreq

    names = names or names_of(ds)
    fits = fits or {n: analyse_lowfreq(ds, n) for n in names}
    nu = ds.frequency.values
    fig, axes = new_axes(axes, 2, len(names), figsize=(3.6 * len(names), 6.0), squeeze=False)
    top = fmax or min(25.0, float(nu.max()))
    for j, n in enumerate(names):
        g = selection(ds, n).g.values
        f = fits[n]
        ax = axes[0][j]
        ax.plot(nu, g, lw=1, color="k")
        ax.set_xlim(0, top)
        ax.set_ylim(bottom=0)
        law = f"n = {f['exponent']:.2f} ± {f['exponent_err']:.2f}" if np.isfinite(f["exponent"]) else "no exponent"
        ax.set_title(f"{n}: {law}, {f['classification']}", fontsize=9)
        ax.set_xlabel("frequency ν (THz)")
        sec = ax.secondary_xaxis("top", functions=(lambda x: x * units.THZ_TO_MEV, lambda e: e / units.THZ_TO_MEV))
        sec.set_xlabel("energy (meV)")
        ax = axes[1][j]
        pos = (nu > 0) & (g > 0)
        ax.loglog(nu[pos], g[pos], lw=1, color="k", label="g(ν)")
        lo, hi = f["fit_range"]
        x = np.geomspace(max(lo, nu[1]), hi, 60)
        if np.isfinite(f["exponent"]):
            label = f"g₀ + aν^n, g₀ = {f['g0']:.2g} ± {f['g0_err']:.1g}"
            ax.loglog(x, _law(x, f), "--", color="C3", lw=1.5, label=label)
        ax.axvspan(lo, hi, color="C3", alpha=0.08)
        ax.set_xlabel("frequency ν (THz)")
        ax.legend(fontsize=7)
    axes[0][0].set_ylabel("g(ν) (1/THz)")
    axes[1][0].set_ylabel("g(ν) (1/THz), log–log")
    return fig


def gdos_figure(gds: xr.Dataset, emax: float | None = None, ax=None):
    """Neutron-weighted GDOS G(E) with the weighted species contributions (resolved when available)."""
    e = gds.energy.values
    resolved = "G_resolved" in gds
    tot = gds.G_resolved if resolved else gds.G
    part = gds.G_partial_resolved if resolved else gds.G_partial
    fig, ax = new_axes(ax, figsize=(5.0, 3.4))
    ax.plot(e, tot, color="k", lw=1.5, label="G(E)" + (" ⊗ R" if resolved else ""))
    for s in gds.species.values:
        ax.plot(e, part.sel(species=s), lw=1, label=f"{s} (w = {float(gds.weight.sel(species=s)):.2f})")
    ax.set_xlim(0, emax or min(100.0, float(e.max())))
    ax.set_ylim(bottom=0)
    ax.set_xlabel("energy transfer E (meV)")
    ax.set_ylabel("G(E) (1/meV), ∫G dE = 1")
    ax.legend(fontsize=8)
    ax.set_title(f"neutron-weighted GDOS; resolution: {gds.attrs.get('resolution', 'none')}", fontsize=9)
    return fig
