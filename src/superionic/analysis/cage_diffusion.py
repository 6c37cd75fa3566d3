"""Long-range D from the cage-to-cage MSD: diffusion seen through the cages an ion visits.

In an argyrodite each Li sits in a cage of 12 sites (48h) around a 4c anion: it moves quickly inside
its cage (doublet and intra-cage jumps) and leaves it rarely (inter-cage jumps, the rate-limiting step of
long-range transport). Inside a cage the motion is bounded, so the plain MSD of a short run is dominated
by the cage plateau and looks sub-diffusive long before the slow inter-cage walk shows. Replacing each
ion's position by the centre of the cage it last settled in removes the bounded part:

    R_i(t) = centre of the cage of the last established visit of ion i (hopping's rattling filter),
    unwrapped by the minimum-image steps between consecutive cages,
    MSD_cage(t) = <|R_i(t0 + t) − R_i(t0)|²>,   D_cage = slope / 6.

Since r_i − R_i is bounded, MSD and MSD_cage have the same long-time slope: D_cage is an estimator of the
tracer D (back-jump correlations included), not a model. It converges once enough inter-cage jumps are
seen, not once the run is long compared with the cage plateau.

Fit and error: ordinary least squares of the atom-averaged MSD_cage on lags [max_lag/4, max_lag] (max_lag
half the run); σ by bootstrap over ions (each ion's whole MSD_cage curve resampled), so the few-jump,
heavy-tailed statistics (σ_D/D ≈ 1/√jumps) are carried without a Gaussian model. Linearity check: the
slopes on the two halves of the fit range agree within 2σ (bootstrap of their difference). The result is
`resolved` when the linearity check passes, at least MIN_JUMPS cage changes are seen and σ ≤ D/2.

Without cage ids (`Sites.cage` = −1) each site is its own cage: the estimator then removes only the
vibration about the site, which is rarely enough.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from .. import units
from ..errors import InputError
from ..geometry import pair_vectors
from ..trajectory.model import Trajectory
from ..trajectory.unwrap import unwrap_positions
from .correlate import msd as msd_kernel
from .hopping import Sites, argyrodite_sites, established_sites

#: fewest cage changes (all ions together) for a resolved D_cage
MIN_JUMPS = 10
#: bootstrap resamples over ions
N_BOOT = 400
#: largest misfit (Å) of the argyrodite site template to the trajectory's P positions for `cage_sites`: below
#: the 48h site core radius (0.84 Å) and far below a cage's radius (≈ 2.4 Å); 800 K free runs of the 416-atom
#: cell misfit by 0.55 Å, 400–700 K ones by less
MAX_ALIGNMENT_A = 0.8


def argyrodite_composition(traj) -> bool:
    """Whether `traj` (a Trajectory or an opened FrameSource) has a Li argyrodite's composition: P, S and Li with
    6 Li per P. Cheap: no positions are read.
    """
    if not {"Li", "P", "S"} <= set(traj.species):
        return False
    n_p = traj.indices("P").size
    return n_p > 0 and traj.indices("Li").size == 6 * n_p


def cage_sites(traj: Trajectory, species: str = "Li") -> Sites | None:
    """The argyrodite 48h sites with their cages when `traj` is a Li argyrodite (Li6PS5X), else None.

    Recognised by composition (`argyrodite_composition`) and by the 4b template matching the
    time-averaged P positions within MAX_ALIGNMENT_A Å.
    """
    if species != "Li" or not argyrodite_composition(traj):
        return None
    n_li = traj.indices("Li").size
    try:
        sites = argyrodite_sites(traj)
    except InputError:
        return None
    if len(sites) != 2 * n_li or sites.info.get("alignment_rms", np.inf) > MAX_ALIGNMENT_A:
        return None
    return sites


def _cage_centres(sites: Sites) -> tuple[np.ndarray, np.ndarray]:
    """(centre per site (S, 3) Å, cage index per site (S,)): the mean of a cage's sites (minimum image)."""
    if np.all(sites.cage < 0):
        return sites.positions.copy(), np.arange(len(sites))
    if np.any(sites.cage < 0):
        raise InputError("some sites have a cage id and some do not: give cages to all or none")
    centre = np.empty((int(sites.cage.max()) + 1, 3))
    for c in range(len(centre)):
        pos = sites.positions[sites.cage == c]
        centre[c] = pos[0] + pair_vectors(pos[:1], pos, sites.cell)[0].mean(axis=0)
    return centre[sites.cage], sites.cage.copy()


def _slope(time: np.ndarray, y: np.ndarray) -> np.ndarray:
    """OLS slopes of y (..., M) against time (M,)."""
    t = time - time.mean()
    return (y - y.mean(axis=-1, keepdims=True)) @ t / (t @ t)


