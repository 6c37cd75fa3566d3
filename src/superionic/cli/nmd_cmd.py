"""`superionic nmd`: normal-mode decomposition of an MD run: per-mode frequency, linewidth, overdamping."""

from __future__ import annotations

import math
from pathlib import Path

import typer

from ..errors import InputError
from .app import app
from .common import OVERWRITE_HELP, check_outputs, positive, print_json

_HELP = (
    "Normal-mode decomposition (NMD): how long each phonon of the MD cell lives, and which are overdamped.\n\n"
    "The MD velocities are projected on the harmonic eigenvectors of the MD cell (every q the cell can carry); "
    "each mode's kinetic-energy spectrum is estimated (Welch, Hann segments) and fitted with a damped harmonic "
    "oscillator (DHO). Per mode: ν₀ (THz, the renormalised frequency), Γ (THz, full width at half maximum of the "
    "line; the mode's energy lives 1/(2πΓ)), their errors, and the verdict OVERDAMPED when Γ/2 > ν₀. Widths "
    "below a tenth of the resolution (set by --segment) are upper bounds, never numbers. A Langevin thermostat "
    "of friction γ (recorded by `superionic md`) widens every line by γ/2π: it is subtracted.\n\n"
    "Harmonic reference: by default frame --frame of the run, relaxed with the run's potential (or --potential), "
    "and its Hessian (LAMMPS dynamical_matrix for the fast LAMMPS potentials, central differences otherwise). "
    "Or --phonons FILE: a phonopy yaml with force constants, or the netCDF of `superionic phonons` (its force "
    "constants are recomputed with the potential it records).\n\n"
    "Example: superionic nmd results/quickstart/md/T550K/trajectory.h5 --segment 2.5 --out nmd.nc --plot nmd.png"
    "\n\n"
    "Writes a netCDF file (per-mode results and spectra, units on every variable) and, with --plot, the damping "
    "map and the fraction of overdamped modes per frequency band (--compare adds earlier results: the fraction "
    "against temperature). docs/nmd.md: formulas, conventions, limits."
)


