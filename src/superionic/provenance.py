"""Versions and run provenance recorded in every result."""

from __future__ import annotations

import os
import platform
import socket
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


def ran_on() -> dict[str, str]:
    """Where this process runs: the host name and, inside a SLURM job, the job id and node name."""
    out = {"host": socket.gethostname()}
    for key, var in (("slurm_job", "SLURM_JOB_ID"), ("slurm_node", "SLURMD_NODENAME")):
        if os.environ.get(var):
            out[key] = os.environ[var]
    return out
