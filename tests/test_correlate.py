"""FFT correlation kernels against direct sums, and the issue-2 physics checks on synthetic data."""

import numpy as np
import pytest

from superionic import synthetic
from superionic.analysis.correlate import autocorrelation, cosine_transform, msd
from superionic.analysis.diffusion import diffusion
from superionic.analysis.vdos import diffusion_from_g0, vacf, vdos


def _direct_acf(x, max_lag):
    t = x.shape[0]
    return np.array([np.mean(np.sum(x[: t - m] * x[m:], axis=-1), axis=0) for m in range(max_lag)])


def _direct_msd(r, max_lag):
    t = r.shape[0]
    return np.array([np.mean(np.sum((r[m:] - r[: t - m]) ** 2, axis=-1), axis=0) for m in range(max_lag)])


def test_autocorrelation_matches_direct_sum(rng):
    x = rng.normal(size=(301, 4, 3))
    np.testing.assert_allclose(autocorrelation(x, 120), _direct_acf(x, 120), rtol=1e-10, atol=1e-12)


def test_msd_matches_direct_sum(rng):
    r = np.cumsum(rng.normal(size=(257, 5, 3)), axis=0) + 1000.0  # large offset: precision check
    np.testing.assert_allclose(msd(r, 200), _direct_msd(r, 200), rtol=1e-8, atol=1e-8)


def test_cosine_transform_integrates_to_c0():
    t = np.arange(4000) * 0.05
    c = np.exp(-t / 7.0) * np.cos(0.8 * t)
    nu, s = cosine_transform(c, 0.05)
    assert np.trapezoid(s, nu) == pytest.approx(c[0], rel=1e-12)
    # analytic transform of exp(-t/τ)cos(ω0 t) at ν = 0: 4 τ / (1 + (ω0 τ)²) (tail negligible)
    assert s[0] == pytest.approx(4 * 7.0 / (1 + (0.8 * 7.0) ** 2), rel=2e-3)


def test_langevin_D_from_msd_and_vacf_within_2_percent():
    # τ = 1/γ = 200 fs, frames every 20 fs over 120 ps, 1000 particles: statistical error ≈ 0.5 %
    gamma, temp, mass = 0.005, 600.0, 6.94
    traj = synthetic.langevin_particles(
        n_atoms=1000, n_frames=6000, dt=2.0, stride=10, gamma=gamma, temperature=temp, mass=mass, seed=3
    )
    exact = synthetic.langevin_diffusion_coefficient(temp, mass, gamma)
    d_msd = float(diffusion(traj, fit_range=(0.02, 0.1)).D.sel(species="Li"))
    # Green–Kubo: D = (1/3)∫Z dt over 10 τ (trapezoid), Å²/fs → cm²/s
    z = vacf(traj, max_lag=100).vacf.sel(species="Li").values
    d_gk = np.trapezoid(z, dx=traj.dt) / 3.0 * 0.1
    # the VDOS route: g(0) = 4mD/kT with no lag window (a lag window biases g(0) by ≈ (πτ/L)²/2)
    ds = vdos(traj, max_lag=100, lag_window="none")
    d_g0 = diffusion_from_g0(float(ds.g.sel(species="Li")[0]), mass, float(ds.kinetic_temperature[0]))
    assert d_msd == pytest.approx(exact, rel=0.02)
    assert d_gk == pytest.approx(exact, rel=0.02)
    assert d_g0 == pytest.approx(d_gk, rel=0.01)


def test_harmonic_oscillator_vdos_peak_and_normalisation():
    traj = synthetic.harmonic_oscillators([4.0, 11.0], n_per_frequency=500, n_frames=4096, dt=2.0)
    ds = vdos(traj)
    for s, f0 in (("P", 4.0), ("S", 11.0)):
        g = ds.g.sel(species=s)
        assert float(ds.frequency[int(g.argmax())]) == pytest.approx(f0, rel=0.01)
        assert float(np.trapezoid(g, ds.frequency)) == pytest.approx(1.0, rel=0.01)
    assert float(np.trapezoid(ds.g_total, ds.frequency)) == pytest.approx(1.0, rel=0.01)
    # 1500 thermal degrees of freedom per species: <v²> scatters by sqrt(2/1500) ≈ 3.7 %; allow 3σ
    np.testing.assert_allclose(ds.kinetic_temperature, 300.0, rtol=0.11)
