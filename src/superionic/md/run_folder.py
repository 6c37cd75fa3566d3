"""The records of a run folder and the rules that keep them safe.

A run folder holds

* ``trajectory.h5`` – H5MD, positions + velocities + cell every `stride` steps (float32), flushed every
  `chunk` frames, written in SWMR mode (a killed writer leaves a file that still opens);
* ``checkpoint.npz`` – exact state at the step of the next frame to write, with the number of frames
  already flushed and the random-stream state (see `checkpoint`);
* ``thermo.csv`` – step, time, T, E_pot, E_kin, conserved energy for every written frame (`read_thermo`);
* ``protocol.npz`` – the suppression protocol's fixed data (reference positions, rigid units), so a
  resume does not need the reference run (`protocol_file`);
* ``run.json`` – settings, potential identity and version, protocol description ("what was
  suppressed"), equilibration diagnostics, status (running / done / exploded) (`read_run_info`).

A run folder is never replaced silently (`check_run_folder`): a finished run with the same settings is
kept, one with other settings is refused unless `overwrite=True`, an unfinished run with a checkpoint is
refused unless resumed (with the settings it was started with) or overwritten. `clear_run` removes what
a run wrote, `move_run_aside` keeps it in another folder.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
from ase import Atoms

from ..errors import InputError
from ..results import atomic_text, write_json
from .checkpoint import load_checkpoint
from .dynamics import conserved_energy
from .lock import LOCK_NAME
from .settings import MDSettings, differing_settings

THERMO_HEADER = "step,time_fs,temperature_K,epot_eV,ekin_eV,conserved_eV\n"


def _atomic_json(path: Path, obj: dict) -> None:
    write_json(path, obj, durable=True)  # the run record: temporary file, fsync, rename (superionic.results)


def _thermo_row(step: int, dt: float, atoms: Atoms, dyn) -> str:
    """One line of thermo.csv (THERMO_HEADER's columns) for the state of `atoms` at MD step `step`."""
    epot = float(atoms.get_potential_energy())
    ekin = float(atoms.get_kinetic_energy())
    return (
        f"{step},{step * dt:.6f},{atoms.get_temperature():.6f},{epot:.10f},{ekin:.10f},"
        f"{conserved_energy(dyn, atoms):.10f}\n"
    )


def _truncate_thermo(path: Path, before_step: int) -> None:
    """Keep the complete rows of thermo.csv before MD step `before_step` (a resume rewrites the rest)."""
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
