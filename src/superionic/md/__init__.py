"""Molecular dynamics protocols (ASE engine), phonon suppression, checkpoints, guards, ladders."""

from .constraints import HarmonicTether, RigidUnits
from .dynamics import THERMOSTATS, minimise, npt_equilibrate
from .engine import ENGINES, run_md
from .equilibration import detect_equilibration, equilibration_report
from .guards import MDExplodedError
from .host_reference import reference_from_trajectory
from .ladder import run_ladder, run_stiffness_scan
from .protocols import PROTOCOLS, apply_protocol
from .run import run_nvt
from .run_folder import read_thermo
from .settings import MDSettings

__all__ = [
    "MDSettings",
    "run_nvt",
    "run_md",
    "ENGINES",
    "run_ladder",
    "run_stiffness_scan",
    "read_thermo",
    "MDExplodedError",
    "PROTOCOLS",
    "THERMOSTATS",
    "apply_protocol",
    "reference_from_trajectory",
    "HarmonicTether",
    "RigidUnits",
    "minimise",
    "npt_equilibrate",
    "detect_equilibration",
    "equilibration_report",
]
