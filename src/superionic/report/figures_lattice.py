"""Lattice-dynamics figures (matplotlib Figures, no pyplot state): the harmonic dispersion beside its DOS, the
harmonic DOS beside an MD VDOS (both from the dataset of `superionic.lattice.harmonic_dataset` or a phonons netCDF
file read back), the INM density with f_u(T) beside D(T), κ(T), and the host acoustic damping. Every function
returns a Figure; the NMD damping map is `superionic.lattice.nmd.nmd_figure`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr
from matplotlib import colormaps

from .. import units
from .figures import new_axes


def _label_ticks(ds: xr.Dataset) -> tuple[list[float], list[str]]:
    """Special-point positions and labels; two labels at one distance (a jump of the path) as 'K|U'."""
    pos: list[float] = []
    text: list[str] = []
    for d, name in zip(ds.label_distance.values, ds.label_name.values):
        if pos and abs(d - pos[-1]) < 1e-9:
            if text[-1] != str(name):
                text[-1] = f"{text[-1]}|{name}"
            continue
        pos.append(float(d))
        text.append(str(name))
    return pos, text


def dispersion_dos_figure(ds: xr.Dataset, energy: bool = False, axes=None):
    """Left: the branches along the band path (imaginary modes drawn below zero, in red); right: the total DOS
    and the partial DOS per species on the same frequency axis. energy: the axis in meV instead of THz.
    axes: two Axes (dispersion, DOS) to draw on (default: a new Figure).
    """
    fig, axes = new_axes(axes, 1, 2, figsize=(8.0, 3.6), gridspec_kw={"width_ratios": [3, 1]}, sharey=True)
    ax_b, ax_d = axes[0], axes[1]
    scale = units.THZ_TO_MEV if energy else 1.0
    unit = "meV" if energy else "THz"
    x = ds.distance.values
    seg = ds.band_segment.values
    freq = ds.band_frequency.values * scale
    thr = -float(ds.attrs.get("imaginary_threshold_THz", 0.05)) * scale
    for s in np.unique(seg):
        sel = seg == s
        ax_b.plot(x[sel], freq[sel], color="k", lw=0.8)
        bad = freq[sel] < thr
        if bad.any():
            ax_b.plot(x[sel], np.where(bad, freq[sel], np.nan), color="C3", lw=1.2)
    pos, text = _label_ticks(ds)
    for p in pos:
        ax_b.axvline(p, color="0.7", lw=0.5)
    ax_b.axhline(0.0, color="0.5", lw=0.5)
    ax_b.set_xticks(pos, text)
    ax_b.set_xlim(x.min(), x.max())
    ax_b.set_ylabel(f"{'energy hν' if energy else 'frequency ν'} ({unit}); < 0: imaginary")
    n_im = int(ds.attrs.get("n_imaginary_modes", 0))
    stable = bool(ds.attrs.get("stable", n_im == 0))
    verdict = "stable" if stable else f"UNSTABLE: {n_im} imaginary modes"
    name = ds.attrs.get("material") or ds.attrs.get("formula", "")
    ax_b.set_title(f"{name} harmonic dispersion ({verdict})", fontsize=9)
    nu = ds.frequency.values * scale
    ax_d.plot(ds.dos.values / scale, nu, color="k", lw=1.2, label="total")
    for s in ds.species.values:
        ax_d.plot(ds.pdos.sel(species=s).values / scale, nu, lw=0.9, label=str(s))
    ax_d.axhline(0.0, color="0.5", lw=0.5)
    ax_d.set_xlim(left=0)
    ax_d.set_xlabel(f"g (1/{unit} per cell)")
    ax_d.legend(fontsize=7)
    ax_b.set_ylim(min(0.0, float(nu.min())), float(nu.max()))
    return fig


def harmonic_vs_md_figure(
    harmonic: xr.Dataset,
    vdos: xr.Dataset | Sequence[xr.Dataset],
    species: list[str] | None = None,
    axes=None,
    labels: Sequence[str] | None = None,
):
    """The harmonic partial DOS (dashed) beside the MD VDOS g(ν) (solid) per species, both normalised to
    ∫g dν = 1 per species (the VDOS convention of `superionic.analysis.vdos`); the harmonic one over ν ≥ 0.
    vdos: a dataset of `superionic.analysis.vdos` (variable g with dimensions species, frequency in THz), or one
    per temperature (one line each, labelled by `labels` or their ``temperature_nominal_K`` attr).
    axes: one Axes per species (default: a new Figure).
    """
    from ..lattice.phonon_dataset import harmonic_vdos

    h = harmonic_vdos(harmonic)
    sets = [vdos] if isinstance(vdos, xr.Dataset) else list(vdos)
    if labels is None:
        temps = [v.attrs.get("temperature_nominal_K", v.attrs.get("temperature")) for v in sets]
        labels = [f"MD {float(t):.0f} K" if t is not None else "MD VDOS" for t in temps]
    have = [str(s) for s in h.species.values]
    md_species = [str(s) for s in sets[0].species.values]
    species = species or [s for s in have if s in md_species]
    fig, axes = new_axes(axes, 1, max(len(species), 1), figsize=(3.6 * max(len(species), 1), 3.2), squeeze=False)
    axes = np.asarray(axes).ravel()
    top = min(float(sets[0].frequency.max()), 1.1 * float(h.frequency.max()))
    dashed = "C3" if len(sets) == 1 else "k"
    colours = ["k"] if len(sets) == 1 else [colormaps["coolwarm"](x) for x in np.linspace(0, 1, len(sets))]
    for ax, s in zip(axes, species):
        for v, lab, c in zip(sets, labels, colours):
            ax.plot(v.frequency.values, v.g.sel(species=s).values, color=c, lw=1, label=lab)
        if s in have:
            ax.plot(h.frequency.values, h.g.sel(species=s).values, "--", color=dashed, lw=1, label="harmonic")
        ax.set_title(s)
        ax.set_xlabel("frequency ν (THz)")
        ax.set_xlim(0, top)
        ax.set_ylim(bottom=0)
        sec = ax.secondary_xaxis("top", functions=(lambda x: x * units.THZ_TO_MEV, lambda e: e / units.THZ_TO_MEV))
        sec.set_xlabel("energy (meV)")
    axes[0].set_ylabel("g(ν) (1/THz), ∫g dν = 1")
    axes[-1].legend(fontsize=8)
    if not bool(harmonic.attrs.get("stable", True)):
        axes[0].text(
            0.02, 0.95, "harmonic: unstable cell, ν < 0 left out", transform=axes[0].transAxes, fontsize=7, va="top"
        )
    return fig


def _coarse(nu: np.ndarray, rho: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray, float]:
    """A histogram density (uniform bins, THz) averaged over groups of adjacent bins, about `bins` bins over its
    range; ∫ρ dν is kept. Returns (centres, density, new bin width in THz).
    """
    step = float(nu[1] - nu[0]) if nu.size > 1 else 1.0
    k = max(1, int(round(nu.size / max(bins, 1))))
    n = (nu.size // k) * k
    if n == 0:
        return nu, rho, step
    return nu[:n].reshape(-1, k).mean(axis=1), rho[:n].reshape(-1, k).mean(axis=1), step * k


def inm_figure(
    datasets: list[xr.Dataset],
    series: list[dict] | None = None,
    species: str = "Li",
    axes=None,
    display_bins: int = 80,
):
    """Left: the INM density ρ(ν) of each run (1/THz, ∫ρ dν = 3N − 3; imaginary modes on the negative axis), drawn
    on about `display_bins` bins over its range (adjacent histogram bins averaged: a few snapshots are noisy).
    Right: the unstable-mode fraction f_u(T) ± standard error, with D(T) of `species` (cm²/s, log axis) beside it
    where `series` (rows of the lattice stage's ``series["inm"]``) carries a positive D.
    datasets: INM datasets of `superionic.lattice.inm.inm` (attribute temperature_K). axes: two Axes.
    """
    fig, axes = new_axes(axes, 1, 2, figsize=(10.0, 3.8), gridspec_kw={"width_ratios": [1.6, 1]})
    ax, ax2 = axes[0], axes[1]
    runs = sorted(datasets, key=lambda d: float(d.attrs.get("temperature_K", np.nan)))
    width = np.nan
    for d in runs:
        nu, rho, width = _coarse(d.frequency.values, d.dos.values, display_bins)
        ax.plot(nu, rho, lw=1.1, drawstyle="steps-mid", label=f"{float(d.attrs['temperature_K']):g} K")
    ax.axvline(0.0, color="0.5", lw=0.8)
    ax.set_xlabel(f"ν (THz), bins of {width:.2g} THz   [imaginary modes at ν < 0]")
    ax.set_ylabel("INM density ρ(ν) (1/THz, ∫ = 3N − 3)")
    ax.set_title("instantaneous normal modes", fontsize=9)
    ax.legend(fontsize=7, frameon=False)
    t = np.array([float(d.attrs["temperature_K"]) for d in runs])
    fu = np.array([float(d.f_u_mean) for d in runs])
    fe = np.array([float(d.f_u_err) for d in runs])
    ax2.errorbar(t, fu, yerr=fe, marker="o", color="C3", capsize=3)
    ax2.set_xlabel("T (K)")
    ax2.set_ylabel("unstable-mode fraction f_u", color="C3")
    ax2.set_ylim(bottom=0)
    rows = [r for r in series or [] if np.isfinite(r.get(f"D_{species}", np.nan)) and r[f"D_{species}"] > 0]
    if rows:
        ax3 = ax2.twinx()
        ax3.errorbar(
            [r["temperature_K"] for r in rows],
            [r[f"D_{species}"] for r in rows],
            yerr=[r[f"D_{species}_err"] for r in rows],
            marker="s",
            color="C0",
            capsize=3,
        )
        ax3.set_yscale("log")
        ax3.set_ylabel(f"D_{species} (cm²/s)", color="C0")
    ax2.set_title("f_u(T) beside D(T)", fontsize=9)
    return fig


def kappa_temperature_figure(rows: list[dict], ax=None):
    """κ(T) in W/(m·K) ± its σ per temperature (rows of the lattice stage's ``series["kappa"]``: temperature_K,
    kappa, kappa_err, estimate).
    """
    fig, ax = new_axes(ax, figsize=(4.6, 3.4))
    rows = sorted(rows, key=lambda r: r["temperature_K"])
    ax.errorbar(
        [r["temperature_K"] for r in rows],
        [r["kappa"] for r in rows],
        yerr=[r["kappa_err"] for r in rows],
        marker="o",
        capsize=3,
    )
    ax.set_xlabel("T (K)")
    ax.set_ylabel("κ (W m⁻¹ K⁻¹), Green–Kubo")
    ax.set_title(str(rows[0].get("estimate", "")) if rows else "", fontsize=9)
    ax.set_ylim(bottom=0)
    return fig


def acoustic_damping_figure(datasets: xr.Dataset | Sequence[xr.Dataset], axes=None):
    """Host acoustic modes at the smallest |Q| (`superionic.lattice.acoustic_damping`), one colour per run (blue to
    red with T). Left: the damping rate Γ_int/2 against ν₀ (THz) with their errors, overdamped above the dashed
    line Γ_int/2 = ν₀ (T1 ○, T2 △, L ■). Right: the current spectra and DHO fits of the smallest shell of the last run.
    """
    runs = [datasets] if isinstance(datasets, xr.Dataset) else list(datasets)
    runs = sorted(runs, key=lambda d: float(d.attrs.get("temperature_K", np.nan)))
    fig, axes = new_axes(axes, 1, 2, figsize=(8.0, 3.4))
    ax, ax_s = axes[0], axes[1]
    cmap = colormaps["coolwarm"]
    marks = {"T1": "o", "T2": "^", "L": "s"}
    top = 0.0
    for i, ds in enumerate(runs):
        color = cmap(i / max(len(runs) - 1, 1))
        label = f"{ds.attrs.get('temperature_K', float('nan')):.0f} K"
        for b, m in marks.items():
            r = ds.sel(branch=b)
            x, y = r.nu0.values, 0.5 * r.gamma_intrinsic.values
            ax.errorbar(
                x,
                y,
                xerr=r.nu0_err.values,
                yerr=0.5 * r.gamma_err.values,
                fmt=m,
                color=color,
                ms=4,
                lw=0.7,
                mfc=color if b == "L" else "none",
                label=label if b == "T1" else None,
            )
            top = max(top, float(np.nanmax(np.concatenate([x, y]))))
    top = 1.1 * top if top > 0 else 1.0
    ax.plot([0, top], [0, top], "k--", lw=0.8)
    ax.text(0.05 * top, 0.9 * top, "overdamped", fontsize=8)
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    ax.set_xlabel("ν₀ (THz)")
    ax.set_ylabel("Γ_int/2 (THz)")
    ax.legend(fontsize=7)
    last = runs[-1].isel(shell=0)
    nu = last.frequency.values
    for b, color in zip(marks, ("C0", "C2", "C3")):
        r = last.sel(branch=b)
        ax_s.plot(nu, r.spectrum.values, color=color, lw=0.8, label=f"{b} MD")
        ax_s.plot(nu, r.fit.values, color=color, lw=1.2, ls="--")
    ax_s.set_xlim(0, min(float(nu[-1]), 4 * float(np.nanmax(last.nu0.values)) + 1.0))
    ax_s.set_xlabel("ν (THz)")
    ax_s.set_ylabel("C(Q,ν) (amu Å² fs⁻² THz⁻¹)")
    ax_s.set_title(f"|Q| = {float(last.q):.3f} Å⁻¹, {last.attrs.get('temperature_K', float('nan')):.0f} K", fontsize=9)
    ax_s.legend(fontsize=7)
    return fig
