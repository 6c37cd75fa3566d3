"""Convergence of the DFT teacher's forces on a thermally rattled Li6PS5Cl cell (52 atoms).

Each setting is compared with a tighter reference (600 Ry, relative cutoff 60 Ry, EPS_SCF 1e-7) and,
for the Brillouin-zone sampling, the Γ-point label with a 2×2×2 Monkhorst–Pack mesh. Prints and writes
(JSON) the largest and RMS force difference (eV/Å), the energy difference (meV/atom), the stress
difference (GPa) and the wall time of each calculation. Costs about 30 min on 2 cores.

    python scripts/dft_convergence.py --out dft_convergence.json [--rattle 0.1] [--skip-kpoints]

`--structure FILE` (any file ASE reads, e.g. one label of data/dft/) takes that configuration as it is instead
of the rattled ideal cell; `--kpoints-only` runs only the Γ-point label and the 2×2×2 mesh (about 20 min here); `--finer-mesh 3` adds a 3×3×3
mesh against which both are compared.
"""

from __future__ import annotations

import argparse
import json
import time

import ase.io
import numpy as np

from superionic.materials import build_material
from superionic.potentials.dft import DEFAULT_DFT, cp2k_calculator


def evaluate(atoms, settings):
    a = atoms.copy()
    calc = cp2k_calculator(settings)
    a.calc = calc
    t = time.perf_counter()
    e = a.get_potential_energy()
    f = a.get_forces()
    s = a.get_stress()
    wall = time.perf_counter() - t
    calc.close()  # ends the cp2k_shell process
    return e, f, s, wall


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="dft_convergence.json")
    p.add_argument("--rattle", type=float, default=0.1, help="Gaussian rattle of every atom, Å (default 0.1)")
    p.add_argument("--skip-kpoints", action="store_true", help="skip the 2×2×2 k-point check (the slowest)")
    p.add_argument("--structure", help="configuration to test (ASE-readable file) instead of the rattled ideal cell")
    p.add_argument("--kpoints-only", action="store_true", help="only the Γ-point label against the 2×2×2 mesh")
    p.add_argument(
        "--finer-mesh",
        type=int,
        default=0,
        metavar="N",
        help="also an N×N×N mesh, against which the Γ point and the 2×2×2 mesh are compared (is 2×2×2 converged?)",
    )
    args = p.parse_args()
    if args.structure:
        atoms = ase.io.read(args.structure)
        atoms.calc = None
    else:
        atoms = build_material("Li6PS5Cl")
        atoms.positions += np.random.default_rng(7).normal(0.0, args.rattle, atoms.positions.shape)
    n = len(atoms)
    ref_settings = DEFAULT_DFT.with_(cutoff_ry=600.0, rel_cutoff_ry=60.0, eps_scf=1e-7)
    cases = {
        "default": DEFAULT_DFT,
        "cutoff 300 Ry / rel 40": DEFAULT_DFT.with_(cutoff_ry=300.0, rel_cutoff_ry=40.0),
        "EPS_SCF 1e-5": DEFAULT_DFT.with_(eps_scf=1e-5),
        "smearing 1000 K": DEFAULT_DFT.with_(smearing_K=1000.0),
    }
    rows: dict = {}
    if args.kpoints_only:
        cases = {"default": DEFAULT_DFT}
    else:
        ref = evaluate(atoms, ref_settings)
        print(f"reference {ref_settings.label()}: {ref[3]:.0f} s", flush=True)
        rows["reference"] = {"settings": ref_settings.as_dict(), "seconds": ref[3]}

    def compare(name, res, against, against_name):
        df = res[1] - against[1]
        row = {
            "against": against_name,
            "force_max_diff_eV_per_A": float(np.abs(df).max()),
            "force_rms_diff_eV_per_A": float(np.sqrt(np.mean(df**2))),
            "energy_diff_meV_per_atom": float(1000 * (res[0] - against[0]) / n),
            "stress_max_diff_GPa": float(np.abs(res[2] - against[2]).max() * 160.21766),
            "seconds": res[3],
            "reference_seconds": against[3],
        }
        rows[name] = row
        print(
            f"{name:>24}: ΔF max {row['force_max_diff_eV_per_A']:.4f} rms {row['force_rms_diff_eV_per_A']:.4f} eV/Å, "
            f"ΔE {row['energy_diff_meV_per_atom']:+.2f} meV/atom, Δσ {row['stress_max_diff_GPa']:.3f} GPa, "
            f"{res[3]:.0f} s (reference {against[3]:.0f} s)",
            flush=True,
        )

    results = {}
    for name, s in cases.items():
        results[name] = evaluate(atoms, s)
        if args.kpoints_only:
            print(f"{name}: {results[name][3]:.0f} s", flush=True)
        else:
            compare(name, results[name], ref, "reference")
    if not args.skip_kpoints:
        k = evaluate(atoms, DEFAULT_DFT.with_(kpoints=(2, 2, 2)))
        compare("k-points 2×2×2 vs Γ", results["default"], k, "default with 2×2×2")
        if args.finer_mesh:
            mesh = "×".join([str(args.finer_mesh)] * 3)
            fine = evaluate(atoms, DEFAULT_DFT.with_(kpoints=(args.finer_mesh,) * 3))
            compare(f"k-points Γ vs {mesh}", results["default"], fine, f"default with {mesh}")
            compare(f"k-points 2×2×2 vs {mesh}", k, fine, f"default with {mesh}")
    if args.structure:
        rows["structure"] = args.structure
    else:
        rows["rattle_A"] = args.rattle
    rows["n_atoms"] = n
    with open(args.out, "w") as fh:
        json.dump(rows, fh, indent=2)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
