"""Temperature series of the low-frequency VDOS: exponent n(T), g(0)(T) and the crossover temperature.

Input: one trajectory (or one finished `vdos` Dataset) per temperature. Output: a Dataset over
`temperature` (and `name`: species/groups) with g0, g0_err, g0_upper, g0_resolved, exponent,
exponent_err, law, D_from_g0 and the classification (`lowfreq`). Crossover (the project's
definition): the temperature T_x at which n(T), linearly interpolated between the temperatures whose
law is resolved, first falls below `threshold` (default 1.5, midway between the Debye value 2 and the
liquid-like value 1). Its uncertainty comes from a Monte Carlo over the per-temperature exponent errors
(Gaussian); NaN when n never crosses or fewer than two temperatures have a resolved law.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import xarray as xr

from .. import units
from .._compat import renamed_keyword
from ..errors import InputError
from ..trajectory.model import Trajectory
from .lowfreq import analyse_lowfreq
from .vdos import names_of, vdos

KEYS = {
    "g0": "THz-1",
    "g0_err": "THz-1",
    "g0_upper": "THz-1",
    "exponent": units.DIMENSIONLESS,
    "exponent_err": units.DIMENSIONLESS,
    "D_from_g0": units.DIFFUSION,
    "D_from_g0_err": units.DIFFUSION,
}


def crossover_temperature(
    temps, n, n_err, threshold: float = 1.5, n_mc: int = 2000, seed: int = 0
) -> tuple[float, float]:
    """(T_x, σ) where linearly interpolated n(T) first drops below threshold (sorted by T)."""
    temps = np.asarray(temps, dtype=float)
    order = np.argsort(temps)
    t, nn, ne = temps[order], np.asarray(n, float)[order], np.asarray(n_err, float)[order]

    def cross(vals):
        below = vals < threshold
        if not below.any() or below[0]:
            return np.nan
        i = int(np.argmax(below))
        v0, v1 = vals[i - 1], vals[i]
        return t[i - 1] + (v0 - threshold) / (v0 - v1) * (t[i] - t[i - 1])

    tx = cross(nn)
    ne = np.where(np.isfinite(ne), ne, 0.0)
    rng = np.random.default_rng(seed)
    mc = np.array([cross(nn + ne * rng.normal(size=nn.size)) for _ in range(n_mc)])
    ok = np.isfinite(mc)
    err = float(np.std(mc[ok], ddof=1)) if ok.sum() > 10 else float("nan")
    return float(tx), err


@renamed_keyword(fit_window="fit_range")
def vdos_series(
    items: Sequence[Trajectory | xr.Dataset],
    temperatures: Sequence[float] | None = None,
    fit_range: tuple[float, float] | None = None,
    threshold: float = 1.5,
    n_boot: int = 200,
    lowest_phonon: dict | None = None,
    **vdos_kwargs,
) -> xr.Dataset:
    """Low-frequency VDOS analysis at several temperatures (see module docstring).

    items: Trajectories (analysed with `vdos(**vdos_kwargs)`) or `vdos` Datasets. temperatures (K)
    default to each trajectory's metadata['temperature'] / the Dataset's nominal temperature.
    lowest_phonon: `finite_size.lowest_phonon` of the (common) cell, passed to `analyse_lowfreq`.
    """
    if len(items) < 2:
        raise InputError("a temperature series needs at least two trajectories")
    dss = [it if isinstance(it, xr.Dataset) else vdos(it, **vdos_kwargs) for it in items]
    if temperatures is None:
        temperatures = []
        for ds in dss:
            t = ds.attrs.get("temperature_nominal_K")
            if t is None:
                raise InputError("temperatures are not in the trajectories' metadata; pass temperatures=[…] (K)")
            temperatures.append(float(t))
    temps = np.asarray(temperatures, dtype=float)
    if temps.size != len(dss):
        raise InputError(f"{temps.size} temperatures for {len(dss)} trajectories")
    names = names_of(dss[0])
    for ds in dss[1:]:
        if names_of(ds) != names:
            raise InputError("all trajectories of a series must have the same species and groups")
    res = [[analyse_lowfreq(ds, n, fit_range, n_boot, lowest_phonon=lowest_phonon) for n in names] for ds in dss]
    return series_dataset(temps, names, res, threshold)


def series_dataset(
    temperatures: Sequence[float] | np.ndarray,
    names: Sequence[str],
    rows: Sequence[Sequence[dict]],
    threshold: float = 1.5,
) -> xr.Dataset:
    """The series Dataset from per-temperature `analyse_lowfreq` results rows[t][name] (dicts with the
    KEYS, 'law', 'g0_resolved', 'classification'); the crossover uses the temperatures with a resolved law.
    """
    temps = np.asarray(temperatures, dtype=float)
    data: dict[str, tuple] = {
        k: (("temperature", "name"), np.array([[r[k] for r in row] for row in rows], dtype=float), {"units": u})
        for k, u in KEYS.items()
    }
    for key in ("classification", "law", "g0_resolved"):
        data[key] = (
            ("temperature", "name"),
            np.array([[r[key] for r in row] for row in rows]),
            {"units": units.DIMENSIONLESS},
        )
    ok = data["law"][1] != "unresolved"
    cx = [
        crossover_temperature(
            temps[ok[:, j]], data["exponent"][1][ok[:, j], j], data["exponent_err"][1][ok[:, j], j], threshold
        )
        if ok[:, j].sum() >= 2
        else (float("nan"), float("nan"))
        for j in range(len(names))
    ]
    data["crossover_temperature"] = (
        "name",
        np.array([c[0] for c in cx]),
        {"units": units.TEMPERATURE, "long_name": f"T where n(T) < {threshold}"},
    )
    data["crossover_temperature_err"] = ("name", np.array([c[1] for c in cx]), {"units": units.TEMPERATURE})
    out = xr.Dataset(
        data, coords={"temperature": ("temperature", temps, {"units": units.TEMPERATURE}), "name": list(names)}
    )
    out = out.sortby("temperature")
    out.attrs.update(
        analysis="vdos_series",
        threshold=threshold,
        crossover="linear interpolation of n(T) through the threshold over the temperatures with a "
        "resolved law; Monte Carlo error",
    )
    return out
