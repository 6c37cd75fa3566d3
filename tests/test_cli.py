"""The command line: one clear line for wrong input, JSON output, netCDF output."""

import json
import subprocess
import sys

import numpy as np
import pytest
import xarray as xr

from superionic import synthetic
from superionic.trajectory import write_h5md


def run_cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "superionic", *map(str, args)], capture_output=True, text=True, timeout=120
    )


def _one_line_error(res, pattern):
    assert res.returncode != 0
    err = res.stderr.strip()
    assert "Traceback" not in err
    assert err.count("\n") == 0, err
    assert pattern in err, err


@pytest.fixture(scope="module")
def langevin_h5(tmp_path_factory):
    p = tmp_path_factory.mktemp("cli") / "langevin.h5"
    write_h5md(p, synthetic.langevin_particles(n_atoms=20, n_frames=400, seed=1))
    return p


def test_missing_file():
    _one_line_error(run_cli("analyze", "vdos", "does-not-exist.h5"), "trajectory file not found")


def test_unknown_format(tmp_path):
    p = tmp_path / "x.unknownext"
    p.write_text("1 2 3\n")
    _one_line_error(run_cli("analyze", "diffusion", p, "--dt", "1"), "format")


def test_missing_time_step(xdatcar_path):
    _one_line_error(run_cli("analyze", "diffusion", xdatcar_path), "--dt")


def test_no_velocities_for_vdos_warns_about_finite_differences(xdatcar_path):
    # positions only: velocities come from central differences, with a warning that states the bias
    res = run_cli("analyze", "vdos", xdatcar_path, "--dt", "100", "--species", "Li", "--json", "--n-boot", "20")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert any("central differences" in w or "velocit" in w for w in out["warnings"])
    assert out["species"]["Li"]["g0"] > 0


def test_unknown_species(langevin_h5):
    _one_line_error(
        run_cli("analyze", "vdos", langevin_h5, "--species", "Na"), "species 'Na' is not in this trajectory"
    )


def test_vdos_json_and_netcdf(langevin_h5, tmp_path):
    out = tmp_path / "v.nc"
    res = run_cli("analyze", "vdos", langevin_h5, "--json", "--out", out)
    assert res.returncode == 0, res.stderr
    summary = json.loads(res.stdout)
    assert "Li" in summary["species"]
    ds = xr.load_dataset(out, engine="h5netcdf")
    for name in list(ds.data_vars) + list(ds.coords):
        if ds[name].dtype.kind in "fiuc":  # numbers carry units; labels (species) do not
            assert "units" in ds[name].attrs, name
    assert float(np.trapezoid(ds.g.sel(species="Li"), ds.frequency)) == pytest.approx(1.0, abs=1e-6)


def test_diffusion_json_on_real_xdatcar(xdatcar_path):
    res = run_cli("analyze", "diffusion", xdatcar_path, "--dt", "100", "--species", "Li", "--json")
    assert res.returncode == 0, res.stderr
    d = json.loads(res.stdout)["species"]["Li"]["D"]
    assert 1e-7 < d < 1e-3  # cm²/s: a superionic Li6PS5Cl AIMD run


def test_conductivity_of_a_caged_carrier_is_flagged(tmp_path):
    """Li that only vibrates has no diffusive regime: its σ and σ_NE are printed with a flag, not as a result."""
    p = tmp_path / "osc.h5"
    write_h5md(p, synthetic.harmonic_oscillators([5.0], n_frames=2000, symbols=["Li"], mass=6.94, seed=3))
    res = run_cli("analyze", "diffusion", p, "--species", "Li", "--json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert not out["species"]["Li"]["diffusive_regime_found"]
    assert out["conductivity_from_diffusive_regime"] is False
    text = run_cli("analyze", "diffusion", p, "--species", "Li")
    assert "not a conductivity" in text.stdout


def test_help_is_friendly():
    res = run_cli("--help")
    assert res.returncode == 0 and "superionic run examples/quickstart.yaml" in res.stdout


def test_analyze_mechanism_json_and_files(xdatcar_path, tmp_path):
    """Li6PS5Cl AIMD: the S/Cl windows tile the Li network; PS4 units librate; the in-radius when Li
    crosses a window is not below the all-time mean (bootstrap 3σ)."""
    res = run_cli("analyze", "mechanism", xdatcar_path, "--dt", "100", "--json", "-o", tmp_path / "m")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    b, r = out["bottleneck"], out["rotations"]
    assert set(b["anions"]) == {"S", "Cl"} and b["n_windows"] > 100 and b["n_crossings"] > 100
    assert 0.9 < b["inradius_mean_A"] < 1.6 and 0 < b["breathing_rms_A"] < 0.2
    assert b["inradius_shift_at_hops_A"] > -3 * b["inradius_shift_at_hops_err_A"]
    assert r["unit"] == "PS4" and 0.5 < r["libration_fraction"] <= 1.0
    for kind in ("bottleneck", "rotations", "rotation_hop"):
        assert (tmp_path / f"m_{kind}.nc").exists()


def test_analyze_mechanism_without_anion_units(langevin_h5):
    """A trajectory without the mobile species' framework: one clear line, no traceback."""
    res = run_cli("analyze", "mechanism", langevin_h5, "--json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert "skipped" in out["bottleneck"] and "rotations" not in out
