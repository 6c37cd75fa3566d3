"""Run a whole study: MD at each temperature and protocol → analyses → summary.json → report.html.

Folder layout under the study's output::

    md/T600K/{trajectory.h5, run.json}     the free run at 600 K (resumed if killed, reused if done)
    md/T600K-frozen-host/…                 a phonon-suppressed run at 600 K (host from the free run)
    analysis/T600K_vdos.nc, T600K_diffusion.nc, …   one file per run and analysis
    summary.json                           versions, config, timings, key numbers (with units)
    report.html                            figures and tables, self-contained

Every file is written atomically; re-running the same study reuses finished MD whose settings match
(`md_hash`) and resumes unfinished MD. A finished run whose settings no longer match is never replaced
silently: the study stops before any MD and names it, unless `overwrite` (CLI --overwrite) moves it to
``md/.replaced/<run>-<time>/``; an unfinished one with other settings is moved there without asking
(nothing is deleted). The study folder and every run folder are locked while they are written
(`md.lock`). A run that fails (MD or analysis) does not stop the study: the others are analysed and
summary.json lists it under ``failed_runs``. Analysis files of runs that are no longer part of the study
are removed, so the folder holds what the summary describes; MD runs are never removed.
"""

from __future__ import annotations

import json
import re
import time
import traceback
import warnings
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import __version__
from ..errors import InputError
from ..provenance import versions
from .config import StudyConfig

Progress = Callable[[str, int, int, float], None]


@dataclass(frozen=True)
class Run:
    """One MD run of a study: a temperature (K) under a protocol, and its trajectory file; `stiffness`
    (eV/Å²) only for a tethered run of a stiffness scan.
    """

    temperature: float
    protocol: str
    path: Path
    stiffness: float | None = None
    host_sample: tuple[int, int] | None = None  # (k, N): the k-th of N frozen hosts (`StudyConfig.host_samples`)

    @property
    def label(self) -> str:
        """Folder name of the run: T600K, T600K-frozen-host, T600K-tethered-k0.5 (k in eV/Å²), T600K-frozen-host-h2of4."""
        return _label(self.temperature, self.protocol, self.stiffness, self.host_sample)

    @property
    def group(self) -> str:
        """The label without its host sample: the runs whose D_suppressed is averaged over hosts."""
        return _label(self.temperature, self.protocol, self.stiffness)


def _label(
    t: float, protocol: str = "free", stiffness: float | None = None, sample: tuple[int, int] | None = None
) -> str:
    """T600K, T600K-frozen-host, T600K-tethered-k0.5 (scan entry, k in eV/Å²), T600K-frozen-host-h2of4 (host 2 of 4)."""
    return (
        f"T{t:g}K"
        + ("" if protocol == "free" else f"-{protocol}")
        + ("" if stiffness is None else f"-k{stiffness:g}")
        + ("" if sample is None else f"-h{sample[0]}of{sample[1]}")
    )


@dataclass
class _Planned:
    """One run the study asks for, its folder, cache key, settings and what the folder holds now."""

    temperature: float
    protocol: str
    stiffness: float | None
    label: str
    folder: Path
    key: str
    settings: object  # MDSettings
    info: dict | None  # the folder's run.json, if any
    potential: dict | None = None  # the identity the engine records for the study's potential now
    sample: tuple[int, int] | None = None  # (k, N): the k-th of N frozen hosts

    def run(self, path: Path) -> Run:
        """The `Run` of this planned run, its trajectory at `path`."""
        return Run(self.temperature, self.protocol, path, self.stiffness, self.sample)


def _plan(cfg: StudyConfig, out: Path) -> tuple[list[_Planned], object, str]:
    """Every run of the study with its settings (before any MD); also the potential spec and engine name."""
    from ..md import MDSettings
    from ..md.run import read_run_info
    from ..potentials import get_potential

    spec = get_potential(cfg.potential)
    engine = spec.engine if cfg.engine == "auto" else cfg.engine
    identity = _current_identity(spec, engine)
    scan = cfg.stiffness_scan()
    m = cfg.md
    plan = []
    for temp in cfg.temperatures:
        for protocol, k, sample in [
            (p, k, sample)
            for p in cfg.protocols
            for k in (scan if p == "tethered" and scan else [None])
            for sample in (_host_samples(cfg) if p in ("frozen-host", "tethered") else [None])
        ]:
            label = _label(temp, protocol, k, sample)
            folder = out / "md" / label
            host_time = 1.0 if sample is None else sample[0] / sample[1]
            key = cfg.md_hash(protocol, k, host_time)
            suppressed = protocol in ("frozen-host", "tethered")
            settings = MDSettings(
                temperature=temp,
                steps=m.steps_for(protocol),
                dt=m.dt,
                stride=m.stride,
                friction=m.friction,
                production_friction=m.production_friction,
                equilibration_steps=m.equilibration_steps,
                seed=m.seed,
                protocol=protocol,
                tether_stiffness=k if k is not None else (scan or [cfg.tether_stiffness])[0],
                reference=str(out / "md" / _label(temp)) if suppressed else None,
                host_reference=cfg.host_reference if suppressed else "mean",
                host_time=host_time,
                mobile=[cfg.mobile_species],
                metadata={
                    "material": cfg.material,
                    "supercell": cfg.supercell,
                    "md_hash": key,
                    "study": cfg.name,
                    # a suppressed run is only as current as the free run whose host it holds
                    **({"reference_md_hash": cfg.md_hash("free")} if suppressed else {}),
                },
            )
            try:
                info = read_run_info(folder)
            except InputError:
                info = {"status": "unreadable"}  # no cache key: moved aside, never deleted
            plan.append(_Planned(temp, protocol, k, label, folder, key, settings, info, identity, sample))
    return plan, spec, engine


def _host_samples(cfg: StudyConfig) -> list[tuple[int, int] | None]:
    """[(1, N), … (N, N)] for N = host_samples > 1; [None] (one host, unlabelled) otherwise."""
    n = cfg.host_samples
    return [None] if n == 1 else [(j + 1, n) for j in range(n)]


def _warn_about_potential(cfg: StudyConfig) -> None:
    """A warning (into the summary and the report) when the study's distilled potential failed its gate when last
    validated, unless it failed only above every temperature of the study (`lammps_potentials.verdict_warning`),
    and, for a study with frozen-host runs, when its card has no frozen-host comparison (`frozen_host_note`).
    """
    from ..potentials.lammps_potentials import frozen_host_note, verdict_warning

    pot = _carded_potential(cfg)
    if pot is None:
        return
    notes = [verdict_warning(pot, cfg.temperatures)]
    if "frozen-host" in cfg.protocols:
        notes.append(frozen_host_note(pot))
    for note in notes:
        if note:
            warnings.warn(note, stacklevel=2)


