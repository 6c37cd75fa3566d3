"""Low-frequency VDOS analysis: Langevin g(0) → D, harmonic-lattice Debye exponent, liquid-like
exponent, the resolution forward model, classification."""

import numpy as np
import pytest

from superionic.analysis.lowfreq import ForwardModel, analyse_lowfreq, classify, lowfreq, window_kernel
from superionic.analysis.vdos import vdos, vdos_from_chunks
from superionic.synthetic import langevin_diffusion_coefficient

from vdos_models import harmonic_lattice, ou_chunks, spectrum_trajectory


def _langevin_ratio(n_atoms, n_frames, seed):
    gamma, temp = 0.02, 600.0
    ds = vdos_from_chunks(ou_chunks(n_atoms, n_frames, n_frames // 5, 5.0, gamma, temp, seed=seed, positions=False),
                          max_lag=2000, time_blocks=5)
    r = analyse_lowfreq(ds, "Li", n_boot=100)
    d_ref = langevin_diffusion_coefficient(temp, 6.94, gamma)
    return r, r["D_from_g0"] / d_ref, r["D_from_g0_err"] / d_ref


def test_langevin_g0_gives_D():
    r, ratio, err = _langevin_ratio(256, 40000, seed=0)
    assert r["classification"] == "diffusive"
    assert abs(ratio - 1) < 0.02 and abs(ratio - 1) < 4 * err
    assert r["n_units"] == 40


@pytest.mark.slow
def test_langevin_g0_gives_D_within_one_percent():
    for seed in (0, 1):
        r, ratio, err = _langevin_ratio(256, 100000, seed=seed)
        assert abs(ratio - 1) < 0.01, (ratio, err)


@pytest.fixture(scope="module")
def lattice_vdos():
    return vdos(harmonic_lattice(n_atoms=128, n_frames=8192, dt=10.0, nu_max=8.0, seed=0))


def test_harmonic_lattice_is_debye_like(lattice_vdos):
    r = analyse_lowfreq(lattice_vdos, "P", n_boot=150)
    assert abs(r["exponent"] - 2) < 2 * r["exponent_err"] and r["exponent_err"] < 0.05
    assert abs(r["g0"]) < 3 * r["g0_err"]
    assert r["classification"] == "Debye-like"
    # resolution floor: the raw spectrum at 0 is ~ a σ², far below any diffusive g(0) here
    assert abs(r["g_at_zero"]) < 3 * r["g_at_zero_err"] + 1e-5
    # the quadratic alternative agrees: no linear term, same curvature as the power law
    q = r["quadratic"]
    assert abs(q["a"]) < 3 * q["a_err"] + 1e-4
    ds_tab = lowfreq(lattice_vdos, n_boot=30)
    assert ds_tab.exponent.attrs["units"] == "1" and ds_tab.classification.values[0] == "Debye-like"


def test_liquid_like_linear_spectrum():
    # g ∝ ν at low frequency (instantaneous-normal-mode liquid), no zero-frequency weight
    traj = spectrum_trajectory(lambda nu: nu * np.exp(-(nu / 3.0) ** 2), n_atoms=96, n_frames=8192, dt=10.0)
    r = analyse_lowfreq(vdos(traj), "P", n_boot=100)
    assert abs(r["exponent"] - 1) < max(3 * r["exponent_err"], 0.08)
    assert r["classification"] == "liquid-like"


def test_window_kernel_normalised_and_forward_model_keeps_constants():
    dt, m = 5.0, 400
    period = 1e3 / dt
    nu = np.linspace(-period / 2, period / 2, 20001)
    k = window_kernel("hann", m, dt, nu)
    assert abs(np.trapezoid(k, nu) - 1) < 1e-3
    # second moment of the Hann kernel: σ² = 1/(8 T²), T = (m−1) dt (here in THz²)
    t_ps = (m - 1) * dt * 1e-3
    sel = np.abs(nu) < 40 / t_ps
    var = np.trapezoid(k[sel] * nu[sel] ** 2, nu[sel])
    assert abs(var * 8 * t_ps ** 2 - 1) < 0.05
    dnu = 1e3 / (2 * (m - 1) * dt)
    fm = ForwardModel(np.arange(5, 40) * dnu, "hann", m, dt, dnu, 1 / t_ps)
    np.testing.assert_allclose(fm.kmat.sum(axis=1), 1.0)
    # ν² is lifted by the kernel variance: K ⊛ ν² = ν² + σ²
    np.testing.assert_allclose(fm.basis(2.0) - fm.nu_fit ** 2, 1 / (8 * t_ps ** 2), rtol=0.05)


def test_classification_rules():
    assert classify(1e-3, 1e-4, 2.0) == "diffusive"
    assert classify(1e-5, 1e-4, 2.0) == "Debye-like"
    assert classify(1e-5, 1e-4, 1.1) == "liquid-like"


def test_leakage_bound_covers_side_lobe_leakage_of_a_sharp_band():
    """A pure cosine VACF (Einstein band, true g(0) = 0): the windowed spectrum at ν = 0 is pure
    side-lobe leakage, and the bound must cover it for every window and band position."""
    from superionic.analysis.correlate import cosine_transform
    from superionic.analysis.lowfreq import leakage_bound
    from superionic.analysis.windows import lag_window

    dt, m = 4.0, 400                                   # fs, lags
    t = np.arange(m) * dt
    for window in ("hann", "blackman", "triangle"):
        for nu0_thz in (4.7, 6.05, 9.1, 13.33):   # ≥ 7 resolution widths above 0
            z = np.cos(2 * np.pi * nu0_thz * 1e-3 * t) * lag_window(window, m)
            nu, spec = cosine_transform(z, dt)
            nu, g = nu * 1e3, spec * 1e-3              # THz, 1/THz
            leak = abs(g[0])
            bound = leakage_bound(nu, g, 0.5 * nu0_thz, window, m, dt)
            assert bound >= leak
            assert bound < 0.05 * g.max()              # and it is a side-lobe level, not the band
