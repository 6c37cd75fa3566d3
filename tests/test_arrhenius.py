"""Arrhenius fits: exact recovery, propagated errors, coverage, extrapolation flag, figure."""

import numpy as np
import pytest

from superionic import units
from superionic.analysis.arrhenius import arrhenius, rate_arrhenius
from superionic.errors import InputError

EA, D0 = 0.25, 3e-3
T = np.array([500.0, 600.0, 700.0, 800.0, 900.0])


def _d(t):
    return D0 * np.exp(-EA / (units.KB_EV * t))


def test_exact_data_recovered():
    ds = arrhenius(T, _d(T), 0.05 * _d(T))
    assert np.isclose(float(ds.E_a), EA, rtol=1e-10)
    assert np.isclose(float(ds.prefactor), D0, rtol=1e-10)
    assert float(ds.chi2_dof) < 1e-20
    assert ds.E_a.attrs["units"] == "eV"


def test_two_point_error_propagation_is_analytic():
    t = np.array([500.0, 800.0])
    rel = np.array([0.1, 0.05])
    ds = arrhenius(t, _d(t), rel * _d(t))
    x = 1 / (units.KB_EV * t)
    assert np.isclose(float(ds.E_a_err), np.hypot(*rel) / abs(x[0] - x[1]), rtol=1e-10)


def test_coverage_of_activation_energy():
    rng = np.random.default_rng(0)
    hits = []
    for _ in range(300):
        rel = 0.1
        d = _d(T) * np.exp(rng.normal(0, rel, T.size))
        ds = arrhenius(T, d, rel * d, scale_by_chi2=False)
        hits.append(abs(float(ds.E_a) - EA) < 2 * float(ds.E_a_err))
    assert 0.9 < np.mean(hits) < 0.99


def test_extrapolation_flag_and_prediction():
    ds = arrhenius(T, _d(T), 0.05 * _d(T), predict_at=[300.0, 650.0])
    assert list(ds.extrapolated.values) == [1, 0]
    assert np.allclose(ds.predicted.values, _d(np.array([300.0, 650.0])), rtol=1e-9)
    rel = ds.predicted_err.values / ds.predicted.values
    assert rel[0] > 2 * rel[1]  # the extrapolation is less certain
    assert "EXTRAPOLATED" in ds.extrapolated.attrs["long_name"]


def test_sigma_t_form():
    a = 5e6
    sig = a * np.exp(-EA / (units.KB_EV * T)) / T
    ds = arrhenius(T, sig, 0.05 * sig, quantity="sigma")
    assert np.isclose(float(ds.E_a), EA, rtol=1e-10) and np.isclose(float(ds.prefactor), a, rtol=1e-10)


def test_chi2_scaling_inflates_errors_for_scattered_data():
    d = _d(T) * np.array([1.3, 0.8, 1.25, 0.75, 1.2])
    a = arrhenius(T, d, 0.01 * d)
    b = arrhenius(T, d, 0.01 * d, scale_by_chi2=False)
    assert float(a.E_a_err) > 3 * float(b.E_a_err)


def test_input_errors():
    with pytest.raises(InputError):
        arrhenius([500.0], [1e-5], [1e-6])
    with pytest.raises(InputError, match="positive"):
        arrhenius([500.0, 600.0], [1e-5, -1e-6], [1e-6, 1e-6])
    with pytest.raises(InputError, match="quantity"):
        arrhenius(T, _d(T), _d(T), quantity="x")


def test_arrhenius_figure_marks_extrapolation():
    from superionic.report.figures_diffusion import plot_arrhenius

    fig = plot_arrhenius(arrhenius(T, _d(T), 0.05 * _d(T)))
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert "extrapolation" in texts
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert any("extrapolated 300 K" in lab for lab in labels)


def test_rate_arrhenius_recovers_the_rate_law_and_its_scatter():
    """Poisson counts of events in exposures at four temperatures: at the expected counts the maximum likelihood
    is the true law exactly; over Poisson draws E_a is unbiased and its σ is the scatter; with many events it
    agrees with the least-squares fit of ln Γ (a second implementation)."""
    from superionic import units
    from superionic.analysis.arrhenius import arrhenius, rate_arrhenius

    t = np.array([400.0, 500.0, 600.0, 700.0])
    exposure = np.full(4, 4800.0)  # 192 ions × 25 ps
    law = 40.0 * np.exp(-0.45 / (units.KB_EV * t))  # per ion per ps
    exact = rate_arrhenius(t, exposure * law, exposure)
    assert exact["E_a"] == pytest.approx(0.45, rel=1e-9) and exact["prefactor"] == pytest.approx(40.0, rel=1e-8)
    assert exact["rate"][0] == pytest.approx(40.0 * np.exp(-0.45 / (units.KB_EV * 300.0)), rel=1e-8)
    rng = np.random.default_rng(0)
    fits = []
    for _ in range(400):
        n = rng.poisson(exposure * law)
        if np.count_nonzero(n) >= 2:
            fits.append(rate_arrhenius(t, n, exposure))
    ea = np.array([f["E_a"] for f in fits])
    assert abs(ea.mean() - 0.45) < 3 * ea.std() / np.sqrt(len(ea))
    assert np.median([f["E_a_err"] for f in fits]) == pytest.approx(ea.std(), rel=0.2)
    big = exposure * 1e4
    n = rng.poisson(big * law)
    ls = arrhenius(t, n / big, np.sqrt(n) / big, "D")
    assert rate_arrhenius(t, n, big)["E_a"] == pytest.approx(float(ls.E_a), abs=2e-3)


def test_rate_arrhenius_needs_events_at_two_temperatures():
    from superionic.analysis.arrhenius import rate_arrhenius

    with pytest.raises(InputError, match="two or more temperatures"):
        rate_arrhenius([400, 500, 600], [0, 0, 12], [100.0] * 3)
    zero_counts_matter = rate_arrhenius([400, 500, 600, 700], [0, 0, 19, 51], [4800.0] * 4)["E_a"]
    assert zero_counts_matter > rate_arrhenius([600, 700], [19, 51], [4800.0] * 2)["E_a"]


def test_pooled_cage_rates_of_two_studies_recover_the_barrier(tmp_path):
    """scripts/pool_cage_rates.py: two studies of one cell (different run lengths) with the expected counts of an
    exact Arrhenius rate pool to per-temperature sums whose Poisson fit returns E_a."""
    import importlib.util
    import json
    from pathlib import Path

    path = Path(__file__).parents[1] / "scripts" / "pool_cage_rates.py"
    spec = importlib.util.spec_from_file_location("pool_cage_rates", path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    kb, e_a, g0 = units.KB_EV, 0.45, 30.0
    temps = [500.0, 600.0, 700.0]
    folders = []
    for k, exposure in enumerate((4800.0, 19200.0)):
        counts = [exposure * g0 * np.exp(-e_a / (kb * t)) for t in temps]
        series = {"temperatures_K": temps, "cage_changes": counts, "exposure_ion_ps": [exposure] * 3}
        folder = tmp_path / f"study{k}"
        folder.mkdir()
        (folder / "summary.json").write_text(json.dumps({"results": {"series": {"arrhenius_cage_rate": series}}}))
        folders.append(folder)
    pooled = mod.pooled_counts(folders)
    assert pooled[600.0][1] == 24000.0
    fit = rate_arrhenius(temps, [pooled[t][0] for t in temps], [pooled[t][1] for t in temps])
    assert fit["E_a"] == pytest.approx(e_a, rel=1e-6)
    assert fit["prefactor"] == pytest.approx(g0, rel=1e-5)
