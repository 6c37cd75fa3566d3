"""Γ-point phonons of the 52-atom ordered Li6PS5Cl cell from DFT (`cp2k-pbe-d3`) beside fast potentials.

    OMP_NUM_THREADS=2 python3 scripts/dft_gamma_phonons.py OUT [--potentials chgnet,li6ps5cl-snap] [--replay-only]

Every model sees the same cell (the library's, a = 9.859 Å) with its own relaxed positions, P222 kept (DFT:
BFGS to max |F| < 0.05 eV/Å; the others: 1e-3 eV/Å), then finite displacements of +0.02 Å through phonopy in
the cell itself (supercell 1×1×1: the Γ point of this cell, which holds the zone-boundary points of the fcc
primitive cell folded in, is exact). Forward differences need 41 DFT cells instead of 82; their error is
measured on the cheap models against central differences ("(central)" entries). Every DFT evaluation
(relaxation steps and displaced cells) is a label in OUT/labels (a `StoredCalculator`, the same kind of
store as `train-potential --teacher dft`): a killed run replays what it has and continues, and a finished
one replays everything in seconds.

Writes OUT/gamma.json: per model the 156 Γ frequencies (THz), the mean frequency seen by each species
(Σ ν |e_s|² / Σ |e_s|²), the PS4 breathing-mode frequency, the least-squares ratio ν_model/ν_DFT over the
modes above 1 THz (matched by rank), and the model's force constants at the DFT-relaxed structure against
DFT's (Φ_DFT ≈ k Φ_model; per-species self terms); OUT/gamma.png plots the frequencies.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms

from superionic.lattice import harmonic_phonons, relax
from superionic.materials import build_material
from superionic.potentials.dft import DEFAULT_DFT, cp2k_calculator
from superionic.potentials.registry import get_potential, make_calculator
from superionic.potentials.training.labelling import LabelStore, StoredCalculator, teacher_identity
from superionic.results import atomic_write

DISPLACEMENT = 0.02  # Å
DFT_FMAX = (
    0.05  # eV/Å (each DFT step costs about 80 s here; the residual forces are subtracted from the displaced ones)
)
FMAX = 1e-3  # eV/Å


def species_mean(freq: np.ndarray, vec: np.ndarray, symbols: list[str]) -> dict[str, float]:
    """Mean Γ frequency (THz) weighted by each species' share |e_s|² of every mode above 0.1 THz."""
    w = (np.abs(vec) ** 2).sum(axis=2)  # (modes, atoms)
    keep = freq > 0.1
    out = {}
    for s in dict.fromkeys(symbols):
        ws = w[keep][:, [i for i, x in enumerate(symbols) if x == s]].sum(axis=1)
        out[s] = float((freq[keep] * ws).sum() / ws.sum())
    return out


def displaced(atoms: Atoms, calc: Any, name: str, plusminus: bool | str = False) -> Any:
    """Γ phonons of `atoms` as they are, in the cell itself (phonopy; +u only unless `plusminus`)."""
    return harmonic_phonons(
        atoms,
        calc,
        supercell=1,
        primitive=None,
        displacement=DISPLACEMENT,
        mesh=[1, 1, 1],
        plusminus=plusminus,
        progress=lambda i, n, s: (
            print(f"{name}: displaced cell {i}/{n} ({s:.0f} s)", flush=True) if i % 10 == 0 else None
        ),
    )


def breathing_mode(atoms: Atoms, freq: np.ndarray, vec: np.ndarray) -> float:
    """Frequency (THz) of the mode with the largest weight on the symmetric P–S stretch of the PS4 units."""
    sym = np.array(atoms.get_chemical_symbols())
    pattern = np.zeros((len(atoms), 3))
    for p in np.flatnonzero(sym == "P"):
        d = atoms.get_distances(p, np.flatnonzero(sym == "S"), mic=True, vector=True)
        near = np.argsort(np.linalg.norm(d, axis=1))[:4]
        for k in near:
            pattern[np.flatnonzero(sym == "S")[k]] = d[k] / np.linalg.norm(d[k])
    w = pattern * np.sqrt(atoms.get_masses())[:, None]  # eigenvectors are mass-weighted
    w /= np.linalg.norm(w)
    weight = np.abs(np.einsum("mak,ak->m", vec.conj(), w)) ** 2
    return float(freq[int(np.argmax(weight))])


