"""Temperature ladders: one call runs a list of temperatures, each in its own folder with metadata."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from ..errors import InputError
from .run import run_nvt
from .run_folder import _atomic_json
from .settings import MDSettings


def temperature_dirname(T: float) -> str:
    """Folder name of the ladder rung at temperature T (K), e.g. T600K."""
    return f"T{T:g}K"


def run_ladder(
    atoms,
    calculator,
    settings: MDSettings,
    temperatures: Sequence[float],
    out_dir: str | Path,
    *,
    potential: dict | None = None,
    resume: bool = False,
    progress: Callable[[float, int, int, float], None] | None = None,
    references: dict[float, str | Path] | None = None,
) -> dict[float, Path]:
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
    summary: dict[str, Any] = {
        "temperatures": temps,
        "protocol": settings.protocol,
        "potential": potential or {},
        "rungs": {},
    }
    results: dict[float, Path] = {}
    for i, T in enumerate(temps):
        ref = (references or {}).get(T, settings.reference)
        s = replace(
            settings,
            temperature=T,
            seed=settings.seed + i,
            reference=None if ref is None else str(ref),
            metadata=dict(settings.metadata, ladder_index=i, ladder_temperatures=temps),
        )
        sub = out / temperature_dirname(T)
        cb = (lambda step, total, temp, _T=T: progress(_T, step, total, temp)) if progress else None
        results[T] = run_nvt(atoms, calculator, s, sub, potential=potential, resume=resume, progress=cb)
        summary["rungs"][temperature_dirname(T)] = json.loads((sub / "run.json").read_text()).get("status")
        _atomic_json(out / "ladder.json", summary)
    return results


def run_stiffness_scan(
    atoms,
    calculator,
    settings: MDSettings,
    stiffnesses: Sequence[float],
    out_dir: str | Path,
    *,
    potential: dict | None = None,
    resume: bool = False,
) -> dict[float, Path]:
    """Tethered-host runs over a list of spring constants k (eV/Å²), each in out_dir/k<k>/ (SCIENCE.md §5:
    the scan interpolates between the free run, k → 0, and the frozen host, k → ∞). `settings.reference`
    must name the free run at the same temperature. out_dir/scan.json lists the folders.
    """
    ks = [float(k) for k in stiffnesses]
    if not ks or any(not k >= 0 for k in ks):
        raise InputError(f"stiffnesses must be a non-empty list of values ≥ 0 eV/Å², got {list(stiffnesses)}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    results: dict[float, Path] = {}
    for k in ks:
        s = replace(settings, protocol="tethered", tether_stiffness=k)
        results[k] = run_nvt(atoms, calculator, s, out / f"k{k:g}", potential=potential, resume=resume)
        _atomic_json(
            out / "scan.json",
            {
                "temperature": settings.temperature,
                "reference": settings.reference,
                "stiffness_eV_per_A2": list(results),
                "folders": [f"k{x:g}" for x in results],
            },
        )
    return results
