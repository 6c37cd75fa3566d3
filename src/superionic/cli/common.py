"""Helpers shared by CLI commands: trajectory loading, checks of options and output paths, JSON printing."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import typer

from ..errors import InputError
from ..results import atomic_write, save_dataset, save_figure  # noqa: F401  (re-exported for the commands)
from ..trajectory.h5md_read import frame_ranges

#: file name endings accepted for netCDF outputs (netCDF-4 files are HDF5 files)
NETCDF_SUFFIXES = (".nc", ".nc4", ".cdf", ".netcdf", ".h5", ".hdf5")
#: the --overwrite option every command that writes files has
OVERWRITE_HELP = "Replace output files that already exist (an output never replaces an input)."
#: the --lag-window option of the commands that Fourier-transform a correlation function
LAG_WINDOW_HELP = (
    "Lag window, the taper of the correlation function before the Fourier transform: "
    "hann (default), blackman, triangle or none."
)


def parse_species(species: str | None) -> list[str] | None:
    """'Li,S' → ['Li', 'S']; None/'' → None (all species)."""
    if not species:
        return None
    return list(dict.fromkeys(s.strip() for s in species.split(",") if s.strip())) or None


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


def load(path: Path, dt: float | None, fmt: str | None, start: int = 0, stop: int | None = None, stride: int = 1):
    """Read a trajectory for a command; refuses a non-positive --dt and non-finite frames.

    The reader refuses missing, empty, folder and damaged files; frames with NaN/inf positions, cells or
    velocities are refused here whatever the format (a damaged file must not turn into wrong numbers).
    """
    from ..trajectory.io import read_trajectory

    positive(dt, "--dt")
    traj = read_trajectory(path, dt=dt, format=fmt, start=start, stop=stop, stride=stride)
    check_finite(traj, path)
    return traj


def check_finite(traj, path: Path | str, chunk: int = 4096) -> None:
    """InputError naming the frames when positions, cells or velocities hold NaN or inf."""
    for name in ("positions", "cells", "velocities"):
        arr = getattr(traj, name, None)
        if arr is None:
            continue
        bad = []
        for i in range(0, len(arr), chunk):  # in chunks: no full-size temporary for long runs
            block = np.asarray(arr[i : i + chunk])
            finite = np.isfinite(block).reshape(len(block), -1).all(axis=1)
            bad.append(np.flatnonzero(~finite) + i)
        bad = np.concatenate(bad) if bad else np.zeros(0, int)
        if bad.size:
            raise InputError(
                f"{path}: {name} are not finite (NaN or inf) in {bad.size} of {len(arr)} frames "
                f"(frames {frame_ranges(bad)}); the file is damaged or the simulation blew up"
            )


def to_jsonable(obj: Any) -> Any:
    """`obj` made JSON-ready (recursively): numpy arrays and scalars → lists and numbers, keys → str, NaN/inf → None."""
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
    """`obj` as indented JSON on stdout (through `to_jsonable`: NaN and inf become null)."""
    typer.echo(json.dumps(to_jsonable(obj), indent=2))


def print_gamma_models(summary: dict) -> None:
    """The Γ(Q) model lines of a QENS summary (`qens.linewidth_summary`): D per model and the best by AIC, or
    the one line that says why no D is given (too few resolved Γ).
    """
    if summary.get("models_refused"):
        typer.echo(f"  Γ(Q) models: no D: {summary['models_refused']}")
        return
    for name, r in summary["models"].items():
        if name == "best_by_aic" or not isinstance(r, dict) or r.get("D") is None:
            continue
        flag = "" if r.get("consistent_with_tracer", True) else f"  ✗ {r['tracer_ratio']:.3g}× the tracer D: not a D"
        typer.echo(f"  {name:>17}: D = {r['D']:.3e} ± {r['D_err']:.1e} cm²/s, χ²_red = {r['chi2_red']:.3g}{flag}")
    if "best_by_aic" in summary["models"]:
        typer.echo(f"  best model by AIC: {summary['models']['best_by_aic']}")
    if summary.get("tracer_D") is not None:
        typer.echo(
            f"  tracer D of {summary['tracer_species']} (MSD): {summary['tracer_D']:.3e} ± "
            f"{summary['tracer_D_err']:.1e} cm²/s"
        )


def positive(value: float | None, name: str, unit: str = "") -> float | None:
    """The value, or InputError when it is given and not a finite number > 0 (`unit` named in the message)."""
    if value is not None and not (math.isfinite(value) and value > 0):
        u = f" ({unit})" if unit else ""
        raise InputError(f"{name} must be a positive number{u}, got {value:g}")
    return value


def at_least(value: float | None, minimum: float, name: str, unit: str = "") -> float | None:
    """The value, or InputError when it is given and not a finite number ≥ minimum."""
    if value is not None and not (math.isfinite(value) and value >= minimum):
        u = f" {unit}" if unit else ""
        raise InputError(f"{name} must be at least {minimum:g}{u}, got {value:g}{u}")
    return value


def check_isotopes(iso: dict[str, str], traj, option: str = "--isotopes") -> None:
    """Refuse an isotope for a species the trajectory lacks, or one the cross-section table does not know."""
    from ..neutron.crosssections import neutron_data

    for element, isotope in iso.items():
        if element not in traj.species:
            raise InputError(
                f"{option} names {element!r}, which is not in this trajectory; it has {', '.join(traj.species)}"
            )
        try:
            neutron_data(element, iso)
        except InputError as err:
            raise InputError(f"{option} {element}={isotope}: {err}") from None


def check_max_lag(traj, max_lag: int | None, minimum: int = 3) -> None:
    """Refuse a --max-lag outside [minimum, number of frames] (a correlation cannot be longer than the run)."""
    if max_lag is not None and not minimum <= max_lag <= traj.n_frames:
        raise InputError(
            f"--max-lag must be between {minimum} and the number of frames ({traj.n_frames}), got {max_lag}"
        )


def one_of(value: str, choices: Iterable[str], name: str) -> str:
    """The value, or InputError naming the choices."""
    choices = list(choices)
    if value not in choices:
        raise InputError(f"{name} must be one of {', '.join(choices)}; got {value!r}")
    return value


def renamed_option(value, old_value, name: str, old_name: str):
    """The value of an option given under its name or under its old name (a hidden alias kept working);
    InputError when both are given with different values. None when neither is given.
    """
    if old_value is None:
        return value
    if value is not None and value != old_value:
        raise InputError(f"{old_name} is the old name of {name}: give one of them, not both ({old_value!r}, {value!r})")
    return old_value


def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return a.resolve() == b.resolve()


def plot_suffixes() -> list[str]:
    """Suffixes matplotlib can save to (png, pdf, svg, …)."""
    from matplotlib.backend_bases import FigureCanvasBase

    return sorted(f".{k}" for k in FigureCanvasBase.get_supported_filetypes())


def check_outputs(
    outputs: Iterable[tuple[str, Path | str | None, str]], inputs: Iterable[Path | str | None], overwrite: bool
) -> None:
    """Refuse, before any work, output paths that would go wrong: a folder, a wrong suffix, an input file
    (never replaced, even with --overwrite), the same path twice, an existing file without --overwrite, a
    place that cannot be written.

    outputs: (option, path or None, kind) with kind 'netcdf', 'plot', 'extxyz' or 'any'.
    """
    inputs = [Path(p) for p in inputs if p is not None]
    seen: dict[Path, str] = {}
    for option, path, kind in outputs:
        if path is None:
            continue
        path = Path(path)
        if str(path) in ("", "."):
            raise InputError(f"{option} needs a file name")
        if path.is_dir():
            raise InputError(f"{option} {path} is a folder; give a file name inside it")
        for src in inputs:
            if _same_file(path, src):
                raise InputError(
                    f"{option} {path} is an input of this command; choose another file name "
                    "(outputs never replace inputs)"
                )
        suffix = path.suffix.lower()
        if kind == "netcdf" and suffix not in NETCDF_SUFFIXES:
            raise InputError(f"{option} writes netCDF: give a file name ending in .nc (got {path.name!r})")
        if kind == "plot":
            allowed = plot_suffixes()
            if suffix not in allowed:
                raise InputError(
                    f"{option} saves a figure: give a file name ending in .png, .pdf or .svg "
                    f"(or {', '.join(s for s in allowed if s not in ('.png', '.pdf', '.svg'))}); "
                    f"got {path.name!r}"
                )
        if kind == "extxyz" and suffix not in (".extxyz", ".xyz"):
            raise InputError(f"{option} writes extended XYZ: give a file name ending in .extxyz (got {path.name!r})")
        key = path.resolve()
        if key in seen:
            raise InputError(f"{option} and {seen[key]} name the same file {path}")
        seen[key] = option
        if path.exists() or path.is_symlink():
            if not path.is_file():
                raise InputError(f"{option} {path} exists and is not a regular file; choose another name")
            if not overwrite:
                raise InputError(f"{option} {path} exists; give --overwrite to replace it, or choose another name")
        parent = path.parent
        while not parent.exists() and parent != parent.parent:
            parent = parent.parent
        if not parent.is_dir():
            raise InputError(f"{option} {path}: {parent} is a file, not a folder")
        if not os.access(parent, os.W_OK | os.X_OK):
            raise InputError(f"{option} {path}: cannot write in {parent} (permission denied or read-only)")
