"""Normal-mode decomposition (superionic.lattice.nmd) against exact answers.

The crystal is the fcc nearest-neighbour spring crystal of tests/test_harmonic.py (k = 2 eV/Å², m = 50 amu,
a = 3.6 Å), 2×2×2 conventional cells (32 atoms, 32 commensurate q, 96 modes from 4.4 to 8.8 THz). Its MD is
generated EXACTLY, without an integrator: the linear Langevin equation m ü = −Φu − mγ u̇ + √(2mγk_BT) ξ with the
closed-form force constants Φ (springs, not phonopy's) is an Ornstein–Uhlenbeck process whose transition over
one frame interval is known (Van Loan's matrix exponential), so the sampled frames are exact draws of the
continuous dynamics (γ = 0: exact harmonic NVE motion). The harmonic reference comes from phonopy's finite
displacements of the Springs calculator, so the MD and the reference meet only through the physics.

Conventions checked: ν₀ = ω₀/2π, Γ = γ/2π (THz): a Langevin friction γ (1/time, m dv = … − γ m v dt; ASE's
`friction`) gives every mode of a harmonic crystal the DHO linewidth Γ = γ/2π exactly; overdamped ⇔ Γ/2 > ν₀.
"""

import math

import numpy as np
import pytest
import xarray as xr
from ase.build import bulk
from ase.calculators.calculator import Calculator, all_changes
from ase.neighborlist import neighbor_list
from scipy.linalg import expm

from superionic import units
from superionic.errors import InputError
from superionic.lattice import harmonic_phonons
from superionic.lattice.nmd import (
    commensurate_qpoints,
    dho_velocity_acf,
    mode_reference,
    mode_spectrum_figure,
    nmd,
    nmd_figure,
    nmd_summary,
    overdamped_fraction,
    reference_from_frame,
    reference_from_hessian,
)
from superionic.results import save_dataset
from superionic.trajectory import Trajectory

pytest.importorskip("phonopy")

A = 3.6  # Å
K = 2.0  # eV/Å²
MASS = 50.0  # amu
R0 = A / math.sqrt(2)
CUTOFF = 0.5 * (R0 + A)
#: eV/(Å amu) in Å/fs²
ACC = 1.0 / units.AMU_A2_PER_FS2_IN_EV


class Springs(Calculator):
    """E = ½ k Σ_bonds (|r_ij| − r0)² over nearest neighbours (as tests/test_harmonic.py)."""

    implemented_properties = ["energy", "free_energy", "forces"]

    def __init__(self, k: float = K, r0: float = R0, cutoff: float = CUTOFF, **kwargs):
        super().__init__(**kwargs)
        self.k, self.r0, self.cutoff = k, r0, cutoff

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        i, D, d = neighbor_list("iDd", self.atoms, self.cutoff)
        stretch = d - self.r0
        energy = 0.25 * self.k * float(np.sum(stretch**2))
        forces = np.zeros((len(self.atoms), 3))
        np.add.at(forces, i, (self.k * stretch / d)[:, None] * D)
        self.results = {"energy": energy, "free_energy": energy, "forces": forces}


def unit_cell():
    atoms = bulk("Cu", "fcc", a=A, cubic=True)
    atoms.set_masses([MASS] * len(atoms))
    return atoms


def md_cell():
    atoms = unit_cell().repeat((2, 2, 2))
    atoms.set_masses([MASS] * len(atoms))
    return atoms


def spring_force_constants(atoms) -> np.ndarray:
    """Closed-form Φ (3N × 3N, eV/Å²) of springs at rest: Φ_ij = −k ûûᵀ, Φ_ii = Σ_j k ûûᵀ."""
    i, j, D = neighbor_list("ijD", atoms, CUTOFF)
    n = len(atoms)
    phi = np.zeros((n, 3, n, 3))
    u = D / np.linalg.norm(D, axis=1)[:, None]
    outer = K * np.einsum("na,nb->nab", u, u)
    for a, b, o in zip(i, j, outer):
        phi[a, :, b, :] -= o
        phi[a, :, a, :] += o
    return phi.reshape(3 * n, 3 * n)


