"""The analysis stage and the HTML report on synthetic trajectories at two temperatures (no MD)."""

import json

import numpy as np
import pytest

from superionic import synthetic
from superionic.report.html import write_report
from superionic.results import fit_value, nonnegative_fields, write_json
from superionic.trajectory import Trajectory, write_h5md
from superionic.workflow import StudyConfig
from superionic.workflow.findings import findings
from superionic.workflow.study import Run, run_analysis_stage


def _mixed(temp, gamma, seed):
    """Diffusing Li (Langevin) + vibrating P and S (Einstein oscillators) at one temperature."""
    li = synthetic.langevin_particles(
        n_atoms=24, n_frames=1500, dt=4.0, gamma=gamma, temperature=temp, box=10.0, seed=seed
    )
    host = synthetic.harmonic_oscillators(
        [5.0, 9.0], n_per_frequency=8, n_frames=1500, dt=4.0, temperature=temp, box=10.0, seed=seed
    )
    return Trajectory(
        positions=np.concatenate([li.positions, host.positions], axis=1),
        cells=np.eye(3) * 10.0,
        symbols=li.symbols + host.symbols,
        dt=4.0,
        velocities=np.concatenate([li.velocities, host.velocities], axis=1),
        masses=np.concatenate([li.masses, host.masses]),
        metadata={"temperature": temp},
    )


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    out = tmp_path_factory.mktemp("study")
    runs = []
    for temp, gamma in ((600.0, 0.05), (900.0, 0.04)):
        p = out / f"T{temp:g}.h5"
        write_h5md(p, _mixed(temp, gamma, seed=int(temp)))
        runs.append(Run(temp, "free", p))
    # a "suppressed" run at 600 K: the same physics with 4× the friction, so D drops exactly 4×
    p = out / "T600-frozen.h5"
    write_h5md(p, _mixed(600.0, 0.2, seed=7))
    runs.append(Run(600.0, "frozen-host", p))
    cfg = StudyConfig(name="synthetic", temperatures=[600.0, 900.0], output=str(out))
    results = run_analysis_stage(cfg, runs, out)
    summary = {
        "config": cfg.model_dump(),
        "potential": {"name": "synthetic", "source": "test"},
        "findings": findings(results),
        "results": results,
        "versions": {"superionic": "test"},
        "timings": {},
    }
    write_json(out / "summary.json", summary)
    return out, results, write_report(out, summary)


def test_numbers_follow_the_physics(study):
    _, results, _ = study
    for label, temp, gamma in (("T600K", 600.0, 0.05), ("T900K", 900.0, 0.03)):
        exact = synthetic.langevin_diffusion_coefficient(temp, 6.94, gamma)
        d = results[label]["diffusion"]["Li"]
        assert abs(d["D"] - exact) < 4 * d["D_err"] + 0.05 * exact
        v = results[label]["vdos"]
        assert v["Li"]["classification"] == "diffusive" and v["Li"]["g0_resolved"] and v["Li"]["g0"] > 0, (
            label,
            v["Li"],
        )
        # D from g(0) agrees with the MSD route within the stated errors
        assert abs(v["Li"]["D_from_g0"] - d["D"]) < 3 * np.hypot(v["Li"]["D_from_g0_err"], d["D_err"])
        # vibrating host: D and g(0) consistent with zero, given as small upper bounds, never negative
        for host in ("P", "S"):
            h = results[label]["diffusion"][host]
            assert h["D"] is None and h["D_err"] is None and not h["fit_range_ok"], h  # an MSD slope, not a D
            if h["D_fit"] <= 2 * h["D_fit_err"]:
                assert h["D_upper"] == pytest.approx(max(h["D_fit"], 0.0) + 2 * h["D_fit_err"])
                assert 0 < h["D_upper"] < 0.15 * exact
        assert not v["P"]["g0_resolved"] and 0 <= v["P"]["g0"] <= v["P"]["g0_upper"] < 1e-3
        assert results[label]["conductivity"]["sigma_NE"] > 0
        # GDOS weights c_α σ_α/m_α / Σ, from SCIENCE.md's table (⁷Li, P, S; 24:8:8 atoms)
        raw = {"Li": 24 * (0.619 + 0.78) / 7.016, "P": 8 * (3.307 + 0.005) / 30.97, "S": 8 * (1.0186 + 0.007) / 32.06}
        w = results[label]["neutron"]["gdos_weights"]
        for sp, r in raw.items():
            assert w[sp] == pytest.approx(r / sum(raw.values()), rel=1e-3)
    enh = results["series"]["phonon_enhancement"]["T600K-frozen-host"]
    assert abs(enh["ratio"] - 4.0) < 3 * enh["ratio_err"] + 0.4
    arr = results["series"]["arrhenius"]
    assert arr["E_a"] > 0 and arr["D_300K_extrapolated"]


