"""NVT molecular dynamics through ASE: protocols, H5MD output, checkpoints, guards.

A run folder holds

* ``trajectory.h5`` – H5MD, positions + velocities + cell every `stride` steps (float32), flushed every
  `chunk` frames, written in SWMR mode (a killed writer leaves a file that still opens);
* ``checkpoint.npz`` – exact state at the step of the next frame to write, with the number of frames
  already flushed and the random-stream state (see `checkpoint`);
* ``thermo.csv`` – step, time, T, E_pot, E_kin, conserved energy for every written frame;
* ``protocol.npz`` – the suppression protocol's fixed data (reference positions, rigid units), so a
  resume does not need the reference run;
* ``run.json`` – settings, potential identity and version, protocol description ("what was
  suppressed"), equilibration diagnostics, status (running / done / exploded).

Order of a run: [minimise] → Maxwell–Boltzmann velocities → [NPT, free runs only] → protocol →
equilibration (Langevin, `friction`, guarded, drift diagnostics) → production (`thermostat`, written).
`resume=True` continues a killed run from its checkpoint with no frame lost or duplicated and the same
random stream; without a checkpoint it restarts from scratch (deterministic for a given seed).

A run folder is never replaced silently (`check_run_folder`): a finished run with the same settings is
kept, one with other settings is refused unless `overwrite=True`, an unfinished run with a checkpoint is
refused unless resumed (with the settings it was started with) or overwritten. The folder is locked
(`lock.folder_lock`) for the whole run, so two processes never write one folder.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms

from ..errors import InputError
from ..results import atomic_text, atomic_write, write_json
from ..trajectory.h5md import H5MDWriter
from .checkpoint import load_checkpoint, restore_state, save_checkpoint, truncate_h5md
from .dynamics import (
    THERMOSTATS,
    conserved_energy,
    make_dynamics,
    minimise,
    npt_equilibrate,
    set_thermostat_state,
    thermostat_state,
)
from .equilibration import equilibration_report
from .guards import MDExplodedError, check_state
from .lock import LOCK_NAME, folder_lock
from .protocols import HOST_REFERENCES, PROTOCOLS, apply_protocol, reference_from_trajectory

THERMO_HEADER = "step,time_fs,temperature_K,epot_eV,ekin_eV,conserved_eV\n"


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
        if self.protocol == "tethered" and not self.tether_stiffness >= 0:
            raise InputError(f"tether stiffness must be ≥ 0 eV/Å², got {self.tether_stiffness}")
        if self.npt_steps and self.protocol != "free":
            raise InputError("NPT equilibration is for free runs; suppressed runs reuse the free run's cell")

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MDSettings:
        """Rebuild from run.json's settings (unknown keys are ignored, missing ones take defaults)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


def _atomic_json(path: Path, obj: dict) -> None:
    write_json(path, obj, durable=True)  # the run record: temporary file, fsync, rename (superionic.results)


def _thermo_row(step: int, dt: float, atoms: Atoms, dyn) -> str:
    epot = float(atoms.get_potential_energy())
    ekin = float(atoms.get_kinetic_energy())
    return (
        f"{step},{step * dt:.6f},{atoms.get_temperature():.6f},{epot:.10f},{ekin:.10f},"
        f"{conserved_energy(dyn, atoms):.10f}\n"
    )


def _truncate_thermo(path: Path, before_step: int) -> None:
    if not path.exists():
        path.write_text(THERMO_HEADER)
        return
    lines = path.read_text().splitlines(keepends=True)
    keep = [THERMO_HEADER] + [
        ln
        for ln in lines[1:]
        if ln.endswith("\n") and ln.split(",")[0].isdigit() and int(ln.split(",")[0]) < before_step
    ]
    atomic_text(path, "".join(keep), durable=True)