def exact_langevin(atoms, gamma_per_fs: float, temperature: float, dt_fs: float, n_frames: int, burn: int, seed: int):
    """Frames of m ü = −Φu − mγu̇ + noise sampled exactly every dt_fs (Van Loan); γ = 0: exact NVE."""
    rng = np.random.default_rng(seed)
    n3 = 3 * len(atoms)
    phi = spring_force_constants(atoms)
    a = np.zeros((2 * n3, 2 * n3))
    a[:n3, n3:] = np.eye(n3)
    a[n3:, :n3] = -phi / MASS * ACC
    a[n3:, n3:] = -gamma_per_fs * np.eye(n3)
    kt_m = units.KB_EV * temperature / MASS * ACC  # (Å/fs)²
    q = np.zeros_like(a)
    q[n3:, n3:] = 2 * gamma_per_fs * kt_m * np.eye(n3)
    big = expm(np.block([[-a, q], [np.zeros_like(a), a.T]]) * dt_fs)
    step = big[2 * n3 :, 2 * n3 :].T
    cov = step @ big[: 2 * n3, 2 * n3 :]
    lam, vec = np.linalg.eigh(0.5 * (cov + cov.T))
    noise_map = vec * np.sqrt(np.clip(lam, 0, None))
    x = np.zeros(2 * n3)
    x[n3:] = rng.normal(0.0, math.sqrt(kt_m), n3)
    out = np.empty((n_frames, 2 * n3))
    noise = rng.standard_normal((burn + n_frames, 2 * n3)) @ noise_map.T if gamma_per_fs > 0 else None
    for t in range(burn + n_frames):
        x = step @ x
        if noise is not None:
            x += noise[t]
        if t >= burn:
            out[t - burn] = x
    pos = atoms.get_positions()[None] + out[:, :n3].reshape(n_frames, -1, 3)
    vel = out[:, n3:].reshape(n_frames, -1, 3)
    return Trajectory(
        positions=pos,
        cells=atoms.cell[:],
        symbols=atoms.get_chemical_symbols(),
        dt=dt_fs,
        velocities=vel,
        masses=atoms.get_masses(),
        metadata={"temperature": temperature},
    )


@pytest.fixture(scope="module")
def reference():
    """phonopy's harmonic reference of the spring crystal, on the modes of the 32-atom MD cell."""
    result = harmonic_phonons(unit_cell(), Springs(), supercell=(2, 2, 2), mesh=(4, 4, 4), band_points=30)
    cell = md_cell()
    return result, mode_reference(result, cell.cell[:], cell.get_positions(), cell.get_chemical_symbols())


# --------------------------------------------------------------------------- the reference
def test_commensurate_qpoints_of_a_diagonal_and_a_general_supercell():
    q = commensurate_qpoints(np.diag([2, 3, 1]))
    assert len(q) == 6 and np.allclose(q[0], 0)
    assert np.allclose(np.sort(np.unique(q[:, 1])), [0, 1 / 3, 2 / 3])
    m = np.array([[-1, 1, 1], [1, -1, 1], [1, 1, -1]])  # conventional cube over the fcc primitive cell
    q = commensurate_qpoints(m)
    assert len(q) == 4
    assert np.allclose((m @ q.T) % 1.0 * (1 - np.isclose((m @ q.T) % 1.0, 1.0)), 0.0, atol=1e-9)


def test_reference_is_a_unitary_basis_with_phonopys_frequencies(reference):
    result, ref = reference
    assert ref.n_atoms == 32 and int(ref.weight.sum()) == 96
    assert ref.max_site_distance < 1e-9
    e = ref.eigenvectors.reshape(ref.n_modes, -1)
    # rows of q and −q partners are built as conjugates: the full basis is {E, E* of the weight-2 rows}
    full = np.concatenate([e, np.conj(e[ref.weight == 2])])
    assert full.shape == (96, 96)
    np.testing.assert_allclose(full @ full.conj().T, np.eye(96), atol=1e-10)
    # frequencies: phonopy's own at the same q
    phon = result.phonopy
    phon.run_qpoints(ref.q[::3])
    np.testing.assert_allclose(np.sort(phon.qpoints.frequencies, axis=1).ravel(), ref.frequencies_thz, atol=1e-6)
    assert ref.translation.sum() == 3
    nu = ref.frequencies_thz[~ref.translation]
    assert nu.min() == pytest.approx(4.42, abs=0.01) and nu.max() == pytest.approx(8.84, abs=0.01)


