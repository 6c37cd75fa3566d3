"""`superionic screen`: two small materials on the local Parsl executor, the descriptor table, rank statistics."""

import json
import subprocess
import sys

import numpy as np
import pytest
from scipy.stats import spearmanr

from superionic.errors import InputError
from superionic.potentials.lammps_potentials import lammps_available
from superionic.workflow.screen import ScreenConfig, descriptors, load_screen, spearman_bootstrap

SCREEN = """
name: two-small
output: {out}
study:
  potential: li6ps5cl-snap
  temperatures: [700, 900]
  md: {{dt: 2.0, steps: 1500, stride: 5, equilibration_steps: 200, seed: 0}}
  protocols: [free]
  analyses: [vdos, diffusion]
  execution: {{executor: local, workers: 2}}
materials:
  - {{material: Li6PS5Cl}}
  - {{material: beta-Li3PS4, supercell: 1x1x2, label: b-Li3PS4}}
"""


@pytest.mark.skipif(not lammps_available(), reason="needs the LAMMPS engine")
def test_a_screen_of_two_materials_runs_and_tabulates(tmp_path):
    path = tmp_path / "screen.yaml"
    path.write_text(SCREEN.format(out=tmp_path / "out"))
    cmd = [sys.executable, "-m", "superionic", "screen", str(path)]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr + res.stdout
    done = json.loads((tmp_path / "out" / "screen.json").read_text())
    rows = {r["label"]: r for r in done["rows"]}
    assert set(rows) == {"Li6PS5Cl", "b-Li3PS4"} and done["failed"] == []
    for label, r in rows.items():
        summary = json.loads((tmp_path / "out" / label / "summary.json").read_text())
        # the row is the study's own numbers, at the lowest temperature of the ladder
        li = summary["results"]["T700K"]["diffusion"]["Li"]
        assert r["T_rank_K"] == 700.0 and r["D"] == li["D"] and r["D_err"] == li["D_err"]
        arr = summary["results"]["series"]["arrhenius"]
        if arr["all_fit_ranges_diffusive"]:
            assert r["E_a"] == arr["E_a"]
        else:  # 3 ps runs may lack a diffusive regime: then no E_a, no extrapolation (‡ in the report)
            assert np.isnan(r["E_a"]) and np.isnan(r["D_300K"]) and np.isnan(r["sigma_300K"])
        assert r["band_centre"] == summary["results"]["T700K"]["vdos"]["Li"]["band_centre"]
        # σ_NE(300 K) follows D(300 K) with the carrier density of the study: σ ∝ n D / T
        cond = summary["results"]["T700K"]["conductivity"]
        if arr["all_fit_ranges_diffusive"] and li["D"] is not None:
            assert np.isclose(r["sigma_300K"], cond["sigma_NE"] / li["D"] * 700 / 300 * r["D_300K"])
    # two materials carry no rank correlation: said so, not a number
    assert all(c["n"] <= 2 and not np.isfinite(c["rho"]) for c in done["rank_correlations"].values())
    page = (tmp_path / "out" / "screen.html").read_text()
    assert "Spearman" in page and "b-Li3PS4/report.html" in page
    # a second run, into the same folder given by --out, reuses every finished run (cached studies): no MD
    res = subprocess.run(cmd + ["--out", str(tmp_path / "out")], capture_output=True, text=True, timeout=600)
    assert res.returncode == 0 and json.loads((tmp_path / "out" / "screen.json").read_text())["rows"] == done["rows"]


def test_spearman_and_its_bootstrap():
    rng = np.random.default_rng(0)
    x = rng.normal(size=12)
    y = x + rng.normal(scale=0.5, size=12)
    c = spearman_bootstrap(x, y, n_boot=500)
    assert np.isclose(c["rho"], spearmanr(x, y).statistic) and c["low"] < c["rho"] < c["high"]
    mono = spearman_bootstrap(np.arange(6.0), np.exp(np.arange(6.0)), n_boot=200)
    assert np.isclose(mono["rho"], 1.0) and np.isclose(mono["low"], 1.0)
    # values that agree within their σ have no fixed order: the interval widens, ρ itself does not change
    x4 = np.arange(4.0)
    sure = spearman_bootstrap(x4, x4, n_boot=300)
    loose = spearman_bootstrap(x4, x4, n_boot=300, y_err=np.full(4, 3.0))
    assert sure["rho"] == loose["rho"] and np.isclose(sure["low"], 1.0) and loose["low"] < 0.5
    few = spearman_bootstrap([1.0, 2.0, np.nan], [3.0, 1.0, 2.0])
    assert few["n"] == 2 and np.isnan(few["rho"]) and "3 materials" in few["why"]


