"""`superionic run`: a whole study from a YAML file."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .app import app


@app.command("run")
def run_cmd(
    study: Path = typer.Argument(..., help="Study YAML, e.g. examples/quickstart.yaml."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Output folder (default: `output:` in the YAML)."),
) -> None:
    """Run a study: MD at each temperature, analyses, summary.json and report.html.

    A killed study resumes where it stopped when run again; finished MD with the same settings is reused.
    """
    from ..workflow import load_config, run_study
    from .progress import md_progress

    cfg = load_config(study)
    with md_progress(f"study {cfg.name}") as cb:
        report = run_study(cfg, out, progress=lambda label, s, n, t: cb(s, n, t))
    import json
    notes = json.loads((report.parent / "summary.json").read_text()).get("warnings", [])
    if notes:
        typer.echo(f"{len(notes)} warning(s) about the analyses (e.g. runs too short for the resolution): "
                   "listed in the report and summary.json")
    typer.echo(f"report: {report}")
