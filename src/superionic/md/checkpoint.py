"""Checkpoint files and crash-safe trajectory truncation.

A checkpoint (``checkpoint.npz``) is the exact dynamical state *at the MD step of the next frame to be
written*, together with the number of frames already flushed to ``trajectory.h5``: positions, momenta,
cell, step, frame count, the NumPy ``bit_generator`` state of the random stream and any thermostat
variables (Nosé–Hoover chain η, p_η). It is written to a temporary file and renamed, so a kill -9 leaves
either the old or the new checkpoint, never a torn one. Restoring it and truncating the trajectory to
its frame count continues the run bit-for-bit: no frame lost, none duplicated, same random stream.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import h5py
import numpy as np
from ase import Atoms

from ..errors import InputError
from ..results import atomic_write

_TIME_SERIES_KEYS = {"value", "step", "time"}


def save_checkpoint(
    path: Path, atoms: Atoms, step: int, n_frames: int, rng: np.random.Generator, extra: dict[str, Any] | None = None
) -> None:
    """Atomically write the state needed to continue a run exactly (see module docstring)."""

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as fh:  # a file object: np.savez would append .npz to a path
            np.savez(
                fh,
                positions=atoms.get_positions(),
                momenta=atoms.get_momenta(),
                cell=np.asarray(atoms.cell),
                step=int(step),
                n_frames=int(n_frames),
                rng_state=json.dumps(rng.bit_generator.state),
                extra=json.dumps(extra or {}, default=_jsonable),
            )

    atomic_write(path, write, durable=True)


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Read a checkpoint written by `save_checkpoint` (arrays as NumPy, extra as a dict)."""
    try:
        with np.load(path) as ck:
            out = {k: ck[k] for k in ck.files}
    except (OSError, ValueError) as err:
        raise InputError(f"checkpoint {path} is unreadable ({err}); delete it to restart the run") from err
    out["step"], out["n_frames"] = int(out["step"]), int(out["n_frames"])
    out["rng_state"] = json.loads(str(out["rng_state"]))
    out["extra"] = json.loads(str(out["extra"])) if "extra" in out else {}
    return out


def restore_state(atoms: Atoms, ck: dict[str, Any], rng: np.random.Generator) -> None:
    """Put the checkpointed positions, momenta, cell and random state back (constraints not re-applied)."""
    atoms.set_cell(ck["cell"])
    atoms.set_positions(ck["positions"], apply_constraint=False)
    atoms.set_momenta(ck["momenta"], apply_constraint=False)
    rng.bit_generator.state = ck["rng_state"]


def h5md_frame_count(path: Path, group: str = "all") -> int:
    """Frames readable in an H5MD file (opened SWMR-read: works on a file whose writer was killed)."""
    with h5py.File(path, "r", swmr=True) as f:
        g = f["particles"][group]
        series = [g["position"], g["box/edges"]] + ([g["velocity"]] if "velocity" in g else [])
        return min(min(s[k].shape[0] for k in _TIME_SERIES_KEYS) for s in series)


def truncate_h5md(path: Path, n_frames: int) -> None:
    """Rewrite an H5MD file keeping its first `n_frames` frames, atomically (copy, then rename).

    Works on files left by a writer killed mid-write (read in SWMR mode); every group, attribute and
    non-time-series dataset is copied unchanged, every H5MD time series (value/step/time) is cut.
    """
    path = Path(path)
    available = h5md_frame_count(path)
    if available < n_frames:
        raise InputError(
            f"{path} holds {available} frames but the checkpoint expects {n_frames}: the "
            "trajectory and checkpoint do not belong together; restart the run without --resume"
        )

    def write(tmp: Path) -> None:
        with h5py.File(path, "r", swmr=True) as src, h5py.File(tmp, "w", libver="latest") as dst:
            _copy_attrs(src, dst)
            _copy_group(src, dst, n_frames)

    atomic_write(path, write, durable=True)


def _copy_attrs(src, dst) -> None:
    for k, v in src.attrs.items():
        dst.attrs[k] = v


def _copy_group(src: h5py.Group, dst: h5py.Group, n: int) -> None:
    is_series = _TIME_SERIES_KEYS <= set(src.keys())
    for name, obj in src.items():
        if isinstance(obj, h5py.Group):
            sub = dst.create_group(name)
            _copy_attrs(obj, sub)
            _copy_group(obj, sub, n)
        elif is_series and name in _TIME_SERIES_KEYS:
            data = obj[:n]
            ds = dst.create_dataset(name, data=data, maxshape=obj.maxshape, chunks=obj.chunks, dtype=obj.dtype)
            _copy_attrs(obj, ds)
        else:
            ds = dst.create_dataset(name, data=obj[()], dtype=obj.dtype)
            _copy_attrs(obj, ds)


def _jsonable(x):
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, (np.floating, np.integer)):
        return x.item()
    return str(x)
