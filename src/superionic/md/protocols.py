"""Phonon-suppression protocols (shared/SCIENCE.md §5). The project defines them as follows.

The *host* is every atom that is not of a mobile species (by default: everything but Li; for α-AgI
everything but Ag). Its reference positions come from a free (unsuppressed) run at the same temperature
and cell (`reference_from_trajectory`), chosen by `host_reference` (`resolve_host_reference`):

* ``mean`` (default) – the time averages of the unwrapped host positions. Refused when it is not a
  structure (`check_host_reference`: host atoms changed sites, e.g. PS4 rotations at high T).
* ``snapshot`` – the free run's last frame: one instantaneous thermal structure (always exists).
* ``quenched`` – that last frame relaxed to its nearest energy minimum with the run's own potential at
  fixed cell (FIRE to max |F| < 0.05 eV/Å, at most 500 steps; `quench`): the inherent structure.
* ``auto`` – ``mean`` when it passes `check_host_reference`, otherwise ``quenched`` (reason recorded).

The ratio D(free)/D(suppressed) depends on this choice: a mean host is the most symmetric and open, a
snapshot carries one frozen thermal distortion, a quenched host none at all. Mobile ions start from the
free run's last frame in every case.

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
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms
from ase.constraints import FixAtoms, FixBondLengths
from ase.geometry import find_mic

from ..errors import InputError

PROTOCOLS = ("free", "frozen-host", "tethered", "rigid-anions")
HOST_REFERENCES = ("mean", "snapshot", "quenched", "auto")
QUENCH_FMAX = 0.05  # eV/Å, force criterion of the quenched host reference
QUENCH_STEPS = 500  # FIRE steps at most
MIN_HOST_DISTANCE = 1.2  # Å, closer host atoms in a time average: not a structure
_WHERE = {
    "mean": "their time-averaged positions from the free run",
    "snapshot": "their positions in the free run's last frame",
    "quenched": "their positions in the free run's last frame quenched to its nearest energy minimum",
}
MOBILE_DEFAULT = ("Li", "Na", "Ag", "Cu", "K", "Mg")


def mobile_species(atoms: Atoms, mobile: list[str] | tuple[str, ...] | None = None) -> list[str]:
    """The mobile species: given, or the first of Li, Na, Ag, Cu, K, Mg present."""
    present = set(atoms.get_chemical_symbols())
    if mobile:
        missing = [m for m in mobile if m not in present]
        if missing:
            raise InputError(f"mobile species {missing} not in the structure ({', '.join(sorted(present))})")
        return list(mobile)
    for m in MOBILE_DEFAULT:
        if m in present:
            return [m]
    raise InputError("no mobile species found (Li, Na, Ag, Cu, K, Mg): pass mobile=['X']")


def host_indices(atoms: Atoms, mobile: list[str]) -> np.ndarray:
    """Indices of the host atoms: those whose species is not in `mobile`."""
    return np.flatnonzero(~np.isin(atoms.get_chemical_symbols(), mobile))


def reference_from_trajectory(path: str | Path, discard_fraction: float = 0.0) -> dict[str, Any]:
    """Time-averaged unwrapped positions of every atom in a free run, plus its last frame.

    Returns {'mean': (N,3) Å, 'last': (N,3) Å (unwrapped, consistent with 'mean'), 'cell': (3,3),
    'symbols', 'frames', 'source'}. `discard_fraction` drops that leading fraction of frames.
    """
    from ..trajectory import read_trajectory
    from ..trajectory.unwrap import unwrap_positions

    path = Path(path)
    if path.is_dir():
        path = path / "trajectory.h5"
    if not path.exists():
        raise InputError(
            f"reference run {path} not found: run the free (unsuppressed) MD at this "
            "temperature first and pass its folder or trajectory.h5"
        )
    traj = read_trajectory(path)
    start = int(discard_fraction * traj.n_frames)
    if traj.n_frames - start < 2:
        raise InputError(f"reference run {path} has {traj.n_frames} frames; time averages need more")
    unwrapped = unwrap_positions(traj.positions, traj.cells)[start:]
    return {
        "mean": unwrapped.mean(axis=0),
        "last": unwrapped[-1],
        "cell": traj.cells[start:].mean(axis=0),
        "symbols": list(traj.symbols),
        "frames": int(traj.n_frames - start),
        "source": str(path),
    }


class HarmonicTether:
    """ASE constraint-like term: E = ½ k Σ_i |r_i − r_ref,i|² on atoms `indices` (k eV/Å², minimum image).

    Adds energy via `adjust_potential_energy` and forces −k(r − r_ref) via `adjust_forces`; removes no
    degrees of freedom. Works with any calculator and any ASE integrator that calls get_forces().
    """

    def __init__(self, indices, reference: np.ndarray, stiffness: float):
        if not stiffness >= 0:
            raise InputError(f"tether stiffness must be ≥ 0 eV/Å², got {stiffness}")
        self.index = np.asarray(indices, dtype=int)
        self.reference = np.asarray(reference, dtype=float).reshape(len(self.index), 3)
        self.k = float(stiffness)

    def _displacement(self, atoms: Atoms) -> np.ndarray:
        d = atoms.positions[self.index] - self.reference
        return find_mic(d, atoms.cell, atoms.pbc)[0]

    def adjust_positions(self, atoms, new):
        """No-op: the tether does not constrain positions."""
        pass

    def adjust_momenta(self, atoms, momenta):
        """No-op: the tether does not constrain momenta."""
        pass

    def adjust_forces(self, atoms, forces):
        """Add the tether forces −k(r − r_ref) (eV/Å, minimum image) to `forces` in place."""
        forces[self.index] -= self.k * self._displacement(atoms)

    def adjust_potential_energy(self, atoms):
        """Tether energy ½ k Σ|r − r_ref|² (eV)."""
        d = self._displacement(atoms)
        return 0.5 * self.k * float(np.sum(d * d))

    def get_removed_dof(self, atoms):
        """0: the tether removes no degrees of freedom."""
        return 0

    def index_shuffle(self, atoms, ind):
        """NotImplementedError: reordering atoms is not supported."""
        raise NotImplementedError("HarmonicTether does not support reordering atoms")

    def copy(self):
        """An independent copy (indices and reference positions copied)."""
        return HarmonicTether(self.index.copy(), self.reference.copy(), self.k)

    def todict(self):
        """ASE constraint dict {'name', 'kwargs'}: indices, reference positions (Å), stiffness (eV/Å²)."""
        return {
            "name": "HarmonicTether",
            "kwargs": {"indices": self.index.tolist(), "reference": self.reference.tolist(), "stiffness": self.k},
        }

    def __repr__(self):
        return f"HarmonicTether({len(self.index)} atoms, k={self.k:g} eV/Å²)"


class RigidUnits(FixBondLengths):
    """Rigid polyatomic units held by SHAKE/RATTLE; each unit of n atoms removes 3n − 6 degrees of freedom.

    Constraints per unit: every ligand–ligand distance and three centre–ligand distances. The iteration is
    ASE's SHAKE/RATTLE (Gauss–Seidel over constraints) vectorised over groups of constraints that share no
    atom (an edge colouring), so every unit in the cell is corrected at once.
    """

    maxiter = 1000

    def __init__(self, units: list[list[int]], bondlengths=None, tolerance: float = 1e-12):
        self.units = [list(map(int, u)) for u in units]
        pairs = []
        for u in self.units:
            centre, ligands = u[0], u[1:]
            pairs += [(a, b) for i, a in enumerate(ligands) for b in ligands[i + 1 :]]
            pairs += [(centre, ligand) for ligand in ligands[:3]]
        super().__init__(pairs, tolerance=tolerance, bondlengths=bondlengths)
        self._colours = self._colour(self.pairs)

    @staticmethod
    def _colour(pairs: np.ndarray) -> list[np.ndarray]:
        colours: list[list[int]] = []
        used: list[set[int]] = []
        for k, (a, b) in enumerate(pairs):
            for c, u in zip(colours, used):
                if a not in u and b not in u:
                    c.append(k)
                    u.update((int(a), int(b)))
                    break
            else:
                colours.append([k])
                used.append({int(a), int(b)})
        return [np.array(c) for c in colours]

    def get_removed_dof(self, atoms):
        """3n − 6 per unit of n atoms."""
        return sum(3 * len(u) - 6 for u in self.units)

    def _setup(self, atoms):
        if self.bondlengths is None:
            self.bondlengths = self.initialize_bond_lengths(atoms)
        self.bondlengths = np.asarray(self.bondlengths, dtype=float)
        m = atoms.get_masses()
        old = atoms.positions
        d0 = find_mic(old[self.pairs[:, 0]] - old[self.pairs[:, 1]], atoms.cell, atoms.pbc)[0]
        return m, d0

    def adjust_positions(self, atoms, new):
        """SHAKE: correct positions `new` (Å, in place) to keep every unit's bond lengths; RuntimeError after
        `maxiter` sweeps.
        """
        m, d0 = self._setup(atoms)
        old = atoms.positions
        a, b = self.pairs[:, 0], self.pairs[:, 1]
        shift = d0 - (old[a] - old[b])  # turns raw differences into minimum-image ones
        mu = 1 / (1 / m[a] + 1 / m[b])
        for _ in range(self.maxiter):
            worst = 0.0
            for c in self._colours:
                ac, bc = a[c], b[c]
                d1 = new[ac] - new[bc] + shift[c]
                x = 0.5 * (self.bondlengths[c] ** 2 - np.einsum("ij,ij->i", d1, d1)) / np.einsum("ij,ij->i", d0[c], d1)
                worst = max(worst, float(np.abs(x).max()))
                new[ac] += (x * mu[c] / m[ac])[:, None] * d0[c]
                new[bc] -= (x * mu[c] / m[bc])[:, None] * d0[c]
            if worst < self.tolerance:
                return
        raise RuntimeError("SHAKE did not converge (rigid units); use a smaller time step")

    def adjust_momenta(self, atoms, p):
        """RATTLE: remove from momenta `p` (in place) the relative velocity along every constrained bond;
        RuntimeError after `maxiter` sweeps.
        """
        m, d = self._setup(atoms)
        a, b = self.pairs[:, 0], self.pairs[:, 1]
        mu = 1 / (1 / m[a] + 1 / m[b])
        for _ in range(self.maxiter):
            worst = 0.0
            for c in self._colours:
                ac, bc = a[c], b[c]
                dv = p[ac] / m[ac, None] - p[bc] / m[bc, None]
                x = -np.einsum("ij,ij->i", dv, d[c]) / self.bondlengths[c] ** 2
                worst = max(worst, float(np.abs(x).max()))
                p[ac] += (x * mu[c])[:, None] * d[c]
                p[bc] -= (x * mu[c])[:, None] * d[c]
            if worst < self.tolerance:
                return
        raise RuntimeError("RATTLE did not converge (rigid units); use a smaller time step")

    def todict(self):
        """ASE constraint dict {'name', 'kwargs'}: the units only (bond lengths are re-measured on first use)."""
        return {"name": "RigidUnits", "kwargs": {"units": self.units}}


def find_units(atoms: Atoms, centre: str = "P", ligand: str = "S", cutoff: float = 2.5) -> list[list[int]]:
    """Polyanion units: each `centre` atom with its `ligand` neighbours within `cutoff` Å (minimum image)."""
    from ase.neighborlist import neighbor_list

    sym = np.array(atoms.get_chemical_symbols())
    centres = np.flatnonzero(sym == centre)
    if len(centres) == 0:
        raise InputError(f"rigid-anions needs {centre} centres; the structure has {', '.join(sorted(set(sym)))}")
    i, j = neighbor_list("ij", atoms, cutoff)
    units = []
    claimed: set[int] = set()
    for c in centres:
        lig = sorted(int(x) for x in j[(i == c) & (sym[j] == ligand)])
        if len(lig) < 3:
            raise InputError(
                f"{centre} atom {c} has {len(lig)} {ligand} neighbours within {cutoff} Å; "
                "a rigid unit needs at least 3 (check the cutoff)"
            )
        if claimed & set(lig):
            raise InputError(f"ligands shared between {centre} units within {cutoff} Å: lower the cutoff")
        claimed |= set(lig)
        units.append([int(c)] + lig)
    return units


def check_host_reference(positions: np.ndarray, cell, symbols, host, min_distance: float = MIN_HOST_DISTANCE) -> None:
    """Refuse a time-averaged host that is not a structure: host atoms that changed sites during the free
    run (anion rotations, host diffusion) average to points between sites, possibly on top of each other.

    positions: (N, 3) Å; host: host atom indices (or a boolean mask); min_distance: Å.
    """
    close = _closest_host_pair(positions, cell, symbols, host)
    if close is not None and close[2] < min_distance:
        a, b, d = close
        raise InputError(
            f"the free run's time-averaged host is not a structure: {symbols[a]} atom {a} and "
            f"{symbols[b]} atom {b} sit {d:.2f} Å apart, so host atoms changed sites during "
            "that run (anion rotations or host diffusion). Use host_reference 'quenched' or 'snapshot' "
            "(CLI: --host-reference), a free run at lower temperature or a shorter one as the reference, "
            "or the rigid-anions protocol"
        )


def _closest_host_pair(positions: np.ndarray, cell, symbols, host) -> tuple[int, int, float] | None:
    """(atom a, atom b, distance Å) of the closest pair of host atoms (minimum image); None for < 2 atoms."""
    idx = np.flatnonzero(host) if np.asarray(host).dtype == bool else np.asarray(host, dtype=int)
    if idx.size < 2:
        return None
    probe = Atoms([symbols[i] for i in idx], positions=np.asarray(positions)[idx], cell=cell, pbc=True)
    d = probe.get_all_distances(mic=True)
    np.fill_diagonal(d, np.inf)
    i, j = np.unravel_index(np.argmin(d), d.shape)
    return int(idx[i]), int(idx[j]), float(d[i, j])


def quench(
    positions: np.ndarray, cell, symbols, calculator, fmax: float = QUENCH_FMAX, steps: int = QUENCH_STEPS
) -> tuple[np.ndarray, dict[str, Any]]:
    """Relax one configuration to its nearest energy minimum (the inherent structure) at fixed cell.

    FIRE (`dynamics.minimise`) with `calculator` until max |F| < fmax eV/Å or `steps` steps; positions (N, 3)
    Å. Returns the relaxed positions and a record: energy_initial_eV, energy_final_eV, fmax_eV_per_A (the
    final max force), steps, converged. A quench that does not converge is kept, with a warning.
    """
    import warnings

    from .dynamics import minimise

    if calculator is None:
        raise InputError(
            "host_reference 'quenched' relaxes the free run's last frame with the run's potential: "
            "give the calculator (the atoms of the run carry none)"
        )
    atoms = Atoms(list(symbols), positions=np.asarray(positions, dtype=float), cell=cell, pbc=True)
    atoms.calc = calculator
    rec = minimise(atoms, fmax, steps)
    rec = {k: rec[k] for k in ("energy_initial_eV", "energy_final_eV", "fmax_eV_per_A", "steps", "converged")}
    rec.update(optimizer="FIRE", fmax_target_eV_per_A=float(fmax), max_steps=int(steps), cell="fixed")
    if not rec["converged"]:
        warnings.warn(
            f"the quenched host reference did not converge in {steps} FIRE steps: max force "
            f"{rec['fmax_eV_per_A']:.3f} eV/Å > {fmax} eV/Å (used as it is)",
            stacklevel=2,
        )
    return atoms.get_positions(), rec


def resolve_host_reference(
    reference: dict[str, Any], kind: str, host, calculator=None, *, fmax: float = QUENCH_FMAX, steps: int = QUENCH_STEPS
) -> dict[str, Any]:
    """Choose the host reference of a frozen-host or tethered run (module docstring: mean | snapshot |
    quenched | auto) from a free run's `reference_from_trajectory` dict.

    host: host atom indices (or mask); calculator: the run's potential (quenched, and auto when the mean
    is refused). Returns a copy of `reference` with 'host' (N, 3) Å, whose host rows are the chosen
    reference, 'host_reference' (mean | snapshot | quenched), and 'host_reference_reason' (auto) and
    'quench' (the `quench` record) where they apply.
    """
    if kind not in HOST_REFERENCES:
        raise InputError(f"unknown host reference {kind!r}; choose one of {', '.join(HOST_REFERENCES)}")
    out = dict(reference)
    if kind == "auto":
        sym = reference["symbols"]
        a, b, d = _closest_host_pair(reference["mean"], reference["cell"], sym, host) or (0, 0, np.inf)
        if d >= MIN_HOST_DISTANCE:
            kind, out["host_reference_reason"] = (
                "mean",
                (f"the time-averaged host is a structure (closest host atoms {d:.2f} Å ≥ {MIN_HOST_DISTANCE} Å apart)"),
            )
        else:
            kind, out["host_reference_reason"] = (
                "quenched",
                (
                    f"the time-averaged host is not a structure ({sym[a]} atom {a} and {sym[b]} atom {b} "
                    f"{d:.2f} Å < {MIN_HOST_DISTANCE} Å apart: host atoms changed sites in the free run)"
                ),
            )
    if kind == "mean":
        out["host"] = np.asarray(reference["mean"], dtype=float)
    elif kind == "snapshot":
        out["host"] = np.asarray(reference["last"], dtype=float)
    else:
        out["host"], out["quench"] = quench(
            reference["last"], reference["cell"], reference["symbols"], calculator, fmax, steps
        )
    out["host_reference"] = kind
    return out


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
            check_host_reference(pos, atoms.cell, atoms.get_chemical_symbols(), host)
        atoms.set_positions(pos, apply_constraint=False)
        desc["reference"] = reference.get("source")
        desc["reference_frames"] = reference.get("frames")
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
