"""MSD, α₂, van Hove, and the covariance-aware tracer D against exact references."""

import json
import subprocess
import sys

import numpy as np
import pytest

from superionic import synthetic, units
from superionic.analysis import diffusion as dm
from superionic.analysis.correlate import msd as msd_kernel
from superionic.errors import InputError
from superionic.trajectory import Trajectory
from superionic.trajectory.unwrap import unwrap_positions

LANGEVIN = dict(dt=1.0, stride=10, gamma=0.01, temperature=600.0, mass=6.94)
D_EXACT = synthetic.langevin_diffusion_coefficient(600.0, 6.94, 0.01)


def _brute_overlap(m, n, t):
    s = 0
    for t1 in range(t - m):
        for t2 in range(t - n):
            ov = max(0, min(t1 + m, t2 + n) - max(t1, t2))
            s += ov * ov
    return s


def test_rw_overlap_closed_form_equals_brute_force():
    t = 19
    lags = np.arange(1, t)
    exact = np.array([[_brute_overlap(a, b, t) for b in lags] for a in lags])
    assert np.array_equal(dm.rw_overlap(lags, t), exact)


def test_rw_covariance_matches_monte_carlo():
    rng = np.random.default_rng(7)
    t, n = 40, 20000
    r = np.cumsum(rng.normal(size=(t, n, 3)), axis=0)  # σ² = 1 per component per frame
    lags = np.array([1, 4, 12, 25])
    per_atom = msd_kernel(r, 30)[lags]  # (4, n)
    emp = np.cov(per_atom)
    s = np.sqrt(2 * 3) * lags  # Var|Δr|² = 2dσ⁴m²
    model = np.outer(s, s) * dm.rw_correlation_structure(lags, t)
    assert np.allclose(np.diag(emp), np.diag(model), rtol=0.05)
    corr = lambda c: c / np.sqrt(np.outer(np.diag(c), np.diag(c)))  # noqa: E731
    assert np.allclose(corr(emp), corr(model), atol=0.03)


def test_msd_fft_equals_direct_and_axes_sum():
    rng = np.random.default_rng(1)
    pos = np.cumsum(rng.normal(size=(60, 5, 3)) * [1.0, 0.5, 0.2], axis=0)
    tr = Trajectory(positions=pos, cells=np.eye(3) * 1000, symbols=["Li"] * 5, dt=2.0)
    ds = dm.msd(tr, max_lag=20)
    direct = [np.mean(np.sum((pos[m:] - pos[:-m]) ** 2, axis=-1)) if m else 0.0 for m in range(20)]
    assert np.allclose(ds.msd.sel(species="Li").values, direct, rtol=1e-10, atol=1e-10)
    assert np.allclose(ds.msd_axis.sum("axis").values, ds.msd.values)
    assert ds.msd.attrs["units"] == "angstrom2" and ds.time.attrs["units"] == "fs"


def test_alpha2_of_single_jumps_is_analytic():
    # lattice walk, one frame: displacement l with probability p, else 0 → α₂ = 3/(5p) − 1
    tr = synthetic.lattice_random_walk(n_atoms=400, n_frames=3000, dt=10.0, rate=2e-3, seed=3)
    p = 1 - np.exp(-2e-3 * 10.0)
    ng = dm.non_gaussian(tr, "Li", lags=[1])
    p_obs = float(ng.msd.values[0, 0]) / 4.0  # <Δr²> = p l², l = 2 Å
    assert np.isclose(float(ng.alpha2.values[0, 0]), 3 / (5 * p_obs) - 1, rtol=1e-9)
    assert abs(p_obs / p - 1) < 0.03


def test_alpha2_vanishes_for_gaussian_walk():
    rng = np.random.default_rng(2)
    pos = np.cumsum(rng.normal(size=(400, 300, 3)), axis=0)
    tr = Trajectory(positions=pos, cells=np.eye(3) * 1e4, symbols=["Na"] * 300, dt=1.0)
    a2 = dm.non_gaussian(tr, "Na", lags=[1, 5, 20]).alpha2.values[0]
    assert np.all(np.abs(a2) < 0.03)


