"""Validate a registered or shipped distilled potential again, against the teacher runs of its distillation, under the
current gate (e.g. after the gate gained a criterion); prints the verdict and writes the new card. --from: a folder
holding NAME.lammps.json and its NAME-vV.* files (e.g. an unregistered `train-potential --no-register` output).

    python3 scripts/revalidate_potential.py na3ps4-snap runs/na3ps4 [--card OUT.json] [--own-snapshots 20]
        [--production-atoms 200 --production-ps 50] [--from FOLDER] [--repeat runs/na3ps4-seed1000 ...]

The teacher runs are `<distillation out>/teacher/T*.h5` and the teacher is the one named in their settings.json;
the student runs 4 × the teacher's steps per temperature, as `train-potential` does. A registered user potential is
taken before a shipped one of the same name. The potential and its card are left as they are: a potential that
fails now is reported, not unregistered. With --production-ps > 0 a potential that passes the rest also runs the
gate's production-size check (the card's material, at the highest teacher temperature). --repeat: another folder
whose teacher runs were sampled with the same settings but another seed (e.g. by scripts/sample_teachers.py); the
teacher's D, host MSD and closest approaches are then read over all its runs (`validate.teacher_d`, `host_msd`,
`teacher_closest_approach`). --frozen-host-ps: the gate's frozen-host check (`validate.frozen_host_check`), the
teacher's runs kept in `<distillation>/teacher/frozen-host/` and reused.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

import superionic.potentials
from superionic.potentials import get_potential
from superionic.potentials.lammps_potentials import LammpsPotential
from superionic.potentials.training.distil import production_size_cell
from superionic.potentials.training.teach import run_files
from superionic.potentials.training.validate import (
    Gate,
    add_frozen_host,
    d_text,
    enhancement_text,
    frozen_host_at,
    validate,
)
from superionic.potentials.user_potentials import user_potentials_dir
from superionic.trajectory import read_h5md


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("name", help="registered potential")
    p.add_argument("distillation", type=Path, help="the --out folder of its train-potential run")
    p.add_argument("--card", type=Path, help="where to write the new card (default: not written)")
    p.add_argument("--own-snapshots", type=int, default=10)
    p.add_argument("--production-atoms", type=int, default=Gate.production_atoms)
    p.add_argument("--production-ps", type=float, default=0.0, help="0: no production-size run")
    p.add_argument(
        "--stability-runs", type=int, default=0, help="more student runs at the hottest temperature (0: none)"
    )
    p.add_argument(
        "--frozen-host-ps",
        type=float,
        default=Gate.frozen_host_ps,
        help="the teacher's frozen-host run in ps (0: not run); kept in DISTILLATION/teacher/frozen-host",
    )
    p.add_argument(
        "--frozen-host-runs", type=int, default=Gate.frozen_host_runs, help="teacher runs (seeds) in the frozen host"
    )
    p.add_argument(
        "--frozen-host-temperature",
        type=float,
        help="teacher temperature (K) of the frozen-host check (default: the lowest where the mobile ions move)",
    )
    p.add_argument(
        "--frozen-host-only",
        type=Path,
        metavar="CARD",
        help="add only the frozen-host check to CARD, a re-validation card of this potential against DISTILLATION "
        "(its MD records are kept; the new card goes to --card)",
    )
    p.add_argument("--from", dest="source", type=Path, help="folder of NAME.lammps.json (default: registered/shipped)")
    p.add_argument(
        "--repeat", type=Path, action="append", default=[], help="a folder of teacher runs of another seed (repeatable)"
    )
    args = p.parse_args()
    folder = args.source or user_potentials_dir() / args.name
    if args.source is None and not (folder / f"{args.name}.lammps.json").is_file():  # shipped: in the package
        folder = Path(superionic.potentials.__file__).parent / "data"
    if not (folder / f"{args.name}.lammps.json").is_file():
        raise SystemExit(f"{folder} holds no {args.name}.lammps.json")
    desc = folder / f"{args.name}.lammps.json"
    pot = LammpsPotential.from_json(desc)
    version = json.loads(desc.read_text())["lammps"]["version"]
    old = json.loads((folder / f"{args.name}-v{version}.validation.json").read_text())
    training = json.loads((folder / f"{args.name}-v{version}.training.json").read_text())
    gate = Gate(
        **{
            **old.get("gate", {}),
            "production_atoms": args.production_atoms,
            "production_ps": args.production_ps,
            "frozen_host_ps": args.frozen_host_ps,
            "frozen_host_runs": args.frozen_host_runs,
            "frozen_host_temperature": args.frozen_host_temperature,
            "stability_runs": args.stability_runs,
        }
    )
    if args.frozen_host_only:
        card = frozen_host_only(args.frozen_host_only, pot, str(version), gate, args.distillation, args.own_snapshots)
    else:
        settings = json.loads((args.distillation / "teacher" / "settings.json").read_text())
        teachers = [
            read_h5md(run_files(args.distillation / "teacher", 1, 0, float(t))[0]) for t in settings["temperatures_K"]
        ]
        repeats: list[list] = [  # its own repeated runs (train-potential --teacher-repeats), then those of --repeat
            [
                read_h5md(run_files(args.distillation / "teacher", 1, 0, float(t), r)[0])
                for r in range(1, int(settings.get("teacher_repeats", 1)))
            ]
            for t in settings["temperatures_K"]
        ]
        for folder_r in args.repeat:
            other = json.loads((folder_r / "teacher" / "settings.json").read_text())
            own = ("seed", "teacher_repeats")  # another realisation: its seed and its number of runs may differ
            if {k: v for k, v in other.items() if k not in own} != {k: v for k, v in settings.items() if k not in own}:
                raise SystemExit(f"{folder_r} was sampled with other settings than {args.distillation} (seed aside)")
            if other["seed"] == settings["seed"]:
                raise SystemExit(f"{folder_r} has the same seed as {args.distillation}: not another realisation")
            for more, t in zip(repeats, settings["temperatures_K"], strict=True):
                more.append(read_h5md(run_files(folder_r / "teacher", 1, 0, float(t))[0]))
        cell = (
            production_size_cell(settings["material"], settings["supercell"], args.production_atoms)
            if args.production_ps > 0
            else None
        )
        teacher_calc = get_potential(settings["teacher"]["name"]).make()
        card = validate(
            pot,
            teachers,
            teacher_calc,
            steps=4 * int(settings["md_steps"]),
            training=training,
            gate=gate,
            relabel=args.own_snapshots,
            production_cell=cell,
            repeats=repeats,
            frozen_host_dir=args.distillation / "teacher" / "frozen-host",
        )
    for r in card["md"]:
        if "failed" in r:
            print(f"{r['temperature_K']:g} K: failed: {r['failed']}")
            continue
        c = r["student_closest_force"] or {}
        print(
            f"{r['temperature_K']:g} K: own-MD force RMSE {r['student_md_force']['force_rmse_eV_per_A']:.3f} eV/Å "
            f"(worst atom {r['student_md_force']['worst_eV_per_A']:.1f}); at its closest approaches "
            f"{c.get('force_rmse_eV_per_A', float('nan')):.3f} eV/Å (worst atom {c.get('worst_eV_per_A', float('nan')):.1f}, "
            f"{c.get('frames', 0)} snapshots); closest "
            + ", ".join(
                f"{k} {d:.2f}" for k, d in sorted(r["closest_approach_student_A"].items(), key=lambda x: x[1])[:3]
            )
        )
    fh = card.get("frozen_host") or {}
    if "D_student_cm2_s" in fh:
        print(
            f"frozen host at {fh['temperature_K']:g} K: "
            + "; ".join(
                f"D_{s} student {d_text(v)} vs teacher {d_text(fh['D_teacher_cm2_s'][s])}"
                for s, v in fh["D_student_cm2_s"].items()
            )
        )
        for s, e in (fh.get("enhancement") or {}).items():
            print(f"  D_free/D_frozen of {s}: {enhancement_text(e)}")
        if fh.get("student_md_force"):
            per = fh["student_md_force"]["force_rmse_per_species_eV_per_A"]
            print("  its force RMSE per species (eV/Å): " + ", ".join(f"{s} {v:.3f}" for s, v in per.items()))
    elif fh:
        print(f"frozen host: {fh.get('failed') or fh.get('skipped')}")
    prod = card.get("production")
    if prod:
        c = prod["closest_force"] or {}
        print(
            f"production size, {prod['n_atoms']} atoms at {prod['temperature_K']:g} K: {prod['ps']:.1f} of "
            f"{prod['ps_target']:g} ps in {prod['seconds']:.0f} s; at its closest approaches "
            f"{c.get('force_rmse_eV_per_A', float('nan')):.3f} eV/Å (worst atom {c.get('worst_eV_per_A', float('nan')):.1f}); "
            "closest "
            + ", ".join(
                f"{k} {d:.2f} (teacher {prod['closest_approach_teacher_A'].get(k, float('nan')):.2f})"
                for k, d in sorted(prod["closest_approach_student_A"].items(), key=lambda x: x[1])[:3]
            )
        )
    print(
        f"{args.name} v{version}: "
        + ("passes the current gate" if card["passed"] else "fails: " + "; ".join(card["failures"]))
    )
    if args.card:
        args.card.write_text(json.dumps(card, indent=1, default=str))


def frozen_host_only(card_file: Path, pot, version: str, gate: Gate, distillation: Path, relabel: int) -> dict:
    """`card_file` (a re-validation card of `pot`) with its frozen-host check made again, against the first teacher run
    of `distillation` at the check's temperature; that folder is read only when the check runs (a teacher whose mobile
    ions moved nowhere on the card is recorded as skipped without it).
    """
    card = json.loads(card_file.read_text())
    if card.get("potential") != pot.name or str(card.get("version")) != version:
        raise SystemExit(f"{card_file} is not a card of {pot.name} v{version}")
    card["gate"] = asdict(gate)
    card.pop("frozen_host", None)
    where = frozen_host_at(card, gate)
    teachers, teacher_calc = [], None
    if where is not None:
        settings = json.loads((distillation / "teacher" / "settings.json").read_text())
        if where not in [float(t) for t in settings["temperatures_K"]]:
            raise SystemExit(
                f"{distillation} has no teacher run at {where:g} K (it ran at {settings['temperatures_K']})"
            )
        teachers = [read_h5md(run_files(distillation / "teacher", 1, 0, where)[0])]
        teacher_calc = get_potential(settings["teacher"]["name"]).make()
    add_frozen_host(card, pot, teachers, teacher_calc, gate, distillation / "teacher" / "frozen-host", relabel=relabel)
    card["passed"] = not card["failures"]
    return card


if __name__ == "__main__":
    main()
