"""H5MD 1.1 trajectory store (h5py): a writer, and readers that check a file before trusting it.

Layout written (one particle group, default ``all``)::

    /h5md                      version = [1, 1]; author, creator groups
    /particles/all/position/{value (F,N,3), step (F,), time (F,)}   unit "angstrom", time unit "fs"
    /particles/all/velocity/{value, step, time}                     unit "Angstrom fs-1" (optional)
    /particles/all/box         dimension = 3, boundary = periodic ×3
    /particles/all/box/edges/{value (F,3,3), step, time}            unit "angstrom"
    /particles/all/species (N,)  atomic numbers;  /particles/all/mass (N,) unit "amu"
    /parameters/superionic     attrs: dt_step_fs, metadata_json

Frames are buffered and written in chunks (default 64 frames, float32); the file is flushed after every
chunk, and written in SWMR mode so that a writer killed at any moment leaves a file that still opens with
every flushed frame (the reader takes the shortest of value/step/time as the frame count).

Reading (`h5md_read`, re-exported here) returns only frames that are really in the file (see
`h5md_source._Source.check`): frames cut off by a truncated file, never written, non-finite or out of step
at the end are dropped with a TrajectoryWarning; damage followed by intact frames, and files that are
empty, not HDF5 or not H5MD, are an InputError.
Units are taken from the ``unit`` attributes (Å/nm/pm, fs/ps/ns, their velocity quotients) and converted
to Å, fs and Å/fs; files of other programs (MDAnalysis: group ``trajectory``, no species) read too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from .. import units
from .h5md_read import (  # noqa: F401
    _SCAN_VALUES,
    H5MDInfo,
    H5MDReader,
    TrajectoryWarning,
    _frame_dt,
    _inspect,
    _open,
    _Source,
    _stored_rows,
    iter_h5md,
    read_h5md,
    unit_factor,
)
from .model import Trajectory, symbol_of

H5MD_VERSION = (1, 1)
#: velocity unit written: H5MD unit string that MDAnalysis's H5MD reader also understands (files written
#: by earlier versions say "angstrom fs-1", which reads the same here)
VELOCITY_UNIT = "Angstrom fs-1"


def _time_series(parent: h5py.Group, name: str, shape: tuple[int, ...], dtype, unit: str, chunk: int):
    grp = parent.create_group(name)
    v = grp.create_dataset("value", shape=(0, *shape), maxshape=(None, *shape), dtype=dtype, chunks=(chunk, *shape))
    v.attrs["unit"] = unit
    grp.create_dataset("step", shape=(0,), maxshape=(None,), dtype=np.int64, chunks=(chunk,))
    t = grp.create_dataset("time", shape=(0,), maxshape=(None,), dtype=np.float64, chunks=(chunk,))
    t.attrs["unit"] = units.TIME
    return grp


class H5MDWriter:
    """Append frames to an H5MD file, flushing every `chunk` frames.

    dt_step is the MD integration step in fs: a frame written at MD step s has time s·dt_step.
    Use as a context manager, or call `close()`; `append_to` reopens an existing file to continue it.
    """

    def __init__(
        self,
        path: str | Path,
        symbols: list[str],
        masses: np.ndarray,
        dt_step: float,
        *,
        velocities: bool = True,
        chunk: int = 64,
        dtype=np.float32,
        group: str = "all",
        metadata: dict[str, Any] | None = None,
        _append: bool = False,
    ):
        self.path = Path(path)
        self.chunk = int(chunk)
        self.dtype = dtype
        self.dt_step = float(dt_step)
        self.n_atoms = len(symbols)
        self.has_velocities = velocities
        self._buf: list[tuple[int, np.ndarray, np.ndarray | None, np.ndarray]] = []
        if _append:
            self.f = h5py.File(self.path, "a", libver="latest")
            self.g = self.f["particles"][group]
            self.has_velocities = "velocity" in self.g
            self.f.swmr_mode = True  # appended frames stay readable if the writer is killed
        else:
            self.f = h5py.File(self.path, "w", libver="latest")
            h5 = self.f.create_group("h5md")
            h5.attrs["version"] = np.array(H5MD_VERSION, dtype=np.int32)
            h5.create_group("author").attrs["name"] = "superionic user"
            cr = h5.create_group("creator")
            cr.attrs["name"] = "superionic"
            from .. import __version__

            cr.attrs["version"] = __version__
            self.g = self.f.create_group(f"particles/{group}")
            n = self.n_atoms
            _time_series(self.g, "position", (n, 3), dtype, units.LENGTH, chunk)
            if velocities:
                _time_series(self.g, "velocity", (n, 3), dtype, VELOCITY_UNIT, chunk)
            box = self.g.create_group("box")
            box.attrs["dimension"] = 3
            box.attrs["boundary"] = np.array([b"periodic"] * 3)
            _time_series(box, "edges", (3, 3), np.float64, units.LENGTH, chunk)
            z = np.array([_z(s) for s in symbols], dtype=np.int32)
            self.g.create_dataset("species", data=z)
            m = self.g.create_dataset("mass", data=np.asarray(masses, dtype=np.float64))
            m.attrs["unit"] = units.MASS
            p = self.f.create_group("parameters/superionic")
            p.attrs["dt_step_fs"] = self.dt_step
            p.attrs["metadata_json"] = json.dumps(metadata or {}, default=str)
            self.f.swmr_mode = True
        self.f.flush()

    @classmethod
    def append_to(cls, path: str | Path, chunk: int = 64, group: str = "all") -> H5MDWriter:
        """Reopen a file written by this class (e.g. after a restart) to append more frames."""
        with h5py.File(path, "r", swmr=True) as f:
            g = f["particles"][group]
            symbols = [symbol_of(z) for z in g["species"][()]]
            masses = g["mass"][()]
            dt_step = float(f["parameters/superionic"].attrs["dt_step_fs"])
            dtype = g["position/value"].dtype
        return cls(path, symbols, masses, dt_step, chunk=chunk, dtype=dtype, group=group, _append=True)

    def append(self, step: int, positions: np.ndarray, cell: np.ndarray, velocities: np.ndarray | None = None) -> None:
        """Buffer one frame (positions Å, cell 3×3 Å, velocities Å/fs); writes when a chunk is full."""
        if self.has_velocities and velocities is None:
            raise ValueError("this file stores velocities: pass them")
        self._buf.append(
            (int(step), np.asarray(positions), None if velocities is None else np.asarray(velocities), np.asarray(cell))
        )
        if len(self._buf) >= self.chunk:
            self.flush()

    def flush(self) -> None:
        """Write buffered frames and flush the file to disk."""
        if not self._buf:
            return
        steps = np.array([b[0] for b in self._buf], dtype=np.int64)
        times = steps * self.dt_step
        _extend(self.g["position"], np.stack([b[1] for b in self._buf]), steps, times)
        if self.has_velocities:
            _extend(self.g["velocity"], np.stack([np.asarray(b[2]) for b in self._buf]), steps, times)
        _extend(self.g["box/edges"], np.stack([b[3] for b in self._buf]), steps, times)
        self._buf.clear()
        self.f.flush()

    def close(self) -> None:
        """Write the buffered frames and close the file (idempotent)."""
        if self.f.id.valid:
            self.flush()
            self.f.close()

    def __enter__(self) -> H5MDWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _z(symbol: str) -> int:
    from ase.data import atomic_numbers

    return atomic_numbers[symbol]


def _extend(grp: h5py.Group, values: np.ndarray, steps: np.ndarray, times: np.ndarray) -> None:
    n0 = grp["value"].shape[0]
    n1 = n0 + len(steps)
    # value first, then step and time: a crash in between leaves value longest, and readers use the minimum
    grp["value"].resize(n1, axis=0)
    grp["value"][n0:n1] = values
    grp["step"].resize(n1, axis=0)
    grp["step"][n0:n1] = steps
    grp["time"].resize(n1, axis=0)
    grp["time"][n0:n1] = times


def write_h5md(path: str | Path, traj: Trajectory, chunk: int = 64, dtype=np.float32) -> None:
    """Write a whole Trajectory to H5MD atomically (`results.atomic_write`: temporary file, then rename)."""
    from ..results import atomic_write

    steps = traj.steps if traj.steps is not None else np.arange(traj.n_frames)
    # frame spacing in steps gives the per-step time; keep dt exact by storing dt_step = dt / Δstep
    dstep = int(steps[1] - steps[0]) if len(steps) > 1 else 1
    masses = np.asarray(traj.masses, dtype=float)  # filled with standard masses by Trajectory when not given

    def write(tmp: Path) -> None:
        velocities = traj.velocities
        with H5MDWriter(
            tmp,
            traj.symbols,
            masses,
            traj.dt / dstep,
            velocities=velocities is not None,
            chunk=chunk,
            dtype=dtype,
            metadata=traj.metadata,
        ) as w:
            for i in range(traj.n_frames):
                w.append(int(steps[i]), traj.positions[i], traj.cells[i], None if velocities is None else velocities[i])

    atomic_write(path, write, mkdir=False)