def test_van_hove_gaussian_and_normalised():
    rng = np.random.default_rng(4)
    pos = np.cumsum(rng.normal(size=(300, 200, 3)) * 0.3, axis=0)  # σ² per frame per component 0.09
    tr = Trajectory(positions=pos, cells=np.eye(3) * 1e4, symbols=["Li"] * 200, dt=1.0)
    vh = dm.van_hove_self(tr, "Li", times=[10.0], r_max=8.0, n_bins=80)
    r = vh.r.values
    s2 = 0.09 * 10
    exact = (2 * np.pi * s2) ** -1.5 * np.exp(-(r**2) / (2 * s2))
    g = vh.G_s.values[0, 0]
    assert abs(float(vh.integral.values[0, 0]) - 1) < 1e-3
    peak = r < 2.5
    assert np.allclose(g[peak][5:], exact[peak][5:], rtol=0.08)


def _langevin(seed, n_atoms, n_frames, wrap=False):
    return synthetic.langevin_particles(n_atoms=n_atoms, n_frames=n_frames, seed=seed, wrap=wrap, **LANGEVIN)


def test_coverage_of_error_bars_langevin():
    """D within its own 2σ of the exact value in ≥ 85 % of 50 independent realisations."""
    hits = []
    for seed in range(50):
        ds = dm.diffusion(_langevin(seed, 8, 800), "Li", per_axis=False)
        d, de = float(ds.D.values[0]), float(ds.D_err.values[0])
        hits.append(abs(d - D_EXACT) <= 2 * de)
        assert ds.fit_range_ok.values[0] == 1
        assert ds.fit_start.values[0] >= 200.0  # ballistic regime (τ = 1/γ = 100 fs) excluded
    assert np.mean(hits) >= 0.85, np.mean(hits)


def test_ols_error_would_fail_coverage():
    """Sanity of the test itself: error bars 5× too small do not reach 85 % coverage."""
    hits = []
    for seed in range(20):
        ds = dm.diffusion(_langevin(seed, 8, 800), "Li", per_axis=False)
        hits.append(abs(float(ds.D.values[0]) - D_EXACT) <= 2 * float(ds.D_err.values[0]) / 5)
    assert np.mean(hits) < 0.85


@pytest.mark.slow
def test_long_langevin_within_two_percent():
    ds = dm.diffusion(_langevin(123, 256, 10000), "Li")
    assert abs(float(ds.D.values[0]) / D_EXACT - 1) < 0.02
    assert float(ds.D_err.values[0]) / D_EXACT < 0.015
    assert abs(float(ds.D_GK.values[0]) / D_EXACT - 1) < 0.03
    assert np.allclose(ds.D_axis.values[0] / D_EXACT, 1, atol=0.05)


def test_medium_langevin_and_green_kubo():
    ds = dm.diffusion(_langevin(11, 64, 3000), "Li")
    d, de = float(ds.D.values[0]), float(ds.D_err.values[0])
    assert abs(d - D_EXACT) < 3 * de and de / D_EXACT < 0.05
    gk, gke = float(ds.D_GK.values[0]), float(ds.D_GK_err.values[0])
    assert abs(gk - D_EXACT) < 3 * gke
    assert np.all(np.abs(ds.D_axis.values[0] - D_EXACT) < 3 * ds.D_axis_err.values[0])
    for v in ("D", "D_err", "D_axis", "msd", "alpha2", "fit_start", "D_GK"):
        assert "units" in ds[v].attrs
    assert "fit_range_rule" in ds.attrs and "fit_range_fs" in ds.attrs


def test_wrapped_input_gives_same_d():
    a = dm.diffusion(_langevin(5, 16, 1000), "Li")
    b = dm.diffusion(_langevin(5, 16, 1000, wrap=True), "Li")
    assert np.allclose(a.D.values, b.D.values, rtol=1e-9)
    assert np.allclose(a.D_err.values, b.D_err.values, rtol=1e-9)


