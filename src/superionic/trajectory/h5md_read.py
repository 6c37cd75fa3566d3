"""Reading H5MD trajectories (the writer is in `h5md`, which re-exports everything here).

Reading returns only frames that are really in the file (see `_Source.check`): frames cut off by a
truncated file, never written, non-finite or out of step at the end are dropped with a TrajectoryWarning;
damage followed by intact frames, and files that are empty, not HDF5 or not H5MD, are an InputError.
Units are taken from the ``unit`` attributes (Å/nm/pm, fs/ps/ns, their velocity quotients) and converted
to Å, fs and Å/fs; files of other programs (MDAnalysis: group ``trajectory``, no species) read too.

Three ways in, all checking the file first: `read_h5md` (whole frames, or the atoms named by ``atoms=``
only), `iter_h5md` (consecutive chunks of frames), and `H5MDReader`, an open, checked file that reads any
frames × atoms piece on demand in bounded memory; the streaming analyses use it
(`trajectory.blocks`, docs/trajectories.md "Memory").
"""

from __future__ import annotations

import functools
import json
import os
import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from ..errors import InputError
from .blocks import FrameSource
from .model import Trajectory, symbol_of

# A file is checked before any number leaves it (docs/trajectories.md, "Reading H5MD safely"):
#  * it must be a non-empty HDF5 file with /h5md and /particles; a byte-truncated file is opened in SWMR
#    mode (which skips HDF5's end-of-file check) with few metadata read attempts, so that damaged metadata
#    fails in milliseconds instead of HDF5's ~100 retries with back-off;
#  * frames whose bytes lie beyond the end of the file, or in chunks never written, read as zeros in HDF5:
#    they are found from the chunk index (byte offsets) and never used;
#  * then every frame is checked: MD steps evenly spaced and the same in every time series, times evenly
#    spaced, positions/velocities/cells finite, positions not all exactly 0 (unwritten data), cells not
#    singular. Bad frames at the end (a killed writer, a cut file) are dropped with a warning; a bad frame
#    followed by good ones (a damaged middle, a gap in the steps) is refused.

_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
#: metadata read attempts in SWMR mode (HDF5's default is 100, with sleeps between them)
_SWMR_READ_ATTEMPTS = 5
#: values (frames × atoms × 3) per block when scanning data: bounded memory for long runs
_SCAN_VALUES = 1 << 22


class TrajectoryWarning(UserWarning):
    """Frames of a trajectory file were dropped or an assumption was made (the message says which)."""


def _warn(message: str) -> None:
    warnings.warn(message, TrajectoryWarning, stacklevel=3)


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err.args[0] if isinstance(err, KeyError) and err.args else err).split())
    return text or type(err).__name__


# -- units ---------------------------------------------------------------------
#: unit symbols: (power of length, power of time, factor to Å^a fs^b)
_SYMBOLS: dict[str, tuple[int, int, float]] = {
    **{s: (1, 0, 1.0) for s in ("angstrom", "Angstrom", "ANGSTROM", "A", "Å", "Ang", "ang")},
    "nm": (1, 0, 10.0),
    "pm": (1, 0, 1e-2),
    "fm": (1, 0, 1e-5),
    "um": (1, 0, 1e4),
    "µm": (1, 0, 1e4),
    "mm": (1, 0, 1e7),
    "cm": (1, 0, 1e8),
    "m": (1, 0, 1e10),
    "bohr": (1, 0, 0.529177210903),
    "fs": (0, 1, 1.0),
    "ps": (0, 1, 1e3),
    "ns": (0, 1, 1e6),
    "as": (0, 1, 1e-3),
    "us": (0, 1, 1e9),
    "µs": (0, 1, 1e9),
    "ms": (0, 1, 1e12),
    "s": (0, 1, 1e15),
    "sec": (0, 1, 1e15),
    "second": (0, 1, 1e15),
    "AKMA": (0, 1, 48.88821),
}
_KINDS = {"length": (1, 0), "time": (0, 1), "velocity": (1, -1)}
_UNIT_HELP = {"length": "angstrom, nm, pm", "time": "fs, ps, ns", "velocity": "'angstrom fs-1', 'nm ps-1', 'A/ps'"}


