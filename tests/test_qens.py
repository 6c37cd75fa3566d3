"""QENS spectrum fits and Γ(Q) models: exact recovery, error-bar calibration, lattice random walk → CE."""

import numpy as np
import pytest
import xarray as xr

from superionic import units
from superionic.analysis.qens import (
    GAMMA_MODELS,
    fit_gamma_model,
    fit_gamma_models,
    fit_qens,
    fit_qens_dataset,
    gamma_model,
    linewidth_summary,
    qens_model,
    resolution_limit,
)
from superionic.analysis.scattering import dynamic_structure_factor, self_intermediate_scattering
from superionic.errors import InputError
from superionic.neutron.instrument import GaussianResolution, TabulatedResolution
from superionic.synthetic import langevin_particles, lattice_random_walk, thermal_sigma_v

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


# ----------------------------------------------------------------------------- widths below the resolution
def test_resolution_limit_is_the_larger_of_resolution_and_correlation_length():
    res = GaussianResolution(0.0035)  # HWHM 1.75 µeV
    assert resolution_limit(res) == pytest.approx(0.1 * 0.00175)
    assert resolution_limit(res, max_lag_fs=2000.0) == pytest.approx(HB / 2.0)  # ħ/t_max, t_max = 2 ps
    assert resolution_limit(res, max_lag_fs=1e9) == pytest.approx(0.1 * 0.00175)  # a ns correlation: the instrument


def _gaussian_case(gammas, seed=0):
    """Exact spectra: elastic line + Lorentzian of the planted Γ (meV) ⊗ a 3.5 µeV Gaussian (the Voigt profile),
    flat background, Poisson-like noise; fitted at every Q with its true resolution."""
    res = GaussianResolution(0.0035)
    e = np.linspace(-0.1, 0.1, 401)
    rng = np.random.default_rng(seed)
    vals, errs = [], []
    for g in gammas:
        truth = qens_model(e, res, 100.0, [900.0], [g], b0=20.0)
        sig = np.sqrt(truth)
        vals.append(truth + rng.normal(0, sig))
        errs.append(sig)
    q = np.array([0.4, 0.6, 0.8, 1.0, 1.2])[: len(gammas)]
    ds = xr.Dataset(
        {"S": (("q", "energy"), np.array(vals)), "S_err": (("q", "energy"), np.array(errs))},
        coords={"q": q, "energy": e},
    )
    return q, fit_qens_dataset(ds, "S", res)


def test_widths_well_above_the_resolution_are_recovered_and_give_d():
    h = 0.00175  # resolution HWHM, meV
    q = np.array([0.4, 0.6, 0.8, 1.0, 1.2])
    d = 2 * h / (HB * 0.16)  # Å²/ps: Γ = ħDQ² from 2 to 18 resolution HWHM
    q, fits = _gaussian_case(HB * d * q**2)
    assert fits.resolved.values.all() and fits.fit_ok.values.all()
    assert np.allclose(fits.gamma.values, HB * d * q**2, rtol=0.02)  # measured: ≤ 0.4 %
    s = linewidth_summary(fits)
    assert "models_refused" not in s
    assert s["models"]["fick"]["D"] == pytest.approx(d * 1e-4, rel=0.02)


def test_widths_far_below_the_resolution_are_unresolved_and_refuse_d():
    """Γ = ħDQ² from 1/100 to 9/100 of the resolution HWHM: every width is flagged unresolved (an upper bound
    that holds the true width, no error), and no D comes out."""
    h = 0.00175
    q = np.array([0.4, 0.6, 0.8, 1.0, 1.2])
    d = 0.01 * h / (HB * 0.16)
    q, fits = _gaussian_case(HB * d * q**2)
    assert fits.fit_ok.values.all() and not fits.resolved.values.any()
    s = linewidth_summary(fits)
    for row, g in zip(s["q"].values(), HB * d * q**2):
        assert row["gamma"] is None and row["gamma_err"] is None and row["eisf"] is None
        assert row["resolved"] is False and "unresolved" in row["unresolved"]
        assert g < row["gamma_upper"] and row["gamma_upper"] >= row["gamma_limit"] == pytest.approx(0.1 * h)
    assert "needs at least 3" in s["models_refused"]
    assert all(r.get("D") is None and not r["success"] for k, r in s["models"].items() if k != "best_by_aic")
    assert "best_by_aic" not in s["models"]


def test_too_few_resolved_widths_refuse_d():
    h = 0.00175
    q, fits = _gaussian_case([0.01 * h, 0.01 * h, 0.01 * h, 2 * h, 4 * h])
    assert fits.resolved.values.tolist() == [0, 0, 0, 1, 1]
    assert np.allclose(fits.gamma.values[3:], [2 * h, 4 * h], rtol=0.02)
    s = linewidth_summary(fits)
    assert (
        s["models_refused"]
        == "only 2 of 5 Q have a resolved Γ (3 unresolved, 0 failed); a D from Γ(Q) needs at least 3"
    )
    assert s["models"]["fick"] == {"success": False, "message": s["models"]["fick"]["message"]}
    e = np.linspace(-0.1, 0.1, 401)
    y = qens_model(e, GaussianResolution(0.0035), 0.2, [0.8], [0.05 * h], b0=0.01)  # noise-free, Γ = 0.05 HWHM
    fit = fit_qens(e, y, np.full_like(e, 1e-3), 0.0035)
    assert not fit.resolved and fit.success and fit.gamma_upper == pytest.approx(0.1 * h)
    assert fit.summary()["gamma_meV"] is None and fit.summary()["gamma_upper_meV"] == pytest.approx(0.1 * h)
    fit = fit_qens(e, y, np.full_like(e, 1e-3), 0.0035, gamma_limit=0.0)  # the rule off: the exact width
    assert fit.resolved and fit.gamma_upper is None and fit.gamma == pytest.approx(0.05 * h, rel=1e-3)


