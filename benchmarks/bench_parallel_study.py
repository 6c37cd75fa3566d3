"""Benchmark: one four-run study, serial vs Parsl tasks on 2 local workers (`execution:`; docs/parallel.md).

The study: Li6PS5Cl on li6ps5cl-snap (LAMMPS, one rank per run), two temperatures × (free, frozen-host), so
each frozen-host run waits for its free run and the two temperatures' chains run side by side. Both runs start
from empty folders and run the whole study (MD, the analyses asked for, summary and report). Printed: wall
time of each, the MD stage of each (summary timings), the ratio parallel/serial (target ≤ 0.6 with 2 workers)
and a check that both made the same runs with the same number of frames.

The default (416 atoms, 800 + 200 steps per run, ~30 ms/step with SNAP on one core (docs/potentials.md): ~2 min serial, ~1 min
parallel) needs 2 free cores. Starting Parsl (workers importing the package) costs ~5-10 s once, so very short
runs show that overhead, not the speed-up (52 atoms, 120 steps per run: ratio 1.3 on a shared machine):

    python3 benchmarks/bench_parallel_study.py [--supercell 2x2x2] [--steps 800] [--workers 2]
    python3 benchmarks/bench_parallel_study.py --supercell 1x1x1 --steps 100 --equilibration 20   # quick check
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import warnings
from pathlib import Path

from superionic.workflow import StudyConfig, run_study


def study(args, out: Path, executor: str) -> StudyConfig:
    return StudyConfig(
        name=f"bench-{executor}",
        material="Li6PS5Cl",
        supercell=args.supercell,
        potential=args.potential,
        ranks=1,
        temperatures=args.temperatures,
        protocols=["frozen-host"],
        md={"steps": args.steps, "equilibration_steps": args.equilibration, "stride": 5},
        analyses=args.analyses,
        output=str(out),
        execution={"executor": executor, "workers": args.workers},
    )


def timed(cfg: StudyConfig) -> tuple[float, dict]:
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run_study(cfg)
    wall = time.perf_counter() - t0
    return wall, json.loads((Path(cfg.output) / "summary.json").read_text())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--supercell", default="2x2x2")
    ap.add_argument("--potential", default="li6ps5cl-snap")
    ap.add_argument("--steps", type=int, default=800, help="production steps per run")
    ap.add_argument("--equilibration", type=int, default=200, help="equilibration steps per run")
    ap.add_argument("--temperatures", type=float, nargs=2, default=[600.0, 800.0], help="K")
    ap.add_argument("--analyses", nargs="*", default=["diffusion"])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--keep", type=Path, default=None, help="write the two studies here (default: a temp folder)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.keep or Path(tmp)
        serial_s, serial = timed(study(args, root / "serial", "serial"))
        par_s, par = timed(study(args, root / "local", "local"))
    same = {k: v["frames"] for k, v in serial["results"].items() if k != "series"} == {
        k: v["frames"] for k, v in par["results"].items() if k != "series"
    }
    print(
        f"four-run study ({args.supercell} Li6PS5Cl, {args.potential}, {args.steps} + {args.equilibration} steps "
        f"per run, {len(serial['results']) - ('series' in serial['results'])} runs analysed) on "
        f"{os.cpu_count()} cores"
    )
    print(f"  serial:            {serial_s:7.1f} s   (MD stage {serial['timings']['md_s']:.1f} s)")
    print(f"  local, {args.workers} workers:  {par_s:7.1f} s   (MD stage {par['timings']['md_s']:.1f} s)")
    print(
        f"  ratio parallel/serial: {par_s / serial_s:.2f} (target ≤ 0.6); MD stage alone "
        f"{par['timings']['md_s'] / serial['timings']['md_s']:.2f}"
    )
    print(
        f"  same runs and frames: {same}; failed: {len(serial['failed_runs'])} serial, {len(par['failed_runs'])} parallel"
    )


if __name__ == "__main__":
    main()
