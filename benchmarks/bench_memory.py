"""Peak resident memory and time per frame of the trajectory analyses on long H5MD files.

Writes (once, cached) synthetic H5MD trajectories of N atoms (80 % diffusing "Li" random walkers,
20 % "S" vibrating about lattice sites; positions and velocities, float32) with 10⁴ … 10⁵ frames,
then runs `superionic analyze diffusion`, `analyze vdos` and `analyze scattering` (F_s(Q,t) and
S(Q,E)) on each as separate processes, and prints their wall time, time per frame and peak resident
memory (kernel's max RSS of that process).

The same three analyses are also run through the library's streaming entry points ("library …":
`diffusion_from_file`; `vdos_from_file` with what `analyze vdos` adds, D from the MSD and the lowest
phonon; `self_intermediate_scattering_from_file` and S(Q,E)), each in its own process, so that the
streaming design is measured whatever the command line does.

Baseline, named and measured in the same run: reading the whole file into memory
(`superionic.read_trajectory`), which is what every analysis did before streaming; its peak RSS is
the floor of that design. The goals (issue 12): peak RSS ≤ 1 GB per analysis on the 1 000-atom,
10⁵-frame file, and the time per frame flat from 10⁴ to 10⁵ frames.

    python3 benchmarks/bench_memory.py                     # 1 000 atoms, 10⁴ and 10⁵ frames (~2.4 GB)
    python3 benchmarks/bench_memory.py --atoms 200 --frames 5000,20000    # a quick look
    python3 benchmarks/bench_memory.py --only library      # rows whose name contains "library"
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

DT_STEP = 2.0  # fs per MD step
STRIDE = 5  # steps per stored frame → 10 fs between frames


def make_file(path: Path, n_atoms: int, n_frames: int, seed: int = 0) -> Path:
    """Synthetic trajectory: random-walking Li (D ≈ 1e-5 cm²/s) and harmonic S, cubic 25 Å box."""
    from superionic.trajectory.h5md import H5MDWriter

    if path.exists():
        return path
    rng = np.random.default_rng(seed)
    n_li = int(0.8 * n_atoms)
    symbols = ["Li"] * n_li + ["S"] * (n_atoms - n_li)
    masses = np.array([6.94] * n_li + [32.06] * (n_atoms - n_li))
    box = 25.0
    cell = np.eye(3) * box
    sites = rng.uniform(0, box, (n_atoms, 3))
    pos = sites.copy()
    vel = np.zeros((n_atoms, 3))
    dt = DT_STEP * STRIDE
    step_sigma = np.sqrt(2 * 1e-4 * dt)  # Å per frame for D = 1e-4 Å²/fs = 1e-5 cm²/s
    tmp = path.with_name(path.name + ".part")
    with H5MDWriter(tmp, symbols, masses, DT_STEP, chunk=256) as w:
        for f in range(n_frames):
            kick = rng.normal(0.0, step_sigma, (n_li, 3))
            pos[:n_li] += kick
            vel[:n_li] = kick / dt
            phase = 2 * np.pi * 0.01 * f
            disp = 0.1 * np.sin(phase + sites[n_li:, :1])
            pos[n_li:] = sites[n_li:] + disp
            vel[n_li:] = 0.1 * 2 * np.pi * 0.01 / dt * np.cos(phase + sites[n_li:, :1]) * np.ones((1, 3))
            w.append(f * STRIDE, np.mod(pos, box), cell, vel)
    tmp.replace(path)
    return path


#: what `analyze diffusion -s Li` computes, through the streaming library entry point
LIB_DIFFUSION = """
import sys
from superionic.analysis.diffusion import diffusion_from_file
ds = diffusion_from_file(sys.argv[1], ["Li"])
print(float(ds.D.sel(species="Li")), float(ds.D_GK.sel(species="Li")))
"""
#: what `analyze vdos` computes: D from the MSD, the lowest phonon of the cell, the VDOS and its summary,
#: the file opened and checked once
LIB_VDOS = """
import sys
from superionic.analysis.diffusion import diffusion_from_file
from superionic.analysis.finite_size import lowest_phonon_from_file
from superionic.analysis.vdos import vdos_from_file, vdos_summary
from superionic.errors import InputError
from superionic.trajectory.blocks import opened
with opened(sys.argv[1]) as src:
    dd = diffusion_from_file(src)
    msd_d = {str(s): (float(dd.D.sel(species=s)), float(dd.D_err.sel(species=s)),
                      bool(dd.fit_range_ok.sel(species=s))) for s in dd.species.values}
    try:
        lowest = lowest_phonon_from_file(src)
    except InputError:
        lowest = None
    ds = vdos_from_file(src)
    summary = vdos_summary(ds, lowest_phonon=lowest, msd_D=msd_d)