def read_thermo(run_dir: str | Path) -> dict[str, np.ndarray]:
    """thermo.csv of a run folder as arrays (step, time_fs, temperature_K, epot_eV, ekin_eV, conserved_eV)."""
    data = np.loadtxt(Path(run_dir) / "thermo.csv", delimiter=",", skiprows=1, ndmin=2)
    names = THERMO_HEADER.strip().split(",")
    return {n: data[:, i] for i, n in enumerate(names)}


#: what a run writes into its folder: what `clear_run` removes and `move_run_aside` moves
RUN_FILES = ("trajectory.h5", "checkpoint.npz", "thermo.csv", "protocol.npz", "run.json", "equilibration.csv")
_TEMP_FILES = ("*.part", "*.part.npz", "*.trunc")


def read_run_info(run_dir: str | Path) -> dict | None:
    """run.json of a run folder, or None when there is none."""
    path = Path(run_dir) / "run.json"
    if not path.exists():
        return None
    try:
        info = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise InputError(f"{path} is unreadable ({err}); move the folder away or pass --overwrite") from None
    if not isinstance(info, dict):
        raise InputError(f"{path} is not a run description; move the folder away or pass --overwrite")
    return info


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
        names += ["host_reference", "reference"]
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
    a = info.get("engine", "ase")
    if "engine" not in ignore and engine and a != engine:
        out.append(f"engine {a} → {engine}")
    return out


def check_run_folder(
    out_dir: str | Path,
    settings: MDSettings,
    *,
    potential: dict | None = None,
    engine: str | None = None,
    resume: bool = False,
    overwrite: bool = False,
) -> str:
    """What a run into `out_dir` does with what is already there (call it holding the folder's lock):

    * "new": nothing to keep (no run, a run killed before its first checkpoint, or one stopped by a guard);
    * "keep": a finished run with the same settings (`differing_settings`): nothing to do;
    * "resume": an unfinished run with a checkpoint, `resume` asked and the same settings;
    * "overwrite": `overwrite` asked and a run is there: the caller clears it (`clear_run`).

    Raises InputError (one line, with the fix) for a finished run with other settings, an unfinished run
    that is not resumed, a resume with other settings than the stored run's, and a trajectory.h5 without
    a run.json.
    """
    out = Path(out_dir)
    if not (out / "run.json").exists():
        if (out / "trajectory.h5").exists() and not overwrite:
            raise InputError(
                f"{out} holds a trajectory.h5 that no run.json describes: pass --overwrite to replace "
                "it, or choose another folder (--out)"
            )
        return "overwrite" if overwrite and (out / "trajectory.h5").exists() else "new"
    if overwrite:
        return "overwrite"
    info = read_run_info(out)
    status = info.get("status")
    traj, ckpt = out / "trajectory.h5", out / "checkpoint.npz"
    # a resumed run keeps its protocol.npz, so the reference run's path may have moved since
    diffs = differing_settings(info, settings, potential, engine, ignore=("reference",) if resume else ())
    what = "; ".join(diffs)
    if status == "done" and traj.exists():
        if not diffs:
            return "keep"
        if resume:
            raise InputError(
                f"{out} holds a finished run with other settings ({what}); a resume continues a run "
                "as it was started and a finished run is not extended: start a new run in another "
                "folder (--out)"
            )
        raise InputError(
            f"{out} holds a finished run with other settings ({what}): pass --overwrite to replace "
            "it, or choose another folder (--out)"
        )
    if status == "exploded" and not resume:
        return "new"  # a guard stopped it: nothing to analyse or continue
    if ckpt.exists() and traj.exists():
        if resume:
            if diffs:
                raise InputError(
                    f"{out}: the unfinished run there was started with other settings ({what}); "
                    "resume it as it was started, or pass --overwrite to start afresh"
                )
            return "resume"
        try:
            at = f" at step {load_checkpoint(ckpt)['step']} of {info.get('settings', {}).get('steps', '?')}"
        except InputError:
            at = ""
        raise InputError(
            f"{out} holds an unfinished run (checkpoint{at}): continue it with --resume {out}, or "
            "pass --overwrite to start afresh"
        )
    return "new"


