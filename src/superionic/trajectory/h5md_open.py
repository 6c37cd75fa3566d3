"""Opening an H5MD file read-only, also when its writer was killed or the file was cut short.

A file must be non-empty and carry the HDF5 signature; a cleanly closed file opens normally; a file whose
writer was killed (or is still writing), or a byte-truncated file, is opened in SWMR mode (which skips
HDF5's end-of-file check) with few metadata read attempts, so that damaged metadata fails in milliseconds
instead of HDF5's ~100 retries with back-off. Which frames of such a file are usable is `h5md_source`'s
question.
"""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path

import h5py

from ..errors import InputError

_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
#: metadata read attempts in SWMR mode (HDF5's default is 100, with sleeps between them)
_SWMR_READ_ATTEMPTS = 5


def _one_line(err: BaseException) -> str:
    """An error as one line of text (a KeyError's message without its quotes; the type when it has none)."""
    text = " ".join(str(err.args[0] if isinstance(err, KeyError) and err.args else err).split())
    return text or type(err).__name__


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
