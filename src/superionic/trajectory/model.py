"""The in-memory trajectory: positions, velocities, cells, species, masses, time step; and the names of its
atoms (`symbol_of`) and frames (`frame_ranges`, for messages).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from ase.data import atomic_masses, atomic_numbers, chemical_symbols

from ..errors import InputError


@dataclass
class Trajectory:
    """A molecular-dynamics trajectory in ASE units.

    Attributes
    ----------
    positions : (n_frames, n_atoms, 3) float array, Å (wrapped or unwrapped; see `unwrap`).
    cells : (n_frames, 3, 3) float array, Å, lattice vectors as rows.
    symbols : list of n_atoms chemical symbols.
    dt : time between stored frames, fs (never guessed).
    velocities : (n_frames, n_atoms, 3) float array, Å/fs, or None.
    masses : (n_atoms,) amu; defaults to the standard atomic masses.
    steps : (n_frames,) integer MD step of each frame, or None.
    metadata : free-form provenance (potential, temperature, protocol …).
    """

    positions: np.ndarray
    cells: np.ndarray
    symbols: list[str]
    dt: float
    velocities: np.ndarray | None = None
    masses: np.ndarray = None  # type: ignore[assignment]   # None → standard atomic masses (__post_init__)
    steps: np.ndarray | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.positions = np.asarray(self.positions, dtype=float)
        if self.positions.ndim != 3 or self.positions.shape[2] != 3:
            raise InputError(f"positions must have shape (frames, atoms, 3), got {self.positions.shape}")
        n_frames, n_atoms, _ = self.positions.shape
        cells = np.asarray(self.cells, dtype=float)
        if cells.shape == (3, 3):
            cells = np.broadcast_to(cells, (n_frames, 3, 3)).copy()
        if cells.shape != (n_frames, 3, 3):
            raise InputError(f"cells must have shape (3, 3) or ({n_frames}, 3, 3), got {cells.shape}")
        self.cells = cells
        self.symbols = [str(s) for s in self.symbols]
        if len(self.symbols) != n_atoms:
            raise InputError(f"{len(self.symbols)} symbols given for {n_atoms} atoms")
        unknown = sorted({s for s in self.symbols if s not in atomic_numbers})
        if unknown:
            raise InputError(f"unknown chemical symbol(s) {unknown}")
        if self.dt is None or not np.isfinite(self.dt) or self.dt <= 0:
            raise InputError(f"time step between frames must be a positive number of fs, got {self.dt!r}")
        self.dt = float(self.dt)
        if self.velocities is not None:
            self.velocities = np.asarray(self.velocities, dtype=float)
            if self.velocities.shape != self.positions.shape:
                raise InputError(
                    f"velocities shape {self.velocities.shape} differs from positions {self.positions.shape}"
                )
        if self.masses is None:
            self.masses = np.array([atomic_masses[atomic_numbers[s]] for s in self.symbols])
        self.masses = np.asarray(self.masses, dtype=float)
        if self.masses.shape != (n_atoms,):
            raise InputError(f"masses must have shape ({n_atoms},), got {self.masses.shape}")
        if self.steps is not None:
            self.steps = np.asarray(self.steps, dtype=np.int64)

    # -- shape ------------------------------------------------------------------
    @property
    def n_frames(self) -> int:
        """Number of stored frames."""
        return self.positions.shape[0]

    @property
    def n_atoms(self) -> int:
        """Number of atoms."""
        return self.positions.shape[1]

    def atoms_at(self, frame: int):
        """Frame `frame` as periodic ASE Atoms (positions and cell in Å; no velocities, no calculator)."""
        from ase import Atoms

        return Atoms(self.symbols, positions=self.positions[frame], cell=self.cells[frame], pbc=True)

    @property
    def times(self) -> np.ndarray:
        """Time of each frame from the first one, fs."""
        return np.arange(self.n_frames) * self.dt

    @property
    def species(self) -> list[str]:
        """Distinct chemical symbols in order of first appearance."""
        return list(dict.fromkeys(self.symbols))

    @property
    def atomic_numbers(self) -> np.ndarray:
        """Atomic numbers (n_atoms,)."""
        return np.array([atomic_numbers[s] for s in self.symbols])

    def volume(self) -> float:
        """Mean cell volume, Å³."""
        return float(np.mean(np.abs(np.linalg.det(self.cells))))

    # -- selections -------------------------------------------------------------
    def indices(self, species: str | None = None) -> np.ndarray:
        """Atom indices of one species (all atoms if None); a clear error if absent."""
        if species is None:
            return np.arange(self.n_atoms)
        if species not in atomic_numbers or species not in self.species:
            raise InputError(f"species {species!r} is not in this trajectory; it has {', '.join(self.species)}")
        return np.flatnonzero(np.asarray(self.symbols) == species)

    def species_list(self, species: str | list[str] | None = None) -> list[str]:
        """Validated list of species: None → all, 'Li' → ['Li']; an absent species raises InputError."""
        if species is None:
            return self.species
        if isinstance(species, str):
            species = [species]
        for s in species:
            self.indices(s)
        return list(species)

    def max_lag(self, max_lag: int | None = None, minimum: int = 2) -> int:
        """Number of correlation lags (frames): default half the trajectory, validated against its length."""
        if self.n_frames <= minimum:
            raise InputError(f"the trajectory has {self.n_frames} frames; this analysis needs more than {minimum}")
        if max_lag is None:
            return max(minimum, self.n_frames // 2)
        max_lag = int(max_lag)
        if max_lag < minimum or max_lag > self.n_frames:
            raise InputError(
                f"max_lag must be between {minimum} and the number of frames ({self.n_frames}), got {max_lag}"
            )
        return max_lag

    def select_frames(self, start: int = 0, stop: int | None = None, stride: int = 1) -> Trajectory:
        """A new Trajectory with frames[start:stop:stride] (dt scaled by stride); its arrays are copies, so
        changing one never changes this trajectory.
        """
        sl = slice(start, stop, stride)
        return Trajectory(
            positions=self.positions[sl].copy(),
            cells=self.cells[sl].copy(),
            symbols=list(self.symbols),
            dt=self.dt * stride,
            velocities=None if self.velocities is None else self.velocities[sl].copy(),
            masses=self.masses.copy(),
            steps=None if self.steps is None else self.steps[sl].copy(),
            metadata=dict(self.metadata),
        )

    def require_velocities(self) -> np.ndarray:
        """The velocities (frames, atoms, 3) Å/fs; InputError when the trajectory has none."""
        if self.velocities is None:
            raise InputError(
                "this trajectory has no velocities, which the VDOS needs: write them during MD "
                "(superionic md stores them by default) or read a format that carries them (H5MD, extxyz, ASE .traj)"
            )
        return self.velocities

    def __repr__(self) -> str:
        formula = "".join(f"{s}{self.symbols.count(s)}" for s in self.species)
        vel = "with" if self.velocities is not None else "without"
        return f"Trajectory({formula}, {self.n_frames} frames, dt={self.dt:g} fs, {vel} velocities)"


def symbol_of(z: int) -> str:
    """Chemical symbol of atomic number z."""
    return chemical_symbols[int(z)]


def frame_ranges(frames: np.ndarray) -> str:
    """[3, 4, 5, 9] → '3–5, 9' (at most four ranges shown)."""
    runs: list[list[int]] = []
    for f in (int(x) for x in frames):
        if runs and f == runs[-1][1] + 1:
            runs[-1][1] = f
        else:
            runs.append([f, f])
    text = ", ".join(f"{a}" if a == b else f"{a}–{b}" for a, b in runs[:4])
    return text + (f" and {len(runs) - 4} more ranges" if len(runs) > 4 else "")
