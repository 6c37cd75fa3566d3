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
import os
import time
from pathlib import Path
from typing import Callable

from .. import __version__
from ..errors import InputError
from ..provenance import versions
from .config import StudyConfig

Progress = Callable[[str, int, int, float], None]


def _label(t: float) -> str:
    return f"T{t:g}K"


def _write_json(path: Path, obj: dict) -> None:
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(json.dumps(obj, indent=2, default=str))
    os.replace(tmp, path)


def run_md_stage(cfg: StudyConfig, out: Path, progress: Progress | None = None) -> dict[float, Path]:
    """Run (or reuse, or resume) the MD of every temperature; returns {T: trajectory path}."""
    from ..materials import build_material
    from ..md import MDSettings, run_nvt
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
        if calc is None:
            calc = spec.factory()
        m = cfg.md
        settings = MDSettings(temperature=temp, steps=m.steps, dt=m.dt, stride=m.stride, friction=m.friction,
                              production_friction=m.production_friction, equilibration_steps=m.equilibration_steps,
                              seed=m.seed, metadata={"material": cfg.material, "supercell": cfg.supercell,
                                                     "md_hash": cfg.md_hash(), "study": cfg.name})
        cb = (lambda s, n, tk, _t=temp: progress(f"MD {_label(_t)}", s, n, tk)) if progress else None
        paths[temp] = run_nvt(atoms, calc, settings, folder, potential=spec.identity(), resume=resume, progress=cb)
    return paths


def run_analysis_stage(cfg: StudyConfig, trajectories: dict[float, Path], out: Path) -> dict:
    """Analyse each trajectory; write netCDF per analysis; return key numbers per temperature."""
    from ..analysis.diffusion import diffusion
    from ..analysis.vdos import vdos
    from ..cli.common import save_dataset  # atomic netCDF writer
    from ..trajectory.io import read_trajectory

    adir = out / "analysis"
    adir.mkdir(parents=True, exist_ok=True)
    results: dict = {}
    for temp, path in trajectories.items():
        traj = read_trajectory(path)
        entry: dict = {"temperature_K": temp, "frames": traj.n_frames, "dt_fs": traj.dt,
                       "duration_ps": traj.n_frames * traj.dt / 1000.0}
        if "vdos" in cfg.analyses:
            ds = vdos(traj)
            save_dataset(ds, adir / f"{_label(temp)}_vdos.nc")
            entry["vdos"] = _vdos_numbers(ds, temp)
        if "diffusion" in cfg.analyses:
            ds = diffusion(traj)
            save_dataset(ds, adir / f"{_label(temp)}_diffusion.nc")
            entry["diffusion"] = {s: {"D_cm2_per_s": float(ds.D.sel(species=s)),
                                      **({"D_err_cm2_per_s": float(ds.D_err.sel(species=s))} if "D_err" in ds else {})}
                                  for s in ds.species.values}
        results[_label(temp)] = entry
    return results


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
    trajectories = run_md_stage(cfg, out, progress)
    timings["md_s"] = time.time() - t0
    t1 = time.time()
    results = run_analysis_stage(cfg, trajectories, out)
    timings["analysis_s"] = time.time() - t1
    from ..potentials import get_potential
    summary = {"superionic": __version__, "versions": versions(), "config": cfg.model_dump(),
               "potential": get_potential(cfg.potential).identity(), "results": results,
               "units": {"temperature": "K", "D": "cm2/s", "g0": "1/THz", "time": "fs"}, "timings": timings}
    t2 = time.time()
    from ..report.html import write_report
    report = write_report(out, summary)
    timings["report_s"] = time.time() - t2
    timings["total_s"] = time.time() - t0
    _write_json(out / "summary.json", summary)
    return report
