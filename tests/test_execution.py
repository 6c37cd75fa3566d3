"""A study's runs as Parsl tasks (`execution:`): same runs as serial, reuse, dependencies, failures, SLURM config.

One local Parsl session (2 workers) is shared by the tests of this file: starting workers costs seconds.
The study is tiny: 52-atom Li6PS5Cl on the ASE Lennard-Jones test potential, 40 steps per run.
"""

import json

import numpy as np
import pytest

from superionic.errors import InputError
from superionic.md.lock import FolderLockedError
from superionic.results import fit_value
from superionic.workflow import StudyConfig, load_config
from superionic.workflow.config import ExecutionConfig
from superionic.workflow.execution import check_cores, parsl_config, parsl_session
from superionic.workflow.study import run_analysis_stage, run_md_stage

TINY = {
    "potential": "lj",
    "temperatures": [500.0, 700.0],
    "protocols": ["frozen-host"],
    "md": {"steps": 40, "stride": 2, "equilibration_steps": 10},
    "analyses": ["diffusion"],
}
LABELS = ["T500K", "T500K-frozen-host", "T700K", "T700K-frozen-host"]


def local(**kw):
    return StudyConfig(**TINY, execution={"executor": "local", "workers": 2}, **kw)


@pytest.fixture(scope="module")
def tasks(tmp_path_factory):
    with parsl_session(ExecutionConfig(executor="local", workers=2), tmp_path_factory.mktemp("parsl") / "runinfo") as t:
        yield t


@pytest.fixture(scope="module")
def studies(tmp_path_factory, tasks):
    """The same study run serially and as tasks (failures listed, progress lines recorded)."""
    root = tmp_path_factory.mktemp("studies")
    serial_failed: list = []
    serial = run_md_stage(StudyConfig(**TINY), root / "serial", failed=serial_failed)
    lines: list = []
    failed: list = []
    par = run_md_stage(local(), root / "par", progress=lambda *a: lines.append(a), failed=failed, tasks=tasks)
    return {"root": root, "serial": serial, "par": par, "failed": failed, "lines": lines, "sf": serial_failed}


def _run_json(path):
    return json.loads((path.parent / "run.json").read_text())


def test_tasks_make_the_same_runs_as_the_serial_path(studies):
    from superionic.trajectory import read_trajectory

    serial, par = studies["serial"], studies["par"]
    assert studies["failed"] == [] and studies["sf"] == []
    assert [r.label for r in par] == [r.label for r in serial] == LABELS
    root = studies["root"]
    for a, b in zip(serial, par):
        assert b.path == root / "par" / "md" / b.label / "trajectory.h5" and (a.temperature, a.protocol) == (
            b.temperature,
            b.protocol,
        )
        ta, tb = read_trajectory(a.path), read_trajectory(b.path)
        assert ta.n_frames == tb.n_frames == 20 and ta.dt == tb.dt
        sa, sb = _run_json(a.path)["settings"], _run_json(b.path)["settings"]
        if sa.get("reference"):  # the host reference is the free run of the study's own folder
            assert sb["reference"] == sa["reference"].replace(str(root / "serial"), str(root / "par"))
            sa, sb = {**sa, "reference": None}, {**sb, "reference": None}
        assert sa == sb
        assert _run_json(b.path)["status"] == "done"
    # progress is per task: 4 tasks, the last line says 4 done, none running or failed
    assert len(studies["lines"]) == 4 and studies["lines"][-1][0].startswith("MD tasks: 4 done, 0 running, 0 failed")
    assert [line[1:3] for line in studies["lines"]] == [(1, 4), (2, 4), (3, 4), (4, 4)]


def test_a_rerun_submits_nothing(studies, tasks):
    before = tasks.submitted
    mtimes = [r.path.stat().st_mtime_ns for r in studies["par"]]
    lines: list = []
    again = run_md_stage(local(), studies["root"] / "par", progress=lambda *a: lines.append(a[0]), tasks=tasks)
    assert tasks.submitted == before
    assert [r.path.stat().st_mtime_ns for r in again] == mtimes
    assert lines == [f"MD {label} (reused)" for label in LABELS]


