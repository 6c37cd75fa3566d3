"""Cage-to-cage D: exact on caged and plain random walks, consistent with the hop counting, argyrodite cages."""

import numpy as np
import pytest

from superionic import synthetic, units
from superionic.analysis.cage_diffusion import MIN_JUMPS, cage_diffusion, cage_sites
from superionic.analysis.diffusion import diffusion
from superionic.analysis.hopping import Sites, argyrodite_sites, hopping

SPACING, RATE_OUT = 6.0, 2e-5


@pytest.fixture(scope="module")
def caged():
    # slow exploration of the cage (0.3 jumps/ps inside, 0.02/ps out): the plain MSD is still filling the cage
    return synthetic.caged_random_walk(
        n_atoms=200, n_frames=2000, cage_spacing=SPACING, rate_in=3e-4, rate_out=RATE_OUT, seed=4
    )


def _sites(traj, positions, cage=None):
    return Sites(positions, traj.cells[0], ["site"] * len(positions), cage=cage, source="test")


def test_caged_walk_gives_the_exact_long_time_d_where_the_msd_is_caged(caged):
    traj, pos, cage = caged
    exact = RATE_OUT * SPACING**2 / 6 * units.A2_PER_FS_TO_CM2_PER_S
    ds = cage_diffusion(traj, _sites(traj, pos, cage))
    d, err = float(ds.D), float(ds.D_err)
    assert abs(d - exact) < 3 * err and bool(ds.resolved) and bool(ds.linear)
    # the error is the few-jump (Poisson) error, not a Gaussian-walk error N times smaller
    jumps = int(ds.cage_changes)
    assert jumps >= MIN_JUMPS
    assert 0.5 < err / (exact / np.sqrt(jumps)) < 3.0
    # the plain MSD of the same run is still filling the cage: its fit passes the diffusive checks and its
    # D is almost 3× too large
    plain = diffusion(traj, "Li")
    assert bool(plain.fit_range_ok.values[0]) and float(plain.D.values[0]) > 2 * exact


def test_each_site_its_own_cage_on_a_plain_lattice_walk():
    walk = synthetic.lattice_random_walk(n_atoms=150, n_frames=3000, dt=10.0, rate=1e-3, box_sites=6, seed=5)
    g = np.arange(6) * 2.0
    pts = np.array(np.meshgrid(g, g, g, indexing="ij")).reshape(3, -1).T
    ds = cage_diffusion(walk, _sites(walk, pts))
    exact = 2.0**2 * 1e-3 / 6 * units.A2_PER_FS_TO_CM2_PER_S
    assert abs(float(ds.D) - exact) < 3 * float(ds.D_err)
    assert ds.attrs["cages"] == "each site its own cage"
    assert cage_sites(walk) is None  # not an argyrodite


def test_cage_changes_are_the_inter_cage_jumps_of_the_hop_analysis(aimd):
    sites = cage_sites(aimd)
    assert sites is not None and len(sites) == 384
    ds = cage_diffusion(aimd, sites)
    hops = hopping(aimd, argyrodite_sites(aimd))
    inter = int(hops.jump_count.sel(jump_type="inter-cage"))
    assert int(ds.cage_changes) == inter > 0
    assert float(ds.D) > 0 and np.isfinite(float(ds.D_err))


def test_a_plain_msd_that_never_left_its_cage_is_not_called_diffusive():
    """No inter-cage jump at all (rate_out = 0) in cages as wide as an argyrodite's (sites 2.5 Å from the centre):
    the plain MSD, still filling the cages, passes its diffusive checks with a D > 0; checked against the cage count
    it is restated as not diffusive, its fit kept as D_fit."""
    from superionic.analysis.cage_diffusion import cage_summary, demote_if_caged
    from superionic.results import nonnegative_fields

    traj, pos, cage = synthetic.caged_random_walk(
        n_atoms=100, n_frames=1000, cage_spacing=10.0, site_offset=2.5, rate_in=1e-4, rate_out=0.0, seed=0
    )
    plain = diffusion(traj, "Li")
    d, err, ok = float(plain.D.values[0]), float(plain.D_err.values[0]), bool(plain.fit_range_ok.values[0])
    assert ok and d > 2 * err  # the bug: the plain MSD alone calls this diffusive
    entry = {**nonnegative_fields(d, err, regime_ok=ok), "fit_range_ok": ok}
    counted = cage_summary(cage_diffusion(traj, _sites(traj, pos, cage)))
    assert counted["cage_changes"] == 0
    # nothing moved between cages: no cage-to-cage D at all (it printed 1.7e-46 ± 1.6e-47 cm²/s, a round-off slope)
    assert counted["D"] is None and counted["D_fit"] is None and counted["D_fit_err"] is None
    demoted = demote_if_caged(entry, counted, "fit_range_ok")
    assert demoted["D"] is None and demoted["D_fit"] == pytest.approx(d) and demoted["fit_range_ok"] is False
    assert demoted["intra_cage"] is True and demoted["cage_changes"] == 0
    assert demote_if_caged(entry, {**counted, "cage_changes": MIN_JUMPS}, "fit_range_ok") == entry


