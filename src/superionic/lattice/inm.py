"""Instantaneous normal modes (INM): Hessians of MD snapshots, their mass-weighted eigenmodes, the INM density
of states with the imaginary branch on the negative axis, the unstable-mode fraction f_u(T) and the low-ω law.

Two Hessians (docs/inm.md), the same quantity by two routes:

* `hessian_lammps`: LAMMPS ``dynamical_matrix`` (PHONON package, central differences inside LAMMPS) for the
  LAMMPS potentials (the distilled SNAP of Li6PS5Cl, LJ …); about 6N force evaluations without Python in between;
* `hessian_finite_differences`: central differences of the forces through any ASE calculator (CHGNet, EMT, …):
  H_{iα,jβ} = −[F_jβ(x + δ e_iα) − F_jβ(x − δ e_iα)] / 2δ, 6N force calls.

Conventions:

* H in eV/Å² (symmetrised, (H + Hᵀ)/2), the dynamical matrix D = M^{-1/2} H M^{-1/2} in eV/(Å² amu);
* the three uniform translations (mass-weighted, D's exact zero modes in a periodic cell) are projected out
  before diagonalising: 3N − 3 modes per snapshot;
* eigenvalue λ → frequency ν = sign(λ) √|λ| / 2π in THz: an imaginary frequency iν is stored as −ν (phonopy's
  convention); a mode is *unstable* when ν < −threshold (default 0.05 THz, `IMAGINARY_THRESHOLD_THZ`);
* INM density ρ(ν) in 1/THz, a histogram over snapshots normalised to ∫ρ dν = 3N − 3 (the modes of one
  snapshot); species-projected ρ_s with the eigenvector weight Σ_{i∈s}|e_i|², Σ_s ρ_s = ρ;
* f_u = (number of modes with ν < −threshold) / (3N − 3) per snapshot; mean ± standard error over snapshots;
* low-ω law ρ(|ν|) = a |ν|ⁿ on each branch, fitted to the cumulative count of modes in a window (no binning),
  errors by bootstrap over snapshots.

The analysis of eigenvalues (`inm_dataset`, `low_frequency_law`, `inm_vs_temperature`) is pure NumPy on arrays;
`inm` drives the potential over the snapshots of a trajectory.
"""

from __future__ import annotations

import math
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import ase.units
import numpy as np
import xarray as xr
from ase import Atoms

from .. import units
from ..errors import InputError
from .modes import IMAGINARY_THRESHOLD_THZ

#: ν[THz] = √λ · LAMBDA_TO_THZ for λ in eV/(Å² amu)  (√(e / (Å² u)) / 2π / 10¹²  ≈ 15.633)
LAMBDA_TO_THZ = math.sqrt(ase.units._e / (1e-20 * ase.units._amu)) / (2 * math.pi * 1e12)
#: default finite-difference displacement, Å
DISPLACEMENT = 0.005
#: default histogram bin of the INM density, THz
BIN_WIDTH = 0.1
#: default window (THz) of the low-ω law on each branch
SLOPE_WINDOW = (0.0, 1.5)


# --------------------------------------------------------------------------- Hessians
def _check_displacement(displacement: float) -> float:
    if not (math.isfinite(displacement) and 0 < displacement < 0.1):
        raise InputError(f"the finite-difference displacement must be in (0, 0.1) Å, got {displacement:g}")
    return float(displacement)


def hessian_finite_differences(
    atoms: Atoms,
    calculator: Any,
    displacement: float = DISPLACEMENT,
    progress: Callable[[int, int], None] | None = None,
) -> np.ndarray:
    """Hessian (3N, 3N) in eV/Å² of `atoms` with any ASE calculator, by central differences of the forces.

    Row 3i+α holds −∂F/∂x_iα (6N force calls); the result is symmetrised ((H + Hᵀ)/2). Constraints on `atoms`
    are ignored (a copy without them is displaced). progress(i, n) after each atom.
    """
    d = _check_displacement(displacement)
    a = atoms.copy()
    a.set_constraint()
    a.calc = calculator
    x0 = a.get_positions()
    n = len(a)
    h = np.empty((3 * n, 3 * n))
    for i in range(n):
        for al in range(3):
            x = x0.copy()
            x[i, al] += d
            a.set_positions(x)
            fp = np.asarray(a.get_forces(), dtype=float)
            x[i, al] -= 2 * d
            a.set_positions(x)
            fm = np.asarray(a.get_forces(), dtype=float)
            h[3 * i + al] = -(fp - fm).ravel() / (2 * d)
        if progress is not None:
            progress(i + 1, n)
    if not np.all(np.isfinite(h)):
        raise InputError("the potential returned non-finite forces for a displaced configuration")
    a.set_positions(x0)
    return 0.5 * (h + h.T)


