"""Helpers shared by CLI commands: trajectory loading, output writing, JSON printing."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import typer

from ..errors import InputError
from ..results import save_dataset  # noqa: F401  (re-exported for the commands)


def parse_species(species: str | None) -> list[str] | None:
    """'Li,S' → ['Li', 'S']; None/'' → None (all species)."""
    if not species:
        return None
    return [s.strip() for s in species.split(",") if s.strip()]


def parse_mapping(text: str | None, option: str) -> dict[str, str]:
    """'Li=7Li,Cl=Cl' → {'Li': '7Li', 'Cl': 'Cl'}; None/'' → {}; a malformed entry is a clear error."""
    if not text:
        return {}
    out = {}
    for part in text.split(","):
        if "=" not in part:
            raise InputError(f"{option} entries look like Li=7Li, got {part!r}")
        k, v = part.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def load(path: Path, dt: float | None, fmt: str | None, start: int = 0, stop: int | None = None,
         stride: int = 1):
    from ..trajectory.io import read_trajectory
    return read_trajectory(path, dt=dt, format=fmt, start=start, stop=stop, stride=stride)


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
