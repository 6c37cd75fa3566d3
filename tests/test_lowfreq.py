"""Low-frequency VDOS analysis against exact answers: the zero-frequency verdict (g(0) > 0 resolved or
consistent with zero, never negative) and the law verdict (linear / Debye / unresolved) for a Langevin
liquid (g(0) exact), large and small harmonic crystals, a linear (INM-like) spectrum, a liquid-like
mixture of both, a system mixing species, a fit on its bound, and the resolution forward model."""

import numpy as np
import pytest
from vdos_models import harmonic_lattice, ou_chunks, spectrum_trajectory

from superionic.analysis.lowfreq import (
    ForwardModel,
    analyse_lowfreq,
    classify,
    lag_window_kernel,
    law_verdict,
    lowfreq,
    zero_frequency_verdict,
)
from superionic.analysis.vdos import vdos, vdos_from_chunks
from superionic.synthetic import langevin_diffusion_coefficient
from superionic.trajectory.model import Trajectory


def _langevin_ratio(n_atoms, n_frames, seed):
    gamma, temp = 0.02, 600.0
    ds = vdos_from_chunks(
        ou_chunks(n_atoms, n_frames, n_frames // 5, 5.0, gamma, temp, seed=seed, positions=False),
        max_lag=2000,
        time_blocks=5,
    )
    r = analyse_lowfreq(ds, "Li", n_boot=100)
    d_ref = langevin_diffusion_coefficient(temp, 6.94, gamma)
    return r, r["D_from_g0"] / d_ref, r["D_from_g0_err"] / d_ref


def test_langevin_g0_gives_D():
    r, ratio, err = _langevin_ratio(256, 40000, seed=0)
    assert r["g0_resolved"] and r["classification"] == "diffusive"
    assert abs(ratio - 1) < 0.02 and abs(ratio - 1) < 4 * err
    assert r["n_blocks"] == 40
    # a Lorentzian falls with ν: there is no vibrational law to report
    assert r["law"] == "unresolved" and "does not rise" in r["law_reason"]


@pytest.mark.slow
def test_langevin_g0_gives_D_within_one_percent():
    for seed in (0, 1):
        r, ratio, err = _langevin_ratio(256, 100000, seed=seed)
        assert abs(ratio - 1) < 0.01, (ratio, err)


@pytest.fixture(scope="module")
def lattice_vdos():
    return vdos(harmonic_lattice(n_atoms=128, n_frames=8192, dt=10.0, nu_max=8.0, seed=0))


def test_large_harmonic_crystal_is_debye_with_g0_consistent_with_zero(lattice_vdos):
    r = analyse_lowfreq(lattice_vdos, "P", n_boot=150)
    assert abs(r["exponent"] - 2) < 2 * r["exponent_err"] and r["exponent_err"] < 0.05
    assert r["law"] == "Debye" and r["classification"] == "Debye-like"
    # g(0) is admissible (≥ 0), not resolved, and reported as an upper bound far below a diffusive level
    assert r["g0"] >= 0 and r["D_from_g0"] >= 0 and not r["g0_resolved"]
    assert r["g0"] <= r["g0_upper"] < 2e-3
    # the quadratic alternative agrees: no linear term
    q = r["quadratic"]
    assert abs(q["a"]) < 3 * q["a_err"] + 1e-4
    tab = lowfreq(lattice_vdos, n_boot=30)
    assert tab.exponent.attrs["units"] == "1" and tab.classification.values[0] == "Debye-like"
    assert tab.law.values[0] == "Debye" and not tab.g0_resolved.values[0]


def test_vdos_file_of_an_earlier_version_still_loads(lattice_vdos, tmp_path):
    """Earlier versions called the bootstrap blocks vacf_units/unit_pairs (dimension unit) and the lag
    window attr `window`."""
    import xarray as xr

    old = lattice_vdos.rename({"vacf_blocks": "vacf_units", "block_pairs": "unit_pairs", "block": "unit"})
    old.attrs = {("window" if k == "lag_window" else k): v for k, v in old.attrs.items()}
    old.to_netcdf(tmp_path / "old_vdos.nc", engine="h5netcdf")
    loaded = xr.load_dataset(tmp_path / "old_vdos.nc", engine="h5netcdf")
    assert "vacf_units" in loaded and "vacf_blocks" not in loaded
    r_old, r_new = analyse_lowfreq(loaded, "P", n_boot=40), analyse_lowfreq(lattice_vdos, "P", n_boot=40)
    assert r_old["n_blocks"] == r_new["n_blocks"] == 8
    assert r_old["exponent"] == pytest.approx(r_new["exponent"]) and r_old["g0"] == pytest.approx(r_new["g0"])
    assert r_old["exponent_err"] == pytest.approx(r_new["exponent_err"])
    assert lowfreq(loaded, n_boot=5).attrs["lag_window"] == "hann"
    with pytest.warns(DeprecationWarning, match="fit_range"):  # the old keyword, for one release
        r = analyse_lowfreq(lattice_vdos, "P", n_boot=5, fit_window=(0.3, 1.5))
    assert r["fit_range"] == [0.3, 1.5]


def test_small_harmonic_cell_is_never_classed():
    """A 4³ cell has no mode below ν_max/√3·sin(π/4) = 3.27 THz: every low fit range lies below its lowest
    phonon, so neither a law nor a diffusive g(0) may be claimed."""
    n_cell, nu_max = 4, 8.0
    traj = harmonic_lattice(n_atoms=64, n_frames=8192, dt=10.0, nu_max=nu_max, seed=1, n_cell=n_cell)
    ds = vdos(traj)
    nu_min = nu_max / np.sqrt(3) * np.sin(np.pi / n_cell)
    lowest = {"nu_min_THz": nu_min, "v_T_m_s": nu_min * 4 * 3.0 * 100.0, "method": "analytic"}
    r = analyse_lowfreq(ds, "P", n_boot=100, lowest_phonon=lowest)
    assert r["law"] == "unresolved" and "lowest phonon" in r["law_reason"]
    assert r["classification"] == "unresolved" and not r["g0_resolved"] and r["g0"] >= 0
    assert r["finite_size"]["needed_L_A"] > 4 * 3.0  # a bigger cell is what it needs
    # a fit range chosen by hand below the lowest phonon is refused as a bulk law too
    r2 = analyse_lowfreq(ds, "P", n_boot=50, fit_range=(0.2, 2.0), lowest_phonon=lowest)
    assert r2["law"] == "unresolved" and "not a bulk property" in r2["law_reason"]


def test_linear_spectrum_without_diffusion_is_linear_not_liquid_like():
    # g ∝ ν at low frequency (instantaneous-normal-mode liquid), no zero-frequency weight
    traj = spectrum_trajectory(lambda nu: nu * np.exp(-((nu / 3.0) ** 2)), n_atoms=96, n_frames=8192, dt=10.0)
    r = analyse_lowfreq(vdos(traj), "P", n_boot=100)
    assert abs(r["exponent"] - 1) < max(3 * r["exponent_err"], 0.08)
    assert r["law"] == "linear" and not r["g0_resolved"] and r["classification"] == "linear"


def _ou_velocities(n_atoms, n_frames, dt, gamma, temp, mass, seed):
    ch = next(ou_chunks(n_atoms, n_frames, n_frames, dt, gamma, temp, mass=mass, seed=seed, positions=False))
    return ch.velocities


def test_liquid_like_is_diffusive_and_linear_with_exact_g0():
    """Velocities = a fast Langevin part (D exact, flat spectrum at low ν) + an independent part whose
    spectrum rises linearly: g(0) = 12 D/Z(0) exactly, and the law above it is linear."""
    n_atoms, n_frames, dt, temp, mass, gamma = 96, 8192, 10.0, 300.0, 30.97, 0.05
    lin = spectrum_trajectory(lambda nu: nu * np.exp(-((nu / 3.0) ** 2)), n_atoms, n_frames, dt, temp, mass, seed=3)
    v_ou = _ou_velocities(n_atoms, n_frames, dt, gamma, temp, mass, seed=4) * np.sqrt(0.2)
    traj = Trajectory(
        positions=lin.positions,
        cells=lin.cells,
        symbols=lin.symbols,
        dt=dt,
        velocities=lin.velocities + v_ou,
        masses=lin.masses,
    )
    r = analyse_lowfreq(vdos(traj), "P", n_boot=100)
    # exact: D = 0.2 k_BT/(mγ) from the Langevin part; the linear part adds no diffusion
    d_ref = 0.2 * langevin_diffusion_coefficient(temp, mass, gamma)
    # within the statistical error plus the stated resolution bias (the smear of the linear rise into ν = 0)
    bias = r["g0_resolution_bias"] / r["g0"] * r["D_from_g0"]
    assert r["g0_resolved"] and abs(r["D_from_g0"] - d_ref) < 3 * r["D_from_g0_err"] + bias
    assert bias < 0.25 * d_ref
    assert r["law"] == "linear" and r["classification"] == "liquid-like"


def test_mixed_system_gets_one_verdict_per_species(lattice_vdos):
    """Diffusing Li (Langevin) and a harmonic P lattice in one trajectory: each species its own verdict."""
    n_frames, dt, temp = 8192, 10.0, 300.0
    lat = harmonic_lattice(n_atoms=64, n_frames=n_frames, dt=dt, nu_max=8.0, seed=2)
    v_li = _ou_velocities(64, n_frames, dt, 0.005, temp, 6.94, seed=5)
    traj = Trajectory(
        positions=np.concatenate([lat.positions, lat.positions + 1.5], axis=1),
        cells=lat.cells,
        symbols=["P"] * 64 + ["Li"] * 64,
        dt=dt,
        velocities=np.concatenate([lat.velocities, v_li], axis=1),
        masses=np.concatenate([lat.masses, np.full(64, 6.94)]),
    )
    tab = lowfreq(vdos(traj), n_boot=60)
    li, p = tab.sel(name="Li"), tab.sel(name="P")
    assert bool(li.g0_resolved) and li.classification.item() == "diffusive"
    d_ref = langevin_diffusion_coefficient(temp, 6.94, 0.005)
    assert abs(float(li.D_from_g0) / d_ref - 1) < max(3 * float(li.D_from_g0_err) / d_ref, 0.05)
    assert not bool(p.g0_resolved) and p.law.item() == "Debye" and float(p.g0) >= 0


def test_exponent_on_its_bound_is_a_failed_fit():
    # a ν⁶ rise lies beyond the exponent's search range: the fit ends on its bound and is not reported
    traj = spectrum_trajectory(lambda nu: nu**6 * np.exp(-((nu / 1.5) ** 2)), n_atoms=96, n_frames=8192, dt=10.0)
    r = analyse_lowfreq(vdos(traj), "P", n_boot=60, fit_range=(0.3, 1.2))
    assert r["law"] == "unresolved" and "bound" in r["law_reason"]
    assert np.isnan(r["exponent"]) and np.isnan(r["exponent_err"]) and np.isnan(r["amplitude"])
    assert r["classification"] == "unresolved"


def test_verdict_rules():
    assert zero_frequency_verdict(1e-3, 1e-4, 0.0)["resolved"]
    assert not zero_frequency_verdict(1e-3, 1e-4, 2e-3)["resolved"]  # below the leakage bound
    v = zero_frequency_verdict(1e-5, 1e-4, 0.0)
    assert not v["resolved"] and v["upper"] == pytest.approx(2.1e-4) and "consistent with zero" in v["reason"]
    assert zero_frequency_verdict(-3e-4, 1e-4, 0.0)["upper"] == pytest.approx(2e-4)  # never a negative bound
    # a g(0) > 0 that the MSD does not confirm is a slow bounded relaxation, not diffusion
    v = zero_frequency_verdict(1e-3, 1e-4, 0.0, msd_D=(1e-8, 5e-8))
    assert not v["resolved"] and "MSD shows no diffusion" in v["reason"]
    assert zero_frequency_verdict(1e-3, 1e-4, 0.0, msd_D=(1e-5, 1e-6))["resolved"]
    assert zero_frequency_verdict(1e-3, 1e-4, 0.0, msd_D=(1e-5, 1e-6, True))["resolved"]
    v = zero_frequency_verdict(1e-3, 1e-4, 0.0, msd_D=(1e-5, 1e-6, False))  # MSD not yet linear in t
    assert not v["resolved"] and "diffusive regime" in v["reason"]
    assert law_verdict(1.05, 0.1, [])[0] == "linear"
    assert law_verdict(2.0, 0.1, [])[0] == "Debye"
    assert law_verdict(1.5, 0.2, [])[0] == "unresolved"  # neither excluded
    assert law_verdict(0.4, 0.02, [])[0] == "other"  # a sublinear rise
    assert law_verdict(1.0, 0.1, ["fit range"])[0] == "unresolved"
    assert law_verdict(1.0, 0.9, [])[0] == "unresolved"
    assert classify(True, "linear") == "liquid-like" and classify(True, "Debye") == "diffusive"
    assert classify(False, "Debye") == "Debye-like" and classify(False, "unresolved") == "unresolved"


def test_lag_window_kernel_normalised_and_forward_model_keeps_constants():
    dt, m = 5.0, 400
    period = 1e3 / dt
    nu = np.linspace(-period / 2, period / 2, 20001)
    k = lag_window_kernel("hann", m, dt, nu)
    assert abs(np.trapezoid(k, nu) - 1) < 1e-3
    # second moment of the Hann kernel: σ² = 1/(8 T²), T = (m−1) dt (here in THz²)
    t_ps = (m - 1) * dt * 1e-3
    sel = np.abs(nu) < 40 / t_ps
    var = np.trapezoid(k[sel] * nu[sel] ** 2, nu[sel])
    assert abs(var * 8 * t_ps**2 - 1) < 0.05
    dnu = 1e3 / (2 * (m - 1) * dt)
    fm = ForwardModel(np.arange(5, 40) * dnu, "hann", m, dt, dnu, 1 / t_ps)
    np.testing.assert_allclose(fm.kmat.sum(axis=1), 1.0)
    # ν² is lifted by the kernel variance: K ⊛ ν² = ν² + σ²
    np.testing.assert_allclose(fm.basis(2.0) - fm.nu_fit**2, 1 / (8 * t_ps**2), rtol=0.05)


def test_leakage_bound_covers_side_lobe_leakage_of_a_sharp_band():
    """A pure cosine VACF (Einstein band, true g(0) = 0): the windowed spectrum at ν = 0 is pure
    side-lobe leakage, and the bound must cover it for every lag window and band position."""
    from superionic.analysis.correlate import cosine_transform
    from superionic.analysis.lag_windows import lag_window
    from superionic.analysis.lowfreq import leakage_bound

    dt, m = 4.0, 400  # fs, lags
    t = np.arange(m) * dt
    for name in ("hann", "blackman", "triangle"):
        for nu0_thz in (4.7, 6.05, 9.1, 13.33):  # ≥ 7 resolution widths above 0
            z = np.cos(2 * np.pi * nu0_thz * 1e-3 * t) * lag_window(name, m)
            nu, spec = cosine_transform(z, dt)
            nu, g = nu * 1e3, spec * 1e-3  # THz, 1/THz
            leak = abs(g[0])
            bound = leakage_bound(nu, g, 0.5 * nu0_thz, name, m, dt)
            assert bound >= leak
            assert bound < 0.05 * g.max()  # and it is a side-lobe level, not the band


def test_real_mlmd_run_host_is_not_diffusive_and_li_g0_matches_the_msd():
    """16 P, 16 Cl, 16 Li of a 25 ps li6ps5cl-snap run of the 416-atom cell at 400 K (tests/data, cut by
    scripts/make_mlmd_fixture.py; the cell's lowest phonon stored with it): the host's g(0) is consistent
    with zero (never negative, never 'diffusive'), and Li's g(0) gives the MSD's D within the errors."""
    import json
    from pathlib import Path

    from superionic.analysis.diffusion import diffusion
    from superionic.analysis.vdos import vdos_summary
    from superionic.trajectory import read_trajectory

    traj = read_trajectory(Path(__file__).parent / "data" / "li6ps5cl_snap_400K_subset.h5")
    d = diffusion(traj)
    msd = {s: (float(d.D.sel(species=s)), float(d.D_err.sel(species=s))) for s in d.species.values}
    lowest = json.loads(traj.metadata["lowest_phonon_json"])
    for msd_d in (None, msd):  # the verdicts hold with and without the MSD cross-check
        s = vdos_summary(vdos(traj), lowest_phonon=lowest, msd_D=msd_d, n_boot=100)["species"]
        for host in ("P", "Cl"):
            v = s[host]
            assert not v["g0_resolved"] and v["classification"] not in ("diffusive", "liquid-like")
            assert 0 <= v["g0"] <= v["g0_upper"] < 0.05 * s["Li"]["g0"] and v["D_from_g0"] >= 0
        li = s["Li"]
        assert li["g0_resolved"] and li["classification"] in ("diffusive", "liquid-like")
        assert abs(li["D_from_g0"] - msd["Li"][0]) < 2 * np.hypot(li["D_from_g0_err"], msd["Li"][1])


def test_real_aimd_positions_only(aimd):
    """The real AIMD XDATCAR (tests/data; positions every 100 fs): Li's g(0) from central-difference velocities gives
    the MSD's D (Green–Kubo is unbiased by the differencing); the host is not diffusive; no law is read
    from a spectrum folded above 5 THz."""
    import warnings

    from superionic.analysis.diffusion import diffusion
    from superionic.analysis.vdos import vdos_summary

    d = diffusion(aimd)
    msd = {s: (float(d.D.sel(species=s)), float(d.D_err.sel(species=s))) for s in d.species.values}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = vdos_summary(vdos(aimd), msd_D=msd, n_boot=100)["species"]
    li = s["Li"]
    assert li["g0_resolved"] and abs(li["D_from_g0"] - msd["Li"][0]) < 2 * np.hypot(li["D_from_g0_err"], msd["Li"][1])
    for sp in ("P", "S", "Cl"):
        assert not s[sp]["g0_resolved"] and s[sp]["g0"] >= 0
    assert all(v["law"] == "unresolved" and "fold" in v["law_reason"] for v in s.values())
