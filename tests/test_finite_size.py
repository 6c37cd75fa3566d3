"""Lowest phonon of a periodic cell: exact harmonic crystal (normal-mode superposition), cell-length
formula, host selection, refusals."""

import numpy as np
import pytest

from superionic import units
from superionic.analysis.finite_size import host_species, lowest_phonon, needed_cell_length
from superionic.errors import InputError
from superionic.trajectory.model import Trajectory

N = 6  # atoms per edge
A = 3.0  # lattice spacing, Å
MASS = 31.0  # amu
K = 1.0  # nearest-neighbour spring per Cartesian component, eV/Å²
TEMP = 300.0
W0 = np.sqrt(K / (MASS * units.AMU_A2_PER_FS2_IN_EV))  # √(K/m), 1/fs


def harmonic_crystal(n=N, n_frames=2000, dt=10.0, seed=1, symbols=None):
    """Exact trajectory of a simple-cubic nearest-neighbour harmonic crystal in its periodic cell.

    Each Cartesian component is an independent scalar lattice, ω(k) = 2√(K/m) √(Σᵢ sin²(kᵢa/2)).
    u_c(R,t) = Σ_k A_k cos(k·R − ω_k t + φ_k) over all k ≠ 0 of the cell (travelling waves), equipartition
    amplitudes A_k = √(2k_BT/(N m ω_k²)) (energy k_BT per mode), random phases φ_k; v = ∂u/∂t exactly."""
    rng = np.random.default_rng(seed)
    kk = 2 * np.pi * np.fft.fftfreq(n, d=A)
    k = np.stack(np.meshgrid(kk, kk, kk, indexing="ij"), axis=-1).reshape(-1, 3)
    w = 2 * W0 * np.sqrt((np.sin(k * A / 2) ** 2).sum(axis=1))
    k, w = k[w > 0], w[w > 0]
    grid = np.stack(np.meshgrid(*(np.arange(n),) * 3, indexing="ij"), axis=-1).reshape(-1, 3) * A
    n_atoms = n**3
    kt = units.KB_EV * TEMP / units.AMU_A2_PER_FS2_IN_EV  # k_BT in amu Å²/fs²
    amp = np.sqrt(2 * kt / (n_atoms * MASS * w**2))
    t = np.arange(n_frames) * dt
    space = np.exp(1j * grid @ k.T)  # (atoms, modes)
    time = np.exp(-1j * np.outer(t, w))  # (frames, modes)
    u = np.empty((n_frames, n_atoms, 3))
    v = np.empty_like(u)
    for c in range(3):
        ca = amp * np.exp(1j * rng.uniform(0, 2 * np.pi, w.size))
        u[:, :, c] = ((time * ca) @ space.T).real
        v[:, :, c] = ((time * (-1j * w * ca)) @ space.T).real
    return Trajectory(
        positions=grid[None] + u,
        cells=np.eye(3) * n * A,
        symbols=symbols or ["P"] * n_atoms,
        dt=dt,
        velocities=v,
        masses=np.full(n_atoms, MASS),
        metadata={"temperature": TEMP},
    )


@pytest.fixture(scope="module")
def crystal():
    return harmonic_crystal()


@pytest.fixture(scope="module")
def result(crystal):
    return lowest_phonon(crystal)


def exact():
    w = 2 * W0 * np.sin(np.pi / N)  # 1/fs, both branches along x
    q = 2 * np.pi / (N * A)
    return w / (2 * np.pi) * 1e3, w / q * 1e5  # THz, m/s (1 Å/fs = 1e5 m/s)


def test_harmonic_crystal_is_exact(crystal):
    # equipartition: kinetic temperature m<v²>/3k_B ≈ T (the time average of the cross terms between
    # degenerate modes does not vanish exactly in one realisation)
    ke = MASS * units.AMU_A2_PER_FS2_IN_EV * np.mean(crystal.velocities**2) / units.KB_EV
    assert ke == pytest.approx(TEMP, rel=0.02)
    # velocities are the exact time derivative of the positions (central difference at Δt = 1e-3 fs)
    fine = harmonic_crystal(n_frames=3, dt=1e-3)
    vfd = (fine.positions[2] - fine.positions[0]) / (2 * fine.dt)
    assert np.allclose(vfd, fine.velocities[1], rtol=0, atol=1e-6 * np.abs(fine.velocities).max())


