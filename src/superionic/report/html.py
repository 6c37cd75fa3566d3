"""The HTML study report: self-contained (PNG figures embedded), with units on every number."""

from __future__ import annotations

import html
import os
from pathlib import Path

import xarray as xr

from .figures import msd_figure, to_png_base64, vdos_figure

CSS = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222;line-height:1.45}
h1{font-size:1.6em} h2{font-size:1.25em;border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;margin:.6em 0} td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}
th{background:#f3f3f3} img{max-width:100%} .note{color:#555;font-size:.92em} code{background:#f5f5f5}
"""


def _fmt(x, digits: int = 3) -> str:
    if x is None:
        return "–"
    try:
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


def write_report(out: str | Path, summary: dict) -> Path:
    """Write out/report.html from the analysis files and the summary; returns its path."""
    out = Path(out)
    cfg = summary["config"]
    pot = summary["potential"]
    parts = [f"<h1>superionic study: {html.escape(cfg['name'])}</h1>",
             f"<p>{html.escape(cfg['material'])} ({html.escape(cfg['supercell'])} cell), potential "
             f"<b>{html.escape(str(pot.get('name')))}</b> {html.escape(str(pot.get('version') or ''))} — "
             f"{html.escape(str(pot.get('source')))}. Temperatures: "
             f"{', '.join(_fmt(t) for t in cfg['temperatures'])} K; "
             f"NVT Langevin, dt = {_fmt(cfg['md']['dt'])} fs, {cfg['md']['steps']} production steps "
             f"(+{cfg['md']['equilibration_steps']} equilibration), frame every {cfg['md']['stride']} steps.</p>",
             "<p class='note'>Results from a universal (foundation) potential are model results: such potentials "
             "are systematically soft (phonon frequencies and barriers underestimated). Short runs give large "
             "statistical uncertainty; treat them as a demonstration unless the trajectories are long.</p>"]
    results = summary["results"]

    vd = _load(out, "vdos")
    if vd:
        parts.append("<h2>Vibrational density of states</h2>")
        parts.append(f"<img alt='VDOS' src='data:image/png;base64,{to_png_base64(vdos_figure(vd))}'>")
        parts.append("<p class='note'>g_α(ν) = 4∫₀^∞ Ẑ_α(t) cos(2πνt) dt from the velocity autocorrelation, "
                     "normalised to ∫g dν = 1 per species (ν in THz); g(0) = 4mD/(k_BT).</p>")
        rows = []
        for label, r in results.items():
            for s, v in (r.get("vdos") or {}).items():
                rows.append([label, s, f"{_fmt(v.get('g0'))} ± {_fmt(v.get('g0_err'), 2)}",
                             f"{_fmt(v.get('exponent'))} ± {_fmt(v.get('exponent_err'), 2)}",
                             html.escape(str(v.get("classification", "–"))),
                             f"{_fmt(v.get('D_from_g0'))} ± {_fmt(v.get('D_from_g0_err'), 2)}",
                             _fmt(v.get("band_centre"))])
        parts.append(_table(["run", "species", "g(0) (1/THz)", "low-ω exponent n", "class",
                             "D from g(0) (cm²/s)", "band centre (meV)"], rows))
    md = _load(out, "diffusion")
    if md:
        parts.append("<h2>Mean squared displacement and diffusion</h2>")
        parts.append(f"<img alt='MSD' src='data:image/png;base64,{to_png_base64(msd_figure(md))}'>")
        rows = []
        for label, r in results.items():
            for s, v in (r.get("diffusion") or {}).items():
                rows.append([label, s, _fmt(v.get("D_cm2_per_s")), _fmt(v.get("D_err_cm2_per_s"))])
        parts.append(_table(["run", "species", "D (cm²/s)", "± (cm²/s)"], rows))
    parts.append("<h2>Provenance</h2>")
    parts.append(_table(["package", "version"], [[html.escape(k), html.escape(str(v))]
                                                  for k, v in summary["versions"].items()]))
    t = summary.get("timings", {})
    parts.append(f"<p class='note'>Timings: MD {_fmt(t.get('md_s'))} s, analysis {_fmt(t.get('analysis_s'))} s. "
                 "Numbers and spectra: summary.json and analysis/*.nc beside this report.</p>")
    doc = (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>superionic: "
           f"{html.escape(cfg['name'])}</title><style>{CSS}</style></head><body>{''.join(parts)}</body></html>")
    path = out / "report.html"
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(doc, encoding="utf-8")
    os.replace(tmp, path)
    return path
