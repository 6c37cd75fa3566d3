"""F_s, F_inc, coherent F(Q,t) and S(Q,E) against analytic references (ideal gas, Langevin particles,
Lorentzian ⊗ Gaussian = Voigt), normalisation and detailed balance."""

import numpy as np
import pytest
import xarray as xr
from scipy.special import ndtri, voigt_profile

from superionic import units
from superionic.analysis import _scatter_kernels as K
from superionic.analysis.qens import fit_gamma_model, fit_qens_dataset
from superionic.analysis.qpoints import QSet
from superionic.analysis.scattering import (
    coherent_intermediate_scattering,
    dynamic_structure_factor,
    fractional_positions,
    self_intermediate_scattering,
)
from superionic.errors import InputError
from superionic.synthetic import langevin_particles, thermal_sigma_v
from superionic.trajectory.model import Trajectory

HBAR_MEV_FS = units.HBAR_MEV_PS * 1e3


def axis_qset(qv):
    qv = np.asarray(qv, dtype=float)
    return QSet(np.concatenate([q * np.eye(3) for q in qv]), np.repeat(np.arange(len(qv)), 3), qv)


def ideal_gas(n=2000, n_frames=60, dt=5.0, temperature=300.0, mass=6.94, box=20.0, seed=0):
    """Free particles; velocities a stratified sample of the Maxwell distribution per component."""
    rng = np.random.default_rng(seed)
    sv = thermal_sigma_v(temperature, mass)
    u = (np.arange(n) + 0.5) / n
    v = np.stack([rng.permutation(ndtri(u)) for _ in range(3)], axis=1) * sv
    t = np.arange(n_frames) * dt
    pos = rng.uniform(0, box, (n, 3))[None] + v[None] * t[:, None, None]
    return Trajectory(
        positions=np.mod(pos, box),
        cells=np.eye(3) * box,
        symbols=["Li"] * n,
        dt=dt,
        velocities=np.broadcast_to(v, pos.shape).copy(),
        masses=np.full(n, mass),
        metadata={"temperature": temperature},
    ), sv


def test_ideal_gas_fs_is_gaussian_in_time():
    traj, sv = ideal_gas()  # wrapped positions: F_s must unwrap them
    qv = [0.5, 1.0, 2.0]
    ds = self_intermediate_scattering(traj, axis_qset(qv), max_lag=60)
    t = ds.time.values
    ref = np.exp(-(np.asarray(qv)[:, None] ** 2) * sv**2 * t[None] ** 2 / 2)  # exp(−Q² k_BT t²/2m)
    f = ds.F_s.sel(species="Li").values
    assert np.abs(f - ref).max() < 0.005  # 0.5 % of F(Q,0)
    big = ref > 0.1
    assert np.max(np.abs(f - ref)[big] / ref[big]) < 0.005
    assert np.allclose(f[:, 0], 1.0)  # per-species normalisation


def test_langevin_fs_is_exp_of_msd():
    gamma, temp, mass = 0.02, 600.0, 6.94
    traj = langevin_particles(
        n_atoms=800, n_frames=3000, dt=2.0, stride=5, gamma=gamma, temperature=temp, mass=mass, seed=4
    )
    qv = [0.3, 0.6, 1.0]
    ds = self_intermediate_scattering(traj, axis_qset(qv), max_lag=200)
    d = thermal_sigma_v(temp, mass) ** 2 / gamma  # Å²/fs, exact D = k_BT/(mγ)
    t = ds.time.values
    msd = 6 * d * (t - (1 - np.exp(-gamma * t)) / gamma)  # exact Ornstein–Uhlenbeck MSD
    ref = np.exp(-(np.asarray(qv)[:, None] ** 2) * msd / 6)
    f = ds.F_s.sel(species="Li").values
    assert np.abs(f - ref).max() < 0.005
    err = ds.F_s_err.sel(species="Li").values[:, 1:]
    assert np.all(np.abs(f - ref)[:, 1:] < 5 * err + 1e-4)  # block error bars are sensible


