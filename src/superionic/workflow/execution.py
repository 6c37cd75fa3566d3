"""Run a study's MD runs and analyses as Parsl tasks (`execution:` block; docs/parallel.md).

`executor: serial` (the default) starts nothing: the study runs in its own process as before. `local` starts a
Parsl HighThroughputExecutor whose `workers` processes run on this machine (LocalProvider); `slurm` starts the
same executor in SLURM jobs (SlurmProvider, `workers` per node). Workers are processes, not threads: each MD run
holds its own calculator or LAMMPS instance. Parsl's own files (logs, worker logs) go to ``<study>/runinfo/``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future
from concurrent.futures import wait as wait_futures
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .config import ExecutionConfig

LABEL = "superionic"
#: seconds between the heartbeats of `Tasks.wait` (running tasks' steps, read from their progress files)
TICK_S = 60.0


def _launch_cmd() -> str | None:
    """Parsl's worker command started with this interpreter (no reliance on PATH); None: Parsl's default."""
    try:
        from parsl.executors.high_throughput.executor import DEFAULT_LAUNCH_CMD
    except ImportError:
        return None
    head = "process_worker_pool.py "
    if not DEFAULT_LAUNCH_CMD.startswith(head):
        return None
    return f"{sys.executable} -m parsl.executors.high_throughput.process_worker_pool " + DEFAULT_LAUNCH_CMD[len(head) :]


def _watchdog(pid: int) -> str:
    """Shell line for a local block: end the block's process group (worker pool and runs) within 5 s once
    the study process `pid` is gone, so that a killed study leaves no worker holding a run folder.
    """
    return (
        f"( while kill -0 {pid} 2>/dev/null; do sleep 5; done; "
        "kill -TERM -- -$(ps -o pgid= -p $$ | tr -d ' ') ) >/dev/null 2>&1 &"
    )


def parsl_config(execution: ExecutionConfig, run_dir: str | Path):
    """The `parsl.config.Config` of a `local` or `slurm` execution block (nothing is started or submitted).

    run_dir: folder of Parsl's logs (the study's ``runinfo/``). A local executor sets OMP_NUM_THREADS of each
    worker to cpu_count // workers unless the environment already sets it, and its workers end when this
    process does (also when it is killed).
    """
    from parsl.config import Config
    from parsl.executors import HighThroughputExecutor
    from parsl.launchers import SingleNodeLauncher, SrunLauncher
    from parsl.providers import LocalProvider, SlurmProvider

    if execution.executor == "local":
        threads = max(1, (os.cpu_count() or 1) // execution.workers)
        provider: Any = LocalProvider(
            init_blocks=1,
            min_blocks=1,
            max_blocks=1,
            launcher=SingleNodeLauncher(),
            worker_init=f"export OMP_NUM_THREADS=${{OMP_NUM_THREADS:-{threads}}}\n{_watchdog(os.getpid())}",
        )
        launch_cmd = _launch_cmd()
    elif execution.executor == "slurm":
        s = execution.slurm
        provider = SlurmProvider(
            partition=s.partition,
            account=s.account,
            walltime=s.walltime,
            nodes_per_block=s.nodes_per_block,
            init_blocks=1,
            min_blocks=0,
            max_blocks=s.max_blocks,
            worker_init=s.worker_init,
            scheduler_options=s.scheduler_options,
            launcher=SrunLauncher(),
        )
        launch_cmd = None  # the nodes' own environment (worker_init) provides process_worker_pool.py
    else:
        raise ValueError(f"executor {execution.executor!r} runs without Parsl")
    htex = HighThroughputExecutor(
        label=LABEL,
        provider=provider,
        max_workers_per_node=execution.workers,
        cores_per_worker=1,
        launch_cmd=launch_cmd,
        worker_logdir_root=str(Path(run_dir) / "workers"),
    )
    # a local block starts at the first poll: poll each second here, every 5 s on a cluster (squeue)
    period = 1.0 if execution.executor == "local" else 5.0
    return Config(
        executors=[htex], run_dir=str(run_dir), retries=0, strategy="simple", strategy_period=period, max_idletime=60.0
    )


def check_cores(execution: ExecutionConfig, ranks: int) -> None:
    """Warn when a local executor asks for more cores (workers × LAMMPS ranks) than this machine has."""
    cores = os.cpu_count() or 1
    if execution.executor == "local" and execution.workers * ranks > cores:
        warnings.warn(
            f"execution: {execution.workers} workers × {ranks} rank(s) per run = {execution.workers * ranks} "
            f"processes on {cores} cores: runs will compete for cores (lower workers or ranks)",
            RuntimeWarning,
            stacklevel=2,
        )


class Tasks:
    """Submit functions as Parsl python apps to the loaded executor; count what finished."""

    def __init__(self, dfk: Any, capacity: int | None = None) -> None:
        self._dfk = dfk
        self.capacity = capacity  # tasks that can run at once (local workers), None when unknown (a cluster)
        self._apps: dict[Callable, Any] = {}
        self.submitted = 0

    def submit(self, fn: Callable, *args: Any, **kwargs: Any) -> Future:
        """Run fn(*args, **kwargs) on a worker; futures among the arguments are waited for (their results are
        passed in their place). fn must be importable (a module-level function).
        """
        from parsl import python_app

        app = self._apps.get(fn)
        if app is None:
            app = self._apps[fn] = python_app(fn, data_flow_kernel=self._dfk, executors=[LABEL])
        self.submitted += 1
        return app(*args, **kwargs)

    def running(self, futures: Iterable[Future]) -> int:
        """Futures handed to the executor and not finished (Parsl's 'launched' or 'running' state), at most the
        `capacity` (Parsl launches tasks ahead of free workers, to its interchange's queue).
        """
        n = 0
        for f in futures:
            status = getattr(f, "task_status", lambda: "")()
            n += not f.done() and status in ("launched", "running")
        return n if self.capacity is None else min(n, self.capacity)

    def wait(
        self,
        futures: dict[Future, Any],
        on_done: Callable[[Future, Any, int], None],
        on_tick: Callable[[list[Any], int], None] | None = None,
        tick_s: float | None = None,
    ) -> None:
        """Wait for every future; as each finishes, on_done(future, its key, tasks still running). on_tick(keys of
        the unfinished futures, tasks running) after every `tick_s` seconds (default `TICK_S`) without one finishing:
        a heartbeat that says what the running tasks have done so far (e.g. from their `task_progress` files).
        """
        timeout = (TICK_S if tick_s is None else tick_s) if on_tick else None
        pending = set(futures)
        while pending:
            done, pending = wait_futures(pending, timeout=timeout, return_when=FIRST_COMPLETED)
            for fut in done:
                on_done(fut, futures[fut], self.running(f for f in futures if not f.done()))
            if not done and on_tick is not None:
                on_tick([futures[f] for f in pending], self.running(pending))


def throttled(fn: Callable[[int, int], None], every_s: float) -> Callable[[int, int], None]:
    """fn(done, total), passed on at most every `every_s` seconds, the first call and the end (done ≥ total) always."""
    last = [-float("inf")]

    def call(done: int, total: int) -> None:
        now = time.monotonic()
        if done >= total or now - last[0] >= every_s:
            last[0] = now
            fn(done, total)

    return call


def task_progress(path: str | Path, every_s: float = 5.0) -> Callable[[int, int], None]:
    """A progress callback (done, total) for a task on a worker: writes {"done", "total"} to `path` as JSON,
    atomically, at most every `every_s` seconds and at the end; `read_task_progress` reads it.
    """
    from ..results import atomic_write

    def write(done: int, total: int) -> None:
        text = json.dumps({"done": int(done), "total": int(total)})
        atomic_write(path, lambda tmp: Path(tmp).write_text(text))

    return throttled(write, every_s)


def read_task_progress(path: str | Path) -> tuple[int, int] | None:
    """(done, total) that a task's `task_progress` last wrote to `path`; None before its first write."""
    try:
        d = json.loads(Path(path).read_text())
        return int(d["done"]), int(d["total"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


@contextmanager
def parsl_session(execution: ExecutionConfig, run_dir: str | Path) -> Iterator[Tasks]:
    """Load the Parsl configuration of `execution` (workers start) and yield a `Tasks`; the executor is shut
    down and Parsl cleared on leaving, also after an error.
    """
    import parsl

    Path(run_dir).mkdir(parents=True, exist_ok=True)
    dfk = parsl.load(parsl_config(execution, run_dir))
    guard = _guard_interchange(dfk)
    try:
        yield Tasks(dfk, execution.workers if execution.executor == "local" else None)
    finally:
        try:
            dfk.cleanup()
        finally:
            parsl.clear()
            if guard is not None:
                os.killpg(guard.pid, signal.SIGKILL)
                guard.wait()


def _guard_interchange(dfk: Any) -> subprocess.Popen | None:
    """A detached shell that ends Parsl's interchange (a child of this process) within 5 s once this process
    is gone (killed: no cleanup runs); its workers then end too (local: `_watchdog`; cluster: heartbeat).
    """
    proc = getattr(dfk.executors.get(LABEL), "interchange_proc", None)
    if proc is None:
        return None
    script = f"while kill -0 {os.getpid()} 2>/dev/null; do sleep 5; done; kill -TERM {proc.pid}"
    return subprocess.Popen(
        ["/bin/sh", "-c", script], start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def collect_warnings(caught: Iterable[warnings.WarningMessage]) -> list[tuple[str, str, str, int]]:
    """Warnings recorded in a worker as (message, category name, file, line): picklable, for `reissue`."""
    return [(str(w.message), w.category.__name__, w.filename or "", w.lineno or 0) for w in caught]


def reissue(records: Iterable[tuple[str, str, str, int]]) -> None:
    """Raise again, in this process, warnings a worker recorded (same text, category, file and line)."""
    import builtins

    for message, name, filename, lineno in records:
        category = getattr(builtins, name, None)
        if not (isinstance(category, type) and issubclass(category, Warning)):
            category = UserWarning
        warnings.warn_explicit(message, category, filename, lineno)