def test_reference_maps_a_shuffled_displaced_frame_and_refuses_a_wrong_cell(reference):
    result, ref = reference
    cell = md_cell()
    rng = np.random.default_rng(3)
    order = rng.permutation(len(cell))
    pos = cell.get_positions()[order] + rng.normal(0, 0.1, (len(cell), 3))
    shuffled = mode_reference(result, cell.cell[:], pos, [cell.get_chemical_symbols()[i] for i in order])
    assert shuffled.max_site_distance < 0.5
    np.testing.assert_allclose(shuffled.frequencies_thz, ref.frequencies_thz)
    d = (shuffled.sites - cell.get_positions()[order]) @ np.linalg.inv(cell.cell[:])
    assert np.abs(d - np.round(d)).max() < 1e-9  # atom k sits on the site of the atom it was before shuffling
    with pytest.raises(InputError, match="not a supercell"):
        mode_reference(result, cell.cell[:] * 1.3, cell.get_positions(), cell.get_chemical_symbols())
    with pytest.raises(InputError, match="atoms"):
        mode_reference(result, cell.cell[:], cell.get_positions()[:-1], cell.get_chemical_symbols()[:-1])


def test_reference_of_the_md_cell_itself_equals_phonopys(reference):
    """The Γ point of the MD cell (its own Hessian, relaxed frame, central differences) holds the same 96
    frequencies as phonopy's commensurate q-points; translations are exact zero modes."""
    _, ref = reference
    cell = md_cell()
    want = np.sort(np.repeat(ref.frequencies_thz, ref.weight))
    direct = reference_from_hessian(
        spring_force_constants(cell), cell.cell[:], cell.get_positions(), cell.get_chemical_symbols(), cell.get_masses()
    )
    np.testing.assert_allclose(np.sort(direct.frequencies_thz), want, rtol=2e-5, atol=1e-6)  # phonopy: 6e-6
    e = direct.eigenvectors.reshape(96, 96)
    np.testing.assert_allclose(e @ e.conj().T, np.eye(96), atol=1e-10)
    assert direct.translation.sum() == 3
    rng = np.random.default_rng(5)
    frame = cell.get_positions() + rng.normal(0, 0.03, (32, 3))
    traj = Trajectory(
        positions=frame[None],
        cells=cell.cell[:],
        symbols=cell.get_chemical_symbols(),
        dt=10.0,
        velocities=np.zeros((1, 32, 3)),
        masses=cell.get_masses(),
    )
    relaxed = reference_from_frame(traj, calculator=Springs(), fmax=1e-5)
    np.testing.assert_allclose(np.sort(relaxed.frequencies_thz), want, atol=2e-3)
    assert "relaxed" in relaxed.notes[0]


# --------------------------------------------------------------------------- the lineshape
@pytest.mark.parametrize("nu0,gamma", [(3.0, 0.2), (3.0, 6.0), (3.0, 12.0), (1.0, 40.0)])
def test_dho_acf_transforms_to_the_dho_lineshape_with_fwhm_gamma(nu0, gamma):
    """∫ c(t) cos(ωt) dt ∝ γω²/((ω²−ω₀²)² + γ²ω²), which peaks at ν₀ and has FWHM Γ (in ν) in every regime."""
    from scipy.integrate import quad

    assert dho_velocity_acf(np.zeros(1), nu0, gamma)[0] == pytest.approx(1.0)
    nu = np.linspace(0.05, 3 * nu0 + 2 * gamma, 25)
    w = 2 * np.pi * nu
    spec = np.array(
        [
            quad(lambda t: float(dho_velocity_acf(np.array([t]), nu0, gamma)[0]), 0, np.inf, weight="cos", wvar=x)[0]
            for x in w
        ]
    )
    w0, g = 2 * np.pi * nu0, 2 * np.pi * gamma
    want = g * w**2 / ((w**2 - w0**2) ** 2 + (g * w) ** 2)
    np.testing.assert_allclose(spec, want, rtol=1e-5, atol=1e-7 * want.max())


