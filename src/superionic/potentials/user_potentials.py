"""User potentials: distilled LAMMPS potentials registered outside the package, one folder per name.

The folder is ``$SUPERIONIC_POTENTIALS`` if set, else ``$XDG_DATA_HOME/superionic/potentials`` (default
``~/.local/share/superionic/potentials``). ``<folder>/<name>/`` holds every registered version's files
(``<name>-v<version>.snapcoeff`` …, its training record and validation card) and ``<name>.lammps.json``, the
description of the latest version, which the registry lists under ``name`` beside the shipped potentials. A
registered version is never replaced without ``overwrite``; runs made with an older version are recognised as
stale by their recorded version (`md.settings.potential_version_changes`).
"""

from __future__ import annotations

import json
import os
import shutil
from functools import partial
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..results import atomic_write, write_json


def user_potentials_dir() -> Path:
    """Folder of the registered user potentials (see module doc); not created here."""
    env = os.environ.get("SUPERIONIC_POTENTIALS")
    if env:
        return Path(env).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "superionic" / "potentials"


def user_potential_files() -> list[Path]:
    """The ``<name>/<name>.lammps.json`` description of every registered user potential (sorted)."""
    root = user_potentials_dir()
    if not root.is_dir():
        return []
    return sorted(p for p in root.glob("*/*.lammps.json") if p.name == f"{p.parent.name}.lammps.json")


def register_potential(description: str | Path, card: dict[str, Any] | None = None, *, overwrite: bool = False) -> Path:
    """Copy a potential written by `train_snap` (its ``<name>.lammps.json`` and files) into the user folder.

    card: the validation card, written beside it as ``<name>-v<version>.validation.json``. Returns the
    registered description; from then on `get_potential(name)` finds it. InputError if the name is that of a
    built-in or shipped potential, or this version is already registered (unless overwrite).
    """
    from . import registry
    from .lammps_potentials import LammpsPotential, register_lammps_potentials, shipped_potentials
    from .training.distil import is_round_fit

    src = Path(description)
    pot = LammpsPotential.from_json(src)
    reserved = {n for n, spec in registry.REGISTRY.items() if spec.engine != "lammps"} | set(shipped_potentials())
    if pot.name in reserved:
        raise InputError(f"{pot.name!r} is the name of a built-in potential; train under another --name")
    stem = f"{pot.name}-v{pot.version or '1'}"
    dest = user_potentials_dir() / pot.name
    # a refinement's round fits (`distil._keep_round_files`) stay in the training folder; its round cards travel
    files = sorted(p for p in src.parent.glob(f"{stem}.*") if p.is_file() and not is_round_fit(p, stem))
    if not files:
        raise InputError(f"no files {stem}.* beside {src}: is it a potential written by train-potential?")
    if not overwrite and (dest / f"{stem}.snapcoeff").exists():
        raise InputError(
            f"{pot.name} version {pot.version} is already registered in {dest}; give --overwrite to replace it, "
            "or another --version"
        )
    dest.mkdir(parents=True, exist_ok=True)
    for f in files:
        atomic_write(dest / f.name, partial(shutil.copyfile, f))
    if card is not None:
        write_json(dest / f"{stem}.validation.json", card)
    desc = json.loads(src.read_text())
    write_json(dest / f"{pot.name}.lammps.json", desc)  # the name resolves to this version from now on
    register_lammps_potentials()
    return dest / f"{pot.name}.lammps.json"
