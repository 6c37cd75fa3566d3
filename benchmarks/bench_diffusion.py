"""Benchmark: superionic tracer D ± σ against kinisi on the same trajectory and lag grid, in one run.

kinisi (Bayesian regression on the MSD with an estimated covariance, emcee sampling) lives in its own
venv, never in superionic's dependencies:

    python3 -m venv /work/venvs/kinisi && /work/venvs/kinisi/bin/pip install kinisi==2.1.0

It is run through a subprocess on the same unwrapped fractional coordinates (written to a temporary
.npz), the same lag grid (every frame lag 1 … max_lag) and the same diffusive fit range start (the one
superionic chooses automatically). Both compute the MSD from scratch. Printed: D ± σ from both, whether
the 1σ error bars overlap, times (kinisi timed inside its process, imports excluded) and the speed ratio.

    .venv/bin/python benchmarks/bench_diffusion.py [--kinisi-python PATH] [--synthetic-lags 500]
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

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "li6ps5cl_aimd_XDATCAR.gz"

KINISI_RUNNER = r"""
import json, sys, time
import numpy as np
import scipp as sc
t_import = time.perf_counter()
from kinisi.parser import Parser
from kinisi.diffusion_analyzer import DiffusionAnalyzer
from kinisi.displacement import calculate_msd
from kinisi.diffusion import Diffusion
z = np.load(sys.argv[1])
t0 = time.perf_counter()
frac = np.concatenate([z["frac"][:1], z["frac"]])          # kinisi's parsers repeat the first frame
latt = np.concatenate([z["cells"][:1], z["cells"]])
coords = sc.array(dims=["time", "particle", "dimension"], values=frac, unit=sc.units.dimensionless)
lattice = sc.array(dims=["time", "dimension1", "dimension2"], values=latt, unit=sc.units.angstrom)
dt = sc.array(dims=["time interval"], values=z["lags"] * float(z["dt"]), unit="fs")
idx = sc.array(dims=["particle"], values=z["mobile"])
drift = sc.array(dims=["particle"], values=z["framework"])
p = Parser(coords, lattice, sc.scalar(float(z["dt"]), unit="fs"), sc.scalar(1, unit=sc.units.dimensionless),
           dt=dt, specie_indices=idx, drift_indices=drift)
t1 = time.perf_counter()
a = DiffusionAnalyzer(p)
a._dg = calculate_msd(p, progress=False)
t2 = time.perf_counter()
diff = Diffusion(dg=a._dg)
diff._start_dt = sc.scalar(float(z["start"]), unit="fs")
diff._cond_max, diff._recondition = 1e16, False
diff.diff_regime = np.argwhere(a._dg["da"].coords["time interval"] >= diff._start_dt)[0][0]
diff.compute_covariance_matrix()
t3 = time.perf_counter()
np.random.seed(0)
a.diffusion(sc.scalar(float(z["start"]), unit="fs"), progress=False)
t4 = time.perf_counter()
d = a.D.values
print(json.dumps({"D": float(np.mean(d)), "D_err": float(np.std(d)), "t_parse": t1 - t0, "t_msd": t2 - t1,
                  "t_covariance": t3 - t2, "t_fit": t4 - t3, "t_total": (t2 - t0) + (t4 - t3)}))
"""


def run_superionic(traj, species, max_lag, repeats=5):
    from superionic.analysis.diffusion import diffusion

    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        ds = diffusion(traj, species, max_lag=max_lag + 1, per_axis=False)
        best = min(best, time.perf_counter() - t0)
    return ds, best


def run_kinisi(python, traj, species, max_lag, start):
    from superionic.trajectory.unwrap import unwrap_positions

    pos = unwrap_positions(traj.positions, traj.cells)
    frac = np.einsum("fai,fij->faj", pos, np.linalg.inv(traj.cells))
    mobile = traj.indices(species)
    framework = np.setdiff1d(np.arange(traj.n_atoms), mobile)
    with tempfile.TemporaryDirectory() as tmp:
        npz = os.path.join(tmp, "traj.npz")
        np.savez(
            npz,
            frac=frac,
            cells=traj.cells,
            lags=np.arange(1, max_lag + 1),
            dt=traj.dt,
            start=start,
            mobile=mobile,
            framework=framework,
        )
        script = os.path.join(tmp, "run_kinisi.py")
        Path(script).write_text(KINISI_RUNNER)
        t0 = time.perf_counter()
        res = subprocess.run(
            [python, script, npz],
            capture_output=True,
            text=True,
            timeout=3600,
            env={**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")},
        )
        wall = time.perf_counter() - t0
    if res.returncode != 0:
        raise RuntimeError(f"kinisi failed:\n{res.stderr[-3000:]}")
    out = json.loads(res.stdout.strip().splitlines()[-1])
    out["wall"] = wall
    return out


def compare(name, traj, species, max_lag, python):
    ds, t_si = run_superionic(traj, species, max_lag)
    d, de = float(ds.D.values[0]), float(ds.D_err.values[0])
    start = float(ds.fit_start.values[0])
    k = run_kinisi(python, traj, species, max_lag, start)
    overlap = abs(d - k["D"]) <= de + k["D_err"]
    print(f"\n== {name}: {traj!r}, lags 1…{max_lag} frames, fit range from {start:g} fs")
    print(f"  superionic D = {d:.4e} ± {de:.2e} cm²/s   time {t_si:.3f} s (MSD + α₂ + fit range + GLS)")
    print(
        f"  kinisi     D = {k['D']:.4e} ± {k['D_err']:.2e} cm²/s   time {k['t_total']:.3f} s "
        f"(parse {k['t_parse']:.2f}, MSD {k['t_msd']:.2f}, covariance {k['t_covariance']:.2f}, "
        f"fit incl. its covariance + MCMC {k['t_fit']:.2f}; process wall {k['wall']:.1f} s)"
    )
    print(
        f"  error bars overlap: {'yes' if overlap else 'NO'}; σ ratio superionic/kinisi = {de / k['D_err']:.2f}; "
        f"speed-up = {k['t_total'] / t_si:.1f}×  (goal ≥ 10×)"
    )
    return dict(name=name, D=d, D_err=de, kinisi=k, speedup=k["t_total"] / t_si, overlap=bool(overlap))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kinisi-python", default="/work/venvs/kinisi/bin/python")
    ap.add_argument("--synthetic-lags", type=int, default=500, help="max lag of the synthetic case (0: skip)")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()
    if not Path(args.kinisi_python).exists():
        sys.exit(f"kinisi interpreter not found at {args.kinisi_python}; see the module docstring")
    from superionic import synthetic
    from superionic.trajectory.io import read_trajectory

    results = []
    if DATA.exists():
        traj = read_trajectory(DATA, dt=100.0, format="vasp-xdatcar")
        results.append(
            compare("real AIMD Li6PS5Cl (kinisi docs data)", traj, "Li", traj.n_frames // 2 - 1, args.kinisi_python)
        )
    if args.synthetic_lags:
        m = args.synthetic_lags
        traj = synthetic.langevin_particles(n_atoms=64, n_frames=2 * m + 2, dt=1.0, stride=10, gamma=0.01, seed=1)
        results.append(
            compare(
                f"Langevin particles (exact D = {synthetic.langevin_diffusion_coefficient(600, 6.94, 0.01):.4e})",
                traj,
                "Li",
                m,
                args.kinisi_python,
            )
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