def test_fit_range_in_fractions_and_its_old_keyword():
    tr = _langevin(5, 16, 1000)
    ds = dm.diffusion(tr, "Li", fit_range=(0.1, 0.4), per_axis=False)
    total = tr.n_frames * tr.dt
    assert 0.1 * total <= ds.attrs["fit_range_fs"][0] < ds.attrs["fit_range_fs"][1] <= 0.4 * total
    with pytest.warns(DeprecationWarning, match="fit_range"):  # the old name, for one release
        old = dm.diffusion(tr, "Li", fit_window=(0.1, 0.4), per_axis=False)
    assert old.D.values[0] == ds.D.values[0] and old.attrs["fit_range_fs"] == ds.attrs["fit_range_fs"]


def test_lattice_walk_diffusion_coefficient():
    tr = synthetic.lattice_random_walk(n_atoms=200, n_frames=4000, dt=10.0, rate=1e-3, jump_length=2.0, seed=2)
    p = 1 - np.exp(-1e-3 * 10.0)
    exact = 4.0 * p / 10.0 / 6.0 * units.A2_PER_FS_TO_CM2_PER_S  # l² Γ / 6 with Γ = p/dt
    ds = dm.diffusion(tr, "Li")
    d, de = float(ds.D.values[0]), float(ds.D_err.values[0])
    assert abs(d - exact) < 3 * de and de / exact < 0.05


def test_input_errors():
    tr = _langevin(0, 4, 50)
    with pytest.raises(InputError, match="species"):
        dm.diffusion(tr, "Na")
    with pytest.raises(InputError, match="max_lag"):
        dm.msd(tr, max_lag=500)
    with pytest.raises(InputError, match="velocities"):
        dm.green_kubo(synthetic.lattice_random_walk(n_atoms=2, n_frames=20))


# ----------------------------------------------------------------------------- real AIMD data
def test_real_aimd_sane_and_wrapped_equals_unwrapped(aimd):
    ds = dm.diffusion(aimd, "Li")
    d, de = float(ds.D.values[0]), float(ds.D_err.values[0])
    assert np.isfinite(d) and np.isfinite(de) and 0 < de < 0.3 * d
    assert 1e-7 < d < 1e-3 and ds.fit_range_ok.values[0] == 1
    assert ds.fit_start.values[0] > 100.0  # the vibrational rise is excluded
    unwrapped = Trajectory(
        positions=unwrap_positions(aimd.positions, aimd.cells), cells=aimd.cells, symbols=aimd.symbols, dt=aimd.dt
    )
    du = dm.diffusion(unwrapped, "Li")
    assert np.allclose(du.D.values, ds.D.values, rtol=1e-9) and np.allclose(du.D_err.values, ds.D_err.values, rtol=1e-9)
    # OLS on the same points would claim an error far smaller than the GLS one
    t = ds.time.values
    sel = (t >= ds.fit_start.values[0]) & (t <= ds.fit_stop.values[0])
    y = ds.msd.values[0][sel]
    coef, cov = np.polyfit(t[sel], y, 1, cov=True)
    ols_err = np.sqrt(cov[0, 0]) / 6 * units.A2_PER_FS_TO_CM2_PER_S
    assert ols_err < 0.5 * de


def test_cli_json_on_real_xdatcar(xdatcar_path):
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "superionic",
            "analyze",
            "diffusion",
            str(xdatcar_path),
            "--dt",
            "100",
            "--species",
            "Li",
            "--temperature",
            "650",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    for key in ("D", "D_err", "sigma_NE", "sigma_NE_err", "haven_ratio_fit"):
        assert out[key] is not None and np.isfinite(out[key]), key
    assert out["haven_ratio"] is None  # σ is not resolved, so neither is σ_NE/σ
    assert out["D_err"] > 0 and out["sigma_NE"] > 2 * out["sigma_NE_err"]
    # the collective σ of 7 ps is not resolved (its fit within 2σ of zero): no value, the fit and a bound
    assert out["sigma"] is None and out["sigma_err"] is None and out["sigma_fit_err"] > 0
    assert out["sigma_fit"] <= 2 * out["sigma_fit_err"]
    assert out["sigma_upper"] == pytest.approx(max(out["sigma_fit"], 0) + 2 * out["sigma_fit_err"])
