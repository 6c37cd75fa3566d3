"""Run a whole study: MD at each temperature → analyses → summary.json → report.html.

Folder layout under the study's output::

    md/T600K/{trajectory.h5, run.json}     one MD run per temperature (resumed if killed, reused if done)
    analysis/T600K_vdos.nc, T600K_diffusion.nc
    summary.json                           versions, config, timings, key numbers (with units)
    report.html                            figures and tables, self-contained

Every file is written atomically; re-running the same study reuses finished MD whose settings match.
"""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path
from typing import Callable

from .. import __version__
from ..errors import InputError
from ..provenance import versions
from .config import StudyConfig

Progress = Callable[[str, int, int, float], None]


def _label(t: float) -> str:
    return f"T{t:g}K"


def run_md_stage(cfg: StudyConfig, out: Path, progress: Progress | None = None) -> dict[float, Path]:
    """Run (or reuse, or resume) the MD of every temperature; returns {T: trajectory path}."""
    from ..materials import build_material
    from ..md import MDSettings, run_md
    from ..potentials import get_potential

    spec = get_potential(cfg.potential)
    atoms = build_material(cfg.material, cfg.supercell)
    calc = None
    paths: dict[float, Path] = {}
    for temp in cfg.temperatures:
        folder = out / "md" / _label(temp)
        info_path = folder / "run.json"
        traj_path = folder / "trajectory.h5"
        if info_path.exists():
            info = json.loads(info_path.read_text())
            same = info.get("settings", {}).get("metadata", {}).get("md_hash") == cfg.md_hash()
            if same and info.get("status") == "done" and traj_path.exists():
                paths[temp] = traj_path
                if progress:
                    progress(f"MD {_label(temp)} (reused)", cfg.md.steps, cfg.md.steps, temp)
                continue
            resume = same
        else:
            resume = False
        if calc is None and (spec.engine if cfg.engine == "auto" else cfg.engine) == "ase":
            calc = spec.make()
        m = cfg.md
        settings = MDSettings(temperature=temp, steps=m.steps, dt=m.dt, stride=m.stride, friction=m.friction,
                              production_friction=m.production_friction, equilibration_steps=m.equilibration_steps,
                              seed=m.seed, metadata={"material": cfg.material, "supercell": cfg.supercell,
                                                     "md_hash": cfg.md_hash(), "study": cfg.name})
        cb = (lambda s, n, tk, _t=temp: progress(f"MD {_label(_t)}", s, n, tk)) if progress else None
        paths[temp] = run_md(atoms, spec, settings, folder, engine=cfg.engine, resume=resume, progress=cb,
                             calculator=calc)
    return paths


def run_analysis_stage(cfg: StudyConfig, trajectories: dict[float, Path], out: Path) -> dict:
    """Analyse each trajectory (netCDF per analysis), then the temperature series; return key numbers.

    Per temperature: VDOS + zero-frequency analysis, tracer diffusion (GLS), conductivity of the mobile
    species. Across temperatures (≥ 2): Arrhenius fit of D_mobile and the VDOS exponent series.
    """
    from ..analysis.conductivity import conductivity
    from ..analysis.diffusion import diffusion
    from ..analysis.vdos import vdos
    from ..trajectory.io import read_trajectory
    from ..results import save_dataset, write_json

    adir = out / "analysis"
    adir.mkdir(parents=True, exist_ok=True)
    results: dict = {}
    vdos_sets, diff_sets = {}, {}
    mobile = cfg.mobile_species
    for temp, path in trajectories.items():
        traj = read_trajectory(path)
        label = _label(temp)
        entry: dict = {"temperature_K": temp, "frames": traj.n_frames, "dt_fs": traj.dt,
                       "duration_ps": traj.n_frames * traj.dt / 1000.0}
        if "vdos" in cfg.analyses:
            ds = vdos(traj)
            save_dataset(ds, adir / f"{label}_vdos.nc")
            vdos_sets[temp] = ds
            entry["vdos"] = _vdos_numbers(ds, temp)
        if "diffusion" in cfg.analyses:
            ds = diffusion(traj)
            save_dataset(ds, adir / f"{label}_diffusion.nc")
            diff_sets[temp] = ds
            entry["diffusion"] = {s: {"D": float(ds.D.sel(species=s)), "D_err": float(ds.D_err.sel(species=s)),
                                      "fit_window_fs": [float(ds.fit_start.sel(species=s)),
                                                        float(ds.fit_stop.sel(species=s))],
                                      "window_ok": bool(ds.window_ok.sel(species=s))}
                                  for s in ds.species.values}
            if mobile in traj.species:
                c = conductivity(traj, mobile, temperature=temp, tracer=ds)
                save_dataset(c, adir / f"{label}_conductivity.nc")
                entry["conductivity"] = {k: float(c[k]) for k in
                                         ("sigma", "sigma_err", "sigma_NE", "sigma_NE_err", "haven_ratio",
                                          "haven_ratio_err")}
        if "neutron" in cfg.analyses:
            entry["neutron"] = _neutron(cfg, traj, vdos_sets.get(temp), adir / label)
        results[label] = entry
    series: dict = {}
    temps = sorted(diff_sets)
    if len(temps) >= 2 and any(mobile in ds.species.values for ds in diff_sets.values()):
        from ..analysis.arrhenius import arrhenius_from_datasets
        arr = arrhenius_from_datasets([diff_sets[t] for t in temps], species=mobile, temperatures=temps)
        save_dataset(arr, adir / "arrhenius.nc")
        series["arrhenius"] = {"species": mobile, "E_a": float(arr.E_a), "E_a_err": float(arr.E_a_err),
                               "D0": float(arr.prefactor), "D0_err": float(arr.prefactor_err),
                               "D_300K": float(arr.predicted[0]), "D_300K_err": float(arr.predicted_err[0]),
                               "D_300K_extrapolated": bool(arr.extrapolated[0]),
                               "all_windows_diffusive": all(bool(diff_sets[t].window_ok.sel(species=mobile))
                                                            for t in temps)}
    temps = sorted(vdos_sets)
    if len(temps) >= 2:
        from ..analysis.vdos_series import vdos_series
        ser = vdos_series([vdos_sets[t] for t in temps], temperatures=temps)
        save_dataset(ser, adir / "vdos_series.nc")
        series["vdos_series"] = {"units": {"crossover_temperature": "K"}}
    if series:
        results["series"] = series
    return results


