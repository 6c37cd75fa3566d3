"""Progress bars for long work (rich)."""

from __future__ import annotations

from contextlib import contextmanager

from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


@contextmanager
def md_progress(label: str):
    """Yield a callback(step, total, temperature, what=None) that drives a progress bar on stderr.

    what: the part of the work under way (a run label, "NMD T600K: fits" …), shown after `label`.
    """
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
def count_progress(label: str, unit: str):
    """Yield a callback(done, total, what=None) that drives a progress bar of `unit`s (epochs, labels …) on stderr."""
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
