"""`superionic analyze vdos`: vibrational density of states, its zero-frequency limit, GDOS."""

from __future__ import annotations

import math
from pathlib import Path

import typer

from ..errors import InputError
from ..results import positive_text
from .app import analyze_app
from .common import (
    LAG_WINDOW_HELP,
    OVERWRITE_HELP,
    at_least,
    check_finite,
    check_isotopes,
    check_max_lag,
    check_outputs,
    one_of,
    parse_mapping,
    parse_species,
    positive,
    print_json,
    renamed_option,
    save_dataset,
)


def _pair(text: str | None, name: str) -> tuple[float, float] | None:
    if not text:
        return None
    try:
        lo, hi = (float(x) for x in text.split(","))
    except ValueError:
        raise InputError(f"{name} takes two numbers 'low,high' (THz), got {text!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and 0 <= lo < hi):
        raise InputError(f"{name} must satisfy 0 ≤ low < high (THz), got {text!r}")
    return lo, hi


def _index(text: str, spec: str) -> int:
    try:
        i = int(text)
    except ValueError:
        raise InputError(
            f"--group {spec!r}: {text.strip()!r} is not an atom index (0-based integers, ranges like 0-15)"
        ) from None
    if i < 0:
        raise InputError(f"--group {spec!r}: atom indices start at 0, got {i}")
    return i


def _groups(specs: list[str] | None, traj) -> dict:
    groups = {}
    for spec in specs or []:
        if spec.strip().lower() == "ps4":
            from ..analysis.vdos import bonded_groups

            groups.update(bonded_groups(traj))
            continue
        if "=" not in spec:
            raise InputError(f"--group takes NAME=indices (e.g. S_PS4=0-15,20) or 'ps4', got {spec!r}")
        name, rng = spec.split("=", 1)
        if not name.strip():
            raise InputError(f"--group {spec!r} needs a name before '='")
        idx = []
        for part in rng.split(","):
            if part.strip().startswith("-"):
                raise InputError(f"--group {spec!r}: atom indices start at 0, got {part.strip()!r}")
            if "-" in part:
                a, _, b = part.partition("-")
                lo, hi = _index(a, spec), _index(b, spec)
                if hi < lo:
                    raise InputError(f"--group {spec!r}: the range {part.strip()!r} runs backwards")
                idx.extend(range(lo, hi + 1))
            elif part.strip():
                idx.append(_index(part, spec))
        if not idx:
            raise InputError(f"--group {spec!r} lists no atoms")
        if max(idx) >= traj.n_atoms:
            raise InputError(f"--group {spec!r}: atom index {max(idx)} is outside 0…{traj.n_atoms - 1}")
        groups[name.strip()] = idx
    return groups


def _verdict_line(v: dict) -> str:
    """g(0) verdict, law verdict and the combined class of one species, with units."""
    if v["g0_resolved"]:
        g0 = (
            f"g(0) = {v['g0']:.3g} ± {v['g0_err']:.2g} 1/THz (diffusive; D_from_g0 = {v['D_from_g0']:.3g} ± "
            f"{v['D_from_g0_err']:.2g} cm²/s)"
        )
    elif v.get("g0_status") == "consistent with zero":
        g0 = f"g(0) consistent with zero (< {v['g0_upper']:.2g} 1/THz, 2σ)"
    else:
        g0 = v["g0_reason"]
    if v["law"] == "unresolved":
        law = f"law unresolved ({v['law_reason']})"
    else:
        law = f"law {v['law']} (n = {v['exponent']:.2f} ± {v['exponent_err']:.2f})"
    return f"{g0}; {law}; class {v['classification']}"


@analyze_app.command("vdos")
def vdos_cmd(
    trajectory: Path = typer.Argument(
        ...,
        help="Trajectory file (H5MD from `superionic md`, extxyz, ASE .traj, XDATCAR …). Velocities are used when present, else derived from positions (with a warning).",
    ),
    species: str | None = typer.Option(
        None, "--species", "-s", help="Comma-separated species, e.g. Li,S (default: all)."
    ),
    group: list[str] | None = typer.Option(
        None,
        "--group",
        "-g",
        help="Extra atom group NAME=indices (0-based, ranges allowed: S_PS4=0-15,20), repeatable; 'ps4' splits S into PS4 and free S.",
    ),
    dt: float | None = typer.Option(
        None, "--dt", help="Time between stored frames in fs (needed when the file does not carry it)."
    ),
    fmt: str | None = typer.Option(None, "--format", help="ASE format name when it cannot be told from the file name."),
    max_lag: int | None = typer.Option(
        None,
        "--max-lag",
        help="Correlation length in frames (default: half the trajectory); sets the resolution ≈ 1/(max_lag·dt).",
    ),
    lag_window: str | None = typer.Option(None, "--lag-window", help=LAG_WINDOW_HELP),
    old_window: str | None = typer.Option(None, "--window", hidden=True, help="Old name of --lag-window."),
    fit_range: str | None = typer.Option(
        None,
        "--fit-range",
        help="Low-frequency fit range 'low,high' in THz (default: from the resolution and the spectrum).",
    ),
    old_fit_window: str | None = typer.Option(None, "--fit-window", hidden=True, help="Old name of --fit-range."),
    temperature: float | None = typer.Option(
        None,
        "--temperature",
        "-T",
        help="Temperature (K) for C_v and S_vib (default: nominal from the file, else kinetic).",
    ),
    isotopes: str | None = typer.Option(None, "--isotopes", help="Isotope choice for the neutron GDOS, e.g. Li=7Li."),
    resolution: float | None = typer.Option(
        None, "--resolution", help="Gaussian instrument resolution FWHM (meV) for the GDOS."
    ),
    atom_groups: int = typer.Option(8, "--atom-groups", help="Atom subsets per species for the bootstrap errors."),
    time_blocks: int = typer.Option(1, "--time-blocks", help="Time blocks for the bootstrap errors (more FFT work)."),
    n_boot: int = typer.Option(200, "--n-boot", help="Bootstrap resamples."),
    precision: str = typer.Option(
        "float64",
        "--precision",
        help="FFT precision: float64, or float32 (faster; ~1e-7 relative noise, below float32 trajectory data).",
    ),
    msd: bool = typer.Option(True, "--msd/--no-msd", help="Also report D from the MSD of unwrapped positions (D_msd)."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Write the spectra to this netCDF file."),
    gdos_out: Path | None = typer.Option(
        None, "--gdos-out", help="Write the neutron-weighted GDOS to this netCDF file."
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help=OVERWRITE_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print a machine-readable summary on stdout."),
) -> None:
    """VDOS g(ν) per species from the velocity autocorrelation (∫g dν = 1 per species, ν in THz) and two
    verdicts per species: (a) is g(0) > 0 resolved (the species diffuses; D = g(0)·<v²>/12, checked
    against the MSD) or consistent with zero (an upper bound is printed); (b) the low-frequency law
    g − g(0) ∝ νⁿ: linear (liquid-like, n ≈ 1), Debye (n ≈ 2), other or unresolved, measured above the
    lowest phonon of the cell (estimated from the host's current correlations). Also the band centre,
    C_v/S_vib and the neutron-weighted GDOS.
    """
    import warnings

    from ..analysis.lag_windows import LAG_WINDOWS
    from ..analysis.vdos import vdos_from_file, vdos_summary
    from ..neutron.gdos import gdos
    from ..trajectory.blocks import TrajectorySource, open_trajectory

    positive(dt, "--dt")
    positive(temperature, "--temperature")
    positive(resolution, "--resolution")
    for value, name, least in (
        (atom_groups, "--atom-groups", 1),
        (time_blocks, "--time-blocks", 1),
        (n_boot, "--n-boot", 2),
    ):
        at_least(value, least, name)
    lag_window = renamed_option(lag_window, old_window, "--lag-window", "--window") or "hann"
    one_of(lag_window, LAG_WINDOWS, "--lag-window")
    one_of(precision, ("float64", "float32"), "--precision")
    fit_range = renamed_option(fit_range, old_fit_window, "--fit-range", "--fit-window")
    pair = _pair(fit_range, "--fit-range")
    iso = parse_mapping(isotopes, "--isotopes")
    check_outputs([("--out", out, "netcdf"), ("--gdos-out", gdos_out, "netcdf")], [trajectory], overwrite)
    traj = open_trajectory(trajectory, dt, fmt)  # H5MD: checked once, then read in pieces (bounded memory)
    if isinstance(traj, TrajectorySource):  # formats ASE reads are read whole: refuse non-finite frames
        check_finite(traj.traj, trajectory)
    traj.species_list(parse_species(species))
    check_max_lag(traj, max_lag)
    groups = _groups(group, traj)
    check_isotopes(iso, traj)
    nyquist = 500.0 / traj.dt  # THz, dt in fs
    if pair is not None and pair[1] > nyquist:
        raise InputError(
            f"--fit-range {fit_range}: the spectrum ends at the Nyquist frequency {nyquist:.4g} THz "
            f"(1/(2·dt), dt = {traj.dt:g} fs)"
        )
    notes: list[str] = []
    msd_d: dict = {}
    bound_to: dict = {}
    if msd:
        from ..analysis.diffusion import diffusion_from_file

        try:  # best effort: short runs may have no diffusive fit range
            dd = diffusion_from_file(traj, parse_species(species))
            msd_d = {
                str(s): (
                    float(dd["D"].sel(species=s)),
                    float(dd["D_err"].sel(species=s)),
                    bool(dd["fit_range_ok"].sel(species=s)),
                )
                for s in dd.species.values
            }
        except (InputError, ValueError) as exc:
            notes.append(f"D_msd not available: {exc}")
        else:  # S of a reorienting PS4 (bound to a P that does not diffuse) is not diffusive
            from ..analysis.bound_atoms import check_bound
            from ..carriers import MOBILE_IONS

            entries = check_bound(
                traj,
                {s: {"D": d, "D_err": e, "ok": ok} for s, (d, e, ok) in msd_d.items()},
                [s for s in msd_d if s in MOBILE_IONS],
                "ok",
            )
            msd_d = {s: (d, e, entries[s]["ok"]) for s, (d, e, _) in msd_d.items()}
            bound_to = {s: entries[s]["bound_to"] for s in entries if "bound_to" in entries[s]}
    lowest = None
    if traj.has_velocities and fit_range is None:
        from ..analysis.finite_size import lowest_phonon_from_file

        try:
            lowest = lowest_phonon_from_file(traj)
        except InputError as exc:
            notes.append(
                f"lowest phonon of the cell not estimated ({exc}): the low-frequency law is not "
                "checked against the cell size"
            )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = vdos_from_file(
            traj,
            parse_species(species),
            max_lag=max_lag,
            lag_window=lag_window,
            groups=groups,
            atom_groups=atom_groups,
            time_blocks=time_blocks,
            precision=precision,
        )
        summary = vdos_summary(
            ds, temperature=temperature, fit_range=pair, n_boot=n_boot, lowest_phonon=lowest, msd_D=msd_d
        )
    notes += sorted({str(w.message) for w in caught})
    if not as_json:
        for note in notes:
            typer.echo(f"warning: {note}", err=True)
    for s, (d, d_err, ok) in msd_d.items():
        if s in summary["species"]:
            summary["species"][s].update(D_msd=d, D_msd_err=d_err, D_msd_diffusive_regime=ok)
            if s in bound_to:  # atoms bound to a centre that does not diffuse (analysis.bound_atoms)
                summary["species"][s]["D_msd_bound_to"] = bound_to[s]
    gd = gdos(ds, isotopes=iso, resolution_fwhm_mev=resolution)
    summary["gdos_weights"] = {s: float(gd.weight.sel(species=s)) for s in gd.species.values}
    summary["isotopes"] = iso
    summary["trajectory"] = str(trajectory)
    summary["warnings"] = notes
    if out:
        save_dataset(ds, out)
    if gdos_out:
        save_dataset(gd, gdos_out)
    if as_json:
        print_json(summary)
        return
    typer.echo(
        f"VDOS of {traj!r}; resolution {ds.attrs['resolution_fwhm_THz']:.3g} THz FWHM "
        f"({ds.attrs['resolution_fwhm_meV']:.3g} meV); velocities: {summary['velocities']}"
    )
    lp = summary.get("lowest_phonon")
    if lp:
        typer.echo(
            f"lowest phonon of this cell: {lp['nu_min_THz']:.3g} THz (v_T = {lp['v_T_m_s']:.0f} m/s; "
            f"{lp['method']}); the low-frequency law is measured above it"
        )
    for kind in ("species", "groups"):
        for s, v in summary[kind].items():
            typer.echo(f"  {s:>6}: {_verdict_line(v)}")
            line = f"          band centre {v['band_centre']:.1f} meV, T_kin = {v['kinetic_temperature']:.0f} K"
            if "D_msd" in v:
                line += f", D_msd {positive_text(v['D_msd'], v.get('D_msd_err', float('nan')), 'cm²/s')}"
                if v.get("D_msd_bound_to"):
                    line += f" (not diffusive: bound to {', '.join(v['D_msd_bound_to'])} throughout)"
                elif not v.get("D_msd_diffusive_regime", True) and v["D_msd"] > 2 * v.get("D_msd_err", 0.0):
                    line += " (no diffusive regime: not a D)"
            typer.echo(line)
    typer.echo(
        "  class: liquid-like = g(0) > 0 and a linear law together (the seed's definition); diffusive = "
        "g(0) > 0 only; Debye-like / linear = g(0) consistent with zero and that law"
    )
    typer.echo("GDOS weights: " + ", ".join(f"{k} {v:.2f}" for k, v in summary["gdos_weights"].items()))
    for p in (out, gdos_out):
        if p:
            typer.echo(f"wrote {p}")