def _neutron(cfg: StudyConfig, traj, vdos_ds, stem: Path) -> dict:
    """INS GDOS (from the VDOS) and incoherent F(Q,t), S(Q,E) with the pinned cross sections."""
    from ..analysis.scattering import dynamic_structure_factor, self_intermediate_scattering
    from ..results import save_dataset

    n = cfg.neutron
    out: dict = {"isotopes": n.isotopes, "q_per_angstrom": n.q}
    if vdos_ds is not None:
        from ..neutron.gdos import gdos
        g = gdos(vdos_ds, isotopes=n.isotopes, resolution_fwhm_mev=n.ins_resolution_meV)
        save_dataset(g, stem.with_name(stem.name + "_gdos.nc"))
        out["gdos_weights"] = {str(s): float(g.weight.sel(species=s)) for s in g.species.values}
    fqt = self_intermediate_scattering(traj, n.q, isotopes=n.isotopes)
    sqe = dynamic_structure_factor(fqt, ["F_s", "F_inc"])
    save_dataset(fqt.drop_vars([v for v in ("F_inc_blocks", "F_s_blocks") if v in fqt]),
                 stem.with_name(stem.name + "_fqt.nc"))
    save_dataset(sqe, stem.with_name(stem.name + "_sqe.nc"))
    out["sqe_resolution_fwhm_meV"] = float(sqe.attrs["effective_resolution_fwhm_meV"])
    return out


def _vdos_numbers(ds, temp: float) -> dict:
    """Per-species zero-frequency numbers (g0, exponent, D_from_g0, band centre …) for the summary."""
    from ..analysis.vdos import vdos_summary
    return vdos_summary(ds, temperature=temp)["species"]


def run_study(cfg: StudyConfig, output: str | Path | None = None, progress: Progress | None = None) -> Path:
    """Run the whole study; returns the path of report.html."""
    out = Path(output or cfg.output)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputError(f"cannot create the output folder {out}: {err}") from None
    timings: dict[str, float] = {}
    t0 = time.time()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trajectories = run_md_stage(cfg, out, progress)
        timings["md_s"] = time.time() - t0
        t1 = time.time()
        results = run_analysis_stage(cfg, trajectories, out)
        timings["analysis_s"] = time.time() - t1
    # our own warnings (resolution, finite differences …) go to the summary and the report, once each;
    # third-party chatter (torch, pymatgen deprecations) is dropped
    notes = list(dict.fromkeys(str(w.message) for w in caught if "superionic" in (w.filename or "")))
    from ..potentials import get_potential
    summary = {"superionic": __version__, "versions": versions(), "config": cfg.model_dump(),
               "potential": get_potential(cfg.potential).identity(), "results": results,
               "units": {"temperature": "K", "D": "cm2/s", "sigma": "mS/cm", "E_a": "eV", "g0": "1/THz",
                         "band_centre": "meV", "time": "fs", "fit_window": "fs"},
               "timings": timings, "warnings": notes}
    t2 = time.time()
    from ..report.html import write_report
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")      # figures refit what the analysis stage already reported
        report = write_report(out, summary)
    timings["report_s"] = time.time() - t2
    timings["total_s"] = time.time() - t0
    from ..results import write_json
    write_json(out / "summary.json", summary)
    return report
