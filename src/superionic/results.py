"""Atomic writing of results (netCDF via h5netcdf, JSON, text, figures), and the rule that decides whether a
number is a result.

`atomic_write` is the project's one atomic writer: the content goes to ``<name>.part`` beside the target and is
renamed onto it only when complete, so a crash or a full disk never leaves a half-written file under the final
name and never destroys the previous version of it.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr


def atomic_write(path: str | Path, write: Callable[[Path], Any], *, mkdir: bool = True, durable: bool = False) -> Path:
    """Call ``write(tmp)`` with a temporary path beside `path`, then rename it onto `path` (atomic on POSIX).

    On any failure the temporary file is removed and the error propagates; `path` is then untouched.
    `write` receives a path ending in ``.part``: writers that infer the format from the suffix (matplotlib,
    ASE) must be told the format explicitly. `mkdir`: create missing parent folders first. `durable`: fsync the
    bytes before the rename publishes them (checkpoints, run records), so a power loss cannot leave an empty file.
    """
    path = Path(path)
    if mkdir:
        path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    try:
        write(tmp)
        if durable:
            with open(tmp, "rb") as fh:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise
    return path


def atomic_text(path: str | Path, text: str, encoding: str = "utf-8", durable: bool = False) -> Path:
    """Write text atomically (see `atomic_write`)."""
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding=encoding), durable=durable)


def _attr(v: Any):
    """netCDF-safe attribute: nested structures become JSON strings, bools ints, None 'none'."""
    if isinstance(v, bool):
        return int(v)
    if v is None:
        return "none"
    if isinstance(v, dict) or (
        isinstance(v, (list, tuple)) and not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v)
    ):
        return json.dumps(v, default=str)
    return v


def save_dataset(ds: xr.Dataset, out: str | Path) -> Path:
    """Write a Dataset to netCDF atomically (temporary file, then rename); returns the path."""
    clean = ds.copy()
    clean.attrs = {k: _attr(v) for k, v in ds.attrs.items()}
    for name, var in clean.variables.items():
        var.attrs = {k: _attr(x) for k, x in ds.variables[name].attrs.items()}
    return atomic_write(out, lambda tmp: clean.to_netcdf(tmp, engine="h5netcdf", invalid_netcdf=True))


def save_figure(fig, out: str | Path, dpi: int = 150) -> Path:
    """Save a matplotlib figure atomically; the format comes from the suffix of `out` (png, pdf, svg …)."""
    fmt = Path(out).suffix.lstrip(".").lower() or None
    return atomic_write(out, lambda tmp: fig.savefig(tmp, format=fmt, dpi=dpi, bbox_inches="tight"))


def write_json(path: str | Path, obj: dict, durable: bool = False) -> None:
    """Write JSON atomically (`durable`: fsync before the rename)."""
    atomic_text(path, json.dumps(obj, indent=2, default=str), durable=durable)


#: a value is a result only when its 1σ is at most this fraction of it
RESOLVED_FRACTION = 0.5


def finite(*xs) -> bool:
    """True when every argument is a finite real number."""
    return all(isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) for x in xs)


def needed_length(value: float, err: float, length_ps: float | None) -> float:
    """Run length (ps) at which err/|value| would fall to RESOLVED_FRACTION (statistical σ ∝ 1/√length)."""
    if length_ps is None or not (finite(value, err, length_ps) and value):
        return float("nan")
    return float(length_ps * (err / abs(value) / RESOLVED_FRACTION) ** 2)


def resolved_text(value: float, err: float, unit: str = "", length_ps: float | None = None, digits: int = 3) -> str:
    """'v ± σ unit', or 'not resolved (±σ unit; needs ≳ L ps)' when σ > |v|/2; '–' when v is not finite."""
    u = f" {unit}" if unit else ""
    if not finite(value):
        return "–"
    if not finite(err):
        return f"{value:.{digits}g}{u} (no error estimate)"
    if err > RESOLVED_FRACTION * abs(value):
        need = needed_length(value, err, length_ps)
        tail = f"; needs ≳ {need:.0f} ps" if finite(need) else ""
        return f"not resolved (±{err:.2g}{u}{tail})"
    return f"{value:.{digits}g} ± {err:.2g}{u}"


def positive_text(value: float, err: float, unit: str = "", digits: int = 3) -> str:
    """A quantity that cannot be negative (D, g(0)): 'v ± σ unit' when v > 2σ, else 'consistent with zero
    (< max(v, 0) + 2σ unit)' — a negative estimate is never shown as a result.
    """
    u = f" {unit}" if unit else ""
    if not finite(value):
        return "–"
    if not finite(err):
        return f"{value:.{digits}g}{u} (no error estimate)" if value >= 0 else "–"
    if value > 2.0 * err:
        return f"{value:.{digits}g} ± {err:.2g}{u}"
    return f"consistent with zero (< {max(value, 0.0) + 2.0 * err:.2g}{u})"


def nonnegative_fields(value: float, err: float, key: str = "D", regime_ok: bool = True) -> dict[str, float | None]:
    """summary.json fields of a quantity that cannot be negative (D): ``{key: v, key_err: σ}`` when v > 2σ and
    the fit range is in its regime (`regime_ok`: for D, a diffusive MSD). Otherwise ``key`` and ``key_err`` are
    None and the fit's own numbers stay under ``key_fit``/``key_fit_err``; when v ≤ 2σ ``key_upper`` is the bound
    max(v, 0) + 2σ. A negative, unresolved or non-diffusive estimate is never stored as the value.
    """
    if finite(value, err) and value > 2.0 * err and regime_ok:
        return {key: float(value), f"{key}_err": float(err)}
    fit = float(value) if finite(value) else None
    fit_err = float(err) if finite(err) else None
    out = {key: None, f"{key}_err": None, f"{key}_fit": fit, f"{key}_fit_err": fit_err}
    if fit is not None and fit_err is not None and fit <= 2.0 * fit_err:
        out[f"{key}_upper"] = max(fit, 0.0) + 2.0 * fit_err
    return out


def fit_value(entry: dict, key: str = "D") -> tuple[float, float]:
    """(value, σ) of the fit behind a `nonnegative_fields` entry, resolved or not (an earlier version's summary
    stored it under ``key``); NaN where absent. For comparisons and `positive_text`, never for display as is.
    """
    nan = float("nan")
    if entry.get(key) is not None:
        v, e = entry.get(key), entry.get(f"{key}_err")
    else:
        v, e = entry.get(f"{key}_fit"), entry.get(f"{key}_fit_err")
    return (float(v) if v is not None else nan), (float(e) if e is not None else nan)


def mean_with_spread(values, errors) -> tuple[float, float]:
    """Mean of N estimates (windows, runs, hosts) and its σ = max(√Σσ_k²/N, std(v_k)/√N): their own errors or their
    spread, whichever is larger (one estimate: its own error).
    """
    v, e = np.asarray(values, dtype=float), np.asarray(errors, dtype=float)
    n = len(v)
    spread = float(v.std(ddof=1) / np.sqrt(n)) if n > 1 else 0.0
    return float(v.mean()), max(float(np.sqrt((e**2).sum()) / n), spread)


def protocol_label(row: dict, mean_reference: bool = False) -> str:
    """'frozen-host', 'tethered k = 1 eV/Å²', '… (quenched host)', '… (4 snapshot hosts)' for an enhancement row;
    the default host reference 'mean' is named only with `mean_reference`.
    """
    label = row["protocol"]
    if row.get("stiffness_eV_per_A2") is not None:
        label += f" k = {row['stiffness_eV_per_A2']:g} eV/Å²"
    ref = row.get("host_reference")
    n = row.get("host_samples")
    if ref and n:
        label += f" ({n} {ref} hosts)"
    elif ref and (mean_reference or ref != "mean"):
        label += f" ({ref} host)"
    return label


#: summary.json keys of this version → their names in the summaries of earlier versions, which called a fit
#: range a "window"
OLDER_SUMMARY_KEYS = {
    "fit_range_fs": "fit_window_fs",
    "fit_range_ok": "window_ok",
    "fit_ranges_diffusive": "windows_diffusive",
    "all_fit_ranges_diffusive": "all_windows_diffusive",
}


def summary_get(entry: dict, key: str, default: Any = None) -> Any:
    """entry[key] of a summary.json entry, else the value under the key's name of an earlier version
    (`OLDER_SUMMARY_KEYS`), else default.
    """
    if key in entry:
        return entry[key]
    old = OLDER_SUMMARY_KEYS.get(key)
    return entry.get(old, default) if old is not None else default