def test_langevin_widths_below_hbar_over_tmax_are_unresolved():
    """Brownian (Langevin) Li, exact D = k_BT/(mγ) = 1.44 Å²/ps: with a 2 ps correlation (ħ/t_max = 0.33 meV)
    the small-Q widths ħDQ² = 0.04–0.15 meV come out 15–56 % too wide and are flagged unresolved; the resolved
    ones (Q = 0.8, 1.0) are within 2 % of ħDQ², and with 2 resolved Q no D is given. A 12 ps correlation
    resolves all four Q and gives D within 4 %."""
    gamma, temp, mass = 0.05, 600.0, 6.94
    traj = langevin_particles(
        n_atoms=300, n_frames=2500, dt=2.0, stride=10, gamma=gamma, temperature=temp, mass=mass, seed=2
    )
    d = thermal_sigma_v(temp, mass) ** 2 / gamma * 1e3  # Å²/ps
    qv = np.array([0.2, 0.3, 0.4, 0.8, 1.0])
    ds = self_intermediate_scattering(traj, _axis_qset(qv), max_lag=100)  # t_max = 1.98 ps
    sq = dynamic_structure_factor(ds, "F_inc", lag_window="hann", pad=4).sel(energy=slice(-10, 10))
    assert sq.attrs["max_lag_time_fs"] == pytest.approx(1980.0)
    fits = fit_qens_dataset(sq, "S_inc")
    assert fits.gamma_limit.values == pytest.approx(HB / 1.98)
    assert fits.resolved.values.tolist() == [0, 0, 0, 1, 1]
    assert np.allclose(fits.gamma.values[3:], HB * d * qv[3:] ** 2, rtol=0.02)
    s = linewidth_summary(fits)
    assert "models_refused" in s and s["models"]["fick"].get("D") is None
    assert all(row["gamma_upper"] > g for row, g in zip(list(s["q"].values())[:3], HB * d * qv[:3] ** 2))
    qv = np.array([0.4, 0.6, 0.8, 1.0])
    ds = self_intermediate_scattering(traj, _axis_qset(qv), max_lag=600)  # t_max = 12 ps: 0.055 meV
    fits = fit_qens_dataset(
        dynamic_structure_factor(ds, "F_inc", lag_window="hann", pad=4).sel(energy=slice(-10, 10)), "S_inc"
    )
    assert fits.resolved.values.all()
    assert linewidth_summary(fits)["models"]["fick"]["D"] == pytest.approx(d * 1e-4, rel=0.04)


def _axis_qset(qv):
    from superionic.analysis.qpoints import QSet

    qv = np.asarray(qv, dtype=float)
    return QSet(np.concatenate([q * np.eye(3) for q in qv]), np.repeat(np.arange(len(qv)), 3), qv)


def test_a_gamma_model_d_far_from_the_tracer_d_is_flagged_not_reported_as_d():
    from superionic.analysis.qens import compare_with_tracer

    summary = {
        "models": {
            "fick": {"D": 1.2e-4, "D_err": 1e-6},  # 10× the tracer D, far outside the errors
            "chudley_elliott": {"D": 1.3e-5, "D_err": 1e-6},  # within a factor 3
            "hall_ross": {"D": None},
            "best_by_aic": "fick",
        }
    }
    warnings = compare_with_tracer(summary, 1.2e-5, 2e-6, "Li")
    assert len(warnings) == 1 and "fick" in warnings[0] and "10×" in warnings[0]
    assert summary["models"]["fick"]["consistent_with_tracer"] is False
    assert summary["models"]["fick"]["tracer_ratio"] == pytest.approx(10.0)
    assert summary["models"]["chudley_elliott"]["consistent_with_tracer"] is True
    assert "consistent_with_tracer" not in summary["models"]["hall_ross"]
    assert summary["tracer_D"] == 1.2e-5 and summary["tracer_species"] == "Li"


def test_cli_scattering_on_a_short_li6ps5cl_run_says_the_model_d_is_not_a_d(capsys):
    import json
    from pathlib import Path

    from superionic.cli import run

    data = Path(__file__).parent / "data" / "li6ps5cl_snap_400K_subset.h5"
    assert run(["analyze", "scattering", str(data), "--fit-species", "Li", "--q", "0.4,0.8,1.2,1.6", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["tracer_species"] == "Li" and 0 < out["tracer_D"] < 1e-4
    flagged = [m for m, r in out["models"].items() if isinstance(r, dict) and r.get("consistent_with_tracer") is False]
    assert flagged and any("not the diffusive one" in w for w in out["warnings"])
