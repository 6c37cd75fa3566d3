"""Benchmark: instantaneous normal modes of N snapshots of a 416-atom Li6PS5Cl run (li6ps5cl-snap, LAMMPS
dynamical_matrix) against the MD time that produced them, both on one core in this process.

The MD is timed per step on a fresh run (or read from --run's own snapshots, with the MD step timed afresh on
the same cell); the INM of --snapshots snapshots is timed with superionic.lattice.inm.inm. Printed: seconds per
MD step, seconds per INM snapshot (Hessian + diagonalisation), the ratio INM(N snapshots) / MD(run), and for a
100 ps run (2 fs steps) the ratio and how many snapshots fit in its MD time. --fd also times one snapshot by
finite differences through the ASE calculator (the Python route), for comparison.

    OMP_NUM_THREADS=1 python3 benchmarks/bench_inm.py [--run md/T400K] [--snapshots 4] [--md-steps 500] [--fd]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path


def md_seconds_per_step(steps: int, out: Path) -> tuple[float, Path]:
    """Time `steps` production steps (plus 50 equilibration) of the 416-atom cell at 600 K."""
    from superionic.materials import build_material
    from superionic.md import MDSettings
    from superionic.md.lammps_engine import run_nvt_lammps

    atoms = build_material("Li6PS5Cl").repeat((2, 2, 2))
    s = MDSettings(temperature=600.0, steps=steps, dt=2.0, stride=5, equilibration_steps=50)
    t0 = time.perf_counter()
    traj = run_nvt_lammps(atoms, "li6ps5cl-snap", s, out)
    return (time.perf_counter() - t0) / (steps + 50), Path(traj)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", type=Path, help="an existing 416-atom run folder (default: a fresh short run)")
    ap.add_argument("--snapshots", type=int, default=4)
    ap.add_argument("--md-steps", type=int, default=500, help="MD steps timed (a fresh run)")
    ap.add_argument("--fd", action="store_true", help="also time one snapshot by finite differences (ASE route)")
    args = ap.parse_args()

    from superionic.lattice.inm import hessian_finite_differences, inm
    from superionic.potentials.lammps_potentials import LammpsCalculator, get_lammps_potential

    with tempfile.TemporaryDirectory(prefix="bench-inm-") as tmp:
        per_step, fresh = md_seconds_per_step(args.md_steps, Path(tmp) / "md")
        traj = (args.run / "trajectory.h5") if args.run else fresh
        t0 = time.perf_counter()
        ds = inm(traj, "li6ps5cl-snap", n_snapshots=args.snapshots)
        t_inm = time.perf_counter() - t0
        per_snapshot = t_inm / ds.attrs["n_snapshots"]
        out = {
            "n_atoms": ds.attrs["n_atoms"],
            "md_seconds_per_step": per_step,
            "inm_snapshots": ds.attrs["n_snapshots"],
            "inm_seconds": t_inm,
            "inm_seconds_per_snapshot": per_snapshot,
            "force_evaluations_per_snapshot": 6 * ds.attrs["n_atoms"],
            "f_u": float(ds.f_u_mean),
        }
        if args.run:
            from superionic.trajectory.blocks import opened

            with opened(traj) as src:
                steps = int(src.steps[-1]) if src.steps is not None else 0
            out["run_md_steps"] = steps
            out["run_md_seconds_estimated"] = steps * per_step
            out["ratio_inm_over_md_of_this_run"] = t_inm / (steps * per_step)
        md_100ps = 50_000 * per_step
        out["md_seconds_100ps"] = md_100ps
        out["ratio_inm_over_md_100ps"] = t_inm / md_100ps
        out["snapshots_within_md_time_of_100ps"] = int(md_100ps // per_snapshot)
        if args.fd:
            from ase import Atoms

            from superionic.trajectory.blocks import opened

            with opened(traj) as src:
                atoms = Atoms(src.symbols, positions=src.read_positions(None, 0, 1)[0], cell=src.cells[0], pbc=True)
            t0 = time.perf_counter()
            hessian_finite_differences(atoms, LammpsCalculator(get_lammps_potential("li6ps5cl-snap")))
            out["fd_ase_seconds_per_snapshot"] = time.perf_counter() - t0
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
