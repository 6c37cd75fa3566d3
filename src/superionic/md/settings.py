"""The settings of one MD run (`MDSettings`) and which of them make two runs differ (`differing_settings`)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from .dynamics import THERMOSTATS
from .host_reference import HOST_REFERENCES
from .protocols import PROTOCOLS


@dataclass
class MDSettings:
    """Settings of one run (ASE units: K, fs, eV, Å)."""

    temperature: float  # K
    steps: int  # production steps
    dt: float = 2.0  # fs, integration step
    stride: int = 5  # write every `stride` steps
    friction: float = 0.01  # 1/fs, Langevin friction during equilibration
    production_friction: float = 0.001  # 1/fs, Langevin friction during production (weak: natural dynamics)
    equilibration_steps: int = 0
    seed: int = 0
    chunk: int = 64  # frames per H5MD chunk (and per checkpoint)
    max_temperature_factor: float = 5.0  # guard: stop if T exceeds this × target
    metadata: dict[str, Any] = field(default_factory=dict)
    thermostat: str = "langevin"  # production thermostat: langevin | bussi | nose-hoover | nve
    tau: float = 100.0  # fs, coupling time of bussi / nose-hoover
    protocol: str = "free"  # free | frozen-host | tethered | rigid-anions
    reference: str | None = None  # free-run folder or trajectory.h5 (frozen-host, tethered)
    host_reference: str = "mean"  # host positions from that run: mean | snapshot | quenched | auto
    # where in that run (fraction of its frames; 1: its last frame) the mobile ions start and a snapshot or quenched
    # host is taken: a study's host_samples spread several frozen hosts over the run
    host_time: float = 1.0
    tether_stiffness: float = 1.0  # eV/Å², tethered protocol
    mobile: list[str] | None = None  # mobile species (default: Li, else Na, Ag, …)
    rigid_centre: str = "P"  # rigid-anions: unit centre species
    rigid_ligand: str = "S"  # rigid-anions: ligand species
    rigid_cutoff: float = 2.5  # Å, centre–ligand bond cutoff
    minimise_steps: int = 0  # FIRE steps before MD (0: none)
    minimise_fmax: float = 0.05  # eV/Å
    npt_steps: int = 0  # isotropic NPT steps before NVT equilibration (free runs only)
    pressure: float = 0.0  # GPa, NPT
    max_energy_rise: float = 1.0  # eV/atom, guard on E_pot above its production-start value
    min_distance: float = 0.6  # Å, guard on the closest pair
    fix_com: bool = True  # hold the centre of mass (free and rigid-anions runs)

    def validate(self) -> None:
        """InputError naming the first out-of-range or inconsistent setting (temperature, steps, dt, protocol …)."""
        if not (isinstance(self.temperature, (int, float)) and np.isfinite(self.temperature) and self.temperature > 0):
            raise InputError(f"temperature must be > 0 K, got {self.temperature}")
        if int(self.steps) < 1 or int(self.stride) < 1 or int(self.chunk) < 1:
            raise InputError("steps, stride and chunk must be positive integers")
        if self.equilibration_steps < 0 or self.minimise_steps < 0 or self.npt_steps < 0:
            raise InputError("equilibration, minimisation and NPT step counts must be ≥ 0")
        if not 0 < self.dt <= 10:
            raise InputError(f"time step {self.dt} fs is outside (0, 10] fs")
        if self.friction < 0 or self.production_friction < 0 or self.tau <= 0:
            raise InputError("friction must be ≥ 0 (1/fs) and tau > 0 (fs)")
        if self.thermostat not in THERMOSTATS:
            raise InputError(f"unknown thermostat {self.thermostat!r}; choose one of {', '.join(THERMOSTATS)}")
        if self.protocol not in PROTOCOLS:
            raise InputError(f"unknown protocol {self.protocol!r}; choose one of {', '.join(PROTOCOLS)}")
        if self.host_reference not in HOST_REFERENCES:
            raise InputError(
                f"unknown host reference {self.host_reference!r}; choose one of {', '.join(HOST_REFERENCES)}"
            )
        if self.host_reference != "mean" and self.protocol not in ("frozen-host", "tethered"):
            raise InputError(
                f"host_reference {self.host_reference!r} applies to the frozen-host and tethered "
                f"protocols, not to {self.protocol}"
            )
        if not 0.0 < self.host_time <= 1.0:
            raise InputError(f"host_time is a fraction of the reference run in (0, 1], got {self.host_time}")
        if self.host_time != 1.0 and self.protocol not in ("frozen-host", "tethered"):
            raise InputError(f"host_time applies to the frozen-host and tethered protocols, not to {self.protocol}")
        if self.protocol == "tethered" and not self.tether_stiffness >= 0:
            raise InputError(f"tether stiffness must be ≥ 0 eV/Å², got {self.tether_stiffness}")
        if self.npt_steps and self.protocol != "free":
            raise InputError("NPT equilibration is for free runs; suppressed runs reuse the free run's cell")

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MDSettings:
        """Rebuild from run.json's settings (unknown keys are ignored, missing ones take defaults)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