def test_report_is_complete_and_self_contained(study):
    out, _, report = study
    text = report.read_text()
    assert text.count("data:image/png;base64,") >= 6
    assert "extrapolated" in text and "E<sub>a</sub>" in text
    assert "src='http" not in text and 'src="http' not in text  # nothing fetched by the page
    assert "Neutron scattering" in text and "Phonon-induced enhancement" in text
    assert text.index("What this study found") < text.index("Key results")
    for name in (
        "T600K_vdos.nc",
        "T900K_diffusion.nc",
        "T600K_conductivity.nc",
        "arrhenius.nc",
        "T600K_gdos.nc",
        "T900K_fqt.nc",
        "T900K_sqe.nc",
    ):
        assert (out / "analysis" / name).exists()
    json.loads((out / "summary.json").read_text())


def test_a_quantity_that_cannot_be_negative_is_stored_as_a_bound():
    """nonnegative_fields: the value only when > 2σ; else None, the bound max(v, 0) + 2σ and the fit's numbers;
    fit_value reads both forms and an earlier version's raw entry; the report shows the same text for all."""
    from superionic.report.format import diffusion_cell

    assert nonnegative_fields(3e-5, 1e-5) == {"D": 3e-5, "D_err": 1e-5}
    low = nonnegative_fields(-2e-8, 5e-8)
    assert low["D"] is None and low["D_err"] is None and low["D_upper"] == pytest.approx(1e-7)
    assert fit_value(low) == (-2e-8, 5e-8) and fit_value(nonnegative_fields(3e-5, 1e-5)) == (3e-5, 1e-5)
    assert nonnegative_fields(1e-8, 1e-8)["D_upper"] == pytest.approx(3e-8)  # positive but ≤ 2σ: still a bound
    caged = nonnegative_fields(3e-5, 1e-5, regime_ok=False)  # > 2σ, but no diffusive regime: not a D, no bound
    assert caged["D"] is None and "D_upper" not in caged and fit_value(caged) == (3e-5, 1e-5)
    assert all(np.isnan(fit_value({})))
    old = {"D": -2e-8, "D_err": 5e-8, "fit_range_ok": False}  # a summary written before the bound
    new = {**low, "fit_range_ok": False}
    assert diffusion_cell(old) == diffusion_cell(new) == "consistent with zero (&lt; 1e-07) †"
    assert all(v is None or v >= 0 for k, v in new.items() if k in ("D", "D_upper"))


def test_summary_of_an_earlier_version_reports_the_same():
    """Summaries written before the fit range was so called name it window: the report reads both."""
    from superionic.report import sections
    from superionic.report.format import diffusion_cell

    new = {"D": 1e-5, "D_err": 1e-6, "fit_range_ok": False, "fit_range_fs": [100.0, 900.0]}
    old = {"D": 1e-5, "D_err": 1e-6, "window_ok": False, "fit_window_fs": [100.0, 900.0]}
    assert diffusion_cell(old) == diffusion_cell(new) and diffusion_cell(new).endswith("†")
    results = {"T600K": {"diffusion": {"Li": new}, "duration_ps": 10.0}}
    results_old = {"T600K": {"diffusion": {"Li": old}, "duration_ps": 10.0}}
    assert sections.key_results(results_old, "Li") == sections.key_results(results, "Li")
    enh = {
        "T600K-frozen-host": {
            "temperature_K": 600.0,
            "protocol": "frozen-host",
            "D_free": 2e-5,
            "D_free_err": 1e-6,
            "D_suppressed": 1e-5,
            "D_suppressed_err": 1e-6,
            "ratio": 2.0,
            "ratio_err": 0.2,
        }
    }
    for key in ("fit_ranges_diffusive", "windows_diffusive"):
        row = {**enh["T600K-frozen-host"], key: False}
        assert "†" in sections.phonon_enhancement({"phonon_enhancement": {"x": row}}, results, "Li")
    # LLZO on llzo-snap v9, 600 K: neither run diffusive; the free run's fitted slope is shown, marked, not as a D
    caged = {
        "temperature_K": 600.0,
        "protocol": "frozen-host",
        "D_free": None,
        "D_free_err": None,
        "D_free_fit": 2.27e-6,
        "D_free_fit_err": 4.1e-7,
        "D_suppressed": None,
        "D_suppressed_err": None,
        "D_suppressed_fit": 1.66e-8,
        "D_suppressed_fit_err": 6.5e-8,
        "ratio": 137.0,
        "ratio_err": 536.0,
        "fit_ranges_diffusive": False,
    }
    text = sections.phonon_enhancement({"phonon_enhancement": {"x": caged}}, results, "Li")
    assert "<td>2.27e-06 ± 4.1e-07 †</td>" in text and "<td>consistent with zero (&lt; 1.5e-07)</td>" in text
    plain = sections.phonon_enhancement({"phonon_enhancement": enh}, results, "Li")
    assert "<td>2e-05 ± 1e-06</td>" in plain and "<td>1e-05 ± 1e-06</td>" in plain
    # the potential's own ratio against its teacher's (its card's frozen-host check) is shown beside the table
    check = {
        "card": "x-snap-v1.validation.json",
        "temperature_K": 600.0,
        "ps": 10.0,
        "teacher": "chgnet",
        "teacher_runs": 4,
        "student_runs": 4,
        "enhancement": {"Li": {"teacher": 3.12, "teacher_err": 0.97, "student": 2.40, "student_err": 0.79}},
    }
    text = sections.phonon_enhancement({"phonon_enhancement": enh, "potential_frozen_host_check": check}, results, "Li")
    assert "x-snap-v1.validation.json): D_free/D_frozen at 600 K" in text
    assert "Li: teacher (chgnet, 4 runs) 3.12 ± 0.97, this potential (4 runs) 2.4 ± 0.79" in text


