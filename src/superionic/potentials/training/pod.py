"""ML-POD candidates of a distillation: proper orthogonal descriptor potentials (Nguyen & Rohskopf, J. Comput.
Phys. 480, 112030 (2023)) fitted by LAMMPS' `fitpod` on the teacher's labels minus a fixed short-range baseline.

The baseline is the one the SNAP candidates use: a ZBL screened-Coulomb core between `zbl` = (inner, outer) Å,
and, in the written potential only, the data walls of `snap.data_walls` (a repulsive K·(d₀ − r)² below the
closest approach of each element pair in the data, minus a margin; zero wherever there are data, so it does not
enter the fit). Without such a baseline POD extrapolated badly in earlier tests (docs/potentials.md: force
errors above 1 eV/Å on strained and 1200 K cells).

A family name is ``pod[-<r_cut Å>][+4body][+pair[<cutoff Å>]]``: 2-body 8 radial functions, 3-body 6 radial ×
angular degree 4 (Bessel degree 4, inverse degree 8; inner radius 1.0 Å), `+4body` adds 4 radial × angular
degree 2. `+pair` fits a pair term first (the cubic B-splines of the SNAP candidates, `snap.fit_pair_term`, on
the labels minus ZBL), and POD on what is left: the short-range repulsion then sits in a term that is never
attractive inwards, so POD's own coefficients only carry the remainder. The written potential is
``pair_style hybrid/overlay pod zbl … table …`` with ``<name>-v<version>.podparam`` and ``.podcoeff`` (LAMMPS'
own formats) beside the table (walls, plus the pair term with `+pair`).
"""

from __future__ import annotations

import contextlib
import tempfile
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from ase import Atoms

from ...errors import InputError
from ..lammps_potentials import LammpsPotential, LammpsSession, load_lammps
from .sampling import labelled_copy
from .snap import (
    PAIR_TABLE_POINTS,
    PairTermMixin,
    fit_pair_term,
    pair_energy_forces,
    pair_option,
    write_pair_table,
    write_wall_table,
    zbl_baseline,
    zbl_coeffs,
)

#: LAMMPS 2025.7 fitpod now and then asks for a negative array size and stops with "Failed to allocate" (7 of 25
#: small fits with the data keywords at their defaults; rarer, about 1 in 10 fits, with every keyword set as below);
#: a fresh instance fits the same data, so it is tried again (a warning says so)
FITPOD_ATTEMPTS = 4


@dataclass
class PodHyper(PairTermMixin):
    """Hyper-parameters of one POD candidate (distances in Å)."""

    elements: list[str]
    rcut: float = 5.5
    rin: float = 1.0
    bessel_degree: int = 4
    inverse_degree: int = 8
    two_body: int = 8
    three_body: int = 6
    three_angular: int = 4
    four_body: int = 0
    four_angular: int = 0
    zbl: tuple[float, float] | None = (1.2, 1.6)
    walls: dict[str, float] = field(default_factory=dict)
    energy_weight: float = 100.0
    regularization: float = 1e-10
    pair: tuple[float, float, int] | None = None  # (r_min Å, r_cut Å, n_basis): fitted pair term, as SNAP's

    @property
    def cutoff(self) -> float:
        """Outer cutoff of the descriptors (or of the pair term, if longer), Å."""
        return max(self.rcut, float(self.pair[1]) if self.pair else 0.0)

    @property
    def table_cutoff(self) -> float:
        """Last distance of the table file, Å: the pair term's cutoff, or the descriptors' for walls alone."""
        return float(self.pair[1]) if self.pair else self.rcut

    def param_file(self) -> str:
        """Text of the POD parameter file (fitpod and pair_style pod read the same file)."""
        return (
            f"# POD parameters (superionic)\nspecies {' '.join(self.elements)}\npbc 1 1 1\nrin {self.rin!r}\n"
            f"rcut {self.rcut!r}\nnumber_of_environment_clusters 1\nbessel_polynomial_degree {self.bessel_degree}\n"
            f"inverse_polynomial_degree {self.inverse_degree}\nonebody 1\n"
            f"twobody_number_radial_basis_functions {self.two_body}\n"
            f"threebody_number_radial_basis_functions {self.three_body}\nthreebody_angular_degree {self.three_angular}\n"
            f"fourbody_number_radial_basis_functions {self.four_body}\nfourbody_angular_degree {self.four_angular}\n"
        )

    def baseline(self) -> LammpsPotential:
        """The fixed part subtracted from the labels before the fit (ZBL, or nothing)."""
        return zbl_baseline(self.elements, self.zbl, self.rcut)

    def potential(
        self, name: str, coeff_file: str, param_file: str, table_file: str, directory: str | None = None, **meta
    ) -> LammpsPotential:
        """The fitted potential: POD + ZBL + the wall table as LAMMPS lines; files relative to {dir}."""
        styles = "hybrid/overlay pod " + (f"zbl {self.zbl[0]!r} {self.zbl[1]!r} " if self.zbl else "")
        styles += f"table linear {PAIR_TABLE_POINTS}"
        coeffs = [f"* * pod {{dir}}/{param_file} {{dir}}/{coeff_file} {{elements}}"]
        coeffs += zbl_coeffs(self.elements) if self.zbl else []
        coeffs += [
            f"{i + 1} {j + 1} table {{dir}}/{table_file} {self.elements[i]}_{self.elements[j]} {self.table_cutoff!r}"
            for i, j in self.pairs
        ]
        return LammpsPotential(
            name, styles, coeffs, list(self.elements), directory=directory, cutoff=self.cutoff, **meta
        )


