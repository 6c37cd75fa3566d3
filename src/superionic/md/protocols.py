"""Phonon-suppression protocols (shared/SCIENCE.md §5). The project defines them as follows.

The *host* is every atom that is not of a mobile species (by default: everything but Li; for α-AgI
everything but Ag; `mobile_species`). Its reference positions come from a free (unsuppressed) run at the
same temperature and cell, chosen by `host_reference`: mean (default), snapshot, quenched or auto, as the
module `host_reference` defines them. Mobile ions start from the free run's last frame in every case.

* ``free`` – nothing suppressed.
* ``frozen-host`` – every host atom sits at its reference position with zero velocity for the whole run
  (ASE `FixAtoms`). Only the mobile ions move; they see a static, thermally averaged host.
* ``tethered`` – every host atom is bound to its reference position by an isotropic harmonic spring
  E = ½ k |r − r_ref|² (k in eV/Å², `HarmonicTether`, added to the potential energy and forces).
  k → 0 recovers the free run, k → ∞ the frozen host; a scan over k interpolates between them
  (a host atom's mean-square displacement from its reference is ≤ 3k_BT/k).
* ``rigid-anions`` – every polyanion (a centre atom, default P, with its ligands within a cutoff,
  default S within 2.5 Å: the PS4 tetrahedra) becomes a rigid body: all ligand–ligand distances and
  three centre–ligand distances are held by SHAKE/RATTLE (`RigidUnits`, an ASE `FixBondLengths`),
  which removes the internal vibrations (stretching, bending, "breathing") and keeps translations and
  rotations. Counter-ions not in a unit (free S²⁻, Cl⁻) stay free.

In every protocol the mobile ions keep the same thermostat, coupling and target temperature as in the
free run; only the host dynamics is changed. The temperature reported is computed over the remaining
degrees of freedom (ASE removes constrained ones).

`apply_protocol` installs a protocol on a structure; the constraints it uses (`HarmonicTether`,
`RigidUnits`) are in `constraints`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from ase import Atoms
from ase.constraints import FixAtoms

from ..carriers import MOBILE_IONS
from ..errors import InputError
from .constraints import HarmonicTether, RigidUnits, find_units
from .host_reference import (
    HOST_REFERENCES,
    MIN_HOST_DISTANCE,
    QUENCH_FMAX,
    QUENCH_STEPS,
    check_host_reference,
    quench,
    reference_from_trajectory,
    resolve_host_reference,
)

__all__ = [
    "PROTOCOLS",
    "mobile_species",
    "host_indices",
    "apply_protocol",
    # importable from here as before the split (homes: host_reference, constraints)
    "HOST_REFERENCES",
    "QUENCH_FMAX",
    "QUENCH_STEPS",
    "MIN_HOST_DISTANCE",
    "reference_from_trajectory",
    "check_host_reference",
    "quench",
    "resolve_host_reference",
    "HarmonicTether",
    "RigidUnits",
    "find_units",
]

PROTOCOLS = ("free", "frozen-host", "tethered", "rigid-anions")
_WHERE = {
    "mean": "their time-averaged positions from the free run",
    "snapshot": "their positions in the free run's last frame",
    "quenched": "their positions in the free run's last frame quenched to its nearest energy minimum",
}


def mobile_species(atoms: Atoms, mobile: list[str] | tuple[str, ...] | None = None) -> list[str]:
    """The mobile species: given, or the first of `carriers.MOBILE_IONS` present."""
    present = set(atoms.get_chemical_symbols())
    if mobile:
        missing = [m for m in mobile if m not in present]
        if missing:
            raise InputError(f"mobile species {missing} not in the structure ({', '.join(sorted(present))})")
        return list(mobile)
    for m in MOBILE_IONS:
        if m in present:
            return [m]
    raise InputError(f"no mobile species found ({', '.join(MOBILE_IONS)}): pass mobile=['X']")


def host_indices(atoms: Atoms, mobile: list[str]) -> np.ndarray:
    """Indices of the host atoms: those whose species is not in `mobile`."""
    return np.flatnonzero(~np.isin(atoms.get_chemical_symbols(), mobile))


def apply_protocol(
    atoms: Atoms,
    protocol: str,
    *,
    mobile: list[str] | None = None,
    reference: dict[str, Any] | None = None,
    stiffness: float = 1.0,
    host_reference: str = "mean",
    rigid_centre: str = "P",
    rigid_ligand: str = "S",
    rigid_cutoff: float = 2.5,
    units: list[list[int]] | None = None,
    bondlengths=None,
) -> dict[str, Any]:
    """Install the constraints of `protocol` on `atoms` (in place) and return its description.

    For frozen-host and tethered, `reference` (from `reference_from_trajectory`, or already resolved by
    `resolve_host_reference`) is required: host atoms are moved to the `host_reference` positions (mean |
    snapshot | quenched | auto; a quench uses `atoms.calc`) and mobile ions to the reference run's last
    frame. The returned dict goes into run.json and the trajectory metadata ("what was suppressed").
    """
    if protocol not in PROTOCOLS:
        raise InputError(f"unknown protocol {protocol!r}; choose one of {', '.join(PROTOCOLS)}")
    desc: dict[str, Any] = {"name": protocol}
    if protocol == "free":
        desc["suppressed"] = "nothing"
        return desc
    mob = mobile_species(atoms, mobile)
    host = host_indices(atoms, mob)
    desc["mobile_species"] = mob
    desc["host_species"] = sorted(set(np.array(atoms.get_chemical_symbols())[host]))
    if protocol in ("frozen-host", "tethered"):
        if reference is None:
            raise InputError(
                f"protocol {protocol} needs the host positions of a free run at "
                "the same temperature: pass reference=<free-run folder> (CLI: --reference DIR)"
            )
        if list(reference["symbols"]) != atoms.get_chemical_symbols():
            raise InputError(
                "the reference run has different atoms (order or species) than this structure: "
                "build the structure exactly as for the free run"
            )
        if not np.allclose(reference["cell"], np.asarray(atoms.cell), atol=1e-3):
            raise InputError(
                "the reference run's cell differs from this structure's cell: suppressed runs "
                "must use the same cell (NVT) as the free run they compare with"
            )
        if "host" not in reference:
            reference = resolve_host_reference(reference, host_reference, host, atoms.calc)
        kind = reference["host_reference"]
        pos = np.asarray(reference["last"], dtype=float).copy()
        pos[host] = reference["host"][host]
        if kind == "mean":
            check_host_reference(pos, atoms.cell, atoms.get_chemical_symbols(), host, instantaneous=reference["last"])
        atoms.set_positions(pos, apply_constraint=False)
        desc["reference"] = reference.get("source")
        desc["reference_frames"] = reference.get("frames")
        if reference.get("frame") is not None and reference["frame"] != (reference.get("frames") or 0) - 1:
            desc["reference_frame"] = int(reference["frame"])  # where the host was taken, when not the last frame
        desc["host_reference"] = kind
        desc.update({k: reference[k] for k in ("host_reference_reason", "quench") if k in reference})
        if protocol == "frozen-host":
            atoms.set_constraint(FixAtoms(indices=host))
            desc["suppressed"] = (
                f"all host vibrations: {', '.join(desc['host_species'])} fixed at {_WHERE[kind]}, zero velocity"
            )
        else:
            atoms.set_constraint(HarmonicTether(host, reference["host"][host], stiffness))
            desc["stiffness_eV_per_A2"] = float(stiffness)
            desc["suppressed"] = (
                f"host vibrations damped by harmonic springs k = {stiffness:g} eV/Å² tying "
                f"{', '.join(desc['host_species'])} to {_WHERE[kind]}"
            )
    else:  # rigid-anions
        units = units if units is not None else find_units(atoms, rigid_centre, rigid_ligand, rigid_cutoff)
        atoms.set_constraint(RigidUnits(units, bondlengths=bondlengths))
        desc.update(
            units=len(units),
            unit=f"{rigid_centre}{rigid_ligand}{len(units[0]) - 1}",
            suppressed=f"internal vibrations of the {rigid_centre}{rigid_ligand}{len(units[0]) - 1} units "
            "(rigid bodies: translation and rotation kept)",
        )
    return desc