def test_langevin_linewidth_tends_to_fick():
    gamma, temp, mass = 0.05, 600.0, 6.94
    traj = langevin_particles(
        n_atoms=300, n_frames=2500, dt=2.0, stride=10, gamma=gamma, temperature=temp, mass=mass, seed=2
    )
    qv = np.array([0.4, 0.6, 0.8, 1.0])  # D Q² ≤ 1.4 /ps ≪ γ = 50 /ps
    ds = self_intermediate_scattering(traj, axis_qset(qv), max_lag=600)
    sq = dynamic_structure_factor(ds, "F_inc", lag_window="hann", pad=4)
    sq = sq.sel(energy=slice(-10, 10))
    fit = fit_qens_dataset(sq, "S_inc")
    d_a2_ps = thermal_sigma_v(temp, mass) ** 2 / gamma * 1e3
    fick = fit_gamma_model("fick", qv, fit.gamma.values, fit.gamma_err.values)
    assert fick["params"]["D"] == pytest.approx(d_a2_ps, rel=0.04)
    assert fick["D"] == pytest.approx(d_a2_ps * 1e-4, rel=0.04)  # cm²/s
    assert np.allclose(fit.gamma.values, units.HBAR_MEV_PS * d_a2_ps * qv**2, rtol=0.06)


def test_incoherent_weights_and_isotopes():
    rng = np.random.default_rng(1)
    n_li, n_cl = 30, 10
    pos = np.cumsum(rng.normal(0, 0.2, (200, n_li + n_cl, 3)), axis=0)
    traj = Trajectory(positions=pos, cells=np.eye(3) * 30, symbols=["Li"] * n_li + ["Cl"] * n_cl, dt=10.0)
    nat = self_intermediate_scattering(traj, [0.7, 1.4], n_directions=6, max_lag=50)
    li7 = self_intermediate_scattering(traj, [0.7, 1.4], n_directions=6, max_lag=50, isotopes={"Li": "7Li"})
    c = np.array([0.75, 0.25])
    for ds, s_li in ((nat, 0.92), (li7, 0.78)):
        w = c * np.array([s_li, 5.3]) / np.sum(c * np.array([s_li, 5.3]))
        assert np.allclose(ds.incoherent_weight.values, w)
        expect = w[0] * ds.F_s.sel(species="Li") + w[1] * ds.F_s.sel(species="Cl")
        assert np.allclose(ds.F_inc.values, expect.values)
        assert np.allclose(ds.F_s.values[..., 0], 1.0) and np.allclose(ds.F_inc.values[:, 0], 1.0)
    sq = dynamic_structure_factor(nat)
    assert sq.S_s_err.dims == ("species", "q", "energy") and sq.S_inc_err.dims == ("q", "energy")
    assert np.all(sq.S_s_err.values >= 0)


def test_spectrum_of_exponential_with_gaussian_resolution_is_voigt():
    gam, fwhm = 0.05, 0.04  # meV
    t = np.arange(10000) * 20.0  # fs, 200 ps: R(t) decayed (σ_t ≈ 39 ps)
    f = np.exp(-gam * t / HBAR_MEV_FS)
    ds = xr.Dataset({"F_inc": (("q", "time"), f[None])}, coords={"q": [1.0], "time": t})
    sq = dynamic_structure_factor(ds, "F_inc", lag_window="none", resolution=fwhm, pad=2)
    e = sq.energy.values
    ref = voigt_profile(e, fwhm / (2 * np.sqrt(2 * np.log(2))), gam)
    s = sq.S_inc.values[0]
    assert np.abs(s - ref).max() < 2e-3 * ref.max()
    assert np.trapezoid(s, e) == pytest.approx(1.0, rel=1e-6)  # ∫ S dE = F(Q,0)
    assert sq.attrs["effective_resolution_fwhm_meV"] == pytest.approx(fwhm, rel=0.02)
    # a measured (tabulated) resolution gives the same spectrum as the analytic Gaussian
    eg = np.linspace(-0.2, 0.2, 801)
    rg = np.exp(-0.5 * (eg / (fwhm / 2.3548200450309493)) ** 2)
    sq2 = dynamic_structure_factor(ds, "F_inc", lag_window="none", resolution=(eg, rg), pad=2)
    assert np.abs(sq2.S_inc.values[0] - s).max() < 5e-3 * s.max()


