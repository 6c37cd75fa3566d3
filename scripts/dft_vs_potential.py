"""Forces of registered potentials against the DFT labels: RMSE per source and per species, and the
least-squares slope F_DFT ≈ k·F_potential per species (k > 1: the potential is too soft).

    python3 scripts/dft_vs_potential.py data/dft/li6ps5cl-pbe-d3/labels chgnet li6ps5cl-snap
    python3 scripts/dft_vs_potential.py LABELS li6ps5cl-pbe-d3-chgnet --unseen-by CARD.json

Prints one table per potential (eV/Å). The slope is fitted on the `teacher-md` labels only (thermal
snapshots), where forces are small enough for a linear comparison to be meaningful. With ``--unseen-by`` a
fine-tuning card (``<model>.pth.card.json``) names the configurations to leave out: only labels that model
never saw (trained, validated or tested on) are compared.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from ase.io import read

from superionic.potentials.registry import make_calculator


def main(labels: str, names: list[str], unseen_by: str | None = None) -> None:
    frames = [read(f) for f in sorted(Path(labels).glob("*.extxyz"))]
    if unseen_by:
        seen = {cid for ids in json.loads(Path(unseen_by).read_text())["split"].values() for cid in ids}
        frames = [a for a in frames if str(a.info.get("config_id")) not in seen]
    ref = [a.get_forces() for a in frames]
    sources = [str(a.info.get("source")) for a in frames]
    symbols = [np.array(a.get_chemical_symbols()) for a in frames]
    for name in names:
        calc = make_calculator(name)
        pred = []
        for a in frames:
            b = a.copy()
            b.calc = calc
            pred.append(b.get_forces())
        print(f"\n{name} vs DFT: {len(frames)} labels")
        for src in sorted(set(sources)):
            idx = [i for i, s in enumerate(sources) if s == src]
            d = np.concatenate([pred[i] - ref[i] for i in idx])
            spread = np.concatenate([ref[i] for i in idx]).std()
            print(
                f"  {src:14s} n={len(idx):3d}  F RMSE {np.sqrt((d**2).mean()):.3f} eV/Å  (DFT force spread {spread:.3f})"
            )
        md = [i for i, s in enumerate(sources) if s == "teacher-md"]
        for el in ("Li", "P", "S", "Cl"):
            x = np.concatenate([pred[i][symbols[i] == el].ravel() for i in md])
            y = np.concatenate([ref[i][symbols[i] == el].ravel() for i in md])
            if len(x) == 0:
                continue
            k = float(x @ y / (x @ x))
            rest = np.sqrt(((y - k * x) ** 2).mean())
            print(f"  {el:2s} slope F_DFT/F_{name} = {k:.2f}; RMSE after rescaling {rest:.3f} eV/Å")


if __name__ == "__main__":
    args = sys.argv[1:]
    card = None
    if "--unseen-by" in args:
        i = args.index("--unseen-by")
        card = args[i + 1]
        del args[i : i + 2]
    if len(args) < 2:
        sys.exit(__doc__)
    main(args[0], args[1:], card)