def _carded_potential(cfg: StudyConfig):
    """The study's potential as a LammpsPotential, whose cards can be read; None for any other potential."""
    from ..potentials import get_potential
    from ..potentials.lammps_potentials import get_lammps_potential

    spec = get_potential(cfg.potential)
    if spec.engine != "lammps":
        return None
    try:
        return get_lammps_potential(spec.name)
    except InputError:  # not an installed LAMMPS potential: no card to read
        return None


def _current_identity(spec, engine: str) -> dict:
    """The potential identity a run made now would record (LAMMPS: the potential's description file)."""
    if engine == "lammps":
        from ..potentials.lammps_potentials import get_lammps_potential

        try:
            return get_lammps_potential(spec.name).identity()
        except InputError:
            pass
    return spec.identity()


def _stale(p: _Planned) -> bool:
    """The folder holds a run made with other settings than the study's (another cache key), a suppressed
    run whose free run (its host reference) has since been made with other settings, one that holds a
    time-averaged host the current structure check refuses (`recorded_mean_host_invalid`), or one made with
    another version of the study's potential (recorded `version` or model SHA-256; the cache key holds
    only the potential's name, so runs of earlier versions keep their keys and are caught here).
    """
    from ..md.host_reference import recorded_mean_host_invalid
    from ..md.settings import potential_version_changes

    if p.info is None:
        return False
    meta = p.info.get("settings", {}).get("metadata", {}) or {}
    return (
        meta.get("md_hash") != p.key
        or _reference_changed(p)
        or recorded_mean_host_invalid(p.info) is not None
        or bool(potential_version_changes(p.info.get("potential"), p.potential))
    )


def _reference_changed(p: _Planned) -> bool:
    """A suppressed run recorded its free run's cache key and that key has changed (runs made before the key
    was recorded are not checked).
    """
    meta = (p.info or {}).get("settings", {}).get("metadata", {}) or {}
    ref = meta.get("reference_md_hash")
    return ref is not None and ref != p.settings.metadata.get("reference_md_hash")


def _why_stale(p: _Planned, spec, engine: str) -> str:
    from ..md.run import differing_settings

    diffs = differing_settings(p.info, p.settings, p.potential or {"name": spec.name}, engine)
    from ..md.host_reference import recorded_mean_host_invalid

    if _reference_changed(p):
        diffs.append(f"its free run {_label(p.temperature)} now has other settings")
    if why := recorded_mean_host_invalid(p.info):
        diffs.append(why)
    return ", ".join(diffs) or "cache key (md_hash)"


def _finished(p: _Planned) -> bool:
    return p.info is not None and p.info.get("status") == "done" and (p.folder / "trajectory.h5").exists()


def check_md_stage(cfg: StudyConfig, out: str | Path, overwrite: bool = False) -> None:
    """Refuse (InputError, before anything is run or moved) when a finished run of the study was made with
    other settings and `overwrite` is not set; the message names the runs, what differs and the fix.
    """
    out = Path(out)
    plan, spec, engine = _plan(cfg, out)
    if overwrite:
        return
    clash = []
    for p in plan:
        if _stale(p) and _finished(p):
            clash.append(f"{p.label}: {_why_stale(p, spec, engine)}")
    if clash:
        more = f" and {len(clash) - 3} more" if len(clash) > 3 else ""
        raise InputError(
            f"{len(clash)} finished run(s) in {out / 'md'} no longer match this study "
            f"({'; '.join(clash[:3])}{more}): run it with --overwrite to move them to "
            f"{out / 'md' / '.replaced'} and run them afresh, or write the study to another folder "
            "(--out or output:)"
        )


def run_md_stage(
    cfg: StudyConfig,
    out: Path,
    progress: Progress | None = None,
    *,
    overwrite: bool = False,
    failed: list | None = None,
    replaced: list | None = None,
    tasks=None,
) -> list[Run]:
    """Run (or reuse, or resume) the MD of every temperature and protocol; the free run of a temperature
    comes first, and suppressed-phonon runs take their host reference positions from it (`host_reference`).
    A tethered stiffness scan runs once per stiffness (folders T<K>K-tethered-k<k>).

    A finished run with another cache key is refused (`check_md_stage`) unless `overwrite`; with it, and
    for an unfinished run with another key, the old run is moved to md/.replaced/ (listed in `replaced`).
    With a `failed` list, a run that raises is recorded there ({label, stage, reason}) and the others go
    on (suppressed runs whose free run failed are recorded too); without one the error propagates.

    With cfg.execution local or slurm, the runs to make are Parsl tasks (on `tasks`, an open
    `execution.Tasks`, or a session opened for this stage): a suppressed run starts when the free run of its
    temperature has finished; progress is reported per task. Serial (the default) runs them one after another.
    """
    from ..materials import build_material
    from ..md.lock import folder_lock
    from ..md.run import move_run_aside

    out = Path(out)
    check_md_stage(cfg, out, overwrite)
    plan, spec, engine = _plan(cfg, out)
    atoms = build_material(cfg.material, cfg.supercell)
    for p in plan:
        if _stale(p):
            stamp = time.strftime("%Y%m%d-%H%M%S")
            with folder_lock(p.folder, "superionic run"):
                dest = move_run_aside(p.folder, out / "md" / ".replaced" / f"{p.label}-{stamp}")
            why = _why_stale(p, spec, engine)
            state = {"done": "finished", "exploded": "exploded", "unreadable": "unreadable"}.get(
                p.info.get("status"), "unfinished"
            )
            warnings.warn(
                f"md/{p.label}: the {state} run there had other settings "
                f"({why}); moved to {dest.relative_to(out)} and run afresh",
                RuntimeWarning,
            )
            if replaced is not None:
                replaced.append(
                    {
                        "label": p.label,
                        "status": p.info.get("status"),
                        "settings_changed": why,
                        "moved_to": str(dest.relative_to(out)),
                    }
                )
            p.info = None
    if cfg.execution.executor != "serial":
        return _run_md_tasks(cfg, out, plan, progress, failed, tasks)
    calc = None
    runs: list[Run] = []
    failed_labels: set[str] = set()
    for p in plan:
        label, temp, protocol, folder = p.label, p.temperature, p.protocol, p.folder
        resume = p.info is not None  # same cache key (others were moved aside)
        if resume and _finished(p):
            runs.append(p.run(folder / "trajectory.h5"))
            if progress:
                progress(f"MD {label} (reused)", cfg.md.steps_for(protocol), cfg.md.steps_for(protocol), temp)
            continue
        suppressed = protocol in ("frozen-host", "tethered")
        if suppressed and _label(temp) in failed_labels:
            failed.append(_not_run(label, temp))
            failed_labels.add(label)
            continue
        if calc is None and _needs_calculator(cfg, engine, protocol):
            calc = spec.make()  # the LAMMPS engine needs an ASE calculator only to quench
        try:
            path = _run_one(cfg, p, atoms, spec, engine, calc, resume, progress)
        except Exception as err:
            if failed is None:
                raise
            failed.append(_failure(label, "md", err))
            failed_labels.add(label)
            continue
        runs.append(p.run(path))
    return runs


