"""The HTML study report: self-contained (PNG figures embedded), with units on every number.

write_report assembles the sections (report/sections.py, one function each) in their order; the
formatting of numbers, tables and figures is in report/format.py.
"""

from __future__ import annotations

import html
from pathlib import Path

from ..results import atomic_text
from . import sections

CSS = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222;line-height:1.45}
h1{font-size:1.6em} h2{font-size:1.25em;border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;margin:.6em 0} td,th{border:1px solid #ccc;padding:.25em .6em;text-align:right}
th{background:#f3f3f3} img{max-width:100%} table.findings td{text-align:left;vertical-align:top} .note{color:#555;font-size:.92em} code{background:#f5f5f5}
"""


def write_report(out: str | Path, summary: dict) -> Path:
    """Write out/report.html from the analysis files and the summary; returns its path."""
    out = Path(out)
    cfg = summary["config"]
    mobile = cfg.get("mobile_species", "Li")
    results = {k: v for k, v in summary["results"].items() if k != "series"}
    series = summary["results"].get("series", {})
    parts = [
        sections.header(cfg, summary["potential"]),
        sections.failed_runs(summary.get("failed_runs") or []),
        sections.findings(summary.get("findings") or {}),
        sections.key_results(results, mobile),
        sections.phonon_enhancement(series, results, mobile),
        sections.mechanism(out, results, mobile),
        sections.arrhenius(out, series, mobile),
        sections.vdos(out, results),
        sections.diffusion(out, results),
        sections.neutron(out, cfg.get("neutron", {}), mobile),
        sections.lattice(out, summary.get("lattice"), mobile),
        sections.warnings(summary.get("warnings") or []),
        sections.provenance(summary["versions"], summary.get("timings", {})),
    ]
    doc = (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>superionic: "
        f"{html.escape(cfg['name'])}</title><style>{CSS}</style></head><body>{''.join(parts)}</body></html>"
    )
    return atomic_text(out / "report.html", doc)
