"""Never lose a run: folder locks, no silent replacement of finished runs, --resume refuses other settings,
a failed run does not sink a study, studies keep their outputs consistent with their summary, study files
name their material, and kill -9 at random moments (MD and study) loses nothing."""

import json
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from ase.build import bulk

from superionic.errors import InputError
from superionic.md import MDSettings, run_nvt
from superionic.md.lock import FolderLockedError, folder_lock
from superionic.trajectory import read_trajectory
from superionic.workflow import StudyConfig, load_config, run_study

HOLDER = """
import sys, time
from superionic.md.lock import folder_lock
with folder_lock(sys.argv[1], "test holder"):
    print("locked", flush=True)
    time.sleep(120)
"""


def cuag():
    """Cu28Ag4 (EMT): Ag plays the mobile ion, Cu the host."""
    atoms = bulk("Cu", "fcc", a=3.63, cubic=True).repeat(2)
    sym = atoms.get_chemical_symbols()
    for i in (0, 9, 18, 27):
        sym[i] = "Ag"
    atoms.set_chemical_symbols(sym)
    return atoms


@pytest.fixture
def poscar(tmp_path):
    import ase.io

    p = tmp_path / "CuAg.vasp"
    ase.io.write(p, cuag(), format="vasp")
    return p


def cli(*args, cwd=None, timeout=120):
    return subprocess.run(
        [sys.executable, "-m", "superionic", *map(str, args)], capture_output=True, text=True, timeout=timeout, cwd=cwd
    )


def invoke(*args):
    from typer.testing import CliRunner

    from superionic.cli import app

    return CliRunner().invoke(app, [str(a) for a in args])


def hold_lock(folder):
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(folder)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


# -- locks ---------------------------------------------------------------------------------------------


def test_a_locked_folder_is_refused_and_a_killed_holder_does_not_block(tmp_path, poscar):
    run = tmp_path / "run"
    holder = hold_lock(run)
    try:
        with pytest.raises(FolderLockedError, match=f"in use by pid {holder.pid} .*test holder"):
            with folder_lock(run):
                pass
        # a second `superionic md` into the folder: one line naming the holder, exit 1, nothing written
        res = cli(
            "md", poscar, "-T", "300", "--potential", "emt", "--steps", "10", "--equilibration", "0", "--out", run
        )
        assert res.returncode != 0 and "Traceback" not in res.stderr
        assert res.stderr.strip().count("\n") == 0 and f"in use by pid {holder.pid}" in res.stderr
        assert not (run / "run.json").exists()
        # a study into a locked folder, too
        with pytest.raises(FolderLockedError, match="in use"):
            run_study(StudyConfig(material=str(poscar), potential="emt", temperatures=[300]), run)
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    # the lock file stays behind, but a dead holder's flock went with it
    assert (run / ".lock").exists()
    with folder_lock(run):
        with folder_lock(run):  # re-entrant within one process
            pass
    with folder_lock(run):
        pass


# -- md: no silent replacement, --resume keeps the stored settings -----------------------------------

MD = ["-T", "300", "--potential", "emt", "--steps", "20", "--stride", "5", "--equilibration", "10"]


