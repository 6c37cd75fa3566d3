"""`superionic analyze diffusion`: MSD, tracer D ± σ, conductivity and Haven ratio."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import typer

from ..errors import InputError
from ..results import fit_value, nonnegative_fields, positive_text, resolved_text
from .app import analyze_app
from .common import (
    OVERWRITE_HELP,
    at_least,
    check_finite,
    check_max_lag,
    check_outputs,
    parse_species,
    positive,
    print_json,
    save_dataset,
    save_figure,
)

#: largest trajectory (frames × atoms) whose cages are counted without --cages: it is read whole (24 B per atom-frame)
AUTO_CAGE_VALUES = 3e7


def _charges(text: str | None) -> dict[str, float] | None:
    if not text:
        return None
    out = {}
    for part in text.split(","):
        if "=" not in part:
            raise InputError(f"--charges entries look like Li=1, got {part!r}")
        k, v = part.split("=", 1)
        try:
            out[k.strip()] = float(v)
        except ValueError:
            raise InputError(f"--charges: {v!r} is not a number") from None
        if not math.isfinite(out[k.strip()]) or out[k.strip()] == 0:
            raise InputError(f"--charges: the charge of {k.strip()} must be a finite non-zero number, got {v!r}")
    return out


def check_fit_range(traj, max_lag: int | None, t_start: float | None, t_stop: float | None) -> None:
    """Refuse a fit range outside the MSD's lags (0 ≤ start < stop ≤ longest lag) instead of clamping it."""
    check_max_lag(traj, max_lag, minimum=3)
    n_lags = traj.max_lag(max_lag, minimum=3)
    longest = (n_lags - 1) * traj.dt
    hint = f"the MSD reaches lags up to {longest:g} fs ({n_lags} lags of {traj.dt:g} fs; --max-lag sets it)"
    at_least(t_start, 0.0, "--fit-start", "fs")
    positive(t_stop, "--fit-stop")
    if t_start is not None and t_start >= longest:
        raise InputError(f"--fit-start {t_start:g} fs is not below the longest MSD lag: {hint}")
    if t_stop is not None and t_stop > longest * (1 + 1e-9):
        raise InputError(f"--fit-stop {t_stop:g} fs lies beyond the longest MSD lag: {hint}")
    if t_start is not None and t_stop is not None and t_stop <= t_start:
        raise InputError(f"--fit-stop ({t_stop:g} fs) must be larger than --fit-start ({t_start:g} fs)")


