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
    assert np.isfinite(e) and -6.0 < e / len(atoms) < -2.0  # eV/atom, a bound sulfide
    assert f.shape == (52, 3) and np.abs(f.sum(axis=0)).max() < 1e-3  # Newton's third law


def test_tiny_study_end_to_end(tmp_path, no_network):
    cfg = StudyConfig(
        name="tiny",
        temperatures=[700.0],
        protocols=["frozen-host"],
        md={"steps": 60, "stride": 2, "equilibration_steps": 10},
        output=str(tmp_path / "out"),
    )
    assert cfg.protocols == ["free", "frozen-host"]  # the free run comes first: it is the reference
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
    # second run reuses the finished MD (same settings) and the cached analyses: identical results, nothing
    # recomputed, the analysis files kept
    mtime = (out / "md" / "T700K" / "trajectory.h5").stat().st_mtime
    from superionic.workflow import study as study_module

    def no_recompute(*_):
        raise AssertionError("analyses recomputed although nothing changed")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(study_module, "_compute_analyses", no_recompute)
        run_study(cfg)
    assert (out / "md" / "T700K" / "trajectory.h5").stat().st_mtime == mtime
    again = json.loads((out / "summary.json").read_text())
    assert json.dumps(again["results"], sort_keys=True) == json.dumps(summary["results"], sort_keys=True)
    assert again["warnings"] == summary["warnings"] and (out / "analysis" / "T700K_rotations.nc").exists()
    # an entry cached in an earlier form of the summary entry is recomputed, never reused as it is
    from superionic.workflow import analysis_cache

    computed = []
    compute = study_module._compute_analyses
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(analysis_cache, "ENTRY_FORMAT", analysis_cache.ENTRY_FORMAT + 1)
        mp.setattr(study_module, "_compute_analyses", lambda *a: computed.append(a) or compute(*a))
        run_study(cfg)
    assert len(computed) == 2  # the free and the frozen-host run
    # other analysis settings: analysed anew
    run_study(cfg.model_copy(update={"analyses": ["vdos", "diffusion"]}))
    assert not (out / "analysis" / "T700K_rotations.nc").exists()


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


# -- cache keys, host references and the tethered stiffness scan ----------------------------------------

DING = {
    "name": "x",
    "material": "Li6PS5Cl",
    "supercell": "2x2x2",
    "potential": "li6ps5cl-snap",
    "temperatures": [400, 700],
    "md": {"steps": 12500, "stride": 5, "equilibration_steps": 2500},
    "protocols": ["free", "frozen-host", "tethered"],
    "tether_stiffness": 0.5,
}


def test_md_hash_of_existing_runs_is_unchanged():
    """The cache keys of runs made before host_reference and stiffness scans existed (pinned values)."""
    pins = {
        "free": "7282349aa5766628",
        "frozen-host": "cd79ff000ff4436b",
        "tethered": "a6ebff410e4e200a",
        "rigid-anions": "870e5b5755b3f38f",
    }
    for cfg in (StudyConfig(), StudyConfig(host_reference="mean"), StudyConfig(tether_stiffness=1)):
        assert {p: cfg.md_hash(p) for p in pins} == pins
    ding = {"free": "c3f5fdca6940231e", "frozen-host": "35d857aa04d7bd64", "tethered": "1df4696c43f96b54"}
    assert {p: StudyConfig(**DING).md_hash(p) for p in ding} == ding
    # a scan entry hashes as the single-valued study with that stiffness
    scan = StudyConfig(**{**DING, "tether_stiffness": [0.1, 0.5, 2]})
    assert scan.md_hash("tethered", 0.5) == ding["tethered"] and scan.md_hash("free") == ding["free"]
    assert StudyConfig(tether_stiffness=[2.0, 1.0]).md_hash("tethered", 1.0) == pins["tethered"]
    with pytest.raises(InputError, match="stiffness"):
        scan.md_hash("tethered")
    # a non-default host reference changes only the suppressed runs' keys
    q = StudyConfig(host_reference="quenched")
    assert q.md_hash("free") == pins["free"] and q.md_hash("rigid-anions") == pins["rigid-anions"]
    assert q.md_hash("frozen-host") != pins["frozen-host"] and q.md_hash("tethered") != pins["tethered"]
    assert q.md_hash("frozen-host") != StudyConfig(host_reference="auto").md_hash("frozen-host")


