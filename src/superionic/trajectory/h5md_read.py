"""Reading H5MD trajectories (the writer is in `h5md`, which re-exports everything here).

Reading returns only frames that are really in the file (see `h5md_source._Source.check`): frames cut off by a
truncated file, never written, non-finite or out of step at the end are dropped with a TrajectoryWarning;
damage followed by intact frames, and files that are empty, not HDF5 or not H5MD, are an InputError.
Units are taken from the ``unit`` attributes (Å/nm/pm, fs/ps/ns, their velocity quotients) and converted
to Å, fs and Å/fs; files of other programs (MDAnalysis: group ``trajectory``, no species) read too.

Three ways in, all checking the file first: `read_h5md` (whole frames, or the atoms named by ``atoms=``
only), `iter_h5md` (consecutive chunks of frames), and `H5MDReader`, an open, checked file that reads any
frames × atoms piece on demand in bounded memory; the streaming analyses use it
(`trajectory.blocks`, docs/trajectories.md "Memory").

The layers below, each importing only those named after it: `h5md_source` (an open file and the check of
its frames), `h5md_layout` (time series, attributes, rows really stored), `h5md_open` (opening damaged
files) and `h5md_units` (unit attributes → factors).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..errors import InputError
from .blocks import FrameSource
from .h5md_layout import _Series, _stored_rows  # noqa: F401  (_stored_rows re-exported)
from .h5md_open import _one_line, _open
from .h5md_source import _SCAN_VALUES, TrajectoryWarning, _Source  # noqa: F401  (TrajectoryWarning re-exported)
from .h5md_units import unit_factor  # noqa: F401  (re-exported)
from .model import Trajectory, frame_ranges  # noqa: F401  (frame_ranges re-exported)


def _inspect(path: str | Path, group: str | None, symbols: list[str] | None, keep: bool = False):
    """Open and check a file; returns the open file and the checked _Source (close the file when done)."""
    p = Path(path)
    f, note = _open(p)
    try:
        src = _Source(f, p, note, group, symbols)
        src.check(keep=keep)
    except InputError:
        f.close()
        raise
    except Exception as err:  # damaged metadata: h5py raises KeyError, RuntimeError, OSError …
        f.close()
        raise InputError(
            f"cannot read {p} as H5MD ({_one_line(err)})" + (f": {note}" if note else ": the file is damaged")
        ) from None
    return f, src


def _frame_dt(src: _Source, dt: float | None) -> float:
    """Time between stored frames (fs): the file's, or `dt` when the file stores none; never overridden."""
    if dt is not None:
        dt = float(dt)
        if src.dt is not None and abs(dt - src.dt) > src.dt_tol:
            raise InputError(
                f"{src.path} stores dt = {src.dt:.9g} fs between frames; --dt {dt:g} fs disagrees: drop --dt"
            )
        return src.dt if src.dt is not None else dt
    if src.dt is None:
        raise InputError(
            f"{src.path} holds {'a single frame' if src.n_frames == 1 else 'no times'} and no time "
            "step: pass --dt (fs between frames)"
        )
    return src.dt


class H5MDInfo:
    """Facts about an H5MD file, after checking it: symbols, masses (amu), n_frames (usable frames),
    has_velocities, dt (fs between frames, None if not stored), dt_step (MD step, fs; superionic files),
    steps (MD step of each usable frame), metadata, group.
    """

    def __init__(self, path: str | Path, group: str | None = None, *, symbols: list[str] | None = None):
        f, src = _inspect(path, group, symbols)
        with f:
            self.symbols = src.symbols
            self.masses = src.masses
            self.n_frames = src.n_frames
            self.has_velocities = src.vel is not None
            self.dt = src.dt
            self.dt_step = src.dt_step
            self.steps = src.steps
            self.metadata = src.metadata
            self.group = src.group


