"""`superionic analyze scattering`: F_s(Q,t), S(Q,E), QENS line widths Γ(Q) and jump-model fits."""

from __future__ import annotations

import math
from pathlib import Path

import typer

from ..errors import InputError
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
    print_gamma_models,
    print_json,
    renamed_option,
    save_dataset,
)


def parse_floats(text: str, name: str) -> list[float]:
    """The comma-separated numbers in `text`; InputError naming option `name` if one is not a number or none is."""
    try:
        vals = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise InputError(f"{name} must be comma-separated numbers, e.g. 0.5,1.0,1.5; got {text!r}") from None
    if not vals:
        raise InputError(f"{name} is empty")
    return vals


def _failed_fits_message(widths: dict) -> str:
    bad = [f"Q = {k} 1/Å: {v['failure']}" for k, v in widths["q"].items() if not v["fit_ok"]]
    return "; ".join(bad)


@analyze_app.command("scattering")
def scattering_cmd(
    trajectory: Path = typer.Argument(..., help="Trajectory file (H5MD from `superionic md`, extxyz, XDATCAR, …)."),
    q: str = typer.Option(..., "--q", help="Comma-separated |Q| values in 1/Å, e.g. 0.5,1.0,1.5 (powder average)."),
    species: str | None = typer.Option(None, "--species", "-s", help="Species to include (default: all)."),
    dt: float | None = typer.Option(None, "--dt", help="Time between stored frames in fs (when the file lacks it)."),
    fmt: str | None = typer.Option(None, "--format", help="ASE format name when it cannot be told from the file name."),
    max_lag: int | None = typer.Option(
        None, "--max-lag", help="Longest correlation time in frames (default: half the trajectory)."
    ),
    n_directions: int = typer.Option(24, "--n-directions", help="Q directions per |Q| for the powder average."),
    lag_window: str | None = typer.Option(None, "--lag-window", help=LAG_WINDOW_HELP),
    old_window: str | None = typer.Option(None, "--window", hidden=True, help="Old name of --lag-window."),
    resolution_fwhm: float | None = typer.Option(
        None, "--resolution-fwhm", help="Gaussian instrument resolution FWHM in meV (e.g. 0.0035 for backscattering)."
    ),
    isotopes: str | None = typer.Option(None, "--isotopes", help="Isotope choices for cross sections, e.g. Li=7Li."),
    temperature: float | None = typer.Option(
        None, "--temperature", help="Temperature in K (for detailed balance; default from the file)."
    ),
    detailed_balance: bool = typer.Option(
        False, "--detailed-balance", help="Multiply S by exp(E/2k_BT) (quantum correction)."
    ),
    fit_species: str | None = typer.Option(
        None, "--fit-species", help="Fit one species' self part instead of the neutron-weighted incoherent sum."
    ),
    n_lorentzians: int = typer.Option(1, "--n-lorentzians", help="Quasi-elastic Lorentzians in the fit (1 or 2)."),
    fit_range: float | None = typer.Option(
        None, "--fit-range", help="Fit |E| ≤ this (meV); default 30× the effective resolution FWHM."
    ),
    out: Path | None = typer.Option(None, "--out", "-o", help="Write F_s, S(Q,E) and the fits to this netCDF file."),
    overwrite: bool = typer.Option(False, "--overwrite", help=OVERWRITE_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print a machine-readable summary on stdout."),
) -> None:
    """Self intermediate scattering, S(Q,E) with resolution, QENS fits per Q and Γ(Q) jump models.

    Γ is the Lorentzian half width (meV); D is reported in cm²/s for the Fick, Chudley–Elliott,
    Singwi–Sjölander and Hall–Ross models.
    """
    import xarray as xr

    from ..analysis.lag_windows import LAG_WINDOWS
    from ..analysis.qens import fit_qens_dataset, linewidth_summary, width_text
    from ..analysis.scattering import dynamic_structure_factor, self_intermediate_scattering_from_file
    from ..trajectory.blocks import TrajectorySource, open_trajectory

    positive(dt, "--dt")
    positive(resolution_fwhm, "--resolution-fwhm")
    positive(fit_range, "--fit-range")
    positive(temperature, "--temperature")
    at_least(n_directions, 1, "--n-directions")
    lag_window = renamed_option(lag_window, old_window, "--lag-window", "--window") or "hann"
    one_of(lag_window, LAG_WINDOWS, "--lag-window")
    if n_lorentzians not in (1, 2):
        raise InputError(f"--n-lorentzians must be 1 or 2, got {n_lorentzians}")
    qv = parse_floats(q, "--q")
    bad_q = [x for x in qv if not (math.isfinite(x) and x > 0)]
    if bad_q:
        raise InputError(f"--q values must be positive |Q| in 1/Å, got {', '.join(f'{x:g}' for x in bad_q)}")
    iso = parse_mapping(isotopes, "--isotopes")
    check_outputs([("--out", out, "netcdf")], [trajectory], overwrite)
    traj = open_trajectory(trajectory, dt, fmt)  # H5MD: checked once, then read in pieces (bounded memory)
    if isinstance(traj, TrajectorySource):  # formats ASE reads are read whole: refuse non-finite frames
        check_finite(traj.traj, trajectory)
    sp = parse_species(species)
    traj.species_list(sp)
    if fit_species is not None and fit_species not in (sp or traj.species):
        raise InputError(
            f"--fit-species {fit_species!r} is not among the analysed species {', '.join(sp or traj.species)}"
        )
    check_max_lag(traj, max_lag)
    check_isotopes(iso, traj)
    fqt = self_intermediate_scattering_from_file(traj, qv, sp, n_directions=n_directions, max_lag=max_lag, isotopes=iso)
    if temperature is not None:
        fqt.attrs["temperature"] = temperature
    sqe = dynamic_structure_factor(
        fqt,
        ["F_s", "F_inc"],
        lag_window=lag_window,
        resolution=resolution_fwhm,
        temperature=temperature,
        detailed_balance=detailed_balance,
        pad=4,
    )
    if fit_species:
        if fit_species not in list(sqe.species.values):
            raise InputError(
                f"--fit-species {fit_species!r} is not among the analysed species "
                f"{', '.join(map(str, sqe.species.values))}"
            )
        spec = sqe[["S_s", "S_s_err", "resolution"]].sel(species=fit_species).drop_vars("species")
        var = "S_s"
    else:
        spec, var = sqe, "S_inc"
    e_max = float(abs(sqe.energy.values).max())
    if fit_range is not None and fit_range > e_max:
        raise InputError(
            f"--fit-range {fit_range:g} meV exceeds the spectrum, which ends at ±{e_max:.4g} meV "
            f"(set by the frame spacing {traj.dt:g} fs)"
        )
    erange = min(fit_range or 30 * sqe.attrs["effective_resolution_fwhm_meV"], e_max)
    spec = spec.sel(energy=slice(-erange, erange))
    fits = fit_qens_dataset(spec, var, n_lorentzians=n_lorentzians)
    widths = linewidth_summary(fits, n_lorentzians)
    if not any(v["fit_ok"] for v in widths["q"].values()):
        raise InputError(
            f"no Q gave a line width inside the fit range |E| ≤ {erange:.3g} meV "
            f"({_failed_fits_message(widths)}); use smaller --q or a larger --fit-range"
        )
    if out:
        res = xr.merge(
            [
                fqt.drop_vars(["F_inc_blocks", "F_s_blocks"]),
                sqe.rename({"resolution": "resolution_effective"}),
                fits.rename({k: k if k.startswith("fit_") else f"fit_{k}" for k in fits.data_vars}),
            ],
            combine_attrs="drop_conflicts",
        )
        res.attrs["gamma_models"] = widths["models"]
        res.attrs["fit_variable"] = var
        save_dataset(res, out)
    summary = {
        "trajectory": str(trajectory),
        "fitted": fit_species or "neutron-weighted incoherent sum",
        "resolution_fwhm_meV": resolution_fwhm,
        "effective_resolution_fwhm_meV": sqe.attrs["effective_resolution_fwhm_meV"],
        "fit_range_meV": [-erange, erange],
        **widths,
    }
    warnings = []
    failed = _failed_fits_message(widths)
    if failed:
        warnings.append(f"fit failed, left out of the Γ(Q) models: {failed}")
    if fit_species and not summary.get("models_refused"):
        from ..analysis.diffusion import diffusion_from_file
        from ..analysis.qens import compare_with_tracer

        dd = diffusion_from_file(traj, [fit_species]).sel(species=fit_species)
        warnings += compare_with_tracer(summary, float(dd.D), float(dd.D_err), fit_species)
    if warnings:
        summary["warnings"] = warnings
        if not as_json:
            for w in warnings:
                typer.echo(f"warning: {w}", err=True)
    if as_json:
        print_json(summary)
        return
    typer.echo(f"S(Q,E) of {traj!r}; effective resolution {summary['effective_resolution_fwhm_meV']:.4g} meV FWHM")
    for k, v in summary["q"].items():
        typer.echo(f"  Q = {k:>5} 1/Å: {width_text(v)}")
    print_gamma_models(summary)
    if out:
        typer.echo(f"wrote {out}")
