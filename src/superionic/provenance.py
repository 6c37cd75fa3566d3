"""Versions and run provenance recorded in every result."""

from __future__ import annotations

import platform
from importlib import metadata


def versions() -> dict[str, str]:
    """Versions of superionic, Python and the key dependencies (those installed)."""
    out = {"python": platform.python_version()}
    for pkg in ("superionic", "numpy", "scipy", "ase", "h5py", "xarray", "torch", "chgnet", "matplotlib"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    return out
