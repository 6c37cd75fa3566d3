"""Ionic conductivity from the collective (charge) MSD, Nernst–Einstein conductivity and Haven ratio.

Charge displacement of the mobile species (formal charges q_α in units of e):
    Q(t) = Σ_α q_α Σ_{i∈α} r_i(t)                     (unwrapped, framework drift removed)
    MSD_Q(t) = <|Q(t0+t) − Q(t0)|²>  (all origins)  → slope 6 Σ_α N_α q_α² D_σ in the diffusive regime
    σ = e² Σ_α n_α q_α² D_σ / (k_B T),   n_α = N_α/V
Nernst–Einstein (no cross-correlations): σ_NE = e² Σ_α n_α q_α² D*_α / (k_B T); Haven ratio H_R = σ_NE/σ
(= D*/D_σ for one species). σ in mS/cm, D in cm²/s, n in cm⁻³, V the mean cell volume.

Uncertainty: the charge MSD is one collective coordinate (N_independent = 1), fitted by the same GLS
with the random-walk covariance as the tracer D (see `diffusion`), on the tracer's diffusive fit range
by default. σ_σ is therefore large for short runs — honestly so.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from .. import units
from ..errors import InputError
from ..trajectory.blocks import FrameSource
from ..trajectory.model import Trajectory
from .correlate import msd as msd_kernel
from .diffusion import diffusion_from_file, fit_msd, mobile_position_sums

#: default formal charges (e); pass `charges` for anything else
FORMAL_CHARGES: dict[str, float] = {
    "H": 1,
    "Li": 1,
    "Na": 1,
    "K": 1,
    "Rb": 1,
    "Cs": 1,
    "Ag": 1,
    "Cu": 1,
    "Tl": 1,
    "Mg": 2,
    "Ca": 2,
    "Zn": 2,
    "Sr": 2,
    "Ba": 2,
    "F": -1,
    "Cl": -1,
    "Br": -1,
    "I": -1,
    "O": -2,
    "S": -2,
    "Se": -2,
}


def conductivity_prefactor(n_per_a3: float, charge: float, temperature: float) -> float:
    """σ (mS/cm) per unit D (cm²/s): e² n q² / (k_B T) with n in Å⁻³."""
    n_si = n_per_a3 * 1e30  # m⁻³
    kt_j = units.KB_J * temperature
    s_per_m = n_si * (charge * units.E_CHARGE_C) ** 2 * 1e-4 / kt_j  # D = 1 cm²/s = 1e-4 m²/s
    return s_per_m * 10.0  # S/m → mS/cm


def resolve_temperature(traj: Trajectory | FrameSource, temperature: float | None) -> float:
    """Temperature (K) from the argument or the trajectory metadata; InputError if neither."""
    t = temperature if temperature is not None else traj.metadata.get("temperature")
    if t is None:
        raise InputError(
            "the temperature is not known from the trajectory: give it (temperature=…, "
            "or --temperature K on the command line)"
        )
    t = float(t)
    if not np.isfinite(t) or t <= 0:
        raise InputError(f"temperature must be a positive number of kelvin, got {t}")
    return t


def resolve_charges(species: list[str], charges: dict[str, float] | None) -> dict[str, float]:
    """Charge (units of e) of each mobile species: from `charges`, else the formal charge; zero or unknown is an InputError."""
    out = {}
    for s in species:
        if charges and s in charges:
            out[s] = float(charges[s])
        elif s in FORMAL_CHARGES:
            out[s] = float(FORMAL_CHARGES[s])
        else:
            raise InputError(f"no default formal charge for {s}; give it, e.g. charges={{'{s}': 1}}")
        if out[s] == 0:
            raise InputError(f"the charge of {s} is zero; a mobile species must carry charge")
    return out


def conductivity(
    traj: Trajectory | FrameSource,
    species: list[str] | str = "Li",
    temperature: float | None = None,
    charges: dict[str, float] | None = None,
    max_lag: int | None = None,
    t_start: float | None = None,
    t_stop: float | None = None,
    remove_drift: bool = True,
    tracer: xr.Dataset | None = None,
) -> xr.Dataset:
    """σ ± err from the charge MSD, σ_NE from the tracer D*, and the Haven ratio; mS/cm.

    species: the mobile species (their charges from `charges` or `FORMAL_CHARGES`). temperature (K):
    default `traj.metadata['temperature']`. t_start/t_stop (fs): fit range of the charge MSD; default
    the tracer's fit range of the first species. tracer: a `diffusion` Dataset to reuse (else computed).
    traj may be an open source (`trajectory.blocks.open_trajectory`): the charge displacement is summed over
    atoms in time chunks, so memory grows with the frames, not frames × atoms.
    """
    species = [species] if isinstance(species, str) else list(species)
    temperature = resolve_temperature(traj, temperature)
    q = resolve_charges(species, charges)
    if tracer is None:
        tracer = diffusion_from_file(traj, species, max_lag=max_lag, remove_drift=remove_drift, per_axis=False)
    max_lag = int(tracer.attrs["max_lag"])
    volume = traj.volume()  # Å³
    counts = np.array([len(traj.indices(s)) for s in species])
    qs = np.array([q[s] for s in species])
    sums = mobile_position_sums(traj, species, remove_drift)  # {species: Σ_i r_i(t)} (T, 3) Å
    total = sum(qs[a] * sums[s] for a, s in enumerate(species))
    msd_q = msd_kernel(total[:, None, :], max_lag)[:, 0]  # (M,) e²Å²
    time = np.arange(max_lag) * traj.dt
    norm = float((counts * qs**2).sum())  # Σ N q²
    if t_start is None:
        t_start = float(tracer.fit_start.values[0])
    fit = fit_msd(time, msd_q / norm, traj.n_frames, 1.0, 3, None, t_start, t_stop)
    conv = units.A2_PER_FS_TO_CM2_PER_S
    d_sigma, d_sigma_err = fit["slope"] / 6 * conv, fit["slope_err"] / 6 * conv
    # σ = e² Σ n q² D_σ / kT  (D_σ defined per unit Σ N q²)
    pref = conductivity_prefactor(norm / volume, 1.0, temperature)
    sigma, sigma_err = pref * d_sigma, pref * d_sigma_err
    d_star = tracer.D.sel(species=species).values
    d_star_err = tracer.D_err.sel(species=species).values
    pref_s = np.array([conductivity_prefactor(n / volume, qq, temperature) for n, qq in zip(counts, qs)])
    sigma_ne = float((pref_s * d_star).sum())
    sigma_ne_err = float(np.sqrt(((pref_s * d_star_err) ** 2).sum()))
    haven = sigma_ne / sigma if sigma > 0 else np.nan
    haven_err = abs(haven) * np.hypot(sigma_ne_err / sigma_ne, sigma_err / sigma) if sigma > 0 else np.nan
    c = units.CONDUCTIVITY
    ds = xr.Dataset(
        {
            "msd_charge": ("time", msd_q, {"units": "angstrom2", "long_name": "charge MSD <|Σ q_i Δr_i|²> (q in e)"}),
            "D_sigma": (
                (),
                d_sigma,
                {"units": units.DIFFUSION, "long_name": "charge diffusion coefficient D_σ = slope/(6 Σ N q²)"},
            ),
            "D_sigma_err": ((), d_sigma_err, {"units": units.DIFFUSION}),
            "sigma": ((), sigma, {"units": c, "long_name": "ionic conductivity from the charge MSD"}),
            "sigma_err": ((), sigma_err, {"units": c, "long_name": "1σ of sigma (GLS, one collective coordinate)"}),
            "sigma_NE": ((), sigma_ne, {"units": c, "long_name": "Nernst–Einstein conductivity from D*"}),
            "sigma_NE_err": ((), sigma_ne_err, {"units": c}),
            "haven_ratio": ((), haven, {"units": units.DIMENSIONLESS, "long_name": "H_R = σ_NE/σ"}),
            "haven_ratio_err": ((), haven_err, {"units": units.DIMENSIONLESS}),
            "D": ("species", d_star, {"units": units.DIFFUSION, "long_name": "tracer D*"}),
            "D_err": ("species", d_star_err, {"units": units.DIFFUSION}),
            "charge": ("species", qs, {"units": "e"}),
            "carrier_density": ("species", counts / volume * 1e24, {"units": "cm-3"}),
            "temperature": ((), temperature, {"units": units.TEMPERATURE}),
            "volume": ((), volume, {"units": "angstrom3", "long_name": "mean cell volume"}),
        },
        coords={"species": species, "time": ("time", time, {"units": units.TIME})},
    )
    ds.attrs.update(
        analysis="conductivity",
        fit_range_fs=[fit["t_start"], fit["t_stop"]],
        charges=str(q),
        drift_removed=int(bool(remove_drift)),
        definition="σ = e² Σ n_α q_α² D_σ/(k_B T); σ_NE = e² Σ n_α q_α² D*_α/(k_B T); H_R = σ_NE/σ",
        fit_method="GLS with random-walk covariance, N_independent = 1 (collective coordinate)",
    )
    return ds


def conductivity_fields(ds: xr.Dataset, diffusive: bool) -> dict[str, float | bool | None]:
    """A `conductivity` result as summary fields: σ and σ_NE (mS/cm) through `results.nonnegative_fields` (a value
    only when > 2σ and the carriers are `diffusive`, else null with the fit under ``sigma_fit`` …); the Haven ratio
    σ_NE/σ the same way, a value only when both σ and σ_NE are; and "from_diffusive_regime".
    """
    from ..results import nonnegative_fields

    raw = {
        k: float(ds[k]) for k in ("sigma", "sigma_err", "sigma_NE", "sigma_NE_err", "haven_ratio", "haven_ratio_err")
    }
    sigma = nonnegative_fields(raw["sigma"], raw["sigma_err"], "sigma", regime_ok=diffusive)
    sigma_ne = nonnegative_fields(raw["sigma_NE"], raw["sigma_NE_err"], "sigma_NE", regime_ok=diffusive)
    both = sigma["sigma"] is not None and sigma_ne["sigma_NE"] is not None
    return {
        **sigma,
        **sigma_ne,
        **nonnegative_fields(raw["haven_ratio"], raw["haven_ratio_err"], "haven_ratio", regime_ok=both),
        "from_diffusive_regime": diffusive,
    }