def clear_run(run_dir: str | Path) -> None:
    """Remove the files a run wrote (RUN_FILES and temporary files); other files and the lock stay."""
    run_dir = Path(run_dir)
    for name in RUN_FILES:
        (run_dir / name).unlink(missing_ok=True)
    for pattern in _TEMP_FILES:
        for p in run_dir.glob(pattern):
            p.unlink(missing_ok=True)


def move_run_aside(run_dir: str | Path, dest: str | Path) -> Path:
    """Move everything in `run_dir` but its lock file into the new folder `dest` (nothing is deleted)."""
    run_dir, dest = Path(run_dir), Path(dest)
    dest.mkdir(parents=True, exist_ok=False)
    for p in sorted(run_dir.iterdir()):
        if p.name != LOCK_NAME:
            os.replace(p, dest / p.name)
    return dest


def run_nvt(
    atoms: Atoms,
    calculator,
    settings: MDSettings,
    out_dir: str | Path,
    *,
    potential: dict | None = None,
    resume: bool = False,
    progress: Callable[[int, int, float], None] | None = None,
    reference: dict[str, Any] | None = None,
    overwrite: bool = False,
) -> Path:
    """Run [minimise, NPT,] equilibration and production MD under `settings.protocol`; return trajectory path.

    progress(step, total, temperature) is called at every checkpoint. `reference` (from
    `protocols.reference_from_trajectory`) overrides `settings.reference` for suppressed protocols.
    Raises MDExplodedError (and records status "exploded" in run.json) if a guard trips. What is already
    in `out_dir` is kept, resumed, refused or (`overwrite`) replaced as `check_run_folder` says; the folder
    is locked while the run lasts (`lock.FolderLockedError` when another process holds it).
    """
    settings.validate()
    out = Path(out_dir)
    with folder_lock(out, "superionic MD run"):
        return _run_nvt(
            atoms,
            calculator,
            settings,
            out,
            potential=potential,
            resume=resume,
            progress=progress,
            reference=reference,
            overwrite=overwrite,
        )


