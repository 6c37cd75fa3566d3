"""`superionic kappa`: Green–Kubo thermal conductivity from the heat flux of LAMMPS runs."""

from __future__ import annotations

import math
from pathlib import Path

import typer

from ..errors import InputError
from .app import app
from .common import OVERWRITE_HELP, check_outputs, positive, print_json

_METHOD_HELP = (
    "Virial part of the heat flux: auto (LAMMPS centroid/stress/atom where the pair style has it, else the exact "
    "SNAP form built from the pair derivatives of the SNAP atomic energies), centroid, snap-centroid, or "
    "pairwise-split (LAMMPS stress/atom: exact for pair potentials only, wrong for many-body ones; for comparison)."
)


@app.command("kappa")
def kappa_cmd(
    material: str | None = typer.Argument(
        None,
        help="A library material (Li6PS5Cl, …; parameters as Li6PS5Cl:exchange=0.25) or a structure file. "
        "Not needed with --analyze-only.",
    ),
    potential: str = typer.Option(
        "li6ps5cl-snap", "--potential", help="LAMMPS potential: a shipped name or a .lammps.json file."
    ),
    temperature: float = typer.Option(300.0, "--temperature", "-T", help="Temperature in K."),
    supercell: str = typer.Option("1x1x1", "--supercell", help="Repeat the cell: 2x2x2, or by size: 200atoms, 12A."),
    runs: int = typer.Option(
        4, "--runs", min=1, help="Independent NVE runs (seeds --seed, +1, …); their scatter is one error bar."
    ),
    steps: int = typer.Option(50_000, "--steps", help="NVE production steps per run."),
    dt: float = typer.Option(2.0, "--dt", help="Time step in fs."),
    equilibration: int = typer.Option(
        5000, "--equilibration", help="NVT steps (CSVR thermostat) before each run's NVE production."
    ),
    sample_every: int = typer.Option(5, "--sample-every", help="Steps between heat-flux samples."),
    seed: int = typer.Option(1, "--seed", help="Seed of the first run (velocities and thermostat)."),
    method: str = typer.Option("auto", "--method", help=_METHOD_HELP),
    out_dir: Path = typer.Option(
        Path("kappa"), "--out-dir", "-o", help="Folder of the runs (flux_run<k>.nc) and of kappa.nc."
    ),
    analyze_only: bool = typer.Option(
        False, "--analyze-only", help="Analyse the flux_run<k>.nc already in --out-dir; run no MD."
    ),
    t_max: float | None = typer.Option(
        None,
        "--t-max",
        help="Integration time in ps at which the running integral κ(t) is read (default: the first lag where the "
        "envelope of the mean heat-flux autocorrelation is down to twice its noise).",
    ),
    f_cut: float | None = typer.Option(
        None,
        "--f-cut",
        help="Cut-off frequency f* in THz of the cepstral analysis (default: automatic, the lowest f* whose "
        "frequencies give log κ a 2 % floor error; see docs/thermal_conductivity.md).",
    ),
    decorrelate: str = typer.Option(
        "auto",
        "--decorrelate",
        help="Species (comma list) whose number flux the heat flux is decorrelated from (multicomponent Green–Kubo); "
        "auto = Li where Li is one of several species, none = no decorrelation.",
    ),
    plot: Path | None = typer.Option(None, "--plot", help="Figure file (png, pdf, svg): κ(t) and the flux spectrum."),
    overwrite: bool = typer.Option(False, "--overwrite", help=OVERWRITE_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print a machine-readable summary on stdout."),
) -> None:
    """Thermal conductivity κ in W/(m·K) by Green–Kubo from the heat flux of LAMMPS runs: NVT equilibration (CSVR),
    NVE production, the heat flux J (eV·Å/fs) sampled every --sample-every steps and split into its convective
    part Σ e_i v_i and its virial (conduction) part; κ = 1/(V k_B T²) ∫⟨J_x(0)J_x(t)⟩dt. Reported: the running
    integral read at --t-max (error: standard error over the independent runs), the cepstral estimate (Ercole,
    Marcolongo, Baroni 2017; Akaike choice of the number of coefficients; error: its log-normal σ) and the split
    κ = conduction + convection + cross. Writes --out-dir/flux_run<k>.nc and --out-dir/kappa.nc
    (docs/thermal_conductivity.md).
    """
    from ..lattice.green_kubo import kappa_summary
    from ..lattice.heat_flux import METHODS, HeatFluxSettings
    from ..lattice.heat_transport import KAPPA_NAME, flux_runs, kappa_figure, load_flux_runs, thermal_conductivity
    from ..results import save_figure

    positive(temperature, "--temperature", "K")
    positive(dt, "--dt", "fs")
    positive(t_max, "--t-max", "ps")
    positive(f_cut, "--f-cut", "THz")
    if method not in METHODS:
        raise InputError(f"--method must be one of {', '.join(METHODS)}, got {method!r}")
    kappa_path = out_dir / KAPPA_NAME
    check_outputs([("kappa.nc", kappa_path, "netcdf"), ("--plot", plot, "plot")], [], overwrite)
    log = (lambda text: typer.echo(text, err=True)) if as_json else typer.echo
    if not analyze_only:
        if material is None:
            raise InputError("give a material (or --analyze-only to analyse the runs already in --out-dir)")
        from ..materials import build_material

        atoms = build_material(material, supercell)
        settings = HeatFluxSettings(
            temperature=temperature,
            dt=dt,
            equilibration_steps=equilibration,
            steps=steps,
            sample_every=sample_every,
            seed=seed,
        )
        settings.validate()
        log(
            f"{len(atoms)} atoms of {atoms.get_chemical_formula()} with {potential} at {temperature:g} K: {runs} runs of "
            f"{equilibration} NVT + {steps} NVE steps of {dt:g} fs ({steps * dt / 1000:g} ps each), flux every "
            f"{sample_every} steps"
        )
        last = {"k": -1}

        def progress(k: int, step: int, total: int, temp: float) -> None:
            if k != last["k"] or step == total or step % max(1, total // 5) < max(1, total // 20):
                last["k"] = k
                typer.echo(f"  run {k}: {step}/{total} steps, T = {temp:.0f} K", err=True)

        flux_runs(
            atoms,
            potential,
            settings,
            out_dir,
            runs=runs,
            method=method,
            overwrite=overwrite,
            progress=progress,
            metadata={"material": str(atoms.info.get("material", material)), "supercell": supercell},
        )
    data = load_flux_runs(out_dir)
    species = [str(s) for s in data[0]["species"].values]
    if decorrelate == "auto":
        dec = ["Li"] if "Li" in species and len(species) > 1 else []
    elif decorrelate.strip().lower() in ("none", ""):
        dec = []
    else:
        dec = [s.strip() for s in decorrelate.split(",") if s.strip()]
    ds = thermal_conductivity(data, kappa_path, t_max_ps=t_max, f_cut_THz=f_cut, decorrelate=dec or None)
    if plot is not None:
        save_figure(kappa_figure(ds), plot)
    s = kappa_summary(ds)
    s.update(out=str(kappa_path), plot=None if plot is None else str(plot))
    if as_json:
        print_json(s)
        return
    _print(s, ds)
    for p in (kappa_path, plot):
        if p is not None:
            typer.echo(f"wrote {p}")


def _pm(v: float, e: float) -> str:
    return f"{v:.3g} ± {e:.2g}" if math.isfinite(e) else f"{v:.3g}"


def _print(s: dict, ds) -> None:
    c = s["cepstral"]
    typer.echo(
        f"{ds.attrs.get('formula', '')} ({ds.attrs.get('n_atoms', '?')} atoms) at {s['temperature_K']:g} K: "
        f"{s['n_runs']} runs of {s['run_length_ps']:.4g} ps, heat flux by {ds.attrs.get('method', '?')}"
    )
    typer.echo(
        f"κ (cepstral)           = {_pm(s['kappa_cepstral'], s['kappa_cepstral_err'])} W/(m·K)   "
        f"[P* = {c['n_coefficients']}, f* = {c['f_cut_THz']:.3g} THz, {c['ell']} flux components]"
    )
    if "kappa_decorrelated" in s:
        typer.echo(
            f"κ (decorrelated from {', '.join(s['decorrelated_from'])} flux) = "
            f"{_pm(s['kappa_decorrelated'], s['kappa_decorrelated_err'])} W/(m·K)"
        )
    typer.echo(
        f"κ (running integral at t = {s['t_max_ps']:.3g} ps) = {_pm(s['kappa_gk'], s['kappa_gk_err'])} W/(m·K)  "
        f"[{s['error_from']}]"
    )
    typer.echo(
        f"  conduction (virial) {_pm(s['kappa_conduction_gk'], s['kappa_conduction_gk_err'])}, "
        f"convection {_pm(s['kappa_convection_gk'], s['kappa_convection_gk_err'])}, "
        f"cross {_pm(s['kappa_cross_gk'], s['kappa_cross_gk_err'])} W/(m·K)"
    )
    runs = s.get("kappa_cepstral_per_run", [])
    if len(runs) > 1:
        typer.echo(
            "  per run (cepstral): "
            + ", ".join(f"{v:.3g}" for v in runs)
            + f" W/(m·K); scatter of their mean {s['kappa_cepstral_run_scatter']:.2g}"
        )