def unit_factor(text: str, kind: str) -> float | None:
    """Factor converting values in unit `text` (H5MD/UDUNITS spelling, e.g. "nm", "ps", "nm ps-1", "A/ps",
    "0.1 nm") to Å, fs or Å/fs for kind "length", "time" or "velocity"; None if not understood.
    """
    tokens = str(text).replace("/", " / ").split()
    factor, dims, sign = 1.0, [0, 0], 1
    if tokens:
        try:
            factor = float(tokens[0])
            tokens = tokens[1:]
        except ValueError:
            pass
    if not tokens:
        return None
    for tok in tokens:
        if tok == "/":
            sign = -1
            continue
        m = re.fullmatch(r"(.*?[^\d+-])([+-]?\d+)?", tok)
        if m is None:
            return None
        sym, power = m.group(1), int(m.group(2) or 1)
        if sym not in _SYMBOLS or power == 0:
            return None
        a, b, f = _SYMBOLS[sym]
        dims[0] += sign * power * a
        dims[1] += sign * power * b
        factor *= f ** (sign * power)
    return factor if tuple(dims) == _KINDS[kind] and np.isfinite(factor) and factor > 0 else None


# -- opening ---------------------------------------------------------------------
def _has_hdf5_signature(p: Path, size: int) -> bool:
    """An HDF5 superblock starts at byte 0, 512, 1024, 2048 … (after an optional user block)."""
    with open(p, "rb") as fh:
        off = 0
        while off + 8 <= size:
            fh.seek(off)
            if fh.read(8) == _HDF5_SIGNATURE:
                return True
            off = 512 if off == 0 else off * 2
    return False


@functools.cache
def _set_read_attempts_fn():
    """H5Pset_metadata_read_attempts of the HDF5 library h5py uses (h5py does not wrap it), or None."""
    import ctypes
    import glob

    candidates = []
    try:
        with open("/proc/self/maps") as fh:
            for line in fh:
                path = line.split()[-1] if len(line.split()) >= 6 else ""
                name = os.path.basename(path)
                if name.startswith("libhdf5") and not name.startswith("libhdf5_hl"):
                    candidates.append(path)
    except OSError:
        pass
    here = os.path.dirname(h5py.__file__)
    for pattern in ("../h5py.libs/libhdf5*", ".dylibs/libhdf5*", "hdf5*.dll"):
        candidates += [c for c in glob.glob(os.path.join(here, pattern)) if "_hl" not in os.path.basename(c)]
    want = tuple(int(x) for x in h5py.version.hdf5_version.split(".")[:3])
    for path in dict.fromkeys(sorted(candidates, key=lambda c: "h5py" not in c)):
        try:
            lib = ctypes.CDLL(path)
            major, minor, release = ctypes.c_uint(), ctypes.c_uint(), ctypes.c_uint()
            if lib.H5get_libversion(ctypes.byref(major), ctypes.byref(minor), ctypes.byref(release)) < 0:
                continue
            if (major.value, minor.value, release.value) != want:
                continue  # another HDF5 in the process: its ids are not h5py's
            fn = lib.H5Pset_metadata_read_attempts
        except (OSError, AttributeError):
            continue
        fn.argtypes = [ctypes.c_int64, ctypes.c_uint]
        fn.restype = ctypes.c_int
        return fn
    return None


def _open_swmr(p: Path) -> h5py.File:
    fn = _set_read_attempts_fn()
    if fn is None:
        return h5py.File(p, "r", swmr=True)
    fapl = h5py.h5p.create(h5py.h5p.FILE_ACCESS)
    fapl.set_fclose_degree(h5py.h5f.CLOSE_STRONG)
    if fn(fapl.id, _SWMR_READ_ATTEMPTS) < 0:
        return h5py.File(p, "r", swmr=True)
    fid = h5py.h5f.open(os.fsencode(p), h5py.h5f.ACC_RDONLY | h5py.h5f.ACC_SWMR_READ, fapl=fapl)
    return h5py.File(fid)