def test_a_suppressed_run_starts_after_its_free_run_and_holds_its_mean_host(studies):
    from superionic.md import reference_from_trajectory
    from superionic.trajectory import read_trajectory

    par = {r.label: r for r in studies["par"]}
    for t in ("T500K", "T700K"):
        free, frozen = _run_json(par[t].path), _run_json(par[f"{t}-frozen-host"].path)
        assert frozen["started"] >= free["finished"]  # ISO times: the free run had finished
        assert frozen["protocol"]["reference_frames"] == free["frames"] == 20  # the whole free trajectory was read
        mean = reference_from_trajectory(par[t].path)["mean"]
        traj = read_trajectory(par[f"{t}-frozen-host"].path)
        host = np.array([s != "Li" for s in traj.symbols])
        np.testing.assert_allclose(traj.positions[0, host], mean[host], atol=1e-6)


def test_a_failed_free_run_is_recorded_and_the_others_finish(tmp_path, tasks):
    from superionic.md.lock import folder_lock

    failed: list = []
    with folder_lock(tmp_path / "md" / "T500K", "test"):  # another process holds the free run at 500 K
        runs = run_md_stage(local(), tmp_path, failed=failed, tasks=tasks)
    assert [r.label for r in runs] == ["T700K", "T700K-frozen-host"]
    assert [f["label"] for f in failed] == ["T500K", "T500K-frozen-host"]
    assert "in use by" in failed[0]["reason"] and failed[0]["stage"] == "md"
    assert failed[1]["reason"].startswith("not run: it takes its host from the free run T500K")
    # without a failure list the error reaches the caller, as on the serial path
    with folder_lock(tmp_path / "md" / "T500K", "test"), pytest.raises(FolderLockedError):
        run_md_stage(local(), tmp_path, tasks=tasks)


def test_analyses_as_tasks_give_the_serial_numbers(studies, tasks):
    root = studies["root"]
    serial = run_analysis_stage(StudyConfig(**TINY), studies["serial"], root / "serial", failed=[])
    failed: list = []
    par = run_analysis_stage(local(), studies["par"], root / "par", failed=failed, tasks=tasks)
    assert failed == [] and list(par) == list(serial)
    for label in LABELS:
        assert par[label]["frames"] == serial[label]["frames"] == 20
        assert set(par[label]["diffusion"]) == set(serial[label]["diffusion"])
        for s, d in serial[label]["diffusion"].items():
            assert fit_value(par[label]["diffusion"][s]) == pytest.approx(fit_value(d), rel=1e-6)
        assert (root / "par" / "analysis" / f"{label}_diffusion.nc").exists()
    assert set(par["series"]) == set(serial["series"]) and "phonon_enhancement" in par["series"]


def test_slurm_config_builds_without_submitting(tmp_path):
    from parsl.executors import HighThroughputExecutor
    from parsl.providers import SlurmProvider

    ex = ExecutionConfig(
        executor="slurm",
        workers=8,
        slurm={
            "partition": "cpu",
            "account": "proj42",
            "walltime": "02:30:00",
            "nodes_per_block": 2,
            "max_blocks": 3,
            "worker_init": "source ~/venv/bin/activate",
            "scheduler_options": "#SBATCH --constraint=amd",
        },
    )
    config = parsl_config(ex, tmp_path / "runinfo")
    assert config.run_dir == str(tmp_path / "runinfo")
    (htex,) = config.executors
    assert isinstance(htex, HighThroughputExecutor) and htex.max_workers_per_node == 8
    p = htex.provider
    assert isinstance(p, SlurmProvider)
    assert (p.partition, p.account, p.walltime, p.nodes_per_block, p.max_blocks) == ("cpu", "proj42", "02:30:00", 2, 3)
    assert p.worker_init.strip() == "source ~/venv/bin/activate" and "#SBATCH --constraint=amd" in p.scheduler_options
    assert not (tmp_path / "runinfo").exists()  # nothing started


