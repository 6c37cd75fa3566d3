"""How far the couplings behind the top of the Γ spectrum reach, in DFT and in fast potentials.
    OMP_NUM_THREADS=2 python3 scripts/gamma_band_range.py [NAME ...] [--labels DIR] [--radii 3,4,5,6,7,9] [--top 14]
For each model (a registered potential, a .lammps.json, or `dft`: the PBE-D3 Γ calculation replayed from the stored
labels of `scripts/dft_gamma_phonons.py`, seconds, nothing new computed): the relaxed 52-atom Li6PS5Cl cell and its
Γ force constants Φ_ij by finite displacements (`dft_gamma_phonons.gamma`), then Φ truncated to the pairs closer
than R (minimum image), the self terms restored from the acoustic sum rule Φ_ii = −Σ_{j≠i} Φ_ij, and the `--top`
highest frequencies of the truncated dynamical matrix. A model whose band top needs R beyond its cutoff cannot be
matched by a fast potential of a shorter one. Φ of a one-cell Γ calculation holds every periodic image of j summed
(R ≥ 9 Å is then the whole of it), so this is a diagnostic, not a real-space force-constant model.
Units: Å, THz.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from ase import Atoms

sys.path.insert(0, str(Path(__file__).parent))
import dft_gamma_phonons as gp  # noqa: E402

from superionic.lattice.inm import normal_modes  # noqa: E402
from superionic.potentials.registry import get_potential, make_calculator  # noqa: E402
from superionic.potentials.training.labelling import LabelStore, StoredCalculator, teacher_identity  # noqa: E402


def truncated_frequencies(fc: np.ndarray, atoms: Atoms, radius: float) -> np.ndarray:
    """Γ frequencies (THz, ascending; imaginary ones negative; the 3 translations removed) from force constants `fc`
    (n, n, 3, 3; eV/Å²) kept only for the pairs closer than `radius` (Å, minimum image), self terms from the
    acoustic sum rule."""
    n = len(atoms)
    f = np.where((atoms.get_all_distances(mic=True) <= radius)[:, :, None, None], fc, 0.0)
    idx = np.arange(n)
    f[idx, idx] = 0.0
    f[idx, idx] = -f.sum(axis=1)
    return normal_modes(f.transpose(0, 2, 1, 3).reshape(3 * n, 3 * n), atoms.get_masses())[0]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("names", nargs="*", default=["dft", "li6ps5cl-pbe-d3-chgnet", "li6ps5cl-pbe-d3-snap"])
    p.add_argument("--labels", type=Path, default=Path("data/dft/li6ps5cl-pbe-d3/gamma/labels"))
    p.add_argument("--radii", default="3,4,5,6,7,9", help="truncation radii R, Å")
    p.add_argument("--top", type=int, default=14, help="how many of the highest modes (the PS4 stretches: 14)")
    args = p.parse_args()
    if not (args.labels / "teacher.json").is_file():
        raise SystemExit(f"{args.labels} holds no stored DFT labels (run scripts/dft_gamma_phonons.py first)")
    store = LabelStore(args.labels, teacher_identity(get_potential("cp2k-pbe-d3")))
    first = store.frames()[0]  # the start of the stored DFT run, as in dft_gamma_phonons.py
    start = Atoms(first.get_chemical_symbols(), positions=first.get_positions(), cell=first.cell, pbc=True)

    def no_new_dft() -> None:
        raise SystemExit("a DFT evaluation is not among the stored labels; nothing new is computed here")

    for name in args.names:
        if name == "dft":
            calc = StoredCalculator(store, no_new_dft, source="gamma-phonons", log=lambda msg: None)
            rec, atoms, res = gp.gamma(start, calc, gp.DFT_FMAX, "dft")
        else:
            rec, atoms, res = gp.gamma(start, make_calculator(name), gp.FMAX, name)
        fc = np.asarray(res.phonopy.force_constants)
        full = np.asarray(rec["frequencies_THz"])[-args.top :]
        print(f"{name}: {args.top} highest Γ modes {full[0]:.2f}–{full[-1]:.2f} THz")
        for r in (float(x) for x in args.radii.split(",")):
            nu = truncated_frequencies(fc, atoms, r)[-args.top :]
            print(f"  pairs within {r:4.1f} Å: {nu[0]:.2f}–{nu[-1]:.2f} THz (width {nu[-1] - nu[0]:.2f})", flush=True)


if __name__ == "__main__":
    main()
