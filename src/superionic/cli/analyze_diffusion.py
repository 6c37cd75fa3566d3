"""`superionic analyze diffusion`: MSD and tracer diffusion coefficients."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .app import analyze_app
from .common import load, parse_species, positive, print_json, save_dataset


@analyze_app.command("diffusion")
def diffusion_cmd(
    trajectory: Path = typer.Argument(..., help="Trajectory file (wrapped or unwrapped positions)."),
    species: Optional[str] = typer.Option(None, "--species", "-s", help="Comma-separated species, e.g. Li (default: all)."),
    dt: Optional[float] = typer.Option(None, "--dt", help="Time between stored frames in fs (needed when the file does not carry it, e.g. XDATCAR)."),
    fmt: Optional[str] = typer.Option(None, "--format", help="ASE format name when it cannot be told from the file name."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write MSD and D to this netCDF file."),
    as_json: bool = typer.Option(False, "--json", help="Print a machine-readable summary on stdout."),
) -> None:
    """Mean squared displacement (all time origins) and tracer D in cm²/s per species."""
    from ..analysis.diffusion import diffusion

    positive(dt, "--dt")
    traj = load(trajectory, dt, fmt)
    ds = diffusion(traj, parse_species(species))
    if out:
        save_dataset(ds, out)
    summary = {"trajectory": str(trajectory), "units": {"D": "cm2/s"},
               "species": {s: {"D": float(ds.D.sel(species=s))} for s in ds.species.values}}
    if as_json:
        print_json(summary)
    else:
        typer.echo(f"Diffusion from {traj!r}")
        for s, v in summary["species"].items():
            typer.echo(f"  {s:>3}: D = {v['D']:.4g} cm²/s")
        if out:
            typer.echo(f"wrote {out}")