print(sorted(summary["species"]))
"""
#: what `analyze scattering --q 1.0 -s Li --max-lag 2000` computes before its QENS fits
LIB_SCATTERING = """
import sys
from superionic.analysis.scattering import dynamic_structure_factor, self_intermediate_scattering_from_file
fqt = self_intermediate_scattering_from_file(sys.argv[1], [1.0], ["Li"], n_directions=24, max_lag=2000)
sqe = dynamic_structure_factor(fqt, ["F_s", "F_inc"], lag_window="hann", pad=4)
print(float(fqt.F_s.isel(time=-1).mean()))
"""


def measure(cmd: list[str]) -> tuple[float, float, int]:
    """Run one command; (wall s, peak RSS MB, exit code)."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    err = proc.stderr.read().decode() if proc.stderr else ""
    proc.stderr.close() if proc.stderr else None
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        print(f"    {' '.join(cmd[2:5])}: exit {code}: {err.strip().splitlines()[-1] if err.strip() else ''}")
    return wall, usage.ru_maxrss / 1024.0, code


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--atoms", type=int, default=1000)
    p.add_argument("--frames", default="10000,100000", help="comma-separated frame counts")
    p.add_argument("--cache", type=Path, default=Path(os.environ.get("TMPDIR", "/tmp")) / "superionic-bench")
    p.add_argument(
        "--only",
        default=None,
        help="comma-separated substrings: run only the rows whose name contains one (the baseline always runs)",
    )
    args = p.parse_args()
    args.cache.mkdir(parents=True, exist_ok=True)
    py = sys.executable
    frames = [int(x) for x in args.frames.split(",")]
    analyses = {
        "baseline: read whole file": lambda f: [py, "-c", f"import superionic as s; s.read_trajectory({str(f)!r})"],
        "analyze diffusion": lambda f: [py, "-m", "superionic", "analyze", "diffusion", str(f), "-s", "Li"],
        "analyze vdos": lambda f: [py, "-m", "superionic", "analyze", "vdos", str(f)],
        "analyze scattering": lambda f: [
            py,
            "-m",
            "superionic",
            "analyze",
            "scattering",
            str(f),
            "--q",
            "1.0",
            "-s",
            "Li",
            "--max-lag",
            "2000",
        ],
        "library diffusion": lambda f: [py, "-c", LIB_DIFFUSION, str(f)],
        "library vdos": lambda f: [py, "-c", LIB_VDOS, str(f)],
        "library scattering": lambda f: [py, "-c", LIB_SCATTERING, str(f)],
    }
    if args.only:
        keys = [k.strip() for k in args.only.split(",") if k.strip()]
        analyses = {
            name: cmd for name, cmd in analyses.items() if name.startswith("baseline") or any(k in name for k in keys)
        }
    rows = []
    for n in frames:
        t0 = time.perf_counter()
        f = make_file(args.cache / f"mem_{args.atoms}atoms_{n}frames.h5", args.atoms, n)
        size = f.stat().st_size / 1e9
        print(f"{f.name}: {size:.2f} GB (made/cached in {time.perf_counter() - t0:.0f} s)", flush=True)
        for name, cmd in analyses.items():
            wall, rss, code = measure(cmd(f))
            rows.append((name, n, wall, rss, code))
            print(f"  {name:28s} {wall:8.1f} s  {1e6 * wall / n:8.1f} µs/frame  peak RSS {rss:8.0f} MB", flush=True)
    print(f"\nSummary ({args.atoms} atoms)")
    print(
        f"{'analysis':28s} " + " ".join(f"{'RSS@' + str(n):>12s}" for n in frames) + "   time/frame ratio "
        f"{frames[-1]}/{frames[0]}   RSS vs baseline @{frames[-1]}"
    )
    base = {n: r for (name, n, w, r, c) in rows if name.startswith("baseline")}
    for name in analyses:
        sel = [(n, w, r) for (nm, n, w, r, c) in rows if nm == name]
        ratio = (sel[-1][1] / sel[-1][0]) / (sel[0][1] / sel[0][0])
        print(
            f"{name:28s} "
            + " ".join(f"{r:10.0f}MB" for _, _, r in sel)
            + f"   {ratio:14.2f}            {sel[-1][2] / base[frames[-1]]:6.2f}×"
        )


if __name__ == "__main__":
    main()
