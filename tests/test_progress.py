"""Progress in a log file: plain lines when stderr is not a terminal (batch jobs)."""

from __future__ import annotations

import io

from superionic.cli.progress import LogLines


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def test_log_lines_at_part_changes_every_interval_and_at_the_end():
    out, clock = io.StringIO(), Clock()
    lines = LogLines("study x", "steps", stream=out, every_s=60.0, clock=clock)
    lines(0, 1000, "T500K-free")  # a new part: printed
    clock.t = 10.0
    lines(100, 1000, "T500K-free")  # within the interval: not printed
    clock.t = 61.0
    lines(610, 1000, "T500K-free")  # the interval has passed: printed, 610 steps in 61 s → 39 s left
    clock.t = 100.0
    lines(1000, 1000, "T500K-free")  # finished: printed
    clock.t = 101.0
    lines(0, 500, "T600K-free")  # next part
    got = out.getvalue().splitlines()
    assert len(got) == 4
    assert got[0].endswith("study x · T500K-free: 0/1000 steps (0 %), 0:00:00 elapsed")
    assert "610/1000 steps (61 %), 0:01:01 elapsed, about 0:00:39 left" in got[1]
    assert "1000/1000 steps (100 %), 0:01:40 elapsed" in got[2] and "left" not in got[2]
    assert "study x · T600K-free: 0/500 steps (0 %)" in got[3]


def test_log_lines_without_a_total():
    out, clock = io.StringIO(), Clock()
    LogLines("fine-tune", "epochs", stream=out, clock=clock)(3, None)
    assert "fine-tune: 3 epochs, 0:00:00 elapsed" in out.getvalue()


def test_md_progress_writes_lines_when_stderr_is_not_a_terminal(capsys):
    from superionic.cli.progress import md_progress

    with md_progress("MD Li6PS5Cl 600 K") as cb:
        cb(0, 10, 0.0, "T600K-free")
        cb(10, 10, 612.4, "T600K-free")
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and "MD Li6PS5Cl 600 K · T600K-free: 10/10 steps (100 %), T=612 K" in err[1]


def test_parsl_task_counts_are_not_called_steps(capsys):
    from superionic.cli.progress import md_progress

    with md_progress("screen x") as cb:
        cb(2, 4, 600.0, "MD tasks: 2 done, 1 running, 0 failed (last: T600K)")
    err = capsys.readouterr().err
    assert "(last: T600K): 2/4 tasks (50 %), 0:00:00 elapsed" in err and "steps" not in err
