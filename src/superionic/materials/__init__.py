"""Structure library: named solid-state electrolytes, supercells."""

from .library import MATERIALS, build_material

__all__ = ["MATERIALS", "build_material"]
