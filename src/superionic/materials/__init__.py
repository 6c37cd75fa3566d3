"""Structure library: named solid-state electrolytes, disorder, CIF import, supercells, defects, checks."""

from .checks import check_structure, formal_charge, host_spacegroup
from .defects import substitute, vacancies
from .library import ALIASES, LIBRARY, MATERIALS, build_material, check_material, parse_supercell, supercell_for_size

__all__ = [
    "MATERIALS",
    "LIBRARY",
    "ALIASES",
    "build_material",
    "check_material",
    "check_structure",
    "formal_charge",
    "host_spacegroup",
    "parse_supercell",
    "supercell_for_size",
    "substitute",
    "vacancies",
]
