"""Explosion guards: stop a run whose temperature, energy or geometry has gone unphysical, and say so."""

from __future__ import annotations

import numpy as np
from ase import Atoms

from ..errors import SuperionicError


class MDExplodedError(SuperionicError):
    """The MD left physical ground (temperature or energy runaway, NaN, atoms on top of each other)."""


def check_state(
    atoms: Atoms,
    step: int,
    target_T: float,
    *,
    max_temperature_factor: float,
    epot_ref_per_atom: float | None,
    max_energy_rise: float,
    min_distance: float,
) -> None:
    """Raise MDExplodedError with an actionable message if the state is unphysical.

    Checks: finite positions/momenta; T ≤ max_temperature_factor × target; potential energy per atom
    not more than `max_energy_rise` eV above the reference (start of production); no pair of atoms
    closer than `min_distance` Å (only evaluated when T or the energy already look suspicious is not
    enough – collapse can be silent, so it is checked every call, cheaply, on a neighbour list).
    """
    pos, mom = atoms.get_positions(), atoms.get_momenta()
    hint = "use a smaller --dt, check the potential covers these elements, or check the starting structure"
    if not (np.all(np.isfinite(pos)) and np.all(np.isfinite(mom))):
        raise MDExplodedError(f"MD exploded at step {step}: positions or momenta became NaN/inf; {hint}")
    T = float(atoms.get_temperature())
    if not np.isfinite(T) or T > max_temperature_factor * target_T:
        raise MDExplodedError(
            f"MD exploded at step {step}: temperature {T:.0f} K exceeds "
            f"{max_temperature_factor:g}× the target {target_T:g} K; {hint}"
        )
    if epot_ref_per_atom is not None:
        e = float(atoms.get_potential_energy()) / len(atoms)
        if not np.isfinite(e) or e - epot_ref_per_atom > max_energy_rise:
            raise MDExplodedError(
                f"MD exploded at step {step}: potential energy rose by "
                f"{e - epot_ref_per_atom:.3g} eV/atom (limit {max_energy_rise:g}); {hint}"
            )
    if min_distance > 0:
        from ase.neighborlist import neighbor_list

        d = neighbor_list("d", atoms, min_distance)
        if len(d):
            raise MDExplodedError(
                f"MD exploded at step {step}: two atoms came {d.min():.2f} Å apart (limit {min_distance:g} Å); {hint}"
            )