@analyze_app.command("diffusion")
def diffusion_cmd(
    trajectory: Path = typer.Argument(..., help="Trajectory file (wrapped or unwrapped positions)."),
    species: str | None = typer.Option(
        None, "--species", "-s", help="Comma-separated mobile species, e.g. Li (default: all)."
    ),
    dt: float | None = typer.Option(
        None, "--dt", help="Time between stored frames in fs (needed when the file does not carry it, e.g. XDATCAR)."
    ),
    temperature: float | None = typer.Option(
        None,
        "--temperature",
        "-T",
        help="Temperature in K, for the conductivity (needed when the file does not carry it).",
    ),
    charges: str | None = typer.Option(
        None, "--charges", help="Formal charges, e.g. Li=1,Mg=2 (defaults: Li/Na/K/Ag/Cu +1 …)."
    ),
    t_start: float | None = typer.Option(
        None,
        "--fit-start",
        help="Start of the diffusive fit range in fs (default: chosen automatically, ballistic/cage regime excluded).",
    ),
    t_stop: float | None = typer.Option(
        None, "--fit-stop", help="End of the fit range in fs (default: the longest lag)."
    ),
    max_lag: int | None = typer.Option(
        None, "--max-lag", help="Longest MSD lag in frames (default: half the trajectory)."
    ),
    fmt: str | None = typer.Option(
        None, "--format", help="ASE format name when it cannot be told from the file name (e.g. vasp-xdatcar)."
    ),
    out: Path | None = typer.Option(None, "--out", "-o", help="Write MSD, D and conductivity to this netCDF file."),
    plot: Path | None = typer.Option(None, "--plot", help="Save an MSD figure with the fit range (PNG/PDF)."),
    overwrite: bool = typer.Option(False, "--overwrite", help=OVERWRITE_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print a machine-readable summary on stdout."),
    cages: bool | None = typer.Option(
        None,
        "--cages/--no-cages",
        help="Li argyrodites (the 12-site cages around the 4c anions): also give Li's D from the MSD of the cages "
        "it visits, and count the cage changes. It converges with the inter-cage jumps counted, where the plain "
        "MSD of a short run still fills the cages; a run with fewer than 10 cage changes is not called diffusive "
        "(docs/diffusion.md). Default: done when the trajectory is a Li argyrodite of at most "
        f"{AUTO_CAGE_VALUES:.0e} atom-frames (it is read whole into memory); --cages insists, --no-cages skips it.",
    ),
) -> None:
    """Tracer D ± σ (cm²/s) from a covariance-aware fit of the MSD, and for the mobile species the
    conductivity σ ± err from the charge MSD, Nernst–Einstein σ_NE (mS/cm) and the Haven ratio.
    """
    from ..analysis.conductivity import conductivity, conductivity_fields, resolve_charges
    from ..analysis.diffusion import diffusion_from_file
    from ..trajectory.blocks import TrajectorySource, open_trajectory

    positive(dt, "--dt")
    positive(temperature, "--temperature")
    at_least(t_start, 0.0, "--fit-start", "fs")
    positive(t_stop, "--fit-stop")
    q = _charges(charges)
    check_outputs([("--out", out, "netcdf"), ("--plot", plot, "plot")], [trajectory], overwrite)
    traj = open_trajectory(trajectory, dt, fmt)  # H5MD: checked once, then read in pieces (bounded memory)
    if isinstance(traj, TrajectorySource):  # formats ASE reads are read whole: refuse non-finite frames
        check_finite(traj.traj, trajectory)
    sp = parse_species(species)
    traj.species_list(sp)
    for s in q or {}:
        if s not in traj.species:  # a charge for an absent species is a typo
            raise InputError(
                f"--charges names {s!r}, which is not in this trajectory; it has {', '.join(traj.species)}"
            )
    check_fit_range(traj, max_lag, t_start, t_stop)
    ds = diffusion_from_file(traj, sp, max_lag=max_lag, t_start=t_start, t_stop=t_stop)
    summary = {"trajectory": str(trajectory), "units": {"D": "cm2/s", "sigma": "mS/cm", "time": "fs"}, "species": {}}
    for s in ds.species.values:
        summary["species"][str(s)] = {
            **nonnegative_fields(
                float(ds.D.sel(species=s)),
                float(ds.D_err.sel(species=s)),
                regime_ok=bool(ds.fit_range_ok.sel(species=s)),
            ),
            "fit_range_fs": [float(ds.fit_start.sel(species=s)), float(ds.fit_stop.sel(species=s))],
            "diffusive_regime_found": bool(ds.fit_range_ok.sel(species=s)),
        }
        if "D_GK" in ds:
            summary["species"][str(s)]["D_GK"] = float(ds.D_GK.sel(species=s))
    from ..analysis.bound_atoms import check_bound
    from ..analysis.cage_diffusion import MIN_JUMPS, demote_if_caged
    from ..carriers import MOBILE_IONS

    cage = _cage_summary(traj, trajectory, dt, fmt, cages) if "Li" in summary["species"] else None
    if cages and cage is None:
        raise InputError("--cages needs Li among the analysed species (--species Li)")
    if cage is not None:
        # (almost) no Li left its cage: the plain MSD's slope is mostly motion inside the cages, not long-range D
        cage["plain_D_is_intra_cage"] = cage["cage_changes"] < MIN_JUMPS
        summary["cage_diffusion"] = cage
        summary["species"]["Li"] = demote_if_caged(summary["species"]["Li"], cage, "diffusive_regime_found")
    carriers = [s for s in ds.species.values if s in MOBILE_IONS]
    # S of a reorienting PS4 (bound to a P that does not diffuse) is not diffusive: its MSD is bounded
    summary["species"] = check_bound(traj, summary["species"], carriers, "diffusive_regime_found")
    mobile = sp or carriers
    temp = temperature if temperature is not None else traj.metadata.get("temperature")
    cond = None
    if mobile and temp is not None:
        resolve_charges(list(mobile), q)
        cond = conductivity(
            traj, list(mobile), temp, q, max_lag=max_lag, t_stop=t_stop, tracer=ds.sel(species=list(mobile))
        )
        # σ and σ_NE are fitted over the tracer's range: a carrier without a diffusive regime gives no conductivity
        diffusive = all(summary["species"][str(s)]["diffusive_regime_found"] for s in mobile)
        summary.update(conductivity_fields(cond, diffusive))
        summary.update(
            nonnegative_fields(float(cond["D_sigma"]), float(cond["D_sigma_err"]), "D_sigma", regime_ok=diffusive)
        )
        summary["temperature"] = float(temp)
        summary["conductivity_from_diffusive_regime"] = summary.pop("from_diffusive_regime")
    else:
        summary.update(sigma=None, sigma_err=None, sigma_NE=None, sigma_NE_err=None, haven_ratio=None)
        if mobile:
            print("superionic: note: temperature unknown; give --temperature K for the conductivity", file=sys.stderr)
    if len(ds.species) == 1 or (sp and len(sp) == 1):
        first = summary["species"][str(ds.species.values[0])]
        summary.update({k: v for k, v in first.items() if k.startswith("D") and not k.startswith("D_GK")})
    if out:
        merged = ds
        if cond is not None:
            merged = ds.merge(cond.drop_vars(["D", "D_err"]).rename({"time": "time"}), compat="override")
        save_dataset(merged, out)
    if plot:
        from ..report.figures_diffusion import plot_msd

        save_figure(plot_msd(ds), plot)
    if as_json:
        print_json(summary)
        return
    typer.echo(f"Diffusion from {traj!r}")
    for s, v in summary["species"].items():
        flag = "" if v["diffusive_regime_found"] else "  (no clear diffusive regime!)"
        if v.get("bound_to"):
            flag = f"  (not diffusive: {v['bound_fraction']:.0%} bound to {', '.join(v['bound_to'])} throughout)"
        typer.echo(
            f"  {s:>3}: D = {positive_text(*fit_value(v), 'cm²/s', digits=4)}  "
            f"(fit {v['fit_range_fs'][0]:g}–{v['fit_range_fs'][1]:g} fs){flag}"
        )
    if cond is not None:
        typer.echo(
            f"  σ = {positive_text(*fit_value(summary, 'sigma'), 'mS/cm', digits=4)}, "
            f"σ_NE = {positive_text(*fit_value(summary, 'sigma_NE'), 'mS/cm', digits=4)}, "
            f"H_R = {resolved_text(*fit_value(summary, 'haven_ratio'))}  (T = {temp:g} K)"
            + (
                ""
                if summary["conductivity_from_diffusive_regime"]
                else "  (not a conductivity: a carrier has no clear diffusive regime!)"
            )
        )
    if cage is not None:
        c = summary["cage_diffusion"]
        if c["cage_changes"] == 0:
            typer.echo("   Li: D (cage-to-cage MSD): none (0 cage changes: every Li stayed in its cage)")
        else:
            typer.echo(
                f"   Li: D (cage-to-cage MSD) = {positive_text(*fit_value(c), 'cm²/s', digits=4)}  "
                f"({c['cage_changes']} cage changes; {'resolved' if c['resolved'] else 'not resolved'})"
            )
        if c["plain_D_is_intra_cage"]:
            n = c["cage_changes"]
            what = "no Li changed cage" if n == 0 else f"only {n} Li cage change{'s' if n > 1 else ''} (fewer than 10)"
            typer.echo(
                f"        {what} in this run: the plain-MSD slope of Li above is mostly motion inside the cages, "
                "not long-range diffusion (Li is not called diffusive; run longer or hotter)"
            )
    if out:
        typer.echo(f"wrote {out}")
    if plot:
        typer.echo(f"wrote {plot}")


def _cage_summary(src, trajectory: Path, dt: float | None, fmt: str | None, cages: bool | None) -> dict | None:
    """Li's cage-to-cage D and cage changes (`analysis.cage_diffusion`) of a Li argyrodite. cages None: only when
    `src` (the opened trajectory) looks like one and has at most AUTO_CAGE_VALUES atom-frames, else None (with a
    note when it is only too large); True: refuses a trajectory that is not one; False: None.
    """
    from ..analysis.cage_diffusion import argyrodite_composition, cage_diffusion, cage_sites, cage_summary
    from ..trajectory.blocks import TrajectorySource
    from ..trajectory.io import read_trajectory

    if cages is False:
        return None
    if cages is None:
        if not argyrodite_composition(src):  # not Li6PS5X: no cages to count
            return None
        if src.n_frames * src.n_atoms > AUTO_CAGE_VALUES:
            print(
                f"superionic: note: Li cage changes not counted ({src.n_frames} frames × {src.n_atoms} atoms is "
                "too large to read whole by default); give --cages to count them",
                file=sys.stderr,
            )
            return None
    traj = src.traj if isinstance(src, TrajectorySource) else read_trajectory(trajectory, dt=dt, format=fmt)
    sites = cage_sites(traj, "Li")
    if sites is None:
        if cages:
            raise InputError(
                "--cages needs a Li argyrodite (Li6PS5X: 6 Li per P, the 4b template matching the P positions); "
                "this trajectory is not one"
            )
        return None
    return cage_summary(cage_diffusion(traj, sites, "Li"))