def test_dho_acf_is_continuous_through_critical_damping():
    t = np.linspace(0, 5, 200)
    crit = dho_velocity_acf(t, 1.0, 2.0)
    exact = np.exp(-2 * np.pi * t) * (1 - 2 * np.pi * t)  # (1 − γt/2) e^{−γt/2}, γ = 2ω₀
    np.testing.assert_allclose(crit, exact, atol=1e-12)
    for eps in (1e-9, 1e-5):
        np.testing.assert_allclose(dho_velocity_acf(t, 1.0, 2.0 + eps), exact, atol=1e-4)
        np.testing.assert_allclose(dho_velocity_acf(t, 1.0, 2.0 - eps), exact, atol=1e-4)
    # strongly overdamped, long times: no overflow, the slow exponential survives
    far = dho_velocity_acf(np.array([0.0, 50.0]), 0.1, 100.0)
    assert np.all(np.isfinite(far)) and far[1] < 0


# --------------------------------------------------------------------------- (1) harmonic NVE
@pytest.fixture(scope="module")
def nve(reference):
    traj = exact_langevin(md_cell(), 0.0, 30.0, dt_fs=20.0, n_frames=4096, burn=0, seed=1)
    return nmd(traj, reference[1], segment=1024)


def test_harmonic_nve_frequencies_equal_phonopys_and_linewidths_vanish(nve, reference):
    ds = nve
    ok = ds.fitted.values
    assert ok.sum() == ds.sizes["mode"] - 3 and not ok[ds.translation.values].any()  # all but the translations
    nu_h = ds.harmonic_frequency.values[ok]
    rel = np.abs(ds.nu0.values[ok] / nu_h - 1)
    print(
        f"NVE: max |ν₀/ν_phonopy − 1| = {rel.max():.2e}; max Γ = {np.nanmax(ds.gamma.values):.2e} THz "
        f"(resolution {ds.resolution_fwhm_THz:.3f} THz)"
    )
    assert rel.max() < 5e-3
    assert rel.max() < 1e-4  # in fact exact: the motion is exactly harmonic
    # linewidths: below the resolution, never 'resolved', flagged at the bound with no error
    assert not ds.resolved.values.any()
    assert np.all(ds.gamma_upper.values[ok] <= ds.attrs["gamma_min_THz"] + 1e-12)
    at = ds.gamma_at_bound.values
    assert np.all(np.isnan(ds.gamma_err.values[at]))
    assert not ds.overdamped.values.any()
    assert ds.attrs["overdamped_fraction"] == 0.0


def test_following_the_hops_undoes_an_exchange_of_two_atoms(reference):
    """Exact harmonic NVE motion in which atoms 0 and 5 trade labels halfway (what a hop does to the atom order:
    from then on atom 0 vibrates on site 5 and atom 5 on site 0). Following the hops, the projection is that of
    the unexchanged run to rounding (every line exact, no width); atom j kept on site j, it is not."""
    traj = exact_langevin(md_cell(), 0.0, 30.0, dt_fs=20.0, n_frames=1024, burn=0, seed=3)
    swapped = Trajectory(
        positions=traj.positions.copy(),
        cells=traj.cells,
        symbols=traj.symbols,
        dt=traj.dt,
        velocities=traj.velocities.copy(),
        masses=traj.masses,
        metadata=dict(traj.metadata),
    )
    for arr in (swapped.positions, swapped.velocities):
        arr[512:, [0, 5]] = arr[512:, [5, 0]]
    ref = reference[1]
    plain = nmd(traj, ref, segment=256)
    followed = nmd(swapped, ref, segment=256)
    fixed = nmd(swapped, ref, segment=256, follow_hops=False)
    assert followed.attrs["site_changes"] == 2 and fixed.attrs["site_changes"] == 0
    assert plain.attrs["site_changes"] == 0
    np.testing.assert_allclose(followed.spectrum.values, plain.spectrum.values, rtol=1e-9, atol=1e-12)
    ok = plain.fitted.values
    assert np.abs(followed.nu0.values[ok] / followed.harmonic_frequency.values[ok] - 1).max() < 1e-3
    # analysed from after the exchange (or on a reference of a later frame), the first frame is matched afresh
    late = nmd(swapped, ref, segment=256, start=600)
    np.testing.assert_allclose(
        late.spectrum.values, nmd(traj, ref, segment=256, start=600).spectrum.values, rtol=1e-9, atol=1e-12
    )
    assert late.attrs["site_changes"] == 2
    leak = np.abs(fixed.spectrum.values - plain.spectrum.values).sum() / plain.spectrum.values.sum()
    print(f"atoms kept on their sites: {leak:.1%} of the spectral weight moves")
    assert leak > 0.05


