"""Synthetic trajectories with exactly known answers, for validation and tests.

Every generator returns a `Trajectory` in ASE units (Å, fs, amu) and takes a NumPy seed.
"""

from __future__ import annotations

import numpy as np

from . import units
from .trajectory.model import Trajectory


def thermal_sigma_v(temperature: float, mass: float) -> float:
    """Per-component thermal velocity spread sqrt(k_B T/m), Å/fs."""
    return float(np.sqrt(units.KB_EV * temperature / (mass * units.AMU_A2_PER_FS2_IN_EV)))


def langevin_diffusion_coefficient(temperature: float, mass: float, gamma: float) -> float:
    """Exact D = k_B T/(m γ) of a free Langevin particle, cm²/s (γ in 1/fs)."""
    return thermal_sigma_v(temperature, mass) ** 2 / gamma * units.A2_PER_FS_TO_CM2_PER_S


def langevin_particles(
    n_atoms: int = 64,
    n_frames: int = 20000,
    dt: float = 1.0,
    stride: int = 1,
    gamma: float = 0.01,
    temperature: float = 600.0,
    mass: float = 6.94,
    symbol: str = "Li",
    box: float = 20.0,
    seed: int = 0,
    wrap: bool = False,
) -> Trajectory:
    """Free Langevin particles integrated with BAOAB (no forces: B steps vanish, O step exact).

    D = k_B T/(m γ) up to a (γ dt)²/12 relative discretisation term. Frames every `stride` steps.
    """
    rng = np.random.default_rng(seed)
    sv = thermal_sigma_v(temperature, mass)
    c = np.exp(-gamma * dt)
    s = sv * np.sqrt(1.0 - c * c)
    x = rng.uniform(0, box, (n_atoms, 3))
    v = rng.normal(0, sv, (n_atoms, 3))
    pos = np.empty((n_frames, n_atoms, 3))
    vel = np.empty((n_frames, n_atoms, 3))
    for f in range(n_frames):
        pos[f], vel[f] = x, v
        for _ in range(stride):
            x = x + 0.5 * dt * v  # A
            v = c * v + s * rng.normal(size=v.shape)  # O
            x = x + 0.5 * dt * v  # A
    if wrap:
        pos = np.mod(pos, box)
    return Trajectory(
        positions=pos,
        cells=np.eye(3) * box,
        symbols=[symbol] * n_atoms,
        dt=dt * stride,
        velocities=vel,
        masses=np.full(n_atoms, mass),
        metadata={"temperature": temperature},
    )


def harmonic_oscillators(
    frequencies_thz,
    n_per_frequency: int = 64,
    n_frames: int = 8192,
    dt: float = 2.0,
    temperature: float = 300.0,
    mass: float = 30.97,
    symbols=None,
    box: float = 20.0,
    seed: int = 0,
) -> Trajectory:
    """Independent 3D Einstein oscillators, exact solution x = x0 + A cos(ωt) + B sin(ωt).

    A and B/ω are drawn from the classical Boltzmann distribution, so <v²> = 3k_BT/m exactly on average.
    One species per frequency (symbols default to P, S, Cl, …).
    """
    rng = np.random.default_rng(seed)
    freqs = np.atleast_1d(np.asarray(frequencies_thz, dtype=float))
    symbols = symbols or ["P", "S", "Cl", "Br", "I"][: len(freqs)]
    sv = thermal_sigma_v(temperature, mass)
    t = np.arange(n_frames) * dt
    pos, vel, syms = [], [], []
    for f_thz, sym in zip(freqs, symbols):
        w = 2 * np.pi * f_thz * 1e-3  # rad/fs
        n = n_per_frequency
        x0 = rng.uniform(0, box, (n, 3))
        a = rng.normal(0, sv / w, (n, 3))
        b = rng.normal(0, sv / w, (n, 3))
        ct, st = np.cos(w * t)[:, None, None], np.sin(w * t)[:, None, None]
        pos.append(x0 + a * ct + b * st)
        vel.append(w * (-a * st + b * ct))
        syms += [sym] * n
    return Trajectory(
        positions=np.concatenate(pos, axis=1),
        cells=np.eye(3) * box,
        symbols=syms,
        dt=dt,
        velocities=np.concatenate(vel, axis=1),
        masses=np.full(len(syms), mass),
        metadata={"temperature": temperature},
    )


