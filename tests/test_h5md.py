"""H5MD store: exact round trip, layout and units, a writer killed mid-run."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import h5py
import numpy as np
import pytest

from superionic.errors import InputError
from superionic.trajectory import H5MDWriter, Trajectory, read_h5md, read_trajectory, write_h5md


def _traj(rng, frames=150, atoms=5):
    return Trajectory(
        positions=rng.normal(size=(frames, atoms, 3)) * 3,
        cells=np.broadcast_to(np.diag([10.0, 11.0, 12.0]), (frames, 3, 3)),
        symbols=["Li", "Li", "P", "S", "Cl"][:atoms],
        dt=4.0,
        velocities=rng.normal(size=(frames, atoms, 3)) * 0.01,
        steps=np.arange(frames) * 2,
        metadata={"temperature": 600.0},
    )


def test_round_trip_is_exact_to_float32(tmp_path, rng):
    t = _traj(rng)
    p = tmp_path / "t.h5"
    write_h5md(p, t)
    r = read_trajectory(p)
    np.testing.assert_allclose(r.positions, t.positions.astype(np.float32), rtol=0, atol=0)
    np.testing.assert_allclose(r.velocities, t.velocities.astype(np.float32), rtol=0, atol=0)
    np.testing.assert_allclose(r.cells, t.cells)
    assert r.symbols == t.symbols and r.dt == pytest.approx(4.0)
    np.testing.assert_array_equal(r.steps, t.steps)
    np.testing.assert_allclose(r.masses, t.masses)
    assert r.metadata["temperature"] == 600.0


def test_layout_and_units(tmp_path, rng):
    p = tmp_path / "t.h5"
    write_h5md(p, _traj(rng), chunk=64)
    with h5py.File(p, "r") as f:
        assert list(f["h5md"].attrs["version"]) == [1, 1]
        g = f["particles/all"]
        assert g["position/value"].dtype == np.float32
        assert g["position/value"].chunks[0] == 64
        assert g["position/value"].attrs["unit"] == "angstrom"
        assert g["velocity/value"].attrs["unit"] == "Angstrom fs-1"  # the spelling MDAnalysis reads
        assert g["position/time"].attrs["unit"] == "fs"
        assert g["box/edges/value"].attrs["unit"] == "angstrom"
        assert g["mass"].attrs["unit"] == "amu"
        assert list(g["box"].attrs["boundary"]) == [b"periodic"] * 3
        np.testing.assert_allclose(g["position/time"][:3], [0.0, 4.0, 8.0])


def test_slicing_and_chunks(tmp_path, rng):
    t = _traj(rng)
    p = tmp_path / "t.h5"
    write_h5md(p, t)
    s = read_h5md(p, start=10, stop=50, stride=3)
    assert s.n_frames == len(range(10, 50, 3)) and s.dt == pytest.approx(12.0)
    np.testing.assert_allclose(s.positions, t.positions[10:50:3].astype(np.float32))


WRITER = textwrap.dedent("""
    import sys, time, numpy as np
    from superionic.trajectory import H5MDWriter
    w = H5MDWriter(sys.argv[1], ["Li"] * 50, np.full(50, 6.94), 1.0, chunk=16)
    rng = np.random.default_rng(0)
    i = 0
    while True:
        w.append(i, rng.normal(size=(50, 3)), np.eye(3) * 10, rng.normal(size=(50, 3)))
        i += 1
        if i % 16 == 0:
            print(i, flush=True)
        time.sleep(0.001)
""")


def test_killed_writer_leaves_readable_file(tmp_path):
    p = tmp_path / "killed.h5"
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(p)], stdout=subprocess.PIPE, text=True)
    flushed = 0
    deadline = time.time() + 60
    while flushed < 80 and time.time() < deadline:
        flushed = int(proc.stdout.readline())
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    t = read_trajectory(p)
    assert t.n_frames >= flushed and t.n_frames % 16 == 0
    assert np.all(np.isfinite(t.positions))
    np.testing.assert_array_equal(t.steps, np.arange(t.n_frames))


def test_not_h5md(tmp_path):
    p = tmp_path / "plain.h5"
    with h5py.File(p, "w") as f:
        f["x"] = [1, 2]
    with pytest.raises(InputError, match="not H5MD"):
        read_trajectory(p)


def test_writer_requires_velocities_when_declared(tmp_path):
    with H5MDWriter(tmp_path / "w.h5", ["Li"], [6.94], 1.0) as w:
        with pytest.raises(ValueError):
            w.append(0, np.zeros((1, 3)), np.eye(3))
