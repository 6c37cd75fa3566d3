"""Harmonic thermodynamics from the VDOS and the two-phase (2PT) model for diffusive species.

All per-atom quantities use a VDOS normalised to ∫g dν = 1 (ν in THz; three degrees of freedom per
atom), x = hν/k_BT:

    C_v/k_B = 3 ∫ g(ν) x² eˣ/(eˣ−1)² dν                       (→ 3 classically)
    S_vib/k_B = 3 ∫ g(ν) [x/(eˣ−1) − ln(1 − e⁻ˣ)] dν

Integrals use the midpoint rule on the spectral grid (the ν = 0 point, where the entropy weight has an
integrable log singularity, is never evaluated).

2PT (Lin, Blanco, Goddard, J. Chem. Phys. 119, 11792 (2003)): the diffusive part of a species is a
hard-sphere gas with DOS g_gas(ν) = g₀ / [1 + (π g₀ ν / 2f)²] (∫ = f, the fluidicity); the rest,
g_solid = g − g_gas, is treated harmonically. f solves
2Δ^{-9/2} f^{15/2} − 6Δ^{-3} f^5 − Δ^{-3/2} f^{7/2} + 6Δ^{-3/2} f^{5/2} + 2f − 2 = 0 with the
normalised diffusivity Δ = (2/3) g₀ (πk_BT/m)^{1/2} n^{1/3} (6/π)^{2/3} (n: number density of the
species). Gas entropy per atom: S_HS/k_B = 5/2 + ln[Λ⁻³ z(y)/(f n)] + y(3y−4)/(1−y)² with
y = f^{5/2}/Δ^{3/2}, z(y) = (1+y+y²−y³)/(1−y)³ (Carnahan–Starling), Λ the thermal wavelength.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from scipy.optimize import brentq

from .. import units
from ..errors import InputError

_H_J_S = 6.62607015e-34


def _x(nu_thz, temperature):
    if temperature <= 0:
        raise InputError(f"temperature must be positive, got {temperature}")
    return np.asarray(nu_thz) * units.THZ_TO_MEV / (units.KB_EV * 1e3 * temperature)


def _mid(nu, g):
    nu = np.asarray(nu, dtype=float)
    g = np.asarray(g, dtype=float)
    return 0.5 * (nu[1:] + nu[:-1]), 0.5 * (g[1:] + g[:-1]), np.diff(nu)


def cv_weight(x):
    """x² eˣ/(eˣ−1)² (→ 1 as x → 0)."""
    x = np.asarray(x, dtype=float)
    em = np.exp(-x)
    return np.where(x < 1e-8, 1.0, x * x * em / np.where(x < 1e-8, 1.0, -np.expm1(-x)) ** 2)


def s_weight(x):
    """x/(eˣ−1) − ln(1 − e⁻ˣ)."""
    x = np.asarray(x, dtype=float)
    return x / np.expm1(x) - np.log(-np.expm1(-x))


def heat_capacity(nu_thz, g, temperature: float) -> float:
    """Harmonic quantum C_v per atom in k_B (×R for J/(mol K))."""
    nu, gm, dnu = _mid(nu_thz, g)
    return float(3.0 * np.sum(gm * cv_weight(_x(nu, temperature)) * dnu))


def vibrational_entropy(nu_thz, g, temperature: float) -> float:
    """Harmonic quantum S_vib per atom in k_B (ill-defined for diffusive species: use `two_phase`)."""
    nu, gm, dnu = _mid(nu_thz, g)
    return float(3.0 * np.sum(gm * s_weight(_x(nu, temperature)) * dnu))


def einstein_heat_capacity(nu_thz: float, temperature: float) -> float:
    """C_v of 3D Einstein oscillators per atom in k_B."""
    return float(3.0 * cv_weight(_x(nu_thz, temperature)))


def thermo(ds: xr.Dataset, temperatures, species: list[str] | None = None) -> xr.Dataset:
    """Harmonic C_v(T) and S_vib(T) per species of a `vdos` Dataset (k_B per atom) and total."""
    temps = np.atleast_1d(np.asarray(temperatures, dtype=float))
    species = species or list(ds.species.values)
    nu = ds.frequency.values
    cv = np.array([[heat_capacity(nu, ds.g.sel(species=s).values, t) for t in temps] for s in species])
    sv = np.array([[vibrational_entropy(nu, ds.g.sel(species=s).values, t) for t in temps] for s in species])
    frac = ds.atom_fraction.sel(species=species).values
    frac = frac / frac.sum()
    kb = {"units": "k_B per atom"}
    out = xr.Dataset(
        {
            "Cv": (("species", "temperature"), cv, {**kb, "long_name": "harmonic quantum heat capacity"}),
            "S_vib": (("species", "temperature"), sv, {**kb, "long_name": "harmonic quantum vibrational entropy"}),
            "Cv_total": ("temperature", frac @ cv, {**kb, "long_name": "atom-fraction weighted C_v"}),
            "S_vib_total": ("temperature", frac @ sv, {**kb, "long_name": "atom-fraction weighted S_vib"}),
        },
        coords={"species": species, "temperature": ("temperature", temps, {"units": units.TEMPERATURE})},
    )
    out.attrs.update(
        analysis="thermo", model="harmonic quantum oscillators weighted by the VDOS", to_J_per_mol_K=units.R_J_PER_MOL_K
    )
    return out


# --------------------------------------------------------------------------- 2PT
def fluidicity(delta: float) -> float:
    """2PT fluidicity f(Δ) in (0, 1]."""
    if delta <= 0:
        return 0.0

    def eq(f):
        return (
            2 * delta**-4.5 * f**7.5
            - 6 * delta**-3 * f**5
            - delta**-1.5 * f**3.5
            + 6 * delta**-1.5 * f**2.5
            + 2 * f
            - 2
        )

    return float(brentq(eq, 1e-300, 1.0, xtol=1e-14))


def thermal_wavelength(mass_amu: float, temperature: float) -> float:
    """Λ = h/√(2π m k_B T), Å."""
    m = mass_amu * units.AMU_KG
    return _H_J_S / np.sqrt(2 * np.pi * m * units.KB_J * temperature) * 1e10


def two_phase(nu_thz, g, g0: float, mass_amu: float, number_density: float, temperature: float) -> dict:
    """2PT split of one species' VDOS (∫g dν = 1, 1/THz) with zero-frequency value g0 (1/THz).

    number_density: atoms of this species per Å³. Returns fluidicity f, Δ, y, g_gas and g_solid
    (arrays, 1/THz), entropies per atom in k_B (S_total, S_gas, S_solid) and C_v (k_B per atom).
    """
    if number_density <= 0 or mass_amu <= 0:
        raise InputError("2PT needs a positive number density (atoms/Å³) and mass (amu)")
    nu = np.asarray(nu_thz, dtype=float)
    g = np.asarray(g, dtype=float)
    g0 = max(float(g0), 0.0)
    vth = np.sqrt(units.KB_EV * temperature / (mass_amu * units.AMU_A2_PER_FS2_IN_EV))  # Å/fs
    delta = (2.0 / 3.0) * g0 * 1e3 * np.sqrt(np.pi) * vth * number_density ** (1 / 3) * (6 / np.pi) ** (2 / 3)
    f = fluidicity(delta)
    if f > 0:
        g_gas = g0 / (1.0 + (np.pi * g0 * nu / (2.0 * f)) ** 2)
        y = f**2.5 / delta**1.5
        z = (1 + y + y * y - y**3) / (1 - y) ** 3
        lam = thermal_wavelength(mass_amu, temperature)
        s_hs = 2.5 + np.log(z / (lam**3 * f * number_density)) + y * (3 * y - 4) / (1 - y) ** 2
    else:
        g_gas, y, s_hs = np.zeros_like(g), 0.0, 0.0
    g_solid = g - g_gas
    s_gas = f * s_hs
    s_solid = vibrational_entropy(nu, g_solid, temperature)
    cv = 1.5 * f + heat_capacity(nu, g_solid, temperature)
    return {
        "fluidicity": f,
        "delta": float(delta),
        "y": float(y),
        "g_gas": g_gas,
        "g_solid": g_solid,
        "S_gas": float(s_gas),
        "S_solid": float(s_solid),
        "S_total": float(s_gas + s_solid),
        "S_hard_sphere": float(s_hs),
        "Cv": float(cv),
    }


def two_phase_dataset(
    ds: xr.Dataset, species: str, temperature: float | None = None, g0: float | None = None
) -> xr.Dataset:
    """2PT for one species of a `vdos` Dataset (density from the cell volume in attrs).

    g0 defaults to the spectrum value at ν = 0; temperature to the species' kinetic temperature.
    """
    sel = ds.sel(species=species)
    t = float(temperature or sel.kinetic_temperature)
    nu = ds.frequency.values
    g = sel.g.values
    n = float(sel.n_atoms) / float(ds.attrs["volume_A3"])
    r = two_phase(nu, g, float(g[0]) if g0 is None else g0, float(sel.mass), n, t)
    kb = {"units": "k_B per atom"}
    out = xr.Dataset(
        {
            "g_gas": ("frequency", r["g_gas"], {"units": "THz-1", "long_name": "2PT gas-like (hard-sphere) DOS"}),
            "g_solid": ("frequency", r["g_solid"], {"units": "THz-1", "long_name": "2PT solid-like DOS"}),
            "fluidicity": ((), r["fluidicity"], {"units": units.DIMENSIONLESS}),
            "delta": ((), r["delta"], {"units": units.DIMENSIONLESS, "long_name": "normalised diffusivity Δ"}),
            "S_total": ((), r["S_total"], kb),
            "S_gas": ((), r["S_gas"], kb),
            "S_solid": ((), r["S_solid"], kb),
            "Cv": ((), r["Cv"], kb),
        },
        coords={"frequency": ds.frequency, "energy": ds.energy},
    )
    out.attrs.update(
        analysis="2PT",
        species=species,
        temperature_K=t,
        number_density_A3=n,
        reference="Lin, Blanco, Goddard, J. Chem. Phys. 119, 11792 (2003)",
    )
    return out
