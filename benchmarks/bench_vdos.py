"""Benchmark: superionic VDOS vs dynasor's ACF route and a straightforward NumPy reference.

Same velocities (400 atoms × 20 000 frames by default) for every route:
  * superionic `vdos` (fast kernel: one FFT per velocity component, power spectra summed over atoms,
    one inverse FFT per bootstrap block), float64 and float32, all cores and one core;
  * dynasor 2.5 `dynasor.tools.acfs.compute_acf` per atom and component (scipy.signal.correlate,
    what dynasor users do for a VACF), un-normalised and averaged, then `psd_from_acf` — run in its own
    venv (/work/venvs/vdosbench) so dynasor never enters our dependencies;
  * NumPy reference `vacf_reference` (per-atom all-origin FFT autocorrelation, then the mean).
Each route is timed (best of --repeat) and checked against ours (max |ΔZ|/Z(0)).

Usage: python benchmarks/bench_vdos.py [--atoms 400] [--frames 20000] [--repeat 2]
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

from superionic.analysis import vdos as vmod
from superionic.synthetic import harmonic_oscillators

DYNASOR_PY = Path(os.environ.get("VDOSBENCH_PY", "/work/venvs/vdosbench/bin/python"))

DYNASOR_SCRIPT = r"""
import sys, time, json, numpy as np
from dynasor.tools.acfs import compute_acf, psd_from_acf
v = np.load(sys.argv[1], mmap_mode="r")
dt, max_lag, repeat = float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
best = 1e99
for _ in range(repeat):
    t0 = time.perf_counter()
    T, N, _ = v.shape
    acc = np.zeros(T)
    for i in range(N):
        for c in range(3):
            z = np.ascontiguousarray(v[:, i, c])
            _, acf = compute_acf(z, delta_t=dt)          # normalised by its own zero lag
            acc += acf * np.mean(z * z)
    z = acc / (3 * N) * 3                              # <v·v>: sum over components
    freqs, psd = psd_from_acf(z[:max_lag] / z[0], dt=dt)
    best = min(best, time.perf_counter() - t0)
np.save(sys.argv[5], z[:max_lag])
print(json.dumps({"time": best, "version": __import__("dynasor").__version__}))
"""


def best_of(fn, repeat):
    best, out = 1e99, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--atoms", type=int, default=400)
    ap.add_argument("--frames", type=int, default=20000)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--skip-reference", action="store_true", help="skip the slow per-atom NumPy reference")
    a = ap.parse_args()
    n_freq = 4
    traj = harmonic_oscillators(
        np.linspace(2, 12, n_freq),
        n_per_frequency=a.atoms // n_freq,
        n_frames=a.frames,
        dt=5.0,
        symbols=["Li"] * n_freq,
        seed=0,
    )
    v = traj.velocities
    max_lag = a.frames // 2
    print(f"data: {traj.n_atoms} atoms × {traj.n_frames} frames, max_lag {max_lag}; CPU cores {os.cpu_count()}")
    rows = []

    t64, ds = best_of(lambda: vmod.vdos(traj), a.repeat)
    z_ours = ds.vacf.values[0]
    rows.append(("superionic vdos float64 (all cores)", t64, 0.0))
    t32, ds32 = best_of(lambda: vmod.vdos(traj, precision="float32"), a.repeat)
    rows.append(
        ("superionic vdos float32 (all cores)", t32, float(np.abs(ds32.vacf.values[0] - z_ours).max() / z_ours[0]))
    )
    vmod.FFT_WORKERS = 1
    t1, _ = best_of(lambda: vmod.vdos(traj), a.repeat)
    vmod.FFT_WORKERS = -1
    rows.append(("superionic vdos float64 (1 core)", t1, 0.0))

    if not a.skip_reference:
        idx = traj.indices("Li")
        tr, zr = best_of(lambda: vmod.vacf_reference(v, idx, max_lag), 1)
        rows.append(("NumPy reference vacf_reference (per-atom FFT)", tr, float(np.abs(zr - z_ours).max() / z_ours[0])))

    if DYNASOR_PY.exists():
        with tempfile.TemporaryDirectory() as tmp:
            vin, zout = Path(tmp) / "v.npy", Path(tmp) / "z.npy"
            np.save(vin, v)
            res = subprocess.run(
                [str(DYNASOR_PY), "-c", DYNASOR_SCRIPT, str(vin), str(traj.dt), str(max_lag), str(a.repeat), str(zout)],
                capture_output=True,
                text=True,
            )
            if res.returncode == 0:
                info = json.loads(res.stdout.strip().splitlines()[-1])
                zd = np.load(zout)
                rows.append(
                    (
                        f"dynasor {info['version']} compute_acf route (1 core)",
                        info["time"],
                        float(np.abs(zd - z_ours).max() / z_ours[0]),
                    )
                )
            else:
                print("dynasor route failed:", res.stderr[-500:])
    else:
        print(
            f"dynasor venv not found at {DYNASOR_PY}; create it with: python3 -m venv /work/venvs/vdosbench && "
            "/work/venvs/vdosbench/bin/pip install dynasor"
        )

    print(f"{'route':52s} {'time (s)':>9s} {'max|ΔZ|/Z0':>11s}")
    for name, t, d in rows:
        print(f"{name:52s} {t:9.3f} {d:11.2e}")
    baselines = [r for r in rows if not r[0].startswith("superionic")]
    if baselines:
        fastest = min(baselines, key=lambda r: r[1])
        print(f"\nfastest baseline: {fastest[0]} ({fastest[1]:.3f} s)")
        print(
            f"speed-up float64 all cores: {fastest[1] / t64:.1f}×   float32: {fastest[1] / t32:.1f}×   "
            f"float64 one core: {fastest[1] / t1:.1f}×   (goal ≥ 5×)"
        )


if __name__ == "__main__":
    sys.exit(main())