def test_site_tracker_swaps_two_atoms_once_not_while_they_rattle_past_the_midpoint():
    """Sites A and B 2 Å apart (reach 1 Å), a third far away. Two atoms just past the midpoint stay on their
    sites (staying counts reach/2 shorter); once each is nearly on the other's site they trade; back just past the
    midpoint, they keep the new sites: one exchange, two changes of site."""
    from types import SimpleNamespace

    from superionic.lattice.nmd import _SiteTracker

    cell = np.eye(3) * 20.0
    sites = np.array([[5.0, 5, 5], [7.0, 5, 5], [15.0, 15, 15]])
    ref = SimpleNamespace(sites=sites, cell=cell, masses=np.ones(3), symbols=["Li"] * 3)
    tracker = _SiteTracker(ref)  # type: ignore[arg-type]
    frames = [sites.copy() for _ in range(4)]
    for f, (x0, x1) in zip(frames, [(5.0, 7.0), (6.1, 5.9), (6.8, 5.2), (6.1, 5.9)]):
        f[0, 0], f[1, 0] = x0, x1  # x0 + x1 = 12 Å throughout: the centre of mass stays put
    occupant = tracker(np.array(frames), np.repeat(cell[None], 4, axis=0))
    assert occupant.tolist() == [[0, 1, 2], [0, 1, 2], [1, 0, 2], [1, 0, 2]]
    assert tracker.changes == 2


# --------------------------------------------------------------------------- (2) Langevin: Γ = γ/2π
@pytest.fixture(scope="module")
def langevin(reference):
    gamma_thz = 0.25
    gamma_fs = 2 * math.pi * gamma_thz * 1e-3  # 1/fs
    traj = exact_langevin(md_cell(), gamma_fs, 300.0, dt_fs=20.0, n_frames=40000, burn=500, seed=2)
    return gamma_thz, traj, nmd(traj, reference[1], segment=2048, friction_per_fs=0.0)


def test_langevin_every_mode_width_equals_the_friction(langevin):
    gamma_thz, _, ds = langevin
    ok = ds.fitted.values
    g, err = ds.gamma.values[ok], ds.gamma_err.values[ok]
    pull = (g - gamma_thz) / err
    w = ds.weight.values[ok]
    mean = float(np.sum(w * g) / w.sum())
    print(
        f"Langevin γ/2π = {gamma_thz} THz: Γ from {g.min():.3f} to {g.max():.3f}, weighted mean {mean:.4f} THz; "
        f"median σ {np.median(err):.4f}; pulls mean {pull.mean():+.2f} sd {pull.std():.2f} max |{np.abs(pull).max():.2f}|"
    )
    assert ds.resolved.values[ok].all()
    assert np.abs(pull).max() < 4.5
    assert 0.5 < pull.std() < 1.6  # errors neither far too small nor far too large
    assert mean == pytest.approx(gamma_thz, rel=0.03)
    # frequencies stay the harmonic ones (linear friction does not shift ω₀ of the DHO)
    zf = (ds.nu0.values[ok] - ds.harmonic_frequency.values[ok]) / ds.nu0_err.values[ok]
    assert np.abs(zf).max() < 4.5
    # equipartition: every mode at the bath temperature
    t_mode = ds.mode_temperature.values[ok]
    assert np.abs(t_mode / 300.0 - 1).max() < 0.15
    assert ds.attrs["kinetic_temperature_K"] == pytest.approx(300.0, rel=0.03)
    assert not ds.overdamped.values.any()
    # one DHO line each: the log residuals scatter as the Welch noise alone
    rms = ds.log_residual_rms.values[ok] / ds.attrs["expected_log_residual_rms"]
    print(f"log-residual rms / Welch noise: median {np.median(rms):.2f}, max {rms.max():.2f}")
    assert ds.single_line.values[ok].mean() > 0.95


