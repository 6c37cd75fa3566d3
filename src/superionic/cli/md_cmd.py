"""`superionic md`: run MD of a material (one temperature or a ladder) and write H5MD trajectories."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from .app import app


@app.command("md")
def md_cmd(
    material: Optional[str] = typer.Argument(
        None, help="A library material (Li6PS5Cl, Li3PS4, Li10GeP2S12, Li7La3Zr2O12, AgI; parameters as "
                   "Li6PS5Cl:exchange=0.25,li=random,seed=1) or a structure file (CIF, POSCAR …; "
                   "partial occupancies need FILE:disorder=approximant|random)."),
    temperature: Optional[str] = typer.Option(
        None, "--temperature", "-T", help="Temperature in K; a comma list (300,450,600) runs a ladder, "
                                          "one sub-folder T<T>K per temperature."),
    steps: int = typer.Option(2000, "--steps", help="Production MD steps (written)."),
    dt: float = typer.Option(2.0, "--dt", help="Integration time step in fs."),
    stride: int = typer.Option(5, "--stride", help="Write positions and velocities every this many steps."),
    equilibration: int = typer.Option(500, "--equilibration", help="Equilibration steps before production (not written)."),
    supercell: str = typer.Option("1x1x1", "--supercell", help="Repeat the cell: 2x2x2, or by size: 200atoms, 12A."),
    potential: str = typer.Option("chgnet", "--potential", help="Registered potential (see `superionic potentials`) or a model file."),
    engine: str = typer.Option("auto", "--engine", help="MD engine: auto (the potential's own), ase, or lammps (fast distilled potentials)."),
    ranks: int = typer.Option(1, "--ranks", min=1, help="MPI ranks for the LAMMPS engine (e.g. 2 on a 2-core "
                                                        "machine: about twice as fast); the ASE engine ignores it."),
    protocol: str = typer.Option("free", "--protocol", help="free | frozen-host | tethered | rigid-anions (phonon suppression)."),
    reference: Optional[Path] = typer.Option(None, "--reference", help="Free run folder at the same T (frozen-host, tethered)."),
    stiffness: float = typer.Option(1.0, "--stiffness", help="Tether spring constant in eV/Å² (tethered)."),
    host_reference: str = typer.Option(
        "mean", "--host-reference",
        help="Where frozen-host and tethered runs hold the host atoms (everything but the mobile ions), taken from "
             "the --reference free run: mean = their average positions over that run (default; refused when atoms "
             "changed places, e.g. PS4 units rotating at high T); snapshot = the run's last frame; quenched = that "
             "frame relaxed to its nearest energy minimum with the same potential; auto = mean when it is a "
             "valid structure, else quenched. The enhancement D_free/D_suppressed depends on this choice."),
    thermostat: str = typer.Option("langevin", "--thermostat", help="Production thermostat: langevin | bussi | nose-hoover | nve."),
    friction: float = typer.Option(0.001, "--friction", help="Langevin friction in production, 1/fs."),
    tau: float = typer.Option(100.0, "--tau", help="Bussi / Nosé–Hoover coupling time, fs."),
    seed: int = typer.Option(0, "--seed", help="Random seed (velocities and thermostat)."),
    out: Path = typer.Option(Path("md-run"), "--out", "-o", help="Output folder (trajectory.h5, run.json, thermo.csv)."),
    resume: Optional[Path] = typer.Option(None, "--resume", help="Continue the killed run (or ladder) in this folder."),
) -> None:
    """Run MD with a machine-learned potential; positions and velocities go to H5MD, resumable after a kill."""
    from ..errors import InputError
    from ..materials import build_material
    from ..md import MDSettings, run_ladder, run_md
    from ..potentials import get_potential
    from .progress import md_progress

    if resume is not None:
        rungs = sorted(resume.glob("T*K/run.json")) if (resume / "ladder.json").exists() else []
        info_path = rungs[0] if rungs else resume / "run.json"
        if not info_path.exists():
            raise InputError(f"{resume} is not a run folder (no run.json); start a run with --out first")
        info = json.loads(info_path.read_text())
        settings = MDSettings.from_dict(info["settings"])
        meta = info["settings"].get("metadata", {})
        material, supercell = meta.get("material"), meta.get("supercell", "1x1x1")
        pot = info.get("potential", {})
        potential = pot.get("model_file") or pot.get("name", potential)
        temps = (json.loads((resume / "ladder.json").read_text())["temperatures"] if rungs
                 else [settings.temperature])
        out = resume
        if material is None:
            raise InputError(f"{info_path} does not record the material; start a new run")
    else:
        if material is None or temperature is None:
            raise InputError("give a MATERIAL and --temperature (or --resume DIR)")
        try:
            temps = [float(t) for t in temperature.split(",") if t.strip()]
        except ValueError:
            raise InputError(f"--temperature takes a number or a comma list, got {temperature!r}") from None
        settings = MDSettings(temperature=temps[0], steps=steps, dt=dt, stride=stride,
                              equilibration_steps=equilibration, seed=seed, thermostat=thermostat,
                              production_friction=friction, tau=tau, protocol=protocol,
                              reference=None if reference is None else str(reference), tether_stiffness=stiffness,
                              host_reference=host_reference,
                              metadata={"material": material, "supercell": supercell})
        settings.validate()
        for T in temps:
            if not T > 0:
                raise InputError(f"temperature must be > 0 K, got {T}")
    atoms = build_material(material, supercell)
    spec = get_potential(potential)
    if len(temps) == 1 and not (out / "ladder.json").exists():
        if (spec.engine if engine == "auto" else engine) == "lammps":
            from ..md.run import host_reference_start
            quench = settings.host_reference in ("quenched", "auto")
            atoms, settings = host_reference_start(atoms, settings, spec.make() if quench else None)
        with md_progress(f"MD {material} {settings.temperature:g} K") as cb:
            path = run_md(atoms, spec, settings, out, engine=engine, resume=resume is not None, progress=cb,
                          ranks=ranks)
        typer.echo(f"wrote {path}")
        return
    if (spec.engine if engine == "auto" else engine) == "lammps":
        raise InputError("temperature ladders run on the ASE engine; for LAMMPS run one temperature per call")
    calc = spec.make()
    with md_progress(f"MD ladder {material}") as cb:
        paths = run_ladder(atoms, calc, settings, temps, out, potential=spec.identity(), resume=resume is not None,
                           progress=lambda T, s, n, temp: cb(s, n, temp))
    for T, p in paths.items():
        typer.echo(f"{T:g} K: wrote {p}")
