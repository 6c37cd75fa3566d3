"""Potential stability check: a sane LJ solid passes; a potential that pulls atoms together fails."""

import numpy as np
import pytest
from ase.build import bulk

from superionic.potentials.lammps_potentials import lammps_available, lennard_jones

pytestmark = pytest.mark.skipif(not lammps_available(), reason="LAMMPS not importable")


def test_sane_lj_argon_is_stable_and_closest_approach_is_physical():
    from superionic.md.stability import stability_check

    atoms = bulk("Ar", "fcc", a=5.26, cubic=True).repeat(3)  # σ = 3.40 Å, ε = 10.3 meV
    rep = stability_check(atoms, lennard_jones(["Ar"], epsilon=0.0103, sigma=3.40, rc=8.0), 40.0, ps=1.0, stride=20)
    assert rep["stable"] and rep["completed"] and rep["failed"] is None
    assert rep["ps"] == pytest.approx(1.0, rel=0.05)
    # the nearest neighbour of an LJ solid at T* = 0.33 stays near 2^(1/6) σ = 3.82 Å (fcc: a/√2 = 3.72 Å)
    assert 3.0 < rep["closest_approach_A"]["Ar-Ar"] < 3.72
    assert rep["too_close"] == {}
    assert 0 <= rep["closest_frame"]["Ar-Ar"] < 50  # 1 ps of 2 fs steps, a frame every 20 steps


def test_the_trajectory_stays_in_out_dir_and_its_closest_frame_holds_the_closest_approach(tmp_path):
    from superionic.md.stability import closest_approach_frames, stability_check
    from superionic.trajectory import read_h5md

    atoms = bulk("Ar", "fcc", a=5.26, cubic=True).repeat(2)
    pot = lennard_jones(["Ar"], epsilon=0.0103, sigma=3.40, rc=6.0)
    rep = stability_check(atoms, pot, 60.0, ps=0.4, stride=10, out_dir=tmp_path)
    traj = read_h5md(tmp_path / "trajectory.h5")
    frame = rep["closest_frame"]["Ar-Ar"]
    one = closest_approach_frames(traj.select_frames(frame, frame + 1))["Ar-Ar"][0]
    assert one == pytest.approx(rep["closest_approach_A"]["Ar-Ar"], abs=1e-9)


def test_collapsing_potential_is_reported_not_raised():
    from superionic.md.stability import stability_check

    atoms = bulk("Ar", "fcc", a=5.26, cubic=True).repeat(2)
    atoms.rattle(0.3, seed=2)
    # minimum at 2^(1/6)·0.9 = 1.01 Å, far below the Ar–Ar bound 0.7 × 2 × 1.06 = 1.48 Å, and deep
    rep = stability_check(atoms, lennard_jones(["Ar"], epsilon=0.5, sigma=0.9, rc=8.0), 40.0, ps=0.5, stride=10)
    assert not rep["stable"]
    assert rep["failed"] is not None or rep["too_close"]
    if rep["failed"]:  # through run_md: a guard trip or a LAMMPS error is an MDExplodedError, as on every run
        assert rep["failed"].startswith("MDExplodedError: ")
    if rep["too_close"]:
        assert rep["too_close"]["Ar-Ar"] < rep["pair_bounds_A"]["Ar-Ar"]
    assert np.isfinite(rep["seconds"])


def test_closest_approach_frames_name_the_frame_of_each_pairs_minimum():
    """Two Li and one S in a 10 Å box: Li–Li is closest (1.5 Å) in frame 2, Li–S (2.0 Å) in frame 4; the plain
    `closest_approach` gives the same distances."""
    from superionic.md.stability import closest_approach, closest_approach_frames
    from superionic.trajectory.model import Trajectory

    pos = np.zeros((6, 3, 3))
    pos[:, 1, 0] = [3.0, 2.5, 1.5, 2.5, 3.0, 3.0]  # Li 1 along x from Li 0 at the origin
    pos[:, 2, 1] = [3.0, 3.0, 3.0, 2.6, 2.0, 2.6]  # S along y
    traj = Trajectory(positions=pos, cells=np.tile(10 * np.eye(3), (6, 1, 1)), symbols=["Li", "Li", "S"], dt=1.0)
    frames = closest_approach_frames(traj)
    assert frames["Li-Li"] == pytest.approx((1.5, 2)) and frames["Li-S"] == pytest.approx((2.0, 4))
    assert closest_approach(traj) == pytest.approx({k: d for k, (d, _) in frames.items()})
    # every scanned frame's minimum per pair; a subsampled scan names frames of the whole run
    from superionic.md.stability import pair_minima

    minima = pair_minima(traj)
    assert minima["Li-Li"] == pytest.approx([3.0, 2.5, 1.5, 2.5, 3.0, 3.0])
    assert minima["Li-S"][:3].min() == pytest.approx(closest_approach(traj.select_frames(0, 3))["Li-S"])
    assert closest_approach_frames(traj, every=2)["Li-S"] == pytest.approx((2.0, 4))
    assert "S-S" not in minima  # one S: no S–S distance below the cutoff in any frame
