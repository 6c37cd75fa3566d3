"""Helpers shared by CLI commands: trajectory loading, output writing, JSON printing."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import typer

from ..errors import InputError


def parse_species(species: str | None) -> list[str] | None:
    """'Li,S' → ['Li', 'S']; None/'' → None (all species)."""
    if not species:
        return None
    return [s.strip() for s in species.split(",") if s.strip()]


def load(path: Path, dt: float | None, fmt: str | None, start: int = 0, stop: int | None = None,
         stride: int = 1):
    from ..trajectory.io import read_trajectory
    return read_trajectory(path, dt=dt, format=fmt, start=start, stop=stop, stride=stride)


def save_dataset(ds, out: Path) -> None:
    """Write a Dataset to netCDF atomically (temporary file, then rename)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    clean = ds.copy()
    clean.attrs = {k: _attr(v) for k, v in ds.attrs.items()}
    for v in clean.variables.values():
        v.attrs = {k: _attr(x) for k, x in v.attrs.items()}
    clean.to_netcdf(tmp, engine="h5netcdf", invalid_netcdf=True)
    os.replace(tmp, out)


def _attr(v: Any):
    if isinstance(v, (dict, list, tuple)) and not (isinstance(v, (list, tuple)) and all(
            isinstance(x, (int, float)) for x in v)):
        return json.dumps(v, default=str)
    if isinstance(v, bool):
        return int(v)
    if v is None:
        return "none"
    return v


def to_jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, (np.floating, float)):
        f = float(obj)
        return None if math.isnan(f) or math.isinf(f) else f
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


def print_json(obj: Any) -> None:
    typer.echo(json.dumps(to_jsonable(obj), indent=2))


def positive(value: float | None, name: str) -> float | None:
    if value is not None and value <= 0:
        raise InputError(f"{name} must be positive, got {value}")
    return value
