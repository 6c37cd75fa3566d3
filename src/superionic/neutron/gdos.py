"""Neutron-weighted generalised density of states (incoherent approximation, shared/SCIENCE.md §2).

    G(E) = Σ_α c_α (σ_α/m_α) e^{-2W_α} g_α(E) / Σ_α c_α (σ_α/m_α) e^{-2W_α},   σ = σ_coh + σ_inc

with c_α the atom fraction, σ and m from the pinned table (`crosssections`, isotope selectable) and
g_α(E) the per-species VDOS per meV. Debye–Waller (optional): 2W_α = Q²<u²_α>/3 with <u²_α> the
total mean-square displacement (Å²) and Q (Å⁻¹) given, or <u²> from the VDOS in the harmonic
approximation (`harmonic_msd`). Normalisation: ∫G dE = 1 (E in meV) before resolution; the
resolution (Gaussian FWHM in meV, an energy-dependent FWHM function, or a measured kernel) conserves it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import xarray as xr

from .. import units
from ..errors import InputError
from .crosssections import REFERENCE, neutron_data
from .resolution import convolve


def gdos_weights(
    species, atom_fraction, isotopes: Mapping[str, str] | None = None, dw: Mapping[str, float] | None = None
) -> np.ndarray:
    """Normalised weights c_α σ_α/m_α e^{-2W_α} (sum 1); dw maps species to e^{-2W} factors."""
    w = np.array(
        [
            c * neutron_data(s, isotopes).sigma_total / neutron_data(s, isotopes).mass * (dw or {}).get(s, 1.0)
            for s, c in zip(species, atom_fraction)
        ]
    )
    return w / w.sum()


def harmonic_msd(nu_thz, g, mass_amu: float, temperature: float, quantum: bool = True) -> float:
    """Harmonic <u²> (Å², all three directions) of a species from its VDOS (∫g dν = 1, ν in THz):
    <u²> = 3 ∫ g(ν) ħ/(2mω) coth(ħω/2k_BT) dν (classical: 3 ∫ g k_BT/(mω²) dν). Diverges for
    diffusive species (g(0) > 0): use a measured or MSD-plateau value there.
    """
    nu = np.asarray(nu_thz, dtype=float)
    g = np.asarray(g, dtype=float)
    num, gm, dnu = 0.5 * (nu[1:] + nu[:-1]), 0.5 * (g[1:] + g[:-1]), np.diff(nu)
    w = 2 * np.pi * num * 1e-3  # rad/fs
    m = mass_amu * units.AMU_A2_PER_FS2_IN_EV  # eV fs²/Å²
    kt = units.KB_EV * temperature
    if quantum:
        hbar = units.HBAR_MEV_PS  # meV·ps equals eV·fs numerically
        x = hbar * w / (2 * kt)
        per = hbar / (2 * m * w) / np.tanh(x)
    else:
        per = kt / (m * w * w)
    return float(3.0 * np.sum(gm * per * dnu))


def gdos(
    ds: xr.Dataset,
    isotopes: Mapping[str, str] | None = None,
    q: float | None = None,
    msd: Mapping[str, float] | None = None,
    resolution_fwhm_mev: float | Callable | None = None,
    resolution: tuple[np.ndarray, np.ndarray] | None = None,
    temperature: float | None = None,
    species: list[str] | None = None,
) -> xr.Dataset:
    """Neutron-weighted GDOS G(E) (1/meV) from a `vdos` Dataset.

    isotopes: e.g. {"Li": "7Li"}. Debye–Waller: give `q` (Å⁻¹) and `msd` {species: <u²> Å²}; with
    q but no msd, <u²> of each species comes from `harmonic_msd` at `temperature` (default: kinetic).
    resolution_fwhm_mev: Gaussian FWHM (meV; or a function of E in meV); resolution: (E, R(E)) kernel.
    """
    species = species or list(ds.species.values)
    e = ds.energy.values
    g_e = ds.g.sel(species=species).values / units.THZ_TO_MEV  # per meV
    frac = ds.atom_fraction.sel(species=species).values
    frac = frac / frac.sum()
    dwf = None
    u2 = {}
    if q is not None:
        if q < 0:
            raise InputError(f"Q must be ≥ 0 Å⁻¹, got {q}")
        for s in species:
            if msd and s in msd:
                u2[s] = float(msd[s])
            else:
                sel = ds.sel(species=s)
                t = float(temperature or sel.kinetic_temperature)
                u2[s] = harmonic_msd(ds.frequency.values, sel.g.values, float(sel.mass), t)
        dwf = {s: float(np.exp(-q * q * u2[s] / 3.0)) for s in species}
    elif msd:
        raise InputError("Debye–Waller factors need the momentum transfer: give q (Å⁻¹) with msd")
    w = gdos_weights(species, frac, isotopes, dwf)
    partial = w[:, None] * g_e
    total = partial.sum(axis=0)
    data = {
        "G": (
            "energy",
            total,
            {
                "units": "meV-1",
                "long_name": "neutron-weighted generalised DOS",
                "normalisation": "∫ G dE = 1 (E in meV) before resolution",
            },
        ),
        "G_partial": (
            ("species", "energy"),
            partial,
            {"units": "meV-1", "long_name": "weighted species contributions"},
        ),
        "weight": ("species", w, {"units": units.DIMENSIONLESS, "long_name": "c σ/m e^{-2W}, normalised"}),
    }
    if resolution_fwhm_mev is not None or resolution is not None:
        gr = convolve(e, np.vstack([total, partial]), fwhm=resolution_fwhm_mev, kernel=resolution)
        data["G_resolved"] = ("energy", gr[0], {"units": "meV-1", "long_name": "G convolved with the resolution"})
        data["G_partial_resolved"] = (("species", "energy"), gr[1:], {"units": "meV-1"})
    out = xr.Dataset(
        data,
        coords={
            "species": species,
            "energy": ("energy", e, {"units": units.ENERGY_MEV}),
            "frequency": ("energy", ds.frequency.values, {"units": units.FREQUENCY}),
        },
    )
    out.attrs.update(
        analysis="gdos",
        cross_sections=REFERENCE,
        isotopes=dict(isotopes or {}),
        weighting="c σ_total/m e^{-2W}",
        debye_waller="none" if q is None else f"Q = {q} 1/angstrom",
        resolution=(
            "none"
            if resolution_fwhm_mev is None and resolution is None
            else (
                "user kernel"
                if resolution is not None
                else (
                    "energy-dependent Gaussian"
                    if callable(resolution_fwhm_mev)
                    else f"Gaussian FWHM {resolution_fwhm_mev} meV"
                )
            )
        ),
    )
    if u2:
        out["msd"] = ("species", np.array([u2[s] for s in species]), {"units": "angstrom2"})
    return out
