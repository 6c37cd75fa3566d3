"""The HTML study report: self-contained (PNG figures embedded), with units on every number."""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import xarray as xr

from ..results import atomic_text, positive_text, protocol_label, resolved_text
from .figures import sqe_overview_figure, to_png_base64, vdos_figure

CSS = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222;line-height:1.45}
h1{font-size:1.6em} h2{font-size:1.25em;border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;margin:.6em 0} td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}
th{background:#f3f3f3} img{max-width:100%} table.findings td{text-align:left;vertical-align:top} .note{color:#555;font-size:.92em} code{background:#f5f5f5}
"""


def _fmt(x, digits: int = 3) -> str:
    if x is None:
        return "–"
    try:
        if not np.isfinite(float(x)):
            return "–"
        return f"{float(x):.{digits}g}"
    except (TypeError, ValueError):
        return html.escape(str(x))


def _load(out: Path, kind: str) -> dict[str, xr.Dataset]:
    found = {}
    for p in sorted((out / "analysis").glob(f"*_{kind}.nc"), key=lambda p: float(p.name[1:].split("K")[0])):
        found[p.name.split("_")[0]] = xr.load_dataset(p, engine="h5netcdf")
    return found


def _table(headers: list[str], rows: list[list[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _img(fig, alt: str) -> str:
    return f"<img alt='{html.escape(alt)}' src='data:image/png;base64,{to_png_base64(fig)}'>"


def _pm(v: dict, key: str, digits: int = 3) -> str:
    """'value ± error' from v[key] and v[key + '_err']."""
    if key not in v or _fmt(v[key]) == "–":
        return "–"
    err = v.get(f"{key}_err")
    return _fmt(v[key], digits) + ("" if _fmt(err) == "–" else f" ± {_fmt(err, 2)}")


def _d(v: dict) -> str:
    """D ± σ (or 'consistent with zero (< bound)'), marked † when no diffusive regime was found on the fit window."""
    if not v:
        return "–"
    return html.escape(positive_text(v.get("D"), v.get("D_err"))) + ("" if v.get("window_ok", True) else " †")


def _g0(v: dict, key: str = "g0") -> str:
    """g(0) (or D_from_g0 with key='D_from_g0') ± σ when g(0) is resolved, else its upper bound ('< x')."""
    if not v:
        return "–"
    if v.get("g0_resolved"):
        return _pm(v, key)
    if v.get("g0_status") == "not confirmed":  # g(0) > 0 but the MSD is not yet diffusive
        return _pm(v, key) + " †"
    return f"< {_fmt(v.get(key + '_upper'), 2)} ‡" if np.isfinite(v.get(key + "_upper", np.nan)) else "–"


def _n(v: dict) -> str:
    """N ± σ and the law, or 'unresolved' with its reason as a tooltip."""
    if not v:
        return "–"
    if v.get("law", "unresolved") == "unresolved":
        return f"<span title='{html.escape(str(v.get('law_reason', '')))}'>unresolved ‡</span>"
    return f"{_pm(v, 'exponent', 2)} ({html.escape(v['law'])})"


def _res(value, err, length_ps=None, unit: str = "") -> str:
    return html.escape(resolved_text(value, err, unit, length_ps))


FOOTNOTES = (
    "<p class='note'>† the MSD is not yet linear in t on the fit window (log–log slope outside "
    "0.7–1.3 or the random-walk noise model rejected): the run is too short for this species, the value "
    "is indicative only (for g(0): positive on the lag window, but not yet confirmed as diffusion by the MSD). ‡ g(0) &lt; x: g(0) is consistent with zero (not diffusive at this precision) and x "
    "is its 2σ upper bound; 'unresolved' law: the low-frequency exponent cannot decide between linear "
    "and Debye (too short a run, a window below the lowest phonon of the cell, or a fit on a bound; hover "
    "for the reason). 'not resolved (±σ)': the 1σ error exceeds half the value, with the run length that "
    "would resolve it.</p>"
)


def _findings_section(found: dict) -> str:
    """The first section: the seed's claims, this study's numbers, verdicts."""
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
        + _table(["claim of the seed study (Ding et al. 2025)", "seed", "this study (1σ)", "verdict"], rows).replace(
            "<table>", "<table class='findings'>", 1
        )
        + "<p class='note'>Verdicts follow fixed rules (hover a claim to read its rule; "
        "docs/reproduction.md); nothing is tuned to the published values. The seed's 'liquid-like' VDOS is "
        "g(0) &gt; 0 <i>and</i> a linear law together.</p>"
    )


def _mechanism_section(out: Path, mech: dict, mobile: str) -> str:
    """Bottleneck breathing and anion rotations per free run (tables + figures)."""
    from .figures_mechanism import bottleneck_figure, rotation_figure

    parts = ["<h2>Mechanism: bottleneck breathing and anion rotations</h2>"]
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
                _fmt(b["inradius_mean_A"]),
                _fmt(b["breathing_rms_A"]),
                _fmt(b["breathing_nu_half_THz"]),
                f"{_fmt(b['inradius_shift_at_hops_A'])} ± {_fmt(b['inradius_shift_at_hops_err_A'], 2)}",
                f"{b['n_crossings']} (KS D = {_fmt(b['ks_statistic'], 2)})",
                "",
            ]
        )
    parts.append(
        _table(
            [
                "run",
                "windows",
                "<r> (Å)",
                "breathing rms (Å)",
                "ν½ (THz)",
                f"r at {mobile} crossings − <r> (Å)",
                "crossings",
                "note",
            ],
            rows,
        )
    )
    parts.append(
        "<p class='note'>Windows: triangles of anions shared by face-sharing anion tetrahedra that "
        f"hold {mobile} (periodic Delaunay tessellation of the time-averaged anion framework). r: in-radius "
        "2A/perimeter (A by Heron); breathing rms = std of r; ν½: half of ⟨δr²⟩ lies below this "
        "frequency. A positive shift at crossings means hops happen when the window is open "
        "(bootstrap 1σ; crossings treated as independent). docs/bottleneck.md.</p>"
    )
    rows = []
    for label, m in mech.items():
        r = m.get("rotations")
        if not r:
            continue
        if "skipped" in r:
            rows.append([label] + ["–"] * 5 + [html.escape(r["skipped"])])
            continue
        h = r.get("hop_correlation", {})
        tau = f"{_fmt(r['tau1_ps'])} / {_fmt(r['tau2_ps'])}" + (" (extrapolated)" if r["tau_extrapolated"] else "")
        if not r["n_events"]:
            hop = "no reorientations"
        else:
            hop = f"{_fmt(h.get('ratio_li_hops'), 2)} ± {_fmt(h.get('ratio_err_li_hops'), 2)}" if h else "–"
        rows.append(
            [
                label,
                _fmt(r["libration_fraction"], 3),
                _fmt(r["mean_angle_deg"]),
                f"{r['n_events']} ({_fmt(r['event_rate_per_ps'])} /ps)",
                tau,
                hop,
                "",
            ]
        )
    if rows:
        parts.append(
            _table(
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
            )
        )
        parts.append(
            "<p class='note'>Orientation of each anion from its centre→ligand vectors (Kabsch rotation "
            "onto the time-averaged unit, minimum over the tetrahedral symmetry operations); "
            "C_ℓ(t) = ⟨P_ℓ(u(0)·u(t))⟩, τ_ℓ from exponential fits. Rotation–hop correlation: hops "
            "with a reorientation within 0.5 ps and 5 Å, against event times shifted at random "
            "(1 ≈ no correlation; Jun et al., PNAS 2024). docs/rotations.md.</p>"
        )
    for label in mech:
        p = out / "analysis" / f"{label}_bottleneck.nc"
        if p.exists():
            parts.append(_img(bottleneck_figure(xr.load_dataset(p, engine="h5netcdf"), label), f"bottleneck {label}"))
        p = out / "analysis" / f"{label}_rotations.nc"
        if p.exists():
            parts.append(_img(rotation_figure(xr.load_dataset(p, engine="h5netcdf"), label), f"rotations {label}"))
    return "".join(parts)


def write_report(out: str | Path, summary: dict) -> Path:
    """Write out/report.html from the analysis files and the summary; returns its path."""
    from .figures_diffusion import plot_arrhenius, plot_msd
    from .figures_vdos import vdos_lowfreq_figure

    out = Path(out)
    cfg = summary["config"]
    pot = summary["potential"]
    mobile = cfg.get("mobile_species", "Li")
    results = {k: v for k, v in summary["results"].items() if k != "series"}
    series = summary["results"].get("series", {})
    parts = [
        f"<h1>superionic study: {html.escape(cfg['name'])}</h1>",
        f"<p>{html.escape(cfg['material'])} ({html.escape(cfg['supercell'])} cell), potential "
        f"<b>{html.escape(str(pot.get('name')))}</b> {html.escape(str(pot.get('version') or ''))} — "
        f"{html.escape(str(pot.get('source')))}. Temperatures: "
        f"{', '.join(_fmt(t) for t in cfg['temperatures'])} K; "
        f"NVT Langevin, dt = {_fmt(cfg['md']['dt'])} fs, {cfg['md']['steps']} production steps "
        + (f"({cfg['md']['suppressed_steps']} with a suppressed host) " if cfg["md"].get("suppressed_steps") else "")
        + f"(+{cfg['md']['equilibration_steps']} equilibration), frame every {cfg['md']['stride']} steps.</p>",
        "<p class='note'>Results from a universal (foundation) potential are model results: such potentials "
        "are systematically soft (phonon frequencies and barriers underestimated). Short runs give large "
        "statistical uncertainty; the error bars below say how large.</p>",
    ]

    if summary.get("failed_runs"):  # runs that failed (MD or analysis): not in the results below
        parts.append(
            "<h2>Failed runs</h2><ul>"
            + "".join(
                f"<li><b>{html.escape(str(f.get('label')))}</b> ({html.escape(str(f.get('stage')))}): "
                f"{html.escape(str(f.get('reason')))}</li>"
                for f in summary["failed_runs"]
            )
            + "</ul>"
        )
    # --- key numbers -------------------------------------------------------------------------------
    if summary.get("findings"):
        parts.append(_findings_section(summary["findings"]))
    rows = []
    for label, r in results.items():
        d = (r.get("diffusion") or {}).get(mobile, {})
        c = r.get("conductivity") or {}
        v = (r.get("vdos") or {}).get(mobile, {})
        length = r.get("duration_ps")
        rows.append(
            [
                label,
                _fmt(length),
                _d(d),
                _res(c.get("sigma"), c.get("sigma_err"), length),
                _res(c.get("sigma_NE"), c.get("sigma_NE_err"), length),
                _res(c.get("haven_ratio"), c.get("haven_ratio_err"), length),
                _g0(v),
                _n(v),
                html.escape(str(v.get("classification", "–"))),
            ]
        )
    parts.append(f"<h2>Key results for {html.escape(mobile)}</h2>")
    parts.append(
        _table(
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
    )
    parts.append(
        "<p class='note'>D* from a generalised-least-squares fit of the MSD with its correlated "
        "covariance (1σ); σ from the charge MSD, σ_NE = n q² D*/k_BT (Nernst–Einstein). "
        "g(0): the windowed Green–Kubo value of the VDOS at ν = 0 (D = g(0)⟨v²⟩/12), resolved when above "
        "3σ, above what the lag window carries from a spectrum vanishing at 0, and confirmed by a diffusive "
        "MSD; n: g − g(0) ∝ νⁿ fitted (forward-modelled, g ≥ 0) above twice the lowest phonon of the cell "
        "(block bootstrap, 1σ); n ≈ 2 Debye solid, n ≈ 1 linear; class: liquid-like = g(0) &gt; 0 and "
        "linear, diffusive = g(0) &gt; 0 only (docs/vdos.md).</p>" + FOOTNOTES
    )

    enh = series.get("phonon_enhancement")
    if enh:
        parts.append("<h2>Phonon-induced enhancement of diffusion</h2>")
        rows = [
            [
                html.escape(k),
                html.escape(protocol_label(v, mean_reference=True)),
                _fmt(v["temperature_K"]),
                _pm({"D": v["D_free"], "D_err": v["D_free_err"]}, "D"),
                _pm({"D": v["D_suppressed"], "D_err": v["D_suppressed_err"]}, "D"),
                (
                    f"≥ {v['ratio_lower']:.3g} (D suppressed &lt; {v['D_suppressed_upper']:.2g}) †"
                    if "ratio_lower" in v
                    else _res(v["ratio"], v["ratio_err"], (results.get(k) or {}).get("duration_ps"))
                    + ("" if v.get("windows_diffusive") else " †")
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
                    _pm({"D": v["D_free"], "D_err": v["D_free_err"]}, "D"),
                    _pm({"D": v["D_suppressed"], "D_err": v["D_suppressed_err"]}, "D"),
                    _res(v["ratio"], v["ratio_err"]),
                ]
            )
        parts.append(
            _table(
                [
                    "run",
                    "protocol",
                    "T (K)",
                    f"D {mobile} free (cm²/s)",
                    f"D {mobile} suppressed (cm²/s)",
                    "D_free / D_suppressed",
                ],
                rows,
            )
        )
        parts.append(
            "<p class='note'>Suppression protocols (docs/md.md): frozen host — P, S, Cl held at their "
            "positions of the free run at the same temperature (time average unless another host "
            "reference is named), zero velocity; tethered "
            "host — harmonic springs to those positions; rigid anions — PS4 internal vibrations removed, "
            "rigid-body motion kept. The Li thermostat and temperature are those of the free run. The "
            "seed study reports a ratio of about 10 at ambient temperature. The 300 K rows divide the "
            "Arrhenius fits of both D series (errors in quadrature). A ratio '≥ x' comes from a suppressed "
            "run whose Li MSD is still bending over (caged): the slope of its last lag window, which does not "
            "rise, bounds its D from above (+2σ), and x = (D_free − 2σ)/that bound (docs/diffusion.md).</p>"
        )

    mech = {k: r["mechanism"] for k, r in results.items() if r.get("mechanism")}
    if mech:
        parts.append(_mechanism_section(out, mech, mobile))

    arr = series.get("arrhenius")
    if arr:
        parts.append("<h2>Arrhenius</h2>")
        parts.append(
            f"<p>E<sub>a</sub> = {_res(arr['E_a'], arr['E_a_err'], unit='eV')}, "
            f"D<sub>0</sub> = {_res(arr['D0'], arr['D0_err'], unit='cm²/s')}; "
            f"D({mobile}, 300 K) = {_res(arr['D_300K'], arr['D_300K_err'], unit='cm²/s')}"
            f"{' — <b>extrapolated</b> beyond the simulated range' if arr.get('D_300K_extrapolated') else ''}."
            "</p>"
        )
        if not arr.get("all_windows_diffusive", True):
            parts.append(
                "<p class='note'><b>Caution:</b> at least one D entering this fit comes from a window "
                "that is not yet diffusive (†): the activation energy is indicative only.</p>"
            )
        p = out / "analysis" / "arrhenius.nc"
        if p.exists():
            parts.append(
                _img(plot_arrhenius(xr.load_dataset(p, engine="h5netcdf"), label=f"D {mobile}"), "Arrhenius plot")
            )

    vd = _load(out, "vdos")
    if vd:
        parts.append("<h2>Vibrational density of states</h2>")
        free = {k: v for k, v in vd.items() if "-" not in k}  # suppressed runs lack host species
        parts.append(_img(vdos_figure(free or vd), "VDOS"))
        parts.append(
            "<p class='note'>g_α(ν) = 4∫₀^∞ Ẑ_α(t) cos(2πνt) dt from the velocity autocorrelation, "
            "normalised to ∫g dν = 1 per species (ν in THz; 1 THz = 4.136 meV); g(0) = 4mD/(k_BT).</p>"
        )
        for label, ds in vd.items():
            parts.append(f"<h3>{html.escape(label)}: low-frequency limit</h3>")
            parts.append(_img(vdos_lowfreq_figure(ds), f"low-frequency VDOS {label}"))
        rows = []
        for label, r in results.items():
            for sp, v in (r.get("vdos") or {}).items():
                rows.append(
                    [
                        label,
                        sp,
                        _g0(v),
                        _n(v),
                        html.escape(str(v.get("classification", "–"))),
                        _g0(v, "D_from_g0"),
                        _fmt(v.get("band_centre")),
                        _fmt(v.get("Cv")),
                        _fmt(v.get("S_vib")),
                    ]
                )
        parts.append(
            _table(
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

    md = _load(out, "diffusion")
    if md:
        parts.append("<h2>Mean squared displacement and diffusion</h2>")
        for label, ds in md.items():
            parts.append(f"<h3>{html.escape(label)}</h3>")
            parts.append(_img(plot_msd(ds, loglog=True), f"MSD {label}"))
        rows = []
        for label, r in results.items():
            for sp, v in (r.get("diffusion") or {}).items():
                w = v.get("fit_window_fs") or [None, None]
                rows.append(
                    [
                        label,
                        sp,
                        _d(v),
                        f"{_fmt(w[0])}–{_fmt(w[1])}",
                        "yes" if v.get("window_ok") else "<b>no</b> (run too short)",
                    ]
                )
        parts.append(_table(["run", "species", "D (cm²/s)", "fit window (fs)", "diffusive regime reached"], rows))

    fq = _load(out, "fqt")
    if fq:
        from .figures_scattering import fs_figure
        from .figures_vdos import gdos_figure

        nconf = cfg.get("neutron", {})
        parts.append("<h2>Neutron scattering</h2>")
        parts.append(
            f"<p>Cross sections: Sears (1992), isotopes {html.escape(str(nconf.get('isotopes', {})))}. "
            "G(E) = Σ c_α (σ_α/m_α) g_α(E) / Σ c_α σ_α/m_α (incoherent approximation, ∫G dE = 1, "
            f"Gaussian resolution {_fmt(nconf.get('ins_resolution_meV'))} meV FWHM). "
            "F_s,α(Q,t) per species (F_s(Q,0) = 1), F_inc = σ_inc-weighted sum; S(Q,E) its "
            "windowed Fourier transform (1/meV), powder averaged.</p>"
        )
        gd = _load(out, "gdos")
        for label, ds in fq.items():
            parts.append(f"<h3>{html.escape(label)}</h3>")
            if label in gd:
                parts.append(_img(gdos_figure(gd[label]), f"GDOS {label}"))
            if mobile in ds.species.values:
                parts.append(_img(fs_figure(ds, species=mobile), f"F_s {label}"))
            parts.append(_img(fs_figure(ds), f"F_inc {label}"))
            sq = _load(out, "sqe").get(label)
            if sq is not None:
                parts.append(_img(sqe_overview_figure(sq), f"S(Q,E) {label}"))
                parts.append(
                    f"<p class='note'>S(Q,E) effective resolution "
                    f"{_fmt(sq.attrs.get('effective_resolution_fwhm_meV'))} meV FWHM (set by the run "
                    "length): compare with backscattering data (µeV) only with ns trajectories.</p>"
                )

    if summary.get("warnings"):
        parts.append(
            "<h2>Warnings</h2><ul>" + "".join(f"<li>{html.escape(w)}</li>" for w in summary["warnings"]) + "</ul>"
        )
    parts.append("<h2>Provenance</h2>")
    parts.append(
        _table(["package", "version"], [[html.escape(k), html.escape(str(v))] for k, v in summary["versions"].items()])
    )
    t = summary.get("timings", {})
    parts.append(
        f"<p class='note'>Timings: MD {_fmt(t.get('md_s'))} s, analysis {_fmt(t.get('analysis_s'))} s. "
        "Numbers and spectra: summary.json and analysis/*.nc beside this report.</p>"
    )
    doc = (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>superionic: "
        f"{html.escape(cfg['name'])}</title><style>{CSS}</style></head><body>{''.join(parts)}</body></html>"
    )
    return atomic_text(out / "report.html", doc)
