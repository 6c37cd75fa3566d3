"""The harmonic result as data: an xarray Dataset with units on every variable (netCDF), its atomic write,
and the partial DOS in the normalisation of the MD VDOS (superionic.analysis.vdos).

Conventions (docs/phonons.md): frequencies in THz (negative: imaginary), energies hν in meV; total DOS in
1/THz per primitive cell with ∫g dν = 3N, partial DOS per species with ∫g_s dν = 3N_s; thermal properties
per atom in k_B and eV, per formula unit in J/K/mol and kJ/mol.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr
from scipy.integrate import trapezoid

from .. import units
from ..results import save_dataset
from .modes import HarmonicResult


def harmonic_dataset(result: HarmonicResult) -> xr.Dataset:
    """The result as an xarray Dataset; every variable carries ``units`` (netCDF-ready)."""
    r = result
    th = r.thermal()
    species = r.species
    n_s = np.array([r.species_count(s) for s in species])
    im = r.imaginary_modes
    n_prim = r.n_primitive
    vec = np.array([m.eigenvector for m in im]) if im else np.zeros((0, n_prim, 3), complex)
    data = {
        "dos": (
            "frequency",
            r.dos,
            {
                "units": "THz-1",
                "long_name": "harmonic phonon DOS per primitive cell",
                "normalisation": "∫ g dν = 3 N (N atoms of the primitive cell)",
            },
        ),
        "pdos": (
            ("species", "frequency"),
            np.array([r.pdos[s] for s in species]),
            {
                "units": "THz-1",
                "long_name": "partial phonon DOS per species",
                "normalisation": "∫ g_s dν = 3 N_s (N_s atoms of species s in the primitive cell); Σ_s g_s = g",
            },
        ),
        "n_atoms_species": ("species", n_s, {"units": units.DIMENSIONLESS, "long_name": "atoms per primitive cell"}),
        "band_frequency": (
            ("qpath", "mode"),
            r.band_frequencies,
            {"units": units.FREQUENCY, "long_name": "phonon frequency along the band path (negative: imaginary)"},
        ),
        "band_q": (
            ("qpath", "reduced"),
            r.band_qpoints,
            {"units": units.DIMENSIONLESS, "long_name": "q in reduced coordinates of the primitive reciprocal cell"},
        ),
        "band_segment": ("qpath", r.band_segment, {"units": units.DIMENSIONLESS, "long_name": "straight segment"}),
        "label_distance": (
            "label",
            r.band_label_distance,
            {"units": "angstrom-1", "long_name": "distance of the special points along the path (no 2π)"},
        ),
        "label_name": ("label", np.array(r.band_labels, dtype=str), {"units": units.DIMENSIONLESS}),
        "gamma_frequency": (
            "mode",
            r.gamma_frequencies_thz,
            {"units": units.FREQUENCY, "long_name": "frequencies at Γ (negative: imaginary)"},
        ),
        "gamma_energy": ("mode", r.gamma_frequencies_mev, {"units": units.ENERGY_MEV, "long_name": "hν at Γ"}),
        "cv": ("temperature", th["cv_kB_per_atom"], {"units": "k_B atom-1", "long_name": "harmonic C_v per atom"}),
        "entropy": ("temperature", th["s_kB_per_atom"], {"units": "k_B atom-1", "long_name": "harmonic S per atom"}),
        "free_energy": (
            "temperature",
            th["f_eV_per_atom"],
            {"units": "eV atom-1", "long_name": "harmonic F per atom (zero-point energy included)"},
        ),
        "internal_energy": (
            "temperature",
            th["u_eV_per_atom"],
            {"units": "eV atom-1", "long_name": "harmonic U = F + TS per atom"},
        ),
        "cv_fu": (
            "temperature",
            th["cv_J_per_K_mol_fu"],
            {"units": "J K-1 mol-1", "long_name": f"harmonic C_v per mole of formula units {r.formula}"},
        ),
        "entropy_fu": (
            "temperature",
            th["s_J_per_K_mol_fu"],
            {"units": "J K-1 mol-1", "long_name": f"harmonic S per mole of formula units {r.formula}"},
        ),
        "free_energy_fu": (
            "temperature",
            th["f_kJ_per_mol_fu"],
            {"units": "kJ mol-1", "long_name": f"harmonic F per mole of formula units {r.formula}"},
        ),
        "imaginary_frequency": (
            "imaginary_mode",
            np.array([m.frequency_thz for m in im], dtype=float),
            {"units": units.FREQUENCY, "long_name": "frequency of the imaginary mode (negative: imaginary)"},
        ),
        "imaginary_q": (
            ("imaginary_mode", "reduced"),
            np.array([m.q for m in im], dtype=float).reshape(-1, 3),
            {"units": units.DIMENSIONLESS, "long_name": "q of the imaginary mode (reduced)"},
        ),
        "imaginary_band": (
            "imaginary_mode",
            np.array([m.band for m in im], dtype=int),
            {"units": units.DIMENSIONLESS, "long_name": "band index (0 = lowest)"},
        ),
        "imaginary_where": (
            "imaginary_mode",
            np.array([m.where for m in im], dtype=str),
            {"units": units.DIMENSIONLESS, "long_name": "found at gamma, on the mesh or along the path"},
        ),
        "imaginary_eigenvector_real": (
            ("imaginary_mode", "atom", "xyz"),
            vec.real,
            {"units": units.DIMENSIONLESS, "long_name": "mass-weighted eigenvector, real part"},
        ),
        "imaginary_eigenvector_imag": (
            ("imaginary_mode", "atom", "xyz"),
            vec.imag,
            {"units": units.DIMENSIONLESS, "long_name": "mass-weighted eigenvector, imaginary part"},
        ),
        "gamma_eigenvector_real": (
            ("mode", "atom", "xyz"),
            r.gamma_eigenvectors.real,
            {"units": units.DIMENSIONLESS, "long_name": "mass-weighted eigenvector at Γ, real part"},
        ),
        "gamma_eigenvector_imag": (
            ("mode", "atom", "xyz"),
            r.gamma_eigenvectors.imag,
            {"units": units.DIMENSIONLESS, "long_name": "mass-weighted eigenvector at Γ, imaginary part"},
        ),
        "primitive_symbol": ("atom", np.array(r.primitive_symbols, dtype=str), {"units": units.DIMENSIONLESS}),
        "primitive_positions": (
            ("atom", "xyz"),
            np.asarray(r.phonopy.primitive.positions, dtype=float),
            {"units": units.LENGTH, "long_name": "positions of the primitive cell's atoms (eigenvector rows)"},
        ),
        "primitive_cell": (
            ("cell_vector", "xyz"),
            np.asarray(r.phonopy.primitive.cell, dtype=float),
            {"units": units.LENGTH, "long_name": "lattice vectors (rows) of the primitive cell"},
        ),
        "unit_cell_positions": (
            ("site", "xyz"),
            r.atoms.get_positions(),
            {"units": units.LENGTH, "long_name": "positions of the (relaxed) unit cell the supercells were built from"},
        ),
        "unit_cell_symbol": (
            "site",
            np.array(r.atoms.get_chemical_symbols(), dtype=str),
            {"units": units.DIMENSIONLESS},
        ),
        "unit_cell": (
            ("cell_vector", "xyz"),
            np.asarray(r.atoms.cell[:], dtype=float),
            {"units": units.LENGTH, "long_name": "lattice vectors (rows) of the unit cell"},
        ),
    }
    coords = {
        "frequency": ("frequency", r.dos_frequency, {"units": units.FREQUENCY}),
        "energy": ("frequency", r.dos_frequency * units.THZ_TO_MEV, {"units": units.ENERGY_MEV}),
        "species": ("species", np.array(species, dtype=str), {"units": units.DIMENSIONLESS}),
        "qpath": ("qpath", np.arange(len(r.band_distance)), {"units": units.DIMENSIONLESS}),
        "distance": ("qpath", r.band_distance, {"units": "angstrom-1", "long_name": "distance along the path (no 2π)"}),
        "mode": ("mode", np.arange(3 * n_prim), {"units": units.DIMENSIONLESS}),
        "temperature": ("temperature", r.temperatures, {"units": units.TEMPERATURE}),
        "imaginary_mode": ("imaginary_mode", np.arange(len(im)), {"units": units.DIMENSIONLESS}),
        "atom": ("atom", np.arange(n_prim), {"units": units.DIMENSIONLESS}),
        "reduced": ("reduced", np.array(["b1", "b2", "b3"]), {"units": units.DIMENSIONLESS}),
        "xyz": ("xyz", np.array(["x", "y", "z"]), {"units": units.DIMENSIONLESS}),
        "label": ("label", np.arange(len(r.band_labels)), {"units": units.DIMENSIONLESS}),
        "site": ("site", np.arange(len(r.atoms)), {"units": units.DIMENSIONLESS}),
        "cell_vector": ("cell_vector", np.array(["a", "b", "c"]), {"units": units.DIMENSIONLESS}),
    }
    attrs = {
        "title": "harmonic phonons (phonopy, finite displacements)",
        "formula": r.formula,
        "formula_units_per_primitive_cell": r.formula_units,
        "spacegroup": r.spacegroup,
        "symprec": r.symprec,
        "atoms_primitive": n_prim,
        "atoms_unit_cell": len(r.atoms),
        "supercell_matrix": r.supercell_matrix.ravel().tolist(),
        "displacement_angstrom": r.displacement,
        "n_displacements": r.n_displacements,
        "max_residual_force_eV_per_angstrom": r.max_residual_force,
        "mesh": list(r.mesh),
        "dos_method": "tetrahedron" if r.dos_sigma is None else f"Gaussian smearing sigma = {r.dos_sigma:g} THz",
        "band_path": r.band_path,
        "stable": bool(r.stable),
        "imaginary_threshold_THz": r.threshold_thz,
        "n_imaginary_modes": len(im),
        "dos_integral": r.dos_integral(),
        "dos_integral_expected": 3 * n_prim,
        "notes": list(r.notes),
        "conventions": "negative frequencies stand for imaginary ones; thermal properties with quantum statistics "
        "over the modes with ν > 0 (phonopy), per atom in k_B and eV, per formula unit in J/K/mol and kJ/mol",
    }
    try:
        from phonopy import __version__ as phonopy_version

        attrs["phonopy_version"] = phonopy_version
    except ImportError:  # pragma: no cover
        pass
    return xr.Dataset(data, coords=coords, attrs=attrs)


def write_phonons(result: HarmonicResult, path: Any, **attrs: Any) -> Any:
    """Write `harmonic_dataset(result)` to netCDF atomically (`superionic.results.save_dataset`); extra
    `attrs` (e.g. the potential's identity) join the global attributes. Returns the path.
    """
    ds = harmonic_dataset(result)
    ds.attrs.update(attrs)
    return save_dataset(ds, path)


def harmonic_vdos(ds: xr.Dataset) -> xr.Dataset:
    """The harmonic partial DOS of a phonons dataset in the normalisation of `superionic.analysis.vdos`:
    g per species with ∫g dν = 1 over ν ≥ 0 (imaginary modes, ν < 0, left out), and g_total = Σ c_s g_s.
    """
    pos = ds.frequency.values >= 0
    nu = ds.frequency.values[pos]
    g = ds.pdos.values[:, pos]
    norm = trapezoid(g, nu, axis=1)
    g = g / np.where(norm > 0, norm, 1.0)[:, None]
    frac = ds.n_atoms_species.values / ds.n_atoms_species.values.sum()
    return xr.Dataset(
        {
            "g": (("species", "frequency"), g, {"units": "THz-1", "normalisation": "∫ g dν = 1 per species"}),
            "g_total": ("frequency", frac @ g, {"units": "THz-1", "normalisation": "∫ g dν = 1"}),
            "atom_fraction": ("species", frac, {"units": units.DIMENSIONLESS}),
        },
        coords={
            "species": ds.species.values,
            "frequency": ("frequency", nu, {"units": units.FREQUENCY}),
            "energy": ("frequency", nu * units.THZ_TO_MEV, {"units": units.ENERGY_MEV}),
        },
        attrs={"title": "harmonic DOS normalised like the MD VDOS"},
    )
