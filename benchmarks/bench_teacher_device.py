"""Benchmark: the teacher's MD step (CHGNet, stress included) on the CPU and, where there is one, on a GPU.

Baseline: the same potential on this machine's CPU (torch threads = --threads, default all cores). For each cell
(LLZO 192 atoms, α-AgI 3×3×3 108 atoms, LGPS 50 atoms by default) it prints the seconds per Langevin step on each
device after a warm-up, and the CPU/GPU ratio (`train-potential --device cuda`, docs/distillation.md "Teacher MD on
a GPU"). Without a GPU only the CPU line is printed.

    python3 benchmarks/bench_teacher_device.py [--steps 20] [--threads 2] [--materials Li10GeP2S12]
"""

from __future__ import annotations

import argparse
import os
import time

import ase.units as u
from ase.md.langevin import Langevin

from superionic.materials import build_material
from superionic.potentials.training.sampling import teacher_calculator

CELLS = {"Li7La3Zr2O12": None, "alpha-AgI": "3x3x3", "Li10GeP2S12": None}


def seconds_per_step(calc, material: str, supercell: str | None, steps: int) -> tuple[int, float]:
    atoms = build_material(material, supercell)
    atoms.calc = calc
    dyn = Langevin(atoms, 2 * u.fs, temperature_K=600, friction=0.01 / u.fs)
    dyn.run(3)  # warm-up (first graph, kernels)
    start = time.perf_counter()
    dyn.run(steps)
    return len(atoms), (time.perf_counter() - start) / steps


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=20, help="timed MD steps per cell (default 20)")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="torch threads on the CPU")
    p.add_argument("--materials", default=",".join(CELLS), help="comma list (default: %(default)s)")
    p.add_argument("--teacher", default="chgnet")
    args = p.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    calcs = {d: teacher_calculator(args.teacher, d) for d in devices}
    for material in [m.strip() for m in args.materials.split(",") if m.strip()]:
        times = {}
        for d in devices:
            n, times[d] = seconds_per_step(calcs[d], material, CELLS.get(material), args.steps)
        line = f"{material} ({n} atoms): CPU ({args.threads} threads) {times['cpu']:.3f} s/step"
        if "cuda" in times:
            line += f", GPU {times['cuda']:.3f} s/step: GPU {times['cpu'] / times['cuda']:.1f}× faster"
        else:
            line += " (no GPU here)"
        print(line, flush=True)


if __name__ == "__main__":
    main()
