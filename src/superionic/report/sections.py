"""The sections of the HTML report, one function each, in the order the report shows them.

Each function takes the parts of summary.json it needs (and the study folder, where it embeds figures
from analysis/*.nc) and returns an HTML fragment; "" when the study has nothing for that section.
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import xarray as xr

from ..results import fit_value, positive_text, protocol_label, summary_get
from .figures import sqe_overview_figure, vdos_figure
from .format import diffusion_cell, exponent_cell, fmt, g0_cell, img, pm, resolved_cell, table

FOOTNOTES = (
    "<p class='note'>† the MSD is not yet linear in t on the fit range (log–log slope outside "
    "0.7–1.3 or the random-walk noise model rejected): the run is too short for this species, the value "
    "is indicative only (for g(0): positive on the lag window, but not yet confirmed as diffusion by the MSD). ‡ g(0) &lt; x: g(0) is consistent with zero (not diffusive at this precision) and x "
    "is its 2σ upper bound; 'unresolved' law: the low-frequency exponent cannot decide between linear "
    "and Debye (too short a run, a fit range below the lowest phonon of the cell, or a fit on a bound; hover "
    "for the reason). 'not resolved (±σ)': the 1σ error exceeds half the value, with the run length that "
    "would resolve it.</p>"
)


def load_analysis(out: Path, kind: str) -> dict[str, xr.Dataset]:
    """out/analysis/<label>_<kind>.nc by run label, in order of temperature."""
    found = {}
    paths = [p for p in (out / "analysis").glob(f"*_{kind}.nc") if p.name.split("_", 1)[1] == f"{kind}.nc"]
    for p in sorted(paths, key=lambda p: float(p.name[1:].split("K")[0])):
        found[p.name.split("_")[0]] = xr.load_dataset(p, engine="h5netcdf")
    return found


def header(cfg: dict, pot: dict) -> str:
    """Title, material, potential and MD settings, and the caveat on universal potentials."""
    return "".join(
        [
            f"<h1>superionic study: {html.escape(cfg['name'])}</h1>",
            f"<p>{html.escape(cfg['material'])} ({html.escape(cfg['supercell'])} cell), potential "
            f"<b>{html.escape(str(pot.get('name')))}</b> {html.escape(str(pot.get('version') or ''))} — "
            f"{html.escape(str(pot.get('source')))}. Temperatures: "
            f"{', '.join(fmt(t) for t in cfg['temperatures'])} K; "
            f"NVT Langevin, dt = {fmt(cfg['md']['dt'])} fs, {cfg['md']['steps']} production steps "
            + (
                f"({cfg['md']['suppressed_steps']} with a suppressed host) "
                if cfg["md"].get("suppressed_steps")
                else ""
            )
            + f"(+{cfg['md']['equilibration_steps']} equilibration), frame every {cfg['md']['stride']} steps.</p>",
            "<p class='note'>Results from a universal (foundation) potential are model results: such potentials "
            "are systematically soft (phonon frequencies and barriers underestimated). Short runs give large "
            "statistical uncertainty; the error bars below say how large.</p>",
        ]
    )


def failed_runs(failed: list[dict]) -> str:
    """Runs that failed (MD or analysis), with stage and reason: they are not in the results below."""
    if not failed:
        return ""
    return (
        "<h2>Failed runs</h2><ul>"
        + "".join(
            f"<li><b>{html.escape(str(f.get('label')))}</b> ({html.escape(str(f.get('stage')))}): "
            f"{html.escape(str(f.get('reason')))}</li>"
            for f in failed
        )
        + "</ul>"
    )


def findings(found: dict) -> str:
    """The first section: the seed's claims, this study's numbers, verdicts."""
    if not found:
        return ""
    colour = {
        "reproduced": "#1a7f37",
        "partly": "#9a6700",
        "not reproduced": "#cf222e",
        "not resolved": "#57606a",
        "not measured": "#57606a",
        "measured": "#0969da",
    }
    rows = [
        [
            f"<span title='{html.escape(r['rule'])}'>{html.escape(r['claim'])}</span>",
            html.escape(r["seed"]),
            html.escape(r["ours"]),
            f"<b style='color:{colour.get(r['verdict'], '#222')}'>{html.escape(r['verdict'])}</b>",
        ]
        for r in found["rows"]
    ]
    return (
        "<h2>What this study found</h2>"
        + table(["claim of the seed study (Ding et al. 2025)", "seed", "this study (1σ)", "verdict"], rows).replace(
            "<table>", "<table class='findings'>", 1
        )
        + "<p class='note'>Verdicts follow fixed rules (hover a claim to read its rule; "
        "docs/reproduction.md); nothing is tuned to the published values. The seed's 'liquid-like' VDOS is "
        "g(0) &gt; 0 <i>and</i> a linear law together.</p>"
    )


def _sigma_cell(c: dict, key: str, length) -> str:
    """σ, σ_NE or the Haven ratio of a run's conductivity entry; a fit whose carriers have no diffusive regime is no
    conductivity.
    """
    if c.get(key) is None and c.get("from_diffusive_regime") is False:
        return "– (no diffusive regime)"
    v, e = fit_value(c, key)
    if key == "haven_ratio" and c.get(key) is None and np.isfinite(v):
        return html.escape(f"not resolved (fit {v:.2g} ± {e:.2g}; σ or σ_NE is not resolved)")
    return resolved_cell(v, e, length)


def key_results(results: dict, mobile: str) -> str:
    """One row per run for the mobile species: D*, σ, σ_NE, Haven ratio, g(0), exponent, VDOS class."""
    rows = []
    for label, r in results.items():
        d = (r.get("diffusion") or {}).get(mobile, {})
        c = r.get("conductivity") or {}
        v = (r.get("vdos") or {}).get(mobile, {})
        length = r.get("duration_ps")
        rows.append(
            [
                label,
                fmt(length),
                diffusion_cell(d),
                _sigma_cell(c, "sigma", length),
                _sigma_cell(c, "sigma_NE", length),
                _sigma_cell(c, "haven_ratio", length),
                g0_cell(v),
                exponent_cell(v),
                html.escape(str(v.get("classification", "–"))),
            ]
        )
    return (
        f"<h2>Key results for {html.escape(mobile)}</h2>"
        + table(
            [
                "run",
                "length (ps)",
                "D* (cm²/s)",
                "σ (mS/cm)",
                "σ_NE (mS/cm)",
                "Haven ratio",
                "g(0) (1/THz)",
                "low-ω exponent n",
                "VDOS class",
            ],
            rows,
        )
        + "<p class='note'>D* from a generalised-least-squares fit of the MSD with its correlated "
        "covariance (1σ); σ from the charge MSD, σ_NE = n q² D*/k_BT (Nernst–Einstein). "
        "g(0): the windowed Green–Kubo value of the VDOS at ν = 0 (D = g(0)⟨v²⟩/12), resolved when above "
        "3σ, above what the lag window carries from a spectrum vanishing at 0, and confirmed by a diffusive "
        "MSD; n: g − g(0) ∝ νⁿ fitted (forward-modelled, g ≥ 0) above twice the lowest phonon of the cell "
        "(block bootstrap, 1σ); n ≈ 2 Debye solid, n ≈ 1 linear; class: liquid-like = g(0) &gt; 0 and "
        "linear, diffusive = g(0) &gt; 0 only (docs/vdos.md).</p>" + FOOTNOTES
    )


def _run_d(entry: dict, key: str) -> str:
    """One run's D (cm²/s) of an enhancement row: † where the number is the fit of an MSD without a diffusive regime
    (its `key` is None and only `key`_fit is stored), as in the diffusion table.
    """
    value, err = fit_value(entry, key)
    text = positive_text(value, err)
    return text + " †" if entry.get(key) is None and value > 2.0 * err else text


def phonon_enhancement(series: dict, results: dict, mobile: str) -> str:
    """D free / D suppressed per suppressed run, and at 300 K from the Arrhenius fits of both series."""
    enh = series.get("phonon_enhancement")
    if not enh:
        return ""
    rows = [
        [
            html.escape(k),
            html.escape(protocol_label(v, mean_reference=True)),
            fmt(v["temperature_K"]),
            html.escape(_run_d(v, "D_free")),
            html.escape(_run_d(v, "D_suppressed")),
            (
                f"≥ {v['ratio_lower']:.3g} (D suppressed &lt; {v['D_suppressed_upper']:.2g}) †"
                if "ratio_lower" in v
                else resolved_cell(v["ratio"], v["ratio_err"], (results.get(k) or {}).get("duration_ps"))
                + ("" if summary_get(v, "fit_ranges_diffusive") else " †")
            ),
            (
                f"{resolved_cell(v['ratio_cage'], v['ratio_cage_err'])} ({fmt(v['D_free_cage'])} / "
                f"{fmt(v['D_suppressed_cage'])}; {v['cage_changes'][0]} / {v['cage_changes'][1]} cage changes)"
                if "ratio_cage" in v
                else "–"
            ),
        ]
        for k, v in enh.items()
    ]
    for name, v in (series.get("phonon_enhancement_300K") or {}).items():
        rows.append(
            [
                "Arrhenius fits",
                html.escape(name),
                "300" + (" (extrapolated)" if v["extrapolated"] else ""),
                pm({"D": v["D_free"], "D_err": v["D_free_err"]}, "D"),
                pm({"D": v["D_suppressed"], "D_err": v["D_suppressed_err"]}, "D"),
                resolved_cell(v["ratio"], v["ratio_err"]) if v.get("estimator") != "cage-to-cage MSD" else "–",
                resolved_cell(v["ratio"], v["ratio_err"]) if v.get("estimator") == "cage-to-cage MSD" else "–",
            ]
        )
    return (
        "<h2>Phonon-induced enhancement of diffusion</h2>"
        + table(
            [
                "run",
                "protocol",
                "T (K)",
                f"D {mobile} free (cm²/s)",
                f"D {mobile} suppressed (cm²/s)",
                "D_free / D_suppressed (MSD)",
                "cage-to-cage D: ratio (D free / D suppressed, cm²/s)",
            ],
            rows,
        )
        + "<p class='note'>Suppression protocols (docs/md.md): frozen host — P, S, Cl held at their "
        "positions of the free run at the same temperature (time average unless another host "
        "reference is named), zero velocity; tethered "
        "host — harmonic springs to those positions; rigid anions — PS4 internal vibrations removed, "
        "rigid-body motion kept. The Li thermostat and temperature are those of the free run. The "
        "seed study reports a ratio of about 10 at ambient temperature. The 300 K rows divide the "
        "Arrhenius fits of both D series (errors in quadrature). A ratio '≥ x' comes from a suppressed "
        "run whose Li MSD is still bending over (caged): the slope of its last fit range, which does not "
        "rise, bounds its D from above (+2σ), and x = (D_free − 2σ)/that bound (docs/diffusion.md). The "
        "cage-to-cage column (argyrodites) divides the D's of the MSD of the cage centres each Li visits: "
        "the bounded motion inside a cage removed, it converges with the inter-cage jumps counted "
        "(σ by bootstrap over ions; docs/diffusion.md).</p>"
        + _potential_check(series.get("potential_frozen_host_check"))
    )


def _potential_check(check: dict | None) -> str:
    """The potential's own D_free/D_frozen against its teacher's (its card's frozen-host check), as a note."""
    if not check:
        return ""
    parts = [
        f"{html.escape(s)}: teacher ({html.escape(str(check['teacher']))}, {check['teacher_runs']} run"
        f"{'s' if check['teacher_runs'] != 1 else ''}) {resolved_cell(e['teacher'], e['teacher_err'])}, this "
        f"potential ({check['student_runs']} runs) {resolved_cell(e['student'], e['student_err'])}"
        for s, e in check["enhancement"].items()
    ]
    return (
        "<p class='note'>The potential against its teacher (its card "
        f"{html.escape(check['card'])}): D_free/D_frozen at {fmt(check['temperature_K'])} K in the distillation's "
        f"cell, the host frozen at a teacher snapshot, {fmt(check['ps'])} ps runs from the host's start — "
        f"{'; '.join(parts)}. A difference between the two carries into the ratios above (docs/distillation.md).</p>"
    )


def _bottleneck_table(mech: dict, mobile: str) -> str:
    rows = []
    for label, m in mech.items():
        b = m.get("bottleneck", {})
        if "skipped" in b or not b:
            rows.append([label] + ["–"] * 6 + [html.escape(b.get("skipped", "not run"))])
            continue
        rows.append(
            [
                label,
                str(b["n_windows"]),
                fmt(b["inradius_mean_A"]),
                fmt(b["breathing_rms_A"]),
                fmt(b["breathing_nu_half_THz"]),
                f"{fmt(b['inradius_shift_at_hops_A'])} ± {fmt(b['inradius_shift_at_hops_err_A'], 2)}",
                f"{b['n_crossings']} (KS D = {fmt(b['ks_statistic'], 2)})",
                "",
            ]
        )
    return table(
        [
            "run",
            "bottleneck windows",
            "<r> (Å)",
            "breathing rms (Å)",
            "ν½ (THz)",
            f"r at {mobile} crossings − <r> (Å)",
            "crossings",
            "note",
        ],
        rows,
    ) + (
        "<p class='note'>Bottleneck windows: triangles of anions shared by face-sharing anion tetrahedra that "
        f"hold {mobile} (periodic Delaunay tessellation of the time-averaged anion framework). r: in-radius "
        "2A/perimeter (A by Heron); breathing rms = std of r; ν½: half of ⟨δr²⟩ lies below this "
        "frequency. A positive shift at crossings means hops happen when the window is open "
        "(bootstrap 1σ; crossings treated as independent). docs/bottleneck.md.</p>"
    )


def _rotation_table(mech: dict, mobile: str) -> str:
    rows = []
    for label, m in mech.items():
        r = m.get("rotations")
        if not r:
            continue
        if "skipped" in r:
            rows.append([label] + ["–"] * 5 + [html.escape(r["skipped"])])
            continue
        h = r.get("hop_correlation", {})
        tau = f"{fmt(r['tau1_ps'])} / {fmt(r['tau2_ps'])}" + (" (extrapolated)" if r["tau_extrapolated"] else "")
        if not r["n_events"]:
            hop = "no reorientations"
        else:
            hop = f"{fmt(h.get('ratio_li_hops'), 2)} ± {fmt(h.get('ratio_err_li_hops'), 2)}" if h else "–"
        rows.append(
            [
                label,
                fmt(r["libration_fraction"], 3),
                fmt(r["mean_angle_deg"]),
                f"{r['n_events']} ({fmt(r['event_rate_per_ps'])} /ps)",
                tau,
                hop,
                "",
            ]
        )
    if not rows:
        return ""
    return table(
        [
            "run",
            "libration fraction (θ < 15°)",
            "mean angle (°)",
            "reorientations",
            "τ₁ / τ₂ (ps)",
            f"{mobile} hops near a rotation: observed / shuffled",
            "note",
        ],
        rows,
    ) + (
        "<p class='note'>Orientation of each anion from its centre→ligand vectors (Kabsch rotation "
        "onto the time-averaged unit, minimum over the tetrahedral symmetry operations); "
        "C_ℓ(t) = ⟨P_ℓ(u(0)·u(t))⟩, τ_ℓ from exponential fits. Rotation–hop correlation: hops "
        "with a reorientation within 0.5 ps and 5 Å, against event times shifted at random "
        "(1 ≈ no correlation; Jun et al., PNAS 2024). docs/rotations.md.</p>"
    )


def mechanism(out: Path, results: dict, mobile: str) -> str:
    """Bottleneck breathing and anion rotations per free run (tables + figures)."""
    from .figures_mechanism import bottleneck_figure, rotation_figure

    mech = {k: r["mechanism"] for k, r in results.items() if r.get("mechanism")}
    if not mech:
        return ""
    parts = ["<h2>Mechanism: bottleneck breathing and anion rotations</h2>"]
    parts.append(_bottleneck_table(mech, mobile))
    parts.append(_rotation_table(mech, mobile))
    for label in mech:
        p = out / "analysis" / f"{label}_bottleneck.nc"
        if p.exists():
            parts.append(img(bottleneck_figure(xr.load_dataset(p, engine="h5netcdf"), label), f"bottleneck {label}"))
        p = out / "analysis" / f"{label}_rotations.nc"
        if p.exists():
            parts.append(img(rotation_figure(xr.load_dataset(p, engine="h5netcdf"), label), f"rotations {label}"))
    return "".join(parts)


def arrhenius(out: Path, series: dict, mobile: str) -> str:
    """E_a, D_0 and D at 300 K from the Arrhenius fits of the free runs (plain MSD; cage-to-cage), with plots."""
    from .figures_diffusion import plot_arrhenius

    arr = series.get("arrhenius")
    cage = _cage_arrhenius(out, series.get("arrhenius_cage"), mobile) + _cage_rate(series.get("arrhenius_cage_rate"))
    if not arr:
        return f"<h2>Arrhenius</h2>{cage}" if cage else ""
    parts = ["<h2>Arrhenius</h2>"]
    parts.append(
        f"<p>E<sub>a</sub> = {resolved_cell(arr['E_a'], arr['E_a_err'], unit='eV')}, "
        f"D<sub>0</sub> = {resolved_cell(arr['D0'], arr['D0_err'], unit='cm²/s')}; "
        f"D({mobile}, 300 K) = {resolved_cell(arr['D_300K'], arr['D_300K_err'], unit='cm²/s')}"
        f"{' — <b>extrapolated</b> beyond the simulated range' if arr.get('D_300K_extrapolated') else ''}."
        "</p>"
    )
    if not summary_get(arr, "all_fit_ranges_diffusive", True):
        parts.append(
            "<p class='note'><b>Caution:</b> at least one D entering this fit comes from a fit range "
            "that is not yet diffusive (†): the activation energy is indicative only.</p>"
        )
    p = out / "analysis" / "arrhenius.nc"
    if p.exists():
        parts.append(img(plot_arrhenius(xr.load_dataset(p, engine="h5netcdf"), label=f"D {mobile}"), "Arrhenius plot"))
    parts.append(cage)
    return "".join(parts)


def _cage_rate(fit: dict | None) -> str:
    """The Poisson fit of the cage-change rate of the free runs (`workflow.study._cage_rate_arrhenius`)."""
    if not fit:
        return ""
    runs = ", ".join(
        f"{t:g} K: {n} in {x:.0f} ion·ps"
        for t, n, x in zip(fit["temperatures_K"], fit["cage_changes"], fit["exposure_ion_ps"])
    )
    extrap = " (<b>extrapolated</b>)" if fit["extrapolated"][0] else ""
    return (
        f"<h3>From the cage-change rate of {html.escape(fit['species'])}</h3>"
        f"<p>E<sub>a</sub> = {resolved_cell(fit['E_a'], fit['E_a_err'], unit='eV')}; rate per ion at 300 K "
        f"{fit['rate'][0]:.2g} ps⁻¹ ×/÷ {fit['rate_factor'][0]:.2g}{extrap}. Cage changes: {runs}.</p>"
        "<p class='note'>Poisson maximum likelihood of the counts, runs without a cage change included; σ from "
        "the Fisher information (approximate with few events). D ≈ Γℓ²/6 needs a jump length ℓ (docs/study.md).</p>"
    )


def _cage_arrhenius(out: Path, arr: dict | None, mobile: str) -> str:
    """The Arrhenius fit of the cage-to-cage D (`workflow.study._cage_arrhenius`), with σ(300 K) and its plot."""
    from .figures_diffusion import plot_arrhenius

    if not arr:
        return ""
    temps = ", ".join(f"{t:g} K ({n} cage changes)" for t, n in zip(arr["temperatures_K"], arr["cage_changes"]))
    sigma = (
        f"; σ<sub>NE</sub>(300 K) = {resolved_cell(arr['sigma_NE_300K'], arr['sigma_NE_300K_err'], unit='mS/cm')} "
        "(Haven ratio 1)"
        if "sigma_NE_300K" in arr
        else ""
    )
    unresolved = ", ".join(f"{t:g} K" for t in arr["unresolved_K"])
    parts = [
        f"<h3>From the cage-to-cage D of {mobile}</h3>",
        f"<p>E<sub>a</sub> = {resolved_cell(arr['E_a'], arr['E_a_err'], unit='eV')}, "
        f"D<sub>0</sub> = {resolved_cell(arr['D0'], arr['D0_err'], unit='cm²/s')}; "
        f"D({mobile}, 300 K) = {resolved_cell(arr['D_300K'], arr['D_300K_err'], unit='cm²/s')}{sigma}"
        f"{' — <b>extrapolated</b> beyond the simulated range' if arr.get('D_300K_extrapolated') else ''}. "
        f"Runs: {temps}.</p>",
        "<p class='note'>The MSD of the cages each ion visits has no motion inside a cage, so it reaches its "
        "long-time slope sooner than the plain MSD, which a short run at low temperature biases high"
        + (f". Not resolved, so not in this fit: {unresolved}." if unresolved else ".")
        + "</p>",
    ]
    p = out / "analysis" / "arrhenius_cage.nc"
    if p.exists():
        ds = xr.load_dataset(p, engine="h5netcdf")
        parts.append(img(plot_arrhenius(ds, label=f"D_cage {mobile}"), "Arrhenius plot of the cage-to-cage D"))
    return "".join(parts)


def vdos(out: Path, results: dict) -> str:
    """VDOS of the free runs, the low-frequency limit per run, and g(0), n, D from g(0), C_v, S_vib."""
    from .figures_vdos import vdos_lowfreq_figure

    vd = load_analysis(out, "vdos")
    if not vd:
        return ""
    parts = ["<h2>Vibrational density of states</h2>"]
    free = {k: v for k, v in vd.items() if "-" not in k}  # suppressed runs lack host species
    parts.append(img(vdos_figure(free or vd), "VDOS"))
    parts.append(
        "<p class='note'>g_α(ν) = 4∫₀^∞ Ẑ_α(t) cos(2πνt) dt from the velocity autocorrelation, "
        "normalised to ∫g dν = 1 per species (ν in THz; 1 THz = 4.136 meV); g(0) = 4mD/(k_BT).</p>"
    )
    for label, ds in vd.items():
        parts.append(f"<h3>{html.escape(label)}: low-frequency limit</h3>")
        parts.append(img(vdos_lowfreq_figure(ds), f"low-frequency VDOS {label}"))
    rows = []
    for label, r in results.items():
        for sp, v in (r.get("vdos") or {}).items():
            rows.append(
                [
                    label,
                    sp,
                    g0_cell(v),
                    exponent_cell(v),
                    html.escape(str(v.get("classification", "–"))),
                    g0_cell(v, "D_from_g0"),
                    fmt(v.get("band_centre")),
                    fmt(v.get("Cv")),
                    fmt(v.get("S_vib")),
                ]
            )
    parts.append(
        table(
            [
                "run",
                "species",
                "g(0) (1/THz)",
                "exponent n",
                "class",
                "D from g(0) (cm²/s)",
                "band centre (meV)",
                "C_v (k_B/atom)",
                "S_vib (k_B/atom)",
            ],
            rows,
        )
    )
    return "".join(parts)


def _why_not_diffusive(v: dict) -> str:
    """'yes', or 'no' with the reason, for the plain-MSD entry `v` of one species."""
    if summary_get(v, "fit_range_ok"):
        return "yes"
    if v.get("bound_to"):
        centres = html.escape(", ".join(v["bound_to"]))
        return f"<b>no</b> ({v['bound_fraction']:.0%} bound to {centres} throughout: reorientation, not diffusion)"
    if v.get("intra_cage"):
        return f"<b>no</b> (only {v['cage_changes']} cage changes: motion inside the cages)"
    return "<b>no</b> (run too short)"


def diffusion(out: Path, results: dict) -> str:
    """MSD plots per run and D per species with its fit range and whether it was diffusive."""
    from .figures_diffusion import plot_msd

    md = load_analysis(out, "diffusion")
    if not md:
        return ""
    cages = load_analysis(out, "cage_diffusion")
    parts = ["<h2>Mean squared displacement and diffusion</h2>"]
    for label, ds in md.items():
        parts.append(f"<h3>{html.escape(label)}</h3>")
        parts.append(img(plot_msd(ds, loglog=True, cage=cages.get(label)), f"MSD {label}"))
    rows = []
    for label, r in results.items():
        for sp, v in (r.get("diffusion") or {}).items():
            w = summary_get(v, "fit_range_fs") or [None, None]
            rows.append(
                [
                    label,
                    sp,
                    diffusion_cell(v),
                    f"{fmt(w[0])}–{fmt(w[1])}",
                    _why_not_diffusive(v),
                ]
            )
        c = r.get("cage_diffusion")
        if c:
            w = c.get("fit_range_fs") or [None, None]
            rows.append(
                [
                    label,
                    f"Li (cage-to-cage, {c['cage_changes']} cage changes)",
                    html.escape(positive_text(*fit_value(c))),
                    f"{fmt(w[0])}–{fmt(w[1])}",
                    "yes" if c["resolved"] else "<b>no</b> (too few cage changes or not linear)",
                ]
            )
    parts.append(table(["run", "species", "D (cm²/s)", "fit range (fs)", "diffusive regime reached"], rows))
    parts.append(
        "<p class='note'>Cage-to-cage rows (Li argyrodites): D from the MSD of the cage centres each Li "
        "visits, which shares the plain MSD's long-time slope without its bounded motion inside a cage "
        "(dotted in the figures; σ by bootstrap over ions; docs/diffusion.md).</p>"
    )
    return "".join(parts)


def neutron(out: Path, neutron_config: dict, mobile: str) -> str:
    """GDOS, F_s(Q,t) and S(Q,E) per run, with the cross sections and resolution used."""
    from .figures_scattering import fs_figure
    from .figures_vdos import gdos_figure

    fq = load_analysis(out, "fqt")
    if not fq:
        return ""
    parts = ["<h2>Neutron scattering</h2>"]
    parts.append(
        f"<p>Cross sections: Sears (1992), isotopes {html.escape(str(neutron_config.get('isotopes', {})))}. "
        "G(E) = Σ c_α (σ_α/m_α) g_α(E) / Σ c_α σ_α/m_α (incoherent approximation, ∫G dE = 1, "
        f"Gaussian resolution {fmt(neutron_config.get('ins_resolution_meV'))} meV FWHM). "
        "F_s,α(Q,t) per species (F_s(Q,0) = 1), F_inc = σ_inc-weighted sum; S(Q,E) its "
        "windowed Fourier transform (1/meV), powder averaged.</p>"
    )
    gd = load_analysis(out, "gdos")
    sqe = load_analysis(out, "sqe")
    for label, ds in fq.items():
        parts.append(f"<h3>{html.escape(label)}</h3>")
        if label in gd:
            parts.append(img(gdos_figure(gd[label]), f"GDOS {label}"))
        if mobile in ds.species.values:
            parts.append(img(fs_figure(ds, species=mobile), f"F_s {label}"))
        parts.append(img(fs_figure(ds), f"F_inc {label}"))
        sq = sqe.get(label)
        if sq is not None:
            parts.append(img(sqe_overview_figure(sq), f"S(Q,E) {label}"))
            parts.append(
                f"<p class='note'>S(Q,E) effective resolution "
                f"{fmt(sq.attrs.get('effective_resolution_fwhm_meV'))} meV FWHM (set by the run "
                "length): compare with backscattering data (µeV) only with ns trajectories.</p>"
            )
    return "".join(parts)


#: bands of the overdamped-fraction table with fewer modes are shown as counts (k/n modes)
MIN_BAND_MODES = 5


def _fraction(v: float | None, err: float | None) -> str:
    """A fraction of counted modes, 'f ± σ' (binomial σ); '–' when nothing was counted."""
    if v is None or not np.isfinite(v):
        return "–"
    return f"{v:.3f} ± {fmt(err, 2)}"


def _law(v: float | None, err: float | None) -> str:
    """A low-ω exponent: 'n ± σ', or 'unresolved' (no modes in the window, no error, or σ > n/2)."""
    if v is None or not np.isfinite(v) or err is None or not np.isfinite(err) or not 0 < err <= 0.5 * abs(v):
        return "unresolved ‡"
    decimals = max(0, 1 - int(np.floor(np.log10(err))))  # the value to its error's two significant digits
    return f"{v:.{decimals}f} ± {err:.{decimals}f}"


def _lattice_file(out: Path, name: str) -> xr.Dataset | None:
    p = out / "analysis" / name
    return xr.load_dataset(p, engine="h5netcdf") if p.exists() else None


def _phonons_part(out: Path, ph: dict, runs: dict) -> list[str]:
    from .figures_lattice import dispersion_dos_figure, harmonic_vs_md_figure

    sc = "×".join(str(ph["supercell_matrix"][i]) for i in (0, 4, 8))
    verdict = (
        "<b>stable</b> (no mode below the threshold)"
        if ph["stable"]
        else f"<b>UNSTABLE</b>: {ph['n_imaginary_modes']} imaginary modes, the lowest at "
        f"{fmt(ph.get('lowest_imaginary_THz'))} THz (drawn below zero in red)"
    )
    g300 = ph.get("harmonic_300K", {})
    parts = [
        "<h3>Harmonic phonons</h3>",
        f"<p>{html.escape(str(ph['formula']))}: the material's unit cell relaxed with the study's potential, "
        f"{sc} supercell ({ph['atoms_supercell']} atoms), {ph['n_displacements']} displaced supercell(s) "
        f"({'reused from' if ph.get('reused') else 'written to'} {html.escape(ph['file'])}): {verdict}. "
        + (
            f"Γ: optical modes {fmt(ph['gamma_optical_min_THz'])}–{fmt(ph.get('gamma_max_THz'))} THz; "
            if ph.get("gamma_optical_min_THz") is not None
            else "Γ: the three acoustic modes only (one atom per primitive cell); "
        )
        + f"∫g dν = {fmt(ph.get('dos_integral'), 4)} (3N = {ph.get('dos_integral_expected')}); harmonic quantum "
        f"C_v(300 K) = {fmt(g300.get('cv_kB_per_atom'))} k_B/atom, S(300 K) = {fmt(g300.get('S_kB_per_atom'))} "
        "k_B/atom.</p>",
    ]
    ds = _lattice_file(out, "phonons.nc")
    if ds is None:
        return parts
    parts.append(img(dispersion_dos_figure(ds), "harmonic dispersion and DOS"))
    order = sorted(runs, key=lambda k: runs[k]["temperature_K"])
    found = [(k, _lattice_file(out, f"{k}_vdos.nc")) for k in order]
    found = [(k, v) for k, v in found if v is not None]
    if found:
        labels = [f"MD {runs[k]['temperature_K']:.0f} K" for k, _ in found]
        fig = harmonic_vs_md_figure(ds, [v for _, v in found], labels=labels)
        parts.append(img(fig, "harmonic DOS beside the MD VDOS at every temperature"))
        parts.append(
            "<p class='note'>Harmonic partial DOS (dashed) beside the MD VDOS of every free run (solid, blue to red "
            "with T); both ∫g dν = 1 per species, ν in THz (1 THz = 4.136 meV). The MD VDOS carries the "
            "anharmonic shifts and widths and, for a diffusing species, g(0) &gt; 0 (docs/phonons.md).</p>"
        )
    return parts


def _nmd_part(out: Path, runs: dict, series: dict) -> list[str]:
    from ..lattice.nmd import nmd_figure

    rows, sets = [], []
    for label, e in runs.items():
        n = e.get("nmd")
        if not n:
            continue
        d = _lattice_file(out, f"{label}_nmd.nc")
        if d is not None:
            sets.append(d)
        rows.append(
            [
                html.escape(label),
                f"{n['modes']} ({n['fitted']} fitted, {n['resolved']} widths resolved)",
                f"{fmt(n['segment_ps'])} / {fmt(n['resolution_fwhm_THz'])}",
                _fraction(n.get("overdamped_fraction"), n.get("overdamped_fraction_err")),
                fmt(n.get("median_gamma_THz")),
                "–"
                if not np.isfinite(n.get("median_relative_shift", np.nan))
                else f"{n['median_relative_shift']:+.1%}",
                html.escape(str(n.get("reference", "–")).split(";")[0]),
            ]
        )
    if not rows:
        return []
    parts = ["<h3>Normal-mode decomposition: linewidths and overdamping</h3>"]
    if sets:
        parts.append(img(nmd_figure(sets), "NMD damping map and overdamped fraction"))
    parts.append(
        table(
            [
                "run",
                "modes",
                "segment (ps) / resolution (THz FWHM)",
                "overdamped fraction (Γ/2 > ν₀)",
                "median Γ (THz)",
                "median ν₀/ν_h − 1",
                "harmonic reference",
            ],
            rows,
        )
    )
    parts.extend(_band_table(series))
    parts.append(
        "<p class='note'>Each harmonic mode of the MD cell (every q it carries) is projected out of the velocities, "
        "its kinetic-energy spectrum fitted with a damped harmonic oscillator: ν₀ the renormalised frequency, Γ the "
        "FWHM (THz), Langevin friction subtracted. Overdamped: Γ/2 &gt; ν₀, above the dashed line Γ = 2ν₀ of the "
        "damping map; widths below a tenth of the resolution are upper bounds (▾), never numbers. Fractions count "
        "the fitted modes per band of harmonic frequency (binomial 1σ).</p>"
    )
    return parts


def _acoustic_part(out: Path, runs: dict) -> list[str]:
    """The host's acoustic modes at the smallest |Q| (lattice.acoustic_damping): verdicts per run and a figure."""
    from ..lattice.acoustic_damping import mode_verdict
    from .figures_lattice import acoustic_damping_figure

    rows, sets = [], []
    for label, e in runs.items():
        a = e.get("acoustic")
        if not a:
            continue
        d = _lattice_file(out, f"{label}_acoustic.nc")
        if d is not None:
            sets.append(d)
        for m in a["modes"]:
            rows.append(
                [
                    html.escape(label),
                    f"{m['q_per_A']:.3f}",
                    m["branch"],
                    str(m["n_vectors"]),
                    html.escape(positive_text(m["nu0_THz"], m["nu0_err_THz"])),
                    html.escape(positive_text(m["gamma_intrinsic_THz"], m["gamma_err_THz"])),
                    html.escape(mode_verdict(m)),
                ]
            )
        rows.append(
            [
                html.escape(label),
                "all",
                "",
                "",
                "",
                "",
                "overdamped fraction "
                + html.escape(positive_text(a["overdamped_fraction"], a["overdamped_fraction_err"]))
                + f", {100 * a['undecided_fraction']:.0f} % undecided"
                + (
                    f" ({100 * a['not_one_line_fraction']:.0f} % not one line, left out)"
                    if a.get("not_one_line_fraction", 0) > 0
                    else ""
                ),
            ]
        )
    if not rows:
        return []
    first = next(e["acoustic"] for e in runs.values() if e.get("acoustic"))
    parts = ["<h3>Host acoustic modes: damping without a reference structure</h3>"]
    if sets:
        parts.append(img(acoustic_damping_figure(sets), "host acoustic damping"))
    parts.append(
        table(["run", "|Q| (Å⁻¹)", "branch", "Q vectors", "ν₀ (THz)", "Γ_int (THz)", "verdict (Γ_int/2 > ν₀)"], rows)
    )
    parts.append(
        "<p class='note'>The momentum current of the host atoms ("
        + html.escape(", ".join(first["species"]))
        + ") at the smallest commensurate |Q| shells, per branch (T1, T2 transverse, L longitudinal), fitted with a "
        "damped harmonic oscillator whose lag window is modelled (Γ is not broadened by the resolution of "
        f"{fmt(first['resolution_fwhm_THz'])} THz FWHM); the Langevin thermostat's Γ_L = "
        f"{fmt(first['thermostat_gamma_THz'])} THz is subtracted. Errors: jackknife over wave vectors and time "
        "blocks; a verdict within 2σ of Γ_int/2 = ν₀ is undecided, and a spectrum of which the fit misses more "
        "than 30 % is not one line (several branches or folded optic modes) and is left out of the fraction. Unlike "
        "the NMD it needs no harmonic reference, so it holds where the mobile ions leave their sites "
        "(docs/acoustic_damping.md).</p>"
    )
    return parts


def _band_table(series: dict) -> list[str]:
    """The overdamped fraction per band of harmonic frequency (THz) and temperature; [] for one temperature."""
    bands: dict[tuple[float, float], dict[float, str]] = {}
    temps = []
    for r in series.get("overdamped_fraction", []):
        temps.append(r["temperature_K"])
        for b in r["bands"]:
            # a band of a few modes is a count, not a fraction with an error as large as itself
            cell = (
                _fraction(b["fraction"], b["fraction_err"])
                if b["modes"] >= MIN_BAND_MODES
                else f"{round(b['fraction'] * b['modes'])}/{b['modes']} modes"
            )
            bands.setdefault(tuple(b["band_THz"]), {})[r["temperature_K"]] = cell
    if not bands or len(temps) < 2:
        return []
    rows = [[f"{fmt(lo)}–{fmt(hi)}"] + [v.get(t, "–") for t in temps] for (lo, hi), v in sorted(bands.items())]
    return [table(["band ν_h (THz)"] + [f"{fmt(t)} K" for t in temps], rows)]


def _inm_part(out: Path, runs: dict, series: dict, mobile: str) -> list[str]:
    from .figures_lattice import inm_figure

    rows, sets = [], []
    for label, e in runs.items():
        m = e.get("inm")
        if not m:
            continue
        d = _lattice_file(out, f"{label}_inm.nc")
        if d is not None:
            sets.append(d)
        srow = next((r for r in series.get("inm", []) if r["temperature_K"] == e["temperature_K"]), {})
        rows.append(
            [
                html.escape(label),
                str(m["n_snapshots"]),
                _fraction(m.get("f_u"), m.get("f_u_err")),
                _law(m.get("exponent_real"), m.get("exponent_real_err")),
                _law(m.get("exponent_imaginary"), m.get("exponent_imaginary_err")),
                html.escape(positive_text(srow.get(f"D_{mobile}"), srow.get(f"D_{mobile}_err"))) if srow else "–",
            ]
        )
    if not rows:
        return []
    parts = ["<h3>Instantaneous normal modes</h3>"]
    if sets:
        parts.append(img(inm_figure(sets, series.get("inm"), mobile), "INM density and f_u(T)"))
    parts.append(
        table(
            ["run", "snapshots", "f_u (± s.e.)", "low-ω n, real branch", "low-ω n, imaginary", f"D {mobile} (cm²/s)"],
            rows,
        )
    )
    parts.append(
        "<p class='note'>Hessians of MD snapshots (3N − 3 modes, translations removed); imaginary frequencies on the "
        "negative axis, ρ in 1/THz with ∫ρ dν = 3N − 3. f_u: share of modes with ν &lt; −0.05 THz, mean ± standard "
        "error over snapshots. n: ρ(|ν|) ∝ |ν|ⁿ on the low-ω window of each branch (bootstrap over snapshots); "
        "‡ unresolved: too few modes in the window or σ &gt; n/2.</p>"
    )
    return parts


def _heat_capacity_part(runs: dict, phonons: dict | None = None) -> list[str]:
    rows = []
    # phonopy leaves the imaginary modes of an unstable cell out of C_v and S: beyond 0.1 % of the mesh's modes
    # (or share unknown) that is not the harmonic value of the material
    ph = phonons or {}
    share = ph.get("imaginary_mode_share")
    unstable = bool(ph) and not ph.get("stable", True) and (share is None or share > 1e-3)
    modes = ph.get("n_imaginary_modes")
    for label, e in runs.items():
        h = e.get("heat_capacity")
        if not h:
            continue
        rows.append(
            [
                html.escape(label),
                resolved_cell(h.get("cv_md_fluctuation"), h.get("cv_md_fluctuation_err")),
                resolved_cell(h.get("cv_md_potential"), h.get("cv_md_potential_err")),
                resolved_cell(h.get("cv_md_dEdT"), h.get("cv_md_dEdT_err")) if "cv_md_dEdT" in h else "–",
                f"not a harmonic value (unstable cell, {modes} imaginary mesh modes left out)"
                if unstable
                else fmt(h.get("cv_harmonic_phonopy")),
                fmt(h.get("cv_vdos_harmonic")),
                fmt(h.get("cv_vdos_2pt")),
                fmt(h.get("cv_md_quantum_corrected")),
                fmt(h.get("S_vib_harmonic")),
                fmt(h.get("S_vib_2pt")),
            ]
        )
    if not rows:
        return []
    return [
        "<h3>Heat capacity and vibrational entropy</h3>",
        table(
            [
                "run",
                "C_v MD, Var E (k_B/atom)",
                "C_v MD, Var E_pot (k_B/atom)",
                "C_v MD, d⟨E⟩/dT (k_B/atom)",
                "C_v harmonic, phonopy (k_B/atom)",
                "C_v VDOS harmonic (k_B/atom)",
                "C_v 2PT (k_B/atom)",
                "C_v MD quantum-corrected (k_B/atom)",
                "S_vib VDOS harmonic (k_B/atom)",
                "S_vib 2PT (k_B/atom)",
            ],
            rows,
        ),
        "<p class='note'>Per atom in units of k_B (× 8.314 for J/(K mol of atoms)). MD values are classical "
        "(block-average 1σ; the classical harmonic limit is (3N − 3)/N with the total momentum held); phonopy, VDOS "
        "and 2PT values are quantum. The quantum-corrected MD C_v adds the 2PT quantum − classical difference. "
        "S_vib of a diffusing species is meaningful only with 2PT (its harmonic value diverges with g(0)). The Var E "
        "route needs a run many times longer than the production thermostat's time 1/γ (the total energy changes "
        "only through it): a value far below the Var E_pot one says the run is too short for it.</p>",
    ]


def _kappa_part(out: Path, runs: dict, series: dict) -> list[str]:
    from ..lattice.heat_transport import kappa_figure
    from .figures_lattice import kappa_temperature_figure

    rows = []
    for label, e in runs.items():
        k = e.get("kappa")
        if not k:
            continue
        rows.append(
            [
                html.escape(label),
                resolved_cell(k.get("kappa_cepstral"), k.get("kappa_cepstral_err")),
                resolved_cell(k.get("kappa_decorrelated"), k.get("kappa_decorrelated_err"))
                if "kappa_decorrelated" in k
                else "–",
                resolved_cell(k.get("kappa_gk"), k.get("kappa_gk_err")),
                fmt(k.get("t_max_ps")),
                str(k.get("n_runs", "–")),
            ]
        )
    if not rows:
        return []
    parts = ["<h3>Thermal conductivity (Green–Kubo)</h3>"]
    if len(series.get("kappa", [])) > 1:
        parts.append(img(kappa_temperature_figure(series["kappa"]), "kappa(T)"))
    for label in runs:
        ds = _lattice_file(out, f"{label}_kappa.nc") if runs[label].get("kappa") else None
        if ds is not None:
            parts.append(img(kappa_figure(ds), f"kappa running integral {label}"))
    parts.append(
        table(
            [
                "run",
                "κ cepstral (W/(m·K))",
                "κ decorrelated from the ion flux (W/(m·K))",
                "κ running integral (W/(m·K))",
                "t_max (ps)",
                "NVE runs",
            ],
            rows,
        )
    )
    parts.append(
        "<p class='note'>κ = 1/(V k_B T²) ∫⟨J(0)·J(t)⟩dt/3 from independent NVE heat-flux runs; cepstral estimate "
        "(Ercole et al. 2017) with its log-normal σ, running integral with the scatter over runs "
        "(docs/thermal_conductivity.md).</p>"
    )
    return parts


def lattice(out: Path, lat: dict | None, mobile: str) -> str:
    """Lattice dynamics (summary.json['lattice'], workflow.lattice_stage): phonon dispersion and harmonic DOS beside
    the MD VDOS, the NMD damping map and overdamped fraction vs T, the INM density with f_u(T) beside D(T), C_v and
    S_vib, κ(T). "" for a study without the lattice stage (summaries written before it existed).
    """
    if not lat:
        return ""
    runs = dict(sorted((lat.get("runs") or {}).items(), key=lambda kv: kv[1]["temperature_K"]))
    series = lat.get("series") or {}
    parts = ["<h2>Lattice dynamics</h2>"]
    if lat.get("phonons"):
        parts += _phonons_part(out, lat["phonons"], runs)
    parts += _nmd_part(out, runs, series)
    parts += _acoustic_part(out, runs)
    parts += _inm_part(out, runs, series, mobile)
    parts += _heat_capacity_part(runs, lat.get("phonons"))
    parts += _kappa_part(out, runs, series)
    return "".join(parts) if len(parts) > 1 else ""


def warnings(messages: list[str]) -> str:
    """The study's warnings, as a list."""
    if not messages:
        return ""
    return "<h2>Warnings</h2><ul>" + "".join(f"<li>{html.escape(w)}</li>" for w in messages) + "</ul>"


def provenance(versions: dict, timings: dict) -> str:
    """Package versions and timings, and where the numbers are."""
    return (
        "<h2>Provenance</h2>"
        + table(["package", "version"], [[html.escape(k), html.escape(str(v))] for k, v in versions.items()])
        + f"<p class='note'>Timings: MD {fmt(timings.get('md_s'))} s, analysis {fmt(timings.get('analysis_s'))} s. "
        "Numbers and spectra: summary.json and analysis/*.nc beside this report.</p>"
    )