def test_the_report_shows_the_cage_to_cage_arrhenius_fit(tmp_path):
    from superionic.analysis.arrhenius import arrhenius
    from superionic.report.sections import arrhenius as arrhenius_section
    from superionic.results import save_dataset

    (tmp_path / "analysis").mkdir()
    t = np.array([550.0, 700.0])
    save_dataset(
        arrhenius(t, 1e-3 * np.exp(-0.25 / (8.617e-5 * t)), 1e-6 * np.ones(2)),
        tmp_path / "analysis" / "arrhenius_cage.nc",
    )
    cage = {
        "temperatures_K": [550.0, 700.0],
        "cage_changes": [14, 31],
        "unresolved_K": [400.0],
        "E_a": 0.25,
        "E_a_err": 0.05,
        "D0": 1e-3,
        "D0_err": 5e-4,
        "D_300K": 6.3e-8,
        "D_300K_err": 3e-8,
        "D_300K_extrapolated": True,
        "sigma_NE_300K": 9.8,
        "sigma_NE_300K_err": 4.6,
    }
    text = arrhenius_section(tmp_path, {"arrhenius_cage": cage}, "Li")  # no plain-MSD fit (a D ≤ 0, say)
    assert text.startswith("<h2>Arrhenius</h2><h3>From the cage-to-cage D of Li</h3>")
    assert arrhenius_section(tmp_path, {}, "Li") == ""
    plain = {"E_a": 0.2, "E_a_err": 0.02, "D0": 1e-3, "D0_err": 1e-4, "D_300K": 1e-7, "D_300K_err": 2e-8}
    text = arrhenius_section(tmp_path, {"arrhenius": plain, "arrhenius_cage": cage}, "Li")
    assert "cage-to-cage D of Li" in text and "550 K (14 cage changes), 700 K (31 cage changes)" in text
    assert "0.25 ± 0.05 eV" in text and "9.8 ± 4.6 mS/cm" in text and "not in this fit: 400 K" in text
    assert text.count("<img") == 1  # the cage fit's plot (no plain-MSD arrhenius.nc here)


def test_the_report_shows_the_cage_change_rate_fit(tmp_path):
    """The ordered 416-atom cell on li6ps5cl-pbe-d3-snap: 0, 0, 19 and 51 cage changes; the section gives the fit of
    `rate_arrhenius` (E_a, Γ(300 K) ×/÷ its factor) with each run's count and exposure."""
    from superionic.report.sections import arrhenius as arrhenius_section
    from superionic.workflow.study import _cage_rate_arrhenius

    runs = {
        f"T{t}K": {
            "temperature_K": t,
            "protocol": "free",
            "duration_ps": 25.0,
            "cage_diffusion": {"cage_changes": n, "ions": 192},
        }
        for t, n in ((400, 0), (500, 0), (600, 19), (700, 51))
    }
    fit = _cage_rate_arrhenius(runs, "Li")
    text = arrhenius_section(tmp_path, {"arrhenius_cage_rate": fit}, "Li")
    assert text.startswith("<h2>Arrhenius</h2><h3>From the cage-change rate of Li</h3>")
    assert "0.498 ± 0.077 eV" in text and "400 K: 0 in 4800 ion·ps" in text and "×/÷ 5.2 (<b>extrapolated</b>)" in text
