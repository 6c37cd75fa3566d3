"""The pieces of an H5MD file's structure: time series (value/step/time), string attributes, and how many
rows of a dataset really are stored in the file (the rest of a truncated file reads as zeros).
"""

from __future__ import annotations

import h5py
import numpy as np

from ..errors import InputError


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
