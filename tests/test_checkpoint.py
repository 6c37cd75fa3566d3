"""Checkpoint/restart: a run killed with SIGKILL at a random moment resumes with no frame lost or
duplicated, continuous times, and the same random stream (the resumed trajectory matches an
uninterrupted run with the same seed)."""

import json
import os
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.emt import EMT

from superionic.md import MDSettings, read_thermo, run_nvt
from superionic.md.checkpoint import h5md_frame_count, load_checkpoint, truncate_h5md
from superionic.trajectory import read_trajectory

RUNNER = """
import sys
from ase.build import bulk
from ase.calculators.emt import EMT
from superionic.md import MDSettings, run_nvt
out, resume, thermostat, steps = sys.argv[1], sys.argv[2] == "1", sys.argv[3], int(sys.argv[4])
atoms = bulk("Cu", "fcc", a=3.61, cubic=True).repeat(2)
s = MDSettings(temperature=500, steps=steps, dt=4.0, stride=2, chunk=5, equilibration_steps=20, seed=7,
               thermostat=thermostat, production_friction=0.01, tau=80.0)
run_nvt(atoms, EMT(), s, out, resume=resume)
"""


def _settings(thermostat, steps):
    return MDSettings(
        temperature=500,
        steps=steps,
        dt=4.0,
        stride=2,
        chunk=5,
        equilibration_steps=20,
        seed=7,
        thermostat=thermostat,
        production_friction=0.01,
        tau=80.0,
    )


def _kill_and_resume(tmp_path, thermostat, steps, kills, rng):
    script = tmp_path / "runner.py"
    script.write_text(RUNNER)
    run = tmp_path / "run"
    args = [sys.executable, str(script), str(run)]
    for k in range(kills):
        proc = subprocess.Popen(args + ["1" if k else "0", thermostat, str(steps)])
        t0 = time.time()
        # wait until at least one checkpoint exists (or the run ends), then kill at a random moment
        while not (run / "checkpoint.npz").exists() and proc.poll() is None and time.time() - t0 < 120:
            time.sleep(0.05)
        time.sleep(rng.uniform(0.0, 1.5))
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        # the killed SWMR file still opens and holds at least the checkpointed frames
        n_readable = h5md_frame_count(run / "trajectory.h5")
        if (run / "checkpoint.npz").exists():
            assert n_readable >= load_checkpoint(run / "checkpoint.npz")["n_frames"]
            with h5py.File(run / "trajectory.h5", "r", swmr=True) as f:
                assert f["particles/all/position/value"].shape[0] >= 1
    subprocess.run(args + ["1", thermostat, str(steps)], check=True)
    return run


def _assert_continuous_and_identical(run, ref, steps):
    a, b = read_trajectory(ref / "trajectory.h5"), read_trajectory(run / "trajectory.h5")
    np.testing.assert_array_equal(b.steps, np.arange(0, steps, 2))  # no frame lost or duplicated
    assert b.n_frames == a.n_frames and len(np.unique(b.steps)) == b.n_frames
    # same random stream ⇒ same trajectory (float32 storage; ulp-level summation-order noise allowed)
    np.testing.assert_allclose(b.positions, a.positions, atol=2e-4)
    np.testing.assert_allclose(b.velocities, a.velocities, atol=2e-5)
    ta, tb = read_thermo(ref), read_thermo(run)
    np.testing.assert_array_equal(tb["step"], ta["step"])
    np.testing.assert_allclose(tb["temperature_K"], ta["temperature_K"], rtol=1e-4)
    info = json.loads((run / "run.json").read_text())
    assert info["status"] == "done" and not (run / "checkpoint.npz").exists()


def test_kill9_and_resume_matches_uninterrupted_run(tmp_path):
    steps = 600
    ref = tmp_path / "ref"
    run_nvt(bulk("Cu", "fcc", a=3.61, cubic=True).repeat(2), EMT(), _settings("langevin", steps), ref)
    run = _kill_and_resume(tmp_path, "langevin", steps, kills=1, rng=np.random.default_rng())
    _assert_continuous_and_identical(run, ref, steps)


@pytest.mark.slow
@pytest.mark.parametrize("thermostat", ["langevin", "bussi", "nose-hoover"])
def test_repeated_kills_each_thermostat(tmp_path, thermostat):
    steps = 1500
    ref = tmp_path / "ref"
    run_nvt(bulk("Cu", "fcc", a=3.61, cubic=True).repeat(2), EMT(), _settings(thermostat, steps), ref)
    run = _kill_and_resume(tmp_path, thermostat, steps, kills=4, rng=np.random.default_rng(1))
    _assert_continuous_and_identical(run, ref, steps)


def test_resume_without_checkpoint_restarts_and_done_run_is_kept(tmp_path):
    s = _settings("langevin", 40)
    atoms = bulk("Cu", "fcc", a=3.61, cubic=True).repeat(2)
    p = run_nvt(atoms, EMT(), s, tmp_path)
    mtime = p.stat().st_mtime_ns
    assert run_nvt(atoms, EMT(), s, tmp_path, resume=True) == p and p.stat().st_mtime_ns == mtime
    (tmp_path / "run.json").write_text(json.dumps({"status": "running"}))  # killed before its first checkpoint
    run_nvt(atoms, EMT(), s, tmp_path, resume=True)
    assert read_trajectory(p).n_frames == 20


def test_truncate_keeps_metadata_and_cuts_series(tmp_path):
    from superionic.trajectory import H5MDWriter

    p = tmp_path / "t.h5"
    rng = np.random.default_rng(0)
    with H5MDWriter(p, ["Cu"] * 3, np.full(3, 63.5), 2.0, chunk=4, metadata={"k": 1}) as w:
        for s in range(0, 30, 3):
            w.append(s, rng.random((3, 3)), np.eye(3) * 5, rng.random((3, 3)))
    before = read_trajectory(p)
    truncate_h5md(p, 7)
    after = read_trajectory(p)
    assert after.n_frames == 7 and after.metadata == before.metadata and after.dt == before.dt
    np.testing.assert_array_equal(after.positions, before.positions[:7])
    np.testing.assert_array_equal(after.steps, before.steps[:7])
    from superionic.errors import InputError

    with pytest.raises(InputError, match="do not belong together"):
        truncate_h5md(p, 9)