def _open(path: str | Path) -> tuple[h5py.File, str | None]:
    """Open an H5MD file read-only; returns (file, note) where note says why the file is damaged, or None.

    A cleanly closed file opens normally; a file whose writer was killed (or is still writing) opens in
    SWMR mode; so does a byte-truncated file, whose missing frames the caller must then find.
    """
    p = Path(path)
    try:
        size = p.stat().st_size
    except OSError as err:
        raise InputError(f"cannot read {p}: {err.strerror or err}") from None
    if size == 0:
        raise InputError(
            f"{p} is empty (0 bytes), not a trajectory: an MD run that never wrote a frame, or an interrupted copy"
        )
    if not _has_hdf5_signature(p, size):
        raise InputError(
            f"{p} is not an HDF5 file (no HDF5 signature in its {size} bytes), so not an H5MD "
            "trajectory: check the file, or name its format with --format"
        )
    try:
        return h5py.File(p, "r"), None
    except OSError as err:
        first = _one_line(err)
    note = None
    m = re.search(r"eof = (\d+).*stored_eof = (\d+)", first)
    if m:
        note = (
            f"the file is {int(m.group(1))} bytes but its HDF5 header says {int(m.group(2))} bytes: it was "
            "cut short (an interrupted copy or a full disk?)"
        )
    try:
        return _open_swmr(p), note
    except Exception as err:  # h5py raises OSError, RuntimeError, KeyError … on damaged files
        raise InputError(
            f"cannot open {p} as HDF5 ({note or first}; {_one_line(err)}): the file is "
            "damaged; copy it again from the machine that wrote it"
        ) from None


# -- the file's structure -----------------------------------------------------------
def _time_eps(time) -> float:
    """Machine epsilon of a stored time dataset (its own float type; float64 for integers or none)."""
    dtype = getattr(time, "dtype", None)
    return float(np.finfo(dtype if dtype is not None and dtype.kind == "f" else float).eps)


class _Series:
    """One H5MD time-dependent element (value/step/time), or a time-independent dataset (fixed)."""

    def __init__(self, obj, name: str):
        self.name = name
        if isinstance(obj, h5py.Dataset):
            self.value, self.step, self.time, self.fixed = obj, None, None, True
            return
        if "value" not in obj or not isinstance(obj["value"], h5py.Dataset):
            raise InputError(f"{name} has no value dataset: not a valid H5MD element")
        if "step" not in obj:
            raise InputError(f"{name} has no step dataset: not a valid H5MD time series")
        self.value, self.step, self.fixed = obj["value"], obj["step"], False
        self.time = obj.get("time")

    def lengths(self) -> list[int]:
        if self.fixed:
            return []
        out = [self.value.shape[0] if self.value.ndim else 0]
        out += [d.shape[0] for d in (self.step, self.time) if d is not None and d.ndim]
        return out

    def datasets(self) -> list[h5py.Dataset]:
        if self.fixed:
            return []
        return [d for d in (self.value, self.step, self.time) if d is not None and d.ndim]

    @staticmethod
    def _axis(d: h5py.Dataset | None, n: int) -> np.ndarray | None:
        """Explicit (F,) dataset, or H5MD's fixed form: a scalar increment with an optional offset."""
        if d is None:
            return None
        if d.ndim:
            return d[:n]
        return d.attrs.get("offset", 0) + np.arange(n) * d[()]

    def steps(self, n: int) -> np.ndarray | None:
        return None if self.fixed else self._axis(self.step, n)

    def times(self, n: int) -> np.ndarray | None:
        return None if self.fixed else self._axis(self.time, n)


