"""`superionic info`: versions and what a trajectory file holds."""

from __future__ import annotations

from pathlib import Path

import typer

from .app import app
from .common import load, print_json


@app.command("info")
def info_cmd(
    trajectory: Path | None = typer.Argument(None, help="A trajectory file to describe (optional)."),
    dt: float | None = typer.Option(None, "--dt", help="Time between frames in fs, if the file lacks it."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Print versions of superionic and its key dependencies, or describe a trajectory."""
    from ..provenance import versions

    out: dict = {"versions": versions()}
    if trajectory is not None:
        traj = load(trajectory, dt, None)
        out["trajectory"] = {
            "file": str(trajectory),
            "frames": traj.n_frames,
            "atoms": traj.n_atoms,
            "species": {s: len(traj.indices(s)) for s in traj.species},
            "dt_fs": traj.dt,
            "velocities": traj.velocities is not None,
            "metadata": traj.metadata,
        }
    if as_json:
        print_json(out)
    else:
        for k, v in out["versions"].items():
            typer.echo(f"{k:>12}: {v}")
        if "trajectory" in out:
            typer.echo(repr(traj))
