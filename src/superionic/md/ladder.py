"""Temperature ladders: one call runs a list of temperatures, each in its own folder with metadata."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Sequence

from ..errors import InputError
from .run import MDSettings, _atomic_json, run_nvt


def temperature_dirname(T: float) -> str:
    return f"T{T:g}K"


def run_ladder(atoms, calculator, settings: MDSettings, temperatures: Sequence[float], out_dir: str | Path, *,
               potential: dict | None = None, resume: bool = False,
               progress: Callable[[float, int, int, float], None] | None = None,
               references: dict[float, str | Path] | None = None) -> dict[float, Path]:
    """Run `settings` at each temperature (sequentially) into out_dir/T<T>K/; return {T: trajectory}.

    Each folder is a complete run folder (run.json, trajectory.h5 …) and resumable on its own; the seed
    of rung i is settings.seed + i. `references` maps T to the free-run folder for suppressed protocols.
    out_dir/ladder.json lists the rungs and their status.
    """
    temps = [float(T) for T in temperatures]
    if not temps or any(not T > 0 for T in temps):
        raise InputError(f"temperatures must be a non-empty list of values > 0 K, got {list(temperatures)}")
    if len(set(temps)) != len(temps):
        raise InputError("temperatures in a ladder must be distinct")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    summary: dict[str, Any] = {"temperatures": temps, "protocol": settings.protocol, "potential": potential or {},
                               "rungs": {}}
    results: dict[float, Path] = {}
    for i, T in enumerate(temps):
        ref = (references or {}).get(T, settings.reference)
        s = replace(settings, temperature=T, seed=settings.seed + i, reference=None if ref is None else str(ref),
                    metadata=dict(settings.metadata, ladder_index=i, ladder_temperatures=temps))
        sub = out / temperature_dirname(T)
        cb = (lambda step, total, temp, _T=T: progress(_T, step, total, temp)) if progress else None
        results[T] = run_nvt(atoms, calculator, s, sub, potential=potential, resume=resume, progress=cb)
        summary["rungs"][temperature_dirname(T)] = json.loads((sub / "run.json").read_text()).get("status")
        _atomic_json(out / "ladder.json", summary)
    return results
