"""Reading trajectories: H5MD natively, everything else that ASE reads (extxyz, .traj, XDATCAR,
vasprun.xml, LAMMPS dumps …) through `ase.io`, whole or in chunks.

The time step is never guessed: it comes from the file (H5MD time datasets, or a ``time`` entry in
each frame's info, in fs) or from the caller (`dt`, fs between stored frames); otherwise InputError.
It is never overridden either: a `dt` that disagrees with the file's own is an InputError.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from pathlib import Path

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
        if (p / "trajectory.h5").is_file():  # a run folder of `superionic md` or a study
            return p / "trajectory.h5"
        raise InputError(f"{p} is a folder with no trajectory.h5 in it; give a trajectory file")
    return p


def _is_h5md(p: Path) -> bool:
    if p.suffix.lower() in H5MD_SUFFIXES:
        return True
    with open(p, "rb") as fh:
        return fh.read(8) == b"\x89HDF\r\n\x1a\n"


def read_trajectory(
    path: str | Path,
    dt: float | None = None,
    format: str | None = None,
    start: int = 0,
    stop: int | None = None,
    stride: int = 1,
    *,
    symbols: list[str] | None = None,
) -> Trajectory:
    """Read a whole trajectory (frames[start:stop:stride]).

    dt: fs between consecutive frames of the file, for files that store no time; when the file stores
    one, a `dt` that differs from it by more than 1e-6 (relative) is an InputError.
    format: ASE format name (e.g. "vasp-xdatcar", "lammps-dump-text") or "h5md"; guessed if None.
    symbols: chemical symbols for an H5MD file without a species dataset (e.g. written by MDAnalysis).
    """
    p = _check_path(path)
    if format == "h5md" or (format is None and _is_h5md(p)):
        return read_h5md(p, start=start, stop=stop, stride=stride, dt=dt, symbols=symbols)
    chunks = list(iter_trajectory(p, dt=dt, format=format, chunk=10**9, start=start, stop=stop, stride=stride))
    return chunks[0]


def iter_trajectory(
    path: str | Path,
    chunk: int = 1024,
    dt: float | None = None,
    format: str | None = None,
    start: int = 0,
    stop: int | None = None,
    stride: int = 1,
    *,
    symbols: list[str] | None = None,
) -> Iterator[Trajectory]:
    """Yield the trajectory in consecutive chunks of at most `chunk` frames (arguments as in
    `read_trajectory`).
    """
    p = _check_path(path)
    if format == "h5md" or (format is None and _is_h5md(p)):
        if (start, stop, stride) == (0, None, 1):
            yield from iter_h5md(p, chunk=chunk, dt=dt, symbols=symbols)
        else:
            yield read_h5md(p, start=start, stop=stop, stride=stride, dt=dt, symbols=symbols)
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
        if frame_dt is None:
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
    """Fs between the frames of `block` (already strided): from the frames' ``time`` info (fs), or `dt`
    (fs between the file's frames) when they carry none; a `dt` that disagrees with the file is refused.
    """
    t = [a.info.get("time") for a in block[:2]]
    stored = None
    if len(block) >= 2 and t[0] is not None and t[1] is not None and t[1] != t[0]:
        try:
            stored = float(t[1]) - float(t[0])
        except (TypeError, ValueError):
            raise InputError(
                f"{p.name}: the frames' time entries ({t[0]!r}, {t[1]!r}) are not numbers of fs; "
                "remove them or fix them"
            ) from None
    if dt is not None:
        given = float(dt) * stride
        # times written as text carry ~8 significant digits: allow for that on top of 1e-6
        tol = 1e-6 * abs(given) + 1e-7 * max(abs(float(t[0])), abs(float(t[1]))) if stored is not None else 0
        if stored is not None and abs(stored - given) > tol:
            raise InputError(
                f"{p.name} stores dt = {stored / stride:.9g} fs between frames (its time entries); "
                f"--dt {float(dt):g} fs disagrees: drop --dt"
            )
        return stored if stored is not None else given
    if stored is not None:
        if stored < 0:
            raise InputError(
                f"{p.name}: the frames' time entries decrease ({t[0]} → {t[1]} fs); "
                "give the time between frames with --dt"
            )
        return stored
    raise InputError(f"{p.name} does not carry the time between frames: give it with --dt (fs between stored frames)")


def _atoms_to_trajectory(block: list, dt: float) -> Trajectory:
    import ase.units

    symbols = block[0].get_chemical_symbols()
    pos = np.stack([a.get_positions() for a in block])
    cells = np.stack([np.asarray(a.get_cell()) for a in block])
    has_v = all(a.has("momenta") for a in block)
    # ASE velocities are in Å per ASE time unit; × ase.units.fs converts them to Å/fs
    vel = np.stack([a.get_velocities() * ase.units.fs for a in block]) if has_v else None
    return Trajectory(positions=pos, cells=cells, symbols=symbols, dt=dt, velocities=vel, masses=block[0].get_masses())