def _not_run(label: str, temp: float) -> dict:
    """The failure row of a suppressed run left out because the free run it takes its host from failed."""
    return {
        "label": label,
        "stage": "md",
        "reason": f"not run: it takes its host from the free run {_label(temp)}, which failed",
    }


def _needs_calculator(cfg: StudyConfig, engine: str, protocol: str) -> bool:
    """An ASE calculator is needed: always on the ASE engine; on LAMMPS only to quench a host reference."""
    suppressed = protocol in ("frozen-host", "tethered")
    return engine != "lammps" or (suppressed and cfg.host_reference in ("quenched", "auto"))


def _run_one(cfg: StudyConfig, p: _Planned, atoms, spec, engine: str, calc, resume: bool, progress) -> Path:
    """Run (or resume) the MD of one planned run in its locked folder; returns its trajectory path."""
    from ..md import run_md
    from ..md.lock import folder_lock
    from ..md.run import host_reference_start

    lammps = engine == "lammps"
    settings = p.settings
    with folder_lock(p.folder, "superionic run"):
        start = atoms
        if lammps:
            start, settings = host_reference_start(atoms, settings, calc)
        cb = (lambda s, n, tk, _l=p.label: progress(f"MD {_l}", s, n, tk)) if progress else None
        return run_md(
            start,
            spec,
            settings,
            p.folder,
            engine=cfg.engine,
            resume=resume,
            progress=cb,
            ranks=cfg.ranks,
            calculator=None if lammps else calc,
        )


def _md_task(
    cfg: StudyConfig, p: _Planned, resume: bool, catch: bool, note: str | None = None, free: dict | None = None
) -> dict:
    """One MD run as a Parsl task (in a worker process): {label, path} or {label, failure}, plus the
    warnings it raised. `free`: the result of the free run whose host a suppressed run takes (Parsl starts
    this task only once that run has finished); when it failed, this run is not run. `catch`: return a
    failure instead of raising. note: a file for the run's steps (`execution.task_progress`), removed at its end.
    """
    from ..materials import build_material
    from ..potentials import get_potential
    from .execution import collect_warnings, task_progress

    if free is not None and "failure" in free:
        return {"label": p.label, "failure": _not_run(p.label, p.temperature), "warnings": []}
    result: dict = {"label": p.label}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            spec = get_potential(cfg.potential)
            engine = spec.engine if cfg.engine == "auto" else cfg.engine
            calc = spec.make() if _needs_calculator(cfg, engine, p.protocol) else None
            atoms = build_material(cfg.material, cfg.supercell)
            steps = task_progress(note) if note else None
            cb = (lambda _label, done, total, _t: steps(done, total)) if steps else None
            result["path"] = str(_run_one(cfg, p, atoms, spec, engine, calc, resume, cb))
        except Exception as err:
            if not catch:
                raise
            result["failure"] = _failure(p.label, "md", err)
        finally:
            if note:
                Path(note).unlink(missing_ok=True)
    result["warnings"] = collect_warnings(caught)
    return result


def _run_md_tasks(cfg: StudyConfig, out: Path, plan: list[_Planned], progress, failed, tasks) -> list[Run]:
    """The MD runs of `plan` as Parsl tasks (`execution:` local or slurm): reused runs are not submitted,
    a suppressed run waits for the free run of its temperature. Progress is per task (done/running/failed),
    with the running tasks' steps every `execution.TICK_S` seconds (from their files in runinfo/progress/).
    """
    from .execution import check_cores, read_task_progress, reissue

    check_cores(cfg.execution, cfg.ranks)
    finished = {p.label for p in plan if p.info is not None and _finished(p)}
    for p in plan:
        if p.label in finished and progress:
            n = cfg.md.steps_for(p.protocol)
            progress(f"MD {p.label} (reused)", n, n, p.temperature)
    todo = [p for p in plan if p.label not in finished]
    results: dict[str, dict] = {}
    if todo:
        notes = out / "runinfo" / "progress"
        with _session(cfg, out, tasks) as t:
            futures: dict = {}
            free_futures: dict[float, object] = {}
            for p in todo:
                deps = {}
                if p.protocol in ("frozen-host", "tethered") and p.temperature in free_futures:
                    deps["free"] = free_futures[p.temperature]
                note = str(notes / f"{p.label}.json")
                fut = t.submit(_md_task, cfg, p, p.info is not None, failed is not None, note, **deps)
                if p.protocol == "free":
                    free_futures[p.temperature] = fut
                futures[fut] = p

            counts = {"done": 0, "failed": 0}

            def done(fut, p: _Planned, running: int) -> None:
                err = fut.exception()
                results[p.label] = (
                    {"label": p.label, "failure": _task_failure(p, err)} if err is not None else fut.result()
                )
                reissue(results[p.label].get("warnings", []))
                counts["failed" if "failure" in results[p.label] else "done"] += 1
                if progress:
                    progress(
                        f"MD tasks: {counts['done']} done, {running} running, {counts['failed']} failed "
                        f"(last: {p.label})",
                        counts["done"] + counts["failed"],
                        len(futures),
                        p.temperature,
                    )

            def tick(waiting: list[_Planned], running: int) -> None:
                steps = [(p, s) for p in waiting if (s := read_task_progress(notes / f"{p.label}.json"))]
                if progress and steps:
                    n = counts["done"] + counts["failed"]
                    text = "; ".join(f"{p.label} {s[0]}/{s[1]} steps" for p, s in steps)
                    progress(
                        f"MD tasks: {n} done, {running} running ({text})", n, len(futures), steps[0][0].temperature
                    )

            if failed is None:  # no failure list: the first error propagates (as the serial path)
                for fut in futures:
                    fut.result()
            t.wait(futures, done, tick)
    runs: list[Run] = []
    for p in plan:
        if p.label in finished:
            runs.append(p.run(p.folder / "trajectory.h5"))
        elif "failure" in results[p.label]:
            failed.append(results[p.label]["failure"])
        else:
            runs.append(p.run(Path(results[p.label]["path"])))
    return runs