def test_execution_block_is_read_and_not_in_the_cache_keys(tmp_path):
    base = StudyConfig(**TINY)
    assert base.execution.executor == "serial"  # the default starts no Parsl
    for protocol in ("free", "frozen-host"):
        assert local().md_hash(protocol) == base.md_hash(protocol)
    p = tmp_path / "s.yaml"
    p.write_text("material: Li6PS5Cl\ntemperatures: [500]\nexecution:\n  executor: slurm\n  slurm: {partition: cpu}\n")
    cfg = load_config(p)
    assert cfg.execution.executor == "slurm" and cfg.execution.slurm.partition == "cpu"
    p.write_text("material: Li6PS5Cl\ntemperatures: [500]\nexecution: {slurm: {walltime: 4:30:00}}\n")
    assert load_config(p).execution.slurm.walltime == "04:30:00"  # YAML 1.1 read it as 16200 (seconds)
    for bad, where in (
        ("execution: {executor: mpi}", "execution.executor"),
        ("execution: {workers: 0}", "execution.workers"),
        ("execution: {slurm: {walltime: 2h}}", "execution.slurm.walltime"),
    ):
        p.write_text(f"material: Li6PS5Cl\ntemperatures: [500]\n{bad}\n")
        with pytest.raises(InputError, match=where):
            load_config(p)


def test_more_processes_than_cores_warn(monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 4)
    with pytest.warns(RuntimeWarning, match="2 workers × 4 rank"):
        check_cores(ExecutionConfig(executor="local", workers=2), 4)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_cores(ExecutionConfig(executor="local", workers=2), 2)


def test_running_tasks_are_at_most_the_workers():
    """Parsl launches tasks ahead of free workers: 7 'launched' tasks on 2 local workers are 2 running."""
    from superionic.workflow.execution import Tasks

    class Fut:
        def __init__(self, status, done=False):
            self.status, self._done = status, done

        def done(self):
            return self._done

        def task_status(self):
            return self.status

    futures = [Fut("launched") for _ in range(7)] + [Fut("exec_done", True), Fut("pending")]
    assert Tasks(None, capacity=2).running(futures) == 2
    assert Tasks(None).running(futures) == 7  # a cluster: no known capacity


def test_wait_beats_while_tasks_run_and_reads_their_progress_files(tmp_path):
    """Each task writes its steps with `task_progress`, then blocks until the heartbeat has read them: the beat
    must come while nothing finishes, carry the unfinished keys and see (done, total); every task then finishes."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    from superionic.workflow.execution import Tasks, read_task_progress, task_progress

    seen = {k: threading.Event() for k in ("a", "b")}

    def work(key):
        task_progress(tmp_path / f"{key}.json")(3, 10)
        assert seen[key].wait(10.0)
        return key

    beats, finished = [], []

    def tick(keys, running):
        beats.append(sorted(keys))
        for k in keys:
            if read_task_progress(tmp_path / f"{k}.json") == (3, 10):
                seen[k].set()

    with ThreadPoolExecutor(2) as pool:
        futures = {pool.submit(work, k): k for k in seen}
        Tasks(None, capacity=2).wait(futures, lambda f, k, n: finished.append((f.result(), k)), tick, tick_s=0.05)
    assert beats and beats[0] == ["a", "b"]
    assert sorted(finished) == [("a", "a"), ("b", "b")]
    assert read_task_progress(tmp_path / "none.json") is None


def test_task_progress_writes_at_most_every_interval_and_always_the_end(tmp_path):
    from superionic.workflow.execution import read_task_progress, task_progress

    note = tmp_path / "p" / "run.json"
    update = task_progress(note, every_s=3600.0)
    update(1, 100)
    update(50, 100)  # within the interval: not written
    assert read_task_progress(note) == (1, 100)
    update(100, 100)  # the end is always written
    assert read_task_progress(note) == (100, 100)
    assert sorted(p.name for p in note.parent.iterdir()) == ["run.json"]  # no temporary file left


def test_parallel_md_tasks_report_their_steps_and_clear_their_notes(studies):
    """Each MD task wrote its steps to runinfo/progress/<label>.json (the folder exists) and removed the note when
    it ended."""
    notes = studies["root"] / "par" / "runinfo" / "progress"
    assert notes.is_dir() and list(notes.iterdir()) == []