def _fmt_setting(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, list):
        return ",".join(_fmt_setting(x) for x in v)
    return str(v)


def _reference_of(settings: MDSettings) -> str | None:
    """The free run a suppressed run took its host from (the LAMMPS engine keeps it in the metadata)."""
    ref = settings.reference or (settings.metadata.get("host_reference") or {}).get("reference")
    if ref is None:
        return None
    ref = Path(os.path.realpath(str(ref)))
    return str(ref.parent if ref.name == "trajectory.h5" else ref)  # a run folder or its trajectory


def differing_settings(
    info: dict,
    settings: MDSettings,
    potential: dict | None = None,
    engine: str | None = None,
    *,
    ignore: tuple[str, ...] = (),
) -> list[str]:
    """The settings that determine a trajectory and differ between a stored run (its run.json `info`) and
    `settings`, as 'name old → new' (only those that apply: tau with Bussi/Nosé–Hoover, the stiffness
    with a tethered host …); `potential` (its name) and `engine` are compared when given.
    """
    try:
        old = MDSettings.from_dict(info.get("settings") or {})
    except (TypeError, ValueError):
        return ["settings (run.json unreadable)"]
    new = settings
    names = [
        "temperature",
        "steps",
        "dt",
        "stride",
        "equilibration_steps",
        "seed",
        "thermostat",
        "protocol",
        "minimise_steps",
        "npt_steps",
        "fix_com",
    ]
    if new.equilibration_steps:
        names.append("friction")
    if new.thermostat == "langevin":
        names.append("production_friction")
    if new.thermostat in ("bussi", "nose-hoover") or new.npt_steps:
        names.append("tau")
    if new.minimise_steps:
        names.append("minimise_fmax")
    if new.npt_steps:
        names.append("pressure")
    if new.protocol in ("frozen-host", "tethered"):
        names += ["host_reference", "reference", "host_time"]
    if new.protocol == "tethered":
        names.append("tether_stiffness")
    if new.protocol == "rigid-anions":
        names += ["rigid_centre", "rigid_ligand", "rigid_cutoff"]
    if new.protocol != "free" and old.mobile is not None and new.mobile is not None:
        names.append("mobile")
    out = []
    for name in names:
        if name in ignore:
            continue
        a, b = (
            (_reference_of(old), _reference_of(new))
            if name == "reference"
            else (getattr(old, name), getattr(new, name))
        )
        if a != b and not (isinstance(a, (int, float)) and isinstance(b, (int, float)) and float(a) == float(b)):
            out.append(f"{name} {_fmt_setting(a)} → {_fmt_setting(b)}")
    for key in ("material", "supercell"):
        a, b = old.metadata.get(key), new.metadata.get(key)
        if key not in ignore and a is not None and b is not None and str(a) != str(b):
            out.append(f"{key} {a} → {b}")
    a, b = (info.get("potential") or {}).get("name"), (potential or {}).get("name")
    if "potential" not in ignore and a and b and a != b:
        out.append(f"potential {a} → {b}")
    elif "potential" not in ignore:
        out += potential_version_changes(info.get("potential"), potential)
    a = info.get("engine", "ase")
    if "engine" not in ignore and engine and a != engine:
        out.append(f"engine {a} → {engine}")
    return out


def potential_version_changes(recorded: dict | None, current: dict | None) -> list[str]:
    """'potential version a → b' (and model file SHA-256) where a run's recorded potential identity and the
    current one of the same name both state it and differ: the same name, another model.
    """
    out = []
    for key in ("version", "model_sha256"):
        a, b = (recorded or {}).get(key), (current or {}).get(key)
        if a and b and str(a) != str(b):
            out.append(f"potential {key.replace('_', ' ')} {str(a)[:12]} → {str(b)[:12]}")
    return out


def _use_fixcom(settings: MDSettings) -> bool:
    """Hold the centre of mass with FixCom in free / rigid-anion runs (host springs or fixed atoms pin it
    otherwise). Not with Nosé–Hoover: ASE's chain ignores constraints; its deterministic dynamics keeps
    the zero total momentum set at the start anyway.
    """
    return settings.fix_com and settings.protocol in ("free", "rigid-anions") and settings.thermostat != "nose-hoover"
