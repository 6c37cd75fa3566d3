"""Ship a distilled potential that passed its gate: copy it into the package and keep a held-out sample of its teacher.

    python3 scripts/ship_potential.py NAME TEACHER_DIR [--from FOLDER] [--frames 12] [--supersede]

FOLDER holds NAME.lammps.json and the NAME-vV.* files (default: the registered user potential's folder).
TEACHER_DIR is the `train-potential --out` folder's teacher/ (samples.extxyz, student-md.extxyz): the train/val/test
split is replayed from the card's seed and must give the card's counts, else nothing is shipped. Up to --frames
teacher-MD configurations of the test split (never fitted), spread over the teacher temperatures, are written to
tests/data/held_out/NAME-vV.extxyz, where tests/test_shipped_potentials.py scores the shipped files against them.
Nothing is overwritten: a shipped potential of that name is refused, unless --supersede: then the shipped version
stays usable as NAME-v<old> (its description is copied to NAME-v<old>.lammps.json, its files are kept) and the new
version takes NAME.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import numpy as np
from ase.io import write

from superionic.potentials.training.sampling import read_labelled
from superionic.potentials.training.train import split_indices
from superionic.potentials.user_potentials import user_potentials_dir

ROOT = Path(__file__).parents[1]
DATA = ROOT / "src" / "superionic" / "potentials" / "data"
HELD_OUT = ROOT / "tests" / "data" / "held_out"


def held_out_teacher_md(teacher_dir: Path, training: dict, frames: int) -> list:
    """Teacher-MD frames of the card's test split, replayed from its seed; `frames` of them, spread over temperature."""
    parts = [teacher_dir / "samples.extxyz", teacher_dir / "student-md.extxyz"]
    configs = read_labelled([p for p in parts if p.is_file()])
    data = training["data"]
    if len(configs) != data["n_configs"]:
        raise SystemExit(f"{teacher_dir}: {len(configs)} configurations, the card has {data['n_configs']}")
    seed = int(json.loads((teacher_dir / "settings.json").read_text()).get("seed", 0))
    split = split_indices(configs, seed=seed)
    counts = {k: int((split == k).sum()) for k in ("train", "val", "test")}
    if counts != {"train": data["n_train"], "val": data["n_val"], "test": data["n_test"]}:
        raise SystemExit(f"replayed split {counts} is not the card's ({data}); not shipped")
    test = [a for a, s in zip(configs, split, strict=True) if s == "test" and a.info.get("source") == "teacher-md"]
    by_t: dict[float, list] = {}
    for a in test:
        by_t.setdefault(float(a.info["temperature"]), []).append(a)
    per_t = max(1, frames // max(1, len(by_t)))
    out = []
    for t in sorted(by_t):
        pick = np.linspace(0, len(by_t[t]) - 1, min(per_t, len(by_t[t]))).round().astype(int)
        out += [by_t[t][i] for i in pick]
    for a in out:  # where it was read from is this machine's path, not the sample's
        a.info.pop("file", None)
        a.info.pop("frame", None)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("name")
    ap.add_argument("teacher_dir", type=Path)
    ap.add_argument("--from", dest="source", type=Path, default=None)
    ap.add_argument("--frames", type=int, default=12)
    ap.add_argument("--supersede", action="store_true", help="keep the shipped version as NAME-v<old>")
    args = ap.parse_args()
    source = args.source or user_potentials_dir() / args.name
    manifest = json.loads((source / f"{args.name}.lammps.json").read_text())
    version = manifest["lammps"]["version"]
    stem = f"{args.name}-v{version}"
    shipped = DATA / f"{args.name}.lammps.json"
    old = json.loads(shipped.read_text()) if shipped.exists() else None
    if old and not args.supersede:
        raise SystemExit(f"{args.name} is already shipped; choose another name, or give --supersede")
    if old and str(old["lammps"]["version"]) == str(version):
        raise SystemExit(f"{stem} is the shipped version already")
    if any((DATA / f"{stem}.{suffix}").exists() for suffix in ("snapcoeff", "training.json", "validation.json")):
        raise SystemExit(f"{stem} files are in {DATA} already; not shipped")
    gate = json.loads((source / f"{stem}.validation.json").read_text())
    if not gate.get("passed"):
        raise SystemExit(f"{stem} did not pass its gate; not shipped")
    frames = held_out_teacher_md(args.teacher_dir, manifest["training"], args.frames)
    if old:
        kept, desc = f"{args.name}-v{old['lammps']['version']}", old["lammps"].get("description", "")
        old["lammps"]["name"] = kept
        old["lammps"]["description"] = f"v{old['lammps']['version']} (superseded by {args.name} v{version}): {desc}"
        (DATA / f"{kept}.lammps.json").write_text(json.dumps(old, indent=2) + "\n")
        print(f"the shipped version stays usable as {kept}")
    HELD_OUT.mkdir(parents=True, exist_ok=True)
    write(HELD_OUT / f"{stem}.extxyz", frames, format="extxyz")
    for suffix in ("snapcoeff", "snapparam", "pairtable", "training.json", "validation.json"):
        f = source / f"{stem}.{suffix}"
        if f.is_file():
            shutil.copy2(f, DATA / f.name)
    shutil.copy2(source / f"{args.name}.lammps.json", DATA / f"{args.name}.lammps.json")
    print(f"shipped {stem} ({len(frames)} held-out teacher frames in {HELD_OUT / (stem + '.extxyz')})")


if __name__ == "__main__":
    main()
