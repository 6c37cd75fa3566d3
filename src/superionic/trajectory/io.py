"""Reading trajectories: H5MD natively, everything else that ASE reads (extxyz, .traj, XDATCAR,
vasprun.xml, LAMMPS dumps …) through `ase.io`, whole or in chunks.

The time step is never guessed: it comes from the file (H5MD time datasets, or a ``time`` entry in
each frame's info, in fs) or from the caller (`dt`, fs between stored frames); otherwise InputError.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from ..errors import InputError
from .h5md import iter_h5md, read_h5md
from .model import Trajectory

H5MD_SUFFIXES = {".h5", ".h5md", ".hdf5"}


def _check_path(path: str | Path) -> Path:
    p = Path(path)
    if not p.exists():
        raise InputError(f"trajectory file not found: {p}")
    if p.is_dir():
        raise InputError(f"{p} is a folder; give a trajectory file (for a run folder: {p}/trajectory.h5)")
    return p


def _is_h5md(p: Path) -> bool:
    if p.suffix.lower() in H5MD_SUFFIXES:
        return True
    with open(p, "rb") as fh:
        return fh.read(8) == b"\x89HDF\r\n\x1a\n"


def read_trajectory(path: str | Path, dt: float | None = None, format: str | None = None,
                    start: int = 0, stop: int | None = None, stride: int = 1) -> Trajectory:
    """Read a whole trajectory (frames[start:stop:stride]).

    dt: fs between consecutive frames of the file; overrides the file's own value when given.
    format: ASE format name (e.g. "vasp-xdatcar", "lammps-dump-text"); guessed from the name if None.
    """
    p = _check_path(path)
    if format in (None, "h5md") and _is_h5md(p):
        return read_h5md(p, start=start, stop=stop, stride=stride, dt=dt)
    chunks = list(iter_trajectory(p, dt=dt, format=format, chunk=10**9, start=start, stop=stop, stride=stride))
    return chunks[0]


def iter_trajectory(path: str | Path, chunk: int = 1024, dt: float | None = None, format: str | None = None,
                    start: int = 0, stop: int | None = None, stride: int = 1) -> Iterator[Trajectory]:
    """Yield the trajectory in consecutive chunks of at most `chunk` frames (dt as in `read_trajectory`)."""
    p = _check_path(path)
    if format in (None, "h5md") and _is_h5md(p):
        if (start, stop, stride) == (0, None, 1):
            yield from iter_h5md(p, chunk=chunk, dt=dt)
        else:
            yield read_h5md(p, start=start, stop=stop, stride=stride, dt=dt)
        return
    frames = _ase_frames(p, format)
    frames = itertools.islice(frames, start, stop, stride)
    first = True
    frame_dt = None
    while True:
        block = list(itertools.islice(frames, chunk))
        if not block:
            if first:
                raise InputError(f"{p} holds no frames")
            return
        if first:
            frame_dt = _frame_dt(block, dt, p, stride)
            first = False
        yield _atoms_to_trajectory(block, frame_dt)


def _ase_frames(p: Path, format: str | None) -> Iterable:
    import ase.io
    try:
        fmt = format or ase.io.formats.filetype(str(p), guess=True)
    except Exception as err:  # ase raises UnknownFileTypeError or others
        raise InputError(
            f"cannot tell the format of {p} ({err}); give it with --format "
            "(an ASE format name such as extxyz, traj, vasp-xdatcar, vasp-xml, lammps-dump-text)"
        ) from None
    if fmt not in ase.io.formats.ioformats:
        raise InputError(
            f"unknown trajectory format {fmt!r} for {p.name}; give an ASE format name with --format "
            "(extxyz, traj, vasp-xdatcar, vasp-xml, lammps-dump-text, …) or use H5MD (.h5)"
        )
    try:
        it = ase.io.iread(str(p), index=":", format=fmt)
        first = next(it)
    except StopIteration:
        raise InputError(f"{p} holds no frames") from None
    except Exception as err:
        raise InputError(f"could not read {p} as {fmt}: {err}") from None
    return itertools.chain([first], it)


def _frame_dt(block: list, dt: float | None, p: Path, stride: int) -> float:
    if dt is not None:
        return float(dt) * stride
    t = [a.info.get("time") for a in block[:2]]
    if len(block) >= 2 and t[0] is not None and t[1] is not None and t[1] != t[0]:
        return float(t[1] - t[0])
    raise InputError(
        f"{p.name} does not carry the time between frames: give it with --dt (fs between stored frames)"
    )


def _atoms_to_trajectory(block: list, dt: float) -> Trajectory:
    import ase.units
    symbols = block[0].get_chemical_symbols()
    pos = np.stack([a.get_positions() for a in block])
    cells = np.stack([np.asarray(a.get_cell()) for a in block])
    has_v = all(a.has("momenta") for a in block)
    # ASE velocities are in Å per ASE time unit; × ase.units.fs converts them to Å/fs
    vel = np.stack([a.get_velocities() * ase.units.fs for a in block]) if has_v else None
    return Trajectory(positions=pos, cells=cells, symbols=symbols, dt=dt, velocities=vel,
                      masses=block[0].get_masses())
