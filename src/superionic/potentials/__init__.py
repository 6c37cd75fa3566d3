"""Interatomic potentials: a registry of ASE calculators with recorded identity."""

from .registry import DEFAULT_POTENTIAL, REGISTRY, PotentialSpec, get_potential, make_calculator

__all__ = ["DEFAULT_POTENTIAL", "REGISTRY", "PotentialSpec", "get_potential", "make_calculator"]
