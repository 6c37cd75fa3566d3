"""Interatomic potentials: a registry of ASE calculators with recorded identity."""

from .registry import (
    DEFAULT_POTENTIAL,
    REGISTRY,
    PotentialSpec,
    from_calculator,
    from_model_file,
    get_potential,
    list_potentials,
    make_calculator,
)

__all__ = [
    "DEFAULT_POTENTIAL",
    "REGISTRY",
    "PotentialSpec",
    "get_potential",
    "make_calculator",
    "list_potentials",
    "from_calculator",
    "from_model_file",
]
