"""Atomic writing of results (netCDF via h5netcdf, JSON)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import xarray as xr


def _attr(v: Any):
    """netCDF-safe attribute: nested structures become JSON strings, bools ints, None 'none'."""
    if isinstance(v, bool):
        return int(v)
    if v is None:
        return "none"
    if isinstance(v, dict) or (isinstance(v, (list, tuple)) and not all(
            isinstance(x, (int, float)) and not isinstance(x, bool) for x in v)):
        return json.dumps(v, default=str)
    return v


def save_dataset(ds: xr.Dataset, out: str | Path) -> Path:
    """Write a Dataset to netCDF atomically (temporary file, then rename); returns the path."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    clean = ds.copy()
    clean.attrs = {k: _attr(v) for k, v in ds.attrs.items()}
    for name, var in clean.variables.items():
        var.attrs = {k: _attr(x) for k, x in ds.variables[name].attrs.items()}
    clean.to_netcdf(tmp, engine="h5netcdf", invalid_netcdf=True)
    os.replace(tmp, out)
    return out


def write_json(path: str | Path, obj: dict) -> None:
    """Write JSON atomically."""
    path = Path(path)
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(json.dumps(obj, indent=2, default=str))
    os.replace(tmp, path)
