"""`superionic potentials`: list the registered interatomic potentials."""

from __future__ import annotations

import typer

from .app import app
from .common import print_json


@app.command("potentials")
def potentials_cmd(
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
    all_: bool = typer.Option(False, "--all", help="Also list optional extras whose package is not installed."),
) -> None:
    """List the registered potentials: name, engine, version and where the parameters come from."""
    from ..potentials import DEFAULT_POTENTIAL, list_potentials

    rows = [
        dict(s.identity(), available=s.available(), default=s.name == DEFAULT_POTENTIAL, description=s.description)
        for s in list_potentials(include_unavailable=all_)
    ]
    if as_json:
        print_json(rows)
        return
    width = max([10] + [len(r["name"]) for r in rows])
    for r in rows:
        mark = "*" if r["default"] else " "
        ver = r["version"] or "not installed"
        typer.echo(f"{mark} {r['name']:<{width}} {r['engine']:<6} {ver:<14} {r['source']}")
    typer.echo("(* default; model files and user calculators can be used too: --potential PATH)")
