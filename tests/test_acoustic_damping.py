"""Acoustic damping from the host currents: exact DHO correlations, exact Langevin harmonic crystals (Γ = γ/2π,
under- and overdamped), the shells of a cubic cell, refusals."""

import math

import numpy as np
import pytest
from scipy.linalg import expm

from superionic import units
from superionic.analysis.qpoints import commensurate_shells
from superionic.errors import InputError
from superionic.lattice.acoustic_damping import (
    _fit,
    _Spectrum,
    acoustic_damping,
    acoustic_damping_summary,
    mode_verdict,
)
from superionic.lattice.nmd import dho_velocity_acf
from superionic.trajectory.model import Trajectory

N = 6  # atoms per edge
A = 3.0  # lattice spacing, Å
MASS = 31.0  # amu
K = 1.0  # nearest-neighbour spring per Cartesian component, eV/Å²
TEMP = 300.0
W0 = math.sqrt(K / (MASS * units.AMU_A2_PER_FS2_IN_EV))  # √(K/m), 1/fs


def exact_nu(hkl) -> float:
    """ν (THz) of the simple-cubic scalar lattice at Q = 2π hkl/(N A): 2√(K/m) √(Σ sin²(π h/N)) / 2π."""
    s = np.sin(np.pi * np.asarray(hkl, dtype=float) / N)
    return 2 * W0 * math.sqrt(float(np.sum(s**2))) / (2 * math.pi) * 1e3


def langevin_crystal(
    gamma_thz: float, n_frames=4000, dt=10.0, seed=3, record_friction=False, stiffness=(1.0, 1.0, 1.0)
) -> Trajectory:
    """Exact Langevin trajectory (m ü = −Φu − mγu̇ + noise, γ = 2πΓ) of a simple-cubic nearest-neighbour harmonic
    crystal in its periodic cell, sampled every dt: each Cartesian component is a scalar lattice whose real normal
    coordinates (cos and sin of k·R, ω(k) = 2√(K/m)√(Σ sin²(k_i a/2))) are independent damped oscillators, each
    advanced exactly (Van Loan: the 2 × 2 transition and its noise covariance). The k = 0 translation is left out.
    stiffness: the spring of each Cartesian component in units of K (unequal: each polarisation its own frequency).
    """
    rng = np.random.default_rng(seed)
    gamma = 2 * math.pi * gamma_thz * 1e-3  # 1/fs
    h = np.stack(np.meshgrid(*(np.arange(N),) * 3, indexing="ij"), axis=-1).reshape(-1, 3)
    grid = h * A
    k = 2 * np.pi * h / (N * A)
    basis, omega = [], []
    for i, kv in enumerate(k):
        j = int(np.ravel_multi_index(tuple((-h[i]) % N), (N,) * 3))
        if j < i or i == 0:
            continue  # one of each ±k; no translation
        phase = grid @ kv
        w = 2 * W0 * math.sqrt(float(np.sum(np.sin(kv * A / 2) ** 2)))
        if j == i:  # self-conjugate k: one real mode
            basis.append(np.cos(phase) / math.sqrt(N**3))
            omega.append(w)
        else:
            basis += [np.cos(phase) * math.sqrt(2 / N**3), np.sin(phase) * math.sqrt(2 / N**3)]
            omega += [w, w]
    e = np.array(basis)  # (modes, atoms), orthonormal
    omega0 = np.array(omega)
    kt_m = units.KB_EV * TEMP / (MASS * units.AMU_A2_PER_FS2_IN_EV)  # (Å/fs)²
    pos = np.empty((n_frames, N**3, 3))
    vel = np.empty_like(pos)
    for c in range(3):
        omega = omega0 * math.sqrt(stiffness[c])
        xs = _langevin_modes(omega, gamma, kt_m, dt, n_frames, rng)
        pos[:, :, c] = grid[:, c][None] + xs[:, :, 0] @ e
        vel[:, :, c] = xs[:, :, 1] @ e
    meta = {"temperature": TEMP}
    if record_friction:
        meta.update(thermostat="langevin", friction_per_fs=gamma)
    return Trajectory(
        positions=pos,
        cells=np.eye(3) * N * A,
        symbols=["P"] * N**3,
        dt=dt,
        velocities=vel,
        masses=np.full(N**3, MASS),
        metadata=meta,
    )


