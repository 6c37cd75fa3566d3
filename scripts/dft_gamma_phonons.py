"""Γ-point phonons of the 52-atom ordered Li6PS5Cl cell from DFT (the `cp2k-pbe-d3` teacher) beside fast potentials.

    OMP_NUM_THREADS=2 python3 scripts/dft_gamma_phonons.py OUT [--potentials chgnet,li6ps5cl-snap]

Every model sees the same cell (the library's, a = 9.859 Å) with its own relaxed positions (DFT: BFGS to
max |F| < 0.02 eV/Å; the others: 1e-3 eV/Å), then finite displacements of 0.02 Å through phonopy in the cell
itself (supercell 1×1×1: the Γ point of this cell, which holds the Γ, X and the other zone-boundary points
of the fcc primitive cell folded in, is exact). Every DFT evaluation (relaxation steps and displaced cells)
is a label in OUT/labels (the same store as `train-potential --teacher dft`): a killed run replays what it
has and continues. Writes OUT/gamma.json: per model the 156 Γ frequencies (THz), the mean frequency seen by
each species (Σ ν |e_s|² / Σ |e_s|²) and the least-squares ratio ν_model/ν_DFT over the modes above 1 THz.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator, all_changes

from superionic.lattice import harmonic_phonons, relax
from superionic.materials import build_material
from superionic.potentials.dft import DEFAULT_DFT, cp2k_calculator
from superionic.potentials.registry import get_potential, make_calculator
from superionic.potentials.training.labelling import LabelStore, config_id
from superionic.potentials.training.sampling import label
from superionic.results import atomic_write

DISPLACEMENT = 0.02  # Å
DFT_FMAX = 0.02  # eV/Å
FMAX = 1e-3  # eV/Å


class StoredTeacher(Calculator):
    """The DFT teacher behind a label store: a configuration labelled before is read back, not recomputed."""

    implemented_properties = ["energy", "forces", "stress"]

    def __init__(self, store: LabelStore, folder: Path):
        super().__init__()
        self.store = store
        self.folder = folder
        self.inner: Any = None
        self.cache = {a.info["config_id"]: a for a in store.frames()}
        self.computed = 0

    def calculate(self, atoms: Atoms | None = None, properties: Any = None, system_changes: Any = all_changes) -> None:
        super().calculate(atoms, properties, system_changes)
        assert self.atoms is not None
        cid = config_id(self.atoms)
        if cid not in self.cache:
            if self.inner is None:
                self.inner = cp2k_calculator(DEFAULT_DFT, directory=self.folder / "cp2k")
            t0 = time.perf_counter()
            lab = label(self.atoms, self.inner, source="gamma-phonons")
            lab.info.update(
                config_id=cid,
                teacher_key=DEFAULT_DFT.key(),
                teacher_seconds=time.perf_counter() - t0,
                labelled_at=time.time(),
            )
            self.store.add(lab)
            self.cache[cid] = lab
            self.computed += 1
            print(
                f"  DFT label {len(self.cache)} ({self.computed} this run) in {lab.info['teacher_seconds']:.0f} s",
                flush=True,
            )
        a = self.cache[cid]
        self.results = {"energy": a.get_potential_energy(), "forces": a.get_forces(), "stress": a.get_stress()}


def species_mean(freq: np.ndarray, vec: np.ndarray, symbols: list[str]) -> dict[str, float]:
    """Mean Γ frequency (THz) weighted by each species' share |e_s|² of every mode above 0.1 THz."""
    w = (np.abs(vec) ** 2).sum(axis=2)  # (modes, atoms)
    keep = freq > 0.1
    out = {}
    for s in dict.fromkeys(symbols):
        ws = w[keep][:, [i for i, x in enumerate(symbols) if x == s]].sum(axis=1)
        out[s] = float((freq[keep] * ws).sum() / ws.sum())
    return out


def gamma(atoms: Atoms, calc: Any, fmax: float, name: str) -> dict[str, Any]:
    from ase.constraints import FixSymmetry

    t0 = time.perf_counter()
    start = atoms.copy()
    start.set_constraint(FixSymmetry(start, symprec=1e-4))  # keep P222: 82 displaced cells instead of 312
    relaxed, residual = relax(start, calc, fmax=fmax, optimizer="BFGS", steps=300)
    relaxed.set_constraint()
    print(f"{name}: relaxed in {relaxed.info['relax_steps']} steps (max |F| {residual:.4f} eV/Å)", flush=True)
    res = harmonic_phonons(
        relaxed,
        calc,
        supercell=1,
        primitive=None,
        displacement=DISPLACEMENT,
        mesh=[1, 1, 1],
        progress=lambda i, n, s: (
            print(f"{name}: displaced cell {i}/{n} ({s:.0f} s)", flush=True) if i % 10 == 0 else None
        ),
    )
    freq = np.asarray(res.gamma_frequencies_thz)
    symbols = relaxed.get_chemical_symbols()
    return {
        "frequencies_THz": [round(float(x), 4) for x in freq],
        "species_mean_THz": species_mean(freq, np.asarray(res.gamma_eigenvectors), symbols),
        "relax_steps": int(relaxed.info["relax_steps"]),
        "residual_force_eV_per_A": residual,
        "n_displacements": res.n_displacements,
        "seconds": time.perf_counter() - t0,
        "positions": relaxed.get_positions().round(5).tolist(),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out", type=Path)
    p.add_argument("--potentials", default="chgnet,li6ps5cl-snap")
    args = p.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "gamma.json"
    result: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}

    def save() -> None:
        text = json.dumps(result, indent=1)
        atomic_write(path, lambda tmp: tmp.write_text(text), durable=True)

    cell = build_material("Li6PS5Cl")
    start, _ = relax(cell, make_calculator("li6ps5cl-snap"), fmax=FMAX, optimizer="BFGS")
    for name in [s for s in args.potentials.split(",") if s]:
        if name not in result:
            result[name] = gamma(start, make_calculator(name), FMAX, name)
            save()
    if "dft" not in result:
        spec = get_potential("cp2k-pbe-d3")
        identity = {**spec.identity(), "key": DEFAULT_DFT.key(), "label": DEFAULT_DFT.label()}
        store = LabelStore(args.out / "labels", identity)
        teacher = StoredTeacher(store, args.out)
        try:
            result["dft"] = gamma(start, teacher, DFT_FMAX, "dft")
        finally:
            if teacher.inner is not None and hasattr(teacher.inner, "close"):
                teacher.inner.close()
        save()
    ref = np.asarray(result["dft"]["frequencies_THz"])
    for name, r in result.items():
        nu = np.asarray(r["frequencies_THz"])
        m = ref > 1.0
        r["ratio_to_dft"] = float(nu[m] @ ref[m] / (ref[m] @ ref[m]))
        means = ", ".join(f"{s} {v:.2f}" for s, v in r["species_mean_THz"].items())
        print(
            f"{name:16s} ν_max {nu.max():6.2f} THz  lowest optic {nu[3]:6.2f}  ν/ν_DFT {r['ratio_to_dft']:.3f}  "
            f"species means (THz): {means}"
        )
    save()


if __name__ == "__main__":
    main()
