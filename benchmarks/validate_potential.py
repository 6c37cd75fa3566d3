"""Validate a distilled LAMMPS potential against its teacher in MD: VDOS overlap, RDFs, D_Li.

Runs the student with the LAMMPS engine at each temperature of a teacher trajectory (H5MD with
velocities, e.g. from `potentials.training.sampling.teacher_md`), from the teacher's first frame and with
the teacher's Langevin friction (H5MD metadata `friction_per_fs`, else --friction), and prints, per
teacher: VDOS overlap ∫min(g_student, g_teacher) dν per species (1 = identical; each g normalised to 1;
same lag window and max_lag for both) and its noise ceiling (the teacher's first half against its second half),
the largest |Δg(r)| of the Li–S, P–S, Li–Li RDFs, and D_Li (cm²/s, GLS fit with σ) of both. With
--stability it also runs long hot runs and reports the closest approach of every species pair
(`superionic.potentials.stability`).

    python benchmarks/validate_potential.py --potential li6ps5cl-snap \
        --teacher 600=/work/data-cache/li6ps5cl_chgnet/md_T600_s1.h5 --teacher 900=...h5 --steps 10000
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

from superionic.potentials.training.validate import rdf, vdos_overlap


def d_li(traj):
    from superionic.analysis.diffusion import diffusion

    ds = diffusion(traj, ["Li"])
    names = [v for v in ds.data_vars if v.startswith("D")]
    d = float(ds["D"].sel(species="Li")) if "D" in ds else float(ds[names[0]].sel(species="Li"))
    err = ds.get("D_err", ds.get("D_sigma"))
    return d, (float(err.sel(species="Li")) if err is not None else float("nan"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--potential", default="li6ps5cl-snap")
    ap.add_argument("--teacher", action="append", default=[], help="T=path.h5 (teacher trajectory)")
    ap.add_argument("--steps", type=int, default=10000, help="student production steps (2 fs)")
    ap.add_argument("--json", default=None, help="also write the numbers to this file")
    ap.add_argument(
        "--stability",
        action="append",
        default=[],
        help="T=PS[@MATERIAL:SUPERCELL]: also run PS picoseconds at T K and check that no species pair "
        "comes closer than its bound (e.g. 900=100@Li6PS5Cl:2x2x2)",
    )
    ap.add_argument("--ranks", type=int, default=1, help="MPI ranks of the student LAMMPS runs")
    ap.add_argument(
        "--friction",
        type=float,
        default=0.01,
        help="student Langevin friction 1/fs when the teacher file does not record one",
    )
    args = ap.parse_args()

    from superionic.md import MDSettings
    from superionic.md.lammps_engine import run_nvt_lammps
    from superionic.trajectory import read_h5md

    report = {}
    for item in args.teacher:
        t_str, path = item.split("=", 1)
        temp = float(t_str)
        teacher = read_h5md(path)
        from ase import Atoms

        atoms = Atoms(teacher.symbols, positions=teacher.positions[0], cell=teacher.cells[0], pbc=True)
        key = f"{temp:g} K ({os.path.splitext(os.path.basename(path))[0]})"
        with tempfile.TemporaryDirectory() as tmp:
            # the student runs under the teacher's thermostat: Langevin friction broadens VDOS peaks
            # (FWHM ≈ γ/2π) and slows diffusion, so a different γ biases both comparisons
            gamma = float(teacher.metadata.get("friction_per_fs", args.friction))
            s = MDSettings(
                temperature=temp,
                steps=args.steps,
                dt=2.0,
                stride=5,
                equilibration_steps=500,
                seed=1,
                friction=gamma,
                production_friction=gamma,
            )
            try:
                student = read_h5md(run_nvt_lammps(atoms, args.potential, s, tmp, ranks=args.ranks))
            except Exception as err:  # an unstable student is a result, not a crash of the validation
                report[key] = {"teacher_file": os.path.basename(path), "failed": f"{type(err).__name__}: {err}"}
                print(f"T = {key}: student MD FAILED: {err}", flush=True)
                continue
        species = list(dict.fromkeys(teacher.symbols))
        half = teacher.n_frames // 2
        r = {
            "teacher_frames": teacher.n_frames,
            "student_frames": student.n_frames,
            "vdos_overlap": vdos_overlap(student, teacher, species),
            # noise ceiling: the teacher's first half against its second half (same lag window)
            "vdos_overlap_teacher_halves": vdos_overlap(
                teacher.select_frames(0, half), teacher.select_frames(half, 2 * half), species, max_lag=half // 2
            ),
            "vdos_overlap_window_of_halves": vdos_overlap(student, teacher, species, max_lag=half // 2),
        }
        for a, b in (("Li", "S"), ("P", "S"), ("Li", "Li")):
            _, g1 = rdf(student, a, b)
            _, g2 = rdf(teacher, a, b)
            r[f"rdf_{a}-{b}_max_abs_diff"] = float(np.abs(g1 - g2).max())
            r[f"rdf_{a}-{b}_peak_student_teacher"] = [float(g1.max()), float(g2.max())]
        for name, tr in (("student", student), ("teacher", teacher)):
            try:
                r[f"D_Li_{name}_cm2_s"] = d_li(tr)
            except Exception as err:  # too short for a diffusive fit range
                r[f"D_Li_{name}_cm2_s"] = f"n/a ({err})"
        r["teacher_file"] = os.path.basename(path)
        r["langevin_friction_per_fs"] = gamma
        r["teacher_ps"] = float(teacher.n_frames * teacher.dt / 1000)
        r["student_ps"] = float(student.n_frames * student.dt / 1000)
        report[key] = r
        print(f"T = {key}:", json.dumps(r, indent=1), flush=True)
    from superionic.materials import build_material
    from superionic.md.stability import stability_check

    for item in args.stability:
        t_str, rest = item.split("=", 1)
        ps_str, _, where = rest.partition("@")
        material, _, cell = (where or "Li6PS5Cl:2x2x2").rpartition(":")
        atoms = build_material(material or "Li6PS5Cl", cell or None)
        rep = stability_check(
            atoms, args.potential, float(t_str), float(ps_str), friction=args.friction, ranks=args.ranks
        )
        report[f"stability {float(t_str):g} K, {len(atoms)} atoms"] = rep
        print(f"stability {t_str} K ({material}, {len(atoms)} atoms):", json.dumps(rep, indent=1), flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
