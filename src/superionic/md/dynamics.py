"""Integrators/thermostats (ASE), minimisation and NPT equilibration.

Thermostats for production (`make_dynamics`):

* ``langevin`` – ASE `Langevin` (Vanden-Eijnden–Ciccotti), friction γ in 1/fs; centre of mass held by
  `FixCom` in free runs (ASE's deprecated ``fixcm`` is not used).
* ``bussi`` – stochastic velocity rescaling (Bussi, Donadio, Parrinello, JCP 126, 014101 (2007)),
  coupling time τ in fs; canonical, leaves the dynamics nearly Newtonian.
* ``nose-hoover`` – Nosé–Hoover chain (length 3, Martyna–Klein–Tuckerman), damping time τ in fs;
  deterministic. ASE's implementation ignores constraints, so it is refused with frozen or rigid hosts.
* ``nve`` – velocity Verlet, no thermostat (energy-conservation checks).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from ase import Atoms

from ..errors import InputError

THERMOSTATS = ("langevin", "bussi", "nose-hoover", "nve")


def make_dynamics(
    atoms: Atoms,
    thermostat: str,
    dt_fs: float,
    temperature: float,
    *,
    friction: float,
    tau_fs: float,
    rng: np.random.Generator,
):
    """An ASE MolecularDynamics object for `thermostat` (see module docstring); friction in 1/fs."""
    import ase.units as u

    dt = dt_fs * u.fs
    if thermostat == "langevin":
        from ase.md.langevin import Langevin

        return Langevin(atoms, dt, temperature_K=temperature, friction=friction / u.fs, fixcm=False, rng=rng)
    if thermostat == "bussi":
        from ase.md.bussi import Bussi

        return Bussi(atoms, dt, temperature_K=temperature, taut=tau_fs * u.fs, rng=rng)
    if thermostat == "nose-hoover":
        if any(not _is_tether(c) for c in atoms.constraints):
            raise InputError(
                "the nose-hoover thermostat (ASE) ignores constraints: use --thermostat langevin "
                "or bussi with frozen-host / rigid-anions"
            )
        from ase.md.nose_hoover_chain import NoseHooverChainNVT

        return NoseHooverChainNVT(atoms, dt, temperature_K=temperature, tdamp=tau_fs * u.fs, tchain=3)
    if thermostat == "nve":
        from ase.md.verlet import VelocityVerlet

        return VelocityVerlet(atoms, dt)
    raise InputError(f"unknown thermostat {thermostat!r}; choose one of {', '.join(THERMOSTATS)}")


def _is_tether(c) -> bool:
    return type(c).__name__ == "HarmonicTether"


def thermostat_state(dyn) -> dict[str, Any]:
    """Internal thermostat variables that a checkpoint must carry (Nosé–Hoover η, p_η; Bussi heat)."""
    th = getattr(dyn, "_thermostat", None)
    if th is not None:
        return {"eta": th._eta.tolist(), "p_eta": th._p_eta.tolist()}
    if hasattr(dyn, "transferred_energy"):
        return {"transferred_energy": float(dyn.transferred_energy)}
    return {}


def set_thermostat_state(dyn, state: dict[str, Any]) -> None:
    """Restore into `dyn` the variables saved by `thermostat_state` (checkpoint resume); unusable keys are ignored."""
    th = getattr(dyn, "_thermostat", None)
    if th is not None and "eta" in state:
        th._eta[:] = state["eta"]
        th._p_eta[:] = state["p_eta"]
    if "transferred_energy" in state and hasattr(dyn, "transferred_energy"):
        dyn.transferred_energy = state["transferred_energy"]


def conserved_energy(dyn, atoms: Atoms) -> float:
    """The integrator's conserved quantity (eV): E_tot for NVE, E_tot + thermostat energy for NH chain,
    E_tot − heat added by the Bussi thermostat; NaN for Langevin (no conserved quantity tracked).
    """
    etot = float(atoms.get_potential_energy() + atoms.get_kinetic_energy())
    name = type(dyn).__name__
    if name == "NoseHooverChainNVT":
        return float(dyn.get_conserved_energy())
    if name == "Bussi":
        return etot - float(dyn.transferred_energy)
    if name == "VelocityVerlet":
        return etot
    return float("nan")


def minimise(atoms: Atoms, fmax: float = 0.05, steps: int = 500, relax_cell: bool = False) -> dict[str, Any]:
    """Relax positions (and the cell if `relax_cell`) with FIRE until max |F| < fmax eV/Å.

    `atoms` must carry a calculator; modified in place. Returns energies and convergence.
    """
    from ase.optimize import FIRE

    e0 = float(atoms.get_potential_energy())
    target = atoms
    if relax_cell:
        from ase.filters import FrechetCellFilter

        target = FrechetCellFilter(atoms)
    opt = FIRE(target, logfile=None)
    converged = bool(opt.run(fmax=fmax, steps=steps))
    f = atoms.get_forces()
    return {
        "energy_initial_eV": e0,
        "energy_final_eV": float(atoms.get_potential_energy()),
        "fmax_eV_per_A": float(np.sqrt((f**2).sum(axis=1)).max()),
        "steps": int(opt.nsteps),
        "converged": converged,
        "relax_cell": relax_cell,
        "volume_A3": float(atoms.get_volume()),
    }


def npt_equilibrate(
    atoms: Atoms,
    temperature: float,
    steps: int,
    dt_fs: float,
    *,
    pressure_gpa: float = 0.0,
    tau_t_fs: float = 100.0,
    tau_p_fs: float = 1000.0,
    average_last: float = 0.5,
) -> dict[str, Any]:
    """Isotropic MTK NPT (ASE `IsotropicMTKNPT`) for `steps`, then fix the cell to the mean cell of the
    last `average_last` fraction (atoms scaled with it). Needs velocities set and no constraints.
    Returns the volume history summary.
    """
    import ase.units as u
    from ase.md.nose_hoover_chain import IsotropicMTKNPT

    if atoms.constraints:
        raise InputError("NPT equilibration runs on the unconstrained structure (before any protocol)")
    dyn = IsotropicMTKNPT(
        atoms,
        dt_fs * u.fs,
        temperature_K=temperature,
        pressure_au=pressure_gpa * u.GPa,
        tdamp=tau_t_fs * u.fs,
        pdamp=tau_p_fs * u.fs,
    )
    v0 = atoms.get_volume()
    cells = []
    block = max(1, steps // 100)
    done = 0
    while done < steps:
        n = min(block, steps - done)
        dyn.run(n)
        done += n
        cells.append(np.asarray(atoms.cell).copy())
    keep = cells[int(len(cells) * (1 - average_last)) :] or cells[-1:]
    mean_cell = np.mean(keep, axis=0)
    atoms.set_cell(mean_cell, scale_atoms=True)
    vols = [abs(np.linalg.det(c)) for c in keep]
    return {
        "steps": steps,
        "pressure_GPa": pressure_gpa,
        "volume_initial_A3": float(v0),
        "volume_mean_A3": float(np.mean(vols)),
        "volume_std_A3": float(np.std(vols)),
        "cell": mean_cell.tolist(),
    }