def test_a_known_thermostat_friction_is_subtracted(langevin, reference):
    """The friction recorded in the trajectory's metadata (as `superionic md` writes it) is subtracted: the
    intrinsic width of a harmonic crystal is then zero within its errors, unresolved everywhere."""
    gamma_thz, traj, _ = langevin
    traj = traj.select_frames(0, 20000)
    traj.metadata.update(thermostat="langevin (LAMMPS)", friction_per_fs=2 * math.pi * gamma_thz * 1e-3)
    ds = nmd(traj, reference[1], segment=2048)
    ok = ds.fitted.values
    assert ds.attrs["thermostat_gamma_THz"] == pytest.approx(gamma_thz)
    gi = ds.gamma_intrinsic.values[ok]
    assert np.abs(gi / ds.gamma_err.values[ok]).max() < 4.5
    # zero within 2σ: 'resolved' only by chance (2.3 % of the modes expected), never overdamped
    assert ds.resolved.values[ok].mean() < 0.1 and not ds.overdamped.values.any()
    assert np.all(ds.gamma_upper.values[ok & ~ds.resolved.values] > 0)


def test_spectrum_normalisation_is_half_the_mode_kinetic_energy(langevin):
    _, _, ds = langevin
    ok = ds.fitted.values
    nu = ds.frequency.values
    integral = ds.spectrum.values[ok].sum(axis=1) * (nu[1] - nu[0])
    half_kt = 0.5 * units.KB_EV * ds.mode_temperature.values[ok]
    np.testing.assert_allclose(integral, half_kt, rtol=0.05)


@pytest.mark.slow
def test_ase_langevin_friction_is_the_linewidth(reference):
    """ASE's Langevin integrator on the real (weakly anharmonic at 2 K) spring crystal: `friction` = γ in
    1/(ASE time) gives Γ = γ/2π on every mode (pins ASE's convention, not just the exact process)."""
    from ase import units as ase_units
    from ase.md.langevin import Langevin
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution

    gamma_thz, dt_fs, every, n_frames = 0.5, 5.0, 4, 6000
    gamma_fs = 2 * math.pi * gamma_thz * 1e-3
    atoms = md_cell()
    atoms.calc = Springs()
    MaxwellBoltzmannDistribution(atoms, temperature_K=2.0, rng=np.random.default_rng(7))
    dyn = Langevin(
        atoms,
        dt_fs * ase_units.fs,
        temperature_K=2.0,
        friction=gamma_fs / ase_units.fs,
        fixcm=False,
        rng=np.random.default_rng(8),
    )
    dyn.run(200)
    pos, vel = [], []
    for _ in range(n_frames):
        dyn.run(every)
        pos.append(atoms.get_positions())
        vel.append(atoms.get_velocities() * ase_units.fs)  # Å/fs
    traj = Trajectory(
        positions=np.array(pos),
        cells=atoms.cell[:],
        symbols=atoms.get_chemical_symbols(),
        dt=dt_fs * every,
        velocities=np.array(vel),
        masses=atoms.get_masses(),
    )
    ds = nmd(traj, reference[1], segment=750, friction_per_fs=0.0)
    ok = ds.fitted.values
    g, err = ds.gamma.values[ok], ds.gamma_err.values[ok]
    w = ds.weight.values[ok]
    mean = float(np.sum(w * g) / w.sum())
    print(
        f"ASE Langevin friction γ/2π = {gamma_thz} THz: mean Γ {mean:.4f} THz, max |pull| {np.abs((g - gamma_thz) / err).max():.2f}"
    )
    assert mean == pytest.approx(gamma_thz, rel=0.05)
    assert np.abs((g - gamma_thz) / err).max() < 5
    rel = np.abs(ds.nu0.values[ok] / ds.harmonic_frequency.values[ok] - 1)
    assert np.median(rel) < 5e-3


