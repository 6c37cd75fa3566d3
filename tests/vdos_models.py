"""Exact harmonic-crystal trajectories for the VDOS tests (helper module, not a test file).

`harmonic_lattice`: a simple-cubic nearest-neighbour harmonic lattice (each Cartesian component an
independent scalar lattice, spring constant K, ω(k) = 2√(K/m) [Σᵢ sin²(kᵢa/2)]^{1/2}, top frequency
ν_max). In a harmonic crystal every atom's velocity is a superposition of all normal modes with
independent thermal Gaussian amplitudes, so each atom's velocity is a stationary Gaussian process whose
spectrum is the lattice DOS. The DOS is integrated over the Brillouin zone by deterministic spherical
quadrature (fine radial × Fibonacci-sphere grid, weight k² dk dΩ) into the frequency bins of a
periodic time series of n_frames; the modes are then superposed by an inverse FFT (mode frequencies
rounded to the grid 1/(n_frames·dt), far below the VDOS resolution). Low-frequency law: g ∝ ν²
(Debye) with O(ν⁴) dispersion corrections.
"""

from __future__ import annotations

import numpy as np

from superionic.synthetic import thermal_sigma_v
from superionic.trajectory.model import Trajectory


def finite_cell_dos_bins(nu_max: float, n_cell: int, n_frames: int, dt_fs: float):
    """Like `lattice_dos_bins` for a periodic cell of n_cell³ sites: only the commensurate wavevectors
    k = 2π(i, j, l)/n_cell exist, so the lowest non-zero frequency is ν_max/√3 · sin(π/n_cell)."""
    k = 2 * np.pi * np.stack(np.meshgrid(*[np.arange(n_cell)] * 3, indexing="ij"), -1).reshape(-1, 3) / n_cell
    nu = nu_max / np.sqrt(3.0) * np.sqrt((np.sin(k / 2) ** 2).sum(axis=-1))
    freqs = np.fft.rfftfreq(n_frames, d=dt_fs) * 1e3
    hist = np.bincount(np.rint(nu / freqs[1]).astype(int), minlength=freqs.size)[: freqs.size].astype(float)
    hist[0] = 0.0  # the uniform translation carries no vibration
    return freqs, hist / hist.sum()


def lattice_dos_bins(nu_max: float, n_frames: int, dt_fs: float, n_dir: int = 1200, n_rad: int = 2000):
    """Fraction of modes in each rfft frequency bin (THz grid of a series of n_frames, step dt_fs)."""
    i = np.arange(n_dir) + 0.5
    phi = np.arccos(1 - 2 * i / n_dir)
    theta = np.pi * (1 + 5**0.5) * i
    u = np.stack([np.cos(theta) * np.sin(phi), np.sin(theta) * np.sin(phi), np.cos(phi)], axis=1)
    rmax = np.pi / np.abs(u).max(axis=1)  # BZ cube boundary along each direction
    s = (np.arange(n_rad) + 0.5) / n_rad  # midpoint radial grid in units of rmax
    k = s[None, :, None] * rmax[:, None, None] * u[:, None, :]
    w = (s[None, :] ** 2) * rmax[:, None] ** 3  # k² dk (dΩ equal for all directions)
    nu = nu_max / np.sqrt(3.0) * np.sqrt((np.sin(k / 2) ** 2).sum(axis=-1))
    freqs = np.fft.rfftfreq(n_frames, d=dt_fs) * 1e3
    step = freqs[1]
    b = np.rint(nu / step).astype(int).ravel()
    hist = np.bincount(b, weights=w.ravel(), minlength=freqs.size)[: freqs.size]
    hist[0] = 0.0
    return freqs, hist / hist.sum()


def gaussian_process(freqs, frac, n_atoms: int, temperature: float, mass: float, rng):
    """Velocities (frames, atoms, 3) Å/fs and displacements of stationary Gaussian processes whose
    spectrum puts the fraction frac[j] of <v²> = 3k_BT/m at the rfft frequency freqs[j] (THz)."""
    n_frames = 2 * (freqs.size - 1)
    sv = thermal_sigma_v(temperature, mass)
    amp = n_frames * sv * np.sqrt(frac / 2.0)
    c = (rng.normal(size=(n_atoms, 3, freqs.size)) + 1j * rng.normal(size=(n_atoms, 3, freqs.size))) * amp
    vel = np.fft.irfft(c, n=n_frames, axis=-1)
    w = 2 * np.pi * freqs * 1e-3
    cx = np.zeros_like(c)
    cx[..., 1:] = c[..., 1:] / (1j * w[1:])
    disp = np.fft.irfft(cx, n=n_frames, axis=-1)
    return vel.transpose(2, 0, 1), disp.transpose(2, 0, 1)


