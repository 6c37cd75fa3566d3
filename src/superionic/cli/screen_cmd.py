"""`superionic screen`: one study per material, a table of descriptors and their rank correlation with D."""

from __future__ import annotations

from pathlib import Path

import typer

from .app import app


@app.command("screen")
def screen_cmd(
    screen: Path = typer.Argument(..., help="Screen YAML, e.g. examples/screen.yaml."),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Output folder (default: `output:` in the YAML); each material in <out>/<label>/."
    ),
    overwrite: bool = typer.Option(
        False,
        "--overwrite",
        help="Run afresh a material's finished MD runs whose settings no longer match (moved to md/.replaced/).",
    ),
) -> None:
    """Screen materials: run each one's study (shared settings from the file), then tabulate the descriptors
    (E_a, D and σ at 300 K, band centre, g(0), low-ω exponent, Debye frequency, phonon enhancement) with errors,
    Spearman's ρ of each with D and its bootstrap interval, in screen.json and screen.html.

    Each material is an ordinary study in <output>/<label>/: a killed screen resumes where it stopped.
    """
    from ..results import fit_value, positive_text
    from ..workflow.screen import load_screen, run_screen
    from .progress import md_progress

    cfg = load_screen(screen)
    if out is not None:
        cfg.output = str(out)
    with md_progress(f"screen {cfg.name}") as cb:
        report = run_screen(cfg, overwrite=overwrite, progress=lambda label, s, n, t: cb(s, n, t, label))
    import json

    done = json.loads((report.parent / "screen.json").read_text())
    for r in done["rows"]:
        d = positive_text(*fit_value(r), "cm²/s") + ("" if r.get("D_diffusive") else " (no diffusive regime)")
        typer.echo(f"  {r['label']}: D_{r['mobile']}({r['T_rank_K']:g} K) = {d}")
    typer.echo(f"report: {report}")
    if done["failed"]:
        first = done["failed"][0]
        typer.echo(
            f"superionic: error: {len(done['failed'])} material(s) did not finish ({first['label']}: {first['error']})",
            err=True,
        )
        raise typer.Exit(1)
