"""Trajectory model, unwrapping and readers (ASE formats, chunks, the time-step rule)."""

import ase.io
import ase.units
import numpy as np
import pytest
from ase import Atoms

from superionic.errors import InputError
from superionic.trajectory import Trajectory, iter_trajectory, read_trajectory, unwrap_positions


def test_unwrap_recovers_path_crossing_box_many_times(rng):
    box = 5.0
    # a drifting walker crosses the 5 Å box ~40 times; steps stay below half a box
    steps = rng.normal(0.4, 0.3, size=(2000, 3, 3))
    true = np.cumsum(steps, axis=0)
    assert np.ptp(true[:, 0, 0]) > 30 * box
    wrapped = np.mod(true, box)
    cells = np.broadcast_to(np.eye(3) * box, (2000, 3, 3))
    un = unwrap_positions(wrapped, cells)
    np.testing.assert_allclose(un - un[0], true - true[0], atol=1e-9)
    # idempotent on unwrapped input
    np.testing.assert_allclose(unwrap_positions(un, cells), un, atol=1e-9)


def test_unwrap_triclinic_cell(rng):
    cell = np.array([[6.0, 0, 0], [2.0, 5.0, 0], [1.0, 1.5, 7.0]])
    frac_steps = rng.normal(0, 0.05, size=(500, 4, 3))
    true = np.cumsum(frac_steps, axis=0) @ cell
    frac = np.mod(true @ np.linalg.inv(cell), 1.0)
    un = unwrap_positions(frac @ cell, np.broadcast_to(cell, (500, 3, 3)))
    np.testing.assert_allclose(un - un[0], true - true[0], atol=1e-9)


def test_trajectory_validation_messages():
    pos = np.zeros((3, 2, 3))
    with pytest.raises(InputError, match="positive number of fs"):
        Trajectory(pos, np.eye(3), ["Li", "Li"], dt=None)
    with pytest.raises(InputError, match="unknown chemical symbol"):
        Trajectory(pos, np.eye(3), ["Li", "Xx"], dt=1.0)
    t = Trajectory(pos, np.eye(3), ["Li", "S"], dt=1.0)
    with pytest.raises(InputError, match="species 'Na' is not in this trajectory; it has Li, S"):
        t.indices("Na")
    with pytest.raises(InputError, match="no velocities"):
        t.require_velocities()
    assert t.select_frames(stride=2).dt == 2.0


def _frames(n=7, with_time=True):
    """n small Li2S frames with velocities; a `time` entry (fs) in each frame's info when with_time."""
    rng = np.random.default_rng(1)
    out = []
    for i in range(n):
        a = Atoms("Li2S", positions=rng.random((3, 3)) * 4, cell=np.eye(3) * 4, pbc=True)
        a.set_velocities(rng.normal(size=(3, 3)) / ase.units.fs * 0.01)  # 0.01 Å/fs scale
        if with_time:
            a.info["time"] = 5.0 * i
        out.append(a)
    return out


def test_extxyz_velocities_converted_and_dt_from_file(tmp_path):
    frames = _frames()
    p = tmp_path / "t.extxyz"
    ase.io.write(p, frames, format="extxyz")
    traj = read_trajectory(p)
    assert traj.dt == pytest.approx(5.0)
    v_expected = frames[3].get_velocities() * ase.units.fs
    np.testing.assert_allclose(traj.velocities[3], v_expected, rtol=1e-6)
    np.testing.assert_allclose(traj.positions[2], frames[2].positions, atol=1e-7)


def test_chunked_iteration_equals_whole(tmp_path):
    p = tmp_path / "t.traj"
    ase.io.write(p, _frames(11, with_time=False))
    whole = read_trajectory(p, dt=2.0)
    parts = list(iter_trajectory(p, chunk=4, dt=2.0))
    assert [c.n_frames for c in parts] == [4, 4, 3]
    np.testing.assert_allclose(np.concatenate([c.positions for c in parts]), whole.positions)


def test_time_step_is_never_guessed(tmp_path):
    p = tmp_path / "t.traj"
    ase.io.write(p, _frames(3, with_time=False))
    with pytest.raises(InputError, match="--dt"):
        read_trajectory(p)


def test_missing_file_and_unknown_format(tmp_path):
    with pytest.raises(InputError, match="not found"):
        read_trajectory(tmp_path / "nope.h5")
    bad = tmp_path / "data.weird"
    bad.write_text("hello\n")
    with pytest.raises(InputError, match="format"):
        read_trajectory(bad, dt=1.0)
    with pytest.raises(InputError, match="no trajectory.h5 in it"):
        read_trajectory(tmp_path)


def test_a_run_folder_reads_its_trajectory(tmp_path, rng):
    from superionic.trajectory.h5md import write_h5md

    traj = Trajectory(rng.normal(size=(5, 3, 3)), np.repeat(np.eye(3)[None] * 8.0, 5, axis=0), ["Li"] * 3, dt=2.0)
    (tmp_path / "T500K").mkdir()
    write_h5md(tmp_path / "T500K" / "trajectory.h5", traj)
    got = read_trajectory(tmp_path / "T500K")
    assert np.allclose(got.positions, traj.positions) and list(iter_trajectory(tmp_path / "T500K"))


def test_real_xdatcar(xdatcar_path):
    p = xdatcar_path
    with pytest.raises(InputError, match="--dt"):
        read_trajectory(p)
    traj = read_trajectory(p, dt=100.0)
    assert traj.n_frames == 140
    assert {s: len(traj.indices(s)) for s in traj.species} == {"Li": 192, "P": 32, "S": 160, "Cl": 32}
    assert traj.velocities is None
    # wrapped file: unwrapped Li must wander further than the box allows for some atom, P must stay put
    un = unwrap_positions(traj.positions, traj.cells)
    li = traj.indices("Li")
    disp = np.linalg.norm(un[-1, li] - un[0, li], axis=1)
    assert disp.max() > 3.0
    p_disp = np.linalg.norm(un[-1, traj.indices("P")] - un[0, traj.indices("P")], axis=1)
    assert p_disp.max() < 2.0


def test_select_frames_returns_copies(rng):
    from superionic.trajectory import Trajectory

    pos = rng.normal(size=(10, 4, 3))
    t = Trajectory(positions=pos, cells=np.tile(np.eye(3) * 10.0, (10, 1, 1)), symbols=["Li"] * 4, dt=2.0)
    part = t.select_frames(2, 8, 2)
    part.positions[:] = 0.0
    part.cells[:] = 0.0
    assert np.any(t.positions != 0.0) and np.all(t.cells[2] == np.eye(3) * 10.0)
    assert part.dt == 4.0 and part.n_frames == 3
