"""An open H5MD file and the check of its completeness (`_Source`): which frames are really in the file.

A file is checked before any number leaves it (docs/trajectories.md, "Reading H5MD safely"):

* it must be an HDF5 file (`h5md_open`) with /h5md and /particles, a particle group with positions and a
  periodic box, species (or symbols given), and unit attributes superionic knows (`h5md_units`);
* frames whose bytes lie beyond the end of the file, or in chunks never written, read as zeros in HDF5:
  they are found from the chunk index (byte offsets, `h5md_layout._stored_rows`) and never used;
* then every frame is checked: MD steps evenly spaced and the same in every time series, times evenly
  spaced, positions/velocities/cells finite, positions not all exactly 0 (unwritten data), cells not
  singular. Bad frames at the end (a killed writer, a cut file) are dropped with a `TrajectoryWarning`; a
  bad frame followed by good ones (a damaged middle, a gap in the steps) is refused (InputError).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from ..errors import InputError
from .h5md_layout import _attr_str, _Series, _stored_rows, _time_eps
from .h5md_open import _one_line
from .h5md_units import _UNIT_HELP, unit_factor
from .model import frame_ranges, symbol_of

#: values (frames × atoms × 3) per block when scanning data: bounded memory for long runs
_SCAN_VALUES = 1 << 22


class TrajectoryWarning(UserWarning):
    """Frames of a trajectory file were dropped or an assumption was made (the message says which)."""


def _warn(message: str) -> None:
    warnings.warn(message, TrajectoryWarning, stacklevel=3)


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

    def read(self, sl: slice) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        """Frames `sl` of all atoms as float64 arrays in Å, Å/fs, Å: (positions, velocities or None, cells)."""
        pos = self.values(self.pos, self.length_f, sl)
        vel = None
        if self.vel is not None:
            vel = self.values(self.vel, self.vel_f, sl)
        return pos, vel, self.read_cells(sl, len(pos))

    @staticmethod
    def values(series: _Series, factor: float, sl: slice) -> np.ndarray:
        """Frames `sl` of all atoms of a per-atom series (positions or velocities) as float64 in Å or Å/fs."""
        out = series.value[sl].astype(float)
        if factor != 1.0:
            out *= factor
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
