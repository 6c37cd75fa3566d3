"""Thermodynamics from the VDOS: Einstein C_v, classical limits, 2PT limits (solid and dilute gas)."""

import numpy as np
import pytest

from superionic.analysis.descriptors import band_centre, debye_frequency
from superionic.analysis.thermo import (
    einstein_heat_capacity,
    fluidicity,
    heat_capacity,
    thermal_wavelength,
    thermo,
    two_phase,
    two_phase_dataset,
    vibrational_entropy,
)
from superionic.analysis.vdos import vdos
from superionic.synthetic import harmonic_oscillators


@pytest.fixture(scope="module")
def einstein_vdos():
    return vdos(harmonic_oscillators([5.0], n_per_frequency=32, n_frames=4096, dt=4.0))


@pytest.mark.parametrize("temp", [100.0, 200.0, 300.0, 600.0, 1500.0])
def test_cv_of_harmonic_oscillators_matches_einstein(einstein_vdos, temp):
    ds = einstein_vdos
    cv = heat_capacity(ds.frequency.values, ds.g.sel(species="P").values, temp)
    assert abs(cv / einstein_heat_capacity(5.0, temp) - 1) < 0.005


def test_entropy_and_classical_limits(einstein_vdos):
    nu = einstein_vdos.frequency.values
    g = einstein_vdos.g.sel(species="P").values
    x = 5.0 * 4.135667696 / (8.617333262e-5 * 1e3 * 600.0)
    s_e = 3 * (x / np.expm1(x) - np.log(-np.expm1(-x)))
    assert abs(vibrational_entropy(nu, g, 600.0) / s_e - 1) < 0.005
    assert abs(heat_capacity(nu, g, 1e6) - 3.0) < 1e-3
    t = thermo(einstein_vdos, [100, 300])
    assert t.Cv.attrs["units"] == "k_B per atom" and t.Cv_total.shape == (2,)
    assert abs(band_centre(nu, g) / 5.0 - 1) < 0.005


def test_fluidicity_solves_the_2pt_equation():
    for delta in (0.05, 0.5, 3.0, 50.0):
        f = fluidicity(delta)
        lhs = (
            2 * delta**-4.5 * f**7.5
            - 6 * delta**-3 * f**5
            - delta**-1.5 * f**3.5
            + 6 * delta**-1.5 * f**2.5
            + 2 * f
            - 2
        )
        assert 0 < f <= 1 and abs(lhs) < 1e-9
    assert fluidicity(1e4) > 0.999 and fluidicity(1e-4) < 0.01


def test_2pt_solid_limit_is_harmonic(einstein_vdos):
    nu = einstein_vdos.frequency.values
    g = einstein_vdos.g.sel(species="P").values
    r = two_phase(nu, g, 0.0, 30.97, 0.05, 300.0)
    assert r["fluidicity"] == 0.0
    assert r["S_total"] == pytest.approx(vibrational_entropy(nu, g, 300.0))
    d = two_phase_dataset(einstein_vdos, "P", 300.0, g0=0.0)
    assert float(d.fluidicity) == 0.0 and d.g_gas.attrs["units"] == "THz-1"


def test_2pt_dilute_gas_gives_sackur_tetrode():
    # an exactly Lorentzian (free-particle) VDOS at low density: Δ ≫ 1, f → 1, S → Sackur–Tetrode
    temp, mass, n = 300.0, 39.95, 2.5e-5  # argon-like gas, atoms/Å³
    nu = np.concatenate([[0.0], np.geomspace(1e-9, 200, 200000)])
    gamma_thz = 1e-4  # width of the Lorentzian (Δ ≈ 800)
    g = (2 / (np.pi * gamma_thz)) / (1 + (nu / gamma_thz) ** 2)
    r = two_phase(nu, g, g[0], mass, n, temp)
    assert r["fluidicity"] > 0.99 and r["y"] < 0.01
    lam = thermal_wavelength(mass, temp)
    s_st = 2.5 + np.log(1 / (n * lam**3))
    assert abs(r["S_total"] / s_st - 1) < 0.01
    assert abs(r["Cv"] - 1.5) < 0.05


def test_debye_frequency_from_fit_coefficient():
    nd = debye_frequency({"debye_a": 3.0 / 8.0**3, "debye_a_err": 0.0})
    assert nd["THz"] == pytest.approx(8.0) and nd["meV"] == pytest.approx(8.0 * 4.135667696)
    assert np.isnan(debye_frequency({"debye_a": -1.0})["THz"])
