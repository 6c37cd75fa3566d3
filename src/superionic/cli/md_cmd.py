"""`superionic md`: run NVT MD of a material and write an H5MD trajectory."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .app import app


@app.command("md")
def md_cmd(
    material: Optional[str] = typer.Argument(None, help="A library material (e.g. Li6PS5Cl) or a structure file (CIF, POSCAR …)."),
    temperature: Optional[float] = typer.Option(None, "--temperature", "-T", help="Temperature in K."),
    steps: int = typer.Option(2000, "--steps", help="Production MD steps."),
    dt: float = typer.Option(2.0, "--dt", help="Integration time step in fs."),
    stride: int = typer.Option(5, "--stride", help="Write positions and velocities every this many steps."),
    equilibration: int = typer.Option(500, "--equilibration", help="Equilibration steps before production (not written)."),
    supercell: str = typer.Option("1x1x1", "--supercell", help="Repeat the cell, e.g. 2x2x2."),
    potential: str = typer.Option("chgnet", "--potential", help="Registered potential (see `superionic info`)."),
    seed: int = typer.Option(0, "--seed", help="Random seed (velocities and thermostat)."),
    out: Path = typer.Option(Path("md-run"), "--out", "-o", help="Output folder (trajectory.h5, run.json)."),
    resume: Optional[Path] = typer.Option(None, "--resume", help="Continue the killed run in this folder."),
) -> None:
    """Run NVT Langevin MD with a machine-learned potential; positions and velocities go to H5MD."""
    import json

    from ..errors import InputError
    from ..materials import build_material
    from ..md import MDSettings, run_nvt
    from ..potentials import get_potential
    from .progress import md_progress

    if resume is not None:
        info_path = resume / "run.json"
        if not info_path.exists():
            raise InputError(f"{resume} is not a run folder (no run.json); start a run with --out first")
        info = json.loads(info_path.read_text())
        settings = MDSettings(**info["settings"])
        material = info["settings"]["metadata"].get("material")
        supercell = info["settings"]["metadata"].get("supercell", "1x1x1")
        potential = info["potential"].get("name", potential)
        out = resume
    else:
        if material is None or temperature is None:
            raise InputError("give a MATERIAL and --temperature (or --resume DIR)")
        settings = MDSettings(temperature=temperature, steps=steps, dt=dt, stride=stride,
                              equilibration_steps=equilibration, seed=seed,
                              metadata={"material": material, "supercell": supercell})
    atoms = build_material(material, supercell)
    spec = get_potential(potential)
    calc = spec.factory()
    with md_progress(f"MD {material} {settings.temperature:g} K") as cb:
        path = run_nvt(atoms, calc, settings, out, potential=spec.identity(), resume=resume is not None,
                       progress=cb)
    typer.echo(f"wrote {path}")
