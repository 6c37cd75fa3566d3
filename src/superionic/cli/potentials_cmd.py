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
        dict(
            s.identity(),
            available=s.available(),
            default=s.name == DEFAULT_POTENTIAL,
            description=s.description,
            gate=_gate(s),
        )
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
        g = r["gate"]
        if g is not None:
            latest = g.get("revalidated", g)
            when = f"re-validated {latest['date']}" if "revalidated" in g else "validated"
            verdict = "passes" if latest["passed"] else "FAILS: " + "; ".join(latest["failures"])
            typer.echo(f"  {'':<{width}} gate ({when}): {verdict}")
    typer.echo("(* default; model files and user calculators can be used too: --potential PATH)")


def _gate(spec) -> dict | None:
    """A distilled (LAMMPS) potential's gate verdict from its cards (`lammps_potentials.gate_verdict`), else None."""
    if spec.engine != "lammps":
        return None
    from ..errors import InputError
    from ..potentials.lammps_potentials import gate_verdict, get_lammps_potential

    try:
        return gate_verdict(get_lammps_potential(spec.name))
    except InputError:
        return None
