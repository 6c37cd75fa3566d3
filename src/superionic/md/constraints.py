"""The ASE constraints of the suppression protocols: `HarmonicTether` (host atoms on springs) and
`RigidUnits` (polyanions held rigid by SHAKE/RATTLE), with `find_units` to find those polyanions.
"""

from __future__ import annotations

import numpy as np
from ase import Atoms
from ase.constraints import FixBondLengths
from ase.geometry import find_mic

from ..errors import InputError


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
