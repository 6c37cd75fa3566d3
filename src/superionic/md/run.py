"""NVT molecular dynamics through ASE (`run_nvt`): protocols, H5MD output, checkpoints, guards.

Order of a run: [minimise] → Maxwell–Boltzmann velocities → [NPT, free runs only] → protocol →
equilibration (Langevin, `friction`, guarded, drift diagnostics) → production (`thermostat`, written).
`resume=True` continues a killed run from its checkpoint with no frame lost or duplicated and the same
random stream; without a checkpoint it restarts from scratch (deterministic for a given seed).

A run writes one run folder (`run_folder`: trajectory.h5, checkpoint.npz, thermo.csv, protocol.npz,
run.json), which is never replaced silently (`run_folder.check_run_folder`): a finished run with the same
settings is kept, one with other settings is refused unless `overwrite=True`, an unfinished run with a
checkpoint is refused unless resumed (with the settings it was started with) or overwritten. The folder is
locked (`lock.folder_lock`) for the whole run, so two processes never write one folder.

The settings (`MDSettings`, `differing_settings`) live in `settings`, the run folder's records and rules
(`read_thermo`, `read_run_info`, `check_run_folder`, `clear_run`, `move_run_aside`) in `run_folder`, the
saved protocol in `protocol_file`; they are importable from here too.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms

from ..errors import InputError
from ..provenance import ran_on
from ..results import atomic_write
from ..trajectory.h5md import H5MDWriter
from .checkpoint import load_checkpoint, restore_state, save_checkpoint, truncate_h5md
from .dynamics import make_dynamics, minimise, npt_equilibrate, set_thermostat_state, thermostat_state
from .equilibration import equilibration_report
from .guards import MDExplodedError, check_state
from .host_reference import reference_from_trajectory
from .lock import folder_lock
from .protocol_file import install_protocol_file, save_protocol_file
from .protocols import apply_protocol
from .run_folder import (
    RUN_FILES,
    THERMO_HEADER,
    _atomic_json,
    _thermo_row,
    _truncate_thermo,
    check_run_folder,
    clear_run,
    move_run_aside,
    read_run_info,
    read_thermo,
)
from .settings import MDSettings, _use_fixcom, differing_settings

__all__ = [
    "run_nvt",
    "host_reference_start",
    # importable from here as before the split (homes: settings, run_folder)
    "MDSettings",
    "differing_settings",
    "THERMO_HEADER",
    "RUN_FILES",
    "read_thermo",
    "read_run_info",
    "check_run_folder",
    "clear_run",
    "move_run_aside",
]


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
        "ran_on": ran_on(),  # host, and SLURM job and node inside a job
    }
    if can_resume and info_path.exists():
        prev = json.loads(info_path.read_text())
        for key in ("protocol", "minimisation", "npt", "equilibration", "started"):
            if key in prev:
                info[key] = prev[key]

    try:
        if can_resume:
            ck = load_checkpoint(ckpt_path)
            desc = install_protocol_file(atoms, settings, proto_path)
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
        reference=reference_from_trajectory(source, at=settings.host_time),
        stiffness=settings.tether_stiffness,
        host_reference=settings.host_reference,
    )
    start.set_constraint()
    start.calc = None
    keep = ("host_reference", "host_reference_reason", "quench", "reference", "reference_frames", "reference_frame")
    record = {k: desc[k] for k in keep if k in desc}
    return start, replace(settings, reference=None, metadata={**settings.metadata, "host_reference": record})


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
        reference = reference_from_trajectory(settings.reference, at=settings.host_time)
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
    save_protocol_file(atoms, settings, desc, proto_path)
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
