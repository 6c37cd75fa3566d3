"""Time the shipped LAMMPS potential against the embedded foundation model (CHGNet on ASE).

Li6PS5Cl 52 atoms (1×1×1) and 416 atoms (2×2×2), NVE MD at 2 fs, same machine, same thread count,
one run. Prints seconds per step, ns/day and the speed ratio LAMMPS/CHGNet.

    OMP_NUM_THREADS=1 python benchmarks/bench_potentials.py [--potential NAME] [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")


def ns_per_day(seconds_per_step: float, dt_fs: float = 2.0) -> float:
    return dt_fs * 1e-6 * 86400.0 / seconds_per_step


def time_chgnet(atoms, steps: int, dt_fs: float = 2.0) -> float:
    import ase.units as u
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution
    from ase.md.verlet import VelocityVerlet

    from superionic.potentials import make_calculator
    a = atoms.copy()
    a.calc = make_calculator("chgnet")
    MaxwellBoltzmannDistribution(a, temperature_K=600)
    dyn = VelocityVerlet(a, dt_fs * u.fs)
    dyn.run(2)                                      # warm-up (graph build, first call)
    t = time.perf_counter()
    dyn.run(steps)
    return (time.perf_counter() - t) / steps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--potential", default="li6ps5cl-snap", help="shipped LAMMPS potential or .lammps.json")
    ap.add_argument("--threads", type=int, default=1, help="threads for both engines")
    ap.add_argument("--chgnet-steps", type=int, default=10)
    ap.add_argument("--lammps-steps", type=int, default=500)
    args = ap.parse_args()

    import torch
    torch.set_num_threads(args.threads)
    from superionic.materials import build_material
    from superionic.potentials.lammps_potentials import get_lammps_potential
    from superionic.potentials.training.train import speed

    pot = get_lammps_potential(args.potential)
    print(f"potential: {pot.name} v{pot.version} ({pot.pair_style}); baseline: CHGNet on ASE; "
          f"threads: {args.threads}; dt 2 fs")
    print(f"{'atoms':>6} {'CHGNet s/step':>14} {'LAMMPS s/step':>14} {'CHGNet ns/day':>14} "
          f"{'LAMMPS ns/day':>14} {'ratio':>8}")
    for reps in ("1x1x1", "2x2x2"):
        atoms = build_material("Li6PS5Cl", reps)
        n = len(atoms)
        c = time_chgnet(atoms, max(2, args.chgnet_steps // (1 if n < 100 else 4)))
        lm = speed(pot, atoms, max(50, args.lammps_steps // (1 if n < 100 else 8)), threads=args.threads)
        print(f"{n:>6} {c:>14.4f} {lm:>14.5f} {ns_per_day(c):>14.3f} {ns_per_day(lm):>14.2f} {c / lm:>8.1f}")


if __name__ == "__main__":
    main()
