"""Vibrational density of states from the velocity autocorrelation function.

Normalisation (shared/SCIENCE.md §2): per species α

    Z_α(t) = <v_i(0)·v_i(t)>  (atoms i of α, all origins),   Ẑ = Z/Z(0)
    g_α(ν) = 4 ∫₀^∞ Ẑ_α(t) cos(2πνt) dt,   ν in THz,   ∫₀^∞ g_α dν = 1

so g_α(0) = 4 m_α D_α / (k_B T) (Green–Kubo). The total is g = Σ_α c_α g_α with c_α the atom
fraction. The energy axis E = hν (meV) is given alongside; g per meV is g/4.1357.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from .. import units
from ..trajectory.model import Trajectory
from .correlate import autocorrelation, cosine_transform
from .windows import lag_window, resolution_fwhm


def vacf(traj: Trajectory, species: list[str] | None = None, max_lag: int | None = None) -> xr.Dataset:
    """Velocity autocorrelation Z_α(t) per species, Å²/fs², all time origins.

    max_lag: number of lags (frames) kept; default half the trajectory.
    """
    v = traj.require_velocities()
    species = species or traj.species
    max_lag = max_lag or max(2, traj.n_frames // 2)
    z = []
    for s in species:
        idx = traj.indices(s)
        z.append(autocorrelation(v[:, idx], max_lag).mean(axis=1))
    t = np.arange(max_lag) * traj.dt
    ds = xr.Dataset(
        {"vacf": (("species", "time"), np.array(z), {"units": "angstrom2 fs-2",
                                                     "long_name": "velocity autocorrelation <v(0)·v(t)>"})},
        coords={"species": species, "time": ("time", t, {"units": units.TIME})},
    )
    ds.attrs.update(dt_fs=traj.dt, n_frames=traj.n_frames, max_lag=max_lag)
    return ds


def vdos(traj: Trajectory, species: list[str] | None = None, max_lag: int | None = None,
         window: str = "hann") -> xr.Dataset:
    """VDOS per species and total (atom-fraction weighted), each normalised to ∫g dν = 1 (ν in THz).

    Returns a Dataset with `g` (species, frequency) in 1/THz, `g_total` (frequency), the VACF, the
    mass per species (amu) and the mean kinetic temperature per species (K, from Z(0) = 3k_BT/m).
    """
    ac = vacf(traj, species, max_lag)
    species = list(ac.species.values)
    z = ac.vacf.values                                    # (S, M) Å²/fs²
    n_lag = z.shape[1]
    w = lag_window(window, n_lag)
    zhat = z / z[:, :1] * w
    nu_per_fs, spec = cosine_transform(zhat.T, traj.dt)   # spec (F, S), units fs
    nu = nu_per_fs * 1e3                                   # 1/fs → THz
    g = spec.T * 1e-3                                      # fs → 1/THz (per unit ν in THz)
    counts = np.array([len(traj.indices(s)) for s in species])
    frac = counts / traj.n_atoms if species == traj.species else counts / counts.sum()
    g_total = (frac[:, None] * g).sum(axis=0)
    masses = np.array([traj.masses[traj.indices(s)].mean() for s in species])
    # Z(0) = 3 k_B T / m → T = m Z(0) / (3 k_B), with m Z(0) in amu Å²/fs² → eV
    temp = masses * z[:, 0] * units.AMU_A2_PER_FS2_IN_EV / (3.0 * units.KB_EV)
    integral = np.trapezoid(g, nu, axis=1)
    ds = xr.Dataset(
        {
            "g": (("species", "frequency"), g, {"units": "THz-1", "long_name": "partial VDOS g_α(ν)",
                                                "normalisation": "∫ g_α dν = 1 per species (ν in THz)"}),
            "g_total": ("frequency", g_total, {"units": "THz-1", "long_name": "total VDOS Σ c_α g_α",
                                               "normalisation": "∫ g dν = 1 (atom-fraction weights)"}),
            "atom_fraction": ("species", frac, {"units": units.DIMENSIONLESS}),
            "mass": ("species", masses, {"units": units.MASS}),
            "kinetic_temperature": ("species", temp, {"units": units.TEMPERATURE,
                                                       "long_name": "m<v²>/3k_B"}),
            "integral": ("species", integral, {"units": units.DIMENSIONLESS,
                                               "long_name": "∫ g dν (check, should be 1)"}),
            "vacf": ac.vacf,
        },
        coords={
            "species": species,
            "frequency": ("frequency", nu, {"units": units.FREQUENCY}),
            "energy": ("frequency", nu * units.THZ_TO_MEV, {"units": units.ENERGY_MEV}),
            "time": ac.time,
        },
    )
    ds.attrs.update(
        analysis="vdos", window=window, max_lag=n_lag, dt_fs=traj.dt, n_frames=traj.n_frames,
        resolution_fwhm_THz=resolution_fwhm(window, n_lag, traj.dt) * 1e3,
        normalisation="per species ∫g dν = 1 with ν in THz; total = atom-fraction sum; "
                      "g(0) = 4mD/(k_B T)",
    )
    return ds


def diffusion_from_g0(g0_per_thz: float, mass_amu: float, temperature_k: float) -> float:
    """D (cm²/s) from g_ν(0) = 4 m D /(k_B T) with g in 1/THz."""
    g0_fs = g0_per_thz * 1e3                              # 1/THz → fs
    kT = units.KB_EV * temperature_k                      # eV
    d_a2_fs = g0_fs * kT / (4.0 * mass_amu * units.AMU_A2_PER_FS2_IN_EV)
    return d_a2_fs * units.A2_PER_FS_TO_CM2_PER_S
