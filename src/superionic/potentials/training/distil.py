"""Distillation of a fast potential for any material: teacher sampling, SNAP fit, MD validation, gate, registration.

`distil` is the routine behind ``superionic train-potential MATERIAL``:

1. the teacher (CHGNet by default, any registered potential) runs Langevin MD over a temperature ladder (each
   run kept as H5MD for the validation) and labels strained/rattled cells and close contacts;
2. `train.train_snap` fits the candidate SNAP and ML-POD families and keeps one that meets the accuracy targets
   (`train.choose`);
3. `validate.validate` runs the student against every teacher trajectory (VDOS overlap, D of the mobile ions,
   force RMSE on the student's own MD, closest approaches, stability at the highest temperature) and, if all of
   that passes, in the teacher's frozen host (`validate.frozen_host_check`; the teacher's frozen-host runs are kept
   in ``<out>/teacher/frozen-host/``) and once more at the highest temperature in a cell of production size
   (`Gate.production_atoms`, `Gate.production_ps`);
4. with `refine` > 0, a student that fails its gate is refitted with the snapshots of its own MD relabelled by
   the teacher (the regions the teacher's MD never visited, e.g. bonds the student forms at its hottest
   temperature) and validated again, up to `refine` times;
5. a potential that passes `validate.Gate` is registered as a user potential (`potentials.user_potentials`)
   with its validation card; one that fails is refused with its numbers and not registered.

The teacher's samples are kept in ``<out>/teacher/`` and reused when the sampling settings are unchanged, so a
killed or refused distillation restarts at the fit. Units: K, 2 fs steps, eV/Å.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ...errors import InputError
from ...results import atomic_write, write_json
from .validate import MOBILE, Gate, validate


def teacher_settings(
    material: str,
    teacher: str,
    *,
    temperatures: Sequence[float],
    md_steps: int,
    label_every: int,
    strained: int,
    contacts: int,
    mobile: str | None,
    seed: int,
    mobile_contacts: int = 0,
    partner_contacts: Mapping[str, int] | None = None,
    supercell: str | None = None,
    variants: Sequence[str] = (),
    friction: float = 0.001,
    repeats: int = 1,
) -> dict[str, Any]:
    """What determines a teacher sampling (`sample_teacher`), as stored in its ``settings.json`` (JSON types)."""
    from .. import get_potential

    settings: dict[str, Any] = {
        "material": material,
        "supercell": supercell,
        "teacher": get_potential(teacher).identity(),
        "temperatures_K": [float(t) for t in temperatures],
        "md_steps": md_steps,
        "label_every": label_every,
        "strained": strained,
        "close_contacts": contacts,
        "mobile": mobile,
        "seed": seed,
        "production_friction_per_fs": friction,
    }
    if variants:  # only then: folders sampled before variants existed stay reusable
        settings["variants"] = list(variants)
    if mobile_contacts:  # likewise
        settings["mobile_contacts"] = mobile_contacts
    if partner_contacts:  # likewise
        settings["partner_contacts"] = dict(sorted(partner_contacts.items()))
    if repeats > 1:  # likewise
        settings["teacher_repeats"] = repeats
    return json.loads(json.dumps(settings, default=str))


def sample_teacher(
    material: str,
    teacher: str,
    folder: Path,
    *,
    temperatures: Sequence[float],
    md_steps: int,
    label_every: int,
    strained: int,
    contacts: int,
    mobile: str | None,
    seed: int,
    mobile_contacts: int = 0,
    partner_contacts: Mapping[str, int] | None = None,
    supercell: str | None = None,
    variants: Sequence[str] = (),
    overwrite: bool = False,
    workers: int = 1,
    friction: float = 0.001,
    device: str | None = None,
    repeats: int = 1,
    log: Callable[[str], None] = print,
) -> tuple[list, list[Path], dict]:
    """Teacher MD per temperature (labelled snapshots + H5MD in `folder`), strained cells, close contacts of
    the `mobile` ion (default: the first of `validate.MOBILE` in the material) with any neighbour and
    (`mobile_contacts`) with another mobile ion and (`partner_contacts`, {species: n}) with an atom of that species,
    e.g. a host cation (`teach.sample_pool`). variants: more materials sampled
    the same way (e.g. 'Li6PS5Cl:exchange=0.5,seed=1' for S/Cl disorder); their runs are ``<m>-T<K>.h5``.

    Returns (labelled Atoms, the H5MD paths, the teacher's identity). Reuses `folder` when it holds a
    finished sampling with the same settings, and the finished MD runs of a killed one, of a ladder that
    `temperatures` extends at its end (each run's seed is seed + its index in the ladder) or of fewer `repeats`
    (each repeat has its own seed, `teach.run_seed`); one with other settings
    is an InputError unless overwrite. workers: teacher MD runs at once (`teach.sample_pool`). friction: Langevin
    friction of the teacher MD after equilibration (1/fs), which the student's validation runs copy. device: where
    the teacher runs ('cpu', 'cuda'; default its registered option); not part of the settings, so samples made on
    a GPU are reused on a CPU machine. repeats: MD runs per material and temperature (`teach.sample_pool`); the
    returned paths are the first run of each.
    """
    import ase.io

    from ...materials import build_material
    from .. import get_potential
    from .sampling import teacher_calculator
    from .teach import run_files, sample_pool

    spec = get_potential(teacher)
    settings = teacher_settings(
        material,
        teacher,
        temperatures=temperatures,
        md_steps=md_steps,
        label_every=label_every,
        strained=strained,
        contacts=contacts,
        mobile=mobile,
        seed=seed,
        mobile_contacts=mobile_contacts,
        partner_contacts=partner_contacts,
        supercell=supercell,
        variants=variants,
        friction=friction,
        repeats=repeats,
    )
    names = [material, *variants]
    cells = [build_material(m, supercell) for m in names]
    atoms = cells[0]
    missing = sorted(set(partner_contacts or {}) - set(atoms.get_chemical_symbols()))
    if missing:  # before anything in `folder` is touched
        raise InputError(f"no {', '.join(missing)} in {material} to push the mobile ion towards (partner contacts)")
    samples, meta = folder / "samples.extxyz", folder / "settings.json"
    runs = [
        run_files(folder, len(names), m, float(t), r)
        for m in range(len(names))
        for t in temperatures
        for r in range(repeats)
    ]
    paths = [run_files(folder, len(names), m, float(t))[0] for m in range(len(names)) for t in temperatures]
    reuse_md: list = []
    resume = False
    if meta.exists():
        stored = json.loads(meta.read_text())
        wanted = settings
        if _ladder_extended(stored, wanted):  # each finished run keeps its seed (seed + index): it is reused
            log(f"the temperature ladder extends the one sampled in {folder}: its finished MD runs are reused")
            stored = dict(wanted)
        if _repeats_added(stored, wanted):  # run r of each temperature keeps its seed (`teach.run_seed`)
            log(f"more teacher runs per temperature than sampled in {folder}: its finished MD runs are reused")
            stored = dict(wanted)
        finished = samples.exists() and all(h5.exists() for h5, _ in runs)
        single_points = ("strained", "close_contacts", "mobile_contacts", "partner_contacts")
        md_kept = finished and {k: v for k, v in stored.items() if k not in single_points} == {
            k: v for k, v in wanted.items() if k not in single_points
        }  # only the strained cells or close contacts changed: the (expensive) teacher MD is kept
        if stored != wanted and not overwrite:
            raise InputError(
                f"{folder} holds teacher samples made with other settings; give another --out, or --overwrite"
                + (" (only the strained cells and close contacts differ: its teacher MD is kept)" if md_kept else "")
            )
        if stored == wanted and finished:
            log(f"reusing the teacher samples in {folder}")
            return list(ase.io.read(samples, index=":")), paths, spec.identity()
        resume = stored == wanted  # a killed sampling: its finished MD runs are kept
        if md_kept:
            reuse_md = [a for a in ase.io.read(samples, index=":") if a.info.get("source") == "teacher-md"]
    folder.mkdir(parents=True, exist_ok=True)
    samples.unlink(missing_ok=True)  # samples of other settings must not pass for these if this run is killed
    if not resume and not reuse_md:  # nor may the MD runs of other settings
        for _, labels in runs:
            labels.unlink(missing_ok=True)
    write_json(meta, settings)
    calc = teacher_calculator(teacher, device)
    mobile = mobile or next((s for s in MOBILE if s in atoms.get_chemical_symbols()), None)
    if (contacts or mobile_contacts or partner_contacts) and (
        mobile is None or mobile not in atoms.get_chemical_symbols()
    ):
        log(f"no {mobile} in {material}: no close contacts sampled (give --mobile)")
        contacts = mobile_contacts = 0
        partner_contacts = None
    log(f"teacher: {teacher}")
    if reuse_md:
        log(f"reusing the teacher MD in {folder} ({len(reuse_md)} snapshots); new strained cells and close contacts")
    frames = sample_pool(
        cells,
        calc,
        temperatures,
        md_steps=md_steps,
        label_every=label_every,
        strained=strained,
        contacts=contacts,
        mobile=mobile or "Li",
        mobile_contacts=mobile_contacts,
        partner_contacts=partner_contacts,
        seed=seed,
        h5md_dir=folder,
        md_frames=reuse_md or None,
        resume=resume,
        workers=workers,
        teacher=teacher,
        friction=friction,
        device=device,
        repeats=repeats,
        log=log,
    )
    _write_frames(samples, frames)
    return frames, paths, spec.identity()


def distil(
    material: str,
    name: str,
    out: str | Path,
    *,
    teacher: str = "chgnet",
    temperatures: Sequence[float] = (300.0, 600.0, 900.0, 1200.0),
    md_steps: int = 2000,
    label_every: int = 20,
    strained: int = 40,
    contacts: int = 0,
    mobile: str | None = None,
    mobile_contacts: int = 0,
    partner_contacts: Mapping[str, int] | None = None,
    families: Sequence[str] = ("linear-6", "quadratic-4", "quadratic-4+pair", "pod", "pod+4body"),
    zbl: tuple[float, float] | None = (1.2, 1.6),
    radius: float | None = None,
    version: str = "1",
    seed: int = 0,
    supercell: str | None = None,
    variants: Sequence[str] = (),
    validate_steps: int | None = None,
    gate: Gate | None = None,
    refine: int = 0,
    own_snapshots: int = 10,
    register: bool = True,
    overwrite: bool = False,
    workers: int = 1,
    friction: float = 0.001,
    device: str | None = None,
    teacher_repeats: int = 1,
    student_runs: Sequence[str | Path] = (),
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Distil, validate and (if it passes the gate) register a SNAP potential of `material`; see module doc.

    supercell: of the teacher's and the student's MD ('2x2x2', '100atoms', '12A'; default the cell as built).
    mobile_contacts: close contacts between two mobile ions, besides `contacts` with any neighbour (`sample_teacher`);
    partner_contacts: {species: n} close contacts of a mobile ion with an atom of that species (e.g. a host cation).
    variants: more materials the teacher samples and the student is validated on (`sample_teacher`).
    validate_steps: student MD steps per teacher temperature (default 4 × md_steps). own_snapshots: frames of
    the student's MD per temperature relabelled by the teacher (the gate's own-MD force RMSE). refine: refits,
    each with every relabelled snapshot so far added to the training split (kept in
    ``<out>/teacher/student-md.extxyz``), while the gate fails; each round's card is kept as
    ``NAME-vV.roundK.validation.json`` and the final card lists the rounds under "refinement". Returns the
    validation card with "registered" (the user-folder description, or None). Raises InputError with the reasons
    when the gate fails (the fitted files and card stay in `out`, unregistered). workers: teacher MD runs at once.
    friction: Langevin friction (1/fs) of the production part of the teacher's MD and of the student's validation
    runs (default: a study's production friction; at 0.01/fs heavy ions are overdamped and a flowing host can hide).
    device: where the teacher runs ('cpu', 'cuda'; `sample_teacher`). teacher_repeats: teacher MD runs per
    temperature (other seeds), whose spread the gate's host check counts (`validate.host_msd`). student_runs: H5MD
    runs of an earlier student (e.g. one that collapsed) relabelled by the teacher (`validate.relabel_student_run`,
    `own_snapshots` evenly spread frames each) and trained on in every round, like the student's own snapshots.
    """
    from ...trajectory import read_h5md
    from ..lammps_potentials import LammpsPotential
    from ..registry import file_sha256
    from ..user_potentials import register_potential
    from .sampling import teacher_calculator
    from .teach import run_files
    from .train import train_snap

    out = Path(out)
    gate = gate or Gate()
    frames, paths, identity = sample_teacher(
        material,
        teacher,
        out / "teacher",
        temperatures=temperatures,
        md_steps=md_steps,
        label_every=label_every,
        strained=strained,
        contacts=contacts,
        mobile=mobile,
        mobile_contacts=mobile_contacts,
        partner_contacts=partner_contacts,
        seed=seed,
        supercell=supercell,
        variants=variants,
        overwrite=overwrite,
        workers=workers,
        friction=friction,
        device=device,
        repeats=teacher_repeats,
        log=log,
    )
    names = [material, *variants]
    repeats = [
        [read_h5md(run_files(out / "teacher", len(names), m, float(t), r)[0]) for r in range(1, teacher_repeats)]
        for m in range(len(names))
        for t in temperatures
    ]
    production_cell = (
        production_size_cell(material, supercell, gate.production_atoms) if gate.production_ps > 0 else None
    )
    samples_sha = file_sha256(out / "teacher" / "samples.extxyz")[:16]
    # the student's own snapshots relabelled by the teacher, the rounds so far, the last validated round's card
    start, own, rounds, card = _refinement_so_far(out, name, version, refine, samples_sha, gate, log)
    calc = teacher_calculator(teacher, device)  # one model for the relabels and every round's validation
    if student_runs and start == 0:  # a resumed refinement has them in its own snapshots already
        from .validate import relabel_student_run

        for run in student_runs:
            labelled = relabel_student_run(read_h5md(run), calc, relabel=own_snapshots)
            log(f"{run}: {len(labelled)} frames relabelled by the teacher for the training")
            own.extend(labelled)
        _write_frames(out / "teacher" / "student-md.extxyz", own)
    card_path = out / f"{name}-v{version}.validation.json"
    for k in range(start, refine + 1):
        try:
            record = train_snap(
                [*frames, *own],
                out,
                name,
                version=version,
                families=families,
                zbl=zbl,
                radius=radius,
                seed=seed,
                teacher=dict(
                    identity,
                    material=material,
                    variants=list(variants),
                    temperatures_K=list(temperatures),
                    md_steps=md_steps,
                ),
                force_target=gate.force_rmse,
                # the gate's held-out set: the teacher's MD (`validate.held_out`)
                val_max_temperature=max(temperatures),
                log=log,
            )
        except InputError as err:
            if k == 0:
                raise
            # the refit with the student's snapshots has no usable candidate: the last validated round stands
            why = str(err).splitlines()[0]
            rounds.append({"round": k, "student_snapshots_in_training": len(own), "family": None, "failures": [why]})
            card["refinement"] = list(rounds)
            card["failures"] = [*card["failures"], f"round {k} refit ({len(own)} own snapshots): {why}"]
            log(f"round {k}: the refit is unusable ({why}); round {k - 1} is the last validated one")
            break
        pot = LammpsPotential.from_json(record["potential_json"])
        if refine:
            _keep_round_files(out, f"{name}-v{version}", Path(record["potential_json"]), k)
        keep: list = []
        card = validate(
            pot,
            [read_h5md(p) for p in paths],
            calc,
            steps=validate_steps or 4 * md_steps,
            training=record,
            gate=gate,
            relabel=own_snapshots,
            keep=keep,
            production_cell=production_cell,
            repeats=repeats,
            frozen_host_dir=out / "teacher" / "frozen-host",
            log=log,
        )
        card["material"] = material
        if student_runs:
            card["student_runs"] = [str(r) for r in student_runs]
        rounds.append(
            {
                "round": k,
                "student_snapshots_in_training": len(own),
                "family": card["family"],
                "failures": card["failures"],
            }
        )
        if refine:
            card["refinement"] = list(rounds)
            card["samples_sha256_16"] = samples_sha
            write_json(out / f"{round_stem(f'{name}-v{version}', k)}.validation.json", card)
        if card["passed"]:
            break
        if refine:  # kept for the next round, and for a rerun with a larger --refine to resume from
            own.extend(keep)
            _write_frames(out / "teacher" / "student-md.extxyz", own)
        if k == refine:
            break
        n = len(card["failures"])
        log(
            f"round {k}: the gate fails ({n} reason{'s' if n != 1 else ''}: {card['failures'][0]}"
            f"{' …' if n > 1 else ''}); refitting with {len(own)} snapshots of the student's own MD relabelled by "
            "the teacher"
        )
    write_json(card_path, card)
    if not card["passed"]:
        raise InputError(
            f"{name} v{version} fails its gate and is not registered: "
            + "; ".join(card["failures"])
            + f" (card: {card_path})"
        )
    card["registered"] = (
        str(register_potential(record["potential_json"], card, overwrite=overwrite)) if register else None
    )
    return card


def round_stem(stem: str, k: int | str) -> str:
    """Stem of refinement round k's files (``NAME-vV.roundK``; k = "*" gives a glob pattern)."""
    return f"{stem}.round{k}"


def is_round_fit(path: Path, stem: str) -> bool:
    """Whether `path` is a round's kept fit (``STEM.roundK.*``), not a round card (``.validation.json``)."""
    return path.name.startswith(round_stem(stem, "")) and not path.name.endswith(".validation.json")


def _keep_round_files(out: Path, stem: str, potential_json: Path, k: int) -> None:
    """Copy round k's fitted files (``STEM.*``) to ``STEM.roundK.*`` with a description ``STEM.roundK.lammps.json``
    that names them (usable as ``--potential``): a later round replaces the files, and is not always better.
    """
    import shutil

    for f in out.glob(f"{stem}.*"):  # the fit's files: neither a round's files nor a card
        if not f.name.startswith(round_stem(stem, "")) and not f.name.endswith("validation.json"):
            shutil.copyfile(f, out / f"{round_stem(stem, k)}.{f.name[len(stem) + 1 :]}")
    text = potential_json.read_text().replace(f"{stem}.", f"{round_stem(stem, k)}.")
    atomic_write(out / f"{round_stem(stem, k)}.lammps.json", lambda tmp: Path(tmp).write_text(text))


def _refinement_so_far(
    out: Path, name: str, version: str, refine: int, samples_sha: str, gate: Gate, log: Callable[[str], None]
) -> tuple[int, list, list[dict[str, Any]], dict[str, Any]]:
    """(first round to run, own snapshots, rounds, last card) of a refinement: a killed or stopped one resumes after
    its last failed round in `out` whose card was made on the same teacher samples (`samples_sha`) under the same
    gate, with the snapshots it added (``teacher/student-md.extxyz``); else (0, [], [], {}).
    """
    import ase.io

    snapshots = out / "teacher" / "student-md.extxyz"
    if not snapshots.exists():
        return 0, [], [], {}
    for k in range(refine - 1, -1, -1):
        path = out / f"{round_stem(f'{name}-v{version}', k)}.validation.json"
        if not path.exists():
            continue
        card = json.loads(path.read_text())
        own = list(ase.io.read(snapshots, index=":"))
        had = card.get("refinement", [{}])[-1].get("student_snapshots_in_training", 0)
        if (
            card.get("samples_sha256_16") != samples_sha
            or card.get("gate") != asdict(gate)
            or card.get("passed")
            or len(own) <= had
        ):
            return 0, [], [], {}
        log(f"resuming the refinement after round {k} ({path.name}): {len(own)} snapshots of the student's own MD")
        return k + 1, own, list(card["refinement"]), card
    return 0, [], [], {}


def extends_sampling(stored: dict, wanted: dict) -> bool:
    """Whether a teacher folder sampled with `stored` settings (`teacher_settings`) is reused for `wanted` ones by
    `sample_teacher`: the same settings, a temperature ladder extended at its end, or more runs per temperature.
    """
    return stored == wanted or _ladder_extended(stored, wanted) or _repeats_added(stored, wanted)


def _ladder_extended(stored: dict, wanted: dict) -> bool:
    """Whether `wanted` sampling settings only add temperatures at the end of the `stored` ladder."""
    old, new = stored.get("temperatures_K", []), wanted.get("temperatures_K", [])
    rest = [{k: v for k, v in d.items() if k != "temperatures_K"} for d in (stored, wanted)]
    return rest[0] == rest[1] and len(new) > len(old) and new[: len(old)] == old


def _repeats_added(stored: dict, wanted: dict) -> bool:
    """Whether `wanted` sampling settings only ask for more teacher runs per temperature than `stored`."""
    rest = [{k: v for k, v in d.items() if k != "teacher_repeats"} for d in (stored, wanted)]
    return rest[0] == rest[1] and wanted.get("teacher_repeats", 1) > stored.get("teacher_repeats", 1)


def production_size_cell(material: str, supercell: str | None, atoms: int):
    """The most compact supercell of `material` with at least `atoms` atoms, and no smaller than the distillation's
    own cell (`supercell`): where the gate's production-size run happens.
    """
    from ...materials import build_material

    return build_material(material, f"{max(atoms, len(build_material(material, supercell)))}atoms")


def _write_frames(path: Path, frames: Sequence) -> None:
    """Labelled frames to extxyz, atomically."""
    import ase.io

    atomic_write(path, lambda tmp: ase.io.write(tmp, list(frames), format="extxyz"))