@app.command("nmd", help=_HELP)
def nmd_cmd(
    trajectory: Path = typer.Argument(
        ..., help="MD trajectory with velocities (H5MD of `superionic md`, extxyz, ASE .traj …)."
    ),
    potential: str | None = typer.Option(
        None,
        "--potential",
        help="Potential of the harmonic reference (registered name, see `superionic potentials`; default: the one "
        "the trajectory records).",
    ),
    phonons: Path | None = typer.Option(
        None,
        "--phonons",
        help="Harmonic reference from a file instead: phonopy yaml with force constants, or a `superionic phonons` "
        "netCDF file.",
    ),
    frame: int = typer.Option(0, "--frame", help="Frame (0-based) relaxed into the reference structure."),
    relax: bool = typer.Option(
        True, "--relax/--no-relax", help="Relax that frame first (the harmonic expansion needs a minimum)."
    ),
    fmax: float = typer.Option(1e-3, "--fmax", help="Relaxation target: max |F| in eV/Å."),
    segment: float | None = typer.Option(
        None,
        "--segment",
        help="Welch segment length in ps (default: an eighth of the run). Longer: finer resolution "
        "(FWHM ≈ 1.44/segment THz), fewer segments, noisier spectra.",
    ),
    skip: float = typer.Option(0.0, "--skip", help="Leave out the first SKIP ps of the run (equilibration)."),
    dt: float | None = typer.Option(
        None, "--dt", help="Time between stored frames in fs (needed when the file does not carry it)."
    ),
    fmt: str | None = typer.Option(None, "--format", help="ASE format name when it cannot be told from the file name."),
    friction: float | None = typer.Option(
        None,
        "--friction",
        help="Langevin friction of the run in 1/fs, subtracted from every width as γ/2π (default: as the "
        "trajectory records it; 0: none).",
    ),
    follow_hops: bool = typer.Option(
        True,
        "--follow-hops/--no-follow-hops",
        help="Project on each site the velocity of the atom on it in that frame, so that an ion that hopped is "
        "projected where it now vibrates (--no-follow-hops: every atom stays on its site of the reference frame).",
    ),
    band_width: float = typer.Option(1.0, "--band-width", help="Width in THz of the frequency bands of the fraction."),
    compare: list[Path] | None = typer.Option(
        None,
        "--compare",
        help="An earlier `superionic nmd` netCDF result (other temperature) to draw and tabulate beside this run; "
        "repeatable.",
    ),
    kappa: bool = typer.Option(
        False,
        "--kappa",
        help="Also the thermal conductivity of the modes, W/(m·K): the phonon gas (1/3V) Σ c v_g² τ with "
        "τ = 1/(2πΓ), and the coherences between modes closer than their widths (docs/nmd.md); with and without "
        "the overdamped modes.",
    ),
    quantum: bool = typer.Option(
        False, "--quantum", help="With --kappa: quantum heat capacities (default classical, k_B per mode, as in MD)."
    ),
    out: Path = typer.Option(Path("nmd.nc"), "--out", "-o", help="netCDF file of the results."),
    plot: Path | None = typer.Option(None, "--plot", help="Figure file (png, pdf, svg): damping map and fractions."),
    overwrite: bool = typer.Option(False, "--overwrite", help=OVERWRITE_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print a machine-readable summary on stdout."),
) -> None:
    """Normal-mode decomposition of one MD run (the help text is _HELP)."""
    import numpy as np
    import xarray as xr

    from ..lattice.nmd import (
        nmd,
        nmd_figure,
        nmd_summary,
        overdamped_fraction,
        reference_from_frame,
        reference_from_phonons_file,
    )
    from ..results import save_dataset, save_figure
    from ..trajectory.blocks import TrajectorySource, open_trajectory
    from .common import check_finite

    positive(dt, "--dt")
    positive(fmax, "--fmax", "eV/Å")
    positive(segment, "--segment", "ps")
    positive(band_width, "--band-width", "THz")
    if not (math.isfinite(skip) and skip >= 0):
        raise InputError(f"--skip must be ≥ 0 ps, got {skip:g}")
    if friction is not None and not (math.isfinite(friction) and friction >= 0):
        raise InputError(f"--friction must be ≥ 0 per fs, got {friction:g}")
    if frame < 0:
        raise InputError(f"--frame counts from 0, got {frame}")
    if phonons is not None and not phonons.is_file():
        raise InputError(f"--phonons {phonons}: file not found")
    earlier = []
    for c in compare or []:
        if not c.is_file():
            raise InputError(f"--compare {c}: file not found; give a netCDF file written by `superionic nmd`")
        try:
            ds_c = xr.load_dataset(c)
        except Exception as err:
            raise InputError(f"--compare {c}: not a readable netCDF file ({err})") from None
        if ds_c.attrs.get("analysis") != "nmd":
            raise InputError(f"--compare {c} is not a result of `superionic nmd`")
        earlier.append(ds_c)
    inputs = [trajectory, phonons, *(compare or [])]
    check_outputs([("--out", out, "netcdf"), ("--plot", plot, "plot")], inputs, overwrite)

    def log(text: str) -> None:  # progress on stderr: stdout stays the result (or the JSON)
        typer.echo(text, err=True)

    src = open_trajectory(trajectory, dt, fmt)
    try:
        if isinstance(src, TrajectorySource):
            check_finite(src.traj, trajectory)
        src.require_velocities()
        start = int(round(skip * 1e3 / src.dt))
        if start >= src.n_frames - 16:
            raise InputError(
                f"--skip {skip:g} ps leaves {max(src.n_frames - start, 0)} of the {src.n_frames} frames "
                f"({src.n_frames * src.dt / 1e3:g} ps): too few"
            )
        if frame >= src.n_frames:
            raise InputError(f"--frame {frame}: the trajectory has {src.n_frames} frames")
        shown: dict[str, int] = {}

        def progress(stage: str, i: int, n: int) -> None:
            step = max(1, n // 5)
            if stage in ("relax", "hessian"):
                log(f"  reference: {stage} …")
            elif i == n or i // step != shown.get(stage, -1):
                shown[stage] = i // step
                log(f"  {stage}: {i}/{n}")

        if phonons is not None:
            log(f"harmonic reference from {phonons} …")
            ref = reference_from_phonons_file(phonons, src, potential, progress=progress)
        else:
            log(f"harmonic reference: frame {frame}{' relaxed' if relax else ''}, Hessian of the MD cell …")
            ref = reference_from_frame(src, potential, frame=frame, relax=relax, fmax=fmax, progress=progress)
        log(f"projecting {src.n_frames - start} frames on {int(np.sum(ref.weight))} modes …")
        ds = nmd(
            src,
            ref,
            segment_ps=segment,
            start=start,
            friction_per_fs=friction,
            follow_hops=follow_hops,
            progress=progress,
        )
    finally:
        src.close()
    ds.attrs["trajectory"] = str(trajectory)
    if kappa:
        from ..lattice.phonon_gas import attach_kappa, phonon_gas_kappa

        log("thermal conductivity of the modes (velocity operator of the reference) …")
        ds = attach_kappa(ds, phonon_gas_kappa(ref, ds, quantum=quantum))
    save_dataset(ds, out)
    runs = [*earlier, ds]
    if plot is not None:
        save_figure(nmd_figure(runs, band_width=band_width), plot)
    summary = nmd_summary(ds, band_width=band_width)
    summary.update(
        trajectory=str(trajectory), reference=ref.source, out=str(out), plot=None if plot is None else str(plot)
    )
    if earlier:
        fr = overdamped_fraction(runs, band_width=band_width)
        summary["vs_temperature"] = [
            {
                "temperature_K": float(fr.temperature.values[r]),
                "fraction": float(fr.fraction_all.values[r]),
                "fraction_err": float(fr.fraction_all_err.values[r]),
            }
            for r in range(fr.sizes["run"])
        ]
    if as_json:
        print_json(summary)
        return
    _print(summary)


def _print(s: dict) -> None:
    typer.echo(
        f"{s['modes']} modes at {s['temperature_K']:g} K (kinetic {s['kinetic_temperature_K']:.0f} K), "
        f"{s['n_segments']} segments of {s['segment_ps']:g} ps: resolution {s['resolution_fwhm_THz']:.3g} THz FWHM, "
        f"widths below {s['gamma_min_THz']:.2g} THz unresolved"
    )
    typer.echo(f"reference: {s['reference']}")
    if s["follow_hops"]:
        typer.echo(f"hops followed: {s['site_changes']} changes of site (each site's velocity is its occupant's)")
    if s["thermostat_gamma_THz"] > 0:
        typer.echo(
            f"thermostat: Langevin, Γ_L = γ/2π = {s['thermostat_gamma_THz']:.3g} THz subtracted from every width"
        )
    typer.echo(
        f"fitted {s['fitted']}, width resolved {s['resolved']}, one DHO line within the noise {s['single_line']}; "
        f"median Γ {s['median_gamma_THz']:.3g} THz, median shift ν₀/ν_harmonic − 1 = {s['median_relative_shift']:+.1%}"
    )
    typer.echo(
        f"OVERDAMPED (Γ/2 > ν₀): {s['overdamped']} of {s['fitted']} modes, fraction "
        f"{s['overdamped_fraction']:.3f} ± {s['overdamped_fraction_err']:.3f}"
    )
    typer.echo("  band (THz)     modes  overdamped  fraction        undecided  one line")
    for b in s["bands"]:
        lo, hi = b["band_THz"]
        typer.echo(
            f"  {lo:5.1f}–{hi:<5.1f}  {b['modes']:7d}  {b['overdamped']:10d}  {b['fraction']:.3f} ± "
            f"{b['fraction_err']:.3f}  {b['undecided']:9d}  {b['single_line']:8d}"
        )
    if "kappa_total_W_mK" in s:
        typer.echo(
            f"thermal conductivity ({s['kappa_heat_capacity']}), W/(m·K): phonon gas {s['kappa_gas_W_mK']:.4g}, "
            f"+ coherences = {s['kappa_total_W_mK']:.4g}; without the overdamped modes: gas "
            f"{s['kappa_gas_underdamped_W_mK']:.4g}, total {s['kappa_total_underdamped_W_mK']:.4g}"
            + (
                f"; {s['kappa_unresolved_W_mK']:.3g} of it from unresolved widths (a lower bound)"
                if s["kappa_unresolved_W_mK"] > 0
                else ""
            )
        )
    for row in s.get("vs_temperature", []):
        typer.echo(
            f"  {row['temperature_K']:.0f} K: overdamped fraction {row['fraction']:.3f} ± {row['fraction_err']:.3f}"
        )
    for note in s["notes"]:
        typer.echo(f"note: {note}")
    for key in ("out", "plot"):
        if s.get(key):
            typer.echo(f"wrote {s[key]}")
