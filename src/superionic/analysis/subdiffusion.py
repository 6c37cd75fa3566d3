"""An upper bound on D for a species whose MSD has not reached its diffusive regime.

Caged or trapped motion (Li in a frozen host at low temperature) gives an MSD that keeps bending over
within the run: its local slope dMSD/dt falls with time. Whatever happens later, if the MSD stays concave
its slope can only fall further, so the long-time limit obeys 6D ≤ the slope of the last fit range. The
bound is tested, not assumed: the lag range [max_lag/4, max_lag] is cut into consecutive fit ranges, each
fitted by the GLS of `analysis.diffusion.fit_msd` (slope ± σ), and the bound is given only when the last
slope is below the first and no fit range's slope rises above the previous one by more than 2σ (no sign of the MSD
turning convex, i.e. of a slow crossover into diffusion that the run has not reached). The bound is slope_last/6 + 2σ_last/6 (cm²/s).

The limit of the argument: a process slower than the whole run (a rare collective rearrangement that
would unlock long-range motion) is invisible to any run; the bound holds for the dynamics the run samples.
"""

from __future__ import annotations

import warnings

import numpy as np
import xarray as xr

from .. import units
from .._compat import renamed_keyword
from .diffusion import fit_msd

#: consecutive fit ranges on [max_lag/4, max_lag] whose slopes test the concavity of the MSD
N_FIT_RANGES = 3


@renamed_keyword(n_windows="n_fit_ranges")
def late_slope_bound(ds: xr.Dataset, species: str, n_fit_ranges: int = N_FIT_RANGES) -> dict:
    """Upper bound (cm²/s) on the long-time D of `species` from the slopes of the late MSD.

    ds: a `diffusion()` (or `msd()`) dataset with `msd`, `time` (fs), `n_atoms` and attrs `n_frames`.
    Returns {'D_upper', 'valid', 'reason', 'slopes' (Å²/fs per fit range), 'slope_errs',
    'fit_ranges_fs'}; D_upper
    is NaN when the slopes rise (the MSD turns convex: no bound).
    """
    time = ds.time.values
    y = ds.msd.sel(species=species).values
    n_frames = int(ds.attrs.get("n_frames", 2 * len(time)))
    n_atoms = float(ds.n_atoms.sel(species=species))
    edges = np.linspace(time[-1] / 4.0, time[-1], n_fit_ranges + 1)
    slopes, errs = [], []
    for a, b in zip(edges[:-1], edges[1:]):
        r = fit_msd(time, y, n_frames, n_atoms, 3, None, float(a), float(b))
        slopes.append(float(r["slope"]))
        errs.append(float(r["slope_err"]))
    s, e = np.array(slopes), np.array(errs)
    rises = [k for k in range(1, len(s)) if s[k] - s[k - 1] > 2.0 * np.hypot(e[k], e[k - 1])]
    falls = s[-1] <= s[0]
    valid = not rises and falls and s[-1] > 0
    reason = (
        "the MSD slope falls over the late fit ranges: its last value bounds D from above"
        if valid
        else "the MSD slope rises over the late fit ranges (a crossover into diffusion not yet reached): no bound"
        if rises or not falls
        else "the last fit range's slope is not positive"
    )
    d_upper = (s[-1] + 2.0 * e[-1]) / 6.0 * units.A2_PER_FS_TO_CM2_PER_S if valid else float("nan")
    return {
        "D_upper": float(d_upper),
        "valid": bool(valid),
        "reason": reason,
        "slopes": s.tolist(),
        "slope_errs": e.tolist(),
        "fit_ranges_fs": [[float(a), float(b)] for a, b in zip(edges[:-1], edges[1:])],
    }


def __getattr__(name: str):
    if name == "N_WINDOWS":  # the old name, for one release
        warnings.warn("subdiffusion.N_WINDOWS is deprecated: use N_FIT_RANGES", DeprecationWarning, stacklevel=2)
        return N_FIT_RANGES
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["late_slope_bound", "N_FIT_RANGES"]
