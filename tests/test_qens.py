"""QENS spectrum fits and Γ(Q) models: exact recovery, error-bar calibration, lattice random walk → CE."""

import numpy as np
import pytest

from superionic import units
from superionic.analysis.qens import (
    GAMMA_MODELS,
    fit_gamma_model,
    fit_gamma_models,
    fit_qens,
    fit_qens_dataset,
    gamma_model,
    qens_model,
)
from superionic.analysis.scattering import dynamic_structure_factor, self_intermediate_scattering
from superionic.errors import InputError
from superionic.neutron.instrument import GaussianResolution, TabulatedResolution
from superionic.synthetic import lattice_random_walk

HB = units.HBAR_MEV_PS


def test_noise_free_spectrum_recovered_exactly():
    e = np.linspace(-0.1, 0.1, 401)
    res = GaussianResolution(0.0035)
    y = qens_model(e, res, 0.3, [0.7], [0.012], b0=0.05)
    f = fit_qens(e, y, np.full_like(e, 1e-3), res)
    assert f.gamma == pytest.approx(0.012, rel=1e-6)
    assert f.eisf == pytest.approx(0.3, rel=1e-6)
    assert f.params["b0"] == pytest.approx(0.05, rel=1e-6)
    # the same with the resolution given as a table (piecewise constant, fine grid)
    eg = np.linspace(-0.02, 0.02, 401)
    tab = TabulatedResolution(eg, res.shape(eg))
    y2 = qens_model(e, tab, 0.3, [0.7], [0.012], b0=0.05)
    f2 = fit_qens(e, y2, np.full_like(e, 1e-3), tab)
    assert f2.gamma == pytest.approx(0.012, rel=1e-5)
    assert np.allclose(tab.lorentzian(e, 0.012), res.lorentzian(e, 0.012), atol=2e-3 * res.lorentzian(0, 0.012))


def test_two_lorentzians_recovered():
    e = np.linspace(-0.5, 0.5, 801)
    res = GaussianResolution(0.01)
    y = qens_model(e, res, 0.2, [0.5, 0.3], [0.01, 0.08])
    f = fit_qens(e, y, np.full_like(e, 1e-4), res, n_lorentzians=2, background="none")
    assert f.params["gamma1"] == pytest.approx(0.01, rel=1e-4)
    assert f.params["gamma2"] == pytest.approx(0.08, rel=1e-4)
    assert f.params["gamma_mean"] == pytest.approx((0.5 * 0.01 + 0.3 * 0.08) / 0.8, rel=1e-4)
    assert f.eisf == pytest.approx(0.2, rel=1e-4)


def test_error_bars_are_calibrated():
    """Pulls (fit − truth)/σ over independent noisy spectra have unit spread."""
    e = np.linspace(-0.1, 0.1, 201)
    res = GaussianResolution(0.0035)
    truth = qens_model(e, res, 30.0, [70.0], [0.015], b0=2.0)
    rng = np.random.default_rng(0)
    pulls = []
    for _ in range(40):
        sig = np.sqrt(truth)
        f = fit_qens(e, truth + rng.normal(0, sig), sig, res)
        pulls.append((f.gamma - 0.015) / f.errors["gamma1"])
    pulls = np.array(pulls)
    assert abs(pulls.mean()) < 0.5
    assert 0.7 < pulls.std() < 1.35


@pytest.mark.parametrize(
    "name,params",
    [
        ("fick", {"D": 0.8}),
        ("chudley_elliott", {"tau": 2.0, "l": 2.5}),
        ("singwi_sjolander", {"D": 0.8, "tau0": 1.5}),
        ("hall_ross", {"tau": 2.0, "l": 1.2}),
    ],
)
def test_gamma_models_recover_parameters(name, params):
    q = np.linspace(0.2, 2.0, 12)
    g = gamma_model(name, q, **params)
    rng = np.random.default_rng(1)
    err = 0.01 * g
    r = fit_gamma_model(name, q, g + rng.normal(0, err), err)
    for k, v in params.items():
        assert abs(r["params"][k] - v) < 4 * r["errors"][k]
        assert r["params"][k] == pytest.approx(v, rel=0.05)
    # all models tend to ħDQ² at small Q
    d = {
        "fick": params.get("D"),
        "singwi_sjolander": params.get("D"),
        "chudley_elliott": params.get("l", 1) ** 2 / (6 * params.get("tau", 1)),
        "hall_ross": params.get("l", 1) ** 2 / (2 * params.get("tau", 1)),
    }[name]
    assert gamma_model(name, [1e-3], **params)[0] == pytest.approx(HB * d * 1e-6, rel=1e-4)
    assert r["D"] == pytest.approx(d * 1e-4, rel=0.05)  # cm²/s


def test_model_comparison_prefers_true_model():
    q = np.linspace(0.2, 2.2, 15)
    g = gamma_model("chudley_elliott", q, tau=1.5, l=2.2)
    rng = np.random.default_rng(2)
    err = 0.01 * g
    res = fit_gamma_models(q, g + rng.normal(0, err), err)
    assert res["best_by_aic"] == "chudley_elliott"
    assert res["fick"]["chi2_red"] > 10 * res["chudley_elliott"]["chi2_red"]
    assert set(GAMMA_MODELS) <= set(res)


def test_lattice_random_walk_follows_chudley_elliott():
    """Simple cubic walk, τ = 1 ps, l = 2 Å: single-Lorentzian Γ(Q) of the powder-averaged F_inc.

    Q ≤ 1.3 Å⁻¹ (Ql ≤ 2.6): at larger Ql the powder spectrum of a cubic lattice is a visible
    superposition of Lorentzians (Γ depends on the Q direction) and one Lorentzian underestimates the
    mean width; two Lorentzians (gamma_mean) are then the better choice.
    """
    rate, jump = 1e-3, 2.0
    traj = lattice_random_walk(n_atoms=400, n_frames=3000, dt=10.0, rate=rate, jump_length=jump, seed=3)
    q = np.linspace(0.5, 1.3, 5)
    ds = self_intermediate_scattering(traj, q, n_directions=12, max_lag=1500)
    sq = dynamic_structure_factor(ds, "F_inc", lag_window="hann", pad=8).sel(energy=slice(-3, 3))
    fit = fit_qens_dataset(sq, "S_inc")
    assert np.all(fit.eisf.values < 0.03)  # no elastic part for unbounded jumps
    ce = fit_gamma_model("chudley_elliott", q, fit.gamma.values, fit.gamma_err.values)
    assert ce["tau"] == pytest.approx(1.0 / rate * 1e-3, rel=0.03)  # ps
    assert ce["l"] == pytest.approx(jump, rel=0.03)
    assert ce["D"] == pytest.approx(jump**2 / 6 / 1.0 * 1e-4, rel=0.05)


def test_bad_inputs():
    e = np.linspace(-1, 1, 50)
    with pytest.raises(InputError):
        fit_qens(e, np.ones_like(e), None, None)
    with pytest.raises(InputError):
        fit_qens(e, np.ones_like(e), None, 0.01, n_lorentzians=3)
    with pytest.raises(InputError):
        fit_gamma_model("arrhenius", [1, 2], [1, 2])
    assert not fit_gamma_model("chudley_elliott", [1.0, 2.0], [0.1, 0.2])["success"]
