"""``protocol.npz``: the constraints a suppression protocol installed, saved so that a resumed run rebuilds
them exactly without its reference run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms

from ..results import atomic_write
from .constraints import HarmonicTether, RigidUnits
from .settings import MDSettings, _use_fixcom


def save_protocol_file(atoms: Atoms, settings: MDSettings, desc: dict, path: Path) -> None:
    """Everything a resume needs to rebuild the constraints exactly (no reference run needed)."""
    arrays: dict[str, Any] = {"protocol": settings.protocol, "desc": json.dumps(desc, default=str)}
    for c in atoms.constraints:
        name = type(c).__name__
        if name == "FixAtoms":
            arrays["fixed"] = np.asarray(c.index)
        elif name == "HarmonicTether":
            arrays.update(tether_index=c.index, tether_reference=c.reference, tether_k=c.k)
        elif name == "RigidUnits":
            arrays["units"] = np.asarray(c.units)
            arrays["bondlengths"] = (
                c.initialize_bond_lengths(atoms) if c.bondlengths is None else np.asarray(c.bondlengths)
            )
            c.bondlengths = arrays["bondlengths"]

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as fh:  # a file object: np.savez would append .npz to a path
            np.savez(fh, **arrays)

    atomic_write(path, write, durable=True)


def install_protocol_file(atoms: Atoms, settings: MDSettings, path: Path) -> dict[str, Any]:
    """Install the constraints saved by `save_protocol_file` (and FixCom where the settings hold the centre
    of mass) on `atoms`; returns the protocol description saved with them.
    """
    from ase.constraints import FixAtoms, FixCom

    with np.load(path) as p:
        cons: list = []
        if "fixed" in p.files:
            cons.append(FixAtoms(indices=p["fixed"]))
        if "tether_index" in p.files:
            cons.append(HarmonicTether(p["tether_index"], p["tether_reference"], float(p["tether_k"])))
        if "units" in p.files:
            cons.append(RigidUnits(p["units"].tolist(), bondlengths=p["bondlengths"]))
        desc = json.loads(str(p["desc"]))
    if _use_fixcom(settings):
        cons.append(FixCom())
    atoms.set_constraint(cons)
    return desc
