"""The study's mechanism stage for one free run: bottleneck breathing and anion (PS4) rotations.

Writes ``<stem>_bottleneck.nc``, ``<stem>_rotations.nc`` and ``<stem>_rotation_hop.nc`` and returns the
key numbers for summary.json and the report. Hops are the window crossings of the bottleneck analysis
(an ion passing from one anion tetrahedron to a face-sharing one), so both analyses see the same events.
Rotations need a tetrahedral anion (centre + 4 ligands, default P + S); other materials skip them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import InputError

#: rotation–hop coincidence windows (the Jun et al. 2024 construction; parameters of this project)
HOP_TIME_WINDOW_PS = 0.5
HOP_DISTANCE_WINDOW_A = 5.0


def _nu_half(ds) -> float:
    """Frequency (THz) below which half of the breathing variance lies (from the one-sided spectrum)."""
    nu, s = ds.frequency.values, ds.breathing_spectrum.values
    cum = np.concatenate([[0.0], np.cumsum(0.5 * (s[1:] + s[:-1]) * np.diff(nu))])
    return float(np.interp(0.5 * cum[-1], cum, nu)) if cum[-1] > 0 else float("nan")


def mechanism(traj, mobile: str, stem: Path | None, centre: str = "P", ligand: str = "S") -> dict:
    """Bottleneck and rotation numbers of one trajectory (netCDF files `<stem>_*.nc` unless stem is None)."""
    from ..analysis.bottleneck_stats import bottleneck_summary
    from ..analysis.rotations import rotation_hop_correlation, rotation_summary
    from ..materials.checks import FORMAL_CHARGES
    from ..results import save_dataset

    def save(ds, kind: str) -> None:
        if stem is not None:
            save_dataset(ds, Path(f"{stem}_{kind}.nc"))

    out: dict = {}
    anions = [s for s in traj.species if FORMAL_CHARGES.get(s, 0) < 0 and s != mobile]
    crossings = None
    try:
        b = bottleneck_summary(traj, anions=tuple(anions), mobile=mobile)
        save(b, "bottleneck")
        crossings = np.column_stack([b.crossing_time.values, b.crossing_ion.values])  # (time ps, atom)
        out["bottleneck"] = {
            "anions": anions,
            "n_windows": int(b.attrs["n_windows"]),
            "n_crossings": int(b.n_crossings),
            "inradius_mean_A": float(b.mean_inradius.mean()),
            "breathing_rms_A": float(np.sqrt(b.inradius_variance)),
            "breathing_nu_half_THz": _nu_half(b),
            "inradius_shift_at_hops_A": float(b.mean_shift),
            "inradius_shift_at_hops_err_A": float(b.mean_shift_err),
            "ks_statistic": float(b.ks_statistic),
            "ks_pvalue": float(b.ks_pvalue),
        }
    except InputError as err:
        out["bottleneck"] = {"skipped": str(err)}
    if centre in traj.species and ligand in traj.species:
        try:
            r = rotation_summary(traj, centre=centre, ligand=ligand, reference="mean")
            save(r, "rotations")
            tau = r.tau.values
            out["rotations"] = {
                "unit": f"{centre}{ligand}4",
                "libration_fraction": float(r.libration_fraction),
                "event_rate_per_ps": float(r.event_rate),
                "n_events": int(r.n_events),
                "mean_angle_deg": float(r.mean_angle_sym),
                "tau1_ps": float(tau[0]),
                "tau2_ps": float(tau[1]),
                "tau_extrapolated": bool(np.any(r.tau_extrapolated.values)),
            }
            if crossings is not None and len(crossings):
                h = rotation_hop_correlation(traj, crossings, r, HOP_TIME_WINDOW_PS, HOP_DISTANCE_WINDOW_A)
                save(h, "rotation_hop")
                out["rotations"]["hop_correlation"] = {
                    "time_window_ps": HOP_TIME_WINDOW_PS,
                    "distance_window_A": HOP_DISTANCE_WINDOW_A,
                    **{
                        f"{k}_{c}": float(h[k].sel(counted=c))
                        for k in ("ratio", "ratio_err", "p_value")
                        for c in h.counted.values.tolist()
                    },
                }
        except InputError as err:
            out["rotations"] = {"skipped": str(err)}
    return out
