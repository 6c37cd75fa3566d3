"""`superionic analyze mechanism`: bottleneck breathing and anion (PS4) rotations of one trajectory."""

from __future__ import annotations

from pathlib import Path

import typer

from ..errors import InputError
from .app import analyze_app
from .common import OVERWRITE_HELP, check_outputs, load, positive, print_json

#: the files `--out PREFIX` writes
KINDS = ("bottleneck", "rotations", "rotation_hop")


@analyze_app.command("mechanism")
def mechanism_cmd(
    trajectory: Path = typer.Argument(..., help="Trajectory file with all atoms (the anion framework moves)."),
    mobile: str = typer.Option(
        "Li", "--mobile", help="The mobile species whose hops through the bottleneck windows count."
    ),
    centre: str | None = typer.Option(
        None,
        "--centre",
        help="Centre of the tetrahedral anion (default P; "
        "without P in the trajectory no rotations). A species given here must be "
        "in the trajectory.",
    ),
    ligand: str | None = typer.Option(None, "--ligand", help="Ligand of the tetrahedral anion (default S)."),
    dt: float | None = typer.Option(
        None, "--dt", help="Time between stored frames in fs (needed when the file does not carry it)."
    ),
    fmt: str | None = typer.Option(None, "--format", help="ASE format name when it cannot be told from the file name."),
    out: str | None = typer.Option(
        None,
        "--out",
        "-o",
        help="Prefix of the netCDF files written (<prefix>_bottleneck.nc, _rotations.nc, _rotation_hop.nc).",
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help=OVERWRITE_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print a machine-readable summary on stdout."),
) -> None:
    """Breathing of the bottleneck windows (triangles of anions between face-sharing Li tetrahedra: in-radius,
    its spectrum, its value when Li crosses) and anion rotations (libration vs reorientation, C_1/C_2,
    rotation–hop correlation). Definitions: docs/bottleneck.md, docs/rotations.md.
    """
    from ..workflow.mechanism import mechanism

    positive(dt, "--dt")
    if out is not None:
        if not out.strip() or out.endswith(("/", "\\")) or Path(out).is_dir():
            raise InputError(
                f"--out is a prefix of file names (e.g. results/run1 → results/run1_bottleneck.nc), got {out!r}"
            )
        check_outputs([("--out", f"{out}_{kind}.nc", "netcdf") for kind in KINDS], [trajectory], overwrite)
    traj = load(trajectory, dt, fmt)
    for option, value in (("--mobile", mobile), ("--centre", centre), ("--ligand", ligand)):
        if value is not None and value not in traj.species:
            raise InputError(f"{option} {value!r} is not in this trajectory; it has {', '.join(traj.species)}")
    centre, ligand = centre or "P", ligand or "S"
    res = mechanism(traj, mobile, Path(out) if out else None, centre=centre, ligand=ligand)
    if as_json:
        print_json(
            {
                "trajectory": str(trajectory),
                "units": {"length": "angstrom", "frequency": "THz", "time": "ps", "angle": "degree"},
                **res,
            }
        )
        return
    b = res.get("bottleneck", {})
    if "skipped" in b:
        typer.echo(f"bottleneck: skipped ({b['skipped']})")
    else:
        typer.echo(
            f"bottleneck windows ({', '.join(b['anions'])}): {b['n_windows']}, in-radius "
            f"{b['inradius_mean_A']:.3f} Å, breathing rms {b['breathing_rms_A']:.3f} Å (half of it below "
            f"{b['breathing_nu_half_THz']:.2f} THz); {b['n_crossings']} {mobile} crossings, in-radius at "
            f"crossings − mean = {b['inradius_shift_at_hops_A']:+.4f} ± {b['inradius_shift_at_hops_err_A']:.4f} Å"
        )
    r = res.get("rotations")
    if r is None:
        typer.echo(f"rotations: no {centre}{ligand}4 units in this trajectory")
    elif "skipped" in r:
        typer.echo(f"rotations: skipped ({r['skipped']})")
    else:
        typer.echo(
            f"{r['unit']} rotations: libration fraction {r['libration_fraction']:.3f}, mean angle "
            f"{r['mean_angle_deg']:.1f}°, {r['n_events']} reorientations; τ1 = {r['tau1_ps']:.3g} ps, "
            f"τ2 = {r['tau2_ps']:.3g} ps" + (" (extrapolated)" if r["tau_extrapolated"] else "")
        )
        h = r.get("hop_correlation")
        if h and r["n_events"]:
            typer.echo(
                f"  {mobile} hops with a reorientation within {h['time_window_ps']} ps and "
                f"{h['distance_window_A']} Å: {h['ratio_li_hops']:.2f} ± {h['ratio_err_li_hops']:.2f} × chance"
            )
    if out:
        typer.echo(f"wrote {out}_*.nc")
