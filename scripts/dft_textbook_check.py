"""Does the DFT teacher's set-up reproduce a textbook number? Equation of state of diamond Si in PBE.

Reference: the all-electron WIEN2k PBE equation of state of the Δ-test (Lejaeghere et al., Science 351,
aad3000 (2016); the values ship with ASE as `ase.collections.dcdft`): Si V0 = 20.453 Å³/atom,
B0 = 88.5 GPa, B' = 4.31. We compute E(V) at seven volumes (±6 %) with the teacher's basis set,
pseudopotential family, cutoffs and SCF settings, but plain PBE (the reference has no dispersion) and a
k-point mesh suited to a 2-atom cell, fit a Birch–Murnaghan EOS (ase.eos) and report V0, a0, B0 and
the Δ-value (meV/atom) against the reference. Li (bcc) is checked the same way with --element Li.

    python scripts/dft_textbook_check.py --out textbook.json [--element Si|Li] [--kpoints 8]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from ase.build import bulk
from ase.collections import dcdft
from ase.eos import EquationOfState
from ase.units import GPa
from ase.utils.deltacodesdft import delta

from superionic.potentials.dft import DEFAULT_DFT, cp2k_calculator

STRUCTURES = {"Si": ("diamond", 5.469), "Li": ("bcc", 3.43)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--element", default="Si", choices=sorted(STRUCTURES))
    p.add_argument("--kpoints", type=int, default=8, help="Monkhorst–Pack mesh n×n×n (default 8)")
    p.add_argument("--out", default="textbook.json")
    args = p.parse_args()
    kind, a_ref = STRUCTURES[args.element]
    ref = dcdft.data[args.element]
    settings = DEFAULT_DFT.with_(dispersion=None, kpoints=(args.kpoints,) * 3, smearing_K=300.0, eps_scf=1e-8)
    calc = cp2k_calculator(settings)
    volumes, energies, seconds = [], [], []
    for s in np.linspace(0.94, 1.06, 7) ** (1 / 3):
        atoms = bulk(args.element, kind, a=a_ref * s)
        atoms.calc = calc
        t = time.perf_counter()
        energies.append(atoms.get_potential_energy() / len(atoms))
        seconds.append(time.perf_counter() - t)
        volumes.append(atoms.get_volume() / len(atoms))
        print(f"V = {volumes[-1]:.3f} Å³/atom  E = {energies[-1]:.5f} eV/atom  ({seconds[-1]:.0f} s)", flush=True)
    eos = EquationOfState(volumes, energies, eos="birchmurnaghan")
    v0, e0, b = eos.fit()
    b0 = b / GPa
    # B' from the full Birch–Murnaghan parameters (ase keeps them in eos.eos_parameters)
    bp = float(eos.eos_parameters[2]) if getattr(eos, "eos_parameters", None) is not None else float("nan")
    cubic = {"diamond": 8, "bcc": 2}[kind]
    a0 = (v0 * cubic) ** (1 / 3)
    a_wien = (ref["wien2k_volume"] * cubic) ** (1 / 3)
    d = 1000 * delta(v0, b, bp if np.isfinite(bp) else ref["wien2k_Bp"], ref["wien2k_volume"],
                     ref["wien2k_B"] * GPa, ref["wien2k_Bp"])  # fmt: skip
    row = {
        "element": args.element,
        "structure": kind,
        "settings": settings.as_dict(),
        "V0_A3_per_atom": v0,
        "a0_A": a0,
        "B0_GPa": b0,
        "Bp": bp,
        "reference": "WIEN2k PBE, Δ-test (Lejaeghere et al. Science 2016; ase.collections.dcdft)",
        "reference_V0_A3_per_atom": ref["wien2k_volume"],
        "reference_a0_A": a_wien,
        "reference_B0_GPa": ref["wien2k_B"],
        "V0_error_percent": 100 * (v0 / ref["wien2k_volume"] - 1),
        "a0_error_percent": 100 * (a0 / a_wien - 1),
        "B0_error_percent": 100 * (b0 / ref["wien2k_B"] - 1),
        "delta_meV_per_atom": d,
        "seconds_per_point": float(np.median(seconds)),
    }
    print(
        f"{args.element} ({kind}): a0 = {a0:.4f} Å (WIEN2k PBE {a_wien:.4f}, {row['a0_error_percent']:+.2f} %), "
        f"B0 = {b0:.1f} GPa (WIEN2k {ref['wien2k_B']:.1f}, {row['B0_error_percent']:+.1f} %), Δ = {d:.2f} meV/atom"
    )
    with open(args.out, "w") as fh:
        json.dump(row, fh, indent=2)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
