"""Stability of a LAMMPS potential in MD: does a long hot run finish without unphysical contacts?

`stability_check` runs Langevin NVT on the LAMMPS engine (the engine's guards stop a run whose
temperature or energy explodes or whose closest pair falls below 0.6 Å) and then scans the trajectory
for the closest approach of every species pair, compared with the sanity-check bound of that pair
(0.7 × the sum of covalent radii, `materials.checks.pair_bound`). A run is *stable* when it finishes and
no pair ever comes closer than its bound. Units: K, fs, Å, ps.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
from ase import Atoms


def closest_approach(traj, cutoff: float = 4.0, every: int = 1) -> dict[str, float]:
    """Smallest distance (Å, if below `cutoff`) of every species pair "A-B" over the frames of a Trajectory."""
    return {k: d for k, (d, _) in closest_approach_frames(traj, cutoff, every).items()}


def closest_approach_frames(traj, cutoff: float = 4.0, every: int = 1) -> dict[str, tuple[float, int]]:
    """`closest_approach` with the frame where each pair's smallest distance occurs: {"A-B": (Å, frame)}."""
    return {k: (float(v.min()), int(v.argmin()) * every) for k, v in pair_minima(traj, cutoff, every).items()}


def pair_minima(traj, cutoff: float = 4.0, every: int = 1) -> dict[str, np.ndarray]:
    """Smallest distance (Å) of every species pair "A-B" in each scanned frame (0, every, 2·every, …): {pair: array},
    inf in a frame where that pair has no distance below `cutoff`; a pair never below it is left out.
    """
    from ..materials.checks import pair_min_distances

    frames = range(0, traj.n_frames, every)
    out: dict[str, np.ndarray] = {}
    for i, f in enumerate(frames):
        a = traj.atoms_at(f)
        for (x, y), d in pair_min_distances(a, cutoff).items():
            out.setdefault(f"{x}-{y}", np.full(len(frames), np.inf))[i] = d
    return out


def stability_check(
    atoms: Atoms,
    potential,
    temperature: float,
    ps: float = 100.0,
    *,
    dt: float = 2.0,
    friction: float = 0.01,
    production_friction: float | None = None,
    seed: int = 1,
    stride: int = 50,
    ranks: int = 1,
    out_dir: str | Path | None = None,
) -> dict:
    """Run `ps` picoseconds of Langevin NVT at `temperature` and report whether the potential stays sane.

    friction (1/fs) holds for 500 equilibration steps, `production_friction` (default: the same) for the `ps`.

    Returns {"stable", "completed", "failed" (message or None), "ps", "closest_approach_A", "closest_frame" (the
    frame of each pair's closest approach), "pair_bounds_A", "too_close" (pairs below their bound), "seconds"}.
    With `out_dir` the trajectory (H5MD, a frame every `stride` steps; up to the failure, if it failed) stays there.
    """
    from ..materials.checks import pair_bound
    from ..potentials.lammps_potentials import get_lammps_potential
    from ..trajectory import read_h5md
    from . import MDSettings
    from .engine import run_md

    steps = int(round(ps * 1000.0 / dt))
    settings = MDSettings(
        temperature=temperature,
        steps=steps,
        dt=dt,
        stride=stride,
        equilibration_steps=500,
        seed=seed,
        friction=friction,
        production_friction=friction if production_friction is None else production_friction,
    )
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(out_dir) if out_dir is not None else Path(tmp)
        failed = None
        try:  # the dispatcher: guard trips and LAMMPS errors come back as MDExplodedError, as for every run
            path = run_md(atoms, get_lammps_potential(potential), settings, folder, engine="lammps", ranks=ranks)
        except Exception as err:  # the engine's guards, LAMMPS errors and bad potentials are the result here
            failed = f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}"
            path = folder / "trajectory.h5"
        traj = read_h5md(path) if Path(path).exists() else None
    frames = closest_approach_frames(traj) if traj is not None and traj.n_frames else {}
    closest = {k: d for k, (d, _) in frames.items()}
    bounds = {k: pair_bound(*k.split("-")) for k in closest}
    too_close = {k: d for k, d in closest.items() if d < bounds[k]}
    done_ps = float(traj.n_frames * traj.dt / 1000.0) if traj is not None else 0.0
    return {
        "stable": failed is None and not too_close,
        "completed": failed is None,
        "failed": failed,
        "temperature_K": float(temperature),
        "ps": done_ps,
        "n_atoms": len(atoms),
        "closest_approach_A": closest,
        "closest_frame": {k: f for k, (_, f) in frames.items()},
        "pair_bounds_A": bounds,
        "too_close": too_close,
        "seconds": time.perf_counter() - t0,
    }