@pytest.mark.parametrize(("rate_out", "seed", "demoted"), [(4e-6, 1, True), (1e-4, 1, False)])
def test_a_plain_msd_with_fewer_than_ten_cage_changes_is_not_called_diffusive(rate_out, seed, demoted):
    """24 ions in cages 2.5 Å wide, 10 ps: with 4 cage changes the plain MSD passes its diffusive checks at 9× the
    exact long-range D (rate_out · spacing²/6), so it is restated as not diffusive; with 21 the plain MSD is within
    its error of the exact D and is kept."""
    from superionic.analysis.cage_diffusion import cage_summary, demote_if_caged
    from superionic.results import nonnegative_fields

    traj, pos, cage = synthetic.caged_random_walk(
        n_atoms=24, n_frames=1000, cage_spacing=10.0, site_offset=2.5, rate_in=1e-4, rate_out=rate_out, seed=seed
    )
    exact = rate_out * 10.0**2 / 6 * units.A2_PER_FS_TO_CM2_PER_S
    plain = diffusion(traj, "Li")
    d, err, ok = float(plain.D.values[0]), float(plain.D_err.values[0]), bool(plain.fit_range_ok.values[0])
    counted = cage_summary(cage_diffusion(traj, _sites(traj, pos, cage)))
    entry = demote_if_caged({**nonnegative_fields(d, err, regime_ok=ok), "fit_range_ok": ok}, counted, "fit_range_ok")
    assert ok and d > 2 * err
    if demoted:
        assert 0 < counted["cage_changes"] < MIN_JUMPS and d > 5 * exact  # the plain MSD is mostly intra-cage
        assert (
            entry["D"] is None and entry["fit_range_ok"] is False and entry["cage_changes"] == counted["cage_changes"]
        )
    else:
        assert counted["cage_changes"] >= MIN_JUMPS and abs(d - exact) < 2 * err
        assert entry["D"] == pytest.approx(d) and "intra_cage" not in entry


def test_too_few_cage_changes_are_not_resolved(caged):
    traj, pos, cage = caged
    short = traj.select_frames(0, 60)
    ds = cage_diffusion(short, _sites(short, pos, cage))
    assert int(ds.cage_changes) < MIN_JUMPS and not bool(ds.resolved)


def test_cli_cages_json_and_refusal(xdatcar_path, tmp_path):
    import json
    import subprocess
    import sys

    cmd = [sys.executable, "-m", "superionic", "analyze", "diffusion", str(xdatcar_path), "--dt", "100"]
    res = subprocess.run([*cmd, "--cages", "--json"], capture_output=True, text=True, check=True)
    cage = json.loads(res.stdout)["cage_diffusion"]
    assert cage["cage_changes"] > 0 and cage["D_fit"] > 0 and cage["D_fit_err"] > 0
    assert cage["plain_D_is_intra_cage"] is False
    # the half-range slopes of this 7 ps AIMD run disagree: not resolved, so no D is stored, only its fit
    assert cage["resolved"] is False and cage["D"] is None
    walk = synthetic.lattice_random_walk(n_atoms=20, n_frames=50, seed=1)
    from superionic.trajectory.h5md import write_h5md

    path = tmp_path / "walk.h5"
    write_h5md(path, walk)
    res = subprocess.run(
        [sys.executable, "-m", "superionic", "analyze", "diffusion", str(path), "--cages"],
        capture_output=True,
        text=True,
    )
    assert res.returncode != 0 and "argyrodite" in res.stderr
    # without --cages: counted where the trajectory is a Li argyrodite, skipped (no error) where it is not
    auto = json.loads(subprocess.run([*cmd, "--json"], capture_output=True, text=True, check=True).stdout)
    assert auto["cage_diffusion"]["cage_changes"] == cage["cage_changes"]
    skipped = json.loads(subprocess.run([*cmd, "--no-cages", "--json"], capture_output=True, text=True).stdout)
    assert "cage_diffusion" not in skipped
    walk_cmd = [sys.executable, "-m", "superionic", "analyze", "diffusion", str(path), "--json"]
    assert "cage_diffusion" not in json.loads(subprocess.run(walk_cmd, capture_output=True, text=True).stdout)


