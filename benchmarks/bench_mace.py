"""Time the MACE potential fitted to PBE-D3 labels against CHGNet, both on ASE, same machine, one run.

Li6PS5Cl 52 atoms (1×1×1) and 416 atoms (2×2×2), NVE MD at 2 fs from 600 K. Baseline: the universal CHGNet
(the fine-tuned `li6ps5cl-pbe-d3-chgnet` has its architecture and cost). MACE is timed in float64 (the
registered default) and float32. Prints seconds per step, ns/day and the speed ratio against CHGNet.

    python benchmarks/bench_mace.py [--potential li6ps5cl-pbe-d3-mace] [--threads 2] [--steps 20]
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

from bench_potentials import ns_per_day, time_ase  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--potential", default="li6ps5cl-pbe-d3-mace", help="registered MACE potential or .model file")
    ap.add_argument("--threads", type=int, default=2, help="torch threads for every model")
    ap.add_argument("--steps", type=int, default=20, help="timed steps at 52 atoms (a quarter at 416)")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    from superionic.materials import build_material

    print(f"baseline: CHGNet on ASE; threads: {args.threads}; dt 2 fs")
    print(f"{'atoms':>6} {'model':>22} {'s/step':>10} {'ns/day':>8} {'× CHGNet':>9}")
    for reps in ("1x1x1", "2x2x2"):
        atoms = build_material("Li6PS5Cl", reps)
        n = len(atoms)
        steps = max(2, args.steps // (1 if n < 100 else 4))
        base = time_ase(atoms, steps)
        print(f"{n:>6} {'chgnet':>22} {base:>10.4f} {ns_per_day(base):>8.3f} {1.0:>9.2f}")
        for dtype in ("float64", "float32"):
            t = time_ase(atoms, steps, name=args.potential, dtype=dtype)
            label = f"MACE {dtype}"
            print(f"{n:>6} {label:>22} {t:>10.4f} {ns_per_day(t):>8.3f} {base / t:>9.2f}")


if __name__ == "__main__":
    main()
