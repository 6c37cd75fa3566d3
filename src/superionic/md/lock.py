"""Exclusive locks on run and study folders: one writer per folder.

`folder_lock(folder)` holds an exclusive ``flock`` on ``folder/.lock`` for as long as the ``with`` block
runs, and writes the holder (pid, host, start time, command) into it. A second process that asks for
the same folder gets a `FolderLockedError` naming the holder, at once (it does not wait). The kernel
releases a flock when its process dies, however it dies (kill -9 included), so a stale ``.lock`` file
left by a killed run never blocks: only a live holder does. The file itself stays (removing it would
let two processes lock two different files of the same name).

Within one process the lock is re-entrant: the CLI and the study lock a folder and then call
`run_nvt`, which locks it again. Locks are not inherited by child processes (MPI ranks, subprocesses).
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import InputError, SuperionicError

LOCK_NAME = ".lock"

_held: dict[str, list] = {}  # realpath of the folder → [fd, depth]
_guard = threading.Lock()


class FolderLockedError(SuperionicError):
    """Another live process holds the folder's lock."""


def _holder_text(fd: int) -> str:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        info = json.loads(os.read(fd, 4096).decode() or "{}")
    except (OSError, ValueError):
        info = {}
    if not info:
        return "another process"
    what = f" ({info['what']})" if info.get("what") else ""
    return f"pid {info.get('pid', '?')} on {info.get('host', '?')}{what}, started {info.get('started', '?')}"


@contextmanager
def folder_lock(folder: str | Path, what: str = "") -> Iterator[Path]:
    """Hold the exclusive lock of `folder` (created if missing) for the block; `what` names the holder's
    job in the lock file (e.g. "superionic md"). Raises FolderLockedError, one line, when it is taken.
    """
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise InputError(f"cannot create the folder {folder}: {err}") from None
    key = os.path.realpath(folder)
    with _guard:
        entry = _held.get(key)
        if entry is not None:
            entry[1] += 1
        else:
            try:
                fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as err:
                raise InputError(f"cannot lock {folder} ({err}); is it writable?") from None
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _holder_text(fd)
                os.close(fd)
                raise FolderLockedError(
                    f"{folder} is in use by {holder}; wait until it finishes, or write to another folder (--out)"
                ) from None
            stamp = {
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "what": what,
                "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
                "command": " ".join(sys.argv)[:500],
            }
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, json.dumps(stamp).encode())
            _held[key] = [fd, 1]
    try:
        yield folder
    finally:
        with _guard:
            entry = _held[key]
            entry[1] -= 1
            if entry[1] == 0:
                del _held[key]
                try:
                    os.ftruncate(entry[0], 0)
                finally:
                    fcntl.flock(entry[0], fcntl.LOCK_UN)
                    os.close(entry[0])