def _langevin_modes(omega, gamma, kt_m, dt, n_frames, rng) -> np.ndarray:
    """(frames, modes, 2) coordinate and velocity of independent damped oscillators of frequencies omega (1/fs)
    in a bath of friction gamma (1/fs) and temperature k_BT/m = kt_m, advanced exactly every dt from equilibrium."""
    n_m = len(omega)
    step = np.empty((n_m, 2, 2))
    chol = np.empty((n_m, 2, 2))
    for m, w in enumerate(omega):
        a = np.array([[0.0, 1.0], [-w * w, -gamma]])
        q = np.array([[0.0, 0.0], [0.0, 2 * gamma * kt_m]])
        big = expm(np.block([[-a, q], [np.zeros((2, 2)), a.T]]) * dt)
        f = big[2:, 2:].T
        cov = f @ big[:2, 2:]
        step[m] = f
        chol[m] = np.linalg.cholesky(0.5 * (cov + cov.T) + 1e-30 * np.eye(2))
    x = np.stack([rng.normal(0, math.sqrt(kt_m), n_m) / omega, rng.normal(0, math.sqrt(kt_m), n_m)], axis=1)
    xs = np.empty((n_frames, n_m, 2))
    for t in range(n_frames):
        x = np.einsum("mij,mj->mi", step, x) + np.einsum("mij,mj->mi", chol, rng.standard_normal((n_m, 2)))
        xs[t] = x
    return xs


@pytest.mark.parametrize("nu0, gamma", [(1.2, 0.3), (0.4, 2.5)])
def test_the_fit_recovers_an_exact_dho_through_the_lag_window(nu0, gamma):
    """The model is the data's own transform (window included): an exact DHO correlation is fitted exactly, under-
    and overdamped, at a resolution (Hann, 2 ps: FWHM 0.5 THz) coarser than Γ in the first case."""
    dt = 10.0
    spec = _Spectrum(np.hanning(2 * 200 + 1)[200:], dt, 4)
    c = 7.0 * dho_velocity_acf(spec.t_ps, nu0, gamma)
    (b, n, g), _ = _fit(spec, c)
    assert (b, n, g) == pytest.approx((7.0, nu0, gamma), rel=1e-4)


def test_shells_of_a_cubic_cell():
    qs = commensurate_shells(np.eye(3) * 18.0, 4)
    shell = qs.shell
    assert np.bincount(shell).tolist() == [3, 6, 4, 3]  # ⟨100⟩, ⟨110⟩, ⟨111⟩, ⟨200⟩, one of each ±Q
    norms = np.linalg.norm(qs.vectors, axis=1)
    b = 2 * np.pi / 18.0
    assert [norms[shell == s].mean() / b for s in range(4)] == pytest.approx([1, 2**0.5, 3**0.5, 2], rel=1e-12)


@pytest.fixture(scope="module")
def underdamped():
    traj = langevin_crystal(0.3, record_friction=True)
    return traj, acoustic_damping(traj, n_shells=3)


def test_langevin_crystal_frequency_and_width_are_exact(underdamped):
    """Harmonic crystal in a Langevin bath: ν₀ is the lattice's ω(Q)/2π and Γ the bath's γ/2π at every shell and
    branch (within 3.5σ of the jackknife); the recorded friction is subtracted, leaving Γ_int ≈ 0: underdamped and
    decided everywhere; C(Q,0) = k_B T."""
    _, ds = underdamped
    hkl = [(1, 0, 0), (1, 1, 0), (1, 1, 1)]
    for s, idx in enumerate(hkl):
        for b in ("T1", "T2", "L"):
            r = ds.sel(branch=b).isel(shell=s)
            nu = exact_nu(idx)
            assert abs(float(r.nu0) - nu) < 3.5 * float(r.nu0_err) + 0.01 * nu, (s, b, float(r.nu0), nu)
            assert abs(float(r.gamma) - 0.3) < 3.5 * float(r.gamma_err) + 0.02, (s, b, float(r.gamma))
            assert abs(float(r.gamma_intrinsic)) < 3.5 * float(r.gamma_err) + 0.02
    assert ds.attrs["thermostat_gamma_THz"] == pytest.approx(0.3, rel=1e-12)
    assert not ds.overdamped.values.any() and ds.decided.values.all()
    assert ds.attrs["overdamped_fraction"] == 0.0 and ds.attrs["undecided_fraction"] == 0.0
    assert np.nanmean(ds.current_temperature.values) == pytest.approx(TEMP, rel=0.1)
    # one exact DHO line each: the fit residuals are of the size of the spectrum's noise
    assert ds.single_line.values.all() and float(ds.misfit.max()) < 0.15
    s = acoustic_damping_summary(ds)
    assert s["overdamped_fraction"] == 0.0 and len(s["modes"]) == 9 and s["species"] == ["P"]


