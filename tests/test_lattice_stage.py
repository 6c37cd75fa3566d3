"""The lattice stage of a study (workflow.lattice_stage): phonons once per study, NMD/INM/C_v per free run, the
report section; on EMT copper (32 atoms, two temperatures, about 30 s), its numbers against phonopy called directly.
"""

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from ase.build import bulk

from superionic.errors import InputError
from superionic.workflow import StudyConfig, load_config, run_study

LABELS = ("T300K", "T600K")


def _config(tmp, **lattice):
    return StudyConfig(
        name="cu-lattice",
        material=str(tmp / "Cu.vasp"),
        supercell="2x2x2",
        potential="emt",
        temperatures=[300, 600],
        mobile_species="Cu",
        md={"steps": 600, "stride": 2, "dt": 5.0, "equilibration_steps": 100},
        analyses=["vdos", "diffusion", "lattice"],
        lattice={"nmd_reference": "phonons", "inm_snapshots": 2, **lattice},
        output=str(tmp / "out"),
    )


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("lattice")
    bulk("Cu", "fcc", a=3.6, cubic=True).write(tmp / "Cu.vasp", format="vasp")
    cfg = _config(tmp)
    messages: list[str] = []
    report = run_study(cfg, progress=lambda label, i, n, t: messages.append(label))
    out = tmp / "out"
    return {
        "cfg": cfg,
        "tmp": tmp,
        "out": out,
        "summary": json.loads((out / "summary.json").read_text()),
        "html": report.read_text(),
        "progress": messages,
    }


def _numeric_variables_have_units(ds: xr.Dataset) -> None:
    for name, var in {**ds.data_vars, **ds.coords}.items():
        if var.dtype.kind in "fiuc":
            assert "units" in var.attrs, f"{name} has no units"


def test_files_exist_with_units(study):
    a = study["out"] / "analysis"
    ph = xr.load_dataset(a / "phonons.nc", engine="h5netcdf")
    _numeric_variables_have_units(ph)
    assert ph.force_constants.attrs["units"] == "eV angstrom-2" and ph.cv.attrs["units"] == "k_B atom-1"
    assert ph.attrs["lattice_key"] == study["cfg"].lattice.phonons_key(study["cfg"].material, "emt")
    for label in LABELS:
        for kind in ("nmd", "acoustic", "inm", "heat_capacity"):
            ds = xr.load_dataset(a / f"{label}_{kind}.nc", engine="h5netcdf")
            _numeric_variables_have_units(ds)
        assert not (a / f"{label}_kappa.nc").exists()  # kappa: false by default
    assert not study["summary"]["failed_runs"]
    assert any(m.startswith("phonons") for m in study["progress"]) and any("NMD T600K" in m for m in study["progress"])


def test_summary_has_the_lattice_numbers(study):
    lat = study["summary"]["lattice"]
    assert lat["units"]["cv"] == "k_B per atom" and lat["units"]["frequency"] == "THz"
    ph = lat["phonons"]
    assert ph["stable"] and ph["n_imaginary_modes"] == 0 and ph["atoms_primitive"] == 1
    assert ph["dos_integral"] == pytest.approx(3.0, rel=1e-3)  # ∫g dν = 3N per primitive cell
    for label in LABELS:
        run = lat["runs"][label]
        n = run["nmd"]
        assert n["modes"] == 96 and 0.0 <= n["overdamped_fraction"] <= 1.0 and n["bands"]
        assert "phonons.nc" in n["reference"]
        assert 0.0 <= run["inm"]["f_u"] <= 1.0 and run["inm"]["n_modes"] == 93  # 3N − 3
        h = run["heat_capacity"]
        for key in ("cv_md_fluctuation", "cv_md_potential", "cv_md_dEdT", "cv_harmonic_phonopy", "S_vib_2pt"):
            assert np.isfinite(h[key])
        # Cu at 300 K and 600 K (Debye ≈ 315 K): the quantum harmonic C_v is a little below 3 k_B per atom
        assert 2.6 < h["cv_harmonic_phonopy"] < 3.0 and h["cv_vdos_harmonic"] == pytest.approx(
            h["cv_harmonic_phonopy"], abs=0.1
        )
    s = lat["series"]
    assert [r["temperature_K"] for r in s["overdamped_fraction"]] == [300.0, 600.0]
    assert [r["temperature_K"] for r in s["inm"]] == [300.0, 600.0] and "D_Cu" in s["inm"][0]
    assert study["summary"]["timings"]["lattice_s"] > 0


