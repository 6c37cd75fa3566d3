"""Formatting for the HTML report: numbers with their errors and bounds, tables, embedded figures.

Every function returns an HTML fragment (text already escaped); "–" stands for a missing or non-finite
value. The cells take one species' entry of summary.json (its diffusion or VDOS dict).
"""

from __future__ import annotations

import html

import numpy as np

from ..results import fit_value, positive_text, resolved_text, summary_get
from .figures import to_png_base64


def fmt(x, digits: int = 3) -> str:
    """X rounded to `digits` significant digits; "–" for None or a non-finite number, escaped text otherwise."""
    if x is None:
        return "–"
    try:
        if not np.isfinite(float(x)):
            return "–"
        return f"{float(x):.{digits}g}"
    except (TypeError, ValueError):
        return html.escape(str(x))


def table(headers: list[str], rows: list[list[str]]) -> str:
    """An HTML table: headers are escaped here, cells are HTML fragments already."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def img(fig, alt: str) -> str:
    """A matplotlib figure embedded as a base64 PNG (the report fetches nothing)."""
    return f"<img alt='{html.escape(alt)}' src='data:image/png;base64,{to_png_base64(fig)}'>"


def pm(v: dict, key: str, digits: int = 3) -> str:
    """'value ± error' from v[key] and v[key + '_err']."""
    if key not in v or fmt(v[key]) == "–":
        return "–"
    err = v.get(f"{key}_err")
    return fmt(v[key], digits) + ("" if fmt(err) == "–" else f" ± {fmt(err, 2)}")


def diffusion_cell(v: dict) -> str:
    """D ± σ (or 'consistent with zero (< bound)'), marked † when no diffusive regime was found on the fit range."""
    if not v:
        return "–"
    return html.escape(positive_text(*fit_value(v))) + ("" if summary_get(v, "fit_range_ok", True) else " †")


def g0_cell(v: dict, key: str = "g0") -> str:
    """g(0) (or D_from_g0 with key='D_from_g0') ± σ when g(0) is resolved, else its upper bound ('< x')."""
    if not v:
        return "–"
    if v.get("g0_resolved"):
        return pm(v, key)
    if v.get("g0_status") == "not confirmed":  # g(0) > 0 but the MSD is not yet diffusive
        return pm(v, key) + " †"
    return f"< {fmt(v.get(key + '_upper'), 2)} ‡" if np.isfinite(v.get(key + "_upper", np.nan)) else "–"


def exponent_cell(v: dict) -> str:
    """The low-frequency exponent n ± σ and the law, or 'unresolved' with its reason as a tooltip."""
    if not v:
        return "–"
    if v.get("law", "unresolved") == "unresolved":
        return f"<span title='{html.escape(str(v.get('law_reason', '')))}'>unresolved ‡</span>"
    return f"{pm(v, 'exponent', 2)} ({html.escape(v['law'])})"


def resolved_cell(value, err, length_ps=None, unit: str = "") -> str:
    """Value ± err, or 'not resolved' with the run length that would resolve it (results.resolved_text)."""
    return html.escape(resolved_text(value, err, unit, length_ps))