def gamma(atoms: Atoms, calc: Any, fmax: float, name: str, plusminus: bool | str = False) -> tuple[dict, Atoms, Any]:
    """Relax `atoms` inside P222 with `calc`, then its Γ phonons: (record for gamma.json, structure, result)."""
    from ase.constraints import FixSymmetry

    t0 = time.perf_counter()
    start = atoms.copy()
    start.set_constraint(FixSymmetry(start, symprec=1e-4))  # keep P222: 82 displaced cells instead of 312
    relaxed, residual = relax(start, calc, fmax=fmax, optimizer="BFGS", steps=300)
    relaxed.set_constraint()
    print(f"{name}: relaxed in {relaxed.info['relax_steps']} steps (max |F| {residual:.4f} eV/Å)", flush=True)
    res = displaced(relaxed, calc, name, plusminus)
    freq = np.asarray(res.gamma_frequencies_thz)
    vec = np.asarray(res.gamma_eigenvectors)
    record = {
        "frequencies_THz": [round(float(x), 4) for x in freq],
        "species_mean_THz": species_mean(freq, vec, relaxed.get_chemical_symbols()),
        "breathing_mode_THz": breathing_mode(relaxed, freq, vec),
        "relax_steps": int(relaxed.info["relax_steps"]),
        "residual_force_eV_per_A": residual,
        "n_displacements": res.n_displacements,
        "differences": "central" if plusminus else "forward",
        "seconds": time.perf_counter() - t0,
    }
    return record, relaxed, res