def test_detailed_balance_lag_window_and_energy_window():
    t = np.arange(500) * 10.0
    f = np.exp(-t / 300.0)
    ds = xr.Dataset({"F_inc": (("q", "time"), f[None])}, coords={"q": [1.0], "time": t})
    ds.attrs["temperature"] = 100.0
    cl = dynamic_structure_factor(ds, "F_inc", pad=1)
    qm = dynamic_structure_factor(ds, "F_inc", pad=1, detailed_balance=True)
    e = qm.energy.values
    s = qm.S_inc.values[0]
    kt = units.KB_EV * 1e3 * 100.0
    pos = e > 0.5
    mirror = np.interp(-e[pos], e, s)
    assert np.allclose(s[pos] / mirror, np.exp(e[pos] / kt), rtol=1e-8)
    assert np.allclose(cl.S_inc.values[0], cl.S_inc.values[0][::-1])  # classical: symmetric
    with pytest.raises(InputError):
        dynamic_structure_factor(ds.assign_attrs(temperature="unknown"), "F_inc", detailed_balance=True)
    with pytest.raises(InputError):
        dynamic_structure_factor(ds, "F_inc", lag_window="square")
    # the old keyword still works for one release, with a DeprecationWarning
    with pytest.warns(DeprecationWarning, match="lag_window"):
        old = dynamic_structure_factor(ds, "F_inc", pad=1, window="none")
    assert old.attrs["lag_window"] == "none"
    np.testing.assert_array_equal(old.S_inc, dynamic_structure_factor(ds, "F_inc", pad=1, lag_window="none").S_inc)
    windowed = dynamic_structure_factor(ds, "F_inc", energy_window=(-1, 1), q_range=(0.5, 2.0))
    assert windowed.energy.values.min() >= -1 and windowed.energy.values.max() <= 1


def _direct_partials(traj, qvec, max_lag):
    """Brute-force Re<ρ_a(t+m)ρ_b*(t)> averaged over origins, symmetrised, per (a, b)."""
    sp = traj.species
    rho = np.array([np.exp(1j * traj.positions[:, traj.indices(s)] @ qvec.T).sum(axis=1) for s in sp])
    n = np.array([len(traj.indices(s)) for s in sp])
    t_n = traj.n_frames
    out = np.zeros((len(sp), len(sp), max_lag))
    for a in range(len(sp)):
        for b in range(len(sp)):
            for m in range(max_lag):
                x = (rho[a, m:] * rho[b, : t_n - m].conj()).real.mean(axis=0)
                y = (rho[b, m:] * rho[a, : t_n - m].conj()).real.mean(axis=0)
                out[a, b, m] = 0.5 * (x + y).mean() / np.sqrt(n[a] * n[b])
    return out


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_coherent_partials_match_direct_sum(backend):
    rng = np.random.default_rng(3)
    cell = np.array([[8.0, 0, 0], [1.5, 7.0, 0], [0.5, 1.0, 9.0]])  # triclinic
    n_frames, n = 80, 12
    pos = rng.uniform(0, 1, (n, 3)) @ cell
    pos = pos[None] + np.cumsum(rng.normal(0, 0.3, (n_frames, n, 3)), axis=0)
    traj = Trajectory(positions=pos, cells=cell, symbols=["Li"] * 8 + ["Cl"] * 4, dt=5.0)
    ds = coherent_intermediate_scattering(traj, [1.2], q_width=0.3, max_per_shell=10, max_lag=20, backend=backend)
    from superionic.analysis.qpoints import spherical_shells

    qs = spherical_shells(cell, [1.2], 0.3, 10, 0)
    ref = np.mean([_direct_partials(traj, qs.vectors[i : i + 1], 20) for i in range(len(qs.vectors))], axis=0)
    assert np.allclose(ds.F.values[:, :, 0], ref, rtol=1e-9, atol=1e-12)
    # wrapping the positions changes nothing for commensurate Q
    wrapped = Trajectory(
        positions=pos - np.floor(pos @ np.linalg.inv(cell)) @ cell, cells=cell, symbols=traj.symbols, dt=5.0
    )
    dw = coherent_intermediate_scattering(wrapped, [1.2], q_width=0.3, max_per_shell=10, max_lag=20, backend=backend)
    assert np.allclose(dw.F.values, ds.F.values, rtol=1e-8, atol=1e-12)


