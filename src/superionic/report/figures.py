"""Study-level figures (matplotlib Figures, no pyplot state): VDOS across temperatures; PNG embedding."""

from __future__ import annotations

import numpy as np
import xarray as xr
from matplotlib.figure import Figure


def new_axes(ax=None, nrows: int = 1, ncols: int = 1, figsize: tuple[float, float] = (5.0, 3.4), **kw):
    """(Figure, axes) to draw on: the caller's `ax` (one matplotlib Axes, or an array of Axes for a
    multi-panel figure) and its figure, or a new pyplot-free Figure with an nrows × ncols grid (tight
    layout). No matplotlib backend is selected or switched.
    """
    if ax is not None:
        first = ax.flat[0] if isinstance(ax, np.ndarray) else ax
        return first.figure, ax
    fig = Figure(figsize=figsize, layout="tight")
    return fig, fig.subplots(nrows, ncols, **kw)


def vdos_figure(datasets: dict[str, xr.Dataset], axes=None):
    """g(ν) per species (panels) for each temperature (lines); linear axes, energy on top."""
    species = list(next(iter(datasets.values())).species.values)
    fig, axes = new_axes(axes, 1, len(species), figsize=(3.6 * len(species), 3.2), squeeze=False)
    for ax, s in zip(axes[0], species):
        for label, ds in datasets.items():
            ax.plot(ds.frequency, ds.g.sel(species=s), lw=1, label=label)
        ax.set_title(s)
        ax.set_xlabel("frequency ν (THz)")
        ax.set_xlim(0, min(25.0, float(next(iter(datasets.values())).frequency.max())))
        ax.set_ylim(bottom=0)
        sec = ax.secondary_xaxis("top", functions=(lambda x: x * 4.1357, lambda e: e / 4.1357))
        sec.set_xlabel("energy (meV)")
    axes[0][0].set_ylabel("g(ν) (1/THz), ∫g dν = 1")
    axes[0][-1].legend(fontsize=8)
    return fig


def sqe_overview_figure(sqe: xr.Dataset, var: str = "S_inc", emax: float | None = None, ax=None):
    """S(Q,E) of one variable, one line per Q, E in meV over ±emax (default 10× the effective
    resolution), log scale; points ≤ 0 (noise of a short run) are left out.
    """
    emax = emax or 10.0 * float(sqe.attrs.get("effective_resolution_fwhm_meV", 1.0))
    sel = sqe[var].sel(energy=slice(-emax, emax))
    fig, ax = new_axes(ax, figsize=(5.0, 3.4))
    for q in sel.q.values:
        y = sel.sel(q=q).values
        ax.semilogy(sel.energy, np.where(y > 0, y, np.nan), lw=1, label=f"Q = {q:g} Å⁻¹")
    ax.set_xlabel("energy transfer E (meV)")
    ax.set_ylabel(f"{var.replace('_', ' ')}(Q,E) (1/meV)")
    ax.set_title(f"resolution {sqe.attrs.get('effective_resolution_fwhm_meV', float('nan')):.3g} meV FWHM", fontsize=9)
    ax.legend(fontsize=7)
    return fig


def to_png_base64(fig) -> str:
    """`fig` rendered as PNG (110 dpi), base64 text for an <img> data URI."""
    import base64
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    return base64.b64encode(buf.getvalue()).decode()


__all__ = ["new_axes", "vdos_figure", "sqe_overview_figure", "to_png_base64"]