def test_study_file_takes_a_stiffness_list_and_a_host_reference(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text(
        "material: Li6PS5Cl\ntemperatures: [500]\n"
        "protocols: [frozen-host, tethered]\ntether_stiffness: [0.5, 2]\nhost_reference: auto\n"
    )
    cfg = load_config(p)
    assert cfg.stiffness_scan() == [0.5, 2.0] and cfg.host_reference == "auto"
    assert StudyConfig().stiffness_scan() is None
    for bad, msg in (
        ("tether_stiffness: [0.5, -1]", "tether_stiffness"),
        ("tether_stiffness: []", "tether_stiffness"),
        ("host_reference: average", "host_reference"),
    ):
        p.write_text(bad + "\n")
        with pytest.raises(InputError, match=msg):
            load_config(p)


def fake_md(calls):
    """Stands in for run_md: records the call and writes a finished run (2 frames of the start structure)."""
    from superionic.md.run import _atomic_json
    from superionic.trajectory.h5md import H5MDWriter

    def run_md(atoms, spec, settings, folder, **kw):
        calls.append((folder.name, atoms.copy(), settings))
        folder.mkdir(parents=True, exist_ok=True)
        w = H5MDWriter(folder / "trajectory.h5", atoms.get_chemical_symbols(), atoms.get_masses(), 1.0, chunk=2)
        for i in range(2):
            w.append(i, atoms.get_positions() + 0.01 * i, np.asarray(atoms.cell), np.zeros((len(atoms), 3)))
        w.close()
        _atomic_json(folder / "run.json", {"settings": {"metadata": settings.metadata}, "status": "done"})
        return folder / "trajectory.h5"

    return run_md


def test_stiffness_scan_runs_and_labels(tmp_path, monkeypatch):
    from superionic.workflow.study import run_md_stage

    calls: list = []
    monkeypatch.setattr("superionic.md.run_md", fake_md(calls))
    cfg = StudyConfig(
        potential="emt",
        temperatures=[500],
        protocols=["frozen-host", "tethered"],
        tether_stiffness=[0.5, 2.0],
        host_reference="snapshot",
    )
    runs = run_md_stage(cfg, tmp_path)
    assert [r.label for r in runs] == ["T500K", "T500K-frozen-host", "T500K-tethered-k0.5", "T500K-tethered-k2"]
    assert [r.stiffness for r in runs] == [None, None, 0.5, 2.0]
    s = {name: st for name, _, st in calls}
    assert s["T500K-tethered-k2"].tether_stiffness == 2.0 and s["T500K-tethered-k0.5"].host_reference == "snapshot"
    assert s["T500K"].host_reference == "mean" and s["T500K-frozen-host"].reference == str(tmp_path / "md" / "T500K")
    assert s["T500K-tethered-k0.5"].metadata["md_hash"] == cfg.md_hash("tethered", 0.5)
    assert len(run_md_stage(cfg, tmp_path)) == 4 and len(calls) == 4  # finished runs are reused
    # a single stiffness keeps the old folder name (old studies are reused)
    assert [
        r.label
        for r in run_md_stage(StudyConfig(potential="emt", temperatures=[500], protocols=["tethered"]), tmp_path)
    ] == ["T500K", "T500K-tethered"]


def test_lammps_study_starts_suppressed_runs_at_the_chosen_host_reference(tmp_path, monkeypatch):
    """On the LAMMPS engine the host is held where the run starts: the study puts it at the snapshot."""
    from superionic.md import reference_from_trajectory
    from superionic.workflow.study import run_md_stage

    calls: list = []
    monkeypatch.setattr("superionic.md.run_md", fake_md(calls))
    cfg = StudyConfig(
        potential="li6ps5cl-snap", temperatures=[700], protocols=["frozen-host"], host_reference="snapshot"
    )
    run_md_stage(cfg, tmp_path)
    (_, free_atoms, _), (_, start, s) = calls
    last = reference_from_trajectory(tmp_path / "md" / "T700K")["last"]
    np.testing.assert_allclose(start.get_positions(), last)
    assert not np.allclose(start.get_positions(), free_atoms.get_positions())
    assert s.reference is None and s.metadata["host_reference"]["host_reference"] == "snapshot"


def test_several_frozen_hosts_are_several_runs_from_frames_spread_over_the_free_run(tmp_path, monkeypatch):
    """host_samples 2: the hosts of T700K-frozen-host-h1of2 and -h2of2 are the free run's frames at 1/2 and 2/2 of
    its length (on LAMMPS the run starts there, mobile ions included), each with its own cache key; one host keeps the
    old folder name; a time-averaged host is one host and refuses host_samples."""
    from superionic.md import reference_from_trajectory
    from superionic.workflow.study import run_md_stage

    calls: list = []
    monkeypatch.setattr("superionic.md.run_md", fake_md(calls))
    cfg = StudyConfig(
        potential="li6ps5cl-snap",
        temperatures=[700],
        protocols=["frozen-host"],
        host_reference="snapshot",
        host_samples=2,
    )
    runs = run_md_stage(cfg, tmp_path)
    assert [r.label for r in runs] == ["T700K", "T700K-frozen-host-h1of2", "T700K-frozen-host-h2of2"]
    assert {r.group for r in runs[1:]} == {"T700K-frozen-host"}
    starts = {name: (atoms, st) for name, atoms, st in calls}
    for name, at in (("T700K-frozen-host-h1of2", 0.5), ("T700K-frozen-host-h2of2", 1.0)):
        atoms, st = starts[name]
        frame = reference_from_trajectory(tmp_path / "md" / "T700K", at=at)
        np.testing.assert_allclose(atoms.get_positions(), frame["last"])
        assert st.host_time == at and st.metadata["md_hash"] == cfg.md_hash("frozen-host", None, at)
    first, second = (starts[f"T700K-frozen-host-h{k}of2"][0].get_positions() for k in (1, 2))
    assert not np.allclose(first, second)
    assert cfg.md_hash("frozen-host") == cfg.md_hash("frozen-host", None, 1.0) != cfg.md_hash("frozen-host", None, 0.5)
    with pytest.raises(ValueError, match="host_samples 3 takes frozen hosts from several frames"):
        StudyConfig(potential="emt", temperatures=[500], protocols=["frozen-host"], host_samples=3)


def test_several_frozen_hosts_give_one_enhancement_row_with_their_spread(tmp_path):
    """Two hosts with D 1.0 and 2.0 (σ 0.1 each) against a free D of 4.0: one row, D_suppressed 1.5 with σ from the
    hosts' spread (0.5, not √(0.1² + 0.2²)/2), ratio 2.67, the hosts' values kept; its label names the hosts."""
    from superionic.results import protocol_label
    from superionic.workflow.study import Run, _enhancement

    def ds(d, err):
        return xr.Dataset(
            {"D": ("species", [d]), "D_err": ("species", [err]), "fit_range_ok": ("species", [1])},
            coords={"species": ["Li"]},
        )

    def run(label, protocol, sample=None):
        d = tmp_path / label
        d.mkdir()
        (d / "run.json").write_text(json.dumps({"protocol": {"name": protocol, "host_reference": "snapshot"}}))
        return Run(500.0, protocol, d / "trajectory.h5", None, sample)

    sets = {
        run("free", "free"): ds(4.0, 0.2),
        run("h1", "frozen-host", (1, 2)): ds(1.0, 0.1),
        run("h2", "frozen-host", (2, 2)): ds(2.0, 0.2),
    }
    ((label, row),) = _enhancement(sets, "Li").items()
    assert label == "T500K-frozen-host" and row["host_samples"] == 2
    assert row["D_suppressed"] == pytest.approx(1.5) and row["D_suppressed_err"] == pytest.approx(0.5)
    assert row["ratio"] == pytest.approx(4.0 / 1.5)
    assert row["ratio_err"] == pytest.approx(4.0 / 1.5 * np.hypot(0.2 / 4.0, 0.5 / 1.5))
    assert row["D_suppressed_hosts"] == [1.0, 2.0] and row["ratio_hosts"] == [4.0, 2.0]
    assert protocol_label(row) == "frozen-host (2 snapshot hosts)"
    # on a distilled potential the series carries its card's own D_free/D_frozen against its teacher's
    from superionic.workflow.study import _series

    adir = tmp_path / "analysis"
    adir.mkdir()
    cfg = StudyConfig(potential="li6ps5cl-snap", temperatures=[500], protocols=["frozen-host"])
    check = _series(cfg, {}, sets, adir)["potential_frozen_host_check"]
    assert check["card"].startswith("li6ps5cl-snap-v3.revalidation") and "Li" in check["enhancement"]
    assert "potential_frozen_host_check" not in _series(cfg.model_copy(update={"potential": "emt"}), {}, sets, adir)


def test_enhancement_rows_carry_the_host_reference_and_stiffness(tmp_path):
    from superionic.workflow.study import Run, _enhancement

    def ds(D):
        return xr.Dataset(
            {"D": ("species", [D]), "D_err": ("species", [0.1 * D]), "fit_range_ok": ("species", [1])},
            coords={"species": ["Li"]},
        )

    def run(label, protocol, info, k=None):
        d = tmp_path / label
        d.mkdir()
        (d / "run.json").write_text(json.dumps(info))
        return Run(500.0, protocol, d / "trajectory.h5", k)

    sets = {
        run("free", "free", {"protocol": {"name": "free"}}): ds(4.0),
        run("fro", "frozen-host", {"protocol": {"name": "frozen-host", "host_reference": "quenched"}}): ds(1.0),
        run("old", "rigid-anions", {"protocol": {"name": "rigid-anions"}}): ds(2.0),
        run("k05", "tethered", {"protocol": {"name": "tethered", "stiffness_eV_per_A2": 0.5}}, 0.5): ds(2.0),
        run(
            "k2",
            "tethered",
            {
                "protocol": "tethered",
                "settings": {  # LAMMPS run.json
                    "tether_stiffness": 2.0,
                    "metadata": {"host_reference": {"host_reference": "snapshot"}},
                },
            },
            2.0,
        ): ds(1.0),
    }
    rows = _enhancement(sets, "Li")
    assert sorted(rows) == ["T500K-frozen-host", "T500K-rigid-anions", "T500K-tethered-k0.5", "T500K-tethered-k2"]
    assert rows["T500K-frozen-host"]["host_reference"] == "quenched" and rows["T500K-frozen-host"]["ratio"] == 4.0
    assert rows["T500K-tethered-k0.5"]["host_reference"] == "mean"  # runs made before the choice
    assert rows["T500K-tethered-k0.5"]["stiffness_eV_per_A2"] == 0.5
    k2, rigid = rows["T500K-tethered-k2"], rows["T500K-rigid-anions"]
    assert k2["host_reference"] == "snapshot" and k2["stiffness_eV_per_A2"] == 2.0
    assert "host_reference" not in rigid and "stiffness_eV_per_A2" not in rigid


def test_every_example_study_validates():
    from pathlib import Path

    import yaml

    from superionic.workflow.config import load_config
    from superionic.workflow.screen import load_screen

    examples = sorted((Path(__file__).parents[1] / "examples").glob("*.yaml"))
    assert {p.name for p in examples} >= {"quickstart.yaml", "ding2025.yaml", "chgnet_quickstart.yaml", "screen.yaml"}
    for p in examples:
        if "materials" in yaml.safe_load(p.read_text()):  # a screen: every material's study is checked
            assert len(load_screen(p).studies()) >= 3
            continue
        cfg = load_config(p)
        assert cfg.temperatures and cfg.md.steps > 0
    quick = load_config(examples[[p.name for p in examples].index("quickstart.yaml")])
    assert quick.potential == "li6ps5cl-snap" and "frozen-host" in quick.protocols and len(quick.temperatures) == 2


def test_suppressed_runs_can_run_longer_without_touching_the_free_runs():
    from superionic.workflow.config import StudyConfig

    base = StudyConfig(protocols=["free", "frozen-host"])
    longer = StudyConfig(protocols=["free", "frozen-host"], md={"suppressed_steps": 9000})
    assert longer.md_hash("free") == base.md_hash("free")  # the free runs are reused
    assert longer.md_hash("frozen-host") != base.md_hash("frozen-host")
    assert longer.md.steps_for("frozen-host") == 9000 and longer.md.steps_for("free") == base.md.steps
    # a suppressed_steps equal to steps is the same run as none
    same = StudyConfig(protocols=["free", "frozen-host"], md={"suppressed_steps": base.md.steps})
    assert same.md_hash("frozen-host") == base.md_hash("frozen-host")


def test_enhancement_rows_take_the_cage_to_cage_ratio_when_both_runs_resolve_it(tmp_path):
    from superionic.workflow.study import Run, _enhancement

    def ds(D, ok):
        t = np.arange(500) * 10.0
        return xr.Dataset(
            {
                "D": ("species", [D]),
                "D_err": ("species", [0.1 * D]),
                "fit_range_ok": ("species", [ok]),
                "msd": (("species", "time"), [10 * (1 - np.exp(-t / 800)) + 1e-4 * t]),  # bending over
                "n_atoms": ("species", [192]),
            },
            coords={"species": ["Li"], "time": t},
            attrs={"n_frames": 1000},
        )

    free, frozen = Run(500.0, "free", None), Run(500.0, "frozen-host", None)
    cage = {
        "T500K": {"cage_diffusion": {"D": 3e-5, "D_err": 3e-6, "cage_changes": 200, "resolved": True}},
        "T500K-frozen-host": {"cage_diffusion": {"D": 5e-6, "D_err": 1e-6, "cage_changes": 30, "resolved": True}},
    }
    row = _enhancement({free: ds(3e-5, 1), frozen: ds(1.5e-5, 0)}, "Li", cage)["T500K-frozen-host"]
    assert row["ratio_cage"] == pytest.approx(6.0)
    assert row["ratio_cage_err"] == pytest.approx(6.0 * np.hypot(0.1, 0.2))
    assert row["cage_changes"] == [200, 30] and not row["fit_ranges_diffusive"]
    cage["T500K-frozen-host"]["cage_diffusion"]["resolved"] = False  # too few cage changes: no cage ratio
    row = _enhancement({free: ds(3e-5, 1), frozen: ds(1.5e-5, 0)}, "Li", cage)["T500K-frozen-host"]
    assert "ratio_cage" not in row


def test_a_run_of_another_version_of_the_potential_is_stale(tmp_path):
    from superionic.md.settings import potential_version_changes
    from superionic.workflow.study import _plan, _stale, _why_stale

    cfg = StudyConfig(potential="li6ps5cl-snap", temperatures=[500], protocols=["free"])
    (p,), spec, engine = _plan(cfg, tmp_path)
    current = p.potential
    assert current["name"] == "li6ps5cl-snap" and current.get("version")
    from dataclasses import asdict

    p.info = {"status": "done", "settings": asdict(p.settings), "potential": dict(current), "engine": engine}
    assert not _stale(p)
    p.info["potential"]["version"] = "0"  # the same name, an earlier model
    assert _stale(p)
    assert f"potential version 0 → {current['version']}" in _why_stale(p, spec, engine)
    assert potential_version_changes({"version": "1"}, {"name": "x"}) == []  # unknown now: not stale
    assert potential_version_changes({"model_sha256": "a" * 64}, {"model_sha256": "b" * 64}) == [
        f"potential model sha256 {'a' * 12} → {'b' * 12}"
    ]


def _cage_entry(temperature, d, err, resolved=True, changes=50):
    return {
        "temperature_K": temperature,
        "protocol": "free",
        "cage_diffusion": {"D": d if resolved else None, "D_err": err, "cage_changes": changes, "resolved": resolved},
        "conductivity": {"carrier_density_cm3": 2.5e22, "charge_e": 1.0},
    }


def test_the_cage_to_cage_arrhenius_fit_recovers_its_barrier_and_gives_sigma_at_300K(tmp_path):
    from superionic.workflow.study import _cage_arrhenius

    kb, ea, d0 = 8.617333262e-5, 0.25, 1e-3  # eV/K, eV, cm²/s
    temps = [550.0, 700.0, 850.0]
    results = {
        f"T{t:g}K": _cage_entry(t, d0 * np.exp(-ea / (kb * t)), 0.1 * d0 * np.exp(-ea / (kb * t))) for t in temps
    }
    results["T450K"] = _cage_entry(450.0, None, 1e-6, resolved=False, changes=4)
    results["T550K-frozen-host"] = {**_cage_entry(550.0, 1e-7, 1e-8), "protocol": "frozen-host"}  # not in the fit
    out = _cage_arrhenius(results, "Li", tmp_path)
    assert out["E_a"] == pytest.approx(ea, rel=1e-5) and out["D0"] == pytest.approx(d0, rel=1e-4)
    assert out["temperatures_K"] == temps and out["unresolved_K"] == [450.0] and out["D_300K_extrapolated"]
    d300 = d0 * np.exp(-ea / (kb * 300.0))
    assert out["D_300K"] == pytest.approx(d300, rel=1e-4)
    # Nernst–Einstein by hand: σ = n e² D/(k_B T), SI, then S/m → mS/cm (× 10)
    e, kb_j = 1.602176634e-19, 1.380649e-23
    sigma = 2.5e22 * 1e6 * e**2 * d300 * 1e-4 / (kb_j * 300.0) * 10.0
    assert out["sigma_NE_300K"] == pytest.approx(sigma, rel=1e-4)
    assert out["sigma_NE_300K_err"] / out["sigma_NE_300K"] == pytest.approx(out["D_300K_err"] / out["D_300K"])
    assert (tmp_path / "arrhenius_cage.nc").exists() and out["chi2_dof"] == pytest.approx(0.0, abs=1e-12)
    del results["T850K"]  # two points: no χ² per degree of freedom (None, not NaN, in summary.json)
    assert _cage_arrhenius(results, "Li", tmp_path)["chi2_dof"] is None
    del results["T700K"]  # one resolved run is no fit
    assert _cage_arrhenius(results, "Li", tmp_path) is None


def test_the_arrhenius_flag_follows_the_cage_count(tmp_path):
    """A run whose plain MSD has a linear range but where no ion changed cage (demoted in its summary entry) makes the
    plain-MSD Arrhenius fit 'not all diffusive', although its diffusion Dataset says fit_range_ok."""
    from superionic.workflow.study import Run, _series

    def ds(d):
        return xr.Dataset(
            {"D": ("species", [d]), "D_err": ("species", [0.05 * d]), "fit_range_ok": ("species", [1])},
            coords={"species": ["Li"]},
        )

    cfg = StudyConfig(temperatures=[600, 800], protocols=["free"], analyses=["diffusion"])
    runs = {Run(600.0, "free", None): ds(1e-5), Run(800.0, "free", None): ds(3e-5)}
    results = {
        "T600K": {"protocol": "free", "temperature_K": 600.0, "diffusion": {"Li": {"fit_range_ok": True}}},
        "T800K": {"protocol": "free", "temperature_K": 800.0, "diffusion": {"Li": {"fit_range_ok": True}}},
    }
    assert _series(cfg, results, runs, tmp_path)["arrhenius"]["all_fit_ranges_diffusive"]
    results["T800K"]["diffusion"]["Li"] = {"fit_range_ok": False, "intra_cage": True}
    assert not _series(cfg, results, runs, tmp_path)["arrhenius"]["all_fit_ranges_diffusive"]