def hessian_lammps(atoms: Atoms, potential: Any, displacement: float = DISPLACEMENT, session: Any = None) -> np.ndarray:
    """Hessian (3N, 3N) in eV/Å² of `atoms` with a LAMMPS potential through LAMMPS ``dynamical_matrix``.

    potential: a LammpsPotential, a shipped name or a ``.lammps.json`` file. LAMMPS differentiates by central
    differences of step `displacement` (Å) and writes the mass-weighted matrix in its own (rotated) frame: it is
    rotated back to the frame of `atoms`, un-mass-weighted and symmetrised. `session`: an open `LammpsSession`
    of the same atoms and potential to reuse (its cell and positions are reset to those of `atoms`).
    """
    from ..potentials.lammps_potentials import LammpsSession, get_lammps_potential

    d = _check_displacement(displacement)
    n = len(atoms)
    own = session is None
    if own:
        session = LammpsSession(atoms, get_lammps_potential(potential))
    else:
        if session.n != n:
            raise InputError(f"the LAMMPS session holds {session.n} atoms, the structure {n}")
        session.set_cell(np.asarray(atoms.cell))
        session.set_state(atoms.get_positions(), np.zeros((n, 3)))
    try:
        with tempfile.TemporaryDirectory(prefix="superionic-dynmat-") as tmp:
            path = Path(tmp) / "dynmat.bin"
            session.command(f"dynamical_matrix all regular {d!r} file {path} binary yes")
            raw = np.fromfile(path, dtype=np.float64)
        if raw.size != (3 * n) ** 2:
            raise InputError(f"LAMMPS dynamical_matrix wrote {raw.size} values for {3 * n}² expected")
        q = np.asarray(session.Q, dtype=float)
        dyn = raw.reshape(n, 3, n, 3)
        dyn = np.einsum("ab,ibjc,dc->iajd", q, dyn, q, optimize=True)  # LAMMPS frame → caller frame: Q D Qᵀ
        m = np.asarray(session.masses, dtype=float)
        sq = np.sqrt(m)
        h = (dyn * sq[:, None, None, None] * sq[None, None, :, None]).reshape(3 * n, 3 * n)
    finally:
        if own:
            session.close()
    if not np.all(np.isfinite(h)):
        raise InputError("LAMMPS dynamical_matrix returned non-finite values")
    return 0.5 * (h + h.T)


# --------------------------------------------------------------------------- modes
def translation_complement(masses: np.ndarray) -> np.ndarray:
    """(3N, 3N − 3) orthonormal basis of the mass-weighted displacements orthogonal to the three translations."""
    m = np.asarray(masses, dtype=float)
    n = len(m)
    t = np.zeros((3 * n, 3))
    for a in range(3):
        t[a::3, a] = np.sqrt(m)
    t /= np.linalg.norm(t, axis=0)
    q, _ = np.linalg.qr(np.hstack([t, np.eye(3 * n)[:, : 3 * n]]), mode="reduced")
    return q[:, 3 : 3 * n]


def frequencies_thz(eigenvalues) -> np.ndarray:
    """Signed frequencies ν = sign(λ)√|λ|/2π in THz of dynamical-matrix eigenvalues λ in eV/(Å² amu)."""
    lam = np.asarray(eigenvalues, dtype=float)
    return np.sign(lam) * np.sqrt(np.abs(lam)) * LAMBDA_TO_THZ