def test_harmonic_cv_and_nmd_frequencies_equal_phonopy_called_directly(study):
    """Independent of the stage's storage and reload: phonopy on the relaxed cell, called here."""
    from superionic.lattice import harmonic_phonons, relax
    from superionic.materials import build_material
    from superionic.potentials import get_potential

    calc = get_potential("emt").make()
    atoms, _ = relax(build_material(study["cfg"].material), calc, fmax=1e-3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = harmonic_phonons(atoms, calc, temperatures=[300.0, 600.0])
    kb_per_atom = result.heat_capacity / 8.314462618 / result.n_primitive  # J/K/mol of cells → k_B per atom
    lat = study["summary"]["lattice"]
    for t, cv in zip((300.0, 600.0), kb_per_atom):
        assert lat["runs"][f"T{t:g}K"]["heat_capacity"]["cv_harmonic_phonopy"] == pytest.approx(cv, rel=1e-6)
    # NMD harmonic frequencies: phonopy's at every q the 2×2×2 cubic MD cell carries (Γ included)
    ds = xr.load_dataset(study["out"] / "analysis" / "T300K_nmd.nc", engine="h5netcdf")
    q = ds.q.values
    result.phonopy.run_qpoints(q, with_eigenvectors=False)
    direct = np.asarray(result.phonopy.qpoints.frequencies)[np.arange(len(q)), ds.branch.values.astype(int)]
    assert np.allclose(ds.harmonic_frequency.values, direct, atol=1e-4)
    gamma = np.all(np.abs(q) < 1e-9, axis=1)
    assert gamma.sum() == 3 and np.allclose(ds.harmonic_frequency.values[gamma], 0.0, atol=1e-3)
    assert ds.harmonic_frequency.max() == pytest.approx(result.band_frequencies.max(), rel=0.05)
    # the host acoustic modes at the smallest |Q| of the MD cell (Q = 2π/L along the cube axes): the DHO frequencies
    # of the current correlations at 300 K are phonopy's harmonic ones within 3σ + 3 % (EMT Cu is nearly harmonic)
    ac = xr.load_dataset(study["out"] / "analysis" / "T300K_acoustic.nc", engine="h5netcdf").isel(shell=0)
    q_cart = np.array([[float(ac.q), 0.0, 0.0]])
    q_red = q_cart @ np.asarray(result.phonopy.primitive.cell).T / (2 * np.pi)
    result.phonopy.run_qpoints(q_red, with_eigenvectors=False)
    t1, t2, lo = np.sort(np.asarray(result.phonopy.qpoints.frequencies)[0])
    for b, nu in (("T1", t1), ("T2", t2), ("L", lo)):
        r = ac.sel(branch=b)
        assert abs(float(r.nu0) - nu) < 3 * float(r.nu0_err) + 0.03 * nu, (b, float(r.nu0), nu)


def test_report_has_the_lattice_section_and_old_summaries_still_render(study, tmp_path):
    html = study["html"]
    section = html[html.index("<h2>Lattice dynamics</h2>") :]
    for text in (
        "Harmonic phonons",
        "damping map",
        "Host acoustic modes",
        "underdamped (z = ",
        "Instantaneous normal modes",
        "C_v 2PT",
        "S_vib 2PT",
    ):
        assert text in section
    assert section.count("data:image/png;base64,") >= 5  # dispersion, harmonic vs MD, NMD, acoustic, INM
    from superionic.report.html import write_report

    old = {k: v for k, v in study["summary"].items() if k != "lattice"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        text = write_report(tmp_path, old).read_text()
    assert "Lattice dynamics" not in text and "Provenance" in text


def test_second_run_reuses_phonons(study, tmp_path):
    out = study["out"]
    path = out / "analysis" / "phonons.nc"
    mtime = path.stat().st_mtime_ns
    nmd_inode = (out / "analysis" / "T300K_nmd.nc").stat().st_ino  # an atomic rewrite makes a new inode
    run_study(study["cfg"])
    summary = json.loads((out / "summary.json").read_text())
    assert path.stat().st_mtime_ns == mtime and summary["lattice"]["phonons"]["reused"]
    # per-run items are reused from their cache (nothing that determines them changed) with the same numbers
    assert (out / "analysis" / "T300K_nmd.nc").stat().st_ino == nmd_inode
    assert json.dumps(summary["lattice"]["runs"], sort_keys=True) == json.dumps(
        study["summary"]["lattice"]["runs"], sort_keys=True
    )
    assert summary["lattice"]["phonons"]["key"] == study["summary"]["lattice"]["phonons"]["key"]
    # other phonon settings: a new key, computed again
    import shutil

    from superionic.workflow.lattice_stage import study_phonons

    copy = Path(shutil.copy2(path, tmp_path / "phonons.nc"))
    before = copy.stat().st_mtime_ns
    _, phonon, info = study_phonons(study["cfg"], tmp_path)
    assert info["reused"] and copy.stat().st_mtime_ns == before and phonon.force_constants is not None
    cfg = _config(study["tmp"], displacement=0.02)
    _, _, info = study_phonons(cfg, tmp_path)
    assert not info["reused"] and info["key"] != summary["lattice"]["phonons"]["key"]


def test_lattice_items_as_parsl_tasks_equal_the_serial_ones_and_are_reused(study, tmp_path):
    """Each free run's NMD, INM and C_v as a Parsl task (local executor, 2 workers) on a copy of the study: the
    same numbers as the serial stage; a second call reuses every run's items; changed settings recompute them."""
    import shutil

    from superionic.workflow.config import ExecutionConfig
    from superionic.workflow.execution import parsl_session
    from superionic.workflow.lattice_stage import run_lattice_stage
    from superionic.workflow.study import Run

    out = Path(shutil.copytree(study["out"], tmp_path / "out"))
    for rec in (out / "analysis").glob("*.lattice.json"):
        rec.unlink()
    runs = [Run(t, "free", out / "md" / f"T{t:g}K" / "trajectory.h5") for t in (300.0, 600.0)]
    cfg = study["cfg"]
    with parsl_session(ExecutionConfig(executor="local", workers=2), tmp_path / "runinfo") as tasks:
        failed: list = []
        lat = run_lattice_stage(cfg, runs, out, failed=failed, tasks=tasks)
        assert not failed and tasks.submitted == 2
        serial = study["summary"]["lattice"]
        for label in LABELS:
            for item in ("nmd", "inm"):
                for k, v in serial["runs"][label][item].items():
                    if isinstance(v, float) and k != "seconds":
                        assert lat["runs"][label][item][k] == pytest.approx(v, rel=1e-9, nan_ok=True), (label, k)
            for k in ("cv_md_fluctuation", "cv_md_potential", "cv_md_dEdT"):
                assert lat["runs"][label]["heat_capacity"][k] == pytest.approx(
                    serial["runs"][label]["heat_capacity"][k], rel=1e-9
                )
        nmd = out / "analysis" / "T600K_nmd.nc"
        inode = nmd.stat().st_ino  # an atomic rewrite makes a new inode; reuse only touches the file
        again = run_lattice_stage(cfg, runs, out, failed=failed, tasks=tasks)
        assert nmd.stat().st_ino == inode
        assert json.dumps(again["runs"], sort_keys=True) == json.dumps(lat["runs"], sort_keys=True)  # NaN-safe
        changed = _config(study["tmp"], band_width=0.5)
        run_lattice_stage(changed, runs[1:], out, failed=failed, tasks=tasks)
        assert nmd.stat().st_ino != inode and not failed


def test_a_failing_item_is_recorded_and_the_rest_goes_on(study, monkeypatch):
    from superionic.workflow.lattice_stage import run_lattice_stage
    from superionic.workflow.study import Run

    def boom(*args, **kwargs):
        raise InputError("no Hessian today")

    monkeypatch.setattr("superionic.lattice.inm.inm", boom)
    out = study["out"]
    runs = [Run(t, "free", out / "md" / f"T{t:g}K" / "trajectory.h5") for t in (300.0, 600.0)]
    runs.append(Run(300.0, "frozen-host", out / "md" / "T300K-frozen-host" / "trajectory.h5"))  # skipped
    cfg = _config(study["tmp"], phonons=False, nmd=False, heat_capacity=True, nmd_reference="frame")
    failed: list = []
    lat = run_lattice_stage(cfg, runs, out, failed=failed)
    assert [f["label"] for f in failed] == ["T300K", "T600K"]
    assert all(f["stage"] == "lattice" and f["reason"] == "INM: no Hessian today" for f in failed)
    assert "phonons" not in lat and set(lat["runs"]) == {"T300K", "T600K"}
    assert "cv_harmonic_phonopy" not in lat["runs"]["T300K"]["heat_capacity"]  # no phonons asked for
    assert np.isfinite(lat["runs"]["T300K"]["heat_capacity"]["cv_md_dEdT"])
    with pytest.raises(InputError, match="no Hessian today"):
        run_lattice_stage(cfg, runs[:1], out)  # without a failed list the error propagates


def test_config_lattice_block_defaults_and_refusals(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text("material: Li6PS5Cl\ntemperatures: [600]\n")
    cfg = load_config(p)  # an old study file: no lattice key, the default analyses without lattice
    assert "lattice" not in cfg.analyses and cfg.lattice.phonons and cfg.lattice.inm_snapshots == 4
    assert cfg.md_hash() == StudyConfig(material="Li6PS5Cl", temperatures=[600]).md_hash()
    p.write_text("material: Li6PS5Cl\ntemperatures: [600]\nanalyses: [vdos, lattice]\nlattice: {nmd: false}\n")
    assert load_config(p).lattice.nmd is False
    p.write_text("material: Li6PS5Cl\ntemperatures: [600]\nlattice: {phonon: true}\n")
    with pytest.raises(InputError, match="lattice.phonon"):
        load_config(p)
    p.write_text("material: Li6PS5Cl\ntemperatures: [600]\nlattice: {phonons_supercell: 2y2}\n")
    with pytest.raises(InputError, match="phonons_supercell"):
        load_config(p)
    p.write_text(
        "material: Li6PS5Cl\ntemperatures: [600]\npotential: emt\nanalyses: [lattice]\nlattice: {kappa: true}\n"
    )
    with pytest.raises(InputError, match="needs a LAMMPS potential"):
        load_config(p)
    ok = StudyConfig(potential="li6ps5cl-snap", analyses=["lattice"], lattice={"kappa": True, "kappa_runs": 3})
    assert ok.lattice.kappa_runs == 3


@pytest.mark.slow
def test_kappa_on_the_lammps_potential(tmp_path):
    """κ at one temperature of a 52-atom Li6PS5Cl study (li6ps5cl-snap): two short NVE heat-flux runs, decorrelated
    from the Li flux; the runs are reused by a second stage call (about 60 s)."""
    from superionic.potentials.lammps_potentials import lammps_available

    if not lammps_available():
        pytest.skip("LAMMPS not importable")
    from superionic.workflow.lattice_stage import run_lattice_stage
    from superionic.workflow.study import Run

    cfg = StudyConfig(
        name="k",
        material="Li6PS5Cl",
        potential="li6ps5cl-snap",
        temperatures=[600],
        md={"steps": 200, "stride": 2, "equilibration_steps": 50},
        analyses=["vdos", "lattice"],
        lattice={
            "phonons": False,
            "nmd": False,
            "inm_snapshots": 0,
            "heat_capacity": False,
            "kappa": True,
            "kappa_runs": 2,
            "kappa_steps": 1000,
            "kappa_equilibration_steps": 100,
        },
        output=str(tmp_path / "out"),
    )
    html = run_study(cfg).read_text()
    out = tmp_path / "out"
    s = json.loads((out / "summary.json").read_text())
    assert not s["failed_runs"]
    k = s["lattice"]["runs"]["T600K"]["kappa"]
    assert k["decorrelated_from"] == ["Li"] and 0 < k["kappa_decorrelated"] < 10 and k["n_runs"] == 2
    row = s["lattice"]["series"]["kappa"][0]
    assert row["kappa"] == k["kappa_decorrelated"] and row["estimate"].endswith("Li")
    ds = xr.load_dataset(out / "analysis" / "T600K_kappa.nc", engine="h5netcdf")
    _numeric_variables_have_units(ds)
    assert "Thermal conductivity (Green–Kubo)" in html
    flux = out / "kappa" / "T600K" / "flux_run0.nc"
    mtime = flux.stat().st_mtime_ns
    run = Run(600.0, "free", out / "md" / "T600K" / "trajectory.h5")
    again = run_lattice_stage(cfg, [run], out, failed=[])
    assert flux.stat().st_mtime_ns == mtime and again["runs"]["T600K"]["kappa"]["kappa_decorrelated"] == pytest.approx(
        k["kappa_decorrelated"]
    )


def test_harmonic_cv_of_an_unstable_cell_is_not_shown_as_a_number():
    """phonopy drops the imaginary modes from C_v: of an unstable cell that is not the harmonic C_v."""
    from superionic.report.sections import _heat_capacity_part

    runs = {
        "T400K": {"temperature_K": 400.0, "heat_capacity": {"cv_harmonic_phonopy": 2.653, "cv_vdos_harmonic": 2.81}}
    }
    unstable = "".join(_heat_capacity_part(runs, {"stable": False, "n_imaginary_modes": 4977}))
    assert "2.65" not in unstable and "4977 imaginary mesh modes left out" in unstable and "2.81" in unstable
    assert "2.65" in "".join(_heat_capacity_part(runs, {"stable": True, "n_imaginary_modes": 0}))  # fmt: 3 digits
    few = {"stable": False, "n_imaginary_modes": 5, "imaginary_mode_share": 5 / 33696}  # the rattled Li6PS5Cl cell
    assert "2.65" in "".join(_heat_capacity_part(runs, few))
    many = {"stable": False, "n_imaginary_modes": 4977, "imaginary_mode_share": 4977 / 33696}  # its symmetric saddle
    assert "2.65" not in "".join(_heat_capacity_part(runs, many))


def test_report_cells_of_exponents_and_sparse_bands():
    """A low-ω exponent with a zero or oversized error is unresolved; a small error is printed, not rounded to
    '± 0.00'; a band of fewer than MIN_BAND_MODES modes is a count, not a fraction ± an error as large as itself."""
    from superionic.report.sections import MIN_BAND_MODES, _band_table, _law

    assert _law(1.0013, 0.0049) == "1.0013 ± 0.0049"
    assert _law(1.0, 0.0) == "unresolved ‡" and _law(1.0, 0.6) == "unresolved ‡"
    assert _law(1.15, 0.02) == "1.150 ± 0.020" and _law(2.04, 0.31) == "2.04 ± 0.31"
    bands = [
        {"band_THz": [0.0, 1.0], "modes": 20, "fraction": 0.05, "fraction_err": 0.0487},
        {"band_THz": [14.0, 15.0], "modes": 1, "fraction": 0.0, "fraction_err": 0.5},
    ]
    series = {"overdamped_fraction": [{"temperature_K": t, "bands": bands} for t in (400.0, 700.0)]}
    text = "".join(_band_table(series))
    assert MIN_BAND_MODES > 1 and "0.050 ± 0.049" in text and "0/1 modes" in text and "± 0.5" not in text
