"""superionic: machine-learned MD and neutron-comparable analysis of solid-state electrolytes."""

__version__ = "0.1.0"

from .errors import InputError, SuperionicError  # noqa: E402
from .trajectory import Trajectory, read_trajectory, write_h5md  # noqa: E402

__all__ = ["__version__", "Trajectory", "read_trajectory", "write_h5md", "InputError", "SuperionicError"]
