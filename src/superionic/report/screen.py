"""The screening report: one table of descriptors with σ, Spearman ρ of each with D, and scatter figures."""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np

from ..results import atomic_text, fit_value, positive_text, resolved_text
from .format import fmt, img, table
from .html import CSS


def _value(row: dict, key: str, unit: str) -> str:
    v, e = row.get(key, np.nan), row.get(f"{key}_err", np.nan)
    if not np.isfinite(v):
        if key == "enhancement" and "enhancement_lower" in row:
            return f"≥ {fmt(row['enhancement_lower'])} †"
        if key in ("E_a", "D_300K", "sigma_300K") and row.get("arrhenius_diffusive") is False:
            return "– ‡"
        return "–"
    if not np.isfinite(e):
        return fmt(v) + (f" {html.escape(unit)}" if unit else "")
    text = (
        positive_text(v, e, unit)
        if key in ("D_300K", "sigma_300K", "g0", "overdamped", "overdamped_acoustic", "f_u")
        else resolved_text(v, e, unit)
    )
    if key in ("overdamped", "overdamped_acoustic") and np.isfinite(row.get(f"{key}_undecided", np.nan)):
        text += f" ({100 * row[f'{key}_undecided']:.0f} % undecided)"
    return html.escape(text)


def scatter_figure(rows: list[dict], descriptors: dict[str, tuple[str, str]]):
    """One panel per descriptor: the descriptor (x, with σ) against D at the ranking temperature (y, log)."""
    import matplotlib.pyplot as plt

    from ..workflow.screen import ranked, shared_rank_temperature

    keys = [k for k in descriptors if any(np.isfinite(r.get(k, np.nan)) for r in rows)]
    n = max(1, len(keys))
    cols = min(4, n)
    fig, axes = plt.subplots((n + cols - 1) // cols, cols, figsize=(3.2 * cols, 2.8 * ((n + cols - 1) // cols)))
    axes = np.atleast_1d(axes).ravel()
    t_rank = shared_rank_temperature(rows)
    for ax, k in zip(axes, keys):
        label, unit = descriptors[k]
        for r in rows:
            x, xe = r.get(k, np.nan), r.get(f"{k}_err", np.nan)
            if not ranked(r, t_rank):  # as in the correlations: no D, or D at another temperature
                continue
            y, ye = r["D"], r["D_err"]
            if np.isfinite(x) and np.isfinite(y) and y > 0:
                ax.errorbar(x, y, xerr=xe if np.isfinite(xe) else None, yerr=ye, fmt="o", capsize=2)
                ax.annotate(r["label"], (x, y), fontsize=7, textcoords="offset points", xytext=(3, 3))
        ax.set_yscale("log")
        ax.set_xlabel(f"{label} ({unit})" if unit else label)
        ax.set_ylabel("D (cm²/s)")
    for ax in axes[len(keys) :]:
        ax.set_visible(False)
    fig.tight_layout()
    return fig


def _nmd_settings(rows: list[dict]) -> str:
    """The NMD segment(s) and projection behind the overdamped fractions, which their verdicts depend on."""
    measured = [r for r in rows if np.isfinite(r.get("overdamped", np.nan))]
    recorded = [float(r.get("overdamped_segment_ps", np.nan)) for r in measured]
    segments = sorted({round(x, 2) for x in recorded if np.isfinite(x)})
    hops = {bool(r["overdamped_follow_hops"]) for r in measured if r.get("overdamped_follow_hops") is not None}
    text = "The verdicts depend on the NMD's Welch segment and on whether the hops are followed (docs/nmd.md): "
    if not segments:
        return text + "not recorded for these runs."
    text += f"segment {', '.join(f'{x:g}' for x in segments)} ps"
    if hops == {True}:
        text += ", hops followed"
    elif hops == {False}:
        text += ", hops not followed"
    elif hops:
        text += ", hops followed in some runs only"
    if len(segments) > 1 or len(hops) > 1:
        text += ": the fractions were measured under different settings and do not compare"
    return text + "."


def write_screen_report(out: Path, name: str, rows: list[dict], corr: dict, failed: list[dict]) -> Path:
    """Write ``<out>/screen.html`` (self-contained) and return its path."""
    from ..workflow.screen import DESCRIPTORS, shared_rank_temperature

    t_shared = shared_rank_temperature(rows)
    # a descriptor no study measured (e.g. the lattice stage's, when no study ran it) is left out of the page
    shown = {k: v for k, v in DESCRIPTORS.items() if any(np.isfinite(r.get(k, np.nan)) for r in rows)}
    shown |= {"enhancement": DESCRIPTORS["enhancement"]} if any("enhancement_lower" in r for r in rows) else {}
    shown = {k: DESCRIPTORS[k] for k in DESCRIPTORS if k in shown}
    head = ["material", "mobile", f"D at {fmt(t_shared) if t_shared is not None else '?'} K (cm²/s)"]
    head += [f"{lab} ({u})" if u else lab for lab, u in shown.values()]
    body = []
    for r in rows:
        d = html.escape(positive_text(*fit_value(r))) + ("" if r.get("D_diffusive") else " †")
        if t_shared is not None and r["T_rank_K"] != t_shared:
            d += f" (at {fmt(r['T_rank_K'])} K) §"
        body.append([html.escape(r["label"]), html.escape(r["mobile"]), d] + [_value(r, k, "") for k in shown])
    corr_rows = []
    for k, c in corr.items():
        if k not in shown:
            continue
        lab = DESCRIPTORS[k][0]
        if np.isfinite(c["rho"]):
            corr_rows.append(
                [html.escape(lab), f"{c['rho']:.2f}", f"[{fmt(c['low'], 2)}, {fmt(c['high'], 2)}]", str(c["n"])]
            )
        else:
            corr_rows.append([html.escape(lab), "–", html.escape(c.get("why", "")), str(c["n"])])
    parts = [
        f"<h1>Screen: {html.escape(name)}</h1>",
        "<h2>Descriptors</h2>",
        table(head, body),
        "<p>† D without a diffusive regime on its fit range (an upper bound), or an enhancement that is only a lower "
        "bound. “not resolved” and “consistent with zero” are not results; a missing value (–) was not measured or "
        "not resolved in that study (its own report says why). D(300 K) and σ_NE(300 K) are Arrhenius "
        "extrapolations. ‡ not given: the Arrhenius fit went through D without a diffusive regime. § measured on the "
        "material's own temperature ladder (e.g. below its melting point) at another temperature than the others: its D "
        "is not in the rank correlations (an own ladder that includes the ranking temperature is ranked there)."
        + (
            " The overdamped fraction's error is binomial; the modes whose verdict lies within 2σ of the border "
            "Γ/2 = ν₀ (undecided) are given beside it and are not in that error. " + _nmd_settings(rows)
            if "overdamped" in shown
            else ""
        )
        + (
            " The host-acoustic fraction counts the transverse and longitudinal modes of the non-mobile species at the "
            "smallest commensurate |Q| shells (current correlations, no reference structure; docs/acoustic_damping.md)."
            if "overdamped_acoustic" in shown
            else ""
        )
        + "</p>",
        "<h2>Rank correlation with D</h2>",
        table(["descriptor", "Spearman ρ", "16–84 % bootstrap", "materials"], corr_rows),
        img(scatter_figure(rows, DESCRIPTORS), "descriptors against D"),
    ]
    if failed:
        parts += ["<h2>Materials that did not finish</h2>", "<ul>"]
        parts += [f"<li>{html.escape(f['label'])}: {html.escape(f['error'])}</li>" for f in failed]
        parts += ["</ul>"]
    parts.append(
        "<p>Each material's own report: "
        + ", ".join(f"<a href='{html.escape(r['label'])}/report.html'>{html.escape(r['label'])}</a>" for r in rows)
        + "</p>"
    )
    page = (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>superionic screen: {html.escape(name)}"
        f"</title><style>{CSS}</style></head><body>{''.join(parts)}</body></html>"
    )
    path = Path(out) / "screen.html"
    atomic_text(path, page)
    return path