def _atom_index(atoms, n_atoms: int, path) -> np.ndarray:
    """A selection of atoms as sorted unique indices; InputError when empty or outside the file."""
    a = np.asarray(atoms)
    if a.dtype == bool:
        if a.shape != (n_atoms,):
            raise InputError(f"{path}: a boolean atom mask needs {n_atoms} entries, got {a.shape}")
        a = np.flatnonzero(a)
    if a.dtype.kind not in "iu" and a.size:
        raise InputError(f"{path}: atoms must be integer indices, got {a.dtype}")
    a = np.unique(a.astype(np.int64).ravel())
    if a.size == 0:
        raise InputError(f"{path}: the atom selection is empty")
    if a[0] < 0 or a[-1] >= n_atoms:
        raise InputError(f"{path}: atom indices must lie in 0…{n_atoms - 1}, got {a[0]}…{a[-1]}")
    return a


def _trajectory(
    src: _Source, arrays, frame_dt: float, sl: slice, stride: int, atoms: np.ndarray | None = None
) -> Trajectory:
    pos, vel, cells = arrays
    symbols, masses = src.symbols, src.masses
    if atoms is not None:
        symbols = [symbols[i] for i in atoms]
        masses = None if masses is None else masses[atoms]
    return Trajectory(
        positions=pos,
        cells=cells,
        symbols=symbols,
        dt=frame_dt * stride,
        velocities=vel,
        masses=masses,
        steps=src.steps[sl],
        metadata=dict(src.metadata),
    )


