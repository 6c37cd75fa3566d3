"""Normal-mode decomposition (NMD) of MD velocities: per-mode frequency, linewidth and the overdamping verdict.

The harmonic reference (phonopy force constants of a potential) gives, at every q commensurate with the MD cell,
frequencies ν_λ(q) and mass-weighted eigenvectors e_λκ(q) of the primitive cell. The MD velocities are projected
on them (docs/nmd.md):

    Q̇_λ(q, t) = N_c^(−1/2) Σ_j √m_j e*_λκ(j)(q) · v_j(t) exp(−2πi q·(n_j + f_κ(j)))

(j the atoms of the MD cell, κ(j) its atom of the primitive cell, n_j + f_κ its equilibrium site in reduced
coordinates of the primitive lattice, q reduced, N_c primitive cells in the MD cell). This is phonopy's phase
convention (the dynamical matrix carries exp(2πi q·[r_κ' − r_κ]) with atomic positions), so for a harmonic
crystal every Q̇_λ(q, t) oscillates at the one frequency ν_λ(q). The supercell eigenvectors
E_λ(q)_j = N_c^(−1/2) e_λκ(j)(q) exp(2πi q·(n_j + f_κ)) form a unitary basis: Σ_λq |Q̇|² = Σ_j m_j |v_j|², and at
equipartition ⟨|Q̇_λ|²⟩ = k_B T for every mode (the "mode temperature" below). Q̇(−q) = Q̇(q)* when
e(−q) = e(q)*, which is how the modes of −q are built here: a pair (q, −q) is analysed once, with weight 2.

Spectrum (per mode, streamed): Welch's estimate, Hann-windowed segments of L frames overlapping by half,
folded onto ν ≥ 0 (P(ν) + P(−ν)), as the mode kinetic-energy density K_λ(ν) in eV/THz with
∫₀^ν_Nyquist K_λ dν = ½⟨|Q̇_λ|²⟩ (= ½ k_B T at equipartition).

Lineshape: the damped harmonic oscillator (DHO) ẍ = −ω₀² x − γ ẋ + noise, whose velocity spectrum is
∝ γω² / ((ω² − ω₀²)² + γ²ω²): it peaks at ω₀ exactly and its full width at half maximum is exactly γ, for any
damping. It is fitted through its velocity autocorrelation

    c(t) = e^{−γ|t|/2} [cos ω_d t − (γ / 2ω_d) sin ω_d |t|],   ω_d² = ω₀² − γ²/4   (cosh/sinh when overdamped)

multiplied by the lag window of the segment taper and transformed exactly as the data were: the model is the
expectation of the Welch estimate, window and aliasing included, so widths are not broadened by the
resolution. Reported in ordinary frequency: ν₀ = ω₀/2π and Γ = γ/2π (THz; Γ is the FWHM of the peak in THz).
A Langevin thermostat of friction γ_L (m dv = F dt − γ_L m v dt + noise; ASE's `friction`, LAMMPS 1/damp) adds
exactly Γ = γ_L/2π to every mode of a harmonic crystal. **Overdamped: Γ/2 > ν₀** (damping rate γ/2 above ω₀:
no oscillating solution), the same criterion as the current-correlation fits (superionic.analysis.currents).

Fit: least squares on log K (equal weights: the Welch average of n segments has the same relative scatter in
every bin) over the bins around the peak where the smoothed spectrum exceeds `fit_level` of its maximum, widened
by a margin. Errors: the covariance of the fit, scaled by the scatter of the residuals and by the correlation of
neighbouring bins that the taper causes (×1.94 in variance for Hann). A parameter at its bound (Γ = 0, ν₀ = 0)
gets no error (NaN) and a flag; a Γ that is not above 2σ, or below a tenth of the spectral resolution (`gamma_min`),
is unresolved and given as an upper bound.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr
from scipy.optimize import least_squares
from scipy.special import polygamma

from .. import units
from ..errors import InputError

#: ν[THz] = √λ · this, for λ an eigenvalue of the dynamical matrix in eV/(Å² amu)
THZ_PER_SQRT_EV_PER_A2_AMU = math.sqrt(1.602176634e-19 / (1e-20 * units.AMU_KG)) / 1e12 / (2 * math.pi)
#: a mode at q = 0 with |ν| below this (THz) is a rigid translation: projected, never fitted
TRANSLATION_THRESHOLD_THZ = 0.05
#: the fit window: the bins around the peak where the smoothed spectrum is above this fraction of it (its
#: half-width region), widened on each side by its own width (at least 4 bins)
FIT_LEVEL = 0.25
#: candidate peaks of a mode's spectrum: local maxima above this fraction of the highest; the one nearest the
#: harmonic frequency is the mode's
PEAK_LEVEL = 0.5
#: Γ below this fraction of the resolution FWHM is unresolved (the same rule as the QENS widths)
GAMMA_MIN_FRACTION = 0.1
#: a fit whose log residuals scatter more than this × the Welch noise alone is not one DHO line (`single_line`)
SINGLE_LINE_FACTOR = 1.5
#: variance of a Welch average of K Hann segments overlapping by half, × K (Welch 1967: 1 + 2·0.167²)
WELCH_OVERLAP_VARIANCE = 1.056
#: |z| below this leaves the overdamping verdict undecided (z = (Γ/2 − ν₀)/σ)
DECIDED_Z = 2.0

_TRANSLATION = "translation"


# --------------------------------------------------------------------------- the harmonic reference
@dataclass
class ModeReference:
    """Harmonic modes of the MD cell, in the trajectory's atom order.

    frequencies_thz: (modes,) harmonic ν (negative: imaginary); eigenvectors: (modes, atoms, 3) complex supercell
    eigenvectors E (unit norm over all 3N components, no mass factor); q: (modes, 3) reduced coordinates of the
    primitive reciprocal lattice (no 2π); branch: band index at its q (0 = lowest); weight: 2 for a mode that
    stands for itself and its −q partner, else 1 (Σ weight = 3N); sites: (atoms, 3) Å equilibrium positions in
    the MD cell; masses: amu of the reference (the projection uses the trajectory's).
    """

    frequencies_thz: np.ndarray
    eigenvectors: np.ndarray
    q: np.ndarray
    branch: np.ndarray
    weight: np.ndarray
    symbols: list[str]
    masses: np.ndarray
    sites: np.ndarray
    cell: np.ndarray
    primitive_cell: np.ndarray
    supercell_matrix: np.ndarray
    max_site_distance: float
    source: str
    notes: list[str] = field(default_factory=list)

    @property
    def n_modes(self) -> int:
        """Modes analysed (a q, −q pair counts once)."""
        return len(self.frequencies_thz)

    @property
    def n_atoms(self) -> int:
        """Atoms of the MD cell."""
        return len(self.symbols)

    @property
    def translation(self) -> np.ndarray:
        """(modes,) True for the three rigid translations (q = 0, |ν| < TRANSLATION_THRESHOLD_THZ)."""
        at_gamma = np.all(np.abs(self.q - np.round(self.q)) < 1e-8, axis=1)
        return at_gamma & (np.abs(self.frequencies_thz) < TRANSLATION_THRESHOLD_THZ)


def commensurate_qpoints(supercell_matrix: np.ndarray) -> np.ndarray:
    """The q-points (reduced coordinates of the primitive reciprocal lattice, in [0, 1)) commensurate with the
    supercell whose lattice vectors are the rows of M @ primitive_cell: M q integer. |det M| of them, Γ first.
    """
    m = np.asarray(np.round(supercell_matrix), dtype=int)
    det = int(round(abs(np.linalg.det(m))))
    if det < 1:
        raise InputError(f"the supercell matrix {m.tolist()} has no volume")
    inv = np.linalg.inv(m)
    grid = np.stack(np.meshgrid(*[np.arange(det)] * 3, indexing="ij"), axis=-1).reshape(-1, 3)
    q = grid @ inv.T
    q = q - np.floor(q + 1e-9)
    keys = np.round(q * 1e6).astype(np.int64) % 1_000_000
    _, first = np.unique(keys, axis=0, return_index=True)
    out = q[np.sort(first)]
    out[np.abs(out) < 1e-9] = 0.0
    if len(out) != det:  # pragma: no cover - arithmetic guard
        raise InputError(f"found {len(out)} commensurate q-points where |det M| = {det}")
    order = np.lexsort(out.T[::-1])
    return out[order]


def _lattice_points(m: np.ndarray) -> np.ndarray:
    """Integer primitive-lattice vectors n (rows) of the points inside the supercell M (n @ M⁻¹ in [0, 1)³)."""
    inv = np.linalg.inv(m)
    corners = np.array([[i, j, k] for i in (0, 1) for j in (0, 1) for k in (0, 1)]) @ m
    lo, hi = np.floor(corners.min(0)).astype(int), np.ceil(corners.max(0)).astype(int)
    grid = np.stack(np.meshgrid(*[np.arange(a, b + 1) for a, b in zip(lo, hi)], indexing="ij"), -1).reshape(-1, 3)
    s = grid @ inv
    inside = np.all((s > -1e-9) & (s < 1 - 1e-9), axis=1)
    return grid[inside]


def _match_sites(frac_md, frac_sites, cell, symbols_md, symbols_sites) -> tuple[np.ndarray, float]:
    """site_of[j] for every MD atom j (same species, minimum-image distance, one-to-one: Hungarian per species)
    and the largest distance (Å).
    """
    from scipy.optimize import linear_sum_assignment

    symbols_md = np.asarray(symbols_md)
    symbols_sites = np.asarray(symbols_sites)
    site_of = np.full(len(symbols_md), -1)
    worst = 0.0
    for s in dict.fromkeys(symbols_md.tolist()):
        a = np.flatnonzero(symbols_md == s)
        b = np.flatnonzero(symbols_sites == s)
        if len(a) != len(b):
            raise InputError(
                f"the trajectory has {len(a)} {s} atoms where the reference's supercell has {len(b)}: not the "
                "same structure (or a different supercell)"
            )
        d = frac_md[a][:, None, :] - frac_sites[b][None, :, :]
        d -= np.round(d)
        dist = np.linalg.norm(d @ cell, axis=-1)
        rows, cols = linear_sum_assignment(dist)
        site_of[a[rows]] = b[cols]
        worst = max(worst, float(dist[rows, cols].max()))
    return site_of, worst


def _dynamical_matrix(phonon: Any, q: np.ndarray) -> np.ndarray:
    return np.asarray(phonon.get_dynamical_matrix_at_q(q))


def mode_reference(
    phonon: Any,
    cell: np.ndarray,
    positions: np.ndarray,
    symbols: Sequence[str],
    max_distance: float = 1.5,
    max_strain: float = 0.05,
) -> ModeReference:
    """The harmonic modes of an MD cell at its commensurate q-points, from phonopy force constants.

    phonon: a Phonopy object with force constants (or a `HarmonicResult` of `harmonic_phonons`). cell (3×3, rows,
    Å), positions (atoms × 3, Å) and symbols: one frame of the MD cell (the first, usually), used to find which
    reference site each atom sits on (nearest site of the same species, one atom per site). The MD cell must be
    a supercell of phonopy's primitive cell (strained by at most `max_strain`, relative); every atom must lie
    within `max_distance` Å of its site. Exact at the q commensurate with phonopy's own supercell; at other q
    the force constants are Fourier-interpolated by phonopy (a note says so).
    """
    phonon = getattr(phonon, "phonopy", phonon)
    if getattr(phonon, "force_constants", None) is None:
        raise InputError("the phonopy object carries no force constants: produce them first")
    cell = np.asarray(cell, dtype=float)
    positions = np.asarray(positions, dtype=float)
    symbols = [str(s) for s in symbols]
    prim = phonon.primitive
    pcell = np.asarray(prim.cell, dtype=float)
    pfrac = np.asarray(prim.scaled_positions, dtype=float)
    psym = list(prim.symbols)
    pmass = np.asarray(prim.masses, dtype=float)
    n_prim = len(psym)
    notes: list[str] = []

    m_float = cell @ np.linalg.inv(pcell)
    m = np.round(m_float).astype(int)
    strain = float(np.abs(m_float - m).max() / max(1.0, float(np.abs(m).max())))
    if round(abs(np.linalg.det(m))) < 1 or strain > max_strain:
        raise InputError(
            "the trajectory's cell is not a supercell of the reference's primitive cell (cell · primitive⁻¹ = "
            f"{np.round(m_float, 3).tolist()}, not integer): give the harmonic reference of this material"
        )
    if strain > 1e-4:
        notes.append(
            f"the MD cell is strained by up to {strain:.2%} from a supercell of the reference cell: the reference "
            "sites are scaled into the MD cell, its force constants are not"
        )
    det = int(round(abs(np.linalg.det(m))))
    if det * n_prim != len(symbols):
        raise InputError(
            f"the MD cell holds {len(symbols)} atoms; {det} primitive cells of the reference hold {det * n_prim}"
        )
    # reference sites in the MD cell
    lat = _lattice_points(m)
    if len(lat) != det:  # pragma: no cover - arithmetic guard
        raise InputError(f"found {len(lat)} lattice points in a supercell of {det} cells")
    red = (lat[:, None, :] + pfrac[None, :, :]).reshape(-1, 3)  # (cells × κ, 3) primitive-reduced
    kappa = np.tile(np.arange(n_prim), det)
    frac_sites = red @ np.linalg.inv(m)
    frac_sites -= np.floor(frac_sites)
    site_symbols = [psym[k] for k in kappa]
    frac_md = positions @ np.linalg.inv(cell)
    site_of, worst = _match_sites(frac_md, frac_sites, cell, symbols, site_symbols)
    if worst > max_distance:
        raise InputError(
            f"an atom of the trajectory lies {worst:.2f} Å from the nearest free reference site of its species "
            f"(limit {max_distance:g} Å): the frame is not close to the reference structure (a different "
            "structure, ordering or origin)"
        )
    # q-points: one of each (q, −q) pair
    qs = commensurate_qpoints(m)
    keys = {tuple(np.round(q * 1e6).astype(np.int64) % 1_000_000): i for i, q in enumerate(qs)}
    kept, weights = [], []
    partner_seen: set[int] = set()
    for i, q in enumerate(qs):
        if i in partner_seen:
            continue
        j = keys[tuple(np.round((-q - np.floor(-q + 1e-9)) * 1e6).astype(np.int64) % 1_000_000)]
        kept.append(i)
        weights.append(1 if j == i else 2)
        partner_seen.update({i, j})
    conv = float(getattr(phonon, "unit_conversion_factor", 0.0) or THZ_PER_SQRT_EV_PER_A2_AMU)
    freqs, vecs, qrow, branch, wrow = [], [], [], [], []
    red_md = red[site_of]  # (atoms, 3) reduced site of every MD atom
    kap_md = kappa[site_of]
    for i, w in zip(kept, weights):
        q = qs[i]
        dm = _dynamical_matrix(phonon, q)
        lam, e = np.linalg.eigh(0.5 * (dm + dm.conj().T))
        nu = np.sign(lam) * np.sqrt(np.abs(lam)) * conv
        phase = np.exp(2j * np.pi * red_md @ q) / math.sqrt(det)  # (atoms,)
        ev = e.T.reshape(3 * n_prim, n_prim, 3)[:, kap_md, :] * phase[None, :, None]
        freqs.append(nu)
        vecs.append(ev)
        qrow.append(np.repeat(q[None, :], 3 * n_prim, axis=0))
        branch.append(np.arange(3 * n_prim))
        wrow.append(np.full(3 * n_prim, w))
    sites = frac_sites[site_of] @ cell
    if det > 1:
        sc = getattr(phonon, "supercell_matrix", None)
        if sc is not None:
            psc = np.asarray(sc, dtype=float)
            # phonopy's supercell lattice: rows (psc @ unitcell); commensurate with the MD cell when integer
            try:
                unit = np.asarray(phonon.unitcell.cell, dtype=float)
                ratio = cell @ np.linalg.inv(psc.T @ unit)
                if np.abs(ratio - np.round(ratio)).max() > 1e-3 or abs(np.linalg.det(np.round(ratio))) > 1.5:
                    notes.append(
                        "the MD cell is not phonopy's supercell: the reference at its q-points is Fourier-"
                        "interpolated from phonopy's force constants (exact only at q commensurate with both)"
                    )
            except Exception:  # pragma: no cover - informative note only
                pass
    return ModeReference(
        frequencies_thz=np.concatenate(freqs),
        eigenvectors=np.concatenate(vecs),
        q=np.concatenate(qrow),
        branch=np.concatenate(branch),
        weight=np.concatenate(wrow),
        symbols=symbols,
        masses=pmass[kap_md],
        sites=sites,
        cell=cell,
        primitive_cell=pcell,
        supercell_matrix=m,
        max_site_distance=worst,
        source=f"phonopy force constants, primitive cell of {n_prim} atoms, {det} commensurate q-points",
        notes=notes,
    )


def reference_from_hessian(
    hessian: np.ndarray,
    cell: np.ndarray,
    positions: np.ndarray,
    symbols: Sequence[str],
    masses: np.ndarray,
    source: str = "a Hessian of the MD cell",
) -> ModeReference:
    """The modes of the MD cell from its own Hessian (3N × 3N, eV/Å², e.g. `superionic.lattice.inm.hessian_lammps`):
    the Γ point of the cell, which holds every q the cell can carry; real eigenvectors, weight 1. The three
    uniform translations are projected out before diagonalising and kept as exact zero modes.
    """
    from .inm import translation_complement

    m = np.asarray(masses, dtype=float)
    n = len(m)
    h = np.asarray(hessian, dtype=float)
    if h.shape != (3 * n, 3 * n) or not np.all(np.isfinite(h)):
        raise InputError(f"the Hessian of {n} atoms must be a finite ({3 * n}, {3 * n}) matrix, got {h.shape}")
    inv = 1.0 / np.sqrt(np.repeat(m, 3))
    dyn = 0.5 * (h + h.T) * inv[:, None] * inv[None, :]
    basis = translation_complement(m)
    lam, vec = np.linalg.eigh(basis.T @ dyn @ basis)
    trans = np.zeros((3 * n, 3))
    for a in range(3):
        trans[a::3, a] = np.sqrt(m)
    trans /= np.linalg.norm(trans, axis=0)
    e = np.hstack([trans, basis @ vec])  # (3N, 3N) orthonormal columns, translations first
    nu = np.concatenate([np.zeros(3), np.sign(lam) * np.sqrt(np.abs(lam)) * THZ_PER_SQRT_EV_PER_A2_AMU])
    cell = np.asarray(cell, dtype=float)
    return ModeReference(
        frequencies_thz=nu,
        eigenvectors=e.T.reshape(3 * n, n, 3).astype(complex),
        q=np.zeros((3 * n, 3)),
        branch=np.arange(3 * n),
        weight=np.ones(3 * n, dtype=int),
        symbols=[str(x) for x in symbols],
        masses=m.copy(),
        sites=np.asarray(positions, dtype=float).copy(),
        cell=cell,
        primitive_cell=cell.copy(),
        supercell_matrix=np.eye(3, dtype=int),
        max_site_distance=0.0,
        source=source,
    )


def reference_from_frame(
    trajectory: Any,
    potential: Any = None,
    *,
    calculator: Any = None,
    frame: int = 0,
    relax: bool = True,
    fmax: float = 1e-3,
    steps: int = 3000,
    method: str = "auto",
    displacement: float = 0.005,
    dt: float | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> ModeReference:
    """The harmonic reference of the MD cell itself: frame `frame` relaxed (FIRE, to max |F| < `fmax` eV/Å) to its
    nearest minimum (the inherent structure: for a thermal frame of a disordered conductor, a structure without
    symmetry, in which every atom keeps its place), then its Hessian and `reference_from_hessian`.

    potential: a registered name or LAMMPS potential (default: the one the trajectory records); LAMMPS potentials
    are differentiated inside LAMMPS (``dynamical_matrix``), any other by central differences of `displacement` Å
    through its ASE calculator (6N force calls), or give `calculator`. method: auto, lammps or fd
    (superionic.lattice.inm.potential_engine). progress(stage, i, n).
    """
    from ase import Atoms

    from ..trajectory.blocks import opened
    from .harmonic import relax as relax_atoms
    from .inm import hessian_finite_differences, hessian_lammps, potential_engine, resolve_potential

    with opened(trajectory, dt) as src:
        if not 0 <= frame < src.n_frames:
            raise InputError(f"the reference frame must be between 0 and {src.n_frames - 1}, got {frame}")
        meta = src.metadata if isinstance(src.metadata, dict) else {}
        if calculator is None:
            potential = resolve_potential(potential, meta)
        how, engine, ident = potential_engine(potential, calculator, method)
        pos = src.read_positions(None, frame, frame + 1)[0]
        cell = np.asarray(src.cells[frame], dtype=float)
        symbols, masses = list(src.symbols), np.asarray(src.masses, dtype=float)
    atoms = Atoms(symbols=symbols, positions=pos, cell=cell, pbc=True, masses=masses)
    session = None
    if how == "lammps":
        from ..potentials.lammps_potentials import LammpsCalculator, LammpsSession

        calc: Any = LammpsCalculator(engine)
        session = LammpsSession(atoms, engine, masses=masses)
    else:
        calc = engine
    notes = []
    try:
        if relax:
            if progress:
                progress("relax", 0, 1)
            how_relaxed = "FIRE"
            if session is not None:  # LAMMPS's own conjugate gradients first (no Python per step)
                session.command("min_style cg")
                session.command(f"minimize 0.0 {fmax!r} {int(steps)} {10 * int(steps)}")
                atoms.set_positions(session.positions())
                how_relaxed = "LAMMPS cg"
            residual = float(np.linalg.norm(_forces_of(atoms, calc), axis=1).max())
            n_steps, converged = 0, residual < fmax
            if not converged:
                atoms, residual = relax_atoms(atoms, calc, fmax=fmax, steps=steps)
                atoms.set_masses(masses)
                n_steps, converged = int(atoms.info["relax_steps"]), bool(atoms.info["relax_converged"])
                how_relaxed += f" then {n_steps} FIRE steps" if how_relaxed != "FIRE" else f" ({n_steps} steps)"
            notes.append(
                f"frame {frame} relaxed ({how_relaxed}) to max |F| = {residual:.2g} eV/Å"
                + ("" if converged else " (NOT converged: raise the steps or loosen fmax)")
            )
            moved = np.linalg.norm(_min_image(atoms.get_positions() - pos, cell), axis=1)
            notes.append(
                f"relaxation moved the atoms by {np.sqrt(np.mean(moved**2)):.3f} Å rms, {moved.max():.3f} Å at most"
            )
        if progress:
            progress("hessian", 0, 1)
        if session is not None:
            h = hessian_lammps(atoms, engine, displacement=displacement, session=session)
        else:
            h = hessian_finite_differences(atoms, calc, displacement=displacement)
    finally:
        if session is not None:
            session.close()
    name = ident.get("name", "the potential") if isinstance(ident, dict) else str(ident)
    ref = reference_from_hessian(
        h,
        cell,
        atoms.get_positions(),
        symbols,
        masses,
        source=f"Hessian ({'LAMMPS dynamical_matrix' if how == 'lammps' else 'central differences'}, "
        f"{displacement:g} Å) of frame {frame}{' relaxed' if relax else ''} with {name}",
    )
    ref.notes = notes
    n_imag = int(np.sum(ref.frequencies_thz < -TRANSLATION_THRESHOLD_THZ))
    if n_imag:
        ref.notes.append(
            f"{n_imag} imaginary modes in the reference (not a minimum): they are projected and fitted too"
        )
    return ref


def _forces_of(atoms: Any, calculator: Any) -> np.ndarray:
    a = atoms.copy()
    a.calc = calculator
    return np.asarray(a.get_forces(), dtype=float)


def _min_image(d: np.ndarray, cell: np.ndarray) -> np.ndarray:
    f = d @ np.linalg.inv(cell)
    return (f - np.round(f)) @ cell


def reference_from_phonons_file(
    path: Any, trajectory: Any, potential: Any = None, dt: float | None = None, progress=None
) -> ModeReference:
    """The reference of a file: a phonopy file with force constants or force sets (phonopy_params.yaml,
    phonopy_disp.yaml + FORCE_SETS; read by phonopy.load), or the netCDF of `superionic phonons`, which keeps the
    relaxed unit cell, supercell and displacement but not the force constants: they are recomputed with the
    potential it records (or `potential`). The first frame of `trajectory` is mapped onto its sites.
    """
    from pathlib import Path

    from ..trajectory.blocks import opened

    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: file not found")
    with opened(trajectory, dt) as src:
        pos = src.read_positions(None, 0, 1)[0]
        cell = np.asarray(src.cells[0], dtype=float)
        symbols = list(src.symbols)
    if p.suffix.lower() in (".yaml", ".yml"):
        import phonopy

        try:
            phonon = phonopy.load(str(p), produce_fc=True, log_level=0)
        except Exception as err:
            raise InputError(f"{p}: phonopy could not load it ({err})") from None
        if getattr(phonon, "force_constants", None) is None:
            raise InputError(f"{p} holds neither force constants nor force sets: phonopy cannot give the modes")
        return mode_reference(phonon, cell, pos, symbols)
    import json

    import xarray as xr_

    try:
        ds = xr_.load_dataset(p)
    except Exception as err:
        raise InputError(f"{p}: not a readable netCDF or phonopy file ({err})") from None
    if "unit_cell" not in ds or "unit_cell_positions" not in ds:
        raise InputError(
            f"{p} is not a file of `superionic phonons` (no unit_cell); give a phonopy yaml or --potential"
        )
    from ase import Atoms

    from ..potentials import get_potential
    from .harmonic import harmonic_phonons

    pot = potential
    if pot is None:
        rec = ds.attrs.get("potential")
        rec = json.loads(rec) if isinstance(rec, str) and rec.startswith("{") else rec
        pot = rec.get("name") if isinstance(rec, dict) else rec
    if not pot:
        raise InputError(f"{p} does not record its potential: give one (--potential)")
    atoms = Atoms(
        symbols=[str(x) for x in ds.unit_cell_symbol.values],
        positions=ds.unit_cell_positions.values,
        cell=ds.unit_cell.values,
        pbc=True,
    )
    smat = np.asarray(ds.attrs["supercell_matrix"], dtype=int).reshape(3, 3)
    calc = get_potential(str(pot)).make()
    result = harmonic_phonons(
        atoms,
        calc,
        supercell=smat,
        displacement=float(ds.attrs.get("displacement_angstrom", 0.01)),
        symprec=float(ds.attrs.get("symprec", 1e-5)),
        mesh=(1, 1, 1),
        band_points=2,
        progress=(lambda i, n, _s: progress("displacements", i, n)) if progress else None,
    )
    ref = mode_reference(result, cell, pos, symbols)
    ref.source = f"{p.name} (superionic phonons: force constants recomputed with {pot}); {ref.source}"
    return ref


# --------------------------------------------------------------------------- spectra (streamed)
def _hann(n: int) -> np.ndarray:
    return 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)  # periodic Hann (DFT-even)


def _lag_window(w: np.ndarray) -> np.ndarray:
    """r(τ) = Σ_t w_t w_{t+τ}, τ = 0 … L−1."""
    n = len(w)
    f = np.fft.rfft(w, 2 * n)
    return np.fft.irfft(np.abs(f) ** 2, 2 * n)[:n]


def _bin_correlation_factor(w: np.ndarray, terms: int = 8) -> float:
    """1 + 2 Σ_m |ρ_m|²: variance inflation from the correlation of neighbouring bins of a tapered periodogram."""
    w2 = w**2
    rho = np.fft.fft(w2)[1 : terms + 1] / w2.sum()
    return float(1 + 2 * np.sum(np.abs(rho) ** 2))


def _resolution_fwhm(w: np.ndarray, dt_fs: float) -> float:
    """FWHM (THz) of the power response |W(ν)|² of the taper."""
    n = len(w)
    f = np.fft.rfft(w, 64 * n)
    p = np.abs(f) ** 2
    p /= p[0]
    k = int(np.argmax(p < 0.5))
    nu = np.arange(len(p)) / (64 * n)  # cycles per frame
    half = nu[k - 1] + (0.5 - p[k - 1]) * (nu[k] - nu[k - 1]) / (p[k] - p[k - 1])
    return float(2 * half / dt_fs * 1e3)


class _Welch:
    """Welch periodograms of complex series fed in chunks; memory O(L × modes)."""

    def __init__(self, n_modes: int, length: int, hop: int):
        self.length, self.hop = length, hop
        self.window = _hann(length)
        self.norm = float(np.sum(self.window**2))
        self.buf = np.zeros((length, n_modes), dtype=complex)
        self.filled = 0
        self.k = length // 2 + 1
        self.sum = np.zeros((self.k, n_modes))
        self.sumsq = np.zeros((self.k, n_modes))
        self.n = 0

    def feed(self, q: np.ndarray) -> None:
        i = 0
        while i < len(q):
            take = min(self.length - self.filled, len(q) - i)
            self.buf[self.filled : self.filled + take] = q[i : i + take]
            self.filled += take
            i += take
            if self.filled == self.length:
                self._segment()
                self.buf[: self.length - self.hop] = self.buf[self.hop :]
                self.filled = self.length - self.hop

    def _segment(self) -> None:
        x = np.fft.fft(self.buf * self.window[:, None], axis=0)
        p = (x.real**2 + x.imag**2) / self.norm  # two-sided, × dt later
        one = p[: self.k].copy()
        top = self.k - 1 if self.length % 2 == 0 else self.k
        one[1:top] += p[self.length - 1 : self.length - top : -1]
        self.sum += one
        self.sumsq += one**2
        self.n += 1


class _SiteTracker:
    """Which atom sits on each reference site, frame by frame: the velocities follow the carriers' hops.

    At the reference atom j sits on site j. Positions are compared with the sites after removing the drift of
    the centre of mass (mass-weighted mean displacement, followed frame to frame), so that a crystal that
    translates as a whole keeps its atoms on their sites. While every atom of a species is within `reach` (half
    the shortest distance between two of its sites) of its site, nothing changes; when one strays further, the
    species is matched again to its sites (minimum image, one atom per site: the Hungarian assignment of least
    total distance, the distance of each atom to its present site counted `reach`/2 shorter, so that an atom
    rattling between two sites does not flip back and forth). `changes` counts changes of site over all frames.
    """

    def __init__(self, ref: ModeReference):
        self.sites_frac = ref.sites @ np.linalg.inv(ref.cell)
        self.weights = np.asarray(ref.masses, dtype=float) / float(np.sum(ref.masses))
        self.previous: np.ndarray | None = None  # Cartesian positions of the previous frame, Å
        self.drift = np.zeros(3)  # centre-of-mass displacement from the sites, Å
        symbols = np.asarray(ref.symbols)
        self.groups = [np.flatnonzero(symbols == x) for x in dict.fromkeys(ref.symbols)]
        self.reach = []
        for g in self.groups:
            d = self.sites_frac[g][:, None, :] - self.sites_frac[g][None, :, :]
            d -= np.round(d)
            r = np.linalg.norm(d @ ref.cell, axis=-1)
            np.fill_diagonal(r, np.inf)
            self.reach.append(0.5 * float(r.min()) if len(g) > 1 else np.inf)
        self.occupant = np.arange(len(symbols))  # occupant[site] = atom
        self.local = np.empty(len(symbols), dtype=int)  # index of each atom within its species
        for g in self.groups:
            self.local[g] = np.arange(len(g))
        self.changes = 0

    def __call__(self, positions: np.ndarray, cells: np.ndarray) -> np.ndarray:
        """(frames, atoms) occupant of every site in each frame; positions (frames, atoms, 3) Å, cells (frames, 3, 3)."""
        from scipy.optimize import linear_sum_assignment

        out = np.empty(positions.shape[:2], dtype=int)
        for t in range(len(positions)):
            inverse = np.linalg.inv(cells[t])
            if self.previous is None:  # the first frame: atom j near site j
                step = positions[t] @ inverse - self.sites_frac
            else:
                step = (positions[t] - self.previous) @ inverse
            self.drift += (self.weights @ (step - np.round(step))) @ cells[t]
            self.previous = positions[t]
            frac = (positions[t] - self.drift) @ inverse
            for g, reach in zip(self.groups, self.reach):
                if np.isinf(reach):
                    continue
                d = frac[self.occupant[g]] - self.sites_frac[g]
                d -= np.round(d)
                if np.linalg.norm(d @ cells[t], axis=-1).max() <= reach:
                    continue
                d = frac[g][:, None, :] - self.sites_frac[g][None, :, :]  # (atoms, sites)
                d -= np.round(d)
                cost = np.linalg.norm(d @ cells[t], axis=-1)
                cost[self.local[self.occupant[g]], np.arange(len(g))] -= 0.5 * reach  # staying is favoured
                atoms, sites = linear_sum_assignment(cost)
                new = np.empty(len(g), dtype=int)
                new[sites] = g[atoms]
                self.changes += int(np.sum(new != self.occupant[g]))
                self.occupant[g] = new
            out[t] = self.occupant
        return out


def _project(
    src: Any,
    ref: ModeReference,
    start: int,
    stop: int,
    length: int,
    hop: int,
    progress=None,
    tracker: _SiteTracker | None = None,
):
    """Stream the velocities of frames [start, stop) through the projection; Welch sums and ⟨|Q̇|²⟩. With a
    `tracker`, each site's velocity is that of the atom on it in that frame (`_SiteTracker`).
    """
    from ..trajectory.blocks import time_chunks

    sqrt_m = np.sqrt(np.asarray(src.masses, dtype=float))
    proj = np.conj(ref.eigenvectors).reshape(ref.n_modes, -1)
    p_re = np.ascontiguousarray(proj.real.T)
    p_im = np.ascontiguousarray(proj.imag.T) if np.abs(proj.imag).max() > 0 else None
    welch = _Welch(ref.n_modes, length, hop)
    power = np.zeros(ref.n_modes)
    n = 0
    cells = np.asarray(src.cells, dtype=float) if tracker is not None else None
    for s, e in time_chunks(stop - start, src.n_atoms):
        v = src.read_velocities(None, start + s, start + e)
        v *= sqrt_m[None, :, None]
        if tracker is not None and cells is not None:
            occupant = tracker(src.read_positions(None, start + s, start + e), cells[start + s : start + e])
            v = np.take_along_axis(v, occupant[:, :, None], axis=1)  # v[t, site] = v[t, atom on that site]
        flat = v.reshape(len(v), -1)
        q = (flat @ p_re).astype(complex)
        if p_im is not None:
            q += 1j * (flat @ p_im)
        power += np.sum(q.real**2 + q.imag**2, axis=0)
        n += len(q)
        welch.feed(q)
        if progress:
            progress("projection", e, stop - start)
    return welch, power / max(n, 1)


# --------------------------------------------------------------------------- the DHO lineshape
def dho_velocity_acf(t_ps: np.ndarray, nu0: float, gamma: float) -> np.ndarray:
    """Normalised velocity autocorrelation c(t) (c(0) = 1) of a damped harmonic oscillator of frequency
    ν₀ (THz) and linewidth Γ (THz, FWHM of its velocity spectrum; damping rate γ = 2πΓ), t in ps; exact in the
    under-, critically and overdamped regimes.
    """
    t = np.abs(np.asarray(t_ps, dtype=float))
    w0, g = 2 * math.pi * nu0, 2 * math.pi * gamma
    d = w0 * w0 - 0.25 * g * g
    tmax = float(t.max(initial=0.0))
    if d >= 0:
        wd = math.sqrt(d)
        return np.exp(-0.5 * g * t) * (np.cos(wd * t) - 0.5 * g * t * np.sinc(wd * t / math.pi))
    k = math.sqrt(-d)
    if k * tmax < 30:
        return np.exp(-0.5 * g * t) * (np.cosh(k * t) - 0.5 * g * np.sinh(k * t) / k)
    slow = w0 * w0 / (0.5 * g + k)  # γ/2 − κ, without cancellation
    c_slow = -2 * w0 * w0 / (k * (2 * k + g))  # 1 − γ/2κ
    return 0.5 * (c_slow * np.exp(-slow * t) + (2 - c_slow) * np.exp(-(0.5 * g + k) * t))


class _Model:
    """Expected folded Welch spectrum of a DHO, amplitude A = ⟨|Q̇|²⟩ (same units as the data)."""

    def __init__(self, length: int, dt_fs: float, window_lags: np.ndarray, norm: float, bins: np.ndarray):
        self.t_ps = np.arange(length) * dt_fs * 1e-3
        self.r = window_lags
        self.scale = 2 * dt_fs / norm
        self.bins = bins

    def __call__(self, amplitude: float, nu0: float, gamma: float) -> np.ndarray:
        g = self.r * dho_velocity_acf(self.t_ps, nu0, gamma)
        s = 2 * np.fft.rfft(g).real[self.bins] - g[0]
        return amplitude * self.scale * s


def _fit_mode(
    y: np.ndarray,
    dnu: float,
    model_for: Callable[[np.ndarray], _Model],
    level: float,
    corr: float,
    nu_max: float,
    nu_h: float = 0.0,
):
    """Fit one folded spectrum y (bins 0 … K−1); returns a dict of the fit (THz)."""
    k_max = len(y) - 2  # the Nyquist bin is folded differently: left out
    out: dict[str, Any] = {"ok": False}
    if not np.all(np.isfinite(y)) or y[1 : k_max + 1].max() <= 0:
        out["reason"] = "no signal"
        return out
    ys = np.convolve(y, np.ones(3) / 3, mode="same")
    top = 1 + int(np.argmax(ys[1 : k_max + 1]))
    kp = top
    if nu_h > 0:  # the strong local maximum (≥ PEAK_LEVEL of the highest) nearest the harmonic frequency
        k = np.arange(1, k_max + 1)
        right = np.append(ys[2 : k_max + 1], -np.inf)
        peaks = k[(ys[k] >= ys[k - 1]) & (ys[k] >= right) & (ys[k] >= PEAK_LEVEL * ys[top])]
        if peaks.size:
            kp = int(peaks[np.argmin(np.abs(np.log(peaks * dnu / nu_h)))])
    thr = level * ys[kp]
    lo = kp
    while lo > 1 and ys[lo - 1] >= thr:
        lo -= 1
    hi = kp
    while hi < k_max and ys[hi + 1] >= thr:
        hi += 1
    width = max((hi - lo + 1) * dnu, dnu)  # FWHM of the smoothed peak (the core, when level = ½)
    margin = max(4, hi - lo + 1)
    lo, hi = max(1, lo - margin), min(k_max, hi + margin)
    if hi - lo + 1 < 6:
        lo, hi = max(1, hi - 6), min(k_max, lo + 6)
    bins = np.arange(lo, hi + 1)
    data = y[bins]
    good = data > 0
    if good.sum() < 6:
        out["reason"] = "too few bins with signal"
        return out
    bins, data = bins[good], data[good]
    model = model_for(bins)
    logy = np.log(data)
    nu_p = kp * dnu
    gamma_max = 20 * nu_max

    def resid(p):
        s = model(1.0, p[1], p[2])
        s = np.where(s > 0, s, 1e-300)
        return logy - p[0] - np.log(s)

    best = None
    for g0 in (width, 0.3 * width, 3 * width, 0.05 * width):
        g0 = min(max(g0, 1e-3 * dnu), 0.5 * gamma_max)
        s0 = model(1.0, nu_p, g0)
        a0 = float(np.median(logy - np.log(np.where(s0 > 0, s0, 1e-300))))
        try:
            r = least_squares(
                resid,
                [a0, nu_p, g0],
                bounds=([-np.inf, 0.0, 0.0], [np.inf, nu_max, gamma_max]),
                x_scale=[1.0, dnu, dnu],
                max_nfev=400,
            )
        except Exception:  # pragma: no cover - a failed start; the others may work
            continue
        if best is None or r.cost < best.cost:
            best = r
    if best is None:  # pragma: no cover
        out["reason"] = "the fit failed"
        return out
    la, nu0, gam = (float(x) for x in best.x)
    n, p = len(bins), 3
    s2 = 2 * best.cost / max(n - p, 1)
    jac = best.jac
    cov = np.linalg.pinv(jac.T @ jac) * s2 * corr
    err = np.sqrt(np.clip(np.diag(cov), 0, None))
    active = np.asarray(best.active_mask)
    tol = 1e-6 * dnu
    nu_at_bound = bool(active[1] != 0 or nu0 <= tol or nu0 >= nu_max - tol)
    gamma_at_bound = bool(active[2] != 0 or gam <= tol or gam >= gamma_max - tol)
    out.update(
        ok=True,
        reason="",
        amplitude=math.exp(la),
        nu0=nu0,
        nu0_err=float(err[1]),
        gamma=gam,
        gamma_err=float(err[2]),
        cov_nu_gamma=float(cov[1, 2]),
        nu0_at_bound=nu_at_bound,
        gamma_at_bound=gamma_at_bound,
        lo=float(bins[0] * dnu),
        hi=float(bins[-1] * dnu),
        n_bins=n,
        log_rms=float(math.sqrt(s2)),
        nfev=int(best.nfev),
    )
    return out


def _fit_all(
    mean_p: np.ndarray,
    trans: np.ndarray,
    nu_h: np.ndarray,
    dnu: float,
    fit_level: float,
    corr: float,
    nu_nyq: float,
    model_for: Callable[[np.ndarray], _Model],
    progress: Callable[[str, int, int], None] | None,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], np.ndarray]:
    """`_fit_mode` on every non-translation mode: columns of numbers, flags (ok, nu_b, g_b) and notes."""
    n_modes = mean_p.shape[1]
    cols: dict[str, np.ndarray] = {
        k: np.full(n_modes, np.nan)
        for k in ("nu0", "nu0_err", "gamma", "gamma_err", "cov", "lo", "hi", "log_rms", "amp")
    }
    flags = {k: np.zeros(n_modes, bool) for k in ("ok", "nu_b", "g_b")}
    reason = np.array([""] * n_modes, dtype=object)
    names = {"nu0": "nu0", "nu0_err": "nu0_err", "gamma": "gamma", "gamma_err": "gamma_err", "cov": "cov_nu_gamma"}
    names.update(lo="lo", hi="hi", log_rms="log_rms", amp="amplitude")
    for i in range(n_modes):
        if progress and (i % 50 == 0 or i == n_modes - 1):
            progress("fits", i + 1, n_modes)
        if trans[i]:
            reason[i] = _TRANSLATION
            continue
        f = _fit_mode(mean_p[:, i], dnu, model_for, fit_level, corr, nu_nyq, float(nu_h[i]))
        reason[i] = f.get("reason", "")
        if not f["ok"]:
            continue
        flags["ok"][i], flags["nu_b"][i], flags["g_b"][i] = True, f["nu0_at_bound"], f["gamma_at_bound"]
        for k, name in names.items():
            cols[k][i] = f[name]
    return cols, flags, reason


def thermostat_friction(meta: dict, friction_per_fs: float | None) -> float:
    """The Langevin friction (1/fs) to subtract: the given one, else the trajectory's (`superionic md` records
    thermostat and friction_per_fs), else 0.
    """
    if friction_per_fs is None:
        thermostat = str(meta.get("thermostat", ""))
        fr = meta.get("friction_per_fs")
        friction_per_fs = float(fr) if (fr is not None and "langevin" in thermostat.lower()) else 0.0
    if not (math.isfinite(friction_per_fs) and friction_per_fs >= 0):
        raise InputError(f"the thermostat friction must be a number ≥ 0 per fs, got {friction_per_fs:g}")
    return float(friction_per_fs)


# --------------------------------------------------------------------------- the analysis
def nmd(
    trajectory: Any,
    reference: ModeReference,
    segment: int | None = None,
    segment_ps: float | None = None,
    start: int = 0,
    stop: int | None = None,
    fit_level: float = FIT_LEVEL,
    friction_per_fs: float | None = None,
    temperature: float | None = None,
    dt: float | None = None,
    follow_hops: bool = True,
    progress: Callable[[str, int, int], None] | None = None,
) -> xr.Dataset:
    """Normal-mode decomposition of the velocities of `trajectory` (a path, a Trajectory or a FrameSource; read
    in time chunks, never whole) on the modes of `reference` (`mode_reference`, `reference_from_frame`).

    segment: Welch segment in frames (or segment_ps in ps; default: an eighth of the frames used, so about 15
    half-overlapping segments), which sets the resolution (Hann FWHM ≈ 1.44/segment). start/stop: frames used.
    fit_level: the fit covers the bins around the peak above this fraction of it (then widened). friction_per_fs:
    the Langevin friction of the run (1/fs; default from the trajectory's metadata, 0: none), whose Γ_L = γ/2π is
    subtracted for `gamma_intrinsic` and the overdamping verdict. temperature: K, labels the run (default: the
    file's nominal temperature, else the kinetic one of the modes). follow_hops: project, on each site's
    eigenvector components, the velocity of the atom on that site in that frame (`_SiteTracker`), so that an ion
    that hopped is projected where it now vibrates; False: atom j stays on its reference site j throughout.

    Returns an xarray Dataset over `mode` (harmonic_frequency, q, branch, weight, nu0 ± err, gamma ± err,
    gamma_upper, gamma_intrinsic, resolved, bound flags, overdamped, overdamped_z, decided, mode_temperature) and
    (`mode`, `frequency`) spectrum, K_λ(ν) in eV/THz; units on every variable; conventions in attrs.
    """
    from ..trajectory.blocks import open_trajectory

    t0 = time.perf_counter()
    src = open_trajectory(trajectory, dt=dt)
    src.require_velocities()
    if src.n_atoms != reference.n_atoms or list(src.symbols) != list(reference.symbols):
        raise InputError(
            f"the reference was built for {reference.n_atoms} atoms in another order or of other species than the "
            f"trajectory's {src.n_atoms}: build it from this trajectory (mode_reference with one of its frames)"
        )
    stop = src.n_frames if stop is None else int(stop)
    start = int(start)
    if not 0 <= start < stop <= src.n_frames:
        raise InputError(f"frames [{start}, {stop}) are not within the {src.n_frames} frames")
    n = stop - start
    dt_fs = float(src.dt)
    if segment is None and segment_ps is not None:
        if not (math.isfinite(segment_ps) and segment_ps > 0):
            raise InputError(f"the segment must be a positive time in ps, got {segment_ps:g}")
        segment = int(round(segment_ps * 1e3 / dt_fs))
    if segment is None:
        segment = max(16, 2 * (n // 16))
    segment = int(segment)
    if segment < 16:
        raise InputError(f"a segment of {segment} frames is too short: at least 16 frames (a longer --segment)")
    if segment > n:
        raise InputError(
            f"the segment ({segment} frames, {segment * dt_fs / 1e3:g} ps) is longer than the {n} frames analysed "
            f"({n * dt_fs / 1e3:g} ps): choose a shorter segment"
        )
    hop = max(1, segment // 2)
    meta = getattr(src, "metadata", {}) or {}
    friction_per_fs = thermostat_friction(meta, friction_per_fs)
    masses = np.asarray(src.masses, dtype=float)
    mass_mismatch = float(np.max(np.abs(masses - reference.masses) / reference.masses))
    tracker = _SiteTracker(reference) if follow_hops else None
    welch, mean_sq = _project(src, reference, start, stop, segment, hop, progress, tracker)
    used = welch.n * hop + (segment - hop) if welch.n else 0
    n_seg = welch.n
    mean_p = welch.sum / max(n_seg, 1) * dt_fs  # folded, amu Å²/fs² · fs
    var_p = np.clip(welch.sumsq / max(n_seg, 1) - (welch.sum / max(n_seg, 1)) ** 2, 0, None) * dt_fs**2
    dnu = 1e3 / (segment * dt_fs)  # THz
    nu = np.arange(welch.k) * dnu
    nu_nyq = 0.5e3 / dt_fs
    window = welch.window
    lags = _lag_window(window)
    corr = _bin_correlation_factor(window)
    res = _resolution_fwhm(window, dt_fs)
    gamma_min = GAMMA_MIN_FRACTION * res

    def model_for(bins):
        return _Model(segment, dt_fs, lags, welch.norm, bins)

    cols, flags, reason = _fit_all(
        mean_p, reference.translation, reference.frequencies_thz, dnu, fit_level, corr, nu_nyq, model_for, progress
    )
    ok, nu_b, g_b = flags["ok"], flags["nu_b"], flags["g_b"]
    trans, n_modes = reference.translation, reference.n_modes
    # errors: none at a bound (a bound is a limit, not a measurement)
    nu0_err = np.where(nu_b, np.nan, cols["nu0_err"])
    gamma_err_cov = cols["gamma_err"]  # kept for the upper bound even at Γ = 0
    gamma_err = np.where(g_b, np.nan, gamma_err_cov)
    gamma = cols["gamma"]
    gamma_th = friction_per_fs * 1e3 / (2 * math.pi)  # THz
    gamma_int = gamma - gamma_th
    with np.errstate(invalid="ignore"):
        resolved = ok & ~g_b & (gamma_int > 2 * np.nan_to_num(gamma_err_cov, nan=np.inf)) & (gamma_int >= gamma_min)
        upper = np.where(
            ok & ~resolved,
            np.maximum(np.clip(gamma_int, 0, None) + 2 * np.nan_to_num(gamma_err_cov, nan=0.0), gamma_min),
            np.nan,
        )
        diff = 0.5 * gamma_int - cols["nu0"]
        sd = np.sqrt(
            np.clip(
                0.25 * np.nan_to_num(gamma_err_cov) ** 2
                + np.nan_to_num(cols["nu0_err"]) ** 2
                - np.nan_to_num(cols["cov"]),
                0,
                None,
            )
        )
        z = np.where(ok, diff / np.where(sd > 0, sd, np.nan), np.nan)
        z = np.where(ok & (sd == 0), np.sign(diff) * np.inf, z)
    overdamped = ok & resolved & (diff > 0)
    # one DHO line? the scatter of log(data/model) against that of a Welch average of n_seg segments alone
    expected_rms = math.sqrt(float(polygamma(1, max(n_seg / WELCH_OVERLAP_VARIANCE, 1.0))))
    single = ok & (cols["log_rms"] <= SINGLE_LINE_FACTOR * expected_rms)
    decided = ok & (np.abs(z) > DECIDED_Z)
    to_kelvin = units.AMU_A2_PER_FS2_IN_EV / units.KB_EV  # ⟨|Q̇|²⟩ in amu Å²/fs² → K
    mode_temp = mean_sq * to_kelvin
    fitted_temp = mode_temp[~trans]
    weights = reference.weight[~trans]
    t_kin = float(np.sum(fitted_temp * weights) / max(np.sum(weights), 1))
    t_nominal = meta.get("temperature")
    temp = float(temperature) if temperature is not None else (float(t_nominal) if t_nominal else t_kin)
    spec_scale = 0.5 * units.AMU_A2_PER_FS2_IN_EV / 1e3  # ½ · (amu Å²/fs² → eV) · (per 1/fs → per THz)
    spectrum = (mean_p * spec_scale).T
    spectrum_err = (np.sqrt(var_p / max(n_seg - 1, 1)) * spec_scale).T
    mode = np.arange(n_modes)
    th, one, md = units.FREQUENCY, units.DIMENSIONLESS, ("mode",)
    table: list[tuple[str, tuple[str, ...], Any, str, str]] = [
        ("harmonic_frequency", md, reference.frequencies_thz, th, "harmonic frequency ν (negative: imaginary)"),
        ("q", ("mode", "reduced"), reference.q, one, "q, reduced coordinates of the primitive reciprocal lattice"),
        ("branch", md, reference.branch, one, "band index at q (0 = lowest)"),
        ("weight", md, reference.weight, one, "modes this row stands for (2: q and −q)"),
        ("translation", md, trans, one, "rigid translation (not fitted)"),
        ("fitted", md, ok, one, "DHO fit done"),
        ("fit_note", md, reason.astype(str), one, "why a mode was not fitted"),
        ("nu0", md, cols["nu0"], th, "renormalised frequency ν₀ = ω₀/2π (DHO)"),
        ("nu0_err", md, nu0_err, th, "1σ of ν₀ (NaN at a bound)"),
        ("nu0_at_bound", md, nu_b, one, "ν₀ at a bound of the fit (0 or Nyquist)"),
        ("frequency_shift", md, cols["nu0"] - reference.frequencies_thz, th, "ν₀ − harmonic ν"),
        ("gamma", md, gamma, th, "linewidth Γ = γ/2π, FWHM of the DHO velocity spectrum (as measured)"),
        ("gamma_err", md, gamma_err, th, "1σ of Γ (NaN at a bound)"),
        ("gamma_at_bound", md, g_b, one, "Γ at a bound of the fit (0)"),
        ("gamma_intrinsic", md, gamma_int, th, "Γ minus the thermostat's Γ_L = γ_L/2π"),
        ("gamma_upper", md, upper, th, "upper bound of the intrinsic Γ where unresolved (Γ + 2σ, ≥ gamma_min)"),
        ("resolved", md, resolved, one, "intrinsic Γ > 2σ, ≥ gamma_min and not at a bound"),
        ("overdamped", md, overdamped, one, "Γ/2 > ν₀ (intrinsic Γ, resolved)"),
        ("overdamped_z", md, z, one, "(Γ/2 − ν₀)/σ"),
        ("decided", md, decided, one, f"|overdamped_z| > {DECIDED_Z:g}"),
        ("amplitude", md, cols["amp"] * to_kelvin, units.TEMPERATURE, "⟨|Q̇|²⟩ of the fitted DHO line, as k_B T"),
        ("mode_temperature", md, mode_temp, units.TEMPERATURE, "⟨|Q̇_λ|²⟩/k_B (= T at equipartition)"),
        ("fit_low", md, cols["lo"], th, "lowest frequency of the fit window"),
        ("fit_high", md, cols["hi"], th, "highest frequency of the fit window"),
        ("log_residual_rms", md, cols["log_rms"], one, "rms of log(data/model) in the fit window"),
        ("single_line", md, single, one, f"log_residual_rms ≤ {SINGLE_LINE_FACTOR:g} × that of noise alone"),
        ("spectrum", ("mode", "frequency"), spectrum, "eV THz-1", "mode kinetic-energy density K(ν)"),
        ("spectrum_err", ("mode", "frequency"), spectrum_err, "eV THz-1", "1σ of K from the segment scatter"),
    ]
    data = {name: (dims, values, {"units": unit, "long_name": text}) for name, dims, values, unit, text in table}
    data["spectrum"][2]["normalisation"] = "∫₀^ν_Nyquist K dν = ½⟨|Q̇|²⟩ (½ k_B T at equipartition)"
    coords = {
        "mode": ("mode", mode, {"units": units.DIMENSIONLESS}),
        "frequency": ("frequency", nu, {"units": th}),
        "energy": ("frequency", nu * units.THZ_TO_MEV, {"units": units.ENERGY_MEV}),
        "reduced": ("reduced", np.array(["b1", "b2", "b3"]), {"units": units.DIMENSIONLESS}),
    }
    n_fit = int(ok.sum())
    attrs = {
        "title": "normal-mode decomposition of MD velocities (DHO fits)",
        "analysis": "nmd",
        "temperature_K": temp,
        "kinetic_temperature_K": t_kin,
        "dt_fs": dt_fs,
        "frames": [start, stop],
        "frames_used": int(used),
        "segment_frames": segment,
        "segment_ps": segment * dt_fs / 1e3,
        "n_segments": n_seg,
        "window": "hann, segments overlapping by half (Welch)",
        "resolution_fwhm_THz": res,
        "gamma_min_THz": gamma_min,
        "bin_correlation_factor": corr,
        "fit_level": fit_level,
        "thermostat_friction_per_fs": friction_per_fs,
        "thermostat_gamma_THz": gamma_th,
        "n_modes": int(np.sum(reference.weight)),
        "n_rows": n_modes,
        "n_fitted": n_fit,
        "n_resolved": int(resolved.sum()),
        "n_overdamped": int(overdamped.sum()),
        "n_single_line": int(single.sum()),
        "expected_log_residual_rms": expected_rms,
        "overdamped_fraction": float(np.sum(reference.weight * overdamped) / max(np.sum(reference.weight * ok), 1)),
        "reference": reference.source,
        "reference_max_site_distance_angstrom": reference.max_site_distance,
        "supercell_matrix": reference.supercell_matrix.ravel().tolist(),
        "mass_mismatch": mass_mismatch,
        "follow_hops": int(follow_hops),
        "site_changes": tracker.changes if tracker is not None else 0,
        "notes": list(reference.notes),
        "model": "DHO velocity spectrum ∝ Γν²/((ν²−ν₀²)²+Γ²ν²) fitted through its autocorrelation × lag window",
        "overdamped_criterion": "Γ/2 > ν₀ (damping rate γ/2 > ω₀), with the thermostat's Γ_L subtracted",
        "conventions": "ν₀ = ω₀/2π and Γ = γ/2π in THz (Γ is the FWHM); a Langevin friction γ_L adds Γ_L = γ_L/2π",
        "seconds": time.perf_counter() - t0,
    }
    if mass_mismatch > 1e-3:
        attrs["notes"].append(
            f"the trajectory's masses differ from the reference's by up to {mass_mismatch:.1%} (isotopes?): the "
            "projection uses the trajectory's"
        )
    if n_seg < 4:
        attrs["notes"].append(f"only {n_seg} segments: the errors are rough (a shorter segment or a longer run)")
    for key in ("material", "potential", "protocol"):
        if key in meta:
            attrs[key] = meta[key]
    return xr.Dataset(data, coords=coords, attrs=attrs)


# --------------------------------------------------------------------------- summaries
def _band_edges(datasets: Sequence[xr.Dataset], band_width: float, edges: Sequence[float] | None) -> np.ndarray:
    if edges is not None:
        e = np.asarray(edges, dtype=float)
        if e.ndim != 1 or len(e) < 2 or np.any(np.diff(e) <= 0) or not np.all(np.isfinite(e)):
            raise InputError("band edges must be at least two increasing frequencies (THz)")
        return e
    if not (math.isfinite(band_width) and band_width > 0):
        raise InputError(f"the band width must be a positive frequency (THz), got {band_width:g}")
    top = max(float(np.nanmax(ds.harmonic_frequency.values)) for ds in datasets)
    return np.arange(0.0, top + band_width, band_width)


def overdamped_fraction(
    datasets: xr.Dataset | Sequence[xr.Dataset], band_width: float = 1.0, edges: Sequence[float] | None = None
) -> xr.Dataset:
    """Fraction of overdamped modes per band of harmonic frequency, per run (sorted by temperature).

    Counts the fitted modes with weight (a (q, −q) pair counts twice), the fraction's error binomial over the
    independent rows; `undecided`: modes whose verdict is within 2σ. Imaginary harmonic modes (ν < 0) are
    counted apart (`n_imaginary`).
    """
    runs = [datasets] if isinstance(datasets, xr.Dataset) else list(datasets)
    if not runs:
        raise InputError("no NMD result given")
    runs = sorted(runs, key=lambda d: float(d.attrs.get("temperature_K", np.nan)))
    e = _band_edges(runs, band_width, edges)
    nb = len(e) - 1
    frac = np.full((len(runs), nb), np.nan)
    ferr = np.full((len(runs), nb), np.nan)
    count = np.zeros((len(runs), nb))
    nover = np.zeros((len(runs), nb))
    undecided = np.zeros((len(runs), nb))
    single = np.zeros((len(runs), nb))
    total = np.full(len(runs), np.nan)
    total_err = np.full(len(runs), np.nan)
    n_imag = np.zeros(len(runs), int)
    for r, ds in enumerate(runs):
        nu = ds.harmonic_frequency.values
        ok = ds.fitted.values.astype(bool)
        w = ds.weight.values.astype(float)
        od = ds.overdamped.values.astype(bool)
        und = ~ds.decided.values.astype(bool)
        one = ds.single_line.values.astype(bool) if "single_line" in ds else np.ones_like(ok)
        n_imag[r] = int(np.sum(w[ok & (nu < 0)]))
        for b in range(nb):
            sel = ok & (nu >= e[b]) & (nu < e[b + 1] if b < nb - 1 else nu <= e[b + 1])
            if not sel.any():
                continue
            n_w = w[sel].sum()
            f = float(np.sum(w[sel] * od[sel]) / n_w)
            frac[r, b], count[r, b] = f, n_w
            ferr[r, b] = math.sqrt(max(f * (1 - f), 0.25 / sel.sum()) / sel.sum())
            nover[r, b] = float(np.sum(w[sel] * od[sel]))
            undecided[r, b] = float(np.sum(w[sel] * und[sel]))
            single[r, b] = float(np.sum(w[sel] * one[sel]))
        sel = ok & (nu >= 0)
        if sel.any():
            total[r] = float(np.sum(w[sel] * od[sel]) / w[sel].sum())
            total_err[r] = math.sqrt(max(total[r] * (1 - total[r]), 0.25 / sel.sum()) / sel.sum())
    dims = ("run", "band")
    return xr.Dataset(
        {
            "fraction": (
                dims,
                frac,
                {"units": units.DIMENSIONLESS, "long_name": "overdamped fraction of the fitted modes (Γ/2 > ν₀)"},
            ),
            "fraction_err": (dims, ferr, {"units": units.DIMENSIONLESS, "long_name": "binomial 1σ"}),
            "n_modes": (dims, count, {"units": units.DIMENSIONLESS, "long_name": "fitted modes in the band"}),
            "n_overdamped": (dims, nover, {"units": units.DIMENSIONLESS}),
            "n_undecided": (
                dims,
                undecided,
                {"units": units.DIMENSIONLESS, "long_name": f"modes with |z| ≤ {DECIDED_Z:g}"},
            ),
            "n_single_line": (
                dims,
                single,
                {"units": units.DIMENSIONLESS, "long_name": "modes whose spectrum is one DHO line within the noise"},
            ),
            "fraction_all": (
                "run",
                total,
                {"units": units.DIMENSIONLESS, "long_name": "overdamped fraction of all fitted modes with ν ≥ 0"},
            ),
            "fraction_all_err": ("run", total_err, {"units": units.DIMENSIONLESS}),
            "n_imaginary": (
                "run",
                n_imag,
                {"units": units.DIMENSIONLESS, "long_name": "fitted modes imaginary in the reference"},
            ),
        },
        coords={
            "run": ("run", np.arange(len(runs)), {"units": units.DIMENSIONLESS}),
            "temperature": (
                "run",
                [float(d.attrs.get("temperature_K", np.nan)) for d in runs],
                {"units": units.TEMPERATURE},
            ),
            "band": ("band", np.arange(nb), {"units": units.DIMENSIONLESS}),
            "band_low": ("band", e[:-1], {"units": units.FREQUENCY}),
            "band_high": ("band", e[1:], {"units": units.FREQUENCY}),
            "band_centre": ("band", 0.5 * (e[:-1] + e[1:]), {"units": units.FREQUENCY}),
        },
        attrs={"title": "overdamped fraction per band of harmonic frequency", "criterion": "Γ/2 > ν₀, Γ resolved"},
    )


def nmd_summary(ds: xr.Dataset, band_width: float = 1.0) -> dict[str, Any]:
    """JSON-ready numbers of one NMD result: counts, the overdamped fraction per band, the median linewidth and
    frequency shift, resolution, thermostat.
    """
    fr = overdamped_fraction(ds, band_width=band_width)
    ok = ds.fitted.values.astype(bool)
    res = ds.resolved.values.astype(bool)
    bands = []
    for b in range(fr.sizes["band"]):
        n = float(fr.n_modes.values[0, b])
        if n == 0:
            continue
        bands.append(
            {
                "band_THz": [float(fr.band_low.values[b]), float(fr.band_high.values[b])],
                "modes": int(n),
                "overdamped": int(fr.n_overdamped.values[0, b]),
                "fraction": float(fr.fraction.values[0, b]),
                "fraction_err": float(fr.fraction_err.values[0, b]),
                "undecided": int(fr.n_undecided.values[0, b]),
                "single_line": int(fr.n_single_line.values[0, b]),
            }
        )

    def med(x):
        return float(np.nanmedian(x)) if np.any(np.isfinite(x)) else float("nan")

    a = ds.attrs
    return {
        "temperature_K": float(a["temperature_K"]),
        "kinetic_temperature_K": float(a["kinetic_temperature_K"]),
        "modes": int(a["n_modes"]),
        "fitted": int(np.sum(ds.weight.values[ok])),
        "resolved": int(np.sum(ds.weight.values[res])),
        "overdamped": int(np.sum(ds.weight.values[ds.overdamped.values.astype(bool)])),
        "overdamped_fraction": float(fr.fraction_all.values[0]),
        "overdamped_fraction_err": float(fr.fraction_all_err.values[0]),
        "bands": bands,
        "median_gamma_THz": med(ds.gamma_intrinsic.values[res]),
        "median_relative_shift": med(
            (ds.frequency_shift.values / ds.harmonic_frequency.values)[ok & (ds.harmonic_frequency.values > 0.05)]
        ),
        "resolution_fwhm_THz": float(a["resolution_fwhm_THz"]),
        "gamma_min_THz": float(a["gamma_min_THz"]),
        "segment_ps": float(a["segment_ps"]),
        "n_segments": int(a["n_segments"]),
        "thermostat_gamma_THz": float(a["thermostat_gamma_THz"]),
        "seconds": float(a["seconds"]),
        "single_line": int(np.sum(ds.weight.values[ds.single_line.values.astype(bool)]))
        if "single_line" in ds
        else None,
        "follow_hops": bool(a.get("follow_hops", 0)),
        "site_changes": int(a.get("site_changes", 0)),
        "notes": _as_list(a.get("notes", [])),
        **_kappa_of(a),
    }


def _kappa_of(a: Any) -> dict[str, Any]:
    """The κ totals (W/(m·K)) that `superionic.lattice.phonon_gas.attach_kappa` put in the attrs, if any."""
    if "kappa_total" not in a:
        return {}
    keys = ("gas", "coherence", "total", "gas_underdamped", "total_underdamped", "unresolved")
    out: dict[str, Any] = {f"kappa_{k}_W_mK": float(a[f"kappa_{k}"]) for k in keys}
    out["kappa_heat_capacity"] = str(a.get("kappa_heat_capacity", ""))
    return out


def _as_list(x: Any) -> list:
    """A list attribute, also as netCDF gives it back (a JSON string, or one string)."""
    import json

    if isinstance(x, str):
        try:
            v = json.loads(x)
        except ValueError:
            return [x] if x else []
        return v if isinstance(v, list) else [v]
    return [str(v) for v in np.atleast_1d(x)] if x is not None else []


# --------------------------------------------------------------------------- figures
def nmd_figure(datasets: xr.Dataset | Sequence[xr.Dataset], band_width: float = 1.0):
    """Left: the damping map, Γ against ν₀ per mode (one colour per run; unresolved Γ as upper bounds ▾), with
    the overdamping border Γ = 2ν₀. Right: the overdamped fraction per band of harmonic frequency, one line per
    run (temperature). With several runs a third panel: the fraction against T for the lowest bands.
    Returns a matplotlib Figure (no pyplot state).
    """
    from matplotlib.figure import Figure

    runs = [datasets] if isinstance(datasets, xr.Dataset) else list(datasets)
    runs = sorted(runs, key=lambda d: float(d.attrs.get("temperature_K", np.nan)))
    fr = overdamped_fraction(runs, band_width=band_width)
    n_panels = 3 if len(runs) > 1 else 2
    fig = Figure(figsize=(4.2 * n_panels, 3.6), layout="constrained")
    axes = fig.subplots(1, n_panels)
    ax = axes[0]
    top = 0.0
    for r, ds in enumerate(runs):
        c = f"C{r}"
        ok = ds.fitted.values.astype(bool)
        res = ds.resolved.values.astype(bool)
        nu0 = ds.nu0.values
        g = ds.gamma_intrinsic.values
        label = f"{ds.attrs.get('temperature_K', float('nan')):.0f} K"
        ax.errorbar(
            nu0[res], g[res], yerr=np.nan_to_num(ds.gamma_err.values[res]), fmt="o", ms=3, color=c, lw=0.6, label=label
        )
        un = ok & ~res
        ax.plot(nu0[un], ds.gamma_upper.values[un], "v", ms=3, color=c, alpha=0.5)
        if ok.any():
            top = max(top, float(np.nanmax(np.concatenate([nu0[ok], g[ok]]))))
    x = np.linspace(0, max(top, 1e-3), 50)
    ax.plot(x, 2 * x, "k--", lw=0.8, label="Γ = 2ν₀ (overdamped above)")
    ax.set_xlabel("ν₀ (THz)")
    ax.set_ylabel("linewidth Γ (THz, FWHM)")
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    ax.set_title("damping map (▾: unresolved, upper bound)", fontsize=9)
    ax.legend(fontsize=7)
    ax = axes[1]
    for r in range(fr.sizes["run"]):
        ax.errorbar(
            fr.band_centre.values,
            fr.fraction.values[r],
            yerr=fr.fraction_err.values[r],
            marker="o",
            ms=3,
            lw=1,
            capsize=2,
            color=f"C{r}",
            label=f"{fr.temperature.values[r]:.0f} K",
        )
    ax.set_xlabel("harmonic frequency band (THz)")
    ax.set_ylabel("overdamped fraction")
    ax.set_ylim(-0.03, 1.03)
    ax.set_title("fraction of overdamped modes per band", fontsize=9)
    ax.legend(fontsize=7)
    if n_panels == 3:
        ax = axes[2]
        shown = [b for b in range(fr.sizes["band"]) if np.any(fr.n_modes.values[:, b] > 0)][:4]
        for k, b in enumerate(shown):
            ax.errorbar(
                fr.temperature.values,
                fr.fraction.values[:, b],
                yerr=fr.fraction_err.values[:, b],
                marker="o",
                ms=3,
                capsize=2,
                label=f"{fr.band_low.values[b]:g}–{fr.band_high.values[b]:g} THz",
                color=f"C{k}",
            )
        ax.set_xlabel("temperature (K)")
        ax.set_ylabel("overdamped fraction")
        ax.set_ylim(-0.03, 1.03)
        ax.legend(fontsize=7)
        ax.set_title("vs temperature", fontsize=9)
    return fig


def mode_spectrum_figure(ds: xr.Dataset, modes: Sequence[int] | None = None, ax=None):
    """Spectra K(ν) of a few modes (default: six spread over the frequency range) with their fitted DHO
    lineshape (the plain ∝ Γν²/((ν²−ν₀²)²+Γ²ν²) form at the fitted ν₀, Γ, scaled to the data: the resolution
    is not drawn into it). Returns the Figure.
    """
    from matplotlib.figure import Figure

    ok = np.flatnonzero(ds.fitted.values.astype(bool))
    if modes is None:
        order = ok[np.argsort(ds.harmonic_frequency.values[ok])]
        modes = (
            [int(order[i]) for i in np.linspace(0, len(order) - 1, min(6, len(order))).astype(int)]
            if len(order)
            else []
        )
    if ax is None:
        fig = Figure(figsize=(5.5, 3.6), layout="constrained")
        ax = fig.subplots()
    else:
        fig = ax.figure
    nu = ds.frequency.values
    for k, i in enumerate(modes):
        y = ds.spectrum.values[i]
        ax.plot(nu, y, color=f"C{k}", lw=0.8, label=f"mode {i}: ν_h = {ds.harmonic_frequency.values[i]:.2f} THz")
        n0, g = float(ds.nu0.values[i]), float(ds.gamma.values[i])
        if np.isfinite(n0) and np.isfinite(g) and g > 0:
            shape = g * nu**2 / ((nu**2 - n0**2) ** 2 + (g * nu) ** 2)
            sel = (nu >= ds.fit_low.values[i]) & (nu <= ds.fit_high.values[i])
            if sel.any() and shape[sel].max() > 0:
                scale = np.sum(y[sel] * shape[sel]) / np.sum(shape[sel] ** 2)
                ax.plot(nu, scale * shape, color=f"C{k}", lw=0.8, ls="--")
    ax.set_yscale("log")
    ax.set_xlabel("frequency ν (THz)")
    ax.set_ylabel("mode kinetic energy K(ν) (eV/THz)")
    ax.legend(fontsize=6)
    return fig
