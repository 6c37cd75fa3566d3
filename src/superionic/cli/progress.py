"""Progress of long work on stderr: a live bar (rich) on a terminal, plain timestamped lines in a log file.

A batch job (SLURM, nohup, a redirected stderr) gets a line when the part of the work under way changes, when it
ends, and at most every `LOG_EVERY_S` seconds in between, so that a log shows where a long run stands.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

LOG_EVERY_S = 60.0


def _clock(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


class LogLines:
    """Plain progress lines for a non-terminal stream: `label · what: done/total unit (p %), elapsed, left`.

    The time left is estimated from the rate since the current part began. `clock` is injectable for tests.
    """

    def __init__(self, label: str, unit: str, stream=None, every_s: float = LOG_EVERY_S, clock=time.monotonic):
        self.label, self.unit, self.every_s, self.clock = label, unit, every_s, clock
        self.stream = stream if stream is not None else sys.stderr
        self.start = self.clock()
        self.part: str | None = None
        self.part_start = self.start
        self.part_done0 = 0
        self.last = -float("inf")

    def __call__(
        self, done: int, total: int | None, what: str | None = None, extra: str = "", unit: str | None = None
    ) -> None:
        """Report `done` of `total` (None: unknown) for part `what`; `extra` is appended to the count, `unit`
        replaces the default one (e.g. Parsl tasks in place of MD steps).
        """
        now = self.clock()
        new_part = what != self.part
        if new_part:
            self.part, self.part_start, self.part_done0 = what, now, done
        finished = total is not None and done >= total
        if not (new_part or finished or now - self.last >= self.every_s):
            return
        self.last = now
        head = f"{self.label} · {what}" if what else self.label
        unit = unit or self.unit
        count = f"{done}/{total} {unit}" if total else f"{done} {unit}"
        if total:
            count += f" ({100.0 * done / total:.0f} %)"
        left = ""
        rate = (done - self.part_done0) / max(now - self.part_start, 1e-9)
        if total and not finished and rate > 0 and done > self.part_done0:
            left = f", about {_clock((total - done) / rate)} left"
        stamp = time.strftime("%H:%M:%S")
        print(
            f"[{stamp}] {head}: {count}{extra}, {_clock(now - self.start)} elapsed{left}", file=self.stream, flush=True
        )


def _live(stream) -> bool:
    return bool(getattr(stream, "isatty", lambda: False)())


@contextmanager
def md_progress(label: str) -> Iterator[Callable[..., None]]:
    """Yield a callback(step, total, temperature, what=None) that shows MD progress on stderr.

    what: the part of the work under way (a run label, "NMD T600K: fits" …), shown after `label`.
    """
    if not _live(sys.stderr):
        lines = LogLines(label, "steps")

        def update(step: int, total: int, temperature: float, what: str | None = None) -> None:
            # a study on Parsl reports finished tasks, not steps (docs/parallel.md)
            tasks = bool(what and what.startswith("MD tasks"))
            lines(step, total, what, "" if tasks else f", T={temperature:.0f} K", "tasks" if tasks else None)

        yield update
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} steps"),
        TextColumn("T={task.fields[temp]:.0f} K"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        transient=False,
    ) as bar:
        task = bar.add_task(label, total=None, temp=0.0)

        def update(step: int, total: int, temperature: float, what: str | None = None) -> None:
            description = f"{label} · {what}" if what else label
            bar.update(task, completed=step, total=total, temp=temperature, description=description)

        yield update


@contextmanager
def count_progress(label: str, unit: str) -> Iterator[Callable[..., None]]:
    """Yield a callback(done, total, what=None) that shows progress in `unit`s (epochs, labels …) on stderr."""
    if not _live(sys.stderr):
        lines = LogLines(label, unit)
        yield lambda done, total, what=None: lines(done, total, what)
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} " + unit),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        transient=False,
    ) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int, what: str | None = None) -> None:
            bar.update(task, completed=done, total=total, description=f"{label} · {what}" if what else label)

        yield update