def test_md_never_replaces_a_finished_run_without_overwrite(tmp_path, poscar, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the default folder md-run, too
    for out in ([], ["--out", "elsewhere"]):
        folder = tmp_path / (out[1] if out else "md-run")
        res = invoke("md", poscar, *MD, *out)
        assert res.exit_code == 0, res.output
        traj = folder / "trajectory.h5"
        mtime = traj.stat().st_mtime_ns
        res = invoke("md", poscar, *MD, *out)  # same settings: kept, not run again
        assert res.exit_code == 0 and "kept" in res.output and traj.stat().st_mtime_ns == mtime
        res = invoke("md", poscar, *MD, "--steps", "30", "--seed", "4", *out)
        assert res.exit_code == 1 and isinstance(res.exception, InputError)
        msg = str(res.exception)
        assert "steps 20 → 30" in msg and "seed 0 → 4" in msg and "--overwrite" in msg and "--out" in msg
        assert traj.stat().st_mtime_ns == mtime and read_trajectory(traj).n_frames == 4
        res = invoke("md", poscar, *MD, "--steps", "30", "--overwrite", *out)
        assert res.exit_code == 0, res.output
        assert read_trajectory(traj).n_frames == 6
        assert json.loads((folder / "run.json").read_text())["settings"]["steps"] == 30


def test_md_resume_refuses_other_settings_and_an_unfinished_run_needs_resume(tmp_path, poscar):
    from superionic.potentials import get_potential

    spec = get_potential("emt")
    run = tmp_path / "run"
    s = MDSettings(
        temperature=300,
        steps=40,
        dt=2.0,
        stride=5,
        equilibration_steps=10,
        chunk=2,
        production_friction=0.001,
        metadata={"material": str(poscar), "supercell": "1x1x1"},
    )

    def stop(step, total, temp):
        if step >= 20:
            raise RuntimeError("killed")

    with pytest.raises(RuntimeError):
        run_nvt(cuag(), spec.make(), s, run, potential=spec.identity(), progress=stop)
    assert (run / "checkpoint.npz").exists()
    # the same command again does not restart the unfinished run: it says how to continue it
    res = invoke(
        "md", poscar, "-T", "300", "--potential", "emt", "--steps", "40", "--equilibration", "10", "--out", run
    )
    assert res.exit_code == 1 and "unfinished run" in str(res.exception) and "--resume" in str(res.exception)
    # --resume with options that contradict the stored run: refused, each named
    res = invoke("md", "--resume", run, "--steps", "80", "-T", "500")
    msg = str(res.exception)
    assert res.exit_code == 1 and "--steps 80 (run: 40)" in msg and "-T 500 (run: 300)" in msg
    res = invoke("md", "--resume", run, "--overwrite")
    assert res.exit_code == 2
    # options equal to the stored ones are fine; the run is resumed and says so
    res = invoke("md", "--resume", run, "--steps", "40", "--potential", "emt")
    assert res.exit_code == 0, res.output
    assert "resumed and finished" in res.output and "wrote" not in res.output
    np.testing.assert_array_equal(read_trajectory(run / "trajectory.h5").steps, np.arange(0, 40, 5))
    res = invoke("md", "--resume", run)
    assert res.exit_code == 0 and "nothing to resume" in res.output


def test_run_nvt_keeps_or_refuses_a_finished_run(tmp_path):
    from ase.calculators.emt import EMT

    s = MDSettings(temperature=300, steps=20, stride=5, chunk=2, seed=1)
    p = run_nvt(cuag(), EMT(), s, tmp_path)
    mtime = p.stat().st_mtime_ns
    assert run_nvt(cuag(), EMT(), s, tmp_path) == p and p.stat().st_mtime_ns == mtime  # same settings: kept
    other = MDSettings(temperature=400, steps=20, stride=5, chunk=2, seed=1)
    with pytest.raises(InputError, match="temperature 300 → 400"):
        run_nvt(cuag(), EMT(), other, tmp_path)
    with pytest.raises(InputError, match="not extended"):
        run_nvt(cuag(), EMT(), MDSettings(temperature=300, steps=40, stride=5, chunk=2, seed=1), tmp_path, resume=True)
    assert p.stat().st_mtime_ns == mtime
    run_nvt(cuag(), EMT(), other, tmp_path, overwrite=True)
    assert json.loads((tmp_path / "run.json").read_text())["settings"]["temperature"] == 400


# -- studies -------------------------------------------------------------------------------------------


def fake_md(fail=None, calls=None):
    """Stands in for run_md: a finished run of 120 frames of a random walk (cheap to analyse); `fail` maps
    labels to the exception their MD raises."""
    from superionic.md.run import _atomic_json
    from superionic.trajectory.h5md import H5MDWriter

    def run_md(atoms, spec, settings, folder, **kw):
        if calls is not None:
            calls.append(folder.name)
        if fail and folder.name in fail:
            raise fail[folder.name]
        folder.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng(int(settings.temperature))
        steps = np.cumsum(rng.normal(0, 0.05, (120, len(atoms), 3)), axis=0)
        w = H5MDWriter(folder / "trajectory.h5", atoms.get_chemical_symbols(), atoms.get_masses(), 2.0, chunk=40)
        for i in range(120):
            w.append(5 * i, atoms.get_positions() + steps[i], np.asarray(atoms.cell), rng.normal(0, 0.01, (32, 3)))
        w.close()
        from dataclasses import asdict

        _atomic_json(
            folder / "run.json", {"settings": asdict(settings), "potential": {"name": spec.name}, "status": "done"}
        )
        return folder / "trajectory.h5"

    return run_md


def study(poscar, out, **kw):
    base = dict(
        name="t",
        material=str(poscar),
        potential="emt",
        temperatures=[600],
        mobile_species="Ag",
        md={"steps": 600, "stride": 5, "equilibration_steps": 0},
        analyses=["diffusion"],
        output=str(out),
    )
    return StudyConfig(**{**base, **kw})


def test_study_refuses_to_replace_finished_runs_and_moves_them_aside_with_overwrite(tmp_path, poscar, monkeypatch):
    from superionic.workflow.study import run_md_stage

    calls: list = []
    monkeypatch.setattr("superionic.md.run_md", fake_md(calls=calls))
    out = tmp_path / "s"
    run_md_stage(study(poscar, out, temperatures=[600, 900]), out)
    traj = out / "md" / "T600K" / "trajectory.h5"
    mtime = traj.stat().st_mtime_ns
    longer = study(poscar, out, temperatures=[600, 900], md={"steps": 900, "stride": 5, "equilibration_steps": 0})
    with pytest.raises(InputError, match=r"2 finished run\(s\).*T600K: steps 600 → 900.*--overwrite"):
        run_md_stage(longer, out)
    with pytest.raises(InputError, match="--overwrite"):
        run_study(longer, out)
    assert traj.stat().st_mtime_ns == mtime and len(calls) == 2
    # an unfinished run with other settings is moved aside without asking (nothing is deleted)
    info = json.loads((out / "md" / "T900K" / "run.json").read_text())
    (out / "md" / "T900K" / "run.json").write_text(json.dumps({**info, "status": "running"}))
    with pytest.raises(InputError, match=r"1 finished run\(s\).*T600K"):
        run_md_stage(longer, out)
    replaced: list = []
    runs = run_md_stage(longer, out, overwrite=True, replaced=replaced)
    assert [r.label for r in runs] == ["T600K", "T900K"] and len(calls) == 4
    assert {r["label"] for r in replaced} == {"T600K", "T900K"}
    for r in replaced:
        assert (out / r["moved_to"] / "trajectory.h5").exists() and "steps 600 → 900" in r["settings_changed"]
    assert str(replaced[0]["moved_to"]).startswith("md/.replaced/")
    assert json.loads((out / "md" / "T600K" / "run.json").read_text())["settings"]["steps"] == 900


def test_a_suppressed_run_goes_stale_with_its_free_run(tmp_path, poscar, monkeypatch):
    """md.steps changes only the free run's cache key when suppressed_steps is set; the frozen-host run built
    on the old free run must not be reused silently."""
    from superionic.workflow.study import run_md_stage

    calls: list = []
    monkeypatch.setattr("superionic.md.run_md", fake_md(calls=calls))
    monkeypatch.setattr("superionic.md.run.host_reference_start", lambda atoms, settings, calc: (atoms, settings))
    out = tmp_path / "s"
    md = {"steps": 600, "suppressed_steps": 900, "stride": 5, "equilibration_steps": 0}
    cfg = study(poscar, out, protocols=["free", "frozen-host"], md=md)
    run_md_stage(cfg, out)
    assert calls == ["T600K", "T600K-frozen-host"]
    longer_free = study(poscar, out, protocols=["free", "frozen-host"], md={**md, "steps": 700})
    assert cfg.md_hash("frozen-host") == longer_free.md_hash("frozen-host")  # the gap this closes
    with pytest.raises(InputError, match=r"T600K-frozen-host: its free run T600K now has other settings"):
        run_md_stage(longer_free, out)
    replaced: list = []
    run_md_stage(longer_free, out, overwrite=True, replaced=replaced)
    assert {r["label"] for r in replaced} == {"T600K", "T600K-frozen-host"}
    assert calls[2:] == ["T600K", "T600K-frozen-host"]


def test_failed_runs_do_not_sink_the_study(tmp_path, poscar, monkeypatch):
    fail = {"T900K": InputError("host reference refused: PS4 units rotated"), "T600K-frozen-host": RuntimeError("boom")}
    monkeypatch.setattr("superionic.md.run_md", fake_md(fail))
    out = tmp_path / "s"
    cfg = study(poscar, out, temperatures=[600, 900], protocols=["free", "frozen-host"])
    p = tmp_path / "s.yaml"
    import yaml

    p.write_text(yaml.safe_dump(cfg.model_dump()))
    res = invoke("run", p)
    assert res.exit_code == 1
    assert "3 run(s) failed (T600K-frozen-host, T900K, T900K-frozen-host;" in res.output
    summary = json.loads((out / "summary.json").read_text())
    failed = {f["label"]: f for f in summary["failed_runs"]}
    assert set(failed) == {"T900K", "T900K-frozen-host", "T600K-frozen-host"}
    assert failed["T900K"]["reason"] == "host reference refused: PS4 units rotated"
    assert "free run T900K" in failed["T900K-frozen-host"]["reason"]
    assert failed["T600K-frozen-host"]["reason"] == "RuntimeError: boom" and "traceback" in failed["T600K-frozen-host"]
    assert list(summary["results"]) == ["T600K"]  # the finished run is analysed
    html = (out / "report.html").read_text()
    assert "Failed runs" in html and "PS4 units rotated" in html


def test_rerun_keeps_outputs_consistent_with_the_summary(tmp_path, poscar, monkeypatch):
    monkeypatch.setattr("superionic.md.run_md", fake_md())
    out = tmp_path / "s"
    run_study(study(poscar, out, temperatures=[600, 900], analyses=["diffusion", "vdos"]))
    names = {p.name for p in (out / "analysis").glob("*.nc")}
    assert {"T900K_diffusion.nc", "T900K_vdos.nc", "arrhenius.nc"} <= names
    run_study(study(poscar, out, temperatures=[600], analyses=["diffusion"]))
    summary = json.loads((out / "summary.json").read_text())
    names = {p.name for p in (out / "analysis").glob("*.nc")}
    assert names == {"T600K_diffusion.nc", "T600K_conductivity.nc"}  # what the summary describes
    assert set(summary["removed_stale_outputs"]) >= {
        "analysis/T900K_diffusion.nc",
        "analysis/T600K_vdos.nc",
        "analysis/arrhenius.nc",
    }
    assert summary["md_runs_not_in_study"] == ["md/T900K"] and (out / "md" / "T900K" / "trajectory.h5").exists()
    assert summary["failed_runs"] == [] and list(summary["results"]) == ["T600K"]


def test_study_file_must_name_material_and_temperatures(tmp_path):
    p = tmp_path / "s.yaml"
    for text, missing in (
        ("", "empty"),
        ("# nothing\n", "empty"),
        ("temperatures: [600]\n", "missing material"),
        ("material: Li6PS5Cl\n", "missing temperatures"),
        ("name: x\n", "missing material and temperatures"),
    ):
        p.write_text(text)
        with pytest.raises(InputError, match=missing):
            load_config(p)
    p.write_text("material: Li6PS5Cl\ntemperatures: [600]\n")
    assert load_config(p).material == "Li6PS5Cl"
    p.write_text("")
    res = invoke("run", p)  # nothing runs, no output folder is made
    assert res.exit_code == 1 and "is empty" in str(res.exception) and not (tmp_path / "results").exists()


# -- kill -9 at random moments ---------------------------------------------------------------------------


def _md_command(poscar, out, steps):
    return [
        sys.executable,
        "-m",
        "superionic",
        "md",
        str(poscar),
        "-T",
        "500",
        "--potential",
        "emt",
        "--steps",
        str(steps),
        "--stride",
        "1",
        "--dt",
        "4",
        "--equilibration",
        "20",
        "--friction",
        "0.01",
        "--seed",
        "7",
        "--out",
        str(out),
    ]


def _wait_for(path, proc, limit=120.0):
    t0 = time.time()
    while not path.exists() and proc.poll() is None and time.time() - t0 < limit:
        time.sleep(0.02)


def _kill_md_at_random_moments(tmp_path, poscar, kills, steps, seed):
    from superionic.materials import build_material
    from superionic.md import read_thermo
    from superionic.potentials import get_potential

    spec = get_potential("emt")
    ref = tmp_path / "ref"
    s = MDSettings(
        temperature=500, steps=steps, dt=4.0, stride=1, equilibration_steps=20, seed=7, production_friction=0.01
    )
    t0 = time.time()
    run_nvt(build_material(str(poscar), "1x1x1"), spec.make(), s, ref, potential=spec.identity())
    duration = time.time() - t0
    run, rng = tmp_path / "run", np.random.default_rng(seed)
    fresh = _md_command(poscar, run, steps)
    again = [sys.executable, "-m", "superionic", "md", "--resume", str(run)]
    for k in range(kills):
        # as a user would: the same command while there is no run.json yet, --resume after that
        proc = subprocess.Popen(
            again if (run / "run.json").exists() else fresh,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        if k == 0:  # the first kill surely lands in production: after the first checkpoint
            _wait_for(run / "checkpoint.npz", proc)
            time.sleep(rng.uniform(0.0, 0.3))
        else:  # the others anywhere: start-up, equilibration, production, the end
            time.sleep(rng.uniform(0.2, 1.5 + 1.5 * duration / kills))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        _, err = proc.communicate()
        assert "in use" not in err, err  # a killed holder's lock never blocks
    res = subprocess.run(again if (run / "run.json").exists() else fresh, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    a, b = read_trajectory(ref / "trajectory.h5"), read_trajectory(run / "trajectory.h5")
    np.testing.assert_array_equal(b.steps, np.arange(steps))  # no frame lost or duplicated
    np.testing.assert_allclose(b.positions, a.positions, atol=2e-4)
    np.testing.assert_allclose(b.velocities, a.velocities, atol=2e-5)
    np.testing.assert_array_equal(read_thermo(run)["step"], np.arange(steps))
    info = json.loads((run / "run.json").read_text())
    assert info["status"] == "done" and not (run / "checkpoint.npz").exists()


def test_md_killed_at_random_moments_resumes_to_the_uninterrupted_run(tmp_path, poscar):
    _kill_md_at_random_moments(tmp_path, poscar, kills=3, steps=300, seed=None)


@pytest.mark.slow
def test_md_killed_many_times_resumes_to_the_uninterrupted_run(tmp_path, poscar):
    _kill_md_at_random_moments(tmp_path, poscar, kills=12, steps=800, seed=None)


def test_study_killed_midway_completes_with_a_consistent_summary(tmp_path, poscar):
    import yaml

    out = tmp_path / "s"
    cfg = study(poscar, out, md={"steps": 400, "stride": 2, "equilibration_steps": 10})
    p = tmp_path / "s.yaml"
    p.write_text(yaml.safe_dump(cfg.model_dump()))
    proc = subprocess.Popen(
        [sys.executable, "-m", "superionic", "run", str(p)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    _wait_for(out / "md" / "T600K" / "checkpoint.npz", proc)  # in production, then MD, analysis or report
    time.sleep(np.random.default_rng().uniform(0.0, 2.0))
    assert proc.poll() is None or (out / "summary.json").exists()
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    res = cli("run", p, timeout=300)
    assert res.returncode == 0, res.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert list(summary["results"]) == ["T600K"] and summary["failed_runs"] == []
    traj = read_trajectory(out / "md" / "T600K" / "trajectory.h5")
    np.testing.assert_array_equal(traj.steps, np.arange(0, 400, 2))
    assert summary["results"]["T600K"]["frames"] == traj.n_frames == 200
    assert {q.name for q in (out / "analysis").glob("*.nc")} == {"T600K_diffusion.nc", "T600K_conductivity.nc"}
    assert not list(out.rglob("*.part")) and (out / "report.html").exists()
