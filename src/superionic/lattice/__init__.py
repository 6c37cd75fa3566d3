"""Lattice dynamics: the harmonic reference of any potential (phonopy finite displacements).

`harmonic` computes (relaxation, supercells, `harmonic_phonons`), `modes` holds what it found
(`HarmonicResult`, `ImaginaryMode`), `phonon_dataset` writes it out (netCDF with units, the VDOS convention).
See docs/phonons.md for the conventions (units, DOS normalisation, imaginary modes).
"""

from .harmonic import MIN_SUPERCELL_LENGTH, auto_supercell, harmonic_phonons, relax, supercell_matrix
from .modes import IMAGINARY_THRESHOLD_THZ, HarmonicResult, ImaginaryMode
from .phonon_dataset import harmonic_dataset, harmonic_vdos, write_phonons

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
