"""`superionic acoustic-damping`: frequency, damping and overdamping verdict of the host's acoustic modes."""

from __future__ import annotations

import math
from pathlib import Path

import typer

from ..carriers import MOBILE_IONS
from ..errors import InputError
from .app import app
from .common import OVERWRITE_HELP, check_outputs, parse_species, positive, print_json

_HELP = (
    "Damping of the host's acoustic phonons from its current correlations: are the long-wavelength vibrations of "
    "the framework overdamped? Needs no harmonic reference, so it holds where the mobile ions leave their sites "
    "(where `superionic nmd` leaves most verdicts undecided).\n\n"
    "The momentum current of the host atoms (every species that is not mobile) at the smallest commensurate |Q| "
    "shells of the MD cell is split into its longitudinal (L) and two transverse (T1, T2) parts; each correlation "
    "is fitted with a damped harmonic oscillator whose lag window is modelled, so Γ is not broadened by the "
    "resolution. Per shell and branch: ν₀ (THz), Γ (THz, FWHM; Langevin thermostat recorded by `superionic md` "
    "subtracted) with jackknife errors over wave vectors and time blocks, and the verdict OVERDAMPED when "
    "Γ/2 > ν₀ (undecided within 2σ).\n\n"
    "Example: superionic acoustic-damping results/quickstart/md/T550K/trajectory.h5 --out acoustic.nc --plot "
    "acoustic.png\n\n"
    "Writes a netCDF file (per-mode numbers, spectra and fits, units on every variable). docs/acoustic_damping.md: "
    "formulas, conventions, limits."
)


@app.command("acoustic-damping", help=_HELP)
def acoustic_damping_cmd(
    trajectory: Path = typer.Argument(
        ..., help="MD trajectory with velocities (H5MD of `superionic md`, extxyz, ASE .traj …)."
    ),
    species: str | None = typer.Option(
        None, "--species", help="Atoms that carry the phonon, comma-separated (default: every non-mobile species)."
    ),
    mobile: str = typer.Option(
        ",".join(MOBILE_IONS),
        "--mobile",
        help="Species counted as mobile and left out of the host (comma-separated).",
    ),
    shells: int = typer.Option(4, "--shells", help="Smallest commensurate |Q| shells fitted."),
    blocks: int = typer.Option(4, "--blocks", help="Time blocks of the jackknife (each gives the correlations)."),
    friction: float | None = typer.Option(
        None,
        "--friction",
        help="Langevin friction of the run in 1/fs, subtracted as γ/2π (default: as the trajectory records it).",
    ),
    dt: float | None = typer.Option(
        None, "--dt", help="Time between stored frames in fs (needed when the file does not carry it)."
    ),
    out: Path = typer.Option(Path("acoustic.nc"), "--out", "-o", help="netCDF file of the results."),
    plot: Path | None = typer.Option(None, "--plot", help="Figure file (png, pdf, svg): Γ/2 against ν₀, spectra."),
    overwrite: bool = typer.Option(False, "--overwrite", help=OVERWRITE_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print a machine-readable summary on stdout."),
) -> None:
    """Host acoustic damping of one MD run (the help text is _HELP)."""
    from ..lattice.acoustic_damping import acoustic_damping, acoustic_damping_summary, mode_verdict
    from ..report.figures_lattice import acoustic_damping_figure
    from ..results import positive_text, save_dataset, save_figure

    positive(dt, "--dt", "fs")
    if friction is not None and not friction >= 0:
        raise InputError(f"--friction must be ≥ 0 per fs, got {friction:g}")
    if shells < 1 or blocks < 1:
        raise InputError(f"--shells and --blocks must be ≥ 1, got {shells} and {blocks}")
    check_outputs([("--out", out, "netcdf"), ("--plot", plot, "plot")], [trajectory], overwrite)
    ds = acoustic_damping(
        trajectory,
        parse_species(species),
        tuple(parse_species(mobile) or ()),
        n_shells=shells,
        n_blocks=blocks,
        friction_per_fs=friction,
        dt=dt,
    )
    ds.attrs["trajectory"] = str(trajectory)
    save_dataset(ds, out)
    if plot is not None:
        save_figure(acoustic_damping_figure(ds), plot)
    s = acoustic_damping_summary(ds)
    s.update(trajectory=str(trajectory), out=str(out), plot=None if plot is None else str(plot))
    if as_json:
        print_json(s)
        return
    typer.echo(
        f"host {', '.join(s['species'])}: resolution {s['resolution_fwhm_THz']:.3g} THz FWHM (modelled, not in Γ); "
        f"thermostat Γ_L {s['thermostat_gamma_THz']:.3g} THz subtracted; "
        f"C(Q,0)/k_B = {s['current_temperature_K']:.0f} K"
    )
    typer.echo("  |Q| (1/Å)  branch  Q vectors  ν₀ (THz)          Γ_int (THz)                     verdict")
    for m in s["modes"]:
        nu0 = positive_text(m["nu0_THz"], m["nu0_err_THz"])  # never a value whose error exceeds it
        gamma = positive_text(m["gamma_intrinsic_THz"], m["gamma_err_THz"])
        typer.echo(
            f"  {m['q_per_A']:9.3f}  {m['branch']:6s}  {m['n_vectors']:9d}  {nu0:16s}  {gamma:30s}  {mode_verdict(m)}"
        )
    if math.isfinite(s["overdamped_fraction"]):
        typer.echo(
            f"overdamped fraction {positive_text(s['overdamped_fraction'], s['overdamped_fraction_err'])}, "
            f"{100 * s['undecided_fraction']:.0f} % undecided"
            + (
                f" ({100 * s['not_one_line_fraction']:.0f} % not one line, left out of the fraction)"
                if s["not_one_line_fraction"] > 0
                else ""
            )
        )
    else:
        typer.echo("no overdamped fraction: no spectrum is one DHO line")
    for key in ("out", "plot"):
        if s.get(key):
            typer.echo(f"wrote {s[key]}")