# --------------------------------------------------------------------------- (3) overdamped
def test_overdamped_low_modes_are_flagged(reference, tmp_path):
    _, ref = reference
    gamma_thz = 12.0  # overdamped ⇔ ν_h < Γ/2 = 6 THz
    nu = ref.frequencies_thz[~ref.translation]
    assert np.min(np.abs(nu - gamma_thz / 2)) > 0.2  # no mode at the border
    traj = exact_langevin(
        md_cell(), 2 * math.pi * gamma_thz * 1e-3, 300.0, dt_fs=10.0, n_frames=24000, burn=200, seed=4
    )
    ds = nmd(traj, ref, segment=600, friction_per_fs=0.0)
    ok = ds.fitted.values
    want = ds.harmonic_frequency.values < gamma_thz / 2
    got = ds.overdamped.values
    print(
        f"Γ/2π = {gamma_thz} THz: {int((ds.weight.values * got).sum())} of {int(ds.weight.values[ok].sum())} modes "
        f"overdamped (expected {int((ds.weight.values * (want & ok)).sum())}); Γ median {np.median(ds.gamma.values[ok]):.2f}"
    )
    decided = ok & ds.decided.values
    assert np.array_equal(got[decided], want[decided])  # every verdict beyond 2σ is right
    far = ok & (np.abs(ds.harmonic_frequency.values - gamma_thz / 2) > 1.0)
    assert np.all(ds.decided.values[far])  # beyond 1 THz of the border the verdict is beyond 2σ
    # within 1 THz of the border a verdict may go either way, but it is then flagged as undecided
    assert np.all(np.abs(ds.harmonic_frequency.values[ok & (got != want)] - gamma_thz / 2) < 1.0)
    assert np.median(np.abs(ds.gamma.values[ok] / gamma_thz - 1)) < 0.1
    # the fraction per band of harmonic frequency: 1 below 6 THz, 0 above
    fr = overdamped_fraction(ds, edges=[4.0, 5.0, 7.0, 9.0])
    np.testing.assert_allclose(fr.fraction.values[0][[0, 2]], [1.0, 0.0])
    assert fr.n_modes.values.sum() == ds.weight.values[ok].sum()
    # and against a second run (the NVE-like weak damping): fraction vs T
    s = nmd_summary(ds)
    assert s["overdamped"] == int((ds.weight.values * got * ok).sum())
    # written and read back as netCDF, drawn
    save_dataset(ds, tmp_path / "nmd.nc")
    back = xr.load_dataset(tmp_path / "nmd.nc")
    assert nmd_summary(back)["overdamped"] == s["overdamped"] and isinstance(nmd_summary(back)["notes"], list)
    assert back.gamma.attrs["units"] == "THz" and back.spectrum.attrs["units"] == "eV THz-1"
    assert all("units" in back[v].attrs for v in back.variables)
    fig = nmd_figure([back, ds.assign_attrs(temperature_K=600.0)])
    fig.savefig(tmp_path / "nmd.png")
    mode_spectrum_figure(ds).savefig(tmp_path / "spectra.png")


