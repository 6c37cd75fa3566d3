"""Benchmark: superionic F(Q,t) (coherent partials + self part) vs dynasor's compute_dynamic_structure_factors.

Same trajectory (written once as a LAMMPS dump, which dynasor reads; superionic uses the same rounded
positions in memory), same Q points (commensurate shells; each Q point compared separately), same
lags. dynasor runs in its own venv (/work/venvs/dynasor, `pip install dynasor`) through a subprocess,
never as a dependency of superionic. dynasor's time excludes reading the file (a read-only pass over
the same file is timed separately and subtracted).

Normalisation conversion (dynasor divides every partial by the TOTAL atom count N):
  dynasor Fqt_coh_A_A   = (N_A/N) · F_AA(superionic)
  dynasor Fqt_coh_A_B   = (2√(N_A N_B)/N) · F_AB(superionic)  (A ≠ B: both orderings summed)
  dynasor Fqt_incoh_A   = (N_A/N) · F_s,A(superionic)

Usage:  python benchmarks/bench_scattering.py [--atoms 400] [--frames 10000] [--lags 100]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

DYNASOR_PY = Path(os.environ.get("DYNASOR_PYTHON", "/work/venvs/dynasor/bin/python"))

DYNASOR_SCRIPT = r"""
import sys, time, json, numpy as np
from dynasor import Trajectory, compute_dynamic_structure_factors
dump, qfile, out, lags, dt = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
indices = json.loads(sys.argv[6])
q = np.load(qfile)
def traj():
    return Trajectory(dump, trajectory_format="lammps_internal", atomic_indices=indices,
                      length_unit="Angstrom", time_unit="fs")
t0 = time.perf_counter()
for _ in traj():
    pass
