"""End to end: the embedded MLIP loads offline, a tiny study runs MD → analyses → report."""

import json
import socket

import numpy as np
import pytest
import xarray as xr

from superionic.errors import InputError
from superionic.materials import build_material
from superionic.potentials import make_calculator
from superionic.workflow import StudyConfig, load_config, run_study


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network disabled in this test")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")


def test_embedded_potential_loads_offline(no_network):
    atoms = build_material("Li6PS5Cl")
    assert len(atoms) == 52
    atoms.calc = make_calculator("chgnet")
    e = atoms.get_potential_energy()
    f = atoms.get_forces()
    assert np.isfinite(e) and -6.0 < e / len(atoms) < -2.0      # eV/atom, a bound sulfide
    assert f.shape == (52, 3) and np.abs(f.sum(axis=0)).max() < 1e-3   # Newton's third law


def test_tiny_study_end_to_end(tmp_path, no_network):
    cfg = StudyConfig(name="tiny", temperatures=[700.0], protocols=["frozen-host"],
                      md={"steps": 60, "stride": 2, "equilibration_steps": 10}, output=str(tmp_path / "out"))
    assert cfg.protocols == ["free", "frozen-host"]        # the free run comes first: it is the reference
    report = run_study(cfg)
    out = tmp_path / "out"
    assert report == out / "report.html"
    html = report.read_text()
    assert html.count("data:image/png;base64,") >= 2 and "chgnet" in html
    summary = json.loads((out / "summary.json").read_text())
    assert summary["potential"]["name"] == "chgnet" and summary["versions"]["chgnet"]
    r = summary["results"]["T700K"]
    assert r["frames"] == 30 and r["dt_fs"] == pytest.approx(4.0)
    ds = xr.load_dataset(out / "analysis" / "T700K_vdos.nc", engine="h5netcdf")
    assert set(ds.species.values) == {"Li", "P", "S", "Cl"}
    # frozen host: P, S, Cl never move; Li does; the enhancement ratio is reported
    from superionic.trajectory import read_trajectory
    frozen = read_trajectory(out / "md" / "T700K-frozen-host" / "trajectory.h5")
    host = np.array([s != "Li" for s in frozen.symbols])
    assert np.ptp(frozen.positions[:, host], axis=0).max() < 1e-5
    assert np.ptp(frozen.positions[:, ~host], axis=0).max() > 0.05
    assert "T700K-frozen-host" in summary["results"]["series"]["phonon_enhancement"]
    # mechanism stage on the free run only: windows of the S/Cl framework, PS4 units (4 per cell)
    mech = r["mechanism"]
    assert mech["bottleneck"]["anions"] == ["S", "Cl"] or set(mech["bottleneck"]["anions"]) == {"S", "Cl"}
    assert mech["bottleneck"]["n_windows"] > 0 and 0.5 < mech["bottleneck"]["inradius_mean_A"] < 2.5
    assert 0.0 <= mech["rotations"]["libration_fraction"] <= 1.0
    assert "mechanism" not in summary["results"]["T700K-frozen-host"]
    assert "bottleneck breathing" in html and (out / "analysis" / "T700K_rotations.nc").exists()
    # second run reuses the finished MD (same settings) and gives identical results
    mtime = (out / "md" / "T700K" / "trajectory.h5").stat().st_mtime
    run_study(cfg)
    assert (out / "md" / "T700K" / "trajectory.h5").stat().st_mtime == mtime


def test_bad_study_file(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text("temperatures: [300, -5]\n")
    with pytest.raises(InputError, match="temperatures"):
        load_config(p)
    p.write_text("temprature: 300\n")
    with pytest.raises(InputError, match="temprature"):
        load_config(p)
    with pytest.raises(InputError, match="not found"):
        load_config(tmp_path / "missing.yaml")