def normal_modes(
    hessian: np.ndarray, masses: np.ndarray, basis: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The 3N − 3 instantaneous normal modes of a Hessian (eV/Å²) and masses (amu), translations removed.

    Returns (ν, w): signed frequencies in THz, ascending (imaginary as negative), and the eigenvector weight of
    every atom, w[k, i] = Σ_α |e_{k,iα}|² (rows sum to 1). `basis`: `translation_complement(masses)` to reuse.
    """
    m = np.asarray(masses, dtype=float)
    n = len(m)
    h = np.asarray(hessian, dtype=float)
    if h.shape != (3 * n, 3 * n):
        raise InputError(f"the Hessian of {n} atoms must be ({3 * n}, {3 * n}), got {h.shape}")
    inv = 1.0 / np.sqrt(np.repeat(m, 3))
    dyn = 0.5 * (h + h.T) * inv[:, None] * inv[None, :]
    b = translation_complement(m) if basis is None else basis
    lam, vec = np.linalg.eigh(b.T @ dyn @ b)
    e = b @ vec  # (3N, 3N − 3), orthonormal columns
    w = (e * e).reshape(n, 3, -1).sum(axis=1).T
    return frequencies_thz(lam), w


def participation_ratio(weights: np.ndarray) -> np.ndarray:
    """Participation ratio of each mode, (Σ_i w_i)² / (N Σ_i w_i²): 1 for a mode spread evenly over all N
    atoms, 1/N for a mode on one atom. weights: (modes, N) per-atom eigenvector weights.
    """
    w = np.asarray(weights, dtype=float)
    return w.sum(axis=1) ** 2 / (w.shape[1] * np.sum(w * w, axis=1))


# --------------------------------------------------------------------------- analysis of eigenvalues
def _bins(freqs: np.ndarray, bin_width: float) -> np.ndarray:
    lo = math.floor(float(np.min(freqs)) / bin_width) - 1
    hi = math.ceil(float(np.max(freqs)) / bin_width) + 1
    return np.arange(lo, hi + 1) * bin_width  # 0 is an edge: no bin mixes the two branches


def unstable_fraction(freqs: np.ndarray, threshold: float = IMAGINARY_THRESHOLD_THZ) -> np.ndarray:
    """f_u per snapshot: the share of the modes (last axis) with ν < −threshold (THz)."""
    f = np.atleast_2d(np.asarray(freqs, dtype=float))
    return np.mean(f < -threshold, axis=-1)


def _cumulative(x: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Mean over snapshots of the number of modes with 0 < x ≤ ν, at each ν of grid; x: (snapshots, modes)."""
    xs = np.sort(np.where(x > 0, x, np.inf), axis=1)
    return np.mean([np.searchsorted(row, grid, side="right") for row in xs], axis=0)


def _law(x: np.ndarray, lo: float, hi: float, grid_points: int = 24) -> tuple[float, float, float]:
    """(exponent n, amplitude a, linear coefficient a₁) of ρ = a xⁿ (and of ρ = a₁ x) fitted to the cumulative
    count N(ν) − N(lo) on lo < ν ≤ hi. NaN when the window holds fewer than 3 modes.
    """
    from scipy.optimize import curve_fit

    grid = np.linspace(lo, hi, grid_points + 1)[1:]
    c = _cumulative(x, np.concatenate([[lo], grid]))
    y = c[1:] - c[0]
    if y[-1] * x.shape[0] < 3:
        return math.nan, math.nan, math.nan
    b1 = 0.5 * (grid**2 - lo**2)
    a1 = float(np.sum(y * b1) / np.sum(b1 * b1))

    def model(v, a, p):  # p = n + 1
        return a / p * (v**p - lo**p)

    try:
        (a, p), _ = curve_fit(model, grid, y, p0=(max(a1, 1e-9), 2.0), bounds=([0, 0.2], [np.inf, 8.0]))
    except (RuntimeError, ValueError):
        return math.nan, math.nan, a1
    return float(p - 1.0), float(a), a1


def low_frequency_law(
    freqs: np.ndarray,
    window: tuple[float, float] = SLOPE_WINDOW,
    branch: str = "real",
    n_boot: int = 200,
    seed: int = 0,
) -> dict[str, float]:
    """The low-ω law of one INM branch: ρ(|ν|) ≈ a|ν|ⁿ on window (lo, hi] THz, fitted to the cumulative mode
    count (ρ normalised to 3N − 3 per snapshot, as `inm_dataset`'s ``dos``); also the linear coefficient a₁ of
    ρ ≈ a₁|ν| (1/THz²). branch: "real" (ν > 0) or "imaginary" (ν < 0, by |ν|). Errors: standard deviation over
    `n_boot` bootstrap resamplings of the snapshots (NaN with one snapshot).
    """
    f = np.atleast_2d(np.asarray(freqs, dtype=float))
    lo, hi = float(window[0]), float(window[1])
    if not (math.isfinite(lo) and math.isfinite(hi) and 0 <= lo < hi):
        raise InputError(f"the low-frequency window must be 0 ≤ lo < hi (THz), got {window}")
    if branch not in ("real", "imaginary"):
        raise InputError(f"branch must be 'real' or 'imaginary', got {branch!r}")
    x = f if branch == "real" else -f
    n, a, a1 = _law(x, lo, hi)
    out = {"exponent": n, "amplitude": a, "linear": a1, "exponent_err": math.nan, "linear_err": math.nan}
    s = f.shape[0]
    if s > 1 and n_boot > 1 and math.isfinite(a1):
        rng = np.random.default_rng(seed)
        boot = np.array([_law(x[rng.integers(0, s, s)], lo, hi) for _ in range(n_boot)])
        with np.errstate(invalid="ignore"):
            out["exponent_err"] = (
                float(np.nanstd(boot[:, 0], ddof=1)) if np.isfinite(boot[:, 0]).sum() > 1 else math.nan
            )
            out["linear_err"] = float(np.nanstd(boot[:, 2], ddof=1))
    return out


def inm_dataset(
    frequencies: np.ndarray,
    species_weights: np.ndarray,
    species: Sequence[str],
    n_atoms_species: Sequence[int],
    *,
    participation: np.ndarray | None = None,
    threshold: float = IMAGINARY_THRESHOLD_THZ,
    bin_width: float = BIN_WIDTH,
    window: tuple[float, float] = SLOPE_WINDOW,
    frames: Sequence[int] | np.ndarray | None = None,
    times_fs: Sequence[float] | np.ndarray | None = None,
    epot: Sequence[float] | np.ndarray | None = None,
    attrs: dict[str, Any] | None = None,
) -> xr.Dataset:
    """The INM Dataset of the modes of S snapshots.

    frequencies: (S, 3N − 3) signed THz; species_weights: (S, n_species, 3N − 3) eigenvector weight of each
    species per mode (sums to 1 over species); participation: (S, 3N − 3) or None.
    Variables (units on each): ``dos``/``dos_err`` (frequency; ∫dos dν = 3N − 3), ``pdos`` (species,
    frequency), ``f_u`` (snapshot), ``f_u_mean``/``f_u_err``, ``n_imaginary`` (snapshot), ``unstable_weight``
    (species: share of the unstable modes' weight), ``mode_frequency`` (snapshot, mode), the low-ω law per branch
    (``exponent``, ``linear`` and errors on a ``branch`` dimension), and ``epot`` (snapshot) when given.
    """
    f = np.atleast_2d(np.asarray(frequencies, dtype=float))
    w = np.asarray(species_weights, dtype=float).reshape(f.shape[0], len(species), f.shape[1])
    if not (math.isfinite(threshold) and threshold >= 0):
        raise InputError(f"the imaginary-mode threshold must be ≥ 0 THz, got {threshold:g}")
    if not (math.isfinite(bin_width) and bin_width > 0):
        raise InputError(f"the INM bin width must be a positive number of THz, got {bin_width:g}")
    s, n_modes = f.shape
    edges = _bins(f, bin_width)
    centres = 0.5 * (edges[1:] + edges[:-1])
    per = np.array([np.histogram(row, edges)[0] for row in f], dtype=float) / bin_width
    pdos = np.array([[np.histogram(f[k], edges, weights=w[k, j])[0] for j in range(len(species))] for k in range(s)])
    pdos = pdos.mean(axis=0) / bin_width
    fu = unstable_fraction(f, threshold)
    unstable = f < -threshold
    n_imag = unstable.sum(axis=1)
    uw = np.array([w[:, j][unstable].sum() for j in range(len(species))])
    uw = uw / uw.sum() if uw.sum() > 0 else np.full(len(species), np.nan)
    sem = (lambda x: float(np.std(x, ddof=1) / math.sqrt(s)) if s > 1 else math.nan)(fu)
    laws = {b: low_frequency_law(f, window, b) for b in ("real", "imaginary")}
    thz1 = {"units": "THz-1"}
    data: dict[str, Any] = {
        "dos": ("frequency", per.mean(axis=0), {**thz1, "long_name": "INM density of states, ∫ dν = 3N − 3"}),
        "dos_err": (
            "frequency",
            per.std(axis=0, ddof=1) / math.sqrt(s) if s > 1 else np.full(len(centres), np.nan),
            {**thz1, "long_name": "standard error of dos over snapshots"},
        ),
        "pdos": (
            ("species", "frequency"),
            pdos,
            {**thz1, "long_name": "species-projected INM density (eigenvector weight), Σ_species = dos"},
        ),
        "f_u": ("snapshot", fu, {"units": units.DIMENSIONLESS, "long_name": "unstable-mode fraction per snapshot"}),
        "f_u_mean": ((), float(fu.mean()), {"units": units.DIMENSIONLESS, "long_name": "unstable-mode fraction f_u"}),
        "f_u_err": ((), sem, {"units": units.DIMENSIONLESS, "long_name": "standard error of f_u over snapshots"}),
        "n_imaginary": ("snapshot", n_imag, {"units": units.DIMENSIONLESS, "long_name": "modes with ν < −threshold"}),
        "unstable_weight": (
            "species",
            uw,
            {"units": units.DIMENSIONLESS, "long_name": "share of the unstable modes' eigenvector weight"},
        ),
        "n_atoms_species": ("species", np.asarray(n_atoms_species, dtype=int), {"units": units.DIMENSIONLESS}),
        "mode_frequency": (
            ("snapshot", "mode"),
            f,
            {"units": units.FREQUENCY, "long_name": "INM frequency (negative: imaginary), translations removed"},
        ),
        "exponent": (
            "branch",
            [laws[b]["exponent"] for b in laws],
            {"units": units.DIMENSIONLESS, "long_name": "n of ρ(|ν|) ≈ a|ν|ⁿ in the low-ω window"},
        ),
        "exponent_err": ("branch", [laws[b]["exponent_err"] for b in laws], {"units": units.DIMENSIONLESS}),
        "linear": (
            "branch",
            [laws[b]["linear"] for b in laws],
            {"units": "THz-2", "long_name": "a₁ of ρ(|ν|) ≈ a₁|ν| in the low-ω window (ρ per 3N − 3 modes)"},
        ),
        "linear_err": ("branch", [laws[b]["linear_err"] for b in laws], {"units": "THz-2"}),
    }
    if participation is not None:
        data["participation"] = (
            ("snapshot", "mode"),
            np.asarray(participation, dtype=float).reshape(s, n_modes),
            {"units": units.DIMENSIONLESS, "long_name": "participation ratio (1: all atoms, 1/N: one atom)"},
        )
    if epot is not None:
        data["epot"] = ("snapshot", np.asarray(epot, dtype=float), {"units": units.ENERGY, "long_name": "E_pot"})
    coords: dict[str, Any] = {
        "frequency": ("frequency", centres, {"units": units.FREQUENCY}),
        "energy": ("frequency", centres * units.THZ_TO_MEV, {"units": units.ENERGY_MEV}),
        "species": list(species),
        "snapshot": ("snapshot", np.arange(s), {"units": units.DIMENSIONLESS}),
        "branch": ["real", "imaginary"],
    }
    if frames is not None:
        coords["frame"] = ("snapshot", np.asarray(frames, dtype=int), {"units": units.DIMENSIONLESS})
    if times_fs is not None:
        coords["time"] = ("snapshot", np.asarray(times_fs, dtype=float), {"units": units.TIME})
    ds = xr.Dataset(data, coords=coords)
    ds.attrs.update(
        analysis="inm",
        n_modes=int(n_modes),
        n_snapshots=int(s),
        threshold_THz=float(threshold),
        bin_width_THz=float(bin_width),
        slope_window_THz=[float(window[0]), float(window[1])],
        normalisation="∫dos dν = 3N − 3 (translations removed); imaginary frequencies iν stored as −ν",
        f_u_error="standard error of the mean over snapshots (taken as independent)",
    )
    ds.attrs.update(attrs or {})
    return ds


# --------------------------------------------------------------------------- snapshots of a trajectory
def _is_lammps(potential: Any) -> bool:
    from ..potentials.lammps_potentials import LammpsPotential, installed_potentials

    if isinstance(potential, LammpsPotential):
        return True
    if isinstance(potential, (str, Path)):
        s = str(potential)
        return s.endswith(".json") or s in installed_potentials()
    return getattr(potential, "engine", None) == "lammps"


def potential_engine(potential: Any, calculator: Any = None, method: str = "auto") -> tuple[str, Any, dict[str, Any]]:
    """(how, engine, identity): how = "lammps" (engine: a LammpsPotential) or "fd" (engine: an ASE calculator),
    from a potential (registered name, LammpsPotential, .lammps.json, PotentialSpec) or an ASE calculator.
    method: auto (LAMMPS for a LAMMPS potential), lammps, fd (a LAMMPS potential through its ASE calculator).
    """
    from ..potentials.lammps_potentials import LammpsCalculator, get_lammps_potential
    from ..potentials.registry import PotentialSpec, from_calculator, get_potential

    if method not in ("auto", "lammps", "fd"):
        raise InputError(f"method must be auto, lammps or fd, got {method!r}")
    if calculator is not None:
        if method == "lammps":
            raise InputError("method 'lammps' needs a LAMMPS potential, not an ASE calculator")
        return "fd", calculator, from_calculator(calculator).identity()
    if potential is None:
        raise InputError("give a potential (registered name, LAMMPS potential) or an ASE calculator")
    if _is_lammps(potential):
        spec = potential.name if isinstance(potential, PotentialSpec) else potential
        pot = get_lammps_potential(spec)
        ident = pot.identity()
        if method == "fd":
            return "fd", LammpsCalculator(pot), ident
        return "lammps", pot, ident
    if method == "lammps":
        raise InputError(f"method 'lammps' needs a LAMMPS potential; {potential!r} is not one")
    spec = potential if isinstance(potential, PotentialSpec) else get_potential(str(potential))
    return "fd", spec.make(), spec.identity()


def resolve_potential(potential: Any, metadata: dict | None = None) -> Any:
    """The potential to evaluate a run with: `potential` as given (a name, a file, a LammpsPotential, a
    PotentialSpec), else the one the trajectory's metadata records (a LAMMPS potential rebuilt from its recorded
    fields and files; a registered name otherwise). InputError when neither says.
    """
    import ast

    if potential is not None:
        return potential
    p = (metadata or {}).get("potential")
    if isinstance(p, str):
        try:
            p = ast.literal_eval(p)
        except (ValueError, SyntaxError):
            pass
    if isinstance(p, dict):
        if p.get("engine") == "lammps" and "pair_style" in p:
            from ..potentials.lammps_potentials import get_lammps_potential

            return get_lammps_potential(p)
        if p.get("name"):
            return str(p["name"])
    if isinstance(p, str) and p:
        return p
    raise InputError("the trajectory does not record its potential: give one (--potential)")


def snapshot_frames(n_frames: int, n_snapshots: int, skip: float = 0.0) -> np.ndarray:
    """`n_snapshots` frame indices spread evenly over frames [skip·n_frames, n_frames − 1] (ends included)."""
    if n_snapshots < 1:
        raise InputError(f"the number of snapshots must be ≥ 1, got {n_snapshots}")
    if not 0 <= skip < 1:
        raise InputError(f"the skipped share of the run must be in [0, 1), got {skip:g}")
    first = int(math.floor(skip * n_frames))
    avail = n_frames - first
    if n_snapshots > avail:
        raise InputError(f"{n_snapshots} snapshots asked of {avail} frames")
    return np.unique(np.round(np.linspace(first, n_frames - 1, n_snapshots)).astype(int))


def inm(
    trajectory: Any,
    potential: Any = None,
    *,
    calculator: Any = None,
    n_snapshots: int = 8,
    frames: Sequence[int] | None = None,
    skip: float = 0.0,
    method: str = "auto",
    displacement: float = DISPLACEMENT,
    threshold: float = IMAGINARY_THRESHOLD_THZ,
    bin_width: float = BIN_WIDTH,
    window: tuple[float, float] = SLOPE_WINDOW,
    temperature: float | None = None,
    dt: float | None = None,
    progress: Callable[[int, int, float], None] | None = None,
) -> xr.Dataset:
    """INM of snapshots of a trajectory (path, FrameSource or Trajectory): Hessian, modes, `inm_dataset`.

    potential: a registered name (CHGNet, EMT …: finite differences through its ASE calculator), a LAMMPS
    potential (name, LammpsPotential, .lammps.json: LAMMPS dynamical_matrix), None for the one the trajectory
    records, or give `calculator` (any ASE calculator). method: auto (LAMMPS where possible), lammps, or fd (finite differences, also for a LAMMPS
    potential through its ASE calculator). frames: the frames to take; else `n_snapshots` spread evenly over
    the run after the first `skip` share. temperature (K): recorded; default the run's metadata, else the mean
    kinetic temperature of the snapshots. progress(k, n, seconds) after each snapshot.
    """
    from ..trajectory.blocks import opened

    t_start = time.perf_counter()
    with opened(trajectory, dt) as src:
        if calculator is None:
            potential = resolve_potential(potential, src.metadata if isinstance(src.metadata, dict) else {})
        how, engine, ident = potential_engine(potential, calculator, method)
        idx = snapshot_frames(src.n_frames, n_snapshots, skip) if frames is None else np.asarray(frames, dtype=int)
        if idx.size == 0 or idx.min() < 0 or idx.max() >= src.n_frames:
            raise InputError(f"snapshot frames must be within 0 … {src.n_frames - 1}, got {list(idx)}")
        symbols, masses = list(src.symbols), np.asarray(src.masses, dtype=float)
        species = list(dict.fromkeys(symbols))
        sel = [np.array([s == sp for s in symbols]) for sp in species]
        cells = src.cells
        temp = temperature
        if temp is None:
            temp = src.metadata.get("temperature") if isinstance(src.metadata, dict) else None
        kin = []
        basis = translation_complement(masses)
        session = None
        if how == "lammps":
            from ..potentials.lammps_potentials import LammpsSession

            first = Atoms(
                symbols,
                positions=src.read_positions(None, int(idx[0]), int(idx[0]) + 1)[0],
                cell=cells[idx[0]],
                pbc=True,
                masses=masses,
            )
            session = LammpsSession(first, engine)
        freqs, weights, parts, epots = [], [], [], []
        try:
            for k, fr in enumerate(idx):
                t0 = time.perf_counter()
                pos = src.read_positions(None, int(fr), int(fr) + 1)[0]
                atoms = Atoms(symbols, positions=pos, cell=cells[fr], pbc=True, masses=masses)
                if session is not None:
                    h = hessian_lammps(atoms, engine, displacement, session=session)
                    epots.append(session.evaluate()[0])
                else:
                    h = hessian_finite_differences(atoms, engine, displacement)
                    a = atoms.copy()
                    a.calc = engine
                    epots.append(float(a.get_potential_energy()))
                nu, w = normal_modes(h, masses, basis)
                freqs.append(nu)
                weights.append(np.stack([w[:, m].sum(axis=1) for m in sel]))
                parts.append(participation_ratio(w))
                if src.has_velocities:
                    v = src.read_velocities(None, int(fr), int(fr) + 1)[0]
                    kin.append(
                        float(np.sum(masses[:, None] * v * v))
                        * units.AMU_A2_PER_FS2_IN_EV
                        / (3 * len(masses) * units.KB_EV)
                    )
                if progress is not None:
                    progress(k + 1, len(idx), time.perf_counter() - t0)
        finally:
            if session is not None:
                session.close()
        if temp is None and kin:
            temp = float(np.mean(kin))
        times = (idx * src.dt).astype(float)
        n_frames, dt_frames = src.n_frames, src.dt
    seconds = time.perf_counter() - t_start
    ds = inm_dataset(
        np.array(freqs),
        np.array(weights),
        species,
        [int(m.sum()) for m in sel],
        participation=np.array(parts),
        threshold=threshold,
        bin_width=bin_width,
        window=window,
        frames=idx,
        times_fs=times,
        epot=epots,
        attrs={
            "temperature_K": math.nan if temp is None else float(temp),
            "kinetic_temperature_K": float(np.mean(kin)) if kin else math.nan,
            "method": "LAMMPS dynamical_matrix (central differences)"
            if how == "lammps"
            else "central finite differences of ASE forces",
            "displacement_A": float(displacement),
            "potential": ident,
            "n_atoms": len(symbols),
            "n_frames_trajectory": int(n_frames),
            "dt_frames_fs": float(dt_frames),
            "seconds": float(seconds),
            "seconds_per_snapshot": float(seconds / len(idx)),
        },
    )
    return ds


# --------------------------------------------------------------------------- across temperatures
def inm_vs_temperature(
    datasets: Sequence[xr.Dataset],
    diffusion: Sequence[tuple[float, float] | None] | None = None,
    species: str = "Li",
) -> xr.Dataset:
    """f_u(T) ± error and the low-ω exponents of several `inm_dataset`s (one per temperature, from their
    ``temperature_K``), with the diffusion coefficient D ± σ (cm²/s) of `species` beside it where given
    (one (D, σ) or None per dataset). Sorted by temperature.
    """
    if not datasets:
        raise InputError("no INM results to tabulate")
    temps = np.array([float(d.attrs.get("temperature_K", math.nan)) for d in datasets])
    if not np.all(np.isfinite(temps)):
        raise InputError("every INM result needs its temperature (attrs temperature_K)")
    order = np.argsort(temps)
    diffusion = list(diffusion) if diffusion is not None else [None] * len(datasets)
    if len(diffusion) != len(datasets):
        raise InputError(f"{len(diffusion)} diffusion values for {len(datasets)} INM results")
    dv = np.array([(math.nan, math.nan) if x is None else (float(x[0]), float(x[1])) for x in diffusion])

    def col(name: str) -> np.ndarray:
        return np.array([float(datasets[i][name]) for i in order])

    def branch(name: str, b: str) -> np.ndarray:
        return np.array([float(datasets[i][name].sel(branch=b)) for i in order])

    dimless = {"units": units.DIMENSIONLESS}
    out = xr.Dataset(
        {
            "f_u": ("temperature", col("f_u_mean"), {**dimless, "long_name": "unstable-mode fraction"}),
            "f_u_err": ("temperature", col("f_u_err"), {**dimless, "long_name": "standard error over snapshots"}),
            "n_snapshots": ("temperature", [int(datasets[i].attrs["n_snapshots"]) for i in order], dimless),
            "D": ("temperature", dv[order, 0], {"units": units.DIFFUSION, "long_name": f"tracer D of {species}"}),
            "D_err": ("temperature", dv[order, 1], {"units": units.DIFFUSION}),
            "exponent_real": ("temperature", branch("exponent", "real"), dimless),
            "exponent_real_err": ("temperature", branch("exponent_err", "real"), dimless),
            "exponent_imaginary": ("temperature", branch("exponent", "imaginary"), dimless),
            "exponent_imaginary_err": ("temperature", branch("exponent_err", "imaginary"), dimless),
        },
        coords={"temperature": ("temperature", temps[order], {"units": units.TEMPERATURE})},
    )
    out.attrs.update(analysis="inm_vs_temperature", diffusing_species=species)
    return out
