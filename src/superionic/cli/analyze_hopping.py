"""`superionic analyze hopping`: site-to-site jumps, rates per jump type, residence times."""

from __future__ import annotations

from pathlib import Path

import typer

from ..errors import InputError
from .app import analyze_app
from .common import OVERWRITE_HELP, at_least, check_outputs, load, positive, print_json, save_dataset


def _looks_like_argyrodite(traj) -> bool:
    counts = {s: traj.symbols.count(s) for s in traj.species}
    return (
        set(counts) == {"Li", "P", "S", "Cl"}
        and counts["Li"] == 6 * counts["P"]
        and counts["S"] == 5 * counts["P"]
        and counts["Cl"] == counts["P"]
    )


@analyze_app.command("hopping")
def hopping_cmd(
    trajectory: Path = typer.Argument(..., help="Trajectory file (wrapped or unwrapped positions)."),
    species: str = typer.Option("Li", "--species", "-s", help="The hopping species."),
    sites: str = typer.Option(
        "auto",
        "--sites",
        help="Where the sites come from: 'argyrodite' (all 48h sites of "
        "Li6PS5Cl, jumps classed doublet/intra-cage/inter-cage), 'density' (maxima of the "
        "time-averaged density), a structure file (positions of the species in it), or "
        "'auto' (argyrodite when the composition is Li6PS5Cl, else density).",
    ),
    radius: float | None = typer.Option(
        None, "--radius", help="Site core radius in Å (default: half the shortest site–site distance)."
    ),
    residence: float | None = typer.Option(
        None,
        "--residence",
        help="Minimum time in fs an atom must stay in a new site for the jump to count (default: 2 frames, at least 100 fs); filters rattling.",
    ),
    dt: float | None = typer.Option(
        None, "--dt", help="Time between stored frames in fs (needed when the file does not carry it)."
    ),
    fmt: str | None = typer.Option(None, "--format", help="ASE format name when it cannot be told from the file name."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Write the jump analysis to this netCDF file."),
    overwrite: bool = typer.Option(False, "--overwrite", help=OVERWRITE_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print a machine-readable summary on stdout."),
) -> None:
    """Count site-to-site jumps (rattling excluded), rates per jump type, residence times and the
    correlation factor f = D*/D_jump.
    """
    from ..analysis.diffusion import diffusion
    from ..analysis.hopping import argyrodite_sites, hopping, sites_from_density, sites_from_structure

    positive(dt, "--dt")
    positive(radius, "--radius")
    at_least(residence, 0.0, "--residence", "fs")
    if sites not in ("auto", "argyrodite", "density") and not Path(sites).is_file():
        raise InputError(f"--sites must be auto, argyrodite, density or an existing structure file, got {sites!r}")
    check_outputs(
        [("--out", out, "netcdf")], [trajectory] + ([Path(sites)] if Path(sites).is_file() else []), overwrite
    )
    traj = load(trajectory, dt, fmt)
    traj.indices(species)
    if residence is not None and residence >= traj.n_frames * traj.dt:
        raise InputError(
            f"--residence {residence:g} fs is not shorter than the trajectory "
            f"({traj.n_frames * traj.dt:g} fs): no jump could count"
        )
    choice = sites
    if sites == "auto":
        choice = "argyrodite" if _looks_like_argyrodite(traj) else "density"
    if choice == "argyrodite":
        st = argyrodite_sites(traj)
    elif choice == "density":
        st = sites_from_density(traj, species)
    else:
        import ase.io

        try:
            structure = ase.io.read(sites)
        except Exception as err:  # ASE raises many kinds for a file it cannot parse
            raise InputError(
                f"--sites: cannot read {sites} as a structure file ({type(err).__name__}: {' '.join(str(err).split())})"
            ) from None
        st = sites_from_structure(structure, species)
    d_tracer = float(diffusion(traj, [species], per_axis=False).D.values[0])
    ds = hopping(traj, st, species, radius=radius, residence=residence, d_tracer=d_tracer)
    summary = {
        "trajectory": str(trajectory),
        "species": species,
        "sites": st.source,
        "n_sites": len(st),
        "units": {"rate": "1/ps per atom", "length": "angstrom", "time": "fs", "D": "cm2/s"},
        "radius": ds.attrs["radius_A"],
        "residence": ds.attrs["residence_fs"],
        "jumps": {
            str(k): {
                "count": int(ds.jump_count.sel(jump_type=k)),
                "rate": float(ds.jump_rate.sel(jump_type=k)),
                "rate_err": float(ds.jump_rate_err.sel(jump_type=k)),
                "length": float(ds.jump_length.sel(jump_type=k)),
            }
            for k in ds.jump_type.values
        },
        "total_rate": float(ds.total_rate),
        "mean_residence": float(ds.mean_residence),
        "D_jump": float(ds.D_jump),
        "D_tracer": d_tracer,
        "correlation_factor": float(ds.correlation_factor),
    }
    if "alignment_rms" in st.info:
        summary["site_alignment_rms"] = st.info["alignment_rms"]
    if out:
        save_dataset(ds, out)
    if as_json:
        print_json(summary)
        return
    typer.echo(
        f"Hopping of {species} in {traj!r}: {len(st)} sites ({st.source}), radius "
        f"{summary['radius']:.2f} Å, residence ≥ {summary['residence']:g} fs"
    )
    for k, v in summary["jumps"].items():
        typer.echo(
            f"  {k:>12}: {v['count']:6d} jumps, {v['rate']:.4g} ± {v['rate_err']:.2g} /ps per atom, "
            f"l = {v['length']:.2f} Å"
        )
    typer.echo(
        f"  mean residence {summary['mean_residence']:.4g} fs; D_jump = {summary['D_jump']:.4g} cm²/s, "
        f"D* = {d_tracer:.4g} cm²/s, correlation factor f = {summary['correlation_factor']:.3g}"
    )
    if out:
        typer.echo(f"wrote {out}")
