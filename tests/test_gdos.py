"""Neutron-weighted GDOS: pinned weights, isotopes, normalisation, Debye–Waller, resolution kernels,
cross-section fallback."""

import numpy as np
import pytest

from superionic.analysis.vdos import vdos
from superionic.errors import InputError
from superionic.neutron.crosssections import lookup, neutron_data
from superionic.neutron.gdos import gdos, gdos_weights, harmonic_msd
from superionic.neutron.resolution import convolve, gaussian_kernel
from superionic.synthetic import harmonic_oscillators


def test_li6ps5cl_weights_from_science_md():
    frac = np.array([6, 1, 5, 1]) / 13
    w = gdos_weights(["Li", "P", "S", "Cl"], frac)
    np.testing.assert_allclose(w, [0.62, 0.06, 0.08, 0.25], atol=0.006)
    w7 = gdos_weights(["Li", "P", "S", "Cl"], frac, isotopes={"Li": "7Li"})
    # ⁷Li: σ/m = 1.399/7.016 = 0.1994 vs natural 1.374/6.94 = 0.1980
    assert w7[0] > w[0] and abs(w7[0] - w[0]) < 0.01


@pytest.fixture(scope="module")
def two_species():
    traj = harmonic_oscillators([4.0, 9.0], n_per_frequency=16, n_frames=2048, dt=4.0, symbols=["Li", "Cl"])
    return vdos(traj)


def test_gdos_normalised_and_weighted(two_species):
    gd = gdos(two_species, isotopes={"Li": "7Li"})
    e = gd.energy.values
    assert abs(np.trapezoid(gd.G.values, e) - 1) < 1e-6
    w = gd.weight.values
    li, cl = neutron_data("Li", {"Li": "7Li"}), neutron_data("Cl")
    ref = np.array([0.5 * li.sigma_total / li.mass, 0.5 * cl.sigma_total / cl.mass])
    np.testing.assert_allclose(w, ref / ref.sum())
    assert gd.G.attrs["units"] == "meV-1" and gd.energy.attrs["units"] == "meV"


def test_debye_waller_suppresses_light_species(two_species):
    q = 6.0
    gd0 = gdos(two_species)
    gd = gdos(two_species, q=q, msd={"Li": 0.06, "Cl": 0.02})
    ratio_ref = np.exp(-q * q * (0.06 - 0.02) / 3)
    r0 = gd0.weight.values[0] / gd0.weight.values[1]
    assert gd.weight.values[0] / gd.weight.values[1] == pytest.approx(r0 * ratio_ref)
    # harmonic <u²> of an Einstein oscillator, classical: 3 k_BT/(m ω²)
    ds = two_species
    u2 = harmonic_msd(ds.frequency.values, ds.g.sel(species="Cl").values, 35.45, 300.0, quantum=False)
    w = 2 * np.pi * 9.0e-3
    ref = 3 * 8.617333262e-5 * 300 / (35.45 * 103.6427 * w * w)
    assert abs(u2 / ref - 1) < 0.02
    with pytest.raises(InputError):
        gdos(two_species, msd={"Li": 0.1})


def test_gaussian_resolution_conserves_area_and_sets_width():
    e = np.arange(0, 200, 0.05)
    s = np.zeros_like(e)
    s[1000] = 1 / 0.05  # unit-area line at 50 meV
    out = convolve(e, s, fwhm=2.0)
    assert abs(np.trapezoid(out, e) - 1) < 1e-6
    half = out >= out.max() / 2
    assert abs(e[half].max() - e[half].min() + 0.05 - 2.0) < 0.06
    # a user kernel equal to the Gaussian gives the same result
    x = np.arange(-10, 10, 0.01)
    k = np.exp(-0.5 * (x / (2.0 / 2.3548)) ** 2)
    np.testing.assert_allclose(convolve(e, s, kernel=(x, k)), out, atol=2e-3 * out.max())
    # energy-dependent width reduces to the constant one
    np.testing.assert_allclose(convolve(e, s, fwhm=lambda en: np.full_like(en, 2.0)), out, atol=1e-3 * out.max())
    assert abs(gaussian_kernel(0.1, 1.0).sum() * 0.1 - 1) < 1e-12
    with pytest.raises(InputError):
        convolve(e, s)


def test_resolution_in_gdos_keeps_normalisation(two_species):
    gd = gdos(two_species, resolution_fwhm_mev=3.0)
    assert abs(np.trapezoid(gd.G_resolved.values, gd.energy.values) - 1) < 1e-3
    assert gd.G_resolved.max() < gd.G.max()


def test_cross_section_fallback_to_periodictable():
    pytest.importorskip("periodictable")
    na, src = lookup("Na")
    assert na.sigma_coh == pytest.approx(1.66, rel=0.02) and "periodictable" in src
    assert lookup("Li")[0] is neutron_data("Li")  # pinned table wins
    assert neutron_data("H", {"H": "2H"}).mass == pytest.approx(2.014, rel=1e-3)
    with pytest.raises(InputError):
        neutron_data("Xx")