def _atom_values(series: _Series, factor: float, sl: slice, atoms: np.ndarray) -> np.ndarray:
    """Frames `sl` of the atoms `atoms` (an index array) of a per-atom series (positions or velocities) as
    float64 in Å or Å/fs, read in pieces of at most _SCAN_VALUES stored values (bounded memory): the span of
    the atoms is read (one hyperslab, much faster in HDF5 than a scattered selection) a few frames at a time,
    and the atoms picked from it.
    """
    ds = series.value
    atoms = np.asarray(atoms, dtype=np.int64)
    frames = range(ds.shape[0])[sl]
    out = np.empty((len(frames), len(atoms), 3))
    if out.size:
        a0, a1 = int(atoms.min()), int(atoms.max()) + 1
        pick = None if (a1 - a0 == len(atoms) and np.all(np.diff(atoms) == 1)) else atoms - a0
        rows = max(1, _SCAN_VALUES // (3 * (a1 - a0)))
        for i in range(0, len(frames), rows):
            r = frames[i : i + rows]
            raw = ds[r.start : r.stop : r.step, a0:a1]
            out[i : i + len(r)] = raw if pick is None else raw[:, pick]
    if factor != 1.0:
        out *= factor
    return out


def _read_frames(src: _Source, sl: slice, atoms: np.ndarray | None = None):
    """(positions, velocities or None, cells) of frames `sl` in Å, Å/fs, Å; of the atoms `atoms` only (an
    index array) when given.
    """
    if atoms is None:
        return src.read(sl)
    pos = _atom_values(src.pos, src.length_f, sl, atoms)
    vel = None if src.vel is None else _atom_values(src.vel, src.vel_f, sl, atoms)
    return pos, vel, src.read_cells(sl, len(pos))


def read_h5md(
    path: str | Path,
    start: int = 0,
    stop: int | None = None,
    stride: int = 1,
    dt: float | None = None,
    group: str | None = None,
    *,
    symbols: list[str] | None = None,
    atoms=None,
) -> Trajectory:
    """Read frames[start:stop:stride] of the usable frames of an H5MD file into a Trajectory (float64; Å,
    Å/fs, fs whatever the file's units).

    dt: fs between the file's frames, needed only when the file stores no times; a value that disagrees
    with the stored one is an InputError. group: particle group (default "all", or the only one).
    symbols: chemical symbols when the file has no species dataset (e.g. written by MDAnalysis).
    atoms: indices (or a boolean mask) of the atoms to read, e.g. one species; the Trajectory then holds
    those atoms only, in index order (the file is read a few frames at a time: memory ∝ frames × atoms).
    """
    if stride < 1:
        raise InputError(f"stride must be a positive number of frames, got {stride}")
    whole = start in (0, None) and stop is None and stride == 1 and atoms is None  # one pass: check and keep
    f, src = _inspect(path, group, symbols, keep=whole)
    with f:
        frame_dt = _frame_dt(src, dt)
        sl = slice(start, stop, stride)
        r = range(src.n_frames)[sl]
        if not len(r):
            raise InputError(f"{src.path}: frames [{start}:{stop}:{stride}] select none of its {src.n_frames} frames")
        if atoms is not None:
            atoms = _atom_index(atoms, src.n_atoms, src.path)
        if src.kept is not None:
            k = src.kept
            arrays = (k["positions"], k["velocities"], k["cells"])
        else:
            arrays = _read_frames(src, slice(r.start, r.stop, r.step), atoms)
        return _trajectory(src, arrays, frame_dt, sl, stride, atoms)


class H5MDReader(FrameSource):
    """An H5MD file opened and checked once (`h5md_source._Source.check`, which scans the data in bounded blocks),
    then read piece by piece: `read_positions(atoms, start, stop)`, `read_velocities(…)` (float64 Å, Å/fs of
    the usable frames [start, stop) of the atoms `atoms`, all if None; read a few frames at a time, so
    memory ∝ the piece), `cells` (all frames). Facts as on a Trajectory (n_frames, symbols, masses, dt,
    steps, metadata, species, indices() …; see `FrameSource`). Close it, or use it as a context manager.

    dt, group, symbols as in `read_h5md`.
    """

    def __init__(
        self, path: str | Path, dt: float | None = None, group: str | None = None, *, symbols: list[str] | None = None
    ):
        f, src = _inspect(path, group, symbols)
        try:
            self.dt = _frame_dt(src, dt)
            first = _trajectory(src, src.read(slice(0, 1)), self.dt, slice(0, 1), 1)  # validates symbols
        except BaseException:
            f.close()
            raise
        self._f, self._src = f, src
        self.path, self.group = src.path, src.group
        self.n_frames, self.n_atoms = src.n_frames, src.n_atoms
        self.symbols, self.masses = first.symbols, np.asarray(first.masses)
        self.steps, self.metadata = src.steps, dict(src.metadata)
        self.has_velocities = src.vel is not None
        self._cells: np.ndarray | None = None

    @property
    def cells(self) -> np.ndarray:
        """(n_frames, 3, 3) Å, read once."""
        if self._cells is None:
            cells = np.empty((self.n_frames, 3, 3))
            for s in range(0, self.n_frames, _SCAN_VALUES // 9):
                e = min(self.n_frames, s + _SCAN_VALUES // 9)
                cells[s:e] = self._src.read_cells(slice(s, e), e - s)
            self._cells = cells
        return self._cells

    def _read(self, series, factor: float, atoms, start: int, stop: int | None) -> np.ndarray:
        if not self._f.id.valid:
            raise InputError(f"{self.path} is closed")
        start, stop = self._frames(start, stop)
        atoms = np.arange(self.n_atoms) if atoms is None else np.asarray(atoms, dtype=np.int64)
        if atoms.size and (atoms.min() < 0 or atoms.max() >= self.n_atoms):
            raise InputError(f"{self.path}: atom indices must lie in 0…{self.n_atoms - 1}")
        return _atom_values(series, factor, slice(start, stop), atoms)

    def read_positions(self, atoms=None, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Positions (stop − start, len(atoms), 3) Å of usable frames [start, stop) of `atoms` (all if None)."""
        return self._read(self._src.pos, self._src.length_f, atoms, start, stop)

    def read_velocities(self, atoms=None, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Velocities (stop − start, len(atoms), 3) Å/fs, as `read_positions`."""
        self.require_velocities()
        return self._read(self._src.vel, self._src.vel_f, atoms, start, stop)

    def close(self) -> None:
        """Close the file (reads then raise InputError)."""
        if self._f.id.valid:
            self._f.close()


def iter_h5md(
    path: str | Path,
    chunk: int = 1024,
    dt: float | None = None,
    group: str | None = None,
    *,
    symbols: list[str] | None = None,
) -> Iterator[Trajectory]:
    """Yield the usable frames in consecutive chunks of at most `chunk` frames as Trajectory objects."""
    f, src = _inspect(path, group, symbols)
    with f:
        frame_dt = _frame_dt(src, dt)
        for s in range(0, src.n_frames, chunk):
            sl = slice(s, min(s + chunk, src.n_frames))
            yield _trajectory(src, src.read(sl), frame_dt, sl, 1)
