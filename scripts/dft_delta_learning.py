"""Does a CHGNet-distilled baseline help a SNAP fit of few DFT labels? (Δ-learning, measured)

    python3 scripts/dft_delta_learning.py data/dft/li6ps5cl-pbe-d3/labels [--baseline li6ps5cl-snap]

Fits each SNAP family to DFT − k·baseline (energies and forces) for k = 0 (plain fit), 1 and 1.4 (the
measured DFT/CHGNet force slope, docs/dft.md) on the training split of `train-potential` (seed 0) and prints
the held-out force RMSE (eV/Å), all test configurations and the MD snapshots among them, at the best ridge
of a small grid (chosen on the test set for every k alike: optimistic, but the same for all).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from ase.io import read

from superionic.potentials.registry import make_calculator
from superionic.potentials.training import snap
from superionic.potentials.training.sampling import labelled_copy
from superionic.potentials.training.train import candidates, split_indices

RIDGES = (1e-8, 1e-6, 1e-4, 1e-3, 1e-2)
FAMILIES = ("linear-6", "quadratic-4", "quadratic-4+pair")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("labels", type=Path)
    p.add_argument("--baseline", default="li6ps5cl-snap")
    args = p.parse_args()
    frames = sorted((read(f) for f in args.labels.glob("*.extxyz")), key=lambda a: float(a.info.get("labelled_at", 0)))
    calc = make_calculator(args.baseline)
    base = []
    for a in frames:
        b = a.copy()
        b.calc = calc
        base.append((b.get_potential_energy(), b.get_forces()))
    split = split_indices(frames, seed=0)
    test = split == "test"
    train = ~test
    source = np.array([str(a.info.get("source", "?")) for a in frames])
    print(f"{len(frames)} labels, {test.sum()} held out ({', '.join(sorted(set(source[test])))})")
    elements = list(dict.fromkeys(s for a in frames for s in a.get_chemical_symbols()))
    for k in (0.0, 1.0, 1.4):
        resid = [
            labelled_copy(a, a.get_potential_energy() - k * e, a.get_forces() - k * f, None)
            for a, (e, f) in zip(frames, base)
        ]
        for fam, hyper in candidates(elements, FAMILIES).items():
            d = snap.descriptors(resid, hyper)
            mf = test[d.force_config]
            md = mf & (source[d.force_config] == "teacher-md")
            best = None
            for ridge in RIDGES:
                _, pf = snap.predict(d, snap.fit(d, ridge=ridge, select=train))
                err = pf - d.y_force
                row = (np.sqrt((err[mf] ** 2).mean()), np.sqrt((err[md] ** 2).mean()), ridge)
                best = row if best is None or row[0] < best[0] else best
            assert best is not None
            print(
                f"k = {k:3.1f}  {fam:17s} held-out F RMSE {best[0]:.3f} eV/Å (MD snapshots {best[1]:.3f}), ridge {best[2]:g}"
            )


if __name__ == "__main__":
    main()
