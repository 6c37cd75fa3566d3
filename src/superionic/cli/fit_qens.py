"""`superionic fit-qens`: fit a measured S(Q,E) with elastic line + Lorentzians ⊗ resolution; Γ(Q) models."""

from __future__ import annotations

import math
from pathlib import Path

import typer

from ..errors import InputError
from .app import app
from .common import OVERWRITE_HELP, check_outputs, one_of, print_gamma_models, print_json, save_dataset


@app.command("fit-qens")
def fit_qens_cmd(
    measured: Path = typer.Argument(..., help="Measured S(Q,E): Mantid NeXus (.nxs/.h5) or text columns Q E S dS."),
    resolution: Path = typer.Option(
        ..., "--resolution", help="Resolution file (vanadium or low-T run), same formats; per Q group or one spectrum."
    ),
    n_lorentzians: int = typer.Option(1, "--n-lorentzians", help="Quasi-elastic Lorentzians (1 or 2)."),
    emin: float | None = typer.Option(None, "--emin", help="Lowest energy transfer to fit, meV."),
    emax: float | None = typer.Option(None, "--emax", help="Highest energy transfer to fit, meV."),
    background: str = typer.Option("flat", "--background", help="Background: none, flat or linear."),
    fit_center: bool = typer.Option(False, "--fit-center", help="Fit a common shift of the elastic line."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Write the fit results to this netCDF file."),
    overwrite: bool = typer.Option(False, "--overwrite", help=OVERWRITE_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print a machine-readable summary on stdout."),
) -> None:
    """Γ(Q) (meV, half width) and EISF per Q of a measured spectrum, then Fick / Chudley–Elliott /
    Singwi–Sjölander / Hall–Ross fits of Γ(Q) with D in cm²/s.
    """
    from ..analysis.qens import fit_qens_dataset, linewidth_summary, width_text
    from ..neutron.measured import load_resolution, load_spectrum

    if n_lorentzians not in (1, 2):
        raise InputError(f"--n-lorentzians must be 1 or 2, got {n_lorentzians}")
    one_of(background, ("none", "flat", "linear"), "--background")
    for value, name in ((emin, "--emin"), (emax, "--emax")):
        if value is not None and not math.isfinite(value):
            raise InputError(f"{name} must be a finite energy in meV, got {value:g}")
    if emin is not None and emax is not None and emin >= emax:
        raise InputError(f"--emin ({emin:g} meV) must be below --emax ({emax:g} meV)")
    for path, name in ((measured, "measured spectrum"), (resolution, "--resolution")):
        if path.is_dir():
            raise InputError(f"{name} {path} is a folder, not a file")
    check_outputs([("--out", out, "netcdf")], [measured, resolution], overwrite)
    ds = load_spectrum(measured)
    res = load_resolution(resolution, q=ds.q.values)
    erange = None
    if emin is not None or emax is not None:
        erange = (emin if emin is not None else -float("inf"), emax if emax is not None else float("inf"))
        e = ds.energy.values
        if (emin is not None and emin >= e.max()) or (emax is not None and emax <= e.min()):
            raise InputError(f"--emin/--emax select no energies: the spectrum covers {e.min():.4g} … {e.max():.4g} meV")
    fits = fit_qens_dataset(
        ds, "S", res, n_lorentzians=n_lorentzians, background=background, fit_center=fit_center, energy_range=erange
    )
    widths = linewidth_summary(fits, n_lorentzians)
    failed = "; ".join(f"Q = {k} 1/Å: {v['failure']}" for k, v in widths["q"].items() if not v["fit_ok"])
    if not any(v["fit_ok"] for v in widths["q"].values()):
        raise InputError(
            f"no Q gave a line width inside the fitted energy range ({failed}); check --emin/--emax "
            "and the resolution file"
        )
    if out:
        fits.attrs["gamma_models"] = widths["models"]
        fits.attrs["source"] = str(measured)
        save_dataset(fits, out)
    summary = {
        "measured": str(measured),
        "resolution": str(resolution),
        **widths,
    }
    if failed:
        summary["warnings"] = [f"fit failed, left out of the Γ(Q) models: {failed}"]
        if not as_json:
            typer.echo(f"warning: {summary['warnings'][0]}", err=True)
    if as_json:
        print_json(summary)
        return
    typer.echo(f"QENS fits of {measured} with resolution {resolution}")
    for k, v in summary["q"].items():
        chi2 = f", χ²_red = {v['chi2_red']:.3g}" if v["fit_ok"] and v["gamma"] is not None else ""
        typer.echo(f"  Q = {k:>5} 1/Å: {width_text(v)}{chi2}")
    print_gamma_models(summary)
    if out:
        typer.echo(f"wrote {out}")