# --------------------------------------------------------------------------- inputs
def test_refuses_a_trajectory_without_velocities_or_of_another_system(reference):
    _, ref = reference
    cell = md_cell()
    pos = np.repeat(cell.get_positions()[None], 64, axis=0)
    no_v = Trajectory(positions=pos, cells=cell.cell[:], symbols=cell.get_chemical_symbols(), dt=10.0)
    with pytest.raises(InputError, match="velocities"):
        nmd(no_v, ref)
    other = Trajectory(
        positions=pos[:, :-1],
        cells=cell.cell[:],
        symbols=cell.get_chemical_symbols()[:-1],
        dt=10.0,
        velocities=np.zeros_like(pos[:, :-1]),
    )
    with pytest.raises(InputError, match="reference"):
        nmd(other, ref)
    ok = Trajectory(
        positions=pos, cells=cell.cell[:], symbols=cell.get_chemical_symbols(), dt=10.0, velocities=np.zeros_like(pos)
    )
    with pytest.raises(InputError, match="segment"):
        nmd(ok, ref, segment=128)


# --------------------------------------------------------------------------- the command line
@pytest.fixture(scope="module")
def cu_emt_h5(tmp_path_factory):
    """Cu (EMT, 32 atoms) at 300 K under ASE's Langevin: 600 frames 10 fs apart, friction recorded."""
    from ase import units as ase_units
    from ase.calculators.emt import EMT
    from ase.md.langevin import Langevin
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution

    from superionic.trajectory import write_h5md

    atoms = bulk("Cu", "fcc", a=3.6, cubic=True).repeat((2, 2, 2))
    atoms.calc = EMT()
    MaxwellBoltzmannDistribution(atoms, temperature_K=300, rng=np.random.default_rng(1))
    friction = 2e-4  # 1/fs: Γ_L = 0.032 THz
    dyn = Langevin(
        atoms,
        5 * ase_units.fs,
        temperature_K=300,
        friction=friction / ase_units.fs,
        fixcm=False,
        rng=np.random.default_rng(2),
    )
    dyn.run(100)
    pos, vel = [], []
    for _ in range(600):
        dyn.run(2)
        pos.append(atoms.get_positions())
        vel.append(atoms.get_velocities() * ase_units.fs)
    traj = Trajectory(
        positions=np.array(pos),
        cells=atoms.cell[:],
        symbols=atoms.get_chemical_symbols(),
        dt=10.0,
        velocities=np.array(vel),
        masses=atoms.get_masses(),
        metadata={"temperature": 300.0, "thermostat": "langevin", "friction_per_fs": friction},
    )
    p = tmp_path_factory.mktemp("nmd_cli") / "cu.h5"
    write_h5md(p, traj)
    return p


def test_cli_nmd_writes_netcdf_figure_and_json(cu_emt_h5, tmp_path, capsys):
    import json

    import superionic.cli.nmd_cmd  # noqa: F401  (registers the command until cli/app.py imports it)
    from superionic.cli import run

    out, fig = tmp_path / "nmd.nc", tmp_path / "nmd.png"
    code = run(["nmd", cu_emt_h5, "--potential", "emt", "--segment", "1.5", "--out", out, "--plot", fig, "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    s = json.loads(captured.out)
    assert s["modes"] == 96 and s["fitted"] == 93
    assert s["thermostat_gamma_THz"] == pytest.approx(2e-4 * 1e3 / (2 * math.pi))
    assert s["overdamped"] == 0  # a metal crystal at 300 K: no overdamped phonon
    assert abs(s["median_relative_shift"]) < 0.1
    ds = xr.load_dataset(out)
    assert ds.attrs["analysis"] == "nmd" and fig.stat().st_size > 0
    # a second run compared with the first: the table against temperature
    code = run(
        ["nmd", cu_emt_h5, "--potential", "emt", "--segment", "1.5", "--out", tmp_path / "b.nc", "--compare", out]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "OVERDAMPED" in captured.out and "300 K: overdamped fraction" in captured.out
    # wrong input: one clear line, exit status 1
    assert run(["nmd", cu_emt_h5, "--phonons", tmp_path / "missing.yaml", "--out", tmp_path / "c.nc"]) == 1
    assert "--phonons" in capsys.readouterr().err
    assert run(["nmd", cu_emt_h5, "--potential", "emt", "--out", out]) == 1  # exists, no --overwrite
    assert "--overwrite" in capsys.readouterr().err
