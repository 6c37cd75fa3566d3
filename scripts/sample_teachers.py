"""Run the teacher samplings of several distillations at once (e.g. on a GPU machine), for `train-potential` to reuse.

The plan is a JSON list; each entry names a distillation folder (`out`, as `train-potential --out`) and its sampling
options, with train-potential's defaults: material, supercell, teacher ("chgnet"), temperatures (K), md_steps,
label_every, strained, contacts, mobile, mobile_contacts, seed, friction (1/fs), variants, repeats (MD runs per
temperature, `train-potential --teacher-repeats`). Every teacher MD run (one material at one temperature) is a
process of its own, --processes at once, in the plan's order; when a folder's
runs are all done its strained cells and close contacts are labelled (`distil.sample_teacher`, which reuses the
finished runs). A run stopped before its end leaves nothing behind; the finished ones stay, and `train-potential`
(or this script) with the same options resumes the folder. Writes `<out>/teacher/timings.json` (s per MD step).

    python3 scripts/sample_teachers.py plan.json --device cuda --processes 6 --threads 2

Example plan: [{"out": "runs/llzo", "material": "Li7La3Zr2O12", "temperatures": [600, 750], "md_steps": 1500,
"label_every": 15, "strained": 20, "contacts": 30, "mobile_contacts": 20}]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any

from superionic.potentials.training.distil import extends_sampling, sample_teacher, teacher_settings
from superionic.potentials.training.teach import run_files, run_seed
from superionic.results import write_json

DEFAULTS: dict[str, Any] = {
    "supercell": None,
    "teacher": "chgnet",
    "md_steps": 2000,
    "label_every": 20,
    "strained": 40,
    "contacts": 0,
    "mobile": None,
    "mobile_contacts": 0,
    "seed": 0,
    "friction": 0.001,
    "variants": [],
    "repeats": 1,
}
_CALC: dict[str, Any] = {}  # the teacher of this worker process, built once


def _setup(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)


def _calculator(teacher: str, device: str | None):
    from superionic.potentials.training.sampling import teacher_calculator

    if teacher not in _CALC:
        _CALC[teacher] = teacher_calculator(teacher, device)
    return _CALC[teacher]


def _md(teacher: str, device: str | None, material: str, supercell, t: float, opts: dict, seed: int, files) -> float:
    """One teacher MD run; returns its seconds per step (equilibration included)."""
    from superionic.materials import build_material
    from superionic.potentials.training.teach import md_run

    atoms = build_material(material, supercell)
    calc = _calculator(teacher, device)
    start = time.perf_counter()
    md_run(calc, atoms, t, opts["md_steps"], opts["label_every"], seed, opts["friction"], files)
    return (time.perf_counter() - start) / (opts["md_steps"] + 200)


def _finish(entry: dict, device: str | None) -> int:
    """The folder's single points and samples file (its MD runs are reused); returns the number of samples."""
    frames, _, _ = sample_teacher(**_sampling(entry), device=device, log=lambda m: print(m, flush=True))
    return len(frames)


def _sampling(entry: dict) -> dict[str, Any]:
    e = {**DEFAULTS, **entry}
    return {
        "material": e["material"],
        "teacher": e["teacher"],
        "folder": Path(e["out"]) / "teacher",
        "temperatures": [float(t) for t in e["temperatures"]],
        "md_steps": int(e["md_steps"]),
        "label_every": int(e["label_every"]),
        "strained": int(e["strained"]),
        "contacts": int(e["contacts"]),
        "mobile": e["mobile"],
        "mobile_contacts": int(e["mobile_contacts"]),
        "seed": int(e["seed"]),
        "supercell": e["supercell"],
        "variants": list(e["variants"]),
        "friction": float(e["friction"]),
        "repeats": int(e["repeats"]),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("plan", type=Path, help="JSON list of samplings (see above)")
    p.add_argument("--device", help="where the teacher runs: cpu, cuda (default: the teacher's own setting)")
    p.add_argument("--processes", type=int, default=2, help="MD runs at once (default 2)")
    p.add_argument("--threads", type=int, default=1, help="torch threads per process (default 1)")
    args = p.parse_args()
    plan = json.loads(args.plan.read_text())
    runs: dict[int, list] = {}
    for k, entry in enumerate(plan):
        s = _sampling(entry)
        folder = s.pop("folder")
        settings = teacher_settings(**s)
        meta = folder / "settings.json"
        if meta.exists():
            stored = json.loads(meta.read_text())
            if not extends_sampling(stored, settings):
                raise SystemExit(f"{folder} holds a sampling with other settings; give another out")
            if stored != settings:  # the samples file of the old settings lacks the new runs' frames
                (folder / "samples.extxyz").unlink(missing_ok=True)
        folder.mkdir(parents=True, exist_ok=True)
        write_json(meta, settings)
        names = [s["material"], *s["variants"]]
        runs[k] = [
            (names[m], t, r, run_seed(s["seed"], m, i, r), run_files(folder, len(names), m, t, r))
            for m in range(len(names))
            for i, t in enumerate(s["temperatures"])
            for r in range(s["repeats"])
        ]
    timings: dict[int, dict[str, float]] = {k: {} for k in runs}
    ctx = multiprocessing.get_context("spawn")  # CUDA cannot be forked
    with ProcessPoolExecutor(args.processes, mp_context=ctx, initializer=_setup, initargs=(args.threads,)) as pool:
        futures: dict = {}
        for k, todo in runs.items():
            s = _sampling(plan[k])
            for name, t, r, seed, files in todo:
                if all(f.exists() for f in files):
                    print(f"{files[0]}: done before, kept", flush=True)
                    continue
                fut = pool.submit(_md, s["teacher"], args.device, name, s["supercell"], t, s, seed, files)
                futures[fut] = ("md", k, f"{name} {t:g} K" + (f" repeat {r}" if r else ""))
        left = {k: sum(1 for f in futures.values() if f[1] == k) for k in runs}
        for k in [k for k, n in left.items() if n == 0]:
            futures[pool.submit(_finish, plan[k], args.device)] = ("finish", k, "")
        start = time.perf_counter()
        while futures:
            done, _ = wait(futures, return_when=FIRST_COMPLETED)
            for fut in done:
                kind, k, what = futures.pop(fut)
                out = Path(plan[k]["out"])
                if kind == "md":
                    timings[k][what] = fut.result()
                    print(f"{out}: {what} done, {timings[k][what]:.3f} s per step", flush=True)
                    write_json(out / "teacher" / "timings.json", {"device": args.device, "s_per_step": timings[k]})
                    left[k] -= 1
                    if left[k] == 0:
                        futures[pool.submit(_finish, plan[k], args.device)] = ("finish", k, "")
                else:
                    print(f"{out}: {fut.result()} samples ({time.perf_counter() - start:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