def _task_failure(p: _Planned, err: BaseException) -> dict:
    """The failure row of a task whose future raised (worker lost; or its free run's task did)."""
    from parsl.dataflow.errors import DependencyError

    if isinstance(err, DependencyError):
        return _not_run(p.label, p.temperature)
    return _failure(p.label, "md", err)


@contextmanager
def _session(cfg: StudyConfig, out: Path, tasks=None):
    """The given `Tasks`, or a Parsl session of cfg.execution opened for this stage (runinfo/ under `out`)."""
    if tasks is not None:
        yield tasks
        return
    from .execution import parsl_session

    with parsl_session(cfg.execution, out / "runinfo") as t:
        yield t


def _failure(label: str, stage: str, err: BaseException) -> dict:
    """{label, stage, reason}: the reason in one line; a traceback too when it is not a SuperionicError."""
    from ..errors import SuperionicError

    text = " ".join(str(err).split())
    reason = text if isinstance(err, SuperionicError) and text else f"{type(err).__name__}: {text}".rstrip(": ")
    row = {"label": label, "stage": stage, "reason": reason[:500]}
    if not isinstance(err, SuperionicError):
        row["traceback"] = "".join(traceback.format_exception(type(err), err, err.__traceback__))[-4000:]
    return row


def run_analysis_stage(cfg: StudyConfig, runs: list[Run], out: Path, failed: list | None = None, tasks=None) -> dict:
    """Analyse each trajectory (netCDF per analysis), then the temperature series; return key numbers.

    Per run: VDOS + zero-frequency analysis, tracer diffusion (GLS), conductivity of the mobile species,
    neutron spectra, and for free runs the mechanism stage (bottleneck breathing, PS4 rotations,
    rotation–hop correlation; `workflow.mechanism`). Across the free runs (≥ 2 temperatures): Arrhenius
    fit of D_mobile and the VDOS exponent series. Per suppressed run: the enhancement D_mobile(free)/D_mobile(suppressed) ± σ.
    With a `failed` list, a run whose analysis raises is recorded there and left out (the others go on);
    a series that cannot be fitted (e.g. a D ≤ 0) is a warning. With cfg.execution local or slurm each
    run's analyses are one Parsl task (on `tasks` or a session opened here); the series are fitted here.
    """
    adir = out / "analysis"
    adir.mkdir(parents=True, exist_ok=True)
    results: dict = {}
    diff_sets: dict[Run, object] = {}
    analysed: dict[str, dict] = {}
    if cfg.execution.executor != "serial" and runs:
        analysed = _run_analysis_tasks(cfg, runs, out, failed is not None, tasks)
    for run in runs:
        try:
            if cfg.execution.executor == "serial":
                entry, ds = _analyse_run(cfg, run, adir)
            elif "failure" in analysed[run.label]:  # only with a `failed` list: else the task raised
                failed.append(analysed[run.label]["failure"])
                continue
            else:
                entry, ds = analysed[run.label]["entry"], analysed[run.label]["diffusion"]
        except Exception as err:
            if failed is None:
                raise
            failed.append(_failure(run.label, "analysis", err))
            continue
        if ds is not None:
            diff_sets[run] = ds
        results[run.label] = entry
    try:
        series = _series(cfg, results, diff_sets, adir)
    except Exception as err:
        if failed is None:
            raise
        failed.append(_failure("series", "analysis", err))
        series = {}
    if series:
        results["series"] = series
    return results


def _analysis_task(cfg: StudyConfig, run: Run, adir: Path, catch: bool) -> dict:
    """The analyses of one run as a Parsl task: {label, entry, diffusion} or {label, failure}, plus the
    warnings raised (see `_analyse_run`).
    """
    from .execution import collect_warnings

    result: dict = {"label": run.label}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result["entry"], result["diffusion"] = _analyse_run(cfg, run, adir)
        except Exception as err:
            if not catch:
                raise
            result["failure"] = _failure(run.label, "analysis", err)
    result["warnings"] = collect_warnings(caught)
    return result


def _run_analysis_tasks(cfg: StudyConfig, runs: list[Run], out: Path, catch: bool, tasks) -> dict[str, dict]:
    """Every run's analyses as Parsl tasks; returns each run's task result by label (progress is not
    reported: the CLI shows the MD tasks only).
    """
    from .execution import reissue

    results: dict[str, dict] = {}
    with _session(cfg, out, tasks) as t:
        futures = {t.submit(_analysis_task, cfg, run, out / "analysis", catch): run for run in runs}
        if not catch:
            for fut in futures:
                fut.result()

        def done(fut, run: Run, running: int) -> None:
            err = fut.exception()
            results[run.label] = (
                {"label": run.label, "failure": _failure(run.label, "analysis", err)}
                if err is not None
                else fut.result()
            )
            reissue(results[run.label].get("warnings", []))

        t.wait(futures, done)
    return results


def _analyse_run(cfg: StudyConfig, run: Run, adir: Path) -> tuple[dict, object]:
    """The analyses of one run: its summary entry and its diffusion dataset (None without diffusion).

    Reused from ``analysis/<label>.analysis.json`` when nothing that determines them changed
    (`workflow.analysis_cache`); their warnings are raised again either way.
    """
    from . import analysis_cache
    from .execution import collect_warnings, reissue

    key = analysis_cache.analysis_key(cfg, run)
    cached = analysis_cache.load_cached(adir, run.label, key)
    if cached is not None:
        reissue([tuple(w) for w in cached["warnings"]])
        diff = adir / f"{run.label}_diffusion.nc"
        if "diffusion" in cfg.analyses and diff.exists():
            import xarray as xr

            return cached["entry"], xr.load_dataset(diff, engine="h5netcdf")
        return cached["entry"], None
    since = time.time_ns() - 1_000_000_000  # file-system clocks are coarse: a margin, not a race
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        entry, ds = _compute_analyses(cfg, run, adir)
    notes = collect_warnings(caught)
    reissue(notes)
    analysis_cache.store(adir, run.label, key, entry, notes, since)
    return entry, ds