def cage_diffusion(
    traj: Trajectory,
    sites: Sites,
    species: str = "Li",
    radius: float | None = None,
    residence: float | None = None,
    n_boot: int = N_BOOT,
    seed: int = 0,
) -> xr.Dataset:
    """D_cage ± σ (cm²/s) of `species` from the MSD of the cage centres its ions visit (module doc).

    radius (Å), residence (fs): the site core and rattling filter of `analysis.hopping.hopping`.
    Returns the MSD_cage curve, D, D_err, the two half-range slopes, the cage changes counted and
    `resolved`; attrs state the fit range and rules. With no cage change D and the slopes are NaN (no estimate).
    """
    site_of = established_sites(traj, sites, species, radius, residence)  # (T, n)
    n_frames, n_atoms = site_of.shape
    if n_frames < 16:
        raise InputError(f"the cage-to-cage MSD needs at least 16 frames, got {n_frames}")
    centre, cage = _cage_centres(sites)
    r = unwrap_positions(centre[site_of], sites.cell)  # (T, n, 3), cage steps taken as minimum images
    changes = int(np.count_nonzero(cage[site_of[1:]] != cage[site_of[:-1]]))
    max_lag = n_frames // 2
    per_atom = msd_kernel(r, max_lag)  # (max_lag, n)
    time = np.arange(max_lag) * traj.dt
    lo = max(1, max_lag // 4)
    fit = slice(lo, max_lag)
    half = lo + (max_lag - lo) // 2
    rng = np.random.default_rng(seed)
    picks = np.vstack([np.arange(n_atoms), rng.integers(0, n_atoms, (n_boot, n_atoms))])
    curves = np.stack([per_atom[:, p].mean(axis=1) for p in picks])  # (1 + n_boot, max_lag)
    slope = _slope(time[fit], curves[:, fit])
    early = _slope(time[lo:half], curves[:, lo:half])
    late = _slope(time[half:max_lag], curves[:, half:max_lag])
    conv = units.A2_PER_FS_TO_CM2_PER_S / 6.0
    d, d_err = float(slope[0] * conv), float(slope[1:].std(ddof=1) * conv)
    diff = late - early
    linear = bool(abs(diff[0]) <= 2.0 * diff[1:].std(ddof=1))
    if changes == 0:  # every ion stayed in its cage: MSD_cage is zero up to round-off, no slope to state
        d = d_err = float("nan")
        early[:] = late[:] = np.nan
        linear = False
    resolved = bool(linear and changes >= MIN_JUMPS and d > 0 and d_err <= 0.5 * d)
    ds = xr.Dataset(
        {
            "msd_cage": ("time", curves[0], {"units": "angstrom2", "long_name": "MSD of the visited cage centres"}),
            "D": ((), d, {"units": units.DIFFUSION, "long_name": "D from the cage-to-cage MSD"}),
            "D_err": ((), d_err, {"units": units.DIFFUSION, "long_name": "1σ, bootstrap over ions"}),
            "D_early": ((), float(early[0] * conv), {"units": units.DIFFUSION}),
            "D_late": ((), float(late[0] * conv), {"units": units.DIFFUSION}),
            "cage_changes": ((), changes, {"units": units.DIMENSIONLESS, "long_name": "cage changes, all ions"}),
            "linear": ((), int(linear), {"units": units.DIMENSIONLESS, "long_name": "1 if the two half slopes agree"}),
            "resolved": ((), int(resolved), {"units": units.DIMENSIONLESS}),
        },
        coords={"time": ("time", time, {"units": units.TIME})},
    )
    ds.attrs.update(
        analysis="cage_diffusion",
        species=species,
        n_atoms=int(n_atoms),
        n_frames=int(n_frames),
        dt_fs=float(traj.dt),
        fit_range_fs=[float(time[lo]), float(time[max_lag - 1])],
        cages="site cages" if np.any(sites.cage >= 0) else "each site its own cage",
        sites=sites.source,
        n_boot=int(n_boot),
        rules=(
            f"OLS slope of MSD_cage on [max_lag/4, max_lag]; σ bootstrap over ions; linear when the half-range "
            f"slopes agree within 2σ; resolved when linear, ≥ {MIN_JUMPS} cage changes and σ ≤ D/2"
        ),
    )
    return ds


def cage_summary(ds: xr.Dataset) -> dict:
    """A `cage_diffusion` result as a summary entry: "D"/"D_err" (cm²/s) only when `resolved`, else null with the
    fit under "D_fit"/"D_fit_err" (`results.nonnegative_fields`); the cage changes, the checks and the fit range.
    """
    from ..results import nonnegative_fields

    resolved = bool(ds.resolved)
    return {
        **nonnegative_fields(float(ds.D), float(ds.D_err), regime_ok=resolved),
        "cage_changes": int(ds.cage_changes),
        "ions": int(ds.attrs["n_atoms"]),  # cage changes per ion and ps: changes / (ions × run length)
        "linear": bool(ds.linear),
        "resolved": resolved,
        "fit_range_fs": list(ds.attrs["fit_range_fs"]),
    }


def demote_if_caged(entry: dict, cage: dict, regime_key: str) -> dict:
    """A plain-MSD summary entry (`results.nonnegative_fields` fields and a regime flag under `regime_key`) checked
    against the cage count of the same run (`cage_summary`): unchanged when the ions changed cage at least
    `MIN_JUMPS` times. With fewer, the MSD's slope is mostly motion inside the cages (bounded, not yet saturated),
    not long-range diffusion: the same fit is restated as not diffusive (D null, its fit under D_fit), the regime flag
    False, "intra_cage" True and "cage_changes" the count. (A caged walk of 24 ions with 1–5 cage changes in 10 ps
    has a plain-MSD D that passes its checks at 2–13× the exact long-range D; tests/test_cage_diffusion.py.)
    """
    from ..results import fit_value, nonnegative_fields

    changes = int(cage["cage_changes"])
    if changes >= MIN_JUMPS:
        return entry
    demoted = nonnegative_fields(*fit_value(entry), regime_ok=False)
    return {**entry, **demoted, regime_key: False, "intra_cage": True, "cage_changes": changes}


__all__ = ["argyrodite_composition", "cage_diffusion", "cage_sites", "cage_summary", "demote_if_caged", "MIN_JUMPS"]
