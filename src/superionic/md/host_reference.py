"""The host reference of a frozen-host or tethered run: where its host atoms are held.

The *host* is every atom that is not of a mobile species (`protocols.mobile_species`). Its reference
positions come from a free (unsuppressed) run at the same temperature and cell (`reference_from_trajectory`),
chosen by `host_reference` (`resolve_host_reference`):

* ``mean`` (default) – the time averages of the unwrapped host positions. Refused when it is not a
  structure (`check_host_reference`: host atoms changed sites, e.g. PS4 rotations at high T, so two host
  atoms of the average sit closer than 0.9 × the closest host pair of the run's last frame).
* ``snapshot`` – the free run's last frame: one instantaneous thermal structure (always exists).
* ``quenched`` – that last frame relaxed to its nearest energy minimum with the run's own potential at
  fixed cell (FIRE to max |F| < 0.05 eV/Å, at most 500 steps; `quench`): the inherent structure.
* ``auto`` – ``mean`` when it passes `check_host_reference`, otherwise ``quenched`` (reason recorded).

The ratio D(free)/D(suppressed) depends on this choice: a mean host is the most symmetric and open, a
snapshot carries one frozen thermal distortion, a quenched host none at all. Mobile ions start from the
free run's last frame in every case.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms

from ..errors import InputError

HOST_REFERENCES = ("mean", "snapshot", "quenched", "auto")
QUENCH_FMAX = 0.05  # eV/Å, force criterion of the quenched host reference
QUENCH_STEPS = 500  # FIRE steps at most
MIN_HOST_DISTANCE = 1.2  # Å, closer host atoms in a time average: not a structure
#: nor closer than this fraction of the closest host pair of an instantaneous frame of the same run (a
#: librating PS4 averages its P–S bond 1–3 % short; a reoriented one to well under 90 %)
MIN_DISTANCE_FRACTION = 0.9


def reference_from_trajectory(path: str | Path, discard_fraction: float = 0.0, at: float = 1.0) -> dict[str, Any]:
    """Time-averaged unwrapped positions of every atom in a free run, plus one of its frames.

    Returns {'mean': (N,3) Å, 'last': (N,3) Å (unwrapped, consistent with 'mean'), 'cell': (3,3),
    'symbols', 'frames', 'source', 'frame'}. `discard_fraction` drops that leading fraction of frames. 'last' is the
    frame at fraction `at` of the run (its index 'frame' = round(at · (frames − 1)) from the first kept frame; 1: the
    last frame), where a snapshot or quenched host is taken and the mobile ions start.
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
    if not 0.0 < at <= 1.0:
        raise InputError(f"the host frame is a fraction of the reference run in (0, 1], got {at}")
    frame = int(round(at * (len(unwrapped) - 1)))
    return {
        "mean": unwrapped.mean(axis=0),
        "last": unwrapped[frame],
        "frame": frame,
        "cell": traj.cells[start:].mean(axis=0),
        "symbols": list(traj.symbols),
        "frames": int(traj.n_frames - start),
        "source": str(path),
    }


def host_distance_floor(cell, symbols, host, instantaneous: np.ndarray | None = None) -> float:
    """The closest host–host distance (Å) a time-averaged host may have: MIN_HOST_DISTANCE, raised to
    MIN_DISTANCE_FRACTION of the closest host pair in `instantaneous` ((N, 3) Å, one frame of the free run).
    """
    inst = None if instantaneous is None else _closest_host_pair(instantaneous, cell, symbols, host)
    return MIN_HOST_DISTANCE if inst is None else max(MIN_HOST_DISTANCE, MIN_DISTANCE_FRACTION * inst[2])


def check_host_reference(
    positions: np.ndarray, cell, symbols, host, min_distance: float = MIN_HOST_DISTANCE, instantaneous=None
) -> None:
    """Refuse a time-averaged host that is not a structure: host atoms that changed sites during the free
    run (anion rotations, host diffusion) average to points between sites, closer than any two atoms of
    that run ever came (`host_distance_floor`), possibly on top of each other.

    positions: (N, 3) Å; host: host atom indices (or a boolean mask); min_distance: Å; instantaneous:
    (N, 3) Å, a frame of the free run whose closest host pair raises the floor (None: min_distance only).
    """
    floor = max(min_distance, host_distance_floor(cell, symbols, host, instantaneous))
    close = _closest_host_pair(positions, cell, symbols, host)
    if close is not None and close[2] < floor:
        a, b, d = close
        why = (
            f"{MIN_DISTANCE_FRACTION} × the closest host pair of a frame of the run"
            if floor > min_distance
            else "the absolute floor"
        )
        raise InputError(
            f"the free run's time-averaged host is not a structure: {symbols[a]} atom {a} and "
            f"{symbols[b]} atom {b} sit {d:.2f} Å apart (< {floor:.2f} Å, {why}), so host atoms changed sites during "
            "that run (anion rotations or host diffusion). Use host_reference 'quenched' or 'snapshot' "
            "(CLI: --host-reference), a free run at lower temperature or a shorter one as the reference, "
            "or the rigid-anions protocol"
        )


def recorded_mean_host_invalid(info: dict | None) -> str | None:
    """Why the finished suppressed run described by `info` (its run.json) holds a time-averaged host that the
    current `check_host_reference` refuses (a run made under the looser absolute floor alone); None when
    it holds another reference, passes, or its free run is gone.
    """
    settings = (info or {}).get("settings") or {}
    if settings.get("protocol") not in ("frozen-host", "tethered"):
        return None
    record = (settings.get("metadata") or {}).get("host_reference") or {}
    if record.get("host_reference", settings.get("host_reference")) != "mean":
        return None
    source = Path(record.get("reference") or settings.get("reference") or "")
    source = source / "trajectory.h5" if source.is_dir() else source
    if not source.is_file():
        return None
    try:
        ref = reference_from_trajectory(source)
    except InputError:  # an unreadable free run: its staleness is decided elsewhere
        return None
    host = np.array([s not in (settings.get("mobile") or ["Li"]) for s in ref["symbols"]])
    try:
        check_host_reference(ref["mean"], ref["cell"], ref["symbols"], host, instantaneous=ref["last"])
    except InputError as err:
        return str(err).split(", so host atoms")[0].replace("the free run's time-averaged host", "its mean host")
    return None


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
        floor = host_distance_floor(reference["cell"], sym, host, reference.get("last"))
        a, b, d = _closest_host_pair(reference["mean"], reference["cell"], sym, host) or (0, 0, np.inf)
        if d >= floor:
            kind, out["host_reference_reason"] = (
                "mean",
                (f"the time-averaged host is a structure (closest host atoms {d:.2f} Å ≥ {floor:.2f} Å apart)"),
            )
        else:
            kind, out["host_reference_reason"] = (
                "quenched",
                (
                    f"the time-averaged host is not a structure ({sym[a]} atom {a} and {sym[b]} atom {b} "
                    f"{d:.2f} Å < {floor:.2f} Å apart: host atoms changed sites in the free run)"
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