def _compute_analyses(cfg: StudyConfig, run: Run, adir: Path) -> tuple[dict, object]:
    """The analyses of one run, computed (see `_analyse_run`)."""
    from ..analysis.bound_atoms import check_bound
    from ..analysis.cage_diffusion import demote_if_caged
    from ..analysis.conductivity import conductivity, conductivity_fields
    from ..analysis.diffusion import diffusion
    from ..analysis.vdos import vdos, vdos_summary
    from ..results import nonnegative_fields, save_dataset
    from ..trajectory.io import read_trajectory

    diff_ds = None
    mobile = cfg.mobile_species
    temp, traj = run.temperature, read_trajectory(run.path)
    label = run.label
    entry: dict = {
        "temperature_K": temp,
        "frames": traj.n_frames,
        "dt_fs": traj.dt,
        "duration_ps": traj.n_frames * traj.dt / 1000.0,
        "protocol": run.protocol,
    }
    # a frozen host does not move: its species have no VDOS or D, and a GDOS of Li alone would
    # mislead; analyse the mobile species only
    frozen = run.protocol == "frozen-host"
    species = [mobile] if frozen and mobile in traj.species else None
    msd_d: dict = {}
    if "diffusion" in cfg.analyses:
        ds = diffusion(traj, species)
        save_dataset(ds, adir / f"{label}_diffusion.nc")
        diff_ds = ds
        msd_d = {
            s: (float(ds.D.sel(species=s)), float(ds.D_err.sel(species=s)), bool(ds.fit_range_ok.sel(species=s)))
            for s in ds.species.values
        }
        entry["diffusion"] = {
            s: {
                **nonnegative_fields(d, d_err, regime_ok=ok),
                "fit_range_fs": [float(ds.fit_start.sel(species=s)), float(ds.fit_stop.sel(species=s))],
                "fit_range_ok": ok,
            }
            for s, (d, d_err, ok) in msd_d.items()
        }
        if mobile in traj.species:
            cage = _cage_diffusion(traj, mobile, adir / f"{label}_cage_diffusion.nc")
            if cage:
                entry["cage_diffusion"] = cage
                if mobile in entry["diffusion"]:  # no cage change: the plain MSD is not long-range diffusion
                    entry["diffusion"][mobile] = demote_if_caged(entry["diffusion"][mobile], cage, "fit_range_ok")
                _check_cage_agreement(label, entry["diffusion"].get(mobile), cage)
        # S of a reorienting PS4 (any atom bound to a centre that does not diffuse) is not diffusive
        entry["diffusion"] = check_bound(traj, entry["diffusion"], [mobile], "fit_range_ok")
        msd_d = {s: (*v[:2], entry["diffusion"][s]["fit_range_ok"]) for s, v in msd_d.items()}  # as restated
        if mobile in traj.species:
            c = conductivity(traj, mobile, temperature=temp, tracer=ds)
            save_dataset(c, adir / f"{label}_conductivity.nc")
            entry["conductivity"] = conductivity_fields(c, bool(entry["diffusion"].get(mobile, {}).get("fit_range_ok")))
            entry["conductivity"].update(
                carrier_density_cm3=float(c.carrier_density.sel(species=mobile)),
                charge_e=float(c.charge.sel(species=mobile)),
            )
    run_vdos = None
    if "vdos" in cfg.analyses:
        run_vdos = vdos(traj, species)
        save_dataset(run_vdos, adir / f"{label}_vdos.nc")
        lowest = _lowest_phonon(traj, mobile) if run.protocol == "free" else None
        if lowest:
            entry["lowest_phonon"] = lowest
        entry["vdos"] = vdos_summary(run_vdos, temperature=temp, lowest_phonon=lowest, msd_D=msd_d)["species"]
    if "neutron" in cfg.analyses and not frozen:
        entry["neutron"] = _neutron(cfg, traj, run_vdos, adir / label)
    if "mechanism" in cfg.analyses and run.protocol == "free":
        from .mechanism import mechanism

        entry["mechanism"] = mechanism(traj, mobile, adir / label)
    return entry, diff_ds


def _cage_diffusion(traj, mobile: str, path: Path) -> dict | None:
    """D of `mobile` from its cage-to-cage MSD (`analysis.cage_diffusion`) when the material has cages."""
    from ..analysis.cage_diffusion import cage_diffusion, cage_sites, cage_summary
    from ..results import save_dataset

    sites = cage_sites(traj, mobile)
    if sites is None:
        return None
    ds = cage_diffusion(traj, sites, mobile)
    save_dataset(ds, path)
    return cage_summary(ds)


def _cage_rate_arrhenius(results: dict, mobile: str) -> dict | None:
    """E_a of the cage-change rate of the free runs (`analysis.arrhenius.rate_arrhenius`: Poisson counts in
    ions × ps, runs without a cage change included), with the rate per ion at 300 K (1/ps, ×/÷ its 1σ factor).
    None without cage counts, or with cage changes at fewer than two temperatures.
    """
    from ..analysis.arrhenius import rate_arrhenius
    from ..errors import InputError

    free = sorted(
        (r for r in results.values() if r.get("protocol") == "free" and (r.get("cage_diffusion") or {}).get("ions")),
        key=lambda r: r["temperature_K"],
    )
    temps = [float(r["temperature_K"]) for r in free]
    counts = [int(r["cage_diffusion"]["cage_changes"]) for r in free]
    exposure = [float(r["cage_diffusion"]["ions"] * r["duration_ps"]) for r in free]
    try:
        fit = rate_arrhenius(temps, counts, exposure)
    except InputError:
        return None
    return {"species": mobile, "temperatures_K": temps, "cage_changes": counts, "exposure_ion_ps": exposure, **fit}


def _check_cage_agreement(label: str, msd: dict | None, cage: dict) -> None:
    """Warn when a diffusive plain-MSD D and a resolved cage-to-cage D of the same run differ by > 2σ."""
    from ..results import fit_value, positive_text

    if not msd or not msd["fit_range_ok"] or not cage["resolved"]:
        return
    d, d_err = fit_value(msd)
    gap = (d - cage["D"]) / float(np.hypot(d_err, cage["D_err"]))
    cage["msd_minus_cage_sigma"] = float(gap)
    if abs(gap) > 2.0:
        warnings.warn(
            f"{label}: the MSD D ({positive_text(d, d_err)} cm²/s) and the cage-to-cage D "
            f"({cage['D']:.3g} ± {cage['D_err']:.2g} cm²/s) differ by {gap:+.1f}σ: the two MSDs, which share their "
            "long-time slope, have not reached it yet (Li still exploring their cages, or too few cage "
            "changes); a longer run settles it (docs/diffusion.md)",
            RuntimeWarning,
            stacklevel=2,
        )