t_read = time.perf_counter() - t0
t0 = time.perf_counter()
s = compute_dynamic_structure_factors(traj(), q, dt=dt, window_size=lags, calculate_incoherent=True)
t_total = time.perf_counter() - t0
keys = [k for k in dir(s) if k.startswith("Fqt_")]
np.savez(out, **{k: getattr(s, k) for k in keys}, time=s.time)
print(json.dumps({"t_read": t_read, "t_total": t_total, "keys": keys}))
"""


def make_trajectory(n_atoms: int, n_frames: int, box: float, seed: int = 0):
    rng = np.random.default_rng(seed)
    pos = rng.uniform(0, box, (n_atoms, 3))[None] + np.cumsum(rng.normal(0, 0.08, (n_frames, n_atoms, 3)), axis=0)
    return np.round(pos, 6)


def write_dump(path: Path, pos: np.ndarray, types: np.ndarray, box: float) -> None:
    n = pos.shape[1]
    ids = np.arange(1, n + 1)
    with open(path, "w") as fh:
        for f, p in enumerate(pos):
            fh.write(
                f"ITEM: TIMESTEP\n{f}\nITEM: NUMBER OF ATOMS\n{n}\nITEM: BOX BOUNDS pp pp pp\n"
                f"0 {box}\n0 {box}\n0 {box}\nITEM: ATOMS id type x y z\n"
            )
            np.savetxt(fh, np.column_stack([ids, types, p]), fmt=["%d", "%d", "%.6f", "%.6f", "%.6f"])


def run_superionic(pos, symbols, box, qs, lags, dt):
    from superionic.analysis.scattering import coherent_intermediate_scattering, self_intermediate_scattering
    from superionic.trajectory.model import Trajectory

    traj = Trajectory(positions=pos, cells=np.eye(3) * box, symbols=symbols, dt=dt)
    # warm-up (numba compilation) on a tiny slice, not timed
    coherent_intermediate_scattering(traj.select_frames(0, 20), qs, max_lag=5)
    t0 = time.perf_counter()
    coh = coherent_intermediate_scattering(traj, qs, max_lag=lags + 1)
    t_coh = time.perf_counter() - t0
    t0 = time.perf_counter()
    inc = self_intermediate_scattering(traj, qs, max_lag=lags + 1)
    t_inc = time.perf_counter() - t0
    return coh, inc, t_coh, t_inc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--atoms", type=int, default=400)
    ap.add_argument("--frames", type=int, default=10000)
    ap.add_argument("--lags", type=int, default=100, help="dynasor window_size (max lag in frames)")
    ap.add_argument("--box", type=float, default=16.0)
    ap.add_argument("--per-shell", type=int, default=6)
    args = ap.parse_args()
    from superionic.analysis.qpoints import QSet, spherical_shells

    n_li = args.atoms * 3 // 4
    symbols = ["Li"] * n_li + ["Cl"] * (args.atoms - n_li)
    types = np.array([1] * n_li + [2] * (args.atoms - n_li))
    pos = make_trajectory(args.atoms, args.frames, args.box)
    shells = spherical_shells(np.eye(3) * args.box, [1.0, 2.0, 3.0], q_width=0.2, max_per_shell=args.per_shell)
    qvec = shells.vectors
    qs = QSet(qvec, np.arange(len(qvec)), np.linalg.norm(qvec, axis=1), shells.hkl, "user")
    dt = 10.0
    print(
        f"trajectory: {args.atoms} atoms ({n_li} Li, {args.atoms - n_li} Cl), {args.frames} frames; "
        f"{len(qvec)} Q points; lags 0..{args.lags}"
    )
    coh, inc, t_coh, t_inc = run_superionic(pos, symbols, args.box, qs, args.lags, dt)
    t_ours = t_coh + t_inc
    print(f"superionic: coherent {t_coh:.2f} s + self {t_inc:.2f} s = {t_ours:.2f} s")

    if not DYNASOR_PY.exists():
        print(
            f"dynasor venv not found at {DYNASOR_PY}: create it with "
            "`python3 -m venv /work/venvs/dynasor && /work/venvs/dynasor/bin/pip install dynasor`"
        )
        return
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        dump = tmp / "traj.dump"
        t0 = time.perf_counter()
        write_dump(dump, pos, types, args.box)
        print(f"(wrote LAMMPS dump for dynasor in {time.perf_counter() - t0:.1f} s)")
        np.save(tmp / "q.npy", qvec)
        script = tmp / "run_dynasor.py"
        script.write_text(DYNASOR_SCRIPT)
        env = dict(os.environ)
        r = subprocess.run(
            [
                str(DYNASOR_PY),
                str(script),
                str(dump),
                str(tmp / "q.npy"),
                str(tmp / "out.npz"),
                str(args.lags),
                str(dt),
                json.dumps({"Li": list(range(n_li)), "Cl": list(range(n_li, args.atoms))}),
            ],
            capture_output=True,
            text=True,
            env=env,
        )
        if r.returncode != 0:
            print("dynasor failed:\n" + r.stderr[-3000:])
            return
        info = json.loads(r.stdout.strip().splitlines()[-1])
        ref = dict(np.load(tmp / "out.npz"))
    t_dyn = info["t_total"] - info["t_read"]
    print(
        f"dynasor:    total {info['t_total']:.2f} s, of which reading the file {info['t_read']:.2f} s "
        f"→ compute {t_dyn:.2f} s"
    )

    n = args.atoms
    counts = {"Li": n_li, "Cl": args.atoms - n_li}
    names = {"1": "Li", "2": "Cl", "Li": "Li", "Cl": "Cl"}
    worst = 0.0
    for key, val in ref.items():
        if not key.startswith("Fqt_") or key in ("Fqt_coh", "Fqt_incoh"):
            continue
        parts = key.split("_")[2:]
        if key.startswith("Fqt_incoh"):
            a = names[parts[0]]
            ours = inc.F_s.sel(species=a).values * counts[a] / n
        else:
            a, b = names[parts[0]], names[parts[1]]
            f = coh.F.sel(species_a=a, species_b=b).values
            ours = f * (counts[a] / n if a == b else 2 * np.sqrt(counts[a] * counts[b]) / n)
        m = min(ours.shape[1], val.shape[1])
        rel = np.abs(ours[:, :m] - val[:, :m]).max() / np.abs(val[:, :m]).max()
        worst = max(worst, rel)
        print(f"  {key:>16}: max |Δ| / max |F| = {rel:.2e}")
    print(f"agreement: worst relative difference {worst:.2e} ({'PASS' if worst < 1e-6 else 'FAIL'} at 1e-6)")
    print(f"speed: dynasor compute {t_dyn:.2f} s / superionic {t_ours:.2f} s = {t_dyn / t_ours:.1f}×")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    main()
