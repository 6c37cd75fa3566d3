"""What a harmonic calculation found: the result of `harmonic_phonons` and its imaginary (unstable) modes.

Conventions (docs/phonons.md):

* frequencies ν in THz (E = hν in meV alongside); an imaginary frequency iν is stored as −ν (phonopy's
  convention), and every mode with ν < −`threshold` is listed in `HarmonicResult.imaginary_modes` with its q
  and eigenvector: an unstable structure is reported, never smoothed over;
* q in reduced coordinates of the reciprocal lattice of phonopy's primitive cell (no 2π);
* thermal properties of the harmonic crystal (quantum statistics, modes with ν > 0 only) per atom in units
  of k_B (C_v, S), eV (F, U) and per formula unit in J/K/mol (C_v, S) and kJ/mol (F, U).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from ase import Atoms
from scipy.integrate import trapezoid

from .. import units

#: a mode is imaginary (unstable) when ν < −IMAGINARY_THRESHOLD_THZ, after the acoustic sum rule is imposed
IMAGINARY_THRESHOLD_THZ = 0.05


@dataclass
class ImaginaryMode:
    """One mode with ν < −threshold: where it was found, its q (reduced), its frequency (negative: imaginary,
    THz) and its eigenvector (complex, one row per atom of the primitive cell, mass-weighted, unit norm).
    """

    where: str  # "gamma", "mesh" or "path"
    q: np.ndarray
    band: int
    frequency_thz: float
    eigenvector: np.ndarray

    @property
    def frequency_mev(self) -> float:
        """The frequency as an energy hν in meV (negative: imaginary)."""
        return self.frequency_thz * units.THZ_TO_MEV

    def as_dict(self, eigenvector: bool = True) -> dict[str, Any]:
        """JSON-ready: q, band, frequency (THz, meV) and the eigenvector as [[re, im] × 3] per atom."""
        out: dict[str, Any] = {
            "where": self.where,
            "q": [float(x) for x in self.q],
            "band": int(self.band),
            "frequency_THz": float(self.frequency_thz),
            "frequency_meV": float(self.frequency_mev),
        }
        if eigenvector:
            out["eigenvector"] = [[[float(c.real), float(c.imag)] for c in row] for row in self.eigenvector]
        return out


@dataclass
class HarmonicResult:
    """What `harmonic_phonons` computed. `phonopy` is the Phonopy object (force constants set, mesh run), for
    anything not kept here.
    """

    phonopy: Any
    atoms: Atoms  # the unit cell the supercells were built from
    supercell_matrix: np.ndarray
    displacement: float
    n_displacements: int
    primitive_symbols: list[str]
    formula: str  # reduced formula of the primitive cell (the formula unit)
    formula_units: int  # formula units per primitive cell
    gamma_frequencies_thz: np.ndarray
    gamma_eigenvectors: np.ndarray  # (modes, atoms, 3) complex
    mesh: tuple[int, int, int]
    dos_sigma: float | None  # Gaussian smearing of the DOS (THz); None: tetrahedron method
    dos_frequency: np.ndarray
    dos: np.ndarray
    pdos: dict[str, np.ndarray]
    band_distance: np.ndarray
    band_frequencies: np.ndarray  # (points, modes)
    band_qpoints: np.ndarray
    band_segment: np.ndarray  # index of the straight segment each point lies on
    band_labels: list[str]
    band_path: str  # 'ΓXWKΓLUWLK|UX': '|' marks a jump
    band_label_distance: np.ndarray
    temperatures: np.ndarray
    heat_capacity: np.ndarray  # J/K/mol of primitive cells (phonopy)
    entropy: np.ndarray  # J/K/mol of primitive cells
    free_energy: np.ndarray  # kJ/mol of primitive cells
    imaginary_modes: list[ImaginaryMode]
    threshold_thz: float
    max_residual_force: float  # eV/Å, on the undisplaced supercell
    mesh_min_frequency_thz: float
    path_min_frequency_thz: float
    spacegroup: str
    symprec: float
    seconds: float
    notes: list[str] = field(default_factory=list)

    @property
    def stable(self) -> bool:
        """No mode below −threshold at Γ, on the mesh or along the band path."""
        return not self.imaginary_modes

    @property
    def n_primitive(self) -> int:
        """Atoms in the primitive cell (3 × this = modes per q)."""
        return len(self.primitive_symbols)

    @property
    def gamma_frequencies_mev(self) -> np.ndarray:
        """Γ frequencies as energies hν in meV."""
        return self.gamma_frequencies_thz * units.THZ_TO_MEV

    @property
    def species(self) -> list[str]:
        """Species of the primitive cell in order of first appearance."""
        return list(dict.fromkeys(self.primitive_symbols))

    def species_count(self, s: str) -> int:
        """Atoms of species `s` in the primitive cell."""
        return self.primitive_symbols.count(s)

    def dos_integral(self) -> float:
        """∫g dν (trapezoid on the stored grid); 3N for a complete frequency range."""
        return float(trapezoid(self.dos, self.dos_frequency))

    def listed_imaginary_modes(self, max_modes: int = 20) -> list[ImaginaryMode]:
        """The imaginary modes at Γ, then the lowest mode of each other q-point (mesh, then path points not on
        the mesh), most negative first; `max_modes` at most.
        """
        gamma = sorted((m for m in self.imaginary_modes if m.where == "gamma"), key=lambda m: m.frequency_thz)
        lowest: dict[tuple[int, int, int], ImaginaryMode] = {}
        for m in self.imaginary_modes:
            if m.where == "gamma":
                continue
            key = _q_keys(m.q)[0]
            if key not in lowest or m.frequency_thz < lowest[key].frequency_thz:
                lowest[key] = m
        return (gamma + sorted(lowest.values(), key=lambda m: m.frequency_thz))[:max_modes]

    # thermal properties in the stated units -------------------------------------------------------
    def _per_atom(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(x) / self.n_primitive

    @property
    def atoms_per_formula_unit(self) -> int:
        """Atoms in one formula unit (of `formula`)."""
        return self.n_primitive // self.formula_units

    def thermal(self) -> dict[str, np.ndarray]:
        """C_v, S (per atom in k_B; per formula unit in J/K/mol), F and U = F + TS (per atom in eV; per
        formula unit in kJ/mol), with T in K.
        """
        T = self.temperatures
        fu = self.n_primitive / self.formula_units
        cv = self.heat_capacity / self.n_primitive
        s = self.entropy / self.n_primitive
        f = self.free_energy / self.n_primitive
        u = f + T * s / 1e3
        return {
            "temperature": T,
            "cv_kB_per_atom": cv / units.R_J_PER_MOL_K,
            "s_kB_per_atom": s / units.R_J_PER_MOL_K,
            "f_eV_per_atom": f / units.EV_TO_KJ_PER_MOL,
            "u_eV_per_atom": u / units.EV_TO_KJ_PER_MOL,
            "cv_J_per_K_mol_fu": cv * fu,
            "s_J_per_K_mol_fu": s * fu,
            "f_kJ_per_mol_fu": f * fu,
            "u_kJ_per_mol_fu": u * fu,
        }

    def summary(self, max_modes: int = 20) -> dict[str, Any]:
        """JSON-ready summary: cell, supercell, Γ frequencies, DOS integral, stability and the imaginary modes.

        ``imaginary_by_source``: per place searched (gamma, mesh, path) the number of imaginary modes and of
        q-points, and the lowest mode with its q. ``imaginary_modes`` (with eigenvectors): the imaginary modes
        at Γ, then the lowest one of each other q-point, most negative first, `max_modes` at most; every one
        of them is in the netCDF file (`harmonic_dataset`).
        """
        th = self.thermal()
        at = {}
        for target in (300.0,):
            if th["temperature"].size and th["temperature"].min() <= target <= th["temperature"].max():
                at[f"{target:g} K"] = {
                    k: float(np.interp(target, th["temperature"], v)) for k, v in th.items() if k != "temperature"
                }
        modes = self.listed_imaginary_modes(max_modes)
        by_source = {}
        for where in ("gamma", "mesh", "path"):
            ms = [m for m in self.imaginary_modes if m.where == where]
            if ms:
                low = min(ms, key=lambda m: m.frequency_thz)
                by_source[where] = {
                    "n_modes": len(ms),
                    "n_q": len(set(_q_keys(np.array([m.q for m in ms])))),
                    "lowest_THz": low.frequency_thz,
                    "lowest_q": [float(x) for x in low.q],
                }
        return {
            "formula": self.formula,
            "spacegroup": self.spacegroup,
            "atoms_unit_cell": len(self.atoms),
            "atoms_primitive": self.n_primitive,
            "supercell_matrix": self.supercell_matrix.tolist(),
            "atoms_supercell": int(round(len(self.atoms) * abs(np.linalg.det(self.supercell_matrix)))),
            "displacement_A": self.displacement,
            "n_displacements": self.n_displacements,
            "max_residual_force_eV_per_A": self.max_residual_force,
            "mesh": list(self.mesh),
            "dos_sigma_THz": self.dos_sigma,
            "gamma_frequencies_THz": self.gamma_frequencies_thz.tolist(),
            "gamma_frequencies_meV": self.gamma_frequencies_mev.tolist(),
            "max_frequency_THz": float(np.max(self.band_frequencies, initial=np.max(self.gamma_frequencies_thz))),
            "dos_integral": self.dos_integral(),
            "dos_integral_expected": 3 * self.n_primitive,
            "stable": self.stable,
            "threshold_THz": self.threshold_thz,
            "n_imaginary_modes": len(self.imaginary_modes),
            "mesh_min_frequency_THz": self.mesh_min_frequency_thz,
            "path_min_frequency_THz": self.path_min_frequency_thz,
            "imaginary_by_source": by_source,
            "imaginary_modes": [m.as_dict() for m in modes],
            "imaginary_modes_listed": len(modes),
            "band_path": self.band_path,
            "thermal": at,
            "seconds": self.seconds,
            "notes": list(self.notes),
        }


# --------------------------------------------------------------------------- helpers on modes
def _modes_below(where, qpoints, freqs, eigvecs, threshold, n_atoms) -> list[ImaginaryMode]:
    out = []
    for iq, ib in zip(*np.nonzero(freqs < -threshold)):
        vec = np.asarray(eigvecs[iq][:, ib]).reshape(n_atoms, 3)
        out.append(ImaginaryMode(where, np.array(qpoints[iq], dtype=float), int(ib), float(freqs[iq, ib]), vec))
    return out


def _q_keys(qpoints: np.ndarray) -> list[tuple[int, int, int]]:
    """Hashable keys of q-points equal modulo a reciprocal lattice vector (to 1e-6)."""
    q = np.asarray(qpoints, dtype=float).reshape(-1, 3)
    k = np.round((q - np.floor(q + 1e-7)) * 1e6).astype(np.int64) % 1_000_000
    return [tuple(int(x) for x in row) for row in k]  # type: ignore[misc]
