"""`superionic md`: run MD of a material (one temperature or a ladder) and write H5MD trajectories."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from .app import app


@app.command("md")
def md_cmd(
    ctx: typer.Context,
    material: str | None = typer.Argument(
        None,
        help="A library material (Li6PS5Cl, Li3PS4, Na3PS4, Li10GeP2S12, Li7La3Zr2O12, LiAlCl4, AgI; parameters as "
        "Li6PS5Cl:exchange=0.25,li=random,seed=1) or a structure file (CIF, POSCAR …; "
        "partial occupancies need FILE:disorder=approximant|random).",
    ),
    temperature: str | None = typer.Option(
        None,
        "--temperature",
        "-T",
        help="Temperature in K; a comma list (300,450,600) runs a ladder, one sub-folder T<T>K per temperature.",
    ),
    steps: int = typer.Option(2000, "--steps", help="Production MD steps (written)."),
    dt: float = typer.Option(2.0, "--dt", help="Integration time step in fs."),
    stride: int = typer.Option(5, "--stride", help="Write positions and velocities every this many steps."),
    equilibration: int = typer.Option(
        500, "--equilibration", help="Equilibration steps before production (not written)."
    ),
    supercell: str = typer.Option("1x1x1", "--supercell", help="Repeat the cell: 2x2x2, or by size: 200atoms, 12A."),
    potential: str = typer.Option(
        "chgnet",
        "--potential",
        help="Registered potential (see `superionic potentials`), a LAMMPS potential's .lammps.json written by "
        "`superionic train-potential`, or a CHGNet/SevenNet model file.",
    ),
    engine: str = typer.Option(
        "auto", "--engine", help="MD engine: auto (the potential's own), ase, or lammps (fast distilled potentials)."
    ),
    ranks: int = typer.Option(
        1,
        "--ranks",
        min=1,
        help="MPI ranks for the LAMMPS engine (e.g. 2 on a 2-core "
        "machine: about twice as fast); the ASE engine ignores it.",
    ),
    protocol: str = typer.Option(
        "free", "--protocol", help="free | frozen-host | tethered | rigid-anions (phonon suppression)."
    ),
    reference: Path | None = typer.Option(
        None, "--reference", help="Free run folder at the same T (frozen-host, tethered)."
    ),
    stiffness: float = typer.Option(1.0, "--stiffness", help="Tether spring constant in eV/Å² (tethered)."),
    host_reference: str = typer.Option(
        "mean",
        "--host-reference",
        help="Where frozen-host and tethered runs hold the host atoms (everything but the mobile ions), taken from "
        "the --reference free run: mean = their average positions over that run (default; refused when atoms "
        "changed places, e.g. PS4 units rotating at high T); snapshot = the run's last frame; quenched = that "
        "frame relaxed to its nearest energy minimum with the same potential; auto = mean when it is a "
        "valid structure, else quenched. The enhancement D_free/D_suppressed depends on this choice.",
    ),
    host_time: float = typer.Option(
        1.0,
        "--host-time",
        help="Where in the --reference run a snapshot or quenched host is taken and the mobile ions start, as a "
        "fraction of its length (1: its last frame; 0.5: its middle frame). Several values give several frozen hosts.",
    ),
    thermostat: str = typer.Option(
        "langevin", "--thermostat", help="Production thermostat: langevin | bussi | nose-hoover | nve."
    ),
    friction: float = typer.Option(0.001, "--friction", help="Langevin friction in production, 1/fs."),
    tau: float = typer.Option(100.0, "--tau", help="Bussi / Nosé–Hoover coupling time, fs."),
    seed: int = typer.Option(0, "--seed", help="Random seed (velocities and thermostat)."),
    out: Path = typer.Option(
        Path("md-run"), "--out", "-o", help="Output folder (trajectory.h5, run.json, thermo.csv)."
    ),
    resume: Path | None = typer.Option(
        None,
        "--resume",
        help="Continue the killed run (or ladder) in this folder, with the settings it was started with.",
    ),
    overwrite: bool = typer.Option(
        False,
        "--overwrite",
        help="Replace the run already in --out (its files are "
        "deleted). Without it a finished run is kept when the "
        "settings are the same and refused when they differ.",
    ),
) -> None:
    """Run MD with a machine-learned potential; positions and velocities go to H5MD, resumable after a kill.

    A run folder is locked while a run writes it, and a run already there is never replaced without
    --overwrite.
    """
    from ..errors import InputError
    from ..materials import build_material
    from ..md import MDSettings, run_ladder, run_md
    from ..md.lock import folder_lock
    from ..md.run import check_run_folder, clear_run
    from ..potentials import get_potential
    from .progress import md_progress

    if resume is not None:
        if overwrite:
            raise typer.BadParameter(
                "--resume continues the run in a folder and --overwrite replaces it: give one of them",
                param_hint="--overwrite",
            )
        ladder_file = resume / "ladder.json"
        rungs = sorted(resume.glob("T*K/run.json")) if ladder_file.exists() else []
        info_path = rungs[0] if rungs else resume / "run.json"
        if not info_path.exists():
            raise InputError(f"{resume} is not a run folder (no run.json); start a run with --out first")
        info = json.loads(info_path.read_text())
        settings = MDSettings.from_dict(info["settings"])
        meta = info["settings"].get("metadata", {})
        if rungs:  # rung i of a ladder runs with seed + i: the ladder's own seed
            settings.seed -= int(meta.get("ladder_index", 0))
        stored_material, stored_supercell = meta.get("material"), meta.get("supercell", "1x1x1")
        pot = info.get("potential", {})
        stored_potential = pot.get("model_file") or pot.get("name", potential)
        temps = json.loads(ladder_file.read_text())["temperatures"] if rungs else [settings.temperature]
        if stored_material is None:
            raise InputError(f"{info_path} does not record the material; start a new run")
        conflicts = _resume_conflicts(
            ctx, locals(), settings, info, temps, stored_material, stored_supercell, stored_potential, resume
        )
        if conflicts:
            raise InputError(
                f"--resume continues the run in {resume} with the settings it was started with, and "
                f"these options differ from them: {'; '.join(conflicts)}. Drop them, or start a new run "
                "with another --out (a finished run is not extended)"
            )
        material, supercell, potential, out = stored_material, stored_supercell, stored_potential, resume
        if info.get("engine") and _given(ctx, "engine") is False:
            engine = info["engine"]
    else:
        if material is None or temperature is None:
            raise InputError("give a MATERIAL and --temperature (or --resume DIR)")
        try:
            temps = [float(t) for t in temperature.split(",") if t.strip()]
        except ValueError:
            raise InputError(f"--temperature takes a number or a comma list, got {temperature!r}") from None
        settings = MDSettings(
            temperature=temps[0],
            steps=steps,
            dt=dt,
            stride=stride,
            equilibration_steps=equilibration,
            seed=seed,
            thermostat=thermostat,
            production_friction=friction,
            tau=tau,
            protocol=protocol,
            reference=None if reference is None else str(reference),
            tether_stiffness=stiffness,
            host_reference=host_reference,
            host_time=host_time,
            metadata={"material": material, "supercell": supercell},
        )
        settings.validate()
        for T in temps:
            if not T > 0:
                raise InputError(f"temperature must be > 0 K, got {T}")
    spec = get_potential(potential)
    engine_name = spec.engine if engine == "auto" else engine
    resuming = resume is not None
    with folder_lock(out, "superionic md"):
        if len(temps) == 1 and not (out / "ladder.json").exists():
            action = check_run_folder(
                out, settings, potential={"name": spec.name}, engine=engine_name, resume=resuming, overwrite=overwrite
            )
            if action == "keep":
                typer.echo(
                    f"the run in {out} is finished, nothing to resume: {out / 'trajectory.h5'}"
                    if resuming
                    else f"{out} already holds this run, finished with the same settings: kept "
                    f"{out / 'trajectory.h5'} (--overwrite runs it again)"
                )
                return
            if action == "overwrite":
                clear_run(out)
            atoms = build_material(material, supercell)
            if engine_name == "lammps" and action != "resume":  # a resume starts from its checkpoint
                from ..md.run import host_reference_start

                quench = settings.host_reference in ("quenched", "auto")
                atoms, settings = host_reference_start(atoms, settings, spec.make() if quench else None)
            # On the ASE engine run_nvt locks the folder and calls check_run_folder again. Both are harmless:
            # folder_lock counts re-entries per process (md.lock keeps the one flock of this process and does
            # not open a second descriptor, which flock would refuse), and the second check sees what this
            # one left: "new" after clear_run or on an empty folder, "resume" for the same checkpoint and
            # settings; "keep" has returned above. The LAMMPS engine does neither, so they stay here.
            with md_progress(f"MD {material} {settings.temperature:g} K") as cb:
                path = run_md(
                    atoms, spec, settings, out, engine=engine, resume=action == "resume", progress=cb, ranks=ranks
                )
            typer.echo(f"{'resumed and finished' if action == 'resume' else 'wrote'} {path}")
            return
        if engine_name == "lammps":
            raise InputError("temperature ladders run on the ASE engine; for LAMMPS run one temperature per call")
        from dataclasses import replace

        from ..md.ladder import temperature_dirname

        actions = {}
        for i, T in enumerate(temps):  # the rungs as run_ladder makes them: check them all before any MD
            rung = replace(settings, temperature=float(T), seed=settings.seed + i)
            actions[T] = check_run_folder(
                out / temperature_dirname(float(T)),
                rung,
                potential={"name": spec.name},
                engine="ase",
                resume=resuming,
                overwrite=overwrite,
            )
        if overwrite:
            for T in temps:
                clear_run(out / temperature_dirname(float(T)))
        if all(a == "keep" for a in actions.values()):
            typer.echo(
                f"the ladder in {out} is finished, nothing to resume"
                if resuming
                else f"{out} already holds this ladder, finished with the same settings: kept "
                "(--overwrite runs it again)"
            )
            return
        atoms = build_material(material, supercell)
        calc = spec.make()
        with md_progress(f"MD ladder {material}") as cb:
            paths = run_ladder(
                atoms,
                calc,
                settings,
                temps,
                out,
                potential=spec.identity(),
                resume=resuming,
                progress=lambda T, s, n, temp: cb(s, n, temp),
            )
    for T, p in paths.items():
        verb = {"keep": "kept (finished)", "resume": "resumed and finished"}.get(actions[T], "wrote")
        typer.echo(f"{T:g} K: {verb} {p}")


def _given(ctx: typer.Context, name: str) -> bool:
    """Whether the option `name` was given on the command line (or by environment), not defaulted."""
    src = ctx.get_parameter_source(name)  # typer may vendor click: compare by name
    return getattr(src, "name", None) in ("COMMANDLINE", "ENVIRONMENT", "PROMPT")


def _resume_conflicts(
    ctx: typer.Context,
    given: dict,
    settings,
    info: dict,
    temps: list,
    material: str,
    supercell: str,
    potential: str,
    folder: Path,
) -> list[str]:
    """The options given with --resume that differ from the stored run: 'option given (run: stored)'."""
    import os

    def same_path(a, b) -> bool:
        return a is not None and b is not None and os.path.realpath(str(a)) == os.path.realpath(str(b))

    stored = {
        "material": (material, lambda v: v == material or same_path(v, material)),
        "temperature": (",".join(f"{t:g}" for t in temps), lambda v: _floats(v) == [float(t) for t in temps]),
        "steps": (settings.steps, None),
        "dt": (settings.dt, None),
        "stride": (settings.stride, None),
        "equilibration": (settings.equilibration_steps, None),
        "supercell": (supercell, None),
        "potential": (potential, lambda v: v == potential or same_path(v, potential)),
        "engine": (info.get("engine", "ase"), lambda v: v in ("auto", info.get("engine", "ase"))),
        "protocol": (settings.protocol, None),
        "reference": (settings.reference, lambda v: same_path(v, settings.reference)),
        "stiffness": (settings.tether_stiffness, None),
        "host_reference": (settings.host_reference, None),
        "host_time": (settings.host_time, None),
        "thermostat": (settings.thermostat, None),
        "friction": (settings.production_friction, None),
        "tau": (settings.tau, None),
        "seed": (settings.seed, None),
        "out": (folder, lambda v: same_path(v, folder)),
    }
    out = []
    for name, (value, same) in stored.items():
        if not _given(ctx, name):
            continue
        v = given[name]
        if not (same(v) if same else v == value):
            flag = {"temperature": "-T", "host_reference": "--host-reference", "host_time": "--host-time"}.get(
                name, f"--{name}"
            )
            out.append(f"{flag} {v} (run: {value})")
    return out


def _floats(text: str) -> list[float] | None:
    try:
        return [float(t) for t in str(text).split(",") if t.strip()]
    except ValueError:
        return None