def at_dft_geometry(atoms: Atoms, dft_fc: np.ndarray, calc: Any, name: str) -> dict[str, Any]:
    """A model's force constants at the DFT-relaxed structure against DFT's: Φ_DFT ≈ k Φ_model over all elements
    (least squares, with the correlation) and, per species, the mean self term tr Φ_ii (eV/Å²) of both."""
    fc = np.asarray(displaced(atoms, calc, f"{name} at the DFT geometry").phonopy.force_constants)
    sym = np.array(atoms.get_chemical_symbols())
    out: dict[str, Any] = {
        "k": float((dft_fc * fc).sum() / (fc * fc).sum()),
        "correlation": float(np.corrcoef(dft_fc.ravel(), fc.ravel())[0, 1]),
    }
    for el in dict.fromkeys(sym.tolist()):
        idx = np.flatnonzero(sym == el)
        out[f"self_{el}_eV_per_A2"] = [
            float(np.mean([np.trace(dft_fc[i, i]) for i in idx])),
            float(np.mean([np.trace(fc[i, i]) for i in idx])),
        ]
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out", type=Path)
    p.add_argument("--potentials", default="chgnet,li6ps5cl-snap")
    p.add_argument(
        "--replay-only",
        action="store_true",
        help="use the stored DFT labels only: stop instead of starting a DFT calculation that is not stored",
    )
    args = p.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / "gamma.json"
    result: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}

    def save() -> None:
        text = json.dumps(result, indent=1)
        atomic_write(path, lambda tmp: tmp.write_text(text), durable=True)

    store = LabelStore(args.out / "labels", teacher_identity(get_potential("cp2k-pbe-d3")))
    done = store.frames()
    if done:  # the start of the stored DFT run (its first evaluation): a fresh LAMMPS relaxation on another
        # machine differs by more than the 1e-5 Å of a configuration id, and would not replay the labels
        first = done[0]
        start = Atoms(first.get_chemical_symbols(), positions=first.get_positions(), cell=first.cell, pbc=True)
    else:
        start, _ = relax(build_material("Li6PS5Cl"), make_calculator("li6ps5cl-snap"), fmax=FMAX, optimizer="BFGS")
    names = [s for s in args.potentials.split(",") if s]
    for name in names:
        if name not in result:
            result[name] = gamma(start, make_calculator(name), FMAX, name)[0]
            save()
        if f"{name} (central)" not in result:  # the forward-difference error, measured on the cheap models
            result[f"{name} (central)"] = gamma(start, make_calculator(name), FMAX, name, plusminus="auto")[0]
            save()

    # DFT: computed once; a second run replays every evaluation from the labels (seconds)
    def no_new_dft() -> Any:
        raise SystemExit("--replay-only: a DFT evaluation is not among the stored labels; nothing new was computed")

    teacher = StoredCalculator(
        store,
        no_new_dft if args.replay_only else lambda: cp2k_calculator(DEFAULT_DFT, directory=args.out / "cp2k"),
        source="gamma-phonons",
        log=lambda msg: print(f"  DFT {msg}", flush=True),
    )
    try:
        record, dft_atoms, dft_res = gamma(start, teacher, DFT_FMAX, "dft")
    finally:
        teacher.close()
    result["dft"] = {**result.get("dft", {}), **record, "labels_computed_this_run": teacher.computed}
    dft_fc = np.asarray(dft_res.phonopy.force_constants)
    for name in names:
        result[name]["at_dft_geometry"] = at_dft_geometry(dft_atoms, dft_fc, make_calculator(name), name)
    save()
    ref = np.asarray(result["dft"]["frequencies_THz"])
    for name, r in result.items():
        if name.endswith("(central)"):
            fwd = np.asarray(result[name.removesuffix(" (central)")]["frequencies_THz"])
            r["forward_minus_central_THz"] = float(np.abs(fwd - np.asarray(r["frequencies_THz"])).max())
        nu = np.asarray(r["frequencies_THz"])
        m = ref > 1.0
        r["ratio_to_dft"] = float(nu[m] @ ref[m] / (ref[m] @ ref[m]))
        means = ", ".join(f"{s} {v:.2f}" for s, v in r["species_mean_THz"].items())
        print(
            f"{name:24s} ν_max {nu.max():6.2f} THz, {int((nu < -0.05).sum())} imaginary, ν/ν_DFT "
            f"{r['ratio_to_dft']:.3f}, PS4 breathing {r.get('breathing_mode_THz', float('nan')):.2f} THz; "
            f"species means (THz): {means}"
        )
        if "at_dft_geometry" in r:
            g = r["at_dft_geometry"]
            selfs = ", ".join(
                f"{k.removeprefix('self_').removesuffix('_eV_per_A2')} {v[0] / v[1]:.2f}"
                for k, v in g.items()
                if k.startswith("self_")
            )
            print(
                f"{'':24s} at the DFT geometry: Φ_DFT ≈ {g['k']:.2f} Φ (r = {g['correlation']:.3f}); self terms ×{selfs}"
            )
    save()
    figure(result, args.out / "gamma.png")


def figure(result: dict[str, Any], path: Path) -> None:
    """Sorted Γ frequencies of every model against DFT's (one point per mode), with the diagonal."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ref = np.asarray(result["dft"]["frequencies_THz"])
    fig, ax = plt.subplots(figsize=(5, 4.5))
    for name, r in result.items():
        if name != "dft" and not name.endswith("(central)"):
            ax.plot(ref, r["frequencies_THz"], ".", ms=4, label=f"{name} (ν/ν_DFT = {r['ratio_to_dft']:.2f})")
    top = float(ref.max()) * 1.05
    ax.plot([0, top], [0, top], "k-", lw=0.8, label="= DFT")
    ax.set(xlabel="DFT (PBE-D3) Γ frequency (THz)", ylabel="model Γ frequency (THz)", xlim=(0, top), ylim=(0, top))
    ax.set_title("Li6PS5Cl, 52-atom cell: Γ modes sorted by frequency", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=130)


if __name__ == "__main__":
    main()
