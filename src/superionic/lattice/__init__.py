"""Lattice dynamics: the harmonic reference of any potential (phonopy finite displacements).

See docs/phonons.md for the conventions (units, DOS normalisation, imaginary modes).
"""

from .harmonic import (
    IMAGINARY_THRESHOLD_THZ,
    MIN_SUPERCELL_LENGTH,
    HarmonicResult,
    ImaginaryMode,
    auto_supercell,
    harmonic_dataset,
    harmonic_phonons,
    harmonic_vdos,
    relax,
    supercell_matrix,
    write_phonons,
)

__all__ = [
    "IMAGINARY_THRESHOLD_THZ",
    "MIN_SUPERCELL_LENGTH",
    "HarmonicResult",
    "ImaginaryMode",
    "auto_supercell",
    "harmonic_dataset",
    "harmonic_phonons",
    "harmonic_vdos",
    "relax",
    "supercell_matrix",
    "write_phonons",
]
