"""`superionic inm` (instantaneous normal modes of MD snapshots) and `superionic heat-capacity` (anharmonic C_v
of MD runs beside the harmonic and VDOS values, S_vib with 2PT).
"""

from __future__ import annotations

import math
from pathlib import Path

import typer

from ..errors import InputError
from .app import app
from .common import OVERWRITE_HELP, check_outputs, positive, print_json


def _window(text: str) -> tuple[float, float]:
    try:
        lo, hi = (float(x) for x in text.split(","))
    except ValueError:
        raise InputError(f"--window takes two numbers 'low,high' (THz), got {text!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and 0 <= lo < hi):
        raise InputError(f"--window must satisfy 0 ≤ low < high (THz), got {text!r}")
    return lo, hi


def _trajectory(run: Path) -> Path:
    """The trajectory of a run folder (its trajectory.h5) or a trajectory file as given."""
    if run.is_dir():
        p = run / "trajectory.h5"
        if not p.is_file():
            raise InputError(f"{run}: no trajectory.h5 in this folder; give a run folder of `superionic md`")
        return p
    if not run.is_file():
        raise InputError(f"{run}: no such run folder or trajectory file")
    return run


def _share(value: float, name: str) -> float:
    if not (math.isfinite(value) and 0 <= value < 1):
        raise InputError(f"{name} must be a share of the run in [0, 1), got {value:g}")
    return value


def _diffusion(traj: Path, species: str) -> tuple[float, float] | None:
    """D ± σ (cm²/s) of `species` from the MSD of the same trajectory; None when it has none of that species."""
    from ..analysis.diffusion import diffusion_from_file

    try:
        d = diffusion_from_file(traj, species=[species])
    except InputError:
        return None
    return float(d.D.sel(species=species)), float(d.D_err.sel(species=species))


@app.command("inm")
def inm_cmd(
    runs: list[Path] = typer.Argument(
        ...,
        help="Run folders of `superionic md` (or trajectory files: H5MD, extxyz …), one per temperature.",
    ),
    potential: str | None = typer.Option(
        None,
        "--potential",
        help="Potential for the Hessians: a registered name, a LAMMPS potential (.lammps.json) or a model file; "
        "default: the one the trajectory records.",
    ),
    method: str = typer.Option(
        "auto",
        "--method",
        help="auto (LAMMPS dynamical_matrix for a LAMMPS potential, else finite differences), lammps, or fd "
        "(central differences of the forces through the ASE calculator, for any potential).",
    ),
    snapshots: int = typer.Option(8, "--snapshots", "-n", help="Snapshots per run, spread evenly over it."),
    skip: float = typer.Option(0.0, "--skip", help="Share of each run left out at its start (0 … <1)."),
    displacement: float = typer.Option(0.005, "--displacement", help="Finite-difference step in Å."),
    threshold: float = typer.Option(
        0.05, "--threshold", help="A mode with ν < −threshold (THz) counts as unstable (imaginary)."
    ),
    bin_width: float = typer.Option(0.1, "--bin-width", help="Histogram bin of the INM density in THz."),
    window: str = typer.Option(
        "0,1.5", "--window", help="Low-ω window 'low,high' in THz for the law ρ(|ν|) ≈ a|ν|ⁿ on each branch."
    ),
    species: str = typer.Option(
        "Li", "--species", help="Diffusing species whose D (MSD of the same run) is put beside f_u."
    ),
    diffusion: bool = typer.Option(True, "--diffusion/--no-diffusion", help="Compute D beside f_u."),
    dt: float | None = typer.Option(None, "--dt", help="Time between frames in fs (files that do not carry it)."),
    out: Path = typer.Option(Path("inm.nc"), "--out", "-o", help="netCDF file of the results."),
    plot: Path | None = typer.Option(None, "--plot", help="Figure file (png, pdf, svg): INM density and f_u(T)."),
    overwrite: bool = typer.Option(False, "--overwrite", help=OVERWRITE_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print a machine-readable summary on stdout."),
) -> None:
    """Instantaneous normal modes: the Hessian of MD snapshots (LAMMPS dynamical_matrix or finite differences of
    any potential), mass-weighted and diagonalised with the three translations removed (3N − 3 modes). Writes the
    INM density ρ(ν) in 1/THz with imaginary frequencies on the negative axis (∫ρ dν = 3N − 3 per snapshot),
    its species projections, the unstable-mode fraction f_u ± standard error over snapshots, the low-ω law of
    each branch, and D of --species beside f_u. Several runs (temperatures) go into one file along a
    temperature dimension. Cost: 6N force evaluations per snapshot (416 atoms on li6ps5cl-snap: about 80 s).

    Example: superionic inm md/T400K md/T700K --snapshots 8 --plot inm.png
    """
    import numpy as np

    from ..lattice.inm import inm, inm_vs_temperature
    from ..results import save_dataset, save_figure

    if snapshots < 1:
        raise InputError(f"--snapshots must be at least 1, got {snapshots}")
    _share(skip, "--skip")
    positive(displacement, "--displacement", "Å")
    positive(bin_width, "--bin-width", "THz")
    if displacement >= 0.1:
        raise InputError(f"--displacement must be below 0.1 Å, got {displacement:g}")
    if not (math.isfinite(threshold) and threshold >= 0):
        raise InputError(f"--threshold must be ≥ 0 THz, got {threshold:g}")
    if method not in ("auto", "lammps", "fd"):
        raise InputError(f"--method must be auto, lammps or fd, got {method!r}")
    win = _window(window)
    trajs = [_trajectory(r) for r in runs]
    check_outputs([("--out", out, "netcdf"), ("--plot", plot, "plot")], trajs, overwrite)
    log = (lambda text: typer.echo(text, err=True)) if as_json else typer.echo
    results, dvals = [], []
    for run, traj in zip(runs, trajs):

        def report(k: int, n: int, seconds: float, _run=run) -> None:
            typer.echo(f"  {_run}: snapshot {k}/{n} ({seconds:.1f} s)", err=True)

        log(f"{run}: INM of {snapshots} snapshots …")
        ds = inm(
            traj,
            potential,
            n_snapshots=snapshots,
            skip=skip,
            method=method,
            displacement=displacement,
            threshold=threshold,
            bin_width=bin_width,
            window=win,
            dt=dt,
            progress=report,
        )
        if not math.isfinite(ds.attrs["temperature_K"]):
            raise InputError(f"{run}: the temperature is unknown (no metadata, no velocities)")
        ds.attrs["run"] = str(run)
        results.append(ds)
        dvals.append(_diffusion(traj, species) if diffusion else None)
    temps = [float(d.attrs["temperature_K"]) for d in results]
    if len(set(temps)) != len(temps):
        raise InputError(f"two runs at the same temperature ({temps}): give one run per temperature")
    table = inm_vs_temperature(results, dvals, species)
    if len(results) == 1:
        combined = results[0]
        for name in ("D", "D_err"):
            combined[name] = ((), float(table[name][0]), table[name].attrs)
    else:
        combined = _combine(results, table)
    save_dataset(combined, out)
    if plot is not None:
        save_figure(_figure(results, table), plot)
    summary = {
        "runs": [str(r) for r in runs],
        "potential": results[0].attrs["potential"].get("name")
        if isinstance(results[0].attrs["potential"], dict)
        else None,
        "method": results[0].attrs["method"],
        "n_atoms": results[0].attrs["n_atoms"],
        "n_modes": results[0].attrs["n_modes"],
        "threshold_THz": threshold,
        "window_THz": list(win),
        "temperatures": [
            {
                "temperature_K": float(t),
                "n_snapshots": int(table.n_snapshots.sel(temperature=t)),
                "f_u": float(table.f_u.sel(temperature=t)),
                "f_u_err": float(table.f_u_err.sel(temperature=t)),
                f"D_{species}_cm2_s": float(table.D.sel(temperature=t)),
                f"D_{species}_err_cm2_s": float(table.D_err.sel(temperature=t)),
                "exponent_real": float(table.exponent_real.sel(temperature=t)),
                "exponent_real_err": float(table.exponent_real_err.sel(temperature=t)),
                "exponent_imaginary": float(table.exponent_imaginary.sel(temperature=t)),
                "exponent_imaginary_err": float(table.exponent_imaginary_err.sel(temperature=t)),
                "unstable_weight": {
                    str(s): float(w) for s, w in zip(d.species.values, np.asarray(d.unstable_weight.values))
                },
                "seconds_per_snapshot": float(d.attrs["seconds_per_snapshot"]),
            }
            for t, d in zip(table.temperature.values, sorted(results, key=lambda x: x.attrs["temperature_K"]))
        ],
        "out": str(out),
        "plot": None if plot is None else str(plot),
    }
    if as_json:
        print_json(summary)
        return
    typer.echo(
        f"{summary['n_atoms']} atoms, {summary['n_modes']} modes per snapshot (translations removed); "
        f"{summary['method']}; unstable: ν < −{threshold:g} THz"
    )
    for row in summary["temperatures"]:
        d_text = ""
        if math.isfinite(row[f"D_{species}_cm2_s"]):
            d_text = f"   D_{species} = {row[f'D_{species}_cm2_s']:.3g} ± {row[f'D_{species}_err_cm2_s']:.2g} cm²/s"
        weights = ", ".join(f"{s} {w:.2f}" for s, w in row["unstable_weight"].items() if math.isfinite(w))
        typer.echo(
            f"T = {row['temperature_K']:g} K: f_u = {row['f_u']:.4f} ± {row['f_u_err']:.4f} "
            f"({row['n_snapshots']} snapshots){d_text}"
        )
        typer.echo(
            f"    low-ω law on {win[0]:g}–{win[1]:g} THz: n_real = {row['exponent_real']:.2f} ± "
            f"{row['exponent_real_err']:.2f}, n_imag = {row['exponent_imaginary']:.2f} ± "
            f"{row['exponent_imaginary_err']:.2f}; unstable-mode weight: {weights or 'no unstable mode'}"
        )
    for p in (out, plot):
        if p is not None:
            typer.echo(f"wrote {p}")


def _combine(results, table):
    """Several INM Datasets (same cell) along a temperature dimension, with D beside f_u."""
    import xarray as xr

    from .. import units

    n = {int(d.attrs["n_modes"]) for d in results}
    if len(n) != 1:
        raise InputError(f"the runs have different numbers of modes ({sorted(n)}): give runs of the same cell")
    ordered = sorted(results, key=lambda d: d.attrs["temperature_K"])
    pieces = []
    for d in ordered:
        keep = d.drop_vars("energy").reset_coords()  # frame and time (per snapshot) become variables
        keep["seconds"] = ((), float(d.attrs["seconds"]), {"units": "s", "long_name": "wall time of the INM"})
        pieces.append(keep.expand_dims(temperature=[float(d.attrs["temperature_K"])]))
    out = xr.concat(
        pieces,
        dim="temperature",
        join="outer",
        fill_value={"dos": 0.0, "dos_err": 0.0, "pdos": 0.0},
        combine_attrs="drop",
    )
    out["temperature"].attrs["units"] = "K"
    out = out.assign_coords(energy=("frequency", out.frequency.values * units.THZ_TO_MEV, {"units": "meV"}))
    out["D"] = ("temperature", table.D.values, table.D.attrs)
    out["D_err"] = ("temperature", table.D_err.values, table.D_err.attrs)
    out["frequency"].attrs.update(ordered[0]["frequency"].attrs)
    out["seconds"].attrs.update(units="s", long_name="wall time of the INM")
    keys = ("analysis", "n_modes", "threshold_THz", "bin_width_THz", "slope_window_THz", "normalisation", "method")
    out.attrs.update({k: ordered[0].attrs[k] for k in keys if k in ordered[0].attrs})
    out.attrs.update(
        potential=ordered[0].attrs["potential"],
        runs=[d.attrs.get("run", "") for d in ordered],
        f_u_error=ordered[0].attrs.get("f_u_error", ""),
        diffusing_species=table.attrs.get("diffusing_species", ""),
    )
    for v in out.data_vars:  # concat may drop attrs of variables filled in
        src = ordered[0][v] if v in ordered[0] else None
        if src is not None and not out[v].attrs:
            out[v].attrs.update(src.attrs)
    return out


def _figure(results, table):
    """INM density per temperature (imaginary branch on the negative axis) and f_u(T) beside D(T)."""
    import numpy as np
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10.0, 4.0), layout="constrained")
    ax, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.6, 1]})
    for d in sorted(results, key=lambda x: x.attrs["temperature_K"]):
        ax.plot(d.frequency, d.dos, lw=1.2, drawstyle="steps-mid", label=f"{d.attrs['temperature_K']:g} K")
    ax.axvline(0, color="0.5", lw=0.8)
    ax.set_xlabel("ν (THz)   [imaginary modes at ν < 0]")
    ax.set_ylabel("INM density ρ(ν) (1/THz, ∫ = 3N − 3)")
    ax.legend(frameon=False)
    t = table.temperature.values
    ax2.errorbar(t, table.f_u, yerr=table.f_u_err, marker="o", color="C3", capsize=3)
    ax2.set_xlabel("T (K)")
    ax2.set_ylabel("unstable-mode fraction f_u", color="C3")
    d = np.asarray(table.D.values, dtype=float)
    if np.any(np.isfinite(d) & (d > 0)):
        ax3 = ax2.twinx()
        ax3.errorbar(t, d, yerr=table.D_err, marker="s", color="C0", capsize=3)
        ax3.set_yscale("log")
        ax3.set_ylabel(f"D_{table.attrs.get('diffusing_species', '')} (cm²/s)", color="C0")
    return fig