def _run_nvt(
    atoms: Atoms,
    calculator,
    settings: MDSettings,
    out: Path,
    *,
    potential: dict | None,
    resume: bool,
    progress: Callable[[int, int, float], None] | None,
    reference: dict[str, Any] | None,
    overwrite: bool,
) -> Path:
    traj_path, ckpt_path, info_path = out / "trajectory.h5", out / "checkpoint.npz", out / "run.json"
    thermo_path, proto_path = out / "thermo.csv", out / "protocol.npz"

    action = check_run_folder(out, settings, potential=potential, engine="ase", resume=resume, overwrite=overwrite)
    if action == "keep":
        return traj_path
    if action == "overwrite":
        clear_run(out)
    can_resume = action == "resume" and proto_path.exists()

    atoms = atoms.copy()
    atoms.set_constraint()
    atoms.calc = calculator
    rng = np.random.default_rng(settings.seed)
    info: dict[str, Any] = {
        "settings": asdict(settings),
        "potential": potential or {},
        "engine": "ase",
        "n_atoms": len(atoms),
        "formula": atoms.get_chemical_formula(),
        "status": "running",
    }
    if can_resume and info_path.exists():
        prev = json.loads(info_path.read_text())
        for key in ("protocol", "minimisation", "npt", "equilibration", "started"):
            if key in prev:
                info[key] = prev[key]

    try:
        if can_resume:
            ck = load_checkpoint(ckpt_path)
            desc = _install_protocol_from_file(atoms, settings, proto_path)
            restore_state(atoms, ck, rng)
            start_step, n_frames = ck["step"], ck["n_frames"]
            epot_ref = ck["extra"].get("epot_ref_per_atom")
            truncate_h5md(traj_path, n_frames)
            _truncate_thermo(thermo_path, start_step)
            writer = H5MDWriter.append_to(traj_path, chunk=settings.chunk)
            dyn = _production_dynamics(atoms, settings, rng)
            set_thermostat_state(dyn, ck["extra"].get("thermostat", {}))
            info["resumed_from_step"] = start_step
        else:
            for p in (ckpt_path, thermo_path, proto_path):
                p.unlink(missing_ok=True)
            info["started"] = time.strftime("%Y-%m-%dT%H:%M:%S")
            _atomic_json(info_path, info)
            desc = _prepare(atoms, settings, rng, info, proto_path, reference, out)
            info["protocol"] = desc
            _atomic_json(info_path, info)
            dyn = _production_dynamics(atoms, settings, rng)
            epot_ref = float(atoms.get_potential_energy()) / len(atoms)
            start_step, n_frames = 0, 0
            meta = dict(
                settings.metadata,
                temperature=settings.temperature,
                dt_step_fs=settings.dt,
                stride=settings.stride,
                potential=potential or {},
                thermostat=settings.thermostat,
                friction_per_fs=settings.production_friction,
                tau_fs=settings.tau,
                protocol=desc,
                seed=settings.seed,
            )
            thermo_path.write_text(THERMO_HEADER)
            writer = H5MDWriter(
                traj_path,
                atoms.get_chemical_symbols(),
                atoms.get_masses(),
                settings.dt,
                chunk=settings.chunk,
                metadata=meta,
            )
        _atomic_json(info_path, info)
        n_frames = _production(
            atoms, dyn, settings, writer, rng, ckpt_path, thermo_path, start_step, n_frames, epot_ref, progress
        )
    except MDExplodedError as err:
        info.update(status="exploded", error=str(err))
        _atomic_json(info_path, info)
        raise
    info.update(status="done", frames=n_frames, finished=time.strftime("%Y-%m-%dT%H:%M:%S"))
    _atomic_json(info_path, info)
    ckpt_path.unlink(missing_ok=True)
    if progress:
        progress(settings.steps, settings.steps, float(atoms.get_temperature()))
    return traj_path


def host_reference_start(atoms: Atoms, settings: MDSettings, calculator=None) -> tuple[Atoms, MDSettings]:
    """The starting structure of a frozen-host or tethered run on the LAMMPS engine with a host reference
    other than 'mean'.

    The LAMMPS engine holds the host at the time average of `settings.reference`, or, when that is None,
    at its starting positions. This returns the structure with the host at the chosen reference
    (`settings.host_reference`; a quench uses `calculator`, an ASE calculator of the run's potential) and
    the mobile ions at the free run's last frame, and settings with `reference` None and
    metadata['host_reference'] recording the choice (host_reference, reason, quench, reference, frames),
    as the ASE engine's protocol description does. Other runs are returned unchanged.
    """
    meta = settings.metadata.get("host_reference") or {}
    source = settings.reference or meta.get("reference")
    if settings.protocol not in ("frozen-host", "tethered") or settings.host_reference == "mean" or source is None:
        return atoms, settings
    start = atoms.copy()
    start.set_constraint()
    start.calc = calculator
    desc = apply_protocol(
        start,
        settings.protocol,
        mobile=settings.mobile,
        reference=reference_from_trajectory(source),
        stiffness=settings.tether_stiffness,
        host_reference=settings.host_reference,
    )
    start.set_constraint()
    start.calc = None
    keep = ("host_reference", "host_reference_reason", "quench", "reference", "reference_frames")
    record = {k: desc[k] for k in keep if k in desc}
    return start, replace(settings, reference=None, metadata={**settings.metadata, "host_reference": record})


def _use_fixcom(settings: MDSettings) -> bool:
    """Hold the centre of mass with FixCom in free / rigid-anion runs (host springs or fixed atoms pin it
    otherwise). Not with Nosé–Hoover: ASE's chain ignores constraints; its deterministic dynamics keeps
    the zero total momentum set at the start anyway.
    """
    return settings.fix_com and settings.protocol in ("free", "rigid-anions") and settings.thermostat != "nose-hoover"


