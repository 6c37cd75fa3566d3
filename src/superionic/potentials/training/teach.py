"""Active learning with an expensive teacher (DFT): sample cheaply, label few, refit until the gate holds.

1. `sample_pool`: a fast potential (the shipped SNAP, or CHGNet) runs Langevin MD of each material
   variant over a temperature ladder, plus strained/rattled cells and close contacts; its snapshots are
   the *pool* (their fast-potential labels are only used to build descriptor rows, never fitted).
2. `learn`: label the pool's most novel configurations first (farthest-point sampling), then in rounds
   refit SNAP (`train.train_snap`) on everything labelled and label the configurations on which a
   bootstrap committee disagrees most (`active`), until the held-out force RMSE meets the target or the
   label budget is spent. Labels go to a `LabelStore` one by one, so a killed run resumes where it stopped.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ase import Atoms

from ...errors import InputError
from ...results import atomic_write
from . import train
from .active import select
from .labelling import LabelStore, config_id, label_configurations
from .sampling import close_contacts, strained_rattled, teacher_calculator, teacher_md
from .train import candidates


def sample_pool(
    materials: Sequence[Atoms],
    calculator,
    temperatures: Sequence[float],
    *,
    md_steps: int = 2000,
    label_every: int = 50,
    strained: int = 10,
    contacts: int = 10,
    mobile: str = "Li",
    mobile_contacts: int = 0,
    partner_contacts: Mapping[str, int] | None = None,
    seed: int = 0,
    h5md_dir: Path | None = None,
    md_frames: Sequence[Atoms] | None = None,
    resume: bool = False,
    workers: int = 1,
    teacher: str | None = None,
    friction: float = 0.001,
    device: str | None = None,
    repeats: int = 1,
    log: Callable[[str], None] = print,
) -> list[Atoms]:
    """Labelled configurations from MD of every material variant at every temperature (K), strained and rattled
    cells, close contacts of `mobile` with any neighbour, (`mobile_contacts`) with another `mobile` ion and
    (`partner_contacts`, {species: n}) with an atom of a given species, e.g. a host cation: the candidate pool of
    active learning, or a teacher's training data.

    h5md_dir: also keep each MD run (positions, velocities) as ``T<K>.h5`` there (``<m>-T<K>.h5`` with several
    materials) and its labelled snapshots as ``….labels.extxyz``, each written under a temporary name and renamed
    when complete; with `resume`, a run whose two files exist is read back, not run again (a killed sampling
    loses at most the runs in progress). md_frames: the labelled MD snapshots of an earlier sampling of these
    materials (matched by ``info["material"]``), used instead of running the MD again. workers > 1 (with
    `teacher`, a registered potential's name, and h5md_dir): that many MD runs at once, each in its own process
    on cpu_count // workers threads (Parsl local executor). friction: Langevin friction of the MD after its
    equilibration (1/fs; `sampling.teacher_md`). device: where the parallel tasks build `teacher` ('cpu', 'cuda').
    repeats: MD runs per material and temperature, each with its own seed (`run_seed`); the repeats' files are
    ``T<K>.r<k>.h5`` (the validation counts their scatter; their snapshots join the pool).
    """
    runs = [
        (m, i, float(t), r) for m in range(len(materials)) for i, t in enumerate(temperatures) for r in range(repeats)
    ]
    md: dict[tuple[int, int, float, int], list[Atoms]] = {}
    if md_frames is None:
        md = _teacher_runs(
            materials,
            calculator,
            runs,
            md_steps,
            label_every,
            seed,
            h5md_dir,
            resume,
            workers,
            teacher,
            friction,
            log,
            device,
        )
    pool: list[Atoms] = []
    for m, atoms in enumerate(materials):
        name = str(atoms.info.get("material", f"structure {m}"))
        if md_frames is not None:
            pool += [f for f in md_frames if f.info.get("material") == name]
        for key in (r for r in runs if r[0] == m and md_frames is None):
            for snap in md[key]:
                snap.info["material"] = name
            pool += md[key]
        if strained:
            extra = strained_rattled(atoms, calculator, strained, seed=seed + m)
            for s in extra:
                s.info["material"] = name
            pool += extra
    sources = list(pool)
    if contacts:
        pool += close_contacts(sources, calculator, contacts, mobile=mobile, seed=seed)
    if mobile_contacts:
        pool += close_contacts(sources, calculator, mobile_contacts, mobile=mobile, partner=mobile, seed=seed + 1)
    for k, (partner, n) in enumerate(sorted((partner_contacts or {}).items())):
        pool += close_contacts(sources, calculator, n, mobile=mobile, partner=partner, seed=seed + 2 + k)
    return pool


def run_files(h5md_dir: Path, n_materials: int, m: int, t: float, r: int = 0) -> tuple[Path, Path]:
    """(H5MD, labelled snapshots) of the teacher MD run of material m (of n_materials) at t K in `h5md_dir`; r ≥ 1:
    its r-th repeat (another seed).
    """
    stem = (f"T{t:g}" if n_materials == 1 else f"{m}-T{t:g}") + (f".r{r}" if r else "")
    return Path(h5md_dir) / f"{stem}.h5", Path(h5md_dir) / f"{stem}.labels.extxyz"


def run_seed(seed: int, m: int, i: int, r: int = 0) -> int:
    """Seed of the teacher MD run of material m at the i-th temperature of a ladder sampled with `seed` (r ≥ 1: its
    r-th repeat).
    """
    return seed + 100 * m + i + 10_000 * r


def _teacher_runs(
    materials, calculator, runs, md_steps, label_every, seed, h5md_dir, resume, workers, teacher, friction, log, device
):
    """{(m, i, T, r): labelled snapshots} of every teacher MD run of `sample_pool`; progress is logged every
    `execution.TICK_S` seconds.
    """
    import ase.io

    from ...workflow.execution import TICK_S, throttled

    out: dict = {}
    todo = []
    names = [str(a.info.get("material", f"structure {m}")) for m, a in enumerate(materials)]
    for m, i, t, r in runs:
        files = None if h5md_dir is None else run_files(h5md_dir, len(materials), m, t, r)
        if resume and files is not None and files[0].exists() and files[1].exists():
            log(f"pool: reusing the finished {names[m]} MD at {t:g} K{_nth(r)} ({files[1].name})")
            out[(m, i, t, r)] = list(ase.io.read(files[1], index=":"))
        else:
            todo.append((m, i, t, r, files))
    parallel = workers > 1 and teacher is not None and h5md_dir is not None and len(todo) > 1
    for m, i, t, r, files in todo:
        what = f"pool: {names[m]} MD at {t:g} K{_nth(r)}"
        log(
            f"{what}, {md_steps} steps of 2 fs, {len(materials[m])} atoms"
            + (f" ({workers} runs at once)" if parallel else "")
        )
        if not parallel:
            out[(m, i, t, r)] = md_run(
                calculator,
                materials[m],
                t,
                md_steps,
                label_every,
                run_seed(seed, m, i, r),
                friction,
                files,
                progress=throttled(lambda done, total, _w=what: log(f"{_w}: {done}/{total} steps"), TICK_S),
            )
    if not parallel:
        return out
    from ...workflow.config import ExecutionConfig
    from ...workflow.execution import parsl_session, read_task_progress

    with parsl_session(ExecutionConfig(executor="local", workers=workers), Path(h5md_dir) / "runinfo") as tasks:
        futures = {
            tasks.submit(
                _md_task,
                teacher,
                materials[m],
                t,
                md_steps,
                label_every,
                run_seed(seed, m, i, r),
                friction,
                [str(f) for f in files],
                device,
            ): (m, i, t, r)
            for m, i, t, r, files in todo
        }

        def done(fut, key, running: int) -> None:
            out[key] = list(ase.io.read(fut.result(), index=":"))
            log(
                f"pool: {names[key[0]]} MD at {key[2]:g} K{_nth(key[3])} done ({len(out)}/{len(runs)} runs; "
                f"{running} running)"
            )

        def tick(keys: list, running: int) -> None:
            steps = {
                k: read_task_progress(_progress_file(run_files(h5md_dir, len(materials), k[0], k[2], k[3])[0]))
                for k in keys
            }
            text = [f"{names[m]} {t:g} K{_nth(r)} {p[0]}/{p[1]} steps" for (m, _, t, r), p in steps.items() if p]
            log(
                f"pool: {len(out)}/{len(runs)} runs done, {running} running" + (f" ({'; '.join(text)})" if text else "")
            )

        tasks.wait(futures, done, tick)
    return out


def _nth(r: int) -> str:
    """' (repeat r)' for a repeated run, '' for the first."""
    return f" (repeat {r})" if r else ""


def _progress_file(h5: Path) -> Path:
    """Where the teacher MD task writing the run `h5` reports its steps (`execution.task_progress`)."""
    return h5.with_name(f".{h5.stem}.progress.json")


def md_run(
    calculator,
    atoms: Atoms,
    t: float,
    md_steps: int,
    label_every: int,
    seed: int,
    friction: float,
    files,
    progress: Callable[[int, int], None] | None = None,
) -> list[Atoms]:
    """One teacher MD run (`sampling.teacher_md`); with files = (H5MD, labels) both are written, each atomically.
    progress(steps done, steps in all), equilibration included.
    """
    import ase.io

    kw = {"label_every": label_every, "seed": seed, "production_friction": friction, "progress": progress}
    if files is None:
        return teacher_md(atoms, calculator, t, md_steps, **kw)
    h5, labels = map(Path, files)
    partial = h5.with_name(f".{h5.name}.partial")
    partial.unlink(missing_ok=True)
    snaps = teacher_md(atoms, calculator, t, md_steps, h5md_path=partial, **kw)
    partial.replace(h5)
    atomic_write(labels, lambda tmp: ase.io.write(tmp, snaps, format="extxyz"))
    return snaps


def _md_task(
    teacher: str,
    atoms: Atoms,
    t: float,
    md_steps: int,
    label_every: int,
    seed: int,
    friction: float,
    files,
    device: str | None = None,
) -> str:
    """`md_run` on a worker with the registered potential `teacher`, built there; returns the labels' path. Its
    steps go to a progress file beside the run (`_progress_file`), removed when the run is written.
    """
    from ...workflow.execution import task_progress

    note = _progress_file(Path(files[0]))
    try:
        calc = teacher_calculator(teacher, device)
        md_run(calc, atoms, t, md_steps, label_every, seed, friction, files, task_progress(note))
    finally:
        note.unlink(missing_ok=True)
    return str(files[1])


def learn(
    pool: Sequence[Atoms],
    store: LabelStore,
    teacher_factory: Callable[[], Any],
    out_dir: str | Path,
    name: str,
    *,
    version: str = "1",
    initial: int = 12,
    per_round: int = 8,
    max_labels: int = 200,
    force_target: float = 0.10,
    energy_target: float = 5.0,
    families: Sequence[str] = ("linear-6", "quadratic-4", "quadratic-4+pair"),
    seed: int = 0,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Label and refit in rounds (see the module docstring); returns the last training record with the rounds."""
    if not pool:
        raise InputError("the candidate pool is empty")
    if initial < 3 or per_round < 1 or max_labels < initial:
        raise InputError("need initial ≥ 3, per_round ≥ 1 and max_labels ≥ initial")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    elements = sorted({s for a in pool for s in a.get_chemical_symbols()})
    committee_hyper = candidates(elements, ["linear-6"], zbl=(1.2, 1.6))["linear-6"]
    rounds_file = out / f"{name}-v{version}.rounds.json"
    rounds: list[dict[str, Any]] = json.loads(rounds_file.read_text()) if rounds_file.exists() else []  # resumed
    first = max((int(r["round"]) for r in rounds), default=-1) + 1
    rec: dict[str, Any] = {}
    ids = [config_id(a) for a in pool]
    for k in range(first, first + 10_000):
        labelled = store.frames()
        done = {a.info.get("config_id") for a in labelled}
        left = [i for i, c in enumerate(ids) if c not in done]
        if len(labelled) >= 3:
            try:
                rec = train.train_snap(  # looked up at the call, so a patched train_snap never stays bound here
                    labelled,
                    out,
                    name,
                    version=version,
                    families=families,
                    force_target=force_target,
                    energy_target=energy_target,
                    seed=seed,
                    teacher=dict(store.teacher, n_labels=len(labelled)),
                    log=log,
                )
            except InputError as err:  # e.g. every candidate unstable with this few labels: label more
                rounds.append({"round": k, "n_labels": len(labelled), "failed": str(err), "gate_met": False})
                log(f"round {k}: {len(labelled)} labels → no usable fit yet ({err})")
            else:
                m = rec["metrics"]["test"]
                f_rmse, e_rmse = m["force_rmse_eV_per_A"], m["energy_rmse_meV_per_atom"]
                met = f_rmse <= force_target and e_rmse <= energy_target
                rounds.append(
                    {
                        "round": k,
                        "n_labels": len(labelled),
                        "family": rec["family"],
                        "test_force_rmse_eV_per_A": f_rmse,
                        "test_energy_rmse_meV_per_atom": e_rmse,
                        "gate_met": met,
                        "time": time.time(),
                    }
                )
                log(
                    f"round {k}: {len(labelled)} labels → {rec['family']}, held-out F RMSE {f_rmse:.3f} eV/Å "
                    f"(target {force_target}), E RMSE {e_rmse:.1f} meV/atom"
                )
            text = json.dumps(rounds, indent=2)
            atomic_write(rounds_file, lambda tmp, t=text: tmp.write_text(t))
            if rounds[-1]["gate_met"]:
                log(f"gate met with {len(labelled)} labels")
                break
        if len(labelled) >= max_labels or not left:
            log(f"label budget spent ({len(labelled)} of {max_labels}) or pool exhausted; gate not met")
            break
        n = min(initial - len(labelled) if len(labelled) < initial else per_round, max_labels - len(labelled))
        sub = [pool[i] for i in left]
        idx, method, scores = select(sub, labelled, n, committee_hyper, min_for_committee=initial, seed=seed + k)
        if scores is not None:
            log(f"committee: largest force spread {scores.max():.3f} eV/Å, chosen ≥ {scores[idx].min():.3f} eV/Å")
        log(f"labelling {len(idx)} configurations chosen by {method}")
        label_configurations([sub[i] for i in idx], teacher_factory, store, log=log)
    rec["rounds"] = rounds
    return rec