def test_lowest_phonon_matches_exact_dispersion(result):
    nu, v = exact()
    assert nu == pytest.approx(2.8078, rel=1e-4)  # √(K/m)/2π
    assert result["nu_min_THz"] == pytest.approx(nu, rel=0.01)
    assert result["nu_T_THz"] == pytest.approx(nu, rel=0.01)
    assert result["nu_L_THz"] == pytest.approx(nu, rel=0.01)
    assert result["v_T_m_s"] == pytest.approx(v, rel=0.01)
    assert result["v_L_m_s"] == pytest.approx(v, rel=0.01)
    assert result["q_min_per_A"] == pytest.approx(2 * np.pi / (N * A), rel=1e-12)
    assert result["cell_length_A"] == pytest.approx(N * A, rel=1e-12)
    assert result["n_qvectors"] == 3 and result["species"] == ["P"]
    assert not result["overdamped_T"] and not result["overdamped_L"]
    assert result["resolution_fwhm_THz"] < 0.05 * nu
    assert np.isfinite(result["nu_T_THz_err"]) and result["nu_T_THz_err"] < 0.01 * nu
    assert "smallest commensurate Q" in result["method"]
    # the fitted velocity reproduces the cell length through needed_cell_length
    assert needed_cell_length(result["v_T_m_s"], result["nu_T_THz"]) == pytest.approx(N * A, rel=1e-9)


def test_mass_weighted_host_of_two_species_equals_one_species(crystal, result):
    # the same crystal with its atoms labelled S / Cl (same masses; Li absent): the host default takes
    # both and the mass-weighted partial sum is the same total current as the single species
    sym = ["S" if i % 2 else "Cl" for i in range(crystal.n_atoms)]
    two = Trajectory(
        positions=crystal.positions,
        cells=crystal.cells,
        symbols=sym,
        dt=crystal.dt,
        velocities=crystal.velocities,
        masses=crystal.masses,
    )
    r2 = lowest_phonon(two)
    assert sorted(r2["species"]) == ["Cl", "S"]
    assert r2["nu_T_THz"] == pytest.approx(result["nu_T_THz"], rel=1e-8)
    assert r2["nu_L_THz"] == pytest.approx(result["nu_L_THz"], rel=1e-8)


def test_host_species_default():
    t = Trajectory(positions=np.zeros((3, 4, 3)), cells=np.eye(3) * 10, symbols=["Li", "P", "S", "Cl"], dt=1.0)
    assert host_species(t) == ["P", "S", "Cl"]
    assert host_species(t, mobile=("Li", "Cl")) == ["P", "S"]
    li = Trajectory(positions=np.zeros((3, 2, 3)), cells=np.eye(3) * 10, symbols=["Li", "Li"], dt=1.0)
    assert host_species(li) == ["Li"]  # one species: use it
    lina = Trajectory(positions=np.zeros((3, 2, 3)), cells=np.eye(3) * 10, symbols=["Li", "Na"], dt=1.0)
    with pytest.raises(InputError, match="mobile"):
        host_species(lina)


def test_needed_cell_length():
    # v_s = 3000 m/s = 30 Å/ps; ν = 1 THz → L = 30 Å
    assert needed_cell_length(3000.0, 1.0) == pytest.approx(30.0, rel=1e-12)
    assert needed_cell_length(2500.0, 0.5) == pytest.approx(50.0, rel=1e-12)
    for bad in [(0.0, 1.0), (3000.0, 0.0), (-1.0, 1.0), (np.nan, 1.0)]:
        with pytest.raises(InputError):
            needed_cell_length(*bad)


def test_refusals(crystal):
    novel = Trajectory(
        positions=crystal.positions[:50],
        cells=crystal.cells[:50],
        symbols=crystal.symbols,
        dt=crystal.dt,
        masses=crystal.masses,
    )
    with pytest.raises(InputError, match="velocities"):
        lowest_phonon(novel)
    huge = Trajectory(
        positions=crystal.positions[:50],
        cells=np.eye(3) * 1e4,
        symbols=crystal.symbols,
        dt=crystal.dt,
        velocities=crystal.velocities[:50],
        masses=crystal.masses,
    )
    with pytest.raises(InputError, match="periodic"):
        lowest_phonon(huge)
    flat = np.diag([N * A, N * A, 0.0])
    nocell = Trajectory(
        positions=crystal.positions[:50],
        cells=flat,
        symbols=crystal.symbols,
        dt=crystal.dt,
        velocities=crystal.velocities[:50],
        masses=crystal.masses,
    )
    with pytest.raises(InputError, match="periodic"):
        lowest_phonon(nocell)
    # 60 frames × 10 fs: max_lag·Δt = 0.29 ps, resolution ≈ 3.4 THz > ν ≈ 2.8 THz
    with pytest.raises(InputError, match="resolution .* must be finer than the fitted frequency"):
        lowest_phonon(crystal.select_frames(0, 60))
