"""Mechanism figures (matplotlib Figures, no pyplot state): bottleneck breathing spectrum with the hop-time in-radius
distribution, and PS4 rotational autocorrelations. Every function returns a Figure.
"""

from __future__ import annotations

import xarray as xr

from .figures import new_axes


def bottleneck_figure(ds: xr.Dataset, label: str = "", axes=None):
    """Left: breathing spectrum S(ν) of the window in-radius (Å²/THz, ∫S dν = <δr²>); right: in-radius
    density at window crossings vs at all times (1/Å). `ds` is a `bottleneck_summary` Dataset.
    """
    import numpy as np

    fig, (a1, a2) = new_axes(axes, 1, 2, figsize=(9.0, 3.4))
    nu, sp = ds.frequency.values, ds.breathing_spectrum.values
    a1.plot(nu, sp, lw=1.2)
    cum = np.concatenate([[0.0], np.cumsum(0.5 * (sp[1:] + sp[:-1]) * np.diff(nu))])
    if cum[-1] > 0:  # show the band that holds 99.5 % of <δr²>, not up to Nyquist
        a1.set_xlim(0, min(nu[-1], 1.2 * float(np.interp(0.995 * cum[-1], cum, nu))))
    a1.set_xlabel("ν (THz)")
    a1.set_ylabel("S_r(ν) (Å²/THz)")
    a1.set_title(f"bottleneck breathing {label}".strip(), fontsize=9)
    x = ds.inradius_bin.values
    a2.plot(x, ds.density_all.values, lw=1.2, label="all times")
    a2.plot(x, ds.density_hop.values, lw=1.2, label=f"at crossings (n = {int(ds.n_crossings)})")
    a2.set_xlabel("window in-radius r (Å)")
    a2.set_ylabel("density (1/Å)")
    a2.legend(fontsize=8, frameon=False)
    return fig


def rotation_figure(ds: xr.Dataset, label: str = "", ax=None):
    """C_1(t), C_2(t) of the anion bond vectors (± standard error); `ds` is a `rotation_summary` Dataset."""
    fig, ax = new_axes(ax, figsize=(5.0, 3.4))
    t = ds.time.values
    for name in ("C1", "C2"):
        y, e = ds[name].values, ds[f"{name}_err"].values
        ax.plot(t, y, lw=1.2, label=name.replace("C", "C_"))
        ax.fill_between(t, y - e, y + e, alpha=0.2)
    ax.set_xlabel("t (ps)")
    ax.set_ylabel("C_ℓ(t) = <P_ℓ(u(0)·u(t))>")
    ax.set_ylim(min(0.0, float(ds.C2.min())), 1.02)
    ax.legend(fontsize=8, frameon=False)
    ax.set_title(f"anion reorientation {label}".strip(), fontsize=9)
    return fig