def _production_dynamics(atoms: Atoms, settings: MDSettings, rng):
    return make_dynamics(
        atoms,
        settings.thermostat,
        settings.dt,
        settings.temperature,
        friction=settings.production_friction,
        tau_fs=settings.tau,
        rng=rng,
    )


def _prepare(
    atoms: Atoms, settings: MDSettings, rng, info: dict, proto_path: Path, reference: dict | None, out: Path
) -> dict[str, Any]:
    """Minimise, draw velocities, NPT, install the protocol, equilibrate. Returns the protocol description."""
    from ase.constraints import FixCom
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution, Stationary

    if settings.minimise_steps:
        info["minimisation"] = minimise(atoms, settings.minimise_fmax, settings.minimise_steps)
    if settings.protocol in ("frozen-host", "tethered") and reference is None:
        if settings.reference is None:
            raise InputError(
                f"protocol {settings.protocol} needs a free run at the same temperature: set "
                "reference (CLI: --reference DIR)"
            )
        reference = reference_from_trajectory(settings.reference)
    desc = apply_protocol(
        atoms,
        settings.protocol,
        mobile=settings.mobile,
        reference=reference,
        stiffness=settings.tether_stiffness,
        host_reference=settings.host_reference,
        rigid_centre=settings.rigid_centre,
        rigid_ligand=settings.rigid_ligand,
        rigid_cutoff=settings.rigid_cutoff,
    )
    _save_protocol_file(atoms, settings, desc, proto_path)
    if _use_fixcom(settings):
        atoms.set_constraint(list(atoms.constraints) + [FixCom()])
    MaxwellBoltzmannDistribution(atoms, temperature_K=settings.temperature, rng=rng)
    if settings.protocol in ("free", "rigid-anions"):
        Stationary(atoms)
    if settings.npt_steps:
        cons = atoms.constraints
        atoms.set_constraint()
        info["npt"] = npt_equilibrate(
            atoms,
            settings.temperature,
            settings.npt_steps,
            settings.dt,
            pressure_gpa=settings.pressure,
            tau_t_fs=settings.tau,
        )
        atoms.set_constraint(cons)
    if settings.equilibration_steps:
        info["equilibration"] = _equilibrate(atoms, settings, rng, out)
    return desc


