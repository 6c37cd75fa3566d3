"""Mean squared displacement and tracer diffusion coefficients.

MSD_α(t) = <|r_i(t0+t) − r_i(t0)|²> over atoms i of species α and all origins t0, from unwrapped
positions. In the diffusive regime MSD = 6 D t; D is reported in cm²/s (1 Å²/fs = 0.1 cm²/s).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from .. import units
from ..trajectory.model import Trajectory
from ..trajectory.unwrap import unwrap_positions
from .correlate import msd as msd_kernel


def msd(traj: Trajectory, species: list[str] | None = None, max_lag: int | None = None) -> xr.Dataset:
    """MSD per species (Å²) from unwrapped positions, all time origins; max_lag defaults to T/2."""
    species = species or traj.species
    max_lag = max_lag or max(2, traj.n_frames // 2)
    r = unwrap_positions(traj.positions, traj.cells)
    data = np.array([msd_kernel(r[:, traj.indices(s)], max_lag).mean(axis=1) for s in species])
    t = np.arange(max_lag) * traj.dt
    ds = xr.Dataset(
        {"msd": (("species", "time"), data, {"units": "angstrom2", "long_name": "mean squared displacement"})},
        coords={"species": species, "time": ("time", t, {"units": units.TIME})},
    )
    ds.attrs.update(analysis="msd", dt_fs=traj.dt, n_frames=traj.n_frames, max_lag=max_lag,
                    unwrapped="minimum-image frame-to-frame")
    return ds


def diffusion(traj: Trajectory, species: list[str] | None = None, fit_window: tuple[float, float] = (0.1, 0.5),
              max_lag: int | None = None) -> xr.Dataset:
    """Tracer D per species from a straight-line fit MSD = 6Dt + c on a window of lag times.

    fit_window: (start, end) as fractions of the trajectory length. Returns the MSD Dataset plus
    `D` (species) in cm²/s and the window in attrs.
    """
    ds = msd(traj, species, max_lag)
    t = ds.time.values
    total = traj.n_frames * traj.dt
    lo, hi = fit_window
    sel = (t >= lo * total) & (t <= hi * total)
    if sel.sum() < 3:
        sel = slice(len(t) // 4, None)
    d = []
    for row in ds.msd.values:
        slope = np.polyfit(t[sel], row[sel], 1)[0]          # Å²/fs
        d.append(slope / 6.0 * units.A2_PER_FS_TO_CM2_PER_S)
    ds["D"] = ("species", np.array(d), {"units": units.DIFFUSION, "long_name": "tracer diffusion coefficient",
                                          "method": "OLS line fit of MSD on the fit window"})
    ds.attrs.update(analysis="diffusion", fit_window_fs=(float(lo * total), float(hi * total)))
    return ds
