"""`superionic analyze vdos`: vibrational density of states per species."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .app import analyze_app
from .common import load, parse_species, positive, print_json, save_dataset


@analyze_app.command("vdos")
def vdos_cmd(
    trajectory: Path = typer.Argument(..., help="Trajectory file with velocities (H5MD from `superionic md`, extxyz, ASE .traj …)."),
    species: Optional[str] = typer.Option(None, "--species", "-s", help="Comma-separated species, e.g. Li,S (default: all)."),
    dt: Optional[float] = typer.Option(None, "--dt", help="Time between stored frames in fs (needed when the file does not carry it)."),
    fmt: Optional[str] = typer.Option(None, "--format", help="ASE format name when it cannot be told from the file name."),
    max_lag: Optional[int] = typer.Option(None, "--max-lag", help="Correlation length in frames (default: half the trajectory)."),
    window: str = typer.Option("hann", "--window", help="Lag window: hann, blackman, triangle or none."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write the spectra to this netCDF file."),
    as_json: bool = typer.Option(False, "--json", help="Print a machine-readable summary on stdout."),
) -> None:
    """VDOS g(ν) per species from the velocity autocorrelation; ∫g dν = 1 per species (ν in THz)."""
    from ..analysis.vdos import vdos

    positive(dt, "--dt")
    traj = load(trajectory, dt, fmt)
    ds = vdos(traj, parse_species(species), max_lag=max_lag, window=window)
    if out:
        save_dataset(ds, out)
    summary = {
        "trajectory": str(trajectory),
        "units": {"frequency": "THz", "g": "1/THz", "temperature": "K"},
        "resolution_fwhm_THz": ds.attrs["resolution_fwhm_THz"],
        "species": {
            s: {"g0": float(ds.g.sel(species=s).values[0]),
                "integral": float(ds.integral.sel(species=s)),
                "kinetic_temperature": float(ds.kinetic_temperature.sel(species=s))}
            for s in ds.species.values
        },
    }
    if as_json:
        print_json(summary)
    else:
        typer.echo(f"VDOS of {traj!r}; resolution {ds.attrs['resolution_fwhm_THz']:.3g} THz FWHM")
        for s, v in summary["species"].items():
            typer.echo(f"  {s:>3}: g(0) = {v['g0']:.4g} 1/THz, ∫g dν = {v['integral']:.4f}, "
                       f"T_kin = {v['kinetic_temperature']:.1f} K")
        if out:
            typer.echo(f"wrote {out}")