def test_screen_file_errors_name_the_key(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text("materials:\n  - {material: Li6PS5Cl}\nstudy: {temperatures: [-5]}\n")
    with pytest.raises(InputError, match="screen material Li6PS5Cl: study.temperatures"):
        load_screen(p)
    p.write_text("materials: []\n")
    with pytest.raises(InputError, match="materials"):
        load_screen(p)
    same = ScreenConfig(materials=[{"material": "Li6PS5Cl"}, {"material": "Li6PS5Cl"}])
    with pytest.raises(InputError, match="both labelled"):
        same.studies()


def test_descriptors_never_guess_a_missing_number():
    summary = {
        "config": {"name": "x", "material": "M", "temperatures": [600.0], "mobile_species": "Li"},
        "results": {
            "T600K": {
                "protocol": "free",
                "temperature_K": 600.0,
                "diffusion": {"Li": {"D": 1e-5, "D_err": 1e-6, "fit_range_ok": True}},
                "vdos": {"Li": {"g0": 0.01, "g0_err": 0.001, "g0_resolved": False, "law": "unresolved"}},
            }
        },
    }
    row = descriptors(summary)
    assert row["D"] == 1e-5 and row["D_diffusive"]
    for k in ("g0", "exponent", "E_a", "D_300K", "sigma_300K", "enhancement", "overdamped", "overdamped_acoustic"):
        assert np.isnan(row[k]), k  # unresolved or not measured: NaN, not a value
    # with the lattice stage: the overdamped fraction and f_u of the free run at the ranking temperature
    summary["lattice"] = {
        "runs": {
            "T500K": {"temperature_K": 500.0, "nmd": {"overdamped_fraction": 0.9, "overdamped_fraction_err": 0.1}},
            "T600K": {
                "temperature_K": 600.0,
                "nmd": {
                    "overdamped_fraction": 0.25,
                    "overdamped_fraction_err": 0.05,
                    "segment_ps": 3.125,
                    "follow_hops": True,
                    "bands": [{"modes": 30, "undecided": 6}, {"modes": 10, "undecided": 4}],
                },
                "inm": {"f_u": 0.04, "f_u_err": 0.01},
                "acoustic": {"overdamped_fraction": 0.5, "overdamped_fraction_err": 0.12, "undecided_fraction": 0.4},
            },
        }
    }
    row = descriptors(summary)
    assert (row["overdamped"], row["overdamped_err"], row["f_u"], row["f_u_err"]) == (0.25, 0.05, 0.04, 0.01)
    assert row["overdamped_undecided"] == 10 / 40  # undecided verdicts over all modes of the bands
    assert (row["overdamped_segment_ps"], row["overdamped_follow_hops"]) == (3.125, True)
    assert (row["overdamped_acoustic"], row["overdamped_acoustic_err"], row["overdamped_acoustic_undecided"]) == (
        0.5,
        0.12,
        0.4,
    )
    # an Arrhenius fit through D without a diffusive regime (t-Na3PS4 at 600/700 K) gives no E_a, no D(300 K)
    arr = {"E_a": 0.49, "E_a_err": 0.11, "D_300K": 4e-10, "D_300K_err": 1e-9, "all_fit_ranges_diffusive": True}
    summary["results"]["series"] = {"arrhenius": arr}
    assert descriptors(summary)["E_a"] == 0.49
    arr["all_fit_ranges_diffusive"] = False
    row = descriptors(summary)
    assert np.isnan(row["E_a"]) and np.isnan(row["D_300K"]) and row["arrhenius_diffusive"] is False
    # a Li argyrodite's cage-to-cage fit is preferred, with its own σ(300 K)
    cage = {"E_a": 0.3, "E_a_err": 0.05, "D_300K": 2e-8, "D_300K_err": 1e-8}
    summary["results"]["series"]["arrhenius_cage"] = {**cage, "sigma_NE_300K": 3.1, "sigma_NE_300K_err": 1.5}
    row = descriptors(summary)
    assert (row["E_a"], row["D_300K"], row["sigma_300K"], row["sigma_300K_err"]) == (0.3, 2e-8, 3.1, 1.5)
    assert row["arrhenius_from"] == "cage MSD" and row["arrhenius_diffusive"] is True
    with pytest.raises(InputError, match="no free run at the ranking temperature 500"):
        descriptors(summary, 500.0)


def test_report_leaves_out_descriptors_no_study_measured(tmp_path):
    from superionic.report.screen import write_screen_report
    from superionic.workflow.screen import rank_correlations

    nan = float("nan")
    base = {"mobile": "Li", "T_rank_K": 600.0, "D_diffusive": True, "E_a": 0.2, "E_a_err": 0.02}
    rows = [
        {**base, "label": f"m{i}", "D": d, "D_err": 0.1 * d, "overdamped": nan, "overdamped_err": nan}
        for i, d in enumerate((1e-5, 2e-5, 4e-5))
    ]
    page = write_screen_report(tmp_path, "s", rows, rank_correlations(rows, 100), []).read_text()
    assert "E_a" in page and "overdamped" not in page and "f_u" not in page
    rows[0].update(overdamped=0.3, overdamped_err=0.05, overdamped_undecided=0.25)
    rows[1].update(overdamped=0.0, overdamped_err=0.002)
    page = write_screen_report(tmp_path, "s", rows, rank_correlations(rows, 100), []).read_text()
    assert "overdamped fraction (NMD)" in page and "0.3 ± 0.05 (25 % undecided)" in page
    assert "segment" in page and "not recorded for these runs" in page
    rows[0]["overdamped_segment_ps"] = nan  # a summary without it: not recorded, never "nan ps"
    page = write_screen_report(tmp_path, "s", rows, rank_correlations(rows, 100), []).read_text()
    assert "not recorded for these runs" in page and "nan ps" not in page
    # the settings the verdicts depend on are named, and a mixture is called out
    rows[0].update(overdamped_segment_ps=3.125, overdamped_follow_hops=True)
    rows[1].update(overdamped_segment_ps=3.125, overdamped_follow_hops=True)
    page = write_screen_report(tmp_path, "s", rows, rank_correlations(rows, 100), []).read_text()
    assert "segment 3.12 ps, hops followed." in page
    rows[1].update(overdamped_segment_ps=1.25, overdamped_follow_hops=False)
    page = write_screen_report(tmp_path, "s", rows, rank_correlations(rows, 100), []).read_text()
    assert "segment 1.25, 3.12 ps, hops followed in some runs only: the fractions were measured under" in page
    # a fraction cannot be negative: none observed is a bound, not "0 ± σ"
    assert "consistent with zero (&lt; 0.004)" in page
    assert "host acoustic" not in page
    rows[2].update(overdamped_acoustic=0.48, overdamped_acoustic_err=0.14, overdamped_acoustic_undecided=0.54)
    page = write_screen_report(tmp_path, "s", rows, rank_correlations(rows, 100), []).read_text()
    assert "overdamped fraction (host acoustic)" in page and "0.48 ± 0.14 (54 % undecided)" in page


def test_a_material_on_its_own_ladder_is_not_ranked_with_the_others():
    """A halide that melts below the shared ladder runs at its own temperatures: its row says at which, and its D
    (measured at another temperature) stays out of the rank correlations."""
    cfg = ScreenConfig(
        study={"temperatures": [600, 700]},
        materials=[
            {"material": "Li6PS5Cl"},
            {"material": "LiAlCl4", "temperatures": [350, 400], "rank_temperature": 400},
        ],
    )
    (_, shared), (_, own) = cfg.studies()
    assert shared.temperatures == [600.0, 700.0] and own.temperatures == [350.0, 400.0]
    assert [cfg.rank_temperature_of(e) for e in cfg.materials] == [None, 400.0]
    odd = ScreenConfig(materials=[{"material": "Li6PS5Cl", "rank_temperature": 400}])
    with pytest.raises(InputError, match="rank_temperature needs its own temperatures"):
        odd.rank_temperature_of(odd.materials[0])
    from superionic.workflow.screen import rank_correlations

    rows = [
        {"T_rank_K": 600.0, "D_diffusive": True, "D": d, "D_err": 0.05 * d, "E_a": e, "E_a_err": 0.001}
        for d, e in ((1e-5, 0.3), (2e-5, 0.2), (4e-5, 0.1))
    ]
    assert rank_correlations(rows, 200)["E_a"]["rho"] == pytest.approx(-1.0)
    # a fourth material at 400 K with the highest D would break the order: it is left out, not ranked
    rows.append({"T_rank_K": 400.0, "D_diffusive": True, "D": 1e-4, "D_err": 1e-6, "E_a": 0.5, "E_a_err": 0.001})
    c = rank_correlations(rows, 200, t_rank=600.0)["E_a"]
    assert c["n"] == 3 and c["rho"] == pytest.approx(-1.0)
    assert rank_correlations(rows, 200)["E_a"]["n"] == 3  # default: the most common ranking temperature


def test_an_own_ladder_that_includes_the_ranking_temperature_is_ranked(tmp_path):
    """α-AgI on its own ladder [500, 600] ranked at 600 K beside materials ranked at 600 K: its D counts in ρ and in
    the figure, unmarked; a halide ranked at 400 K is marked § and left out of both."""
    from superionic.report.screen import write_screen_report
    from superionic.workflow.screen import rank_correlations, ranked, shared_rank_temperature

    rows = [
        {"label": f"m{i}", "mobile": "Li", "T_rank_K": 600.0, "D_diffusive": True, "D": d, "D_err": 0.05 * d}
        | {"E_a": e, "E_a_err": 0.001, "own_ladder": False}
        for i, (d, e) in enumerate(((1e-5, 0.3), (2e-5, 0.2)))
    ]
    rows.append(
        {"label": "AgI", "mobile": "Ag", "T_rank_K": 600.0, "D_diffusive": True, "D": 4e-5, "D_err": 2e-6}
        | {"E_a": 0.1, "E_a_err": 0.001, "own_ladder": True}
    )
    rows.append(
        {"label": "LiAlCl4", "mobile": "Li", "T_rank_K": 400.0, "D_diffusive": True, "D": 1e-4, "D_err": 1e-6}
        | {"E_a": 0.5, "E_a_err": 0.001, "own_ladder": True}
    )
    assert shared_rank_temperature(rows) == 600.0
    assert [ranked(r, 600.0) for r in rows] == [True, True, True, False]
    corr = rank_correlations(rows, 200)
    assert corr["E_a"]["n"] == 3 and corr["E_a"]["rho"] == pytest.approx(-1.0)
    page = write_screen_report(tmp_path, "s", rows, corr, []).read_text()
    assert "(at 400 K) §" in page and "(at 600 K) §" not in page


LATTICE_SCREEN = """
name: lattice
output: {out}
study:
  temperatures: [600]
  md: {{dt: 2.0, steps: 1500, stride: 5, equilibration_steps: 200, seed: 0}}
  protocols: [free]
  analyses: [vdos, diffusion, lattice]
  lattice: {{inm_snapshots: 2, heat_capacity: false}}
  execution: {{executor: local, workers: 1}}
materials:
  - {{material: Na3PS4, supercell: 1x1x1, potential: na3ps4-snap, mobile_species: Na}}
"""


@pytest.mark.skipif(not lammps_available(), reason="needs the LAMMPS engine")
def test_a_screen_with_the_lattice_stage_fills_the_overdamped_and_f_u_columns(tmp_path):
    """The real lattice stage's numbers reach the screen's row (not only a hand-written summary)."""
    path = tmp_path / "screen.yaml"
    path.write_text(LATTICE_SCREEN.format(out=tmp_path / "out"))
    res = subprocess.run(
        [sys.executable, "-m", "superionic", "screen", str(path)], capture_output=True, text=True, timeout=600
    )
    assert res.returncode == 0, res.stderr + res.stdout
    (row,) = json.loads((tmp_path / "out" / "screen.json").read_text())["rows"]
    run = json.loads((tmp_path / "out" / "Na3PS4" / "summary.json").read_text())["lattice"]["runs"]["T600K"]
    nmd, inm = run["nmd"], run["inm"]
    # a fraction of the 48 - 3 fitted modes, and its binomial error; f_u, the mean over 2 snapshots
    assert nmd["fitted"] == 45 and np.isclose(nmd["overdamped_fraction"], nmd["overdamped"] / nmd["fitted"])
    assert (row["overdamped"], row["overdamped_err"]) == (nmd["overdamped_fraction"], nmd["overdamped_fraction_err"])
    assert (row["f_u"], row["f_u_err"]) == (inm["f_u"], inm["f_u_err"])
    assert 0 <= row["overdamped"] <= 1 and 0 <= row["f_u"] <= 1 and row["overdamped_err"] > 0
    page = (tmp_path / "out" / "screen.html").read_text()
    assert "overdamped fraction (NMD)" in page and "unstable INM fraction f_u" in page
    ac = run["acoustic"]  # the host (P, S) of Na3PS4 at the smallest |Q|: a fraction of its weighted rows
    assert ac["species"] == ["P", "S"] and (row["overdamped_acoustic"], row["overdamped_acoustic_err"]) == (
        ac["overdamped_fraction"],
        ac["overdamped_fraction_err"],
    )
    assert 0 <= row["overdamped_acoustic"] <= 1 and "host acoustic" in page
