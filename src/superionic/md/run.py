"""NVT Langevin molecular dynamics through ASE, writing H5MD with checkpoints.

A run folder holds ``trajectory.h5`` (H5MD, positions + velocities every `stride` steps),
``checkpoint.npz`` (state after the last flushed frame: positions, momenta, step, RNG state) and
``run.json`` (configuration, potential identity, status). A run killed at any moment resumes from its
checkpoint with no frame lost or duplicated and the same random stream (`resume=True`).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
from ase import Atoms

from ..errors import InputError
from ..trajectory.h5md import H5MDWriter, read_h5md, write_h5md


@dataclass
class MDSettings:
    """Settings of one NVT run (ASE units: K, fs)."""

    temperature: float                 # K
    steps: int                         # production steps
    dt: float = 2.0                    # fs, integration step
    stride: int = 5                    # write every `stride` steps
    friction: float = 0.01             # 1/fs, Langevin friction during equilibration
    production_friction: float = 0.001  # 1/fs, weak coupling during production (keeps dynamics natural)
    equilibration_steps: int = 0
    seed: int = 0
    chunk: int = 64                    # frames per H5MD chunk (and per checkpoint)
    max_temperature_factor: float = 5.0  # stop if T exceeds this × target (explosion guard)
    metadata: dict[str, Any] = field(default_factory=dict)

    def validate(self) -> None:
        if not self.temperature > 0:
            raise InputError(f"temperature must be > 0 K, got {self.temperature}")
        if self.steps < 1 or self.stride < 1:
            raise InputError("steps and stride must be positive integers")
        if not 0 < self.dt <= 10:
            raise InputError(f"time step {self.dt} fs is outside (0, 10] fs")


def _atomic_json(path: Path, obj: dict) -> None:
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(json.dumps(obj, indent=2, default=str))
    os.replace(tmp, path)


def _save_checkpoint(path: Path, atoms: Atoms, step: int, rng: np.random.Generator, n_frames: int) -> None:
    tmp = path.with_name("checkpoint.part.npz")
    np.savez(tmp, positions=atoms.get_positions(), momenta=atoms.get_momenta(), cell=np.asarray(atoms.cell),
             step=step, n_frames=n_frames, rng_state=json.dumps(rng.bit_generator.state))
    os.replace(tmp, path)


def _temperature(atoms: Atoms) -> float:
    return float(atoms.get_temperature())


def run_nvt(atoms: Atoms, calculator, settings: MDSettings, out_dir: str | Path, *,
            potential: dict | None = None, resume: bool = False,
            progress: Callable[[int, int, float], None] | None = None) -> Path:
    """Equilibrate then run production NVT (Langevin) MD; returns the trajectory path.

    progress(step, total, temperature) is called every flushed chunk.
    """
    from ase.md.langevin import Langevin
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution, Stationary
    import ase.units as u

    settings.validate()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    traj_path, ckpt_path, info_path = out / "trajectory.h5", out / "checkpoint.npz", out / "run.json"
    atoms = atoms.copy()
    atoms.calc = calculator
    rng = np.random.default_rng(settings.seed)
    info = {"settings": asdict(settings), "potential": potential or {}, "n_atoms": len(atoms),
            "formula": atoms.get_chemical_formula(), "status": "running"}
    start_step = 0
    n_frames = 0

    if resume and ckpt_path.exists() and traj_path.exists():
        ck = np.load(ckpt_path)
        atoms.set_positions(ck["positions"])
        atoms.set_cell(ck["cell"])
        atoms.set_momenta(ck["momenta"])
        rng.bit_generator.state = json.loads(str(ck["rng_state"]))
        start_step, n_frames = int(ck["step"]), int(ck["n_frames"])
        _truncate(traj_path, n_frames)
        writer = H5MDWriter.append_to(traj_path, chunk=settings.chunk)
    else:
        if resume and (out / "run.json").exists() and json.loads(info_path.read_text()).get("status") == "done":
            return traj_path
        MaxwellBoltzmannDistribution(atoms, temperature_K=settings.temperature, rng=rng)
        Stationary(atoms)
        if settings.equilibration_steps:
            eq = Langevin(atoms, settings.dt * u.fs, temperature_K=settings.temperature,
                          friction=settings.friction / u.fs, rng=rng, fixcm=True)
            eq.run(settings.equilibration_steps)
            _guard(atoms, settings)
        meta = dict(settings.metadata, temperature=settings.temperature, dt_step_fs=settings.dt,
                    stride=settings.stride, potential=potential or {}, thermostat="Langevin",
                    friction_per_fs=settings.production_friction)
        writer = H5MDWriter(traj_path, atoms.get_chemical_symbols(), atoms.get_masses(), settings.dt,
                            chunk=settings.chunk, metadata=meta)
    _atomic_json(info_path, info)

    dyn = Langevin(atoms, settings.dt * u.fs, temperature_K=settings.temperature,
                   friction=settings.production_friction / u.fs, rng=rng, fixcm=True)
    t0 = time.time()
    step = start_step
    try:
        while step < settings.steps:
            chunk_full = False
            if step % settings.stride == 0:
                # ASE velocities are Å per ASE time unit; × u.fs gives Å/fs
                writer.append(step, atoms.get_positions(), np.asarray(atoms.cell),
                              atoms.get_velocities() * u.fs)
                n_frames += 1
                chunk_full = n_frames % settings.chunk == 0
            dyn.run(1)
            step += 1
            if chunk_full:
                # state after the step that follows the last flushed frame: resuming here neither
                # loses nor repeats a frame
                writer.flush()
                _save_checkpoint(ckpt_path, atoms, step, rng, n_frames)
                _guard(atoms, settings)
                if progress:
                    progress(step, settings.steps, _temperature(atoms))
        writer.flush()
    finally:
        writer.close()
    info.update(status="done", wall_seconds=time.time() - t0, frames=n_frames)
    _atomic_json(info_path, info)
    if ckpt_path.exists():
        ckpt_path.unlink()
    if progress:
        progress(settings.steps, settings.steps, _temperature(atoms))
    return traj_path


def _guard(atoms: Atoms, settings: MDSettings) -> None:
    t = _temperature(atoms)
    if not np.isfinite(t) or t > settings.max_temperature_factor * settings.temperature:
        raise InputError(f"MD exploded: temperature {t:.0f} K exceeds {settings.max_temperature_factor}× the "
                         f"target {settings.temperature} K; use a smaller time step or check the potential")


def _truncate(path: Path, n_frames: int) -> None:
    """Rewrite an H5MD file keeping its first n_frames (after a killed run), atomically."""
    traj = read_h5md(path, stop=n_frames)
    write_h5md(path, traj)
