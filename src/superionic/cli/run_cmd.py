"""`superionic run`: a whole study from a YAML file."""

from __future__ import annotations

from pathlib import Path

import typer

from .app import app


@app.command("run")
def run_cmd(
    study: Path = typer.Argument(..., help="Study YAML, e.g. examples/quickstart.yaml."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Output folder (default: `output:` in the YAML)."),
    overwrite: bool = typer.Option(
        False,
        "--overwrite",
        help="Run afresh the finished MD runs whose settings no "
        "longer match the study; the old runs are moved to "
        "md/.replaced/ (without it the study refuses).",
    ),
) -> None:
    """Run a study: MD at each temperature, analyses, summary.json and report.html.

    A killed study resumes where it stopped when run again; finished MD with the same settings is reused.
    A run that fails does not stop the others: they are analysed, summary.json and the report list the
    failure, and the exit code is 1.
    """
    from ..workflow import load_config, run_study
    from .progress import md_progress

    cfg = load_config(study)
    with md_progress(f"study {cfg.name}") as cb:
        report = run_study(cfg, out, progress=lambda label, s, n, t: cb(s, n, t, label), overwrite=overwrite)
    import json

    summary = json.loads((report.parent / "summary.json").read_text())
    notes = summary.get("warnings", [])
    if notes:
        typer.echo(
            f"{len(notes)} warning(s) about the analyses (e.g. runs too short for the resolution): "
            "listed in the report and summary.json"
        )
    typer.echo(f"report: {report}")
    failed = summary.get("failed_runs", [])
    if failed:
        labels = ", ".join(f["label"] for f in failed)
        typer.echo(
            f"superionic: error: {len(failed)} run(s) failed ({labels}; first: {failed[0]['reason']}); the "
            f"others are analysed: see failed_runs in {report.parent / 'summary.json'} and the report",
            err=True,
        )
        raise typer.Exit(1)
