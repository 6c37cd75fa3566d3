"""The typer application object and the registration of every command module."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="superionic",
    help="Machine-learned MD and neutron-comparable analysis of solid-state electrolytes.\n\n"
    "Start with:  superionic run examples/quickstart.yaml\n\n"
    "Exit status: 0 success, 1 error (one line on stderr), 2 usage error; SUPERIONIC_DEBUG=1 adds the "
    "traceback of an error (docs/reliability.md).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
analyze_app = typer.Typer(
    help="Analyse a trajectory (H5MD, extxyz, ASE .traj, XDATCAR, LAMMPS dump …).", no_args_is_help=True
)
app.add_typer(analyze_app, name="analyze")


def _print_version(value: bool) -> None:
    if value:
        from .. import __version__

        typer.echo(f"superionic {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool | None = typer.Option(
        None, "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    pass


# command modules register themselves on import
from . import (  # noqa: E402,F401
    acoustic_cmd,
    analyze_diffusion,
    analyze_hopping,
    analyze_mechanism,
    analyze_scattering,
    analyze_vdos,
    finetune_cmd,
    fit_mace_cmd,
    fit_qens,  # noqa: E402,F401
    info_cmd,
    inm_cmd,
    kappa_cmd,
    md_cmd,
    nmd_cmd,
    phonons_cmd,
    potentials_cmd,
    run_cmd,
    screen_cmd,
    train_cmd,
)