def _equilibrate(atoms: Atoms, settings: MDSettings, rng, out: Path) -> dict[str, Any]:
    """Langevin (strong friction) for equilibration_steps, guarded; returns drift diagnostics."""
    dyn = make_dynamics(
        atoms, "langevin", settings.dt, settings.temperature, friction=settings.friction, tau_fs=settings.tau, rng=rng
    )
    every = max(1, min(settings.stride, settings.equilibration_steps // 20 or 1))
    times, temps, epots = [], [], []
    done = 0
    while done < settings.equilibration_steps:
        n = min(every, settings.equilibration_steps - done)
        dyn.run(n)
        done += n
        check_state(
            atoms,
            -settings.equilibration_steps + done,
            settings.temperature,
            max_temperature_factor=settings.max_temperature_factor,
            epot_ref_per_atom=None,
            max_energy_rise=settings.max_energy_rise,
            min_distance=settings.min_distance,
        )
        times.append(done * settings.dt)
        temps.append(float(atoms.get_temperature()))
        epots.append(float(atoms.get_potential_energy()) / len(atoms))
    atomic_write(
        out / "equilibration.csv",
        lambda tmp: np.savetxt(
            tmp,
            np.column_stack([times, temps, epots]),
            delimiter=",",
            header="time_fs,temperature_K,epot_eV_per_atom",
            comments="",
        ),
    )
    rep = equilibration_report(np.array(times), np.array(temps), np.array(epots))
    rep["steps"] = settings.equilibration_steps
    return rep


def _save_protocol_file(atoms: Atoms, settings: MDSettings, desc: dict, path: Path) -> None:
    """Everything a resume needs to rebuild the constraints exactly (no reference run needed)."""
    arrays: dict[str, Any] = {"protocol": settings.protocol, "desc": json.dumps(desc, default=str)}
    for c in atoms.constraints:
        name = type(c).__name__
        if name == "FixAtoms":
            arrays["fixed"] = np.asarray(c.index)
        elif name == "HarmonicTether":
            arrays.update(tether_index=c.index, tether_reference=c.reference, tether_k=c.k)
        elif name == "RigidUnits":
            arrays["units"] = np.asarray(c.units)
            arrays["bondlengths"] = (
                c.initialize_bond_lengths(atoms) if c.bondlengths is None else np.asarray(c.bondlengths)
            )
            c.bondlengths = arrays["bondlengths"]

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as fh:  # a file object: np.savez would append .npz to a path
            np.savez(fh, **arrays)

    atomic_write(path, write, durable=True)


def _install_protocol_from_file(atoms: Atoms, settings: MDSettings, path: Path) -> dict[str, Any]:
    from ase.constraints import FixAtoms, FixCom

    from .protocols import HarmonicTether, RigidUnits

    with np.load(path) as p:
        cons: list = []
        if "fixed" in p.files:
            cons.append(FixAtoms(indices=p["fixed"]))
        if "tether_index" in p.files:
            cons.append(HarmonicTether(p["tether_index"], p["tether_reference"], float(p["tether_k"])))
        if "units" in p.files:
            cons.append(RigidUnits(p["units"].tolist(), bondlengths=p["bondlengths"]))
        desc = json.loads(str(p["desc"]))
    if _use_fixcom(settings):
        cons.append(FixCom())
    atoms.set_constraint(cons)
    return desc


def _production(
    atoms: Atoms,
    dyn,
    settings: MDSettings,
    writer: H5MDWriter,
    rng,
    ckpt_path: Path,
    thermo_path: Path,
    step: int,
    n_frames: int,
    epot_ref: float | None,
    progress: Callable | None,
) -> int:
    """The production loop; returns the number of frames written."""
    import ase.units as u

    stride, chunk = settings.stride, settings.chunk
    thermo_buf: list[str] = []
    try:
        with open(thermo_path, "a") as thermo:
            while step < settings.steps:
                if step % stride == 0:
                    if n_frames % chunk == 0 and n_frames > 0:
                        writer.flush()
                        thermo.writelines(thermo_buf)
                        thermo.flush()
                        os.fsync(thermo.fileno())
                        thermo_buf.clear()
                        save_checkpoint(
                            ckpt_path,
                            atoms,
                            step,
                            n_frames,
                            rng,
                            {"thermostat": thermostat_state(dyn), "epot_ref_per_atom": epot_ref},
                        )
                        if progress:
                            progress(step, settings.steps, float(atoms.get_temperature()))
                    # ASE velocities are Å per ASE time unit; × u.fs gives Å/fs
                    writer.append(step, atoms.get_positions(), np.asarray(atoms.cell), atoms.get_velocities() * u.fs)
                    thermo_buf.append(_thermo_row(step, settings.dt, atoms, dyn))
                    n_frames += 1
                n = min(stride - step % stride, settings.steps - step)
                dyn.run(n)
                step += n
                check_state(
                    atoms,
                    step,
                    settings.temperature,
                    max_temperature_factor=settings.max_temperature_factor,
                    epot_ref_per_atom=epot_ref,
                    max_energy_rise=settings.max_energy_rise,
                    min_distance=settings.min_distance,
                )
            writer.flush()
            thermo.writelines(thermo_buf)
            thermo.flush()
            os.fsync(thermo.fileno())  # durable before run.json says "done"
    finally:
        writer.close()
    return n_frames