def test_study_writes_the_cage_result_and_warns_on_disagreement(aimd, tmp_path):
    from superionic.workflow.study import _cage_diffusion, _check_cage_agreement

    entry = _cage_diffusion(aimd, "Li", tmp_path / "T_cage_diffusion.nc")
    assert entry is not None and (tmp_path / "T_cage_diffusion.nc").exists()
    from superionic.results import fit_value

    assert entry["cage_changes"] > 0 and fit_value(entry)[0] > 0 and entry["ions"] == 192
    assert (entry["D"] is None) == (not entry["resolved"])  # a D only when resolved, its fit otherwise
    assert _cage_diffusion(synthetic.lattice_random_walk(n_atoms=10, n_frames=40), "Li", tmp_path / "w.nc") is None
    cage = {"D": 1e-5, "D_err": 1e-6, "resolved": True}
    with pytest.warns(RuntimeWarning, match="differ by"):
        _check_cage_agreement("T", {"D": 2e-5, "D_err": 1e-6, "fit_range_ok": True}, cage)
    assert cage["msd_minus_cage_sigma"] == pytest.approx(1e-5 / np.hypot(1e-6, 1e-6))


def test_cli_says_when_no_li_changed_cage(aimd, tmp_path):
    """Every atom rattles about its place in the first AIMD frame (0.15 Å): no cage change, so whatever slope the
    plain MSD of Li has is not long-range diffusion, and the command says so."""
    import json
    import subprocess
    import sys

    from superionic.trajectory.h5md import write_h5md
    from superionic.trajectory.model import Trajectory

    rng = np.random.default_rng(0)
    n = 300
    pos = aimd.positions[0][None] + rng.normal(0, 0.15, (n, *aimd.positions[0].shape))
    path = tmp_path / "rattle.h5"
    write_h5md(path, Trajectory(pos, np.repeat(aimd.cells[:1], n, axis=0), list(aimd.symbols), dt=10.0))
    cmd = [sys.executable, "-m", "superionic", "analyze", "diffusion", str(path), "--cages"]
    cage = json.loads(subprocess.run([*cmd, "--json"], capture_output=True, text=True, check=True).stdout)
    assert cage["cage_diffusion"]["cage_changes"] == 0 and cage["cage_diffusion"]["plain_D_is_intra_cage"]
    assert cage["species"]["Li"]["diffusive_regime_found"] is False and cage["species"]["Li"]["D"] is None
    text = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    assert "no Li changed cage" in text
    assert "D (cage-to-cage MSD): none (0 cage changes" in text and "e-4" not in text


def test_study_series_fits_the_cage_change_rate_with_its_zero_counts():
    """Free runs with their cage counts (one with none) give the Poisson rate fit of `rate_arrhenius` over ions × ps;
    frozen-host runs and runs without counts stay out; events at one temperature only give no fit."""
    from superionic.analysis.arrhenius import rate_arrhenius
    from superionic.workflow.study import _cage_rate_arrhenius

    def run(t, n, protocol="free"):
        return {
            "temperature_K": t,
            "protocol": protocol,
            "duration_ps": 25.0,
            "cage_diffusion": {"cage_changes": n, "ions": 192},
        }

    results = {
        "a": run(500, 0),
        "b": run(600, 19),
        "c": run(700, 51),
        "d": run(700, 5, "frozen-host"),
        "e": {"protocol": "free", "temperature_K": 800},
    }
    fit = _cage_rate_arrhenius(results, "Li")
    assert fit["temperatures_K"] == [500.0, 600.0, 700.0] and fit["exposure_ion_ps"] == [4800.0] * 3
    assert fit["E_a"] == pytest.approx(rate_arrhenius([500, 600, 700], [0, 19, 51], [4800.0] * 3)["E_a"])
    assert _cage_rate_arrhenius({"a": run(500, 0), "c": run(700, 51)}, "Li") is None