def frame_ranges(frames: np.ndarray) -> str:
    """[3, 4, 5, 9] → '3–5, 9' (at most four ranges shown)."""
    runs: list[list[int]] = []
    for f in (int(x) for x in frames):
        if runs and f == runs[-1][1] + 1:
            runs[-1][1] = f
        else:
            runs.append([f, f])
    text = ", ".join(f"{a}" if a == b else f"{a}–{b}" for a, b in runs[:4])
    return text + (f" and {len(runs) - 4} more ranges" if len(runs) > 4 else "")


def _attr_str(obj, name: str) -> str | None:
    v = obj.attrs.get(name)
    if v is None:
        return None
    if isinstance(v, np.ndarray):
        v = v.reshape(-1)[0] if v.size else ""
    return v.decode() if isinstance(v, bytes) else str(v)


def _stored_rows(ds: h5py.Dataset, n: int, fsize: int) -> int:
    """How many leading rows (axis 0, at most n) of `ds` have all their bytes inside the file.

    HDF5 reads chunks lying beyond the end of a truncated file, and chunks never written, as zeros; only
    the chunk index tells them apart from real data.
    """
    if n == 0 or ds.ndim == 0:
        return n
    dcpl = ds.id.get_create_plist()
    layout = dcpl.get_layout()
    row_bytes = ds.dtype.itemsize * int(np.prod(ds.shape[1:], dtype=np.int64))
    if layout == h5py.h5d.CONTIGUOUS:
        off = ds.id.get_offset()
        if off is None:
            return 0
        return int(min(n, max(0, (fsize - off) // row_bytes))) if row_bytes else n
    if layout != h5py.h5d.CHUNKED:
        return n
    cshape = ds.chunks
    rows = cshape[0]
    per_block = int(np.prod([-(-s // c) for s, c in zip(ds.shape[1:], cshape[1:])], dtype=np.int64))
    crow_bytes = ds.dtype.itemsize * int(np.prod(cshape[1:], dtype=np.int64))
    unfiltered = dcpl.get_nfilters() == 0
    complete: dict[int, int] = {}
    partial: dict[int, int] = {}

    def visit(info) -> None:
        start = info.chunk_offset[0]
        if start >= n or info.byte_offset is None:
            return
        if info.byte_offset + info.size <= fsize:
            complete[start] = complete.get(start, 0) + 1
        elif per_block == 1 and unfiltered and crow_bytes:
            partial[start] = max(0, (fsize - info.byte_offset) // crow_bytes)

    try:
        if hasattr(ds.id, "chunk_iter"):
            ds.id.chunk_iter(visit)
        else:  # pragma: no cover - older h5py
            for i in range(ds.id.get_num_chunks()):
                visit(ds.id.get_chunk_info(i))
    except Exception:
        pass  # a chunk index cut short: the chunks listed before the damage are all that is known
    k = 0
    while k < n:
        if complete.get(k, 0) < per_block:
            return int(min(n, k + partial.get(k, 0)))
        k += rows
    return n


class _Source:
    """An open H5MD file: its particle group, species, units, and (after `check`) its usable frames."""

    def __init__(self, f: h5py.File, path: Path, note: str | None, group: str | None, symbols: list[str] | None):
        self.f, self.path, self.note = f, path, note
        self.fsize = path.stat().st_size
        if "h5md" not in f or "particles" not in f:
            raise InputError(f"{path} is an HDF5 file but not H5MD (no /h5md or /particles group)")
        groups = list(f["particles"].keys())
        if group is None:
            if "all" in groups or len(groups) != 1:
                group = "all"
            else:
                group = groups[0]
        if group not in groups:
            raise InputError(f"{path} has no particle group {group!r}; it has {groups}")
        g = f["particles"][group]
        self.group = group
        self.ours = (
            "parameters/superionic" in f or _attr_str(f["h5md"].get("creator", f["h5md"]), "name") == "superionic"
        )
        if "position" not in g:
            raise InputError(f"{path}: /particles/{group} has no position data; superionic needs positions")
        self.pos = _Series(g["position"], "position")
        self.vel = _Series(g["velocity"], "velocity") if "velocity" in g else None
        if "box" not in g or "edges" not in g["box"]:
            raise InputError(f"{path}: /particles/{group} has no box edges; superionic needs a periodic cell")
        boundary = [
            b.decode() if isinstance(b, bytes) else str(b)
            for b in np.atleast_1d(g["box"].attrs.get("boundary", ["periodic"] * 3))
        ]
        if any(b != "periodic" for b in boundary):
            raise InputError(f"{path}: the box boundary is {boundary}; superionic needs a periodic 3-D cell")
        self.box = _Series(g["box/edges"], "box/edges")
        self.n_atoms = self.pos.value.shape[1] if self.pos.value.ndim == 3 else -1
        if self.pos.value.ndim != 3 or self.pos.value.shape[2] != 3:
            raise InputError(f"{path}: positions have shape {self.pos.value.shape}, expected (frames, atoms, 3)")
        if self.vel is not None and self.vel.value.shape[1:] != self.pos.value.shape[1:]:
            raise InputError(f"{path}: velocities have shape {self.vel.value.shape}, positions {self.pos.value.shape}")
        if self.box.value.shape[1 - self.box.fixed :] not in ((3,), (3, 3)):
            raise InputError(
                f"{path}: box edges have shape {self.box.value.shape}, expected a 3-vector or 3×3 matrix (per frame)"
            )
        self.symbols, self.masses = self._species(g, symbols)
        self._missing_units: list[str] = []
        self.length_f = self._unit(self.pos.value, "length")
        self.box_f = self._unit(self.box.value, "length")
        self.vel_f = self._unit(self.vel.value, "velocity") if self.vel is not None else 1.0
        self.time_f = self._unit(self.pos.time, "time") if self.pos.time is not None else 1.0
        p = f.get("parameters/superionic")
        self.metadata = json.loads(p.attrs["metadata_json"]) if p is not None and "metadata_json" in p.attrs else {}
        self.dt_step = float(p.attrs["dt_step_fs"]) if p is not None and "dt_step_fs" in p.attrs else None
        if self._missing_units:
            _warn(
                f"{path} has no unit attribute on {', '.join(self._missing_units)}; assuming angstrom, fs "
                "and angstrom fs-1 (superionic's units): check the numbers"
            )

    def _species(self, g, symbols):
        """Chemical symbols (given, or from the species dataset as atomic numbers) and masses (amu) or None."""
        n = self.n_atoms
        masses = None
        if "mass" in g and isinstance(g["mass"], h5py.Dataset) and g["mass"].shape == (n,):
            masses = g["mass"][()].astype(float)
        if symbols is not None:
            symbols = [str(s) for s in symbols]
            if len(symbols) != n:
                raise InputError(f"{len(symbols)} symbols given for the {n} atoms of {self.path}")
            return symbols, masses
        if "species" not in g or not isinstance(g["species"], h5py.Dataset):
            raise InputError(
                f"{self.path} has no /particles/{self.group}/species (atomic numbers), so the "
                "elements are unknown: add it, or pass symbols=[…] when reading"
            )
        z = np.asarray(g["species"][()])
        if z.ndim == 2:  # time-dependent species: take the first frame's
            z = z[0]
        if z.shape != (n,) or z.dtype.kind not in "iu" or z.min(initial=1) < 1 or z.max(initial=1) > 118:
            raise InputError(
                f"{self.path}: /particles/{self.group}/species is not {n} atomic numbers (1–118); "
                "pass symbols=[…] when reading"
            )
        return [symbol_of(int(x)) for x in z], masses

    def _unit(self, ds, kind: str) -> float:
        """Factor to Å, fs or Å/fs from the dataset's unit attribute."""
        text = _attr_str(ds, "unit")
        if text is None:
            if not self.ours:
                self._missing_units.append(ds.name)
            return 1.0
        factor = unit_factor(text, kind)
        if factor is None:
            raise InputError(
                f"{self.path}: unit {text!r} of {ds.name} is not a {kind} unit superionic "
                f"knows (e.g. {_UNIT_HELP[kind]})"
            )
        return factor

    # -- checking ----------------------------------------------------------------------
    def _series(self) -> list[_Series]:
        return [s for s in (self.pos, self.vel, self.box) if s is not None]

    def check(self, keep: bool = False) -> None:
        """Find the usable frames: sets n_frames, steps, dt (fs between frames or None); keeps the converted
        arrays of all usable frames when `keep` (one pass over the data instead of two).
        """
        path = self.path
        n0 = min(x for s in self._series() for x in s.lengths())
        if n0 == 0:
            raise InputError(f"{path} holds no frames (an MD run stopped before its first chunk was flushed?)")
        # 1. bytes: frames stored beyond the end of the file or in chunks never written
        n1, why_end = n0, None
        for ds in (d for s in self._series() for d in s.datasets()):
            k = _stored_rows(ds, n0, self.fsize)
            if k < n1:
                n1 = k
                why_end = f"its data ({ds.name}) is missing from the file" + (
                    f": {self.note}" if self.note else " (a truncated file, or a writer killed mid-write)"
                )
        bad: dict[str, np.ndarray] = {}  # reason → frames it applies to
        # 2. steps and times
        try:
            steps = np.asarray(self.pos.steps(n1), dtype=np.int64)
            other = [(s.name, s.steps(n1)) for s in (self.vel, self.box) if s is not None and not s.fixed]
            times = self.pos.times(n1)
        except Exception as err:
            raise InputError(f"cannot read the steps/times of {path}: {_one_line(err)}") from None
        for name, st in other:
            bad[f"the MD step differs between {name} and position"] = np.asarray(st) != steps
        d_step = self._spacing(np.diff(steps))
        bad_step = np.zeros(n1, bool)
        if n1 > 1:
            bad_step[1:] = np.diff(steps) != d_step if d_step else True
        bad["the MD step breaks the even spacing" + (f" of {d_step} steps" if d_step else "")] = bad_step
        self.dt, self.dt_tol = None, 0.0
        if times is not None and n1 > 1:
            times = np.asarray(times, dtype=float)
            dts = np.diff(times)
            dt_est = float(np.median(dts))
            if dt_est > 0:
                eps = _time_eps(self.pos.time)
                tol = 1e-6 * dt_est + 4 * eps * float(np.max(np.abs(times)))
                bt = np.zeros(n1, bool)
                bt[1:] = np.abs(dts - dt_est) > tol
                bad[f"the time breaks the even spacing of {dt_est * self.time_f:g} fs"] = bt
            else:
                _warn(
                    f"{path}: the stored times do not increase; ignoring them (give the time between frames with --dt)"
                )
                times = None
        # 3. values, in blocks (their reasons come first in messages)
        flags: dict[str, np.ndarray] = {}
        kept, stop, why_read = self._scan(n1, flags, keep)
        if stop < n1:
            n1, why_end = stop, why_read
        bad = {k: v[:n1] for k, v in {**flags, **bad}.items()}
        any_bad = np.zeros(n1, bool)
        for v in bad.values():
            any_bad |= v
        first = int(np.argmax(any_bad)) if any_bad.any() else n1
        if first < n1:
            reason = next(k for k, v in bad.items() if v[first])
            where = f"frames {frame_ranges(np.flatnonzero(bad[reason]))} of {n0}"
            if not any_bad[first:].all():
                good_after = first + int(np.argmin(any_bad[first:]))
                raise InputError(
                    f"{path}: {reason} in {where} (first: frame {first}, MD step {steps[first]}), but frame "
                    f"{good_after} after it is intact: the file is damaged in the middle and superionic does not "
                    f"skip frames; use the {first} frames before it (stop={first}) or repair the file"
                )
            why_end = f"{reason} in frame {first} (MD step {steps[first]})"
        n = first
        if n == 0:
            raise InputError(f"{path} holds no usable frame: {why_end}")
        if n < n0:
            _warn(f"{path}: read the first {n} of {n0} frames; dropped the last {n0 - n} frames because {why_end}")
        self.n_frames = n
        self.steps = steps[:n]
        if times is not None and n > 1:
            self.dt = float(times[n - 1] - times[0]) / (n - 1) * self.time_f
            eps = _time_eps(self.pos.time)
            self.dt_tol = 1e-6 * self.dt + 4 * eps * float(np.max(np.abs(times[:n]))) * self.time_f / (n - 1)
        elif n > 1 and self.dt_step is not None and d_step:
            self.dt = self.dt_step * d_step
            self.dt_tol = 1e-6 * self.dt
        self.kept = None if kept is None else {k: None if v is None else v[:n] for k, v in kept.items()}

    @staticmethod
    def _spacing(d: np.ndarray) -> int | None:
        """The usual (most frequent) positive step difference, or None."""
        d = d[d > 0]
        if d.size == 0:
            return None
        vals, counts = np.unique(d, return_counts=True)
        return int(vals[np.argmax(counts)])

    def _block_rows(self) -> int:
        return max(1, _SCAN_VALUES // max(1, 3 * self.n_atoms))

    def _scan(self, n: int, bad: dict[str, np.ndarray], keep: bool):
        """Read frames [0, n) in blocks, flag non-finite, all-zero (never written) and singular frames;
        returns (kept arrays or None, frames read before a read error, why reading stopped).
        """
        flags: dict[str, np.ndarray] = {
            k: np.zeros(n, bool)
            for k in (
                "positions are not finite (NaN or inf: the run blew up, or its writer was killed mid-write)",
                "velocities are not finite (NaN or inf: the run blew up, or its writer was killed mid-write)",
                "the cell is not finite (NaN or inf)",
                "every position is exactly 0 (data never written: a truncated file?)",
                "every velocity is exactly 0 after non-zero ones (data never written: a truncated file?)",
                "the cell is singular (zero volume: data never written?)",
            )
        }
        k_pos_nan, k_vel_nan, k_cell_nan, k_pos_zero, k_vel_zero, k_cell_sing = flags
        kept: dict[str, Any] | None = None
        if keep:  # filled block by block: no second full-size copy
            kept = {
                "positions": np.empty((n, self.n_atoms, 3)),
                "cells": np.empty((n, 3, 3)),
                "velocities": np.empty((n, self.n_atoms, 3)) if self.vel is not None else None,
            }
        pos_nonzero_seen = self.n_atoms > 1
        vel_nonzero_seen = False
        block = self._block_rows()
        stop, why = n, None
        for s in range(0, n, block):
            e = min(n, s + block)
            try:
                pos, vel, cells = self.read(slice(s, e))
            except Exception as err:
                good = s
                for i in range(s, e):  # the first frame that cannot be read
                    try:
                        self.read(slice(i, i + 1))
                        good = i + 1
                    except Exception:
                        break
                stop, why = good, f"frame {good} cannot be read ({_one_line(err)})"
                if good > s:
                    pos, vel, cells = self.read(slice(s, good))
                    e = good
                else:
                    break
            flags[k_pos_nan][s:e] = ~np.isfinite(pos).all(axis=(1, 2))
            zero = np.asarray(~pos.any(axis=(1, 2)))
            if not pos_nonzero_seen:
                nz = np.flatnonzero(~zero)
                if nz.size:
                    zero[: nz[0] + 1] = False
                    pos_nonzero_seen = True
                else:
                    zero[:] = False
            flags[k_pos_zero][s:e] = zero
            if vel is not None:
                flags[k_vel_nan][s:e] = ~np.isfinite(vel).all(axis=(1, 2))
                zero = np.asarray(~vel.any(axis=(1, 2)))
                if not vel_nonzero_seen:
                    nz = np.flatnonzero(~zero)
                    if nz.size:
                        zero[: nz[0] + 1] = False
                        vel_nonzero_seen = True
                    else:
                        zero[:] = False
                flags[k_vel_zero][s:e] = zero
            finite = np.isfinite(cells).all(axis=(1, 2))
            flags[k_cell_nan][s:e] = ~finite
            vol = np.abs(np.linalg.det(np.where(finite[:, None, None], cells, 1.0)))
            flags[k_cell_sing][s:e] = finite & ~(vol > 1e-6)
            if kept is not None:
                kept["positions"][s:e] = pos
                kept["cells"][s:e] = cells
                if vel is not None:
                    kept["velocities"][s:e] = vel
            if e < min(n, s + block):
                break
        bad.update(flags)
        return kept, stop, why

    def read(self, sl: slice, atoms: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        """Frames `sl` as float64 arrays in Å, Å/fs, Å: (positions, velocities or None, cells); positions
        and velocities of the atoms `atoms` only (an index array) when given.
        """
        pos = self.values(self.pos, self.length_f, sl, atoms)
        vel = None
        if self.vel is not None:
            vel = self.values(self.vel, self.vel_f, sl, atoms)
        return pos, vel, self.read_cells(sl, len(pos))

    def values(self, series: _Series, factor: float, sl: slice, atoms: np.ndarray | None = None) -> np.ndarray:
        """Frames `sl` of a per-atom series (positions or velocities) as float64 in Å or Å/fs; of the atoms
        `atoms` only when given, read in pieces of at most _SCAN_VALUES stored values (bounded memory).
        """
        if atoms is None:
            out = series.value[sl].astype(float)
        else:
            out = self._subset(series.value, sl, np.asarray(atoms, dtype=np.int64))
        if factor != 1.0:
            out *= factor
        return out

    @staticmethod
    def _subset(ds: h5py.Dataset, sl: slice, atoms: np.ndarray) -> np.ndarray:
        """ds[sl][:, atoms] as float64: the span of the atoms is read (one hyperslab, much faster in HDF5
        than a scattered selection) a few frames at a time, and the atoms picked from it.
        """
        frames = range(ds.shape[0])[sl]
        out = np.empty((len(frames), len(atoms), 3))
        if out.size == 0:
            return out
        a0, a1 = int(atoms.min()), int(atoms.max()) + 1
        pick = None if (a1 - a0 == len(atoms) and np.all(np.diff(atoms) == 1)) else atoms - a0
        rows = max(1, _SCAN_VALUES // (3 * (a1 - a0)))
        for i in range(0, len(frames), rows):
            r = frames[i : i + rows]
            raw = ds[r.start : r.stop : r.step, a0:a1]
            out[i : i + len(r)] = raw if pick is None else raw[:, pick]
        return out

    def read_cells(self, sl: slice, n: int) -> np.ndarray:
        """Cells (n, 3, 3) in Å of frames `sl` (n of them)."""
        if self.box.fixed:
            edges = np.asarray(self.box.value[()], dtype=float)
            edges = np.broadcast_to(edges, (n, *edges.shape))
        else:
            edges = self.box.value[sl].astype(float)
        if edges.shape[1:] == (3,):
            edges = edges[:, :, None] * np.eye(3)  # H5MD: a vector is the diagonal of a cuboid box
        elif edges.shape[1:] != (3, 3):
            raise InputError(f"{self.path}: box edges have shape {edges.shape[1:]}, expected (3,) or (3, 3)")
        return edges * self.box_f if self.box_f != 1.0 else np.array(edges)


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
            arrays = src.read(slice(r.start, r.stop, r.step), atoms)
        return _trajectory(src, arrays, frame_dt, sl, stride, atoms)


class H5MDReader(FrameSource):
    """An H5MD file opened and checked once (`_Source.check`, which scans the data in bounded blocks),
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
        return self._src.values(series, factor, slice(start, stop), atoms)

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
