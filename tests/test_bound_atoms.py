"""Atoms bound to a centre that does not diffuse (S of PS4): found on real AIMD by stoichiometry, followed through
reorientation jumps, and their plain-MSD D never called diffusive."""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from superionic.analysis.bound_atoms import bond_length, bound_atoms, check_bound, restate_if_bound
from superionic.results import nonnegative_fields
from superionic.trajectory import Trajectory
from superionic.trajectory.io import read_trajectory


@pytest.fixture(scope="module")
def aimd(tmp_path_factory):
    import gzip
    import shutil

    from conftest import XDATCAR

    p = tmp_path_factory.mktemp("aimd") / "XDATCAR"
    with gzip.open(XDATCAR, "rb") as src, open(p, "wb") as dst:
        shutil.copyfileobj(src, dst)
    return read_trajectory(p, dt=100.0)


def _entry(d: float, err: float, diffusive: bool) -> dict:
    return {**nonnegative_fields(d, err, regime_ok=diffusive), "fit_range_ok": diffusive}


def test_real_argyrodite_has_four_bound_s_per_p(aimd):
    """Li6PS5Cl (Li192 P32 S160 Cl32): 4 of every 5 S belong to a PS4 unit, the fifth sits free on 4c."""
    bound = bound_atoms(aimd, "S", ["P", "Cl", "Li"])
    assert set(bound) == {"P"}  # Cl is never bound; Li (S within 2.68 Å of the same Li throughout): none here
    assert int(bound["P"].sum()) == 4 * len(aimd.indices("P")) == 128
    assert bound_atoms(aimd, "Cl", ["P"]) == {}


def test_check_bound_restates_only_bound_species(aimd):
    """S flagged diffusive (as a short run's plain MSD can) becomes not diffusive with its fit kept; the carrier and
    a species with no bound atom are left as they were."""
    entries = {
        "Li": _entry(1.4e-5, 1e-6, True),
        "S": _entry(5.8e-6, 2.0e-6, True),
        "Cl": _entry(3.0e-6, 1.0e-6, True),
        "P": _entry(1e-7, 3e-7, False),
    }
    out = check_bound(aimd, entries, ["Li"], "fit_range_ok")
    assert out["Li"] == entries["Li"] and out["Cl"] == entries["Cl"] and out["P"] == entries["P"]
    s = out["S"]
    assert s["D"] is None and s["fit_range_ok"] is False
    assert s["D_fit"] == pytest.approx(5.8e-6) and s["D_fit_err"] == pytest.approx(2.0e-6)
    assert s["bound_to"] == ["P"] and s["bound_fraction"] == pytest.approx(0.8)


def test_no_centre_no_change():
    entry = _entry(2e-5, 1e-6, True)
    assert restate_if_bound(entry, {}, "fit_range_ok") is entry


def _jumping_tetrahedra(n_frames: int = 400, jumps: int = 8, seed: int = 0):
    """4 PS4-like units (P–S 2.05 Å) on a 10 Å cube that make `jumps` C3 reorientations (3 S move 3.35 Å each);
    4 S that random-walk (D ≈ 1.1e-4 cm²/s) and 4 Li that vibrate."""
    rng = np.random.default_rng(seed)
    box = 10.0
    centres = np.array([[1, 1, 1], [6, 6, 1], [6, 1, 6], [1, 6, 6]], float)
    tet = 2.05 / np.sqrt(3) * np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]], float)
    rot = [Rotation.identity() for _ in centres]
    when = dict(zip(rng.choice(np.arange(20, n_frames - 20), jumps, replace=False), rng.integers(0, 4, jumps)))
    free = centres + 2.5
    li = centres + np.array([2.5, 2.5, 0.0])
    pos = np.empty((n_frames, 28, 3))
    for k in range(n_frames):
        if k in when:
            u = when[k]
            axis = rot[u].apply(tet[rng.integers(0, 4)])
            rot[u] = Rotation.from_rotvec(2 * np.pi / 3 * axis / np.linalg.norm(axis)) * rot[u]
        p = centres + rng.normal(0, 0.08, centres.shape)
        s = np.concatenate([p[i] + r.apply(tet) for i, r in enumerate(rot)]) + rng.normal(0, 0.12, (16, 3))
        free = free + rng.normal(0, 0.15, free.shape)
        pos[k] = np.concatenate([p, s, free, li + rng.normal(0, 0.1, li.shape)])
    symbols = ["P"] * 4 + ["S"] * 20 + ["Li"] * 4
    return Trajectory(positions=pos % box, cells=np.eye(3) * box, symbols=symbols, dt=10.0)


def test_reorienting_units_stay_bound_and_free_atoms_do_not():
    traj = _jumping_tetrahedra()
    s = traj.indices("S")
    r0, r1 = traj.positions[0, s], traj.positions[-1, s]
    moved = np.linalg.norm((r1 - r0 + 5.0) % 10.0 - 5.0, axis=1)
    assert (moved[:16] > 2.5).sum() >= 3  # some S of the units were carried 3.35 Å by a reorientation
    bound = bound_atoms(traj, "S", ["P"])["P"]
    np.testing.assert_array_equal(bound, [True] * 16 + [False] * 4)
    assert bond_length("P", "S") == pytest.approx(1.15 * (1.07 + 1.05))


def test_report_says_why_a_species_is_not_diffusive(aimd):
    from superionic.report.sections import _why_not_diffusive

    entries = {"S": _entry(5.8e-6, 2.0e-6, True), "P": _entry(1e-7, 3e-7, False)}
    s = check_bound(aimd, entries, ["Li"], "fit_range_ok")["S"]
    assert "80% bound to P" in _why_not_diffusive(s)
    assert _why_not_diffusive(entries["P"]) == "<b>no</b> (run too short)"
    caged = {**_entry(2e-5, 1e-6, False), "intra_cage": True, "cage_changes": 4}
    assert "only 4 cage changes" in _why_not_diffusive(caged)
    assert _why_not_diffusive(_entry(2e-5, 1e-6, True)) == "yes"
