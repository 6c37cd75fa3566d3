"""The late-slope bound on D of a caged species: exact MSD shapes, a real caged run, and the findings text."""

import numpy as np
import xarray as xr

from superionic.analysis.subdiffusion import late_slope_bound
from superionic.workflow.findings import findings


def _ds(msd, dt=10.0, n_atoms=200):
    t = np.arange(len(msd)) * dt
    return xr.Dataset(
        {"msd": (("species", "time"), msd[None]), "n_atoms": ("species", [n_atoms])},
        coords={"species": ["Li"], "time": t},
        attrs={"n_frames": 2 * len(msd)},
    )


def test_concave_caged_msd_bounds_d_from_above():
    t = np.arange(15000) * 10.0  # 150 ps of lags
    d_true = 1e-5  # Å²/fs (1e-6 cm²/s)
    msd = 6 * d_true * t + 12.0 * (1 - np.exp(-t / 40000.0))  # cage filling over 40 ps on top of diffusion
    b = late_slope_bound(_ds(msd), "Li")
    assert b["valid"]
    assert np.all(np.diff(b["slopes"]) < 0)
    assert d_true * 0.1 <= b["D_upper"] <= 4 * d_true * 0.1  # cm²/s: above the truth, within a factor 4


def test_convex_msd_gives_no_bound():
    t = np.arange(15000) * 10.0
    msd = 6e-4 * t**2 / (t + 60000.0)  # slope still rising: a crossover not reached
    b = late_slope_bound(_ds(msd, n_atoms=5000), "Li")
    assert not b["valid"] and np.isnan(b["D_upper"]) and "rises" in b["reason"]


def test_enhancement_bound_in_the_findings():
    row = {
        "temperature_K": 400.0,
        "protocol": "frozen-host",
        "species": "Li",
        "D_free": 1.1e-5,
        "D_free_err": 7e-7,
        "D_suppressed": 7e-7,
        "D_suppressed_err": 2e-6,
        "ratio": 15.0,
        "ratio_err": 40.0,
        "fit_ranges_diffusive": False,
        "host_reference": "mean",
        "D_suppressed_upper": 1.0e-6,
        "ratio_lower": 9.6,
    }
    results = {
        "T400K": {"temperature_K": 400.0, "protocol": "free", "duration_ps": 25.0},
        "series": {"phonon_enhancement": {"T400K-frozen-host": row}},
    }
    enh = next(r for r in findings(results)["rows"] if "order of magnitude" in r["claim"])
    assert "≥ 9.6" in enh["ours"] and enh["verdict"] == "partly"
    # a summary of an earlier version names the flag windows_diffusive
    old = {("windows_diffusive" if k == "fit_ranges_diffusive" else k): v for k, v in row.items()}
    results["series"]["phonon_enhancement"]["T400K-frozen-host"] = old
    assert next(r for r in findings(results)["rows"] if "order of magnitude" in r["claim"]) == enh


def test_enhancement_row_never_stores_a_negative_d():
    """A suppressed run whose carrier only vibrates (Einstein oscillators): its MSD slope scatters around zero and
    is stored as a bound, never as D; the free run's resolved D (Langevin, exact) is stored as it is."""
    from pathlib import Path

    from superionic import synthetic
    from superionic.analysis.diffusion import diffusion
    from superionic.results import fit_value
    from superionic.workflow.study import Run, _enhancement

    free = synthetic.langevin_particles(n_atoms=64, n_frames=4000, dt=2.0, stride=1, gamma=0.01, temperature=600.0)
    caged = synthetic.harmonic_oscillators([5.0], n_frames=4000, dt=2.0, symbols=["Li"], mass=6.94, seed=3)
    sets = {
        Run(600.0, "free", Path("free.h5")): diffusion(free),
        Run(600.0, "frozen-host", Path("frozen.h5")): diffusion(caged),
    }
    (row,) = _enhancement(sets, "Li").values()
    exact = synthetic.langevin_diffusion_coefficient(600.0, 6.94, 0.01)
    assert abs(row["D_free"] - exact) < 4 * row["D_free_err"] + 0.05 * exact
    d, d_err = fit_value(row, "D_suppressed")
    assert row["D_suppressed"] is None and row["D_suppressed_err"] is None and not row["fit_ranges_diffusive"]
    assert row["D_suppressed_upper"] >= max(d, 0.0) and np.isfinite(d_err)