def lattice_random_walk(
    n_atoms: int = 200,
    n_frames: int = 20000,
    dt: float = 10.0,
    rate: float = 1e-3,
    jump_length: float = 2.0,
    box_sites: int = 10,
    seed: int = 0,
    symbol: str = "Li",
) -> Trajectory:
    """Independent walkers on a simple cubic lattice (spacing `jump_length` Å), wrapped in a periodic box.

    Each walker jumps to one of its 6 neighbours at `rate` (1/fs); at most one jump per frame (choose
    rate·dt ≪ 1). Exact: τ = 1/rate, D = l²/(6τ) (no correlation). Positions are wrapped.
    """
    rng = np.random.default_rng(seed)
    p_jump = 1.0 - np.exp(-rate * dt)
    dirs = np.vstack([np.eye(3), -np.eye(3)])
    start = rng.integers(0, box_sites, (n_atoms, 3)).astype(float)
    jumps = rng.random((n_frames - 1, n_atoms)) < p_jump
    choice = rng.integers(0, 6, (n_frames - 1, n_atoms))
    steps = dirs[choice] * jumps[..., None]
    path = np.concatenate([start[None], start[None] + np.cumsum(steps, axis=0)])
    box = box_sites * jump_length
    pos = np.mod(path * jump_length, box)
    return Trajectory(
        positions=pos,
        cells=np.eye(3) * box,
        symbols=[symbol] * n_atoms,
        dt=dt,
        metadata={"rate_per_fs": rate, "jump_length": jump_length},
    )


def caged_random_walk(
    n_atoms: int = 200,
    n_frames: int = 2000,
    dt: float = 10.0,
    cage_spacing: float = 6.0,
    site_offset: float = 1.5,
    rate_in: float = 2e-3,
    rate_out: float = 2e-5,
    box_cages: int = 4,
    noise: float = 0.15,
    seed: int = 0,
    symbol: str = "Li",
):
    """Walkers in cages: 6 sites at ±`site_offset` Å along x, y, z about each node of a simple cubic lattice
    of cages (spacing `cage_spacing` Å). A walker jumps to another site of its cage at `rate_in` (1/fs) and
    to a random site of one of the 6 neighbouring cages at `rate_out` (1/fs); Gaussian vibration `noise` Å.

    Exact: the cage centre performs an uncorrelated random walk, so D = rate_out · cage_spacing² / 6
    (Å²/fs), while the bounded intra-cage motion adds a plateau of about 2 site_offset² to the MSD.
    Returns (Trajectory, site positions (S, 3) Å, cage id per site (S,)).
    """
    rng = np.random.default_rng(seed)
    axes = np.vstack([np.eye(3), -np.eye(3)])
    nodes = np.array(np.meshgrid(*[np.arange(box_cages)] * 3, indexing="ij")).reshape(3, -1).T
    box = box_cages * cage_spacing
    sites = (nodes[:, None, :] * cage_spacing + axes[None] * site_offset).reshape(-1, 3)
    cage_of = np.repeat(np.arange(len(nodes)), 6)
    p_in, p_out = 1.0 - np.exp(-rate_in * dt), 1.0 - np.exp(-rate_out * dt)
    node = rng.integers(0, box_cages, (n_atoms, 3)).astype(float)  # unwrapped cage node
    k = rng.integers(0, 6, n_atoms)
    path = np.empty((n_frames, n_atoms, 3))
    for f in range(n_frames):
        path[f] = node * cage_spacing + axes[k] * site_offset
        u = rng.random(n_atoms)
        out = u < p_out
        inside = (u >= p_out) & (u < p_out + p_in)
        node[out] += axes[rng.integers(0, 6, int(out.sum()))]
        k[out] = rng.integers(0, 6, int(out.sum()))
        k[inside] = (k[inside] + rng.integers(1, 6, int(inside.sum()))) % 6
    pos = np.mod(path + rng.normal(0.0, noise, path.shape), box)
    traj = Trajectory(
        positions=pos,
        cells=np.eye(3) * box,
        symbols=[symbol] * n_atoms,
        dt=dt,
        metadata={"rate_out_per_fs": rate_out, "cage_spacing": cage_spacing},
    )
    return traj, np.mod(sites, box), cage_of