def pod_candidates(
    elements: Sequence[str], families: Sequence[str], zbl: tuple[float, float] | None = (1.2, 1.6)
) -> dict[str, PodHyper]:
    """Named POD hyper-parameter sets ('pod', 'pod-6.0', 'pod-5.5+4body', 'pod+pair'); other names are not POD."""
    out = {}
    for fam in families:
        base, *opts = fam.split("+")
        head, _, rc = base.partition("-")
        if head != "pod":
            continue
        try:
            rcut = float(rc) if rc else 5.5
            pair = pair_option(opts)
        except ValueError:
            rcut, pair = -1.0, None
        extra = {o for o in opts if o != "4body" and not o.startswith("pair")}
        if rcut <= 2.0 or extra or (pair and pair[1] <= pair[0] + 1.0):
            raise InputError(
                f"unknown POD family {fam!r}: use pod or pod-<cutoff Å>, optionally with +4body and "
                "+pair[<cutoff Å>] (pod-5.5+4body, pod+pair)"
            )
        four = "4body" in opts
        out[fam] = PodHyper(
            list(elements),
            rcut=rcut,
            four_body=4 if four else 0,
            four_angular=2 if four else 0,
            zbl=zbl,
            pair=pair,
        )
    return out


def _evaluate(pot: LammpsPotential, atoms: Atoms) -> tuple[float, np.ndarray]:
    """Energy (eV) and forces (eV/Å, ASE frame) of `pot` on one configuration."""
    s = LammpsSession(atoms, pot)
    try:
        e, f, _ = s.evaluate()
    finally:
        s.close()
    return float(e), np.asarray(f, dtype=float)


def predict(pot: LammpsPotential, frames: Sequence[Atoms]) -> tuple[np.ndarray, np.ndarray]:
    """Energies (n_configs,) and force components (Σ 3N,) of `pot` on `frames`, ASE frame, atom order."""
    es, fs = [], []
    for a in frames:
        e, f = _evaluate(pot, a)
        es.append(e)
        fs.append(f.ravel())
    return np.array(es), np.concatenate(fs)