# --------------------------------------------------------------------------- heat capacity
@app.command("heat-capacity")
def heat_capacity_cmd(
    runs: list[Path] = typer.Argument(..., help="Free run folders of `superionic md`, one per temperature."),
    potential: str | None = typer.Option(
        None,
        "--potential",
        help="Potential to evaluate E_pot where the run did not record it (LAMMPS runs); default: the run's own.",
    ),
    every: int = typer.Option(1, "--every", help="Use every this many frames."),
    skip: float = typer.Option(0.1, "--skip", help="Share of each run left out at its start (0 … <1)."),
    blocks: int = typer.Option(8, "--blocks", help="Blocks of the block-average errors."),
    phonons: Path | None = typer.Option(
        None, "--phonons", help="A `superionic phonons --out` file: its harmonic quantum C_v(T) is put beside."
    ),
    vdos: bool = typer.Option(
        True, "--vdos/--no-vdos", help="VDOS of each run: harmonic and 2PT C_v and S_vib per species."
    ),
    diffusing: str | None = typer.Option(
        None,
        "--diffusing",
        help="Species 2PT treats as partly gas-like, comma list (e.g. Li); the others harmonic. Default: all.",
    ),
    out: Path = typer.Option(Path("heat_capacity.nc"), "--out", "-o", help="netCDF file of the results."),
    overwrite: bool = typer.Option(False, "--overwrite", help=OVERWRITE_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print a machine-readable summary on stdout."),
) -> None:
    """Heat capacity of MD runs (classical, anharmonic): energy fluctuations of each run, C_v =
    Var(E)/(k_B T² N) (NVT) and n_kin/2N + Var(E_pot)/(k_B T² N), block-average errors (NVE: kinetic-energy
    fluctuations), and d⟨E⟩/dT across the runs; beside them the harmonic quantum C_v of phonopy (--phonons), the
    VDOS-weighted harmonic and the 2PT C_v, the quantum-corrected MD value, and S_vib per species with 2PT
    (gas-like part of diffusing species from g(0)). All per atom in units of k_B (× 8.314 for J/(K mol)).
    LAMMPS runs record no energies: E_pot is evaluated with the potential on the frames used (one force call each).

    Example: superionic heat-capacity md/T400K md/T550K md/T700K --phonons phonons.nc
    """
    import numpy as np
    import xarray as xr

    from ..lattice.heat_capacity import cv_from_temperatures, heat_capacity_comparison, heat_capacity_from_run
    from ..results import save_dataset

    if every < 1:
        raise InputError(f"--every must be at least 1, got {every}")
    if blocks < 2:
        raise InputError(f"--blocks must be at least 2, got {blocks}")
    _share(skip, "--skip")
    trajs = [_trajectory(r) for r in runs]
    check_outputs([("--out", out, "netcdf")], [*trajs, phonons], overwrite)
    ph = None
    if phonons is not None:
        if not phonons.is_file():
            raise InputError(f"--phonons {phonons}: file not found; give the file of `superionic phonons --out`")
        try:
            ph = xr.load_dataset(phonons)
        except Exception as err:
            raise InputError(f"--phonons {phonons}: not a readable netCDF file ({err})") from None
    gas = None if diffusing is None else [x.strip() for x in diffusing.split(",") if x.strip()]
    log = (lambda text: typer.echo(text, err=True)) if as_json else typer.echo
    md = []
    for run in runs:
        log(f"{run}: energies …")
        md.append(heat_capacity_from_run(run, potential, every=every, skip=skip, n_blocks=blocks))
    temps = np.array([float(d.attrs["temperature_K"]) for d in md])
    if len(set(temps.tolist())) != len(temps):
        raise InputError(f"two runs at the same temperature ({temps.tolist()}): give one run per temperature")
    order = np.argsort(temps)
    md = [md[i] for i in order]
    trajs = [trajs[i] for i in order]
    temps = temps[order]
    dedt = None
    if len(md) >= 2:
        dedt = cv_from_temperatures(temps, [float(d.e_mean) for d in md], [float(d.e_mean_err) for d in md])
    rows = []
    for t, d, traj in zip(temps, md, trajs):
        vd = None
        if vdos:
            from ..analysis.vdos import vdos_from_file

            vd = vdos_from_file(traj)
        rows.append(heat_capacity_comparison(float(t), md=d, dedt=dedt, phonons=ph, vdos=vd, diffusing=gas))
    table = xr.concat(
        [r.expand_dims(temperature=[float(t)]) for r, t in zip(rows, temps)], dim="temperature", combine_attrs="drop"
    )
    for v in table.data_vars:
        if not table[v].attrs and v in rows[0]:
            table[v].attrs.update(rows[0][v].attrs)
    table["temperature"].attrs["units"] = "K"
    table.attrs.update(
        analysis="heat_capacity",
        runs=[str(runs[i]) for i in order],
        n_atoms=int(md[0].attrs["n_atoms"]),
        kinetic_dof=int(md[0].attrs["kinetic_dof"]),
        skip=skip,
        every=every,
        n_blocks=blocks,
        energy_source=md[0].attrs["energy_source"],
        units_note="per atom in units of k_B; × to_J_per_mol_K for J/(K mol of atoms)",
        to_J_per_mol_K=8.314462618,
    )
    save_dataset(table, out)
    keys = [k for k in table.data_vars if table[k].dims == ("temperature",)]
    summary = {
        "runs": table.attrs["runs"],
        "n_atoms": table.attrs["n_atoms"],
        "kinetic_dof": table.attrs["kinetic_dof"],
        "units": "k_B per atom",
        "temperatures": [
            {"temperature_K": float(t), **{k: float(table[k].sel(temperature=t)) for k in keys}} for t in temps
        ],
        "out": str(out),
    }
    if as_json:
        print_json(summary)
        return
    typer.echo(
        f"{summary['n_atoms']} atoms, {summary['kinetic_dof']} kinetic degrees of freedom; C_v and S per atom in k_B "
        f"(classical harmonic: 3, here (3N − 3)/N = {summary['kinetic_dof'] / summary['n_atoms']:.3f})"
    )
    for row in summary["temperatures"]:
        parts = [f"T = {row['temperature_K']:g} K:"]
        if "cv_md_fluctuation" in row:
            parts.append(f"C_v(MD, Var E) = {row['cv_md_fluctuation']:.3f} ± {row['cv_md_fluctuation_err']:.3f}")
        if "cv_md_potential" in row:
            parts.append(f"(Var E_pot: {row['cv_md_potential']:.3f} ± {row['cv_md_potential_err']:.3f})")
        if "cv_md_dEdT" in row:
            parts.append(f"dE/dT: {row['cv_md_dEdT']:.3f} ± {row['cv_md_dEdT_err']:.3f}")
        typer.echo("  ".join(parts))
        extra = []
        for key, label in (
            ("cv_harmonic_phonopy", "harmonic (phonopy)"),
            ("cv_vdos_harmonic", "VDOS harmonic"),
            ("cv_vdos_2pt", "2PT"),
            ("cv_md_quantum_corrected", "MD quantum-corrected"),
        ):
            if key in row and math.isfinite(row[key]):
                extra.append(f"{label} {row[key]:.3f}")
        if extra:
            typer.echo("    C_v quantum: " + ", ".join(extra))
        if "S_vib_2pt" in row:
            typer.echo(f"    S_vib: harmonic {row['S_vib_harmonic']:.3f}, 2PT {row['S_vib_2pt']:.3f}")
    if "fluidicity" in table:
        for t in temps:
            f = table.fluidicity.sel(temperature=t)
            text = ", ".join(f"{s} {float(v):.3f}" for s, v in zip(f.species.values, f.values))
            typer.echo(f"  2PT fluidicity at {t:g} K: {text}")
    typer.echo(f"wrote {out}")
