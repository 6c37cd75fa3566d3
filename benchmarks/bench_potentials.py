"""Time the shipped LAMMPS potential against the embedded foundation model (CHGNet on ASE).

Li6PS5Cl 52 atoms (1×1×1) and 416 atoms (2×2×2), NVE MD at 2 fs, same machine, same number of cores,
one run. Prints seconds per step, ns/day and the speed ratio LAMMPS/CHGNet. --threads N gives CHGNet N
torch threads and LAMMPS N MPI ranks (mpiexec; the way `superionic md --ranks N` runs it).

    python benchmarks/bench_potentials.py [--potential NAME] [--threads 1|2]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")


def ns_per_day(seconds_per_step: float, dt_fs: float = 2.0) -> float:
    return dt_fs * 1e-6 * 86400.0 / seconds_per_step


def time_ase(atoms, steps: int, dt_fs: float = 2.0, name: str = "chgnet", **options) -> float:
    """Seconds per NVE step (2 fs, 600 K start) of a registered ASE potential (default: CHGNet)."""
    import ase.units as u
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution
    from ase.md.verlet import VelocityVerlet

    from superionic.potentials import make_calculator

    a = atoms.copy()
    a.calc = make_calculator(name, **options)
    MaxwellBoltzmannDistribution(a, temperature_K=600)
    dyn = VelocityVerlet(a, dt_fs * u.fs)
    dyn.run(2)  # warm-up (graph build, first call)
    t = time.perf_counter()
    dyn.run(steps)
    return (time.perf_counter() - t) / steps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--potential", default="li6ps5cl-snap", help="shipped LAMMPS potential or .lammps.json")
    ap.add_argument("--threads", type=int, default=1, help="threads for both engines")
    ap.add_argument("--chgnet-steps", type=int, default=10)
    ap.add_argument("--lammps-steps", type=int, default=500)
    ap.add_argument("--lammps-only", default=None, help=argparse.SUPPRESS)  # internal: NxNxN under mpiexec
    args = ap.parse_args()
    if args.lammps_only:
        return lammps_only(args)

    import torch

    torch.set_num_threads(args.threads)
    from superionic.materials import build_material
    from superionic.potentials.lammps_potentials import get_lammps_potential

    pot = get_lammps_potential(args.potential)
    print(
        f"potential: {pot.name} v{pot.version} ({pot.pair_style}); baseline: CHGNet on ASE; "
        f"cores: {args.threads} (CHGNet torch threads, LAMMPS MPI ranks); dt 2 fs"
    )
    print(
        f"{'atoms':>6} {'CHGNet s/step':>14} {'LAMMPS s/step':>14} {'CHGNet ns/day':>14} "
        f"{'LAMMPS ns/day':>14} {'ratio':>8}"
    )
    for reps in ("1x1x1", "2x2x2"):
        atoms = build_material("Li6PS5Cl", reps)
        n = len(atoms)
        c = time_ase(atoms, max(2, args.chgnet_steps // (1 if n < 100 else 4)))
        lm = time_lammps(args, reps, max(50, args.lammps_steps // (1 if n < 100 else 8)))
        print(f"{n:>6} {c:>14.4f} {lm:>14.5f} {ns_per_day(c):>14.3f} {ns_per_day(lm):>14.2f} {c / lm:>8.1f}")


def time_lammps(args, reps: str, steps: int) -> float:
    """Seconds per LAMMPS step: in this process (1 rank) or under mpiexec with args.threads ranks."""
    if args.threads <= 1:
        from superionic.materials import build_material
        from superionic.potentials.lammps_potentials import get_lammps_potential
        from superionic.potentials.training.train import speed

        return speed(get_lammps_potential(args.potential), build_material("Li6PS5Cl", reps), steps)
    import subprocess
    import sys

    from superionic.md.lammps_mpi import mpiexec

    out = subprocess.run(
        [
            mpiexec(),
            "-n",
            str(args.threads),
            sys.executable,
            __file__,
            "--potential",
            args.potential,
            "--lammps-only",
            reps,
            "--lammps-steps",
            str(steps),
        ],
        capture_output=True,
        text=True,
        check=True,
        env=dict(os.environ, OMP_NUM_THREADS="1"),
    ).stdout
    return float([ln for ln in out.splitlines() if ln.startswith("SECONDS ")][0].split()[1])


def lammps_only(args) -> None:
    from superionic.materials import build_material
    from superionic.potentials.lammps_potentials import get_lammps_potential
    from superionic.potentials.training.train import speed

    sps = speed(get_lammps_potential(args.potential), build_material("Li6PS5Cl", args.lammps_only), args.lammps_steps)
    if int(os.environ.get("PMI_RANK", "0")) == 0:
        print(f"SECONDS {sps}", flush=True)


if __name__ == "__main__":
    main()
