"""Trajectory model, H5MD store, readers for everything ASE reads, unwrapping."""

from .h5md import H5MDInfo, H5MDWriter, iter_h5md, read_h5md, write_h5md
from .io import iter_trajectory, read_trajectory
from .model import Trajectory
from .unwrap import unwrap_positions

__all__ = [
    "Trajectory",
    "H5MDWriter",
    "H5MDInfo",
    "read_h5md",
    "iter_h5md",
    "write_h5md",
    "read_trajectory",
    "iter_trajectory",
    "unwrap_positions",
]
