"""Study-level figures (matplotlib, Agg backend): VDOS across temperatures; PNG embedding."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402


def vdos_figure(datasets: dict[str, xr.Dataset]):
    """g(ν) per species (panels) for each temperature (lines); linear axes, energy on top."""
    species = list(next(iter(datasets.values())).species.values)
    fig, axes = plt.subplots(1, len(species), figsize=(3.6 * len(species), 3.2), squeeze=False)
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
    fig.tight_layout()
    return fig


def sqe_overview_figure(sqe: xr.Dataset, var: str = "S_inc", emax: float | None = None):
    """S(Q,E) of one variable, one line per Q, E in meV over ±emax (default 10× the effective
    resolution), log scale; points ≤ 0 (noise of a short run) are left out."""
    emax = emax or 10.0 * float(sqe.attrs.get("effective_resolution_fwhm_meV", 1.0))
    sel = sqe[var].sel(energy=slice(-emax, emax))
    fig, ax = plt.subplots(figsize=(5.0, 3.4))
    for q in sel.q.values:
        y = sel.sel(q=q).values
        ax.semilogy(sel.energy, np.where(y > 0, y, np.nan), lw=1, label=f"Q = {q:g} Å⁻¹")
    ax.set_xlabel("energy transfer E (meV)")
    ax.set_ylabel(f"{var.replace('_', ' ')}(Q,E) (1/meV)")
    ax.set_title(f"resolution {sqe.attrs.get('effective_resolution_fwhm_meV', float('nan')):.3g} meV FWHM",
                 fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def to_png_base64(fig) -> str:
    import base64
    import io
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


__all__ = ["vdos_figure", "sqe_overview_figure", "to_png_base64"]
