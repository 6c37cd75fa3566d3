"""Linear and quadratic SNAP: descriptors from LAMMPS `compute snap`, ridge fit in NumPy, LAMMPS files.

SNAP (Thompson et al., J. Comput. Phys. 285, 316 (2015)): the energy of atom i of element e is
E_i = β_e0 + Σ_k β_ek B_k(i) (+ ½ Σ_kl α_ekl B_k B_l for quadratic SNAP), with B the bispectrum
components of the neighbour density inside the cutoff r_ij < rcutfac·(R_e + R_e'). `compute snap`
returns, per configuration, the per-element sums of B (energy row) and their derivatives (3N force
rows, in atom-id order, LAMMPS frame), so energy and forces are linear in β: the fit is a weighted
ridge regression. An optional fixed baseline (ZBL core repulsion, pair_style hybrid/overlay) is
subtracted from the targets before the fit and added back in the potential.

Units: energies eV, forces eV/Å, lengths Å.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from ase import Atoms
from ase.data import atomic_numbers

from ...errors import InputError
from ..lammps_potentials import LammpsPotential, LammpsSession


class PairTermMixin:
    """What the pair-term functions read of a candidate (SNAP's or POD's): `elements`, the optional fitted pair
    term `pair` = (r_min Å, r_cut Å, n_basis), the data `walls` {"A_B": d0 Å}, and from them `pairs` and
    `n_pair_params`.
    """

    elements: list[str]
    pair: tuple[float, float, int] | None
    walls: dict[str, float] | None

    @property
    def pairs(self) -> list[tuple[int, int]]:
        """Element index pairs (a ≤ b) of the pair term, in column order."""
        return element_pairs(len(self.elements))

    @property
    def n_pair_params(self) -> int:
        """Number of pair-term coefficients (`pair[2]` B-splines per element pair); 0 without a pair term."""
        return len(self.pairs) * int(self.pair[2]) if self.pair else 0


@dataclass
class SnapHyper(PairTermMixin):
    """SNAP hyper-parameters. radii/weights per element (Å / dimensionless); cutoff = rcutfac·(Ri+Rj)."""

    elements: list[str]
    radii: list[float]
    weights: list[float]
    rcutfac: float = 1.0
    twojmax: int = 6
    rfac0: float = 0.99363
    rmin0: float = 0.0
    quadratic: bool = False
    zbl: tuple[float, float] | None = None  # (inner, outer) Å switching of the ZBL baseline, or None
    chemflag: bool = False  # explicit multi-element bispectrum (B per element triple; linear only is sane)
    bnormflag: bool = False  # normalise B by (2j+1) (LAMMPS recommends it with chemflag)
    pair: tuple[float, float, int] | None = None  # (r_min Å, r_cut Å, n_basis): fitted pair term φ_ab(r)
    walls: dict[str, float] | None = None  # {"A_B": d0 Å}: repulsive wall PAIR_WALL·(d0 − r)² below d0 (table)
    # (S_inner, D_inner) Å: a neighbour's SNAP contribution is switched off smoothly below S − D and is whole above
    # S + D (LAMMPS switchinnerflag, the same for every element), leaving the ZBL core alone at short range
    inner: tuple[float, float] | None = None

    def __post_init__(self) -> None:
        if not (len(self.elements) == len(self.radii) == len(self.weights)):
            raise InputError("SNAP needs one radius and one weight per element")
        if self.inner is not None and not 0 < self.inner[1] < self.inner[0]:
            raise InputError(f"SNAP inner switch needs 0 < D_inner < S_inner (Å), got {self.inner}")
        if self.twojmax < 0 or int(self.twojmax) != self.twojmax:
            raise InputError(f"twojmax must be a non-negative integer, got {self.twojmax}")

    @property
    def snap_cutoff(self) -> float:
        """Largest SNAP pair cutoff rcutfac·(R_i + R_j), Å."""
        return float(2 * self.rcutfac * max(self.radii))

    @property
    def cutoff(self) -> float:
        """Largest interaction range (SNAP or the pair term), Å."""
        return max(self.snap_cutoff, float(self.pair[1]) if self.pair else 0.0)

    def compute_args(self) -> str:
        """Arguments of LAMMPS `compute snap` after the style name: rcutfac rfac0 twojmax, radii, weights, keywords."""
        radii = " ".join(repr(float(r)) for r in self.radii)
        weights = " ".join(repr(float(w)) for w in self.weights)
        extra = ""
        if self.chemflag:
            extra += f" chem {len(self.elements)} " + " ".join(str(i) for i in range(len(self.elements)))
        if self.bnormflag:
            extra += " bnormflag 1"
        if self.inner:
            extra += " " + " ".join(self._inner_keywords())
        return (
            f"{self.rcutfac!r} {self.rfac0!r} {self.twojmax} {radii} {weights} rmin0 {self.rmin0!r} "
            f"quadraticflag {int(self.quadratic)} bzeroflag 1 switchflag 1{extra}"
        )

    def param_file(self) -> str:
        """Text of the LAMMPS .snapparam file for pair_style snap."""
        return (
            f"# SNAP parameters (superionic)\nrcutfac {self.rcutfac!r}\ntwojmax {self.twojmax}\n"
            f"rfac0 {self.rfac0!r}\nrmin0 {self.rmin0!r}\nswitchflag 1\nbzeroflag 1\n"
            f"quadraticflag {int(self.quadratic)}\n"
            + ("chemflag 1\n" if self.chemflag else "")
            + ("bnormflag 1\n" if self.bnormflag else "")
            + "".join(f"{kw}\n" for kw in self._inner_keywords())
        )

    def _inner_keywords(self) -> list[str]:
        """LAMMPS keywords of the inner switch, the same for `compute snap` and the .snapparam file ([] without)."""
        if not self.inner:
            return []
        s, d = (" ".join([repr(float(v))] * len(self.elements)) for v in self.inner)
        return ["switchinnerflag 1", f"sinner {s}", f"dinner {d}"]

    def baseline(self) -> LammpsPotential:
        """The fixed part (ZBL or nothing) with a neighbour cutoff covering the SNAP cutoff."""
        return zbl_baseline(self.elements, self.zbl, self.cutoff)

    def _zbl_coeffs(self) -> list[str]:
        return zbl_coeffs(self.elements)

    def potential(
        self,
        name: str,
        coeff_file: str,
        param_file: str,
        directory: str | None = None,
        table_file: str | None = None,
        **meta,
    ) -> LammpsPotential:
        """The fitted potential: SNAP (+ the baseline, + the pair table) as LAMMPS lines; files relative to {dir}."""
        snap_coeff = f"* * snap {{dir}}/{coeff_file} {{dir}}/{param_file} {{elements}}"
        if self.pair:
            if table_file is None:
                raise InputError("a SNAP with a pair term needs its table file")
            styles = (
                f"zbl {self.zbl[0]!r} {self.zbl[1]!r} " if self.zbl else ""
            ) + f"snap table linear {PAIR_TABLE_POINTS}"
            coeffs = [snap_coeff] + (self._zbl_coeffs() if self.zbl else [])
            coeffs += [
                f"{i + 1} {j + 1} table {{dir}}/{table_file} {_pair_key(self.elements, i, j)} {float(self.pair[1])!r}"
                for i, j in self.pairs
            ]
            return LammpsPotential(
                name,
                f"hybrid/overlay {styles}",
                coeffs,
                list(self.elements),
                directory=directory,
                cutoff=self.cutoff,
                **meta,
            )
        if self.zbl is None:
            return LammpsPotential(
                name,
                "snap",
                [snap_coeff.replace("snap ", "", 1)],
                list(self.elements),
                directory=directory,
                cutoff=self.cutoff,
                **meta,
            )
        inner, outer = self.zbl
        return LammpsPotential(
            name,
            f"hybrid/overlay zbl {inner!r} {outer!r} snap",
            [snap_coeff] + self._zbl_coeffs(),
            list(self.elements),
            directory=directory,
            cutoff=self.cutoff,
            **meta,
        )


def zbl_coeffs(elements: Sequence[str]) -> list[str]:
    """`pair_coeff` lines of a ZBL core for every element pair (LAMMPS types in `elements` order)."""
    z = [atomic_numbers[e] for e in elements]
    n = len(z)
    return [f"{i + 1} {j + 1} zbl {z[i]} {z[j]}" for i in range(n) for j in range(i, n)]


def zbl_baseline(elements: Sequence[str], zbl: tuple[float, float] | None, cutoff: float) -> LammpsPotential:
    """The fixed part of a fit: a ZBL core switched off between zbl = (inner, outer) Å (or nothing), with a
    neighbour cutoff of `cutoff` Å.
    """
    if zbl is None:
        return LammpsPotential("baseline", f"zero {cutoff!r}", ["* *"], list(elements))
    inner, outer = zbl
    return LammpsPotential(
        "baseline",
        f"hybrid/overlay zbl {inner!r} {outer!r} zero {cutoff!r}",
        ["* * zero"] + zbl_coeffs(elements),
        list(elements),
    )


@dataclass
class Design:
    """Linear system of a dataset: energy rows (one per config) and force rows (3N per config)."""

    A_energy: np.ndarray  # (n_configs, n_params) per-config sums (incl. per-element atom counts)
    y_energy: np.ndarray  # (n_configs,) teacher − baseline energy, eV
    n_atoms: np.ndarray  # (n_configs,)
    A_force: np.ndarray  # (n_force_rows, n_params)
    y_force: np.ndarray  # (n_force_rows,) teacher − baseline force components, eV/Å (LAMMPS frame)
    force_species: np.ndarray  # (n_force_rows,) element index of the atom of each row
    force_config: np.ndarray  # (n_force_rows,) config index of each row
    n_per_element: int = 0  # parameters per element (1 + descriptors)
    meta: dict = field(default_factory=dict)
    n_snap: int = 0  # SNAP parameters (the first columns); pair-term columns follow; 0 → all SNAP


def descriptors(frames: Sequence[Atoms], hyper: SnapHyper) -> Design:
    """Build the SNAP design matrix of labelled frames (each with energy and forces) via `compute snap`."""
    if not frames:
        raise InputError("no configurations to featurise")
    ne = len(hyper.elements)
    rows_e, ye, nat, yf, spf, cfg = [], [], [], [], [], []
    # the force rows go straight into one array, allocated at the first configuration: a list stacked at the end
    # held the matrix twice (linear-4+chem of 1576 Li6PS5Cl configurations, 7.5 GB: killed for memory at 23 GB)
    A_force: np.ndarray | None = None
    n_rows, row = 3 * sum(len(a) for a in frames), 0
    base = hyper.baseline()
    sess = None
    for k, a in enumerate(frames):
        # a fresh LAMMPS instance per configuration: reusing one after a box change gave stale
        # `compute snap` rows for some configurations (LAMMPS 2025.7); the cost is ~10 ms each
        if sess is not None:
            sess.close()
        sess = LammpsSession(a, base)
        sess.command(f"compute snapd all snap {hyper.compute_args()}")
        e_base, f_base, _ = sess.evaluate()
        arr = np.array(sess.lmp.numpy.extract_compute("snapd", 0, 2), dtype=float)
        n = len(a)
        types = sess.types - 1
        nd = (arr.shape[1] - 1) // ne  # descriptors per element
        counts = np.bincount(types, minlength=ne).astype(float)
        row_e = np.concatenate([np.concatenate([[counts[t]], arr[0, t * nd : (t + 1) * nd]]) for t in range(ne)])
        try:
            e_t = a.get_potential_energy()
            f_t = a.get_forces()
        except Exception as err:
            raise InputError(f"configuration {k} has no energy/forces label") from err
        fr = arr[1 : 1 + 3 * n, :-1]
        row_f = np.concatenate(
            [np.concatenate([np.zeros((3 * n, 1)), fr[:, t * nd : (t + 1) * nd]], axis=1) for t in range(ne)], axis=1
        )
        # teacher forces into the LAMMPS frame (the session's rotation Q), same atom-id order
        f_l = (np.asarray(f_t) - f_base) @ sess.Q
        if hyper.pair:
            pe_, pf_ = pair_columns(a, hyper, types)
            row_e = np.concatenate([row_e, pe_])
            row_f = np.concatenate(
                [row_f, np.einsum("nck,cd->ndk", pf_.reshape(n, 3, -1), sess.Q).reshape(3 * n, -1)], axis=1
            )
        rows_e.append(row_e)
        ye.append(e_t - e_base)
        nat.append(n)
        if A_force is None:
            A_force = np.empty((n_rows, row_f.shape[1]))
        A_force[row : row + 3 * n] = row_f
        row += 3 * n
        yf.append(f_l.ravel())
        spf.append(np.repeat(types, 3))
        cfg.append(np.full(3 * n, k))
    if sess is not None:
        sess.close()
    return Design(
        np.array(rows_e),
        np.array(ye),
        np.array(nat),
        A_force,
        np.concatenate(yf),
        np.concatenate(spf),
        np.concatenate(cfg),
        n_per_element=1 + nd,
        n_snap=ne * (1 + nd),
    )


@dataclass
class NormalEquations:
    """Gram matrices of the standardised energy rows (per atom) and force rows of selected configurations."""

    G_energy: np.ndarray
    b_energy: np.ndarray
    G_force: np.ndarray
    b_force: np.ndarray
    scale: np.ndarray  # column scales (RMS over the selected energy and force rows)
    n_rows: int
    n_per_element: int
    n_snap: int = 0


def config_weights(design: Design, reference: float | None = None) -> np.ndarray:
    """Per-configuration weights 1/max(1, F_rms,c/F_ref): far-from-equilibrium cells (strong rattles, hot
    snapshots) with huge forces would otherwise dominate the least squares. F_ref = median F_rms (eV/Å).
    """
    n = len(design.y_energy)
    ss = np.bincount(design.force_config, weights=design.y_force**2, minlength=n)
    cnt = np.bincount(design.force_config, minlength=n)
    rms = np.sqrt(ss / np.maximum(cnt, 1))
    ref = float(np.median(rms)) if reference is None else reference
    return 1.0 / np.maximum(1.0, rms / ref)


def normal_equations(
    design: Design, select: np.ndarray | None = None, weights: np.ndarray | None = None, *, chunk: int = 20_000
) -> NormalEquations:
    """AᵀA and Aᵀy of energy (÷N) and force rows, once, so that weights and ridge can be scanned cheaply.

    weights: optional per-configuration weights (multiply the residuals of that configuration's rows). The force
    rows are read `chunk` at a time: memory beyond the design matrix stays one block, where whole-matrix products
    held up to three copies beside it (2300 Li6PS5Cl configurations of 52 atoms, quadratic 2J = 6: 6 GB each; the
    fit was killed for memory on a 23 GB machine).
    """
    ce = np.ones(len(design.y_energy), bool) if select is None else np.asarray(select)
    w = np.ones(len(design.y_energy)) if weights is None else np.asarray(weights, dtype=float)
    Ae = design.A_energy[ce] / design.n_atoms[ce, None] * w[ce, None]
    ye = design.y_energy[ce] / design.n_atoms[ce] * w[ce]
    rows = np.flatnonzero(ce[design.force_config])
    n = design.A_force.shape[1]
    G, b = np.zeros((n, n)), np.zeros(n)
    for i in range(0, len(rows), chunk):
        block = rows[i : i + chunk]
        wf = w[design.force_config[block]]
        Af = design.A_force[block] * wf[:, None]
        G += Af.T @ Af
        b += Af.T @ (design.y_force[block] * wf)
    # column scales: RMS over the energy and force rows (the force rows' sums of squares are G's diagonal)
    n_rows = len(ye) + len(rows)
    scale = np.sqrt(((Ae**2).sum(axis=0) + np.diag(G)) / n_rows)
    scale[scale == 0] = 1.0
    Ae = Ae / scale
    return NormalEquations(
        Ae.T @ Ae, Ae.T @ ye, G / np.outer(scale, scale), b / scale, scale, n_rows, design.n_per_element, design.n_snap
    )


def solve(ne: NormalEquations, *, energy_weight: float = 1.0, ridge: float = 1e-6) -> np.ndarray:
    """β minimising w_E² Σ(ΔE/N)² + Σ ΔF² + ridge·n_rows·‖β_std‖² (β_e0 unpenalised)."""
    lam = np.full(len(ne.scale), ridge * ne.n_rows)
    lam[: ne.n_snap or None : ne.n_per_element] = 0.0  # β_e0: unpenalised
    lhs = energy_weight**2 * ne.G_energy + ne.G_force + np.diag(lam)
    rhs = energy_weight**2 * ne.b_energy + ne.b_force
    try:
        import warnings

        import scipy.linalg

        with warnings.catch_warnings():
            # the smallest ridges of the grid can be ill-conditioned: their β is scored on validation data
            # like every other grid point (and loses there), so the warning says nothing the choice does not
            warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
            beta = scipy.linalg.solve(lhs, rhs, assume_a="pos")
        if not np.all(np.isfinite(beta)):
            raise np.linalg.LinAlgError
    except (np.linalg.LinAlgError, ValueError, ImportError, Exception):
        beta = np.linalg.lstsq(lhs, rhs, rcond=None)[0]
    return beta / ne.scale


def fit(
    design: Design, *, energy_weight: float = 1.0, ridge: float = 1e-6, select: np.ndarray | None = None
) -> np.ndarray:
    """Weighted ridge regression → coefficients β (n_params,).

    Loss: Σ_c w_E² (ΔE_c/N_c)² + Σ_rows ΔF² + ridge·‖β‖² on standardised columns (the constant
    per-element columns are not penalised). select: boolean mask of configurations to fit.
    """
    ce = np.ones(len(design.y_energy), bool) if select is None else np.asarray(select)
    cf = ce[design.force_config]
    Ae = design.A_energy[ce] / design.n_atoms[ce, None] * energy_weight
    ye = design.y_energy[ce] / design.n_atoms[ce] * energy_weight
    A = np.vstack([Ae, design.A_force[cf]])
    y = np.concatenate([ye, design.y_force[cf]])
    scale = np.sqrt((A**2).mean(axis=0))
    scale[scale == 0] = 1.0
    As = A / scale
    lam = np.full(A.shape[1], ridge)
    lam[: design.n_snap or None : design.n_per_element] = 0.0  # β_e0: unpenalised
    lhs = As.T @ As + np.diag(lam * len(y))
    rhs = As.T @ y
    beta = np.linalg.lstsq(lhs, rhs, rcond=None)[0]
    return beta / scale


def predict(design: Design, beta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(energies − baseline, force components − baseline) predicted by β (eV, eV/Å)."""
    return design.A_energy @ beta, design.A_force @ beta


def write_coeff(path: str | Path, hyper: SnapHyper, beta: np.ndarray, comment: str = "") -> None:
    """LAMMPS .snapcoeff: 'nelem ncoeff', then per element 'El R w' and ncoeff coefficients (SNAP part of β)."""
    ne = len(hyper.elements)
    beta = np.asarray(beta)[: len(beta) - hyper.n_pair_params]
    per = len(beta) // ne
    lines = [f"# SNAP coefficients (superionic) {comment}".rstrip(), "", f"{ne} {per}"]
    for t, el in enumerate(hyper.elements):
        lines.append(f"{el} {hyper.radii[t]!r} {hyper.weights[t]!r}")
        lines += [f"{b:.16e}" for b in beta[t * per : (t + 1) * per]]
    Path(path).write_text("\n".join(lines) + "\n")


def hyper_dict(h: SnapHyper) -> dict:
    """The hyper-parameters as a plain dict (`dataclasses.asdict`)."""
    return asdict(h)


# -- fitted pair term: cubic B-splines φ_ab(r) = Σ_k c_abk B_k(r), tabulated for pair_style table ----

PAIR_TERM = (1.5, 5.5, 16)  # default fitted pair term: r_min Å, r_cut Å, cubic B-splines per element pair


def pair_term(r_cut: float | None = None) -> tuple[float, float, int]:
    """(r_min Å, r_cut Å, n_basis) of a pair term ending at `r_cut` (default PAIR_TERM's), knots 0.25 Å apart."""
    rc = PAIR_TERM[1] if r_cut is None else float(r_cut)
    nb = int(round(PAIR_TERM[2] * (rc - PAIR_TERM[0]) / (PAIR_TERM[1] - PAIR_TERM[0])))
    return (PAIR_TERM[0], rc, nb)


def pair_option(opts: Sequence[str]) -> tuple[float, float, int] | None:
    """The pair term of a family's '+' options ('pair' or 'pair<cutoff Å>', the last one counts), or None;
    ValueError for a cutoff that is not a number.
    """
    p_opt = [o for o in opts if o.startswith("pair")]
    return pair_term(float(p_opt[-1][4:]) if p_opt[-1][4:] else None) if p_opt else None


def element_pairs(n: int) -> list[tuple[int, int]]:
    """Element index pairs (a ≤ b) of `n` elements, in the pair term's column order."""
    return [(i, j) for i in range(n) for j in range(i, n)]


PAIR_TABLE_POINTS = 5000  # LAMMPS interpolation table length (pair_style table linear N)
PAIR_TABLE_RMIN = 0.5  # Å, first tabulated distance (the ZBL core dominates below ~1.6 Å)
PAIR_WALL = 50.0  # eV/Å², repulsive wall added to the table below r_min (not in the fit)
WALL_MARGIN = 0.15  # Å, data walls start this far below the closest approach in the data


def data_walls(
    frames: Sequence[Atoms], elements: Sequence[str], cutoff: float, margin: float = WALL_MARGIN
) -> dict[str, float]:
    """{"A_B": closest A–B distance in the frames − margin} (Å) for every pair seen within `cutoff` Å."""
    from ...materials.checks import pair_min_distances

    idx = {e: k for k, e in enumerate(elements)}
    best: dict[str, float] = {}
    for a in frames:
        for pair, d in pair_min_distances(a, cutoff).items():
            name = _pair_key(elements, *sorted(idx[e] for e in pair))
            best[name] = min(best.get(name, np.inf), d)
    return {k: round(v - margin, 4) for k, v in best.items()}


def _pair_key(elements: Sequence[str], i: int, j: int) -> str:
    return f"{elements[i]}_{elements[j]}"


def pair_basis(r: np.ndarray, r_min: float, r_cut: float, n_basis: int) -> tuple[np.ndarray, np.ndarray]:
    """Uniform cubic B-splines (n, n_basis) and their r-derivatives (1/Å).

    Knot spacing h = (r_cut − r_min)/n_basis, knots t_k = r_min + (k − 3)h: the basis is complete on
    [r_min, r_cut − 3h] and every function vanishes with its first two derivatives at r_cut. Below r_min
    each function continues linearly (value and slope at r_min), so that a pair term repulsive at r_min
    stays repulsive inwards instead of tapering to zero (which would pull atoms together).
    """
    r = np.asarray(r, dtype=float)
    inner = r < r_min
    if inner.any():
        B, dB = pair_basis(np.maximum(r, r_min), r_min, r_cut, n_basis)
        B[inner] += dB[inner] * (r[inner] - r_min)[:, None]
        return B, dB
    h = (r_cut - r_min) / n_basis
    u = (r[:, None] - (r_min + (np.arange(n_basis) - 3) * h)) / h  # (n, K) in [0, 4) on support
    B = np.zeros_like(u)
    dB = np.zeros_like(u)
    for lo, f, df in (
        (0, lambda x: x**3 / 6, lambda x: x**2 / 2),
        (1, lambda x: (-3 * x**3 + 12 * x**2 - 12 * x + 4) / 6, lambda x: (-9 * x**2 + 24 * x - 12) / 6),
        (2, lambda x: (3 * x**3 - 24 * x**2 + 60 * x - 44) / 6, lambda x: (9 * x**2 - 48 * x + 60) / 6),
        (3, lambda x: (4 - x) ** 3 / 6, lambda x: -((4 - x) ** 2) / 2),
    ):
        m = (u >= lo) & (u < lo + 1)
        B[m] = f(u[m])
        dB[m] = df(u[m]) / h
    return B, dB


def pair_columns(atoms: Atoms, hyper: PairTermMixin, types: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Energy row (P,) and force rows (3N, P) of the pair term, ASE frame, atom order; types 0-based."""
    from ase.neighborlist import neighbor_list

    assert hyper.pair is not None
    r_min, r_cut, nb = float(hyper.pair[0]), float(hyper.pair[1]), int(hyper.pair[2])
    ne = len(hyper.elements)
    pidx = np.full((ne, ne), -1)
    for p, (a, b) in enumerate(hyper.pairs):
        pidx[a, b] = pidx[b, a] = p
    i, j, d, D = neighbor_list("ijdD", atoms, r_cut)
    B, dB = pair_basis(d, r_min, r_cut, nb)
    p = pidx[types[i], types[j]]
    P = len(hyper.pairs) * nb
    cols = p[:, None] * nb + np.arange(nb)  # (n_pairs, nb)
    row_e = np.zeros(P)
    np.add.at(row_e, cols.ravel(), 0.5 * B.ravel())  # each pair seen twice
    n = len(atoms)
    rows_f = np.zeros((n, 3, P))
    # F_i = Σ_j φ'(d_ij) D_ij / d_ij with D_ij = r_j − r_i
    g = dB[:, None, :] * (D / d[:, None])[:, :, None]  # (n_pairs, 3, nb)
    for c in range(3):
        np.add.at(rows_f[:, c, :], (np.repeat(i, nb), cols.ravel()), g[:, c, :].ravel())
    return row_e, rows_f.reshape(3 * n, P)


def fit_pair_term(
    frames: Sequence[Atoms], hyper: PairTermMixin, ridge: float = 1e-6, energy_weight: float = 1.0
) -> np.ndarray:
    """Least-squares pair term alone on labelled `frames` (energies eV, forces eV/Å): its coefficients
    (n_pair_params,). Energies enter per atom with unit weight beside the force components, so the forces
    decide the shape; a constant per element absorbs the reference energies and is discarded.
    """
    if not frames:
        raise InputError("no configurations to fit a pair term on")
    idx = {e: k for k, e in enumerate(hyper.elements)}
    ne = len(hyper.elements)
    rows_e, rows_f, ye, yf, nat, cfg = [], [], [], [], [], []
    for c, a in enumerate(frames):
        types = np.array([idx[s] for s in a.get_chemical_symbols()])
        row_e, row_f = pair_columns(a, hyper, types)
        rows_e.append(np.concatenate([np.bincount(types, minlength=ne), row_e]))
        rows_f.append(np.hstack([np.zeros((len(row_f), ne)), row_f]))
        ye.append(a.get_potential_energy())
        yf.append(a.get_forces().ravel())
        nat.append(len(a))
        cfg.append(np.full(3 * len(a), c))
    design = Design(
        np.array(rows_e),
        np.array(ye),
        np.array(nat),
        np.vstack(rows_f),
        np.concatenate(yf),
        np.zeros(sum(len(f) for f in yf), int),
        np.concatenate(cfg),
        n_per_element=1,
        n_snap=ne,
    )
    return solve(normal_equations(design), energy_weight=energy_weight, ridge=ridge)[ne:]


def pair_energy_forces(atoms: Atoms, hyper: PairTermMixin, coeffs: np.ndarray) -> tuple[float, np.ndarray]:
    """Energy (eV) and forces (N, 3) eV/Å of the pair term with `coeffs` (n_pair_params,) on `atoms`."""
    idx = {e: k for k, e in enumerate(hyper.elements)}
    row_e, rows_f = pair_columns(atoms, hyper, np.array([idx[s] for s in atoms.get_chemical_symbols()]))
    return float(row_e @ coeffs), (rows_f @ coeffs).reshape(-1, 3)


def write_pair_table(path: str | Path, hyper: PairTermMixin, beta: np.ndarray, n: int = 600) -> None:
    """The pair term of β (the last columns) as a LAMMPS `pair_style table` file (eV, eV/Å)."""
    assert hyper.pair is not None
    r_min, r_cut, nb = float(hyper.pair[0]), float(hyper.pair[1]), int(hyper.pair[2])
    c = np.asarray(beta)[len(beta) - hyper.n_pair_params :].reshape(len(hyper.pairs), nb)
    r = np.linspace(PAIR_TABLE_RMIN, r_cut, n).tolist()
    r = np.asarray(r)
    B, dB = pair_basis(r, r_min, r_cut, nb)
    lines = [f"# pair term of a superionic SNAP fit: cubic B-splines, r_min {r_min} r_cut {r_cut} n_basis {nb}", ""]
    for p, (a, b) in enumerate(hyper.pairs):
        e, f = B @ c[p], -(dB @ c[p])
        # safety below r_min (hardly any training pairs there): never attractive inwards, plus a fixed
        # repulsive wall K·(r_min − r)² so that no SNAP extrapolation can pull two atoms together
        Bm, dBm = pair_basis(np.array([r_min]), r_min, r_cut, nb)
        inner = r < r_min
        if float(dBm[0] @ c[p]) > 0:
            e[inner], f[inner] = float(Bm[0] @ c[p]), 0.0
        e[inner] += PAIR_WALL * (r_min - r[inner]) ** 2
        f[inner] += 2 * PAIR_WALL * (r_min - r[inner])
        # data wall: below the closest approach the training data ever showed for this pair (minus a
        # margin) nothing was fitted, and a many-body SNAP can turn attractive there (a collapse)
        d0 = (hyper.walls or {}).get(_pair_key(hyper.elements, a, b))
        if d0 is not None and d0 > r_min:
            _add_wall(r, e, f, d0)
        lines += _table_section(_pair_key(hyper.elements, a, b), r, e, f)
    Path(path).write_text("\n".join(lines))


def _add_wall(r: np.ndarray, e: np.ndarray, f: np.ndarray, d0: float) -> None:
    """Add the repulsive wall PAIR_WALL·(d0 − r)² below d0 (Å) to energies e (eV) and forces f (eV/Å), in place."""
    w = r < d0
    e[w] += PAIR_WALL * (d0 - r[w]) ** 2
    f[w] += 2 * PAIR_WALL * (d0 - r[w])


def _table_section(key: str, r: np.ndarray, e: np.ndarray, f: np.ndarray) -> list[str]:
    lines = [key, f"N {len(r)} R {float(r[0])!r} {float(r[-1])!r}", ""]
    lines += [f"{k + 1} {r[k]:.6f} {e[k]:.9e} {f[k]:.9e}" for k in range(len(r))]
    return lines + [""]


def write_wall_table(
    path: str | Path, elements: Sequence[str], walls: dict[str, float], r_cut: float, n: int = 600
) -> None:
    """A `pair_style table` file of the data walls alone (`data_walls`; zero for pairs without one), for
    potentials without a fitted pair term (ML-POD).
    """
    r = np.linspace(PAIR_TABLE_RMIN, r_cut, n)
    lines = ["# data walls of a superionic fit: PAIR_WALL (d0 - r)^2 below the closest approach d0 in the data", ""]
    for a in range(len(elements)):
        for b in range(a, len(elements)):
            key = _pair_key(elements, a, b)
            e, f = np.zeros(n), np.zeros(n)
            if key in walls:
                _add_wall(r, e, f, walls[key])
            lines += _table_section(key, r, e, f)
    Path(path).write_text("\n".join(lines))