def _series(cfg: StudyConfig, results: dict, diff_sets: dict, adir: Path) -> dict:
    """Across runs: the enhancement rows, the Arrhenius fit of the free runs and the VDOS exponent series."""
    from ..results import save_dataset

    series: dict = {}
    mobile = cfg.mobile_species
    enhancement = _enhancement(diff_sets, mobile, results)
    if enhancement:
        from .findings import enhancement_at

        series["phonon_enhancement"] = enhancement
        series["phonon_enhancement_300K"] = enhancement_at(enhancement)
        pot = _carded_potential(cfg)
        if pot is not None:
            from ..potentials.lammps_potentials import frozen_host_reference

            # the potential's D_free/D_frozen against its teacher's, from its card: what this study's ratios inherit
            reference = frozen_host_reference(pot)
            if reference is not None:
                series["potential_frozen_host_check"] = reference
    free_sets = {r.temperature: ds for r, ds in diff_sets.items() if r.protocol == "free"}
    free_runs = {r.temperature: r for r in diff_sets if r.protocol == "free"}
    temps = sorted(free_sets)
    arr = None
    if len(temps) >= 2 and any(mobile in ds.species.values for ds in free_sets.values()):
        from ..analysis.arrhenius import arrhenius_from_datasets

        try:
            arr = arrhenius_from_datasets([free_sets[t] for t in temps], species=mobile, temperatures=temps)
        except InputError as err:
            warnings.warn(f"no Arrhenius fit of D_{mobile}: {err}", RuntimeWarning)
    if arr is not None:
        save_dataset(arr, adir / "arrhenius.nc")
        series["arrhenius"] = {
            "species": mobile,
            "E_a": float(arr.E_a),
            "E_a_err": float(arr.E_a_err),
            "D0": float(arr.prefactor),
            "D0_err": float(arr.prefactor_err),
            "D_300K": float(arr.predicted[0]),
            "D_300K_err": float(arr.predicted_err[0]),
            "D_300K_extrapolated": bool(arr.extrapolated[0]),
            # the summary's flag, after the cage count: a run with fewer than 10 cage changes is not diffusive
            "all_fit_ranges_diffusive": all(
                bool(
                    ((results.get(free_runs[t].label) or {}).get("diffusion") or {}).get(mobile, {}).get("fit_range_ok")
                )
                for t in temps
            ),
        }
    cage_arr = _cage_arrhenius(results, mobile, adir)
    if cage_arr:
        series["arrhenius_cage"] = cage_arr
    cage_rate = _cage_rate_arrhenius(results, mobile)
    if cage_rate:
        series["arrhenius_cage_rate"] = cage_rate
    free = sorted(
        (r for r in results.values() if r["protocol"] == "free" and r.get("vdos")), key=lambda r: r["temperature_K"]
    )
    if len(free) >= 2:
        from ..analysis.vdos_series import series_dataset

        names = list(free[0]["vdos"])
        ser = series_dataset([r["temperature_K"] for r in free], names, [[r["vdos"][n] for n in names] for r in free])
        save_dataset(ser, adir / "vdos_series.nc")
        series["vdos_series"] = {
            "units": {"T_K": "K"},
            "crossover": {
                n: {
                    "T_K": float(ser.crossover_temperature.sel(name=n)),
                    "T_err_K": float(ser.crossover_temperature_err.sel(name=n)),
                    "laws": {f"{t:g}": str(law) for t, law in zip(ser.temperature.values, ser.law.sel(name=n).values)},
                }
                for n in names
            },
        }
    return series


def _cage_arrhenius(results: dict, mobile: str, adir: Path) -> dict | None:
    """Arrhenius fit of the resolved cage-to-cage D of the free runs (`analysis.cage_diffusion`), written to
    analysis/arrhenius_cage.nc: E_a (eV), D₀ and D(300 K) (cm²/s) and the Nernst–Einstein σ(300 K) (mS/cm, H_R = 1,
    the carrier density of the free runs). Needs ≥ 2 temperatures with a resolved D_cage; the free runs without one
    are listed under "unresolved_K". None for materials without cages or with fewer resolved runs.
    """
    from ..analysis.arrhenius import arrhenius
    from ..analysis.conductivity import conductivity_prefactor
    from ..results import save_dataset

    free = {float(r["temperature_K"]): r for r in results.values() if r.get("protocol") == "free"}
    cages = {t: r["cage_diffusion"] for t, r in free.items() if r.get("cage_diffusion")}
    temps = sorted(t for t, c in cages.items() if c["resolved"])
    if len(temps) < 2:
        return None
    arr = arrhenius(temps, [cages[t]["D"] for t in temps], [cages[t]["D_err"] for t in temps], "D")
    save_dataset(arr, adir / "arrhenius_cage.nc")
    d300, d300_err = float(arr.predicted[0]), float(arr.predicted_err[0])
    out = {
        "species": mobile,
        "D_from": "cage-to-cage MSD",
        "temperatures_K": temps,
        "cage_changes": [int(cages[t]["cage_changes"]) for t in temps],
        "unresolved_K": sorted(t for t in cages if t not in temps),
        "E_a": float(arr.E_a),
        "E_a_err": float(arr.E_a_err),
        "D0": float(arr.prefactor),
        "D0_err": float(arr.prefactor_err),
        "D_300K": d300,
        "D_300K_err": d300_err,
        "D_300K_extrapolated": bool(arr.extrapolated[0]),
        "chi2_dof": float(arr.chi2_dof) if np.isfinite(float(arr.chi2_dof)) else None,  # None: two points
    }
    cond = free[temps[0]].get("conductivity") or {}
    if cond.get("carrier_density_cm3") and cond.get("charge_e"):
        pref = conductivity_prefactor(float(cond["carrier_density_cm3"]) * 1e-24, float(cond["charge_e"]), 300.0)
        out.update(sigma_NE_300K=pref * d300, sigma_NE_300K_err=pref * d300_err)
    return out


def _lowest_phonon(traj, mobile: str) -> dict | None:
    """The cell's lowest phonon (`finite_size.lowest_phonon` of the host) or None when it cannot be had."""
    from ..analysis.finite_size import lowest_phonon

    if traj.velocities is None:
        return None
    try:
        return lowest_phonon(traj, mobile=(mobile,))
    except InputError as err:
        warnings.warn(
            f"lowest phonon of the cell not estimated ({err}): the low-frequency law is not checked "
            "against the cell size",
            RuntimeWarning,
            stacklevel=2,
        )
        return None


