"""Current correlations and the harmonic crystal (exact normal-mode solution): dispersion, DHO fits,
Debye–Waller plateau of F_s."""

import numpy as np
import pytest

from superionic import units
from superionic.analysis.currents import current_correlations, dho_current, dispersion, fit_dho
from superionic.analysis.qpoints import QSet
from superionic.analysis.scattering import self_intermediate_scattering
from superionic.trajectory.model import Trajectory

A = 3.0  # lattice constant, Å
MASS = 30.0  # amu
KL, KT = 1.0, 0.3  # nearest-neighbour stiffness along / across the bond, eV/Å²
TEMP = 300.0


def omega2(k, kl=KL, kt=KT, comp=0):
    """ω² (1/fs²) of polarisation `comp` for wave vectors k (…, 3) on the simple cubic lattice."""
    c = 1.0 - np.cos(k * A)
    stiff = kt * c.sum(axis=-1) + (kl - kt) * c[..., comp]
    return 2.0 * stiff / (MASS * units.AMU_A2_PER_FS2_IN_EV)


def harmonic_crystal(n_cells=6, n_frames=1200, dt=5.0, seed=0):
    """Simple cubic harmonic crystal with independent Cartesian polarisations, solved exactly by
    normal modes (classical Boltzmann amplitudes). Returns (Trajectory, C_x(t) exact <u_x(t)u_x(0)>)."""
    rng = np.random.default_rng(seed)
    n = n_cells
    kk = 2 * np.pi * np.fft.fftfreq(n, d=A)
    k = np.stack(np.meshgrid(kk, kk, kk, indexing="ij"), axis=-1)  # (n, n, n, 3)
    kt_m = units.KB_EV * TEMP / (MASS * units.AMU_A2_PER_FS2_IN_EV)  # kT/m, Å²/fs²
    t = np.arange(n_frames) * dt
    grid = np.stack(np.meshgrid(*(np.arange(n),) * 3, indexing="ij"), axis=-1).reshape(-1, 3) * A
    u = np.zeros((n_frames, n**3, 3))
    v = np.zeros_like(u)
    cx = None
    for c in range(3):
        w = np.sqrt(omega2(k, comp=c))
        s = np.zeros_like(w)
        s[w > 0] = np.sqrt(kt_m) / w[w > 0]
        fa = np.fft.fftn(rng.normal(size=(n, n, n))) * s
        fb = np.fft.fftn(rng.normal(size=(n, n, n))) * s
        for i, ti in enumerate(t):
            cs, sn = np.cos(w * ti), np.sin(w * ti)
            u[i, :, c] = np.fft.ifftn(fa * cs + fb * sn).real.reshape(-1)
            v[i, :, c] = np.fft.ifftn(w * (-fa * sn + fb * cs)).real.reshape(-1)
        if c == 0:
            cx = (s.ravel() ** 2 * np.cos(np.outer(t, w.ravel()))).sum(axis=1) / n**3
    traj = Trajectory(
        positions=grid[None] + u,
        cells=np.eye(3) * n * A,
        symbols=["P"] * n**3,
        dt=dt,
        velocities=v,
        masses=np.full(n**3, MASS),
        metadata={"temperature": TEMP},
    )
    return traj, cx


@pytest.fixture(scope="module")
def crystal():
    return harmonic_crystal()


def test_fs_plateau_is_debye_waller(crystal):
    traj, cx = crystal
    q = np.array([2.0, 4.0])
    qs = QSet(np.array([[2.0, 0, 0], [4.0, 0, 0]]), np.array([0, 1]), q)
    fs = self_intermediate_scattering(traj, qs, max_lag=600).F_s.sel(species="P").values
    # Debye–Waller factor of this crystal: exp(−Q²<u_x²>), u from the time-averaged positions
    x = traj.positions[..., 0]
    u2 = np.mean((x - x.mean(axis=0)) ** 2)
    assert u2 == pytest.approx(cx[0], rel=0.2)  # realised amplitudes vs the ensemble value
    dw = np.exp(-(q**2) * u2)
    plateau = fs[:, 300:].mean(axis=1)
    assert np.allclose(plateau, dw, rtol=0.01)
    assert dw[1] < 0.85  # a real Debye–Waller reduction
    # Gaussian (harmonic) identity at all times: F_s = exp(−Q² <Δx²(t)>/2)
    from superionic.analysis.correlate import msd

    mx = msd(traj.positions[:, :, :1], 600).mean(axis=1)
    assert np.abs(fs - np.exp(-(q[:, None] ** 2) * mx / 2)).max() < 0.005


def test_current_peaks_follow_dispersion(crystal):
    traj, _ = crystal
    L = 6 * A
    hs = np.array([1, 2, 3])
    qv = np.stack([2 * np.pi * hs / L, 0 * hs, 0 * hs], axis=1)
    qs = QSet(qv, np.arange(3), np.linalg.norm(qv, axis=1), hkl=np.stack([hs, 0 * hs, 0 * hs], axis=1))
    ds = current_correlations(traj, qs, max_lag=600, lag_window="hann", pad=4)
    # one normal mode per Q and polarisation carries the current: C_L(Q,0) fluctuates like that mode's
    # energy in a single crystal, so only its order of magnitude k_B T/m is checked
    kt_m = units.KB_EV * TEMP / (MASS * units.AMU_A2_PER_FS2_IN_EV)
    assert np.all((ds.C_L_total.values[:, 0] > 0.05 * kt_m) & (ds.C_L_total.values[:, 0] < 20 * kt_m))
    disp = dispersion(ds)
    hbar_mev_fs = units.HBAR_MEV_PS * 1e3
    kvec = qv
    e_l = np.sqrt(omega2(kvec, comp=0)) * hbar_mev_fs
    e_t = np.sqrt(omega2(kvec, comp=1)) * hbar_mev_fs
    assert np.allclose(disp.E0_L.values, e_l, rtol=0.02)
    assert np.allclose(disp.E0_T.values, e_t, rtol=0.02)
    assert not disp.overdamped_L.values.any()


def test_numba_and_numpy_currents_agree(crystal):
    traj, _ = crystal
    small = traj.select_frames(0, 200)
    a = current_correlations(small, [1.0], max_lag=50, backend="numpy", q_width=0.4, max_per_shell=8)
    b = current_correlations(small, [1.0], max_lag=50, backend="numba", q_width=0.4, max_per_shell=8)
    assert np.allclose(a.C_L.values, b.C_L.values, rtol=1e-9, atol=1e-14)
    assert np.allclose(a.C_T.values, b.C_T.values, rtol=1e-9, atol=1e-14)


@pytest.mark.parametrize("e0,gamma", [(5.0, 1.0), (2.0, 6.0)])
def test_dho_fit_recovers_parameters_and_flags_overdamped(e0, gamma):
    e = np.linspace(0, 30, 600)
    y = dho_current(e, 2.0, e0, gamma)
    r = fit_dho(e, y)
    assert r["E0_meV"] == pytest.approx(e0, rel=1e-4)
    assert r["gamma_meV"] == pytest.approx(gamma, rel=1e-4)
    assert r["overdamped"] == (gamma / 2 > e0)
    # the DHO current spectrum integrates to B over both signs of E
    ef = np.linspace(0, 3000, 600001)
    assert 2 * np.trapezoid(dho_current(ef, 2.0, e0, gamma), ef) == pytest.approx(2.0, rel=2e-3)
