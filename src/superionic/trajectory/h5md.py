"""H5MD 1.1 trajectory store (h5py).

Layout written (one particle group, default ``all``)::

    /h5md                      version = [1, 1]; author, creator groups
    /particles/all/position/{value (F,N,3), step (F,), time (F,)}   unit "angstrom", time unit "fs"
    /particles/all/velocity/{value, step, time}                     unit "angstrom fs-1" (optional)
    /particles/all/box         dimension = 3, boundary = periodic ×3
    /particles/all/box/edges/{value (F,3,3), step, time}            unit "angstrom"
    /particles/all/species (N,)  atomic numbers;  /particles/all/mass (N,) unit "amu"
    /parameters/superionic     attrs: dt_fs, metadata_json

Frames are buffered and written in chunks (default 64 frames, float32); the file is flushed after every
chunk, and written in SWMR mode so that a writer killed at any moment leaves a file that still opens with
every flushed frame (the reader takes the shortest of value/step/time as the frame count).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import h5py
import numpy as np

from .. import units
from ..errors import InputError
from .model import Trajectory, symbol_of

H5MD_VERSION = (1, 1)


def _time_series(parent: h5py.Group, name: str, shape: tuple[int, ...], dtype, unit: str, chunk: int):
    grp = parent.create_group(name)
    v = grp.create_dataset("value", shape=(0, *shape), maxshape=(None, *shape), dtype=dtype,
                           chunks=(chunk, *shape))
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

    def __init__(self, path: str | Path, symbols: list[str], masses: np.ndarray, dt_step: float,
                 *, velocities: bool = True, chunk: int = 64, dtype=np.float32, group: str = "all",
                 metadata: dict[str, Any] | None = None, _append: bool = False):
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
            self.f.swmr_mode = True     # appended frames stay readable if the writer is killed
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
                _time_series(self.g, "velocity", (n, 3), dtype, units.VELOCITY, chunk)
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
    def append_to(cls, path: str | Path, chunk: int = 64, group: str = "all") -> "H5MDWriter":
        """Reopen a file written by this class (e.g. after a restart) to append more frames."""
        with h5py.File(path, "r", swmr=True) as f:
            g = f["particles"][group]
            symbols = [symbol_of(z) for z in g["species"][()]]
            masses = g["mass"][()]
            dt_step = float(f["parameters/superionic"].attrs["dt_step_fs"])
            dtype = g["position/value"].dtype
        return cls(path, symbols, masses, dt_step, chunk=chunk, dtype=dtype, group=group, _append=True)

    def append(self, step: int, positions: np.ndarray, cell: np.ndarray,
               velocities: np.ndarray | None = None) -> None:
        """Buffer one frame (positions Å, cell 3×3 Å, velocities Å/fs); writes when a chunk is full."""
        if self.has_velocities and velocities is None:
            raise ValueError("this file stores velocities: pass them")
        self._buf.append((int(step), np.asarray(positions), None if velocities is None else np.asarray(velocities),
                          np.asarray(cell)))
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
            _extend(self.g["velocity"], np.stack([b[2] for b in self._buf]), steps, times)
        _extend(self.g["box/edges"], np.stack([b[3] for b in self._buf]), steps, times)
        self._buf.clear()
        self.f.flush()

    def close(self) -> None:
        if self.f.id.valid:
            self.flush()
            self.f.close()

    def __enter__(self) -> "H5MDWriter":
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


# ---------------------------------------------------------------------------- reading
def _open(path: str | Path) -> h5py.File:
    try:
        return h5py.File(path, "r", swmr=True)
    except OSError:
        return h5py.File(path, "r")


def _n_frames(g: h5py.Group) -> int:
    groups = [g["position"], g["box/edges"]] + ([g["velocity"]] if "velocity" in g else [])
    return min(min(x["value"].shape[0], x["step"].shape[0], x["time"].shape[0]) for x in groups)


class H5MDInfo:
    """Static facts about an H5MD file without loading frames."""

    def __init__(self, path: str | Path, group: str = "all"):
        with _open(path) as f:
            if "h5md" not in f or "particles" not in f:
                raise InputError(f"{path} is an HDF5 file but not H5MD (no /h5md or /particles group)")
            groups = list(f["particles"].keys())
            if group not in f["particles"]:
                raise InputError(f"{path} has no particle group {group!r}; it has {groups}")
            g = f["particles"][group]
            self.symbols = [symbol_of(z) for z in g["species"][()]]
            self.masses = g["mass"][()] if "mass" in g else None
            self.n_frames = _n_frames(g)
            self.has_velocities = "velocity" in g
            t = g["position/time"][: min(2, self.n_frames)]
            self.dt = float(t[1] - t[0]) if len(t) == 2 else None
            p = f.get("parameters/superionic")
            self.metadata = json.loads(p.attrs["metadata_json"]) if p is not None else {}
            self.dt_step = float(p.attrs["dt_step_fs"]) if p is not None else None


def read_h5md(path: str | Path, start: int = 0, stop: int | None = None, stride: int = 1,
              dt: float | None = None, group: str = "all") -> Trajectory:
    """Read frames[start:stop:stride] of an H5MD file into a Trajectory (float64 in memory)."""
    info = H5MDInfo(path, group)
    stop = info.n_frames if stop is None else min(stop, info.n_frames)
    with _open(path) as f:
        g = f["particles"][group]
        sl = slice(start, stop, stride)
        pos = g["position/value"][sl].astype(float)
        vel = g["velocity/value"][sl].astype(float) if info.has_velocities else None
        cells = g["box/edges/value"][sl].astype(float)
        steps = g["position/step"][sl]
    frame_dt = info.dt if dt is None else dt
    if frame_dt is None:
        raise InputError(f"{path} holds a single frame and no time step: pass --dt (fs between frames)")
    return Trajectory(positions=pos, cells=cells, symbols=info.symbols, dt=frame_dt * stride,
                      velocities=vel, masses=info.masses, steps=steps, metadata=info.metadata)


def iter_h5md(path: str | Path, chunk: int = 1024, dt: float | None = None,
              group: str = "all") -> Iterator[Trajectory]:
    """Yield consecutive chunks of at most `chunk` frames as Trajectory objects."""
    info = H5MDInfo(path, group)
    for s in range(0, info.n_frames, chunk):
        yield read_h5md(path, start=s, stop=s + chunk, dt=dt, group=group)


def write_h5md(path: str | Path, traj: Trajectory, chunk: int = 64, dtype=np.float32) -> None:
    """Write a whole Trajectory to H5MD atomically (temporary file, then rename)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".part")
    steps = traj.steps if traj.steps is not None else np.arange(traj.n_frames)
    # frame spacing in steps gives the per-step time; keep dt exact by storing dt_step = dt / Δstep
    dstep = int(steps[1] - steps[0]) if len(steps) > 1 else 1
    with H5MDWriter(tmp, traj.symbols, traj.masses, traj.dt / dstep, velocities=traj.velocities is not None,
                    chunk=chunk, dtype=dtype, metadata=traj.metadata) as w:
        for i in range(traj.n_frames):
            w.append(int(steps[i]), traj.positions[i], traj.cells[i],
                     None if traj.velocities is None else traj.velocities[i])
    tmp.replace(path)