def _enhancement(diff_sets: dict, mobile: str, results: dict | None = None) -> dict:
    """D_mobile(free)/D_mobile(protocol) ± σ per suppressed run (errors propagated in quadrature).

    diff_sets maps each `Run` to its diffusion dataset. A row also gives the host reference the suppressed
    run used (`host_reference`, from its run.json; 'mean' for runs made before the choice existed) and, for
    tethered runs, `stiffness_eV_per_A2`. When the suppressed run's MSD has not reached its diffusive regime but
    bends over (concave, `analysis.subdiffusion.late_slope_bound`), the row carries `D_suppressed_upper` and the
    lower bound `ratio_lower` = (D_free − 2σ)/D_suppressed_upper: a caged run makes the ratio a bound, not a number.
    When both runs have a resolved cage-to-cage D (`results[label]['cage_diffusion']`, materials with cages),
    the row also carries `ratio_cage` ± `ratio_cage_err` = D_cage(free)/D_cage(suppressed), the same estimator
    on both sides, with the cage changes counted in each run. Runs of several frozen hosts (`Run.host_sample`) give
    one row under their group label (T600K-frozen-host): D_suppressed (and the cage D, the bound) is their mean, σ
    = max(√Σσ_k²/N, std(D_k)/√N), so the hosts' spread enters; `host_samples` N and the hosts' values
    (`D_suppressed_hosts`, `ratio_hosts`) are kept.
    """
    free_run = {r.temperature: r for r in diff_sets if r.protocol == "free"}
    groups: dict[str, list] = {}
    for run, ds in diff_sets.items():
        if run.protocol == "free" or run.temperature not in free_run or mobile not in ds.species.values:
            continue
        groups.setdefault(run.group, []).append(run)
    out = {}
    for group, runs in groups.items():
        parts = [_suppressed_part(run, diff_sets[run], mobile, results) for run in runs]
        if len(parts) == 1 and runs[0].host_sample is None:
            out[runs[0].label] = _enhancement_row(
                runs[0], diff_sets[free_run[runs[0].temperature]], parts[0], mobile, results
            )
            continue
        free = diff_sets[free_run[runs[0].temperature]]
        row = _enhancement_row(runs[0], free, _merge_hosts(parts), mobile, results)
        a = float(free.D.sel(species=mobile))
        row["host_samples"] = len(parts)
        row["D_suppressed_hosts"] = [p["D"] for p in parts]
        row["ratio_hosts"] = [a / p["D"] if p["D"] > 0 else float("nan") for p in parts]
        out[group] = row
    return out


def _suppressed_part(run: Run, ds, mobile: str, results: dict | None) -> dict:
    """What one suppressed run contributes to its enhancement row: its D (cm²/s) and σ, whether diffusive, its
    late-slope bound (a function: computed where the row needs it), its cage D where resolved, and its run.json.
    """
    from ..analysis.subdiffusion import late_slope_bound

    ok = bool(ds.fit_range_ok.sel(species=mobile))
    info = {}
    if run.path is not None and (run.path.parent / "run.json").exists():
        info = json.loads((run.path.parent / "run.json").read_text())
    return {
        "D": float(ds.D.sel(species=mobile)),
        "D_err": float(ds.D_err.sel(species=mobile)),
        "ok": ok,
        # computed only where the row needs it (a short run has too few points for the late fit ranges)
        "bound": lambda: late_slope_bound(ds, mobile),
        "cage": ((results or {}).get(run.label) or {}).get("cage_diffusion") or {},
        "info": info,
    }


def _merge_hosts(parts: list[dict]) -> dict:
    """One `_suppressed_part` from the runs of several frozen hosts (`results.mean_with_spread`)."""
    from ..results import mean_with_spread

    d, err = mean_with_spread([p["D"] for p in parts], [p["D_err"] for p in parts])
    ok = all(p["ok"] for p in parts)

    def bound() -> dict:
        """The mean of upper bounds bounds the mean: a diffusive host's D + 2σ, a caged one's late slope."""
        each = [None if p["ok"] else p["bound"]() for p in parts]
        valid = all(b["valid"] for b in each if b is not None)
        uppers = [p["D"] + 2 * p["D_err"] if b is None else b["D_upper"] for p, b in zip(parts, each, strict=True)]
        return {
            "valid": valid,
            "D_upper": float(np.mean(uppers)) if valid else float("nan"),
            "reason": "; ".join(dict.fromkeys(b["reason"] for b in each if b is not None)),
        }

    cage: dict = {}
    if all(p["cage"].get("resolved") for p in parts):
        c, ce = mean_with_spread([p["cage"]["D"] for p in parts], [p["cage"]["D_err"] for p in parts])
        cage = {"resolved": True, "D": c, "D_err": ce, "cage_changes": sum(p["cage"]["cage_changes"] for p in parts)}
    return {"D": d, "D_err": err, "ok": ok, "bound": bound, "cage": cage, "info": parts[0]["info"]}


def _enhancement_row(run: Run, free, part: dict, mobile: str, results: dict | None) -> dict:
    """The enhancement row of a suppressed run (or its hosts, merged) against its free run's diffusion `free`."""
    from ..results import nonnegative_fields

    free_label = _label(run.temperature)
    a, sa = float(free.D.sel(species=mobile)), float(free.D_err.sel(species=mobile))
    b, sb = part["D"], part["D_err"]
    ratio = a / b if b > 0 else float("nan")
    err = abs(ratio) * float(np.hypot(sa / a, sb / b)) if a > 0 and b > 0 else float("nan")
    free_ok, sup_ok = bool(free.fit_range_ok.sel(species=mobile)), part["ok"]
    row = {
        "temperature_K": run.temperature,
        "protocol": run.protocol,
        "species": mobile,
        # the MSD slopes behind the ratio: stored as D only when resolved and diffusive (nonnegative_fields)
        **nonnegative_fields(a, sa, "D_free", regime_ok=free_ok),
        **nonnegative_fields(b, sb, "D_suppressed", regime_ok=sup_ok),
        "ratio": ratio,
        "ratio_err": err,
        "fit_ranges_diffusive": free_ok and sup_ok,
    }
    if free_ok and not sup_ok:
        bound = part["bound"]()
        row["bound_reason"] = bound["reason"]
        if bound["valid"] and a - 2 * sa > 0:
            row["D_suppressed_upper"] = bound["D_upper"]
            row["ratio_lower"] = (a - 2 * sa) / bound["D_upper"]
    cages = [((results or {}).get(free_label) or {}).get("cage_diffusion") or {}, part["cage"]]
    if all(c.get("resolved") for c in cages):
        (fa, fsa), (fb, fsb) = ((c["D"], c["D_err"]) for c in cages)
        row["ratio_cage"] = fa / fb
        row["ratio_cage_err"] = fa / fb * float(np.hypot(fsa / fa, fsb / fb))
        row["D_free_cage"], row["D_free_cage_err"] = fa, fsa
        row["D_suppressed_cage"], row["D_suppressed_cage_err"] = fb, fsb
        row["cage_changes"] = [cages[0]["cage_changes"], cages[1]["cage_changes"]]
    info = part["info"]
    if info:
        desc = info.get("protocol")  # the LAMMPS engine records the choice in the settings' metadata
        if not isinstance(desc, dict):
            desc = info.get("settings", {}).get("metadata", {}).get("host_reference") or {}
        if run.protocol in ("frozen-host", "tethered"):
            row["host_reference"] = desc.get("host_reference", "mean")
        if run.protocol == "tethered":
            settings = info.get("settings", {})
            row["stiffness_eV_per_A2"] = float(desc.get("stiffness_eV_per_A2", settings.get("tether_stiffness")))
    return row


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
    save_dataset(
        fqt.drop_vars([v for v in ("F_inc_blocks", "F_s_blocks") if v in fqt]), stem.with_name(stem.name + "_fqt.nc")
    )
    save_dataset(sqe, stem.with_name(stem.name + "_sqe.nc"))
    out["sqe_resolution_fwhm_meV"] = float(sqe.attrs["effective_resolution_fwhm_meV"])
    return out