def test_uncorrelated_atoms_have_unit_partial_structure_factors():
    rng = np.random.default_rng(0)
    n_frames, n = 200, 300
    pos = rng.uniform(0, 15, (n_frames, n, 3))  # independent ideal-gas snapshots
    traj = Trajectory(positions=pos, cells=np.eye(3) * 15, symbols=["Li"] * 200 + ["Cl"] * 100, dt=5.0)
    ds = coherent_intermediate_scattering(traj, [2.0, 3.0], q_width=0.5, max_lag=5)
    s_aa = ds.F.values[..., 0]
    assert np.allclose(s_aa[0, 0], 1.0, atol=0.05) and np.allclose(s_aa[1, 1], 1.0, atol=0.05)
    assert np.allclose(s_aa[0, 1], 0.0, atol=0.05)
    assert np.allclose(ds.S_static.values, 1.0, atol=0.05)  # Σ c b² normalisation


def test_numba_densities_match_numpy():
    rng = np.random.default_rng(5)
    frac = rng.uniform(-0.5, 1.5, (30, 20, 3))
    hkl = rng.integers(-6, 7, (15, 3))
    groups = rng.integers(0, 3, 20)
    vel = rng.normal(size=(30, 20, 3))
    r1, j1 = K.densities_numpy(frac, hkl, groups, 3, vel)
    r2, j2 = K.densities_numba(frac, hkl, groups, 3, vel)
    assert np.allclose(r1, r2, rtol=1e-10, atol=1e-10)
    assert np.allclose(j1, j2, rtol=1e-10, atol=1e-10)


def test_coherent_rejects_incommensurate_q():
    traj, _ = ideal_gas(n=20, n_frames=10)
    with pytest.raises(InputError):
        coherent_intermediate_scattering(traj, np.array([[0.123, 0.0, 0.0]]))
    assert fractional_positions(traj).shape == (10, 20, 3)


def test_input_errors():
    traj, _ = ideal_gas(n=20, n_frames=10)
    with pytest.raises(InputError):
        self_intermediate_scattering(traj, [-1.0])
    with pytest.raises(InputError):
        self_intermediate_scattering(traj, [1.0], species="Na")
    with pytest.raises(InputError):
        self_intermediate_scattering(traj, [1.0], max_lag=100)


def test_analyze_scattering_cli_and_figures(tmp_path):
    import json

    from typer.testing import CliRunner

    from superionic.cli.app import app
    from superionic.report.figures_scattering import fs_figure, gamma_figure, sqe_figure
    from superionic.synthetic import lattice_random_walk
    from superionic.trajectory import write_h5md

    traj = lattice_random_walk(n_atoms=100, n_frames=1500, dt=10.0, rate=1e-3, jump_length=2.0, seed=1)
    path = tmp_path / "walk.h5"
    write_h5md(path, traj)
    out = tmp_path / "s.nc"
    r = CliRunner().invoke(
        app,
        [
            "analyze",
            "scattering",
            str(path),
            "--q",
            "0.5,0.8,1.1,1.4",
            "--n-directions",
            "6",
            "--max-lag",
            "700",
            "--out",
            str(out),
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    res = json.loads(r.output)
    hb = units.HBAR_MEV_PS
    for q, v in res["q"].items():
        ce = hb / 1.0 * (1 - np.sinc(float(q) * 2.0 / np.pi))
        assert v["gamma"] == pytest.approx(ce, rel=0.1) and v["eisf"] < 0.1
    assert res["models"]["chudley_elliott"]["D"] == pytest.approx(4 / 6 * 1e-4, rel=0.15)
    ds = xr.open_dataset(out, engine="h5netcdf")
    assert {"F_s", "S_inc", "fit_gamma"} <= set(ds.data_vars)
    fits = xr.Dataset(
        {
            "gamma": ("q", [v["gamma"] for v in res["q"].values()]),
            "gamma_err": ("q", [v["gamma_err"] for v in res["q"].values()]),
        },
        coords={"q": ds.q.values},
    )
    for fig in (
        fs_figure(ds),
        sqe_figure(ds.S_inc, fits=fits),
        gamma_figure(fits, {k: {**v, "success": True} for k, v in res["models"].items() if k != "best_by_aic"}),
    ):
        fig.savefig(tmp_path / "f.png")
    ds.close()