def spectrum_trajectory(
    density,
    n_atoms: int = 128,
    n_frames: int = 8192,
    dt: float = 10.0,
    temperature: float = 300.0,
    mass: float = 30.97,
    symbol: str = "P",
    seed: int = 0,
):
    """Trajectory of Gaussian-process velocities with spectral density ∝ density(ν THz) (ν > 0)."""
    freqs = np.fft.rfftfreq(n_frames, d=dt) * 1e3
    frac = np.zeros(freqs.size)
    frac[1:] = np.clip(density(freqs[1:]), 0, None)
    frac /= frac.sum()
    vel, disp = gaussian_process(freqs, frac, n_atoms, temperature, mass, np.random.default_rng(seed))
    return _traj(vel, disp, symbol, mass, dt, temperature)


def _traj(vel, disp, symbol, mass, dt, temperature, a=3.0):
    n_atoms = vel.shape[1]
    side = int(np.ceil(n_atoms ** (1 / 3)))
    grid = np.stack(np.meshgrid(*[np.arange(side)] * 3, indexing="ij"), -1).reshape(-1, 3)[:n_atoms] * a
    return Trajectory(
        positions=grid[None] + disp,
        cells=np.eye(3) * side * a,
        symbols=[symbol] * n_atoms,
        dt=dt,
        velocities=vel,
        masses=np.full(n_atoms, mass),
        metadata={"temperature": temperature},
    )


def ou_chunks(
    n_atoms: int,
    n_frames: int,
    chunk: int,
    dt: float,
    gamma: float,
    temperature: float,
    mass: float = 6.94,
    symbol: str = "Li",
    seed: int = 0,
    positions: bool = True,
):
    """Exact Ornstein–Uhlenbeck (free Langevin) velocities in chunks: Z(t) = (3k_BT/m) e^{-γt},
    D = k_BT/(mγ) exactly. Positions are the trapezoid integral of the velocities."""
    from scipy.signal import lfilter

    rng = np.random.default_rng(seed)
    sv = thermal_sigma_v(temperature, mass)
    c = np.exp(-gamma * dt)
    s = sv * np.sqrt(1 - c * c)
    v_prev = rng.normal(0, sv, (n_atoms * 3, 1))
    x_prev = np.zeros((n_atoms * 3, 1))
    done = 0
    while done < n_frames:
        L = min(chunk, n_frames - done)
        xi = rng.standard_normal((n_atoms * 3, L))
        xi *= s
        vt, _ = lfilter([1.0], [1.0, -c], xi, axis=-1, zi=c * v_prev)
        if positions:
            xt = x_prev + np.cumsum(0.5 * dt * (vt + np.concatenate([v_prev, vt[:, :-1]], axis=1)), axis=1)
            x_prev = xt[:, -1:]
            x = xt.T
        else:  # VDOS-only tests: a read-only zero view, no memory
            x = np.broadcast_to(np.zeros(1), (L, n_atoms * 3))
        v_prev = vt[:, -1:]
        v = vt.T
        done += L
        yield Trajectory(
            positions=x.reshape(L, n_atoms, 3),
            cells=np.eye(3) * 1e4,
            symbols=[symbol] * n_atoms,
            dt=dt,
            velocities=v.reshape(L, n_atoms, 3),
            masses=np.full(n_atoms, mass),
            metadata={"temperature": temperature},
        )


def harmonic_lattice(
    n_atoms: int = 128,
    n_frames: int = 8192,
    dt: float = 10.0,
    nu_max: float = 8.0,
    temperature: float = 300.0,
    mass: float = 30.97,
    symbol: str = "P",
    a: float = 3.0,
    seed: int = 0,
    n_cell: int | None = None,
) -> Trajectory:
    """Velocities and positions of atoms of a harmonic SC lattice (see module docstring); with n_cell,
    the lattice is a periodic cell of n_cell³ sites (only its commensurate modes, `finite_cell_dos_bins`)."""
    freqs, frac = (
        lattice_dos_bins(nu_max, n_frames, dt) if n_cell is None else finite_cell_dos_bins(nu_max, n_cell, n_frames, dt)
    )
    vel, disp = gaussian_process(freqs, frac, n_atoms, temperature, mass, np.random.default_rng(seed))
    return _traj(vel, disp, symbol, mass, dt, temperature, a)