#: the analysis files a study writes (analysis/<run>_<kind>.nc and the series files)
_STUDY_OUTPUT = re.compile(
    r"^((T[^_/]+K[^_/]*_[A-Za-z0-9_]+|arrhenius|arrhenius_cage|vdos_series)\.nc(\.part)?|T[^_/]+K[^_/]*\.analysis\.json)$"
)


def _remove_stale_outputs(adir: Path, since_ns: int) -> list[str]:
    """Remove the study's analysis files not rewritten since `since_ns` (runs no longer in the study,
    analyses no longer asked for, a failed run's old files); return their names.
    """
    removed = []
    for p in sorted([*adir.glob("*.nc*"), *adir.glob("*.analysis.json")]):
        if _STUDY_OUTPUT.match(p.name) and p.stat().st_mtime_ns < since_ns:
            p.unlink()
            removed.append(f"analysis/{p.name}")
    return removed


def _runs_not_in_study(out: Path, labels: set[str]) -> list[str]:
    """MD run folders under out/md that the study no longer asks for (kept, not analysed)."""
    md = out / "md"
    if not md.is_dir():
        return []
    return sorted(
        f"md/{p.name}"
        for p in md.iterdir()
        if p.is_dir() and not p.name.startswith(".") and p.name not in labels and (p / "run.json").exists()
    )


def run_study(
    cfg: StudyConfig, output: str | Path | None = None, progress: Progress | None = None, *, overwrite: bool = False
) -> Path:
    """Run the whole study; returns the path of report.html.

    The output folder is locked for the study's lifetime (another process gets a FolderLockedError).
    summary.json and report.html of an earlier run are removed once the MD settings are checked, and
    written anew at the end (a killed study leaves none, rather than one that does not match the files).
    Runs that fail are listed in summary.json["failed_runs"] and the report; the rest is analysed.
    `overwrite`: finished runs made with other settings are moved to md/.replaced/ instead of refused.
    """
    from ..md.lock import folder_lock

    out = Path(output or cfg.output)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputError(f"cannot create the output folder {out}: {err}") from None
    with folder_lock(out, f"superionic run ({cfg.name})"):
        check_md_stage(cfg, out, overwrite)  # refuse before anything is touched
        for name in ("summary.json", "report.html"):
            (out / name).unlink(missing_ok=True)
        return _run_study(cfg, out, progress, overwrite)


@contextmanager
def _parallel(cfg: StudyConfig, out: Path):
    """None for a serial study; else one Parsl session (workers) shared by its MD and analysis stages."""
    if cfg.execution.executor == "serial":
        yield None
        return
    with _session(cfg, out) as t:
        yield t


def _run_study(cfg: StudyConfig, out: Path, progress: Progress | None, overwrite: bool) -> Path:
    timings: dict[str, float] = {}
    failed: list[dict] = []
    replaced: list[dict] = []
    t0 = time.time()
    adir = out / "analysis"
    with warnings.catch_warnings(record=True) as caught, _parallel(cfg, out) as tasks:
        warnings.simplefilter("always")
        _warn_about_potential(cfg)
        runs = run_md_stage(cfg, out, progress, overwrite=overwrite, failed=failed, replaced=replaced, tasks=tasks)
        timings["md_s"] = time.time() - t0
        t1 = time.time()
        adir.mkdir(parents=True, exist_ok=True)
        marker = adir / ".analysis-started"
        marker.write_text(time.strftime("%Y-%m-%dT%H:%M:%S"))
        since = marker.stat().st_mtime_ns  # the file system's clock, as the outputs' mtimes
        results = run_analysis_stage(cfg, runs, out, failed=failed, tasks=tasks)
        timings["analysis_s"] = time.time() - t1
        lattice = None
        if "lattice" in cfg.analyses:
            from .lattice_stage import run_lattice_stage

            t_lat = time.time()
            lattice = run_lattice_stage(cfg, runs, out, failed=failed, progress=progress, results=results, tasks=tasks)
            timings["lattice_s"] = time.time() - t_lat
    stale = _remove_stale_outputs(adir, since)
    marker.unlink(missing_ok=True)
    labels = {p.label for p in _plan(cfg, out)[0]}
    # our own warnings (resolution, finite differences …) go to the summary and the report, once each;
    # third-party chatter (torch, pymatgen deprecations) is dropped
    notes = list(
        dict.fromkeys(
            str(w.message)
            for w in caught
            if "superionic" in (w.filename or "") and not issubclass(w.category, (DeprecationWarning, FutureWarning))
        )
    )
    from ..potentials import get_potential
    from .findings import findings

    summary = {
        "superionic": __version__,
        "versions": versions(),
        "config": cfg.model_dump(),
        "potential": get_potential(cfg.potential).identity(),
        "findings": findings(results, cfg.mobile_species),
        "results": results,
        "units": {
            "temperature": "K",
            "D": "cm2/s",
            "sigma": "mS/cm",
            "E_a": "eV",
            "g0": "1/THz",
            "band_centre": "meV",
            "time": "fs",
            "fit_range": "fs",
        },
        "timings": timings,
        "warnings": notes,
        "failed_runs": failed,
        "replaced_runs": replaced,
        "removed_stale_outputs": stale,
        "md_runs_not_in_study": _runs_not_in_study(out, labels),
    }
    if lattice is not None:
        summary["lattice"] = lattice  # workflow.lattice_stage: phonons, per free run, series, units
    t2 = time.time()
    from ..report.html import write_report

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # figures refit what the analysis stage already reported
        report = write_report(out, summary)
    timings["report_s"] = time.time() - t2
    timings["total_s"] = time.time() - t0
    from ..results import write_json

    write_json(out / "summary.json", summary)
    return report