def test_errors_are_honest_between_independent_runs(underdamped):
    """Two independent runs of the same crystal differ by what their jackknife errors say (|pull| < 4)."""
    _, ds1 = underdamped
    ds2 = acoustic_damping(langevin_crystal(0.3, seed=11, record_friction=True), n_shells=3)
    for v in ("nu0", "gamma"):
        pull = (ds1[v] - ds2[v]) / np.hypot(ds1[f"{v}_err"], ds2[f"{v}_err"])
        assert float(np.abs(pull).max()) < 4.0, (v, pull.values)


def test_a_strong_bath_overdamps_every_mode():
    """γ/2π = 12 THz > 2ν₀ at every shell (ν₀ ≤ 4.9 THz): overdamped and decided everywhere when the friction is
    not subtracted (the run does not record it), fraction 1."""
    ds = acoustic_damping(langevin_crystal(12.0, n_frames=3000, seed=5), n_shells=2)
    assert ds.attrs["thermostat_gamma_THz"] == 0.0
    assert ds.overdamped.values.all() and ds.decided.values.all()
    assert ds.attrs["overdamped_fraction"] == 1.0
    assert np.allclose(ds.gamma.values, 12.0, rtol=0.15)


def test_a_spectrum_of_several_lines_is_not_a_verdict():
    """Springs of 1, 1 and 4 K on x, y, z: z vibrates at twice the frequency. In the ⟨100⟩ shell L mixes x, y and z
    (Q along each axis) and T1 (e₁ = z for Q ∥ x, y; y for Q ∥ z) mixes z and y: two lines, flagged, undecided and
    left out of the fraction; T2 (e₂ = ±y, x, −x) is the soft springs alone: one line, the exact frequency."""
    ds = acoustic_damping(langevin_crystal(0.1, seed=7, stiffness=(1.0, 1.0, 4.0)), n_shells=1)
    assert ds.single_line.isel(shell=0).values.tolist() == [False, True, False], ds.misfit.values
    assert not ds.decided.sel(branch=["T1", "L"]).values.any()
    assert ds.attrs["not_one_line_fraction"] == pytest.approx(2 / 3)
    assert ds.attrs["overdamped_fraction"] == 0.0  # of the one row that is one line
    r = ds.sel(branch="T2").isel(shell=0)
    assert abs(float(r.nu0) - exact_nu((1, 0, 0))) < 3.5 * float(r.nu0_err) + 0.02
    assert "not one line" in mode_verdict(acoustic_damping_summary(ds)["modes"][0])


def test_refusals():
    traj = langevin_crystal(0.3, n_frames=100)
    with pytest.raises(InputError, match="per block"):
        acoustic_damping(traj, n_blocks=4)
    with pytest.raises(InputError, match="max_lag"):
        acoustic_damping(traj, n_blocks=2, max_lag=4)
    with pytest.raises(InputError, match="n_shells"):
        commensurate_shells(np.eye(3) * 10, 0)
    no_v = Trajectory(positions=traj.positions, cells=traj.cells, symbols=traj.symbols, dt=traj.dt)
    with pytest.raises(InputError, match="velocities"):
        acoustic_damping(no_v)


def test_cli_writes_netcdf_figure_and_json(underdamped, tmp_path, capsys):
    """The command reads the H5MD file (friction recorded there), gives the function's numbers, refuses to
    overwrite, and says what is wrong with a bad option in one line."""
    import json

    import xarray as xr

    from superionic.cli import run
    from superionic.trajectory import write_h5md

    traj, ds = underdamped
    h5 = tmp_path / "crystal.h5"
    write_h5md(h5, traj)
    out, fig = tmp_path / "ac.nc", tmp_path / "ac.png"
    assert run(["acoustic-damping", str(h5), "--shells", "3", "--out", str(out), "--plot", str(fig), "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["thermostat_gamma_THz"] == pytest.approx(0.3, rel=1e-9)
    assert [m["nu0_THz"] for m in s["modes"]] == pytest.approx(ds.nu0.values.ravel().tolist(), rel=1e-9)
    assert xr.load_dataset(out).attrs["analysis"] == "acoustic_damping" and fig.stat().st_size > 0
    assert run(["acoustic-damping", str(h5), "--out", str(out)]) == 1  # exists, no --overwrite
    assert "--overwrite" in capsys.readouterr().err
    assert run(["acoustic-damping", str(h5), "--blocks", "0", "--out", str(tmp_path / "b.nc")]) == 1
    assert "--blocks" in capsys.readouterr().err
    assert run(["acoustic-damping", str(h5), "--overwrite", "--out", str(out)]) == 0
    assert "underdamped" in capsys.readouterr().out
