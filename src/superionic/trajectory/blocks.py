"""Trajectories in bounded memory: frame sources, atom blocks, time chunks, unwrapping across chunks.

The per-atom analyses (MSD, α₂, Green–Kubo, VACF/VDOS, F_s(Q,t)) are sums over atoms of all-origin
correlations of each atom's whole time series. They stream over ATOM BLOCKS: every frame of a few atoms
at a time, the block size chosen from a memory budget (`atom_blocks`), so memory is
O(frames × block) however long the run. The quantities that need all atoms at once (the framework drift,
a charge displacement, host currents at small Q) are per-frame sums over atoms: one pass over TIME
CHUNKS of all atoms (`time_chunks`, `position_sums`), unwrapping continued from chunk to chunk
(`Unwrapper`, the same arithmetic as `unwrap_positions` on the whole run).

A source is an open trajectory that reads any frames × atoms piece on demand (`FrameSource`):
`H5MDReader` (an H5MD file, checked once when opened, read piece by piece) or `TrajectorySource` (a
Trajectory already in memory, e.g. of a format only ASE reads). `open_trajectory` gives the right one for
a path; the `*_from_file` analyses accept a path, a source or a Trajectory (docs/trajectories.md, "Memory").
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..errors import InputError
from .model import Trajectory
from .unwrap import Unwrapper

#: bytes for the arrays of one atom block (every frame of the block's atoms); the FFT kernels add a
#: bounded workspace of their own (~100–250 MB, independent of the run length)
MEMORY_BUDGET = 256 * 2**20
#: float64 values (frames × atoms × 3) per time chunk when streaming over time (16 MB per array)
CHUNK_VALUES = 1 << 21


def atom_blocks(
    atoms, n_frames: int, bytes_per_atom_frame: float, memory: int | None = None, block_atoms: int | None = None
) -> list[np.ndarray]:
    """Split `atoms` (index array, order kept) into consecutive blocks of equal size (the last smaller).

    The size is `block_atoms` when given, else the most atoms whose arrays, `bytes_per_atom_frame`
    bytes per atom and frame, fit `memory` bytes (default MEMORY_BUDGET); at least one atom.
    """
    atoms = np.asarray(atoms, dtype=np.int64)
    if block_atoms is None:
        budget = MEMORY_BUDGET if memory is None else int(memory)
        block_atoms = int(budget // max(1.0, float(n_frames) * bytes_per_atom_frame))
    block_atoms = max(1, int(block_atoms))
    return [atoms[i : i + block_atoms] for i in range(0, len(atoms), block_atoms)]


def time_chunks(n_frames: int, n_atoms: int, values: int | None = None) -> Iterator[tuple[int, int]]:
    """Consecutive (start, stop) frame ranges of at most `values` (default CHUNK_VALUES) / (3 n_atoms)
    frames (at least one).
    """
    values = CHUNK_VALUES if values is None else values
    rows = max(1, int(values) // max(1, 3 * int(n_atoms)))
    for s in range(0, int(n_frames), rows):
        yield s, min(int(n_frames), s + rows)


# ----------------------------------------------------------------------------- sources
class FrameSource:
    """An open trajectory read piece by piece (the subclasses say from where).

    Facts as on a Trajectory: n_frames, n_atoms, symbols, masses (amu), dt (fs between frames), steps,
    metadata, cells ((n_frames, 3, 3) Å, all frames), species, indices(), species_list(), max_lag(),
    volume(); has_velocities. Reads: `read_positions(atoms, start, stop)` and `read_velocities(…)` give
    (stop − start, len(atoms), 3) float64 arrays (Å, Å/fs) of frames [start, stop) of the atoms `atoms`
    (an index array; all atoms if None), new arrays the caller may change.
    """

    n_frames: int
    n_atoms: int
    symbols: list[str]
    masses: np.ndarray
    dt: float
    steps: np.ndarray | None
    metadata: dict
    has_velocities: bool

    # the selection rules are the Trajectory's own
    @property
    def species(self) -> list[str]:
        """Distinct chemical symbols in order of first appearance."""
        return list(dict.fromkeys(self.symbols))

    def indices(self, species: str | None = None) -> np.ndarray:
        """Atom indices of one species (all atoms if None), as `Trajectory.indices`."""
        return Trajectory.indices(self, species)  # type: ignore[arg-type]

    def species_list(self, species: str | list[str] | None = None) -> list[str]:
        """Validated list of species, as `Trajectory.species_list`."""
        return Trajectory.species_list(self, species)  # type: ignore[arg-type]

    def max_lag(self, max_lag: int | None = None, minimum: int = 2) -> int:
        """Number of correlation lags (frames), as `Trajectory.max_lag`."""
        return Trajectory.max_lag(self, max_lag, minimum)  # type: ignore[arg-type]

    @property
    def cells(self) -> np.ndarray:
        """(n_frames, 3, 3) Å, every frame."""
        raise NotImplementedError

    def volume(self) -> float:
        """Mean cell volume, Å³."""
        return float(np.mean(np.abs(np.linalg.det(self.cells))))

    def require_velocities(self) -> None:
        """InputError when the trajectory has no velocities."""
        if not self.has_velocities:
            raise InputError(
                "this trajectory has no velocities, which the VDOS needs: write them during MD "
                "(superionic md stores them by default) or read a format that carries them (H5MD, extxyz, ASE .traj)"
            )

    def read_positions(self, atoms=None, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Positions (stop − start, len(atoms), 3) Å of frames [start, stop) of `atoms` (all if None)."""
        raise NotImplementedError

    def read_velocities(self, atoms=None, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Velocities (stop − start, len(atoms), 3) Å/fs, as `read_positions`."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the file (nothing for a source in memory)."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _frames(self, start: int, stop: int | None) -> tuple[int, int]:
        stop = self.n_frames if stop is None else int(stop)
        start = int(start)
        if not 0 <= start <= stop <= self.n_frames:
            raise InputError(f"frames [{start}, {stop}) are not within the {self.n_frames} frames")
        return start, stop

    def __repr__(self) -> str:
        formula = "".join(f"{s}{self.symbols.count(s)}" for s in self.species)
        vel = "with" if self.has_velocities else "without"
        return f"{type(self).__name__}({formula}, {self.n_frames} frames, dt={self.dt:g} fs, {vel} velocities)"


class TrajectorySource(FrameSource):
    """A Trajectory in memory as a FrameSource (for formats read whole, and for tests)."""

    def __init__(self, traj: Trajectory):
        self.traj = traj
        self.n_frames, self.n_atoms = traj.n_frames, traj.n_atoms
        self.symbols, self.masses, self.dt = traj.symbols, np.asarray(traj.masses), traj.dt
        self.steps, self.metadata = traj.steps, traj.metadata
        self.has_velocities = traj.velocities is not None

    @property
    def cells(self) -> np.ndarray:
        """(n_frames, 3, 3) Å."""
        return self.traj.cells

    def _piece(self, arr: np.ndarray, atoms, start: int, stop: int | None) -> np.ndarray:
        start, stop = self._frames(start, stop)
        if atoms is None:
            return np.array(arr[start:stop])
        return arr[start:stop, np.asarray(atoms, dtype=np.int64)]  # fancy index: a new array

    def read_positions(self, atoms=None, start: int = 0, stop: int | None = None) -> np.ndarray:
        """A copy of positions[start:stop, atoms], Å."""
        return self._piece(self.traj.positions, atoms, start, stop)

    def read_velocities(self, atoms=None, start: int = 0, stop: int | None = None) -> np.ndarray:
        """A copy of velocities[start:stop, atoms], Å/fs."""
        return self._piece(self.traj.require_velocities(), atoms, start, stop)


def open_trajectory(
    trajectory, dt: float | None = None, format: str | None = None, *, symbols: list[str] | None = None
) -> FrameSource:
    """A FrameSource for a path (H5MD: an `H5MDReader`, checked once and read piece by piece; any other
    format is read whole through ASE), a Trajectory, or a FrameSource (returned as it is).
    """
    if isinstance(trajectory, FrameSource):
        return trajectory
    if isinstance(trajectory, Trajectory):
        return TrajectorySource(trajectory)
    from .io import _check_path, _is_h5md, read_trajectory

    p = _check_path(Path(trajectory))
    if format == "h5md" or (format is None and _is_h5md(p)):
        from .h5md_read import H5MDReader

        return H5MDReader(p, dt=dt, symbols=symbols)
    return TrajectorySource(read_trajectory(p, dt=dt, format=format, symbols=symbols))


@contextlib.contextmanager
def opened(
    trajectory, dt: float | None = None, format: str | None = None, *, symbols: list[str] | None = None
) -> Iterator[FrameSource]:
    """`open_trajectory` as a context: closes what it opened, never a source it was given."""
    src = open_trajectory(trajectory, dt, format, symbols=symbols)
    try:
        yield src
    finally:
        if src is not trajectory:
            src.close()


# ----------------------------------------------------------------------------- block readers
def unwrapped_positions(src: FrameSource, atoms) -> np.ndarray:
    """Every frame of `atoms`, unwrapped: (n_frames, len(atoms), 3) Å, equal to
    ``unwrap_positions(positions, cells)[:, atoms]``; the only full-size array is the result.
    """
    pos = src.read_positions(atoms)
    cells = src.cells
    unwrap = Unwrapper()
    for s, e in time_chunks(len(pos), pos.shape[1]):
        unwrap(pos[s:e], cells[s:e], out=pos[s:e])
    return pos


def position_sums(src: FrameSource, groups: list[np.ndarray]) -> np.ndarray:
    """Σ over the atoms of each group of the unwrapped positions, per frame: (n_frames, len(groups), 3) Å.

    One pass over time chunks of the atoms of all groups (unwrapping continued across chunks).
    """
    groups = [np.asarray(g, dtype=np.int64) for g in groups]
    atoms = np.unique(np.concatenate(groups)) if groups else np.zeros(0, np.int64)
    where = [np.searchsorted(atoms, g) for g in groups]
    out = np.zeros((src.n_frames, len(groups), 3))
    if atoms.size == 0:
        return out
    cells = src.cells
    unwrap = Unwrapper()
    for s, e in time_chunks(src.n_frames, atoms.size):
        r = unwrap(src.read_positions(atoms, s, e), cells[s:e])
        for k, w in enumerate(where):
            out[s:e, k] = r[:, w].sum(axis=1)
    return out
