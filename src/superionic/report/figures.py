"""Study-level figures (matplotlib, Agg backend): VDOS across temperatures; PNG embedding."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
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


def to_png_base64(fig) -> str:
    import base64
    import io
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode()


__all__ = ["vdos_figure", "to_png_base64"]