def fit_pod(frames: Sequence[Atoms], hyper: PodHyper, folder: str | Path, stem: str) -> tuple[Path, Path, Path]:
    """Fit POD on `frames` (energy + forces) minus the baseline (and minus the pair term fitted first, with
    `hyper.pair`) with LAMMPS fitpod; returns the (parameter, coefficient, table) files written as
    ``<folder>/<stem>.podparam``, ``.podcoeff`` and ``.pairtable``.
    """
    if not frames:
        raise InputError("no configurations to fit POD on")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    base = hyper.baseline()
    residual = []
    for a in frames:
        e0, f0 = _evaluate(base, a)
        residual.append(labelled_copy(a, a.get_potential_energy() - e0, a.get_forces() - f0))
    table = folder / f"{stem}.pairtable"
    if hyper.pair:
        coeffs = fit_pair_term(residual, hyper)
        write_pair_table(table, hyper, coeffs)
        for k, b in enumerate(residual):
            e1, f1 = pair_energy_forces(b, hyper, coeffs)
            residual[k] = labelled_copy(b, b.get_potential_energy() - e1, b.get_forces() - f1)
    else:
        write_wall_table(table, hyper.elements, hyper.walls, hyper.rcut)
    param = folder / f"{stem}.podparam"
    param.write_text(hyper.param_file())
    from ase.io import write

    with tempfile.TemporaryDirectory(prefix=".fitpod-", dir=folder) as tmp:
        work = Path(tmp)
        (work / "train").mkdir()
        write(work / "train" / "data.xyz", residual, format="extxyz")
        (work / "param.pod").write_text(hyper.param_file())
        (work / "data.pod").write_text(
            'file_format extxyz\nfile_extension xyz\npath_to_training_data_set "train"\n'
            'path_to_test_data_set "train"\npath_to_environment_configuration_set "train"\n'
            "percentage_training_data_set 1.0\nrandomize_training_data_set 0\n"
            "percentage_test_data_set 1.0\nrandomize_test_data_set 0\n"
            "energy_force_calculation_for_training_data_set 0\nenergy_force_calculation_for_test_data_set 0\n"
            f"fitting_weight_energy {hyper.energy_weight!r}\nfitting_weight_force 1.0\n"
            f"fitting_regularization_parameter {hyper.regularization!r}\n"
            "error_analysis_for_training_data_set 0\nerror_analysis_for_test_data_set 0\n"
            "basename_for_output_files fit\nprecision_for_pod_coefficients 10\n"
        )
        for attempt in range(FITPOD_ATTEMPTS):
            lmp = load_lammps().lammps(cmdargs=["-log", str(work / "fitpod.log"), "-screen", "none", "-nocite"])
            try:
                with contextlib.chdir(work):  # fitpod writes its outputs into the working directory
                    lmp.command("fitpod param.pod data.pod")
                break
            except Exception as err:  # LAMMPS raises plain Exceptions
                if "Failed to allocate" not in str(err) or attempt == FITPOD_ATTEMPTS - 1:
                    raise InputError(f"LAMMPS fitpod failed: {str(err).splitlines()[0]}") from None
                warnings.warn(
                    f"LAMMPS fitpod: {str(err).splitlines()[0]} (an intermittent fitpod failure, see "
                    "FITPOD_ATTEMPTS); retried with a fresh LAMMPS instance",
                    RuntimeWarning,
                    stacklevel=2,
                )
            finally:
                lmp.close()
        made = work / "fit_coefficients.pod"
        if not made.exists():
            raise InputError(f"LAMMPS fitpod wrote no coefficients (its log: {work / 'fitpod.log'})")
        coeff = folder / f"{stem}.podcoeff"
        coeff.write_text(made.read_text())
    return param, coeff, table


def write_pod(
    folder: str | Path, name: str, version: str, hyper: PodHyper, param: Path, coeff: Path, table: Path, **meta
) -> LammpsPotential:
    """Copy a fitted POD (`fit_pod`'s three files) into `folder` as ``<name>-v<version>.podparam/.podcoeff/
    .pairtable``; its potential.
    """
    folder = Path(folder)
    stem = f"{name}-v{version}"
    targets = {
        param: folder / f"{stem}.podparam",
        coeff: folder / f"{stem}.podcoeff",
        table: folder / f"{stem}.pairtable",
    }
    for src, dst in targets.items():
        if src.resolve() != dst.resolve():
            dst.write_text(src.read_text())
    return hyper.potential(
        name,
        f"{stem}.podcoeff",
        f"{stem}.podparam",
        f"{stem}.pairtable",
        directory=str(folder),
        version=version,
        **meta,
    )
