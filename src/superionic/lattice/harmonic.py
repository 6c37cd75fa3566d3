"""Harmonic lattice dynamics of any ASE calculator with phonopy: relaxation, supercells, finite displacements,
force constants, and from them the Γ modes, DOS and partial DOS, dispersion, thermal properties and the
imaginary modes of an unstable cell (collected in a `HarmonicResult`, superionic.lattice.modes; written out by
superionic.lattice.phonon_dataset).

Conventions (docs/phonons.md):

* frequencies ν in THz; an imaginary frequency iν is stored as −ν (phonopy's convention);
* q in reduced coordinates of the reciprocal lattice of phonopy's primitive cell (no 2π); distances along
  the band path in 1/Å without 2π;
* total DOS g(ν) in 1/THz per primitive cell, ∫g dν = 3N (N atoms of the primitive cell: 3 per atom);
  partial DOS g_s(ν) per species with ∫g_s dν = 3N_s (N_s atoms of species s in the primitive cell), Σ_s g_s = g.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from ase import Atoms
from scipy.integrate import trapezoid

from ..errors import InputError
from ..materials.checks import reduced_formula
from .modes import IMAGINARY_THRESHOLD_THZ, HarmonicResult, _modes_below, _q_keys

#: the supercell is grown until each perpendicular width is at least this (Å), by default
MIN_SUPERCELL_LENGTH = 10.0
#: labels of special points as drawn (ASE spells Γ as G)
_LABELS = {"G": "Γ"}


# --------------------------------------------------------------------------- relaxation
def relax(
    atoms: Atoms,
    calculator: Any,
    fmax: float = 1e-3,
    cell: bool = False,
    steps: int = 2000,
    optimizer: str = "FIRE",
    logfile: str | None = None,
) -> tuple[Atoms, float]:
    """Relax positions (and the cell with `cell`, through ASE's FrechetCellFilter) to max |F| < `fmax` eV/Å.

    Returns (a relaxed copy without calculator, the residual max atomic force in eV/Å). The copy's
    ``info`` records ``relax_steps``, ``relax_converged`` and, with `cell`, ``relax_max_stress_eV_per_A3``.
    A relaxation that does not converge within `steps` is returned as it is (the residual force says so).
    """
    from ase.filters import FrechetCellFilter
    from ase.optimize import BFGS, FIRE

    if not (math.isfinite(fmax) and fmax > 0):
        raise InputError(f"fmax must be a positive number (eV/Å), got {fmax:g}")
    opts = {"FIRE": FIRE, "BFGS": BFGS}
    if optimizer not in opts:
        raise InputError(f"optimizer must be FIRE or BFGS, got {optimizer!r}")
    a = atoms.copy()
    a.calc = calculator
    target = FrechetCellFilter(a) if cell else a
    opt = opts[optimizer](target, logfile=logfile)
    converged = bool(opt.run(fmax=fmax, steps=steps))
    forces = a.get_forces()
    residual = float(np.linalg.norm(forces, axis=1).max())
    out = a.copy()
    out.calc = None
    out.info.update(relax_steps=int(opt.get_number_of_steps()), relax_converged=converged, relax_fmax=fmax)
    if cell:
        out.info["relax_max_stress_eV_per_A3"] = float(np.abs(a.get_stress()).max())
    return out, residual


# --------------------------------------------------------------------------- supercells
def auto_supercell(cell: np.ndarray, min_length: float = MIN_SUPERCELL_LENGTH) -> tuple[int, int, int]:
    """Smallest repetitions (n₁, n₂, n₃) of `cell` whose perpendicular widths are all ≥ `min_length` Å."""
    cell = np.asarray(cell, dtype=float)
    if not (math.isfinite(min_length) and min_length > 0):
        raise InputError(f"the minimum supercell length must be a positive number (Å), got {min_length:g}")
    volume = abs(np.linalg.det(cell))
    if volume <= 0:
        raise InputError("the cell has no volume: phonons need a periodic 3D cell")
    widths = [volume / np.linalg.norm(np.cross(cell[(i + 1) % 3], cell[(i + 2) % 3])) for i in range(3)]
    reps = tuple(max(1, math.ceil(min_length / w - 1e-9)) for w in widths)
    return reps[0], reps[1], reps[2]


def supercell_matrix(atoms: Atoms, supercell: Any = None, min_length: float = MIN_SUPERCELL_LENGTH) -> np.ndarray:
    """3×3 integer supercell matrix from None/'auto' (by `min_length`), n, (n₁, n₂, n₃) or a 3×3 matrix."""
    if supercell is None or (isinstance(supercell, str) and supercell == "auto"):
        return np.diag(auto_supercell(atoms.cell[:], min_length))
    bad = InputError(f"the supercell must be 'auto', n, (n1, n2, n3) or a 3×3 integer matrix, got {supercell!r}")
    try:
        m = np.asarray(supercell, dtype=float)
    except (TypeError, ValueError):
        raise bad from None
    if m.ndim == 0:
        m = np.full(3, m)
    if m.shape == (3,):
        m = np.diag(m)
    if m.shape != (3, 3) or not np.all(np.isfinite(m)) or np.any(m != np.round(m)):
        raise bad
    m = np.round(m).astype(int)
    if round(np.linalg.det(m)) < 1:
        raise InputError(f"the supercell matrix must have a positive determinant, got {m.tolist()}")
    return m


# --------------------------------------------------------------------------- phonopy plumbing
def _to_phonopy(atoms: Atoms):
    from phonopy.structure.atoms import PhonopyAtoms

    return PhonopyAtoms(
        symbols=atoms.get_chemical_symbols(),
        cell=np.asarray(atoms.cell[:], dtype=float),
        scaled_positions=atoms.get_scaled_positions(),
        masses=atoms.get_masses(),
    )


def _to_ase(cell) -> Atoms:
    return Atoms(
        symbols=list(cell.symbols),
        cell=np.asarray(cell.cell),
        scaled_positions=np.asarray(cell.scaled_positions),
        masses=np.asarray(cell.masses),
        pbc=True,
    )


def _forces(calculator: Any, atoms: Atoms) -> np.ndarray:
    atoms = atoms.copy()
    atoms.calc = calculator
    f = np.asarray(atoms.get_forces(), dtype=float)
    if not np.all(np.isfinite(f)):
        raise InputError("the potential returned non-finite forces for a displaced supercell")
    return f


def _formula(symbols: Sequence[str], order: Sequence[str]) -> tuple[str, int]:
    """(reduced formula, formula units) of `symbols`, species in the order of first appearance in `order`."""
    counts = {s: list(symbols).count(s) for s in dict.fromkeys([*order, *symbols]) if s in symbols}
    reduced = reduced_formula(counts)
    first = next(iter(counts))
    return "".join(f"{s}{n if n > 1 else ''}" for s, n in reduced.items()), counts[first] // reduced[first]


def _band_path(prim_cell: np.ndarray, npoints: int) -> tuple[list[np.ndarray], list[str], list[bool], str]:
    """Straight segments between ASE's special points of the primitive cell's Bravais lattice (seekpath-free):
    the q-points of each segment (reduced), the labels of the path ends, whether each segment joins the next,
    and the path as text ('ΓXWKΓLUWLK|UX': '|' marks a jump).
    """
    from ase.cell import Cell
    from ase.dft.kpoints import parse_path_string

    try:
        bp = Cell(prim_cell).bandpath(npoints=0)
        runs = parse_path_string(bp.path)
        special = {k: np.asarray(v, dtype=float) for k, v in bp.special_points.items()}
    except Exception:  # an unrecognised lattice: Γ to the zone-face centres along the reciprocal axes
        runs = [["G", "X", "G", "Y", "G", "Z"]]
        special = {
            "G": np.zeros(3),
            "X": np.array([0.5, 0, 0]),
            "Y": np.array([0, 0.5, 0]),
            "Z": np.array([0, 0, 0.5]),
        }
    rec = np.linalg.inv(prim_cell).T  # rows: reciprocal vectors without 2π
    lengths = [np.linalg.norm((special[b] - special[a]) @ rec) for run in runs for a, b in zip(run[:-1], run[1:])]
    step = max(sum(lengths) / max(npoints, 2), 1e-12)
    paths, labels, connections = [], [], []
    for run in runs:
        for i, (a, b) in enumerate(zip(run[:-1], run[1:])):
            n = max(3, int(round(np.linalg.norm((special[b] - special[a]) @ rec) / step)) + 1)
            paths.append(special[a] + np.linspace(0.0, 1.0, n)[:, None] * (special[b] - special[a]))
            if i == 0:
                labels.append(_LABELS.get(a, a))
            labels.append(_LABELS.get(b, b))
            connections.append(i < len(run) - 2)
    text = "|".join("".join(_LABELS.get(x, x) for x in run) for run in runs)
    return paths, labels, connections, text


def _thermal_arrays(tp) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(T, F kJ/mol, S J/K/mol, C_v J/K/mol) of phonopy's ThermalProperties (attribute names of phonopy ≥ 2.20)."""
    if getattr(tp, "heat_capacity", None) is not None:
        return (
            np.asarray(tp.temperatures, dtype=float),
            np.asarray(tp.free_energy, dtype=float),
            np.asarray(tp.entropy, dtype=float),
            np.asarray(tp.heat_capacity, dtype=float),
        )
    values = tp.thermal_properties  # older phonopy: (F, S, C_v) or (T, F, S, C_v)
    return (np.asarray(tp.temperatures, dtype=float), *(np.asarray(v, dtype=float) for v in values[-3:]))  # type: ignore[return-value]


def harmonic_phonons(
    atoms: Atoms,
    calculator: Any,
    supercell: Any = "auto",
    min_length: float = MIN_SUPERCELL_LENGTH,
    displacement: float = 0.01,
    symprec: float = 1e-5,
    primitive: Any = "auto",
    mesh: float | Sequence[int] = 60.0,
    temperatures: Sequence[float] | np.ndarray | None = None,
    band_points: int = 300,
    dos_sigma: float | None = 0.1,
    dos_pitch: float | None = None,
    threshold: float = IMAGINARY_THRESHOLD_THZ,
    progress: Callable[[int, int, float], None] | None = None,
    plusminus: bool | str = "auto",
) -> HarmonicResult:
    """Harmonic phonons of `atoms` (used as they are: relax them first, `relax`) with `calculator` by finite
    displacements (phonopy).

    supercell: 'auto' (each perpendicular width ≥ `min_length` Å), n, (n₁, n₂, n₃) or a 3×3 matrix of the
    given cell. displacement: Å. The residual forces of the undisplaced supercell are subtracted from those
    of the displaced ones; the force constants are symmetrised (acoustic sum rule, index permutation).
    mesh: Γ-centred q mesh for the DOS, partial DOS and thermal properties, as (n₁, n₂, n₃) or a length in Å
    (phonopy's rule). dos_sigma: Gaussian smearing of the DOS in THz (None: tetrahedron method); dos_pitch:
    its frequency step (default σ/4). temperatures: K (default 0 … 1000 K by 10 K). progress(i, n, seconds) after each
    displaced supercell. plusminus: phonopy's choice of ± displacements ("auto": −u too where symmetry does not
    give it, central differences; False: +u only, half the supercells for a low-symmetry cell, with an error
    linear in the displacement; True: always both). Modes with ν < −`threshold` THz at Γ, on the mesh or along the band path are
    collected in `imaginary_modes` and make the result `stable` False.
    """
    from phonopy import Phonopy

    t0 = time.perf_counter()
    if len(atoms) == 0 or not all(atoms.pbc):
        raise InputError("phonons need a periodic 3D structure with atoms")
    if not (math.isfinite(displacement) and 0 < displacement < 0.5):
        raise InputError(f"the displacement must be between 0 and 0.5 Å, got {displacement:g}")
    if not (math.isfinite(threshold) and threshold >= 0):
        raise InputError(f"the imaginary-mode threshold must be ≥ 0 THz, got {threshold:g}")
    smat = supercell_matrix(atoms, supercell, min_length)
    # Any: phonopy types its results as optional until they are run, and its API types vary between versions
    with warnings.catch_warnings():  # 'auto' is chosen here, not defaulted: phonopy's reminder does not apply
        warnings.filterwarnings("ignore", message=".*primitive_matrix defaulted.*")
        phonon: Any = Phonopy(_to_phonopy(atoms), supercell_matrix=smat, primitive_matrix=primitive, symprec=symprec)
    phonon.generate_displacements(distance=displacement, is_plusminus=plusminus)
    cells = phonon.supercells_with_displacements
    perfect = _to_ase(phonon.supercell)
    f0 = _forces(calculator, perfect)
    residual = float(np.linalg.norm(f0, axis=1).max())
    sets = []
    for i, sc in enumerate(cells):
        sets.append(_forces(calculator, _to_ase(sc)) - f0)
        if progress is not None:
            progress(i + 1, len(cells), time.perf_counter() - t0)
    phonon.forces = np.array(sets)
    phonon.produce_force_constants(show_drift=False)
    phonon.symmetrize_force_constants(show_drift=False)

    prim_symbols = list(phonon.primitive.symbols)
    n_prim = len(prim_symbols)
    formula, z = _formula(prim_symbols, atoms.get_chemical_symbols())
    notes = []
    if residual > 1e-2:
        notes.append(
            f"the undisplaced supercell carries forces up to {residual:.3g} eV/Å: it is not at a minimum of "
            "this potential (relax it first); the harmonic expansion is taken about this structure"
        )

    # Γ
    phonon.run_qpoints([[0.0, 0.0, 0.0]], with_eigenvectors=True)
    g_freq = np.asarray(phonon.qpoints.frequencies[0], dtype=float)
    g_vec = np.asarray(phonon.qpoints.eigenvectors[0])
    modes = _modes_below("gamma", [np.zeros(3)], g_freq[None, :], [g_vec], threshold, n_prim)

    # mesh: DOS, partial DOS, thermal properties
    phonon.run_mesh(mesh, with_eigenvectors=True, is_mesh_symmetry=False, is_gamma_center=True)
    mesh_obj = phonon.mesh
    m_freq = np.asarray(mesh_obj.frequencies, dtype=float)
    m_q = np.asarray(mesh_obj.qpoints, dtype=float)
    m_vec = mesh_obj.eigenvectors
    gamma_key = _q_keys(np.zeros(3))[0]
    not_gamma = [i for i, k in enumerate(_q_keys(m_q)) if k != gamma_key]
    modes += _modes_below("mesh", m_q[not_gamma], m_freq[not_gamma], m_vec[not_gamma], threshold, n_prim)
    fmin = min(float(m_freq.min()), 0.0)
    fmax = float(m_freq.max())
    if dos_sigma is not None and not (math.isfinite(dos_sigma) and dos_sigma > 0):
        raise InputError(f"the DOS smearing must be a positive number (THz) or None, got {dos_sigma:g}")
    pad = 5 * dos_sigma if dos_sigma else 0.02 * max(fmax - fmin, 1e-3)
    pitch = dos_pitch or (dos_sigma / 4 if dos_sigma else (fmax - fmin + 2 * pad) / 800)
    # Gaussian smearing (σ = dos_sigma) or the tetrahedron method (dos_sigma None; sampled at points, it misses
    # the weight of bands flatter than the pitch, e.g. the internal modes of PS4 units). The atom projections
    # sum to the total DOS (Σ_atoms |e|² = 1 for every mode), so the total is their sum.
    phonon.run_projected_dos(
        sigma=dos_sigma,
        freq_min=fmin - pad,
        freq_max=fmax + pad,
        freq_pitch=pitch,
        use_tetrahedron_method=dos_sigma is None,
    )
    nu = np.asarray(phonon.projected_dos.frequency_points, dtype=float)
    pd = np.asarray(phonon.projected_dos.projected_dos, dtype=float)
    pdos = {s: pd[[i for i, x in enumerate(prim_symbols) if x == s]].sum(axis=0) for s in dict.fromkeys(prim_symbols)}
    dos = pd.sum(axis=0)
    integral = float(trapezoid(dos, nu))
    if abs(integral / (3 * n_prim) - 1) > 0.01:
        notes.append(
            f"∫g dν = {integral:.4g} where 3N = {3 * n_prim}: the DOS grid misses weight (flat bands sampled by the "
            "tetrahedron method, or a pitch coarser than the smearing); use Gaussian smearing or a finer pitch"
        )
    T = np.arange(0.0, 1001.0, 10.0) if temperatures is None else np.asarray(temperatures, dtype=float)
    if T.size == 0 or np.any(~np.isfinite(T)) or np.any(T < 0):
        raise InputError("temperatures must be finite and ≥ 0 K")
    import inspect

    tp_options: dict[str, Any] = {}
    if "exclude_gamma_acoustic" in inspect.signature(phonon.run_thermal_properties).parameters:
        tp_options["exclude_gamma_acoustic"] = True  # the three zero modes at Γ, whatever their numerical sign
    else:  # phonopy < 2.3x: leave out the modes below 1e-3 THz (on a Γ-centred mesh: the acoustic ones at Γ)
        tp_options["cutoff_frequency"] = 1e-3
    phonon.run_thermal_properties(temperatures=T, **tp_options)
    T, F, S, CV = _thermal_arrays(phonon.thermal_properties)

    # band structure along the special points of the primitive cell's lattice
    prim_cell = np.asarray(phonon.primitive.cell, dtype=float)
    paths, labels, connections, path_text = _band_path(prim_cell, band_points)
    phonon.run_band_structure(paths, with_eigenvectors=False, path_connections=connections, labels=labels)
    bs = phonon.band_structure
    b_freq = np.concatenate([np.asarray(f, dtype=float) for f in bs.frequencies])
    b_q = np.concatenate([np.asarray(q, dtype=float) for q in bs.qpoints])
    b_dist = np.concatenate([np.asarray(d, dtype=float) for d in bs.distances])
    b_seg = np.concatenate([np.full(len(q), i) for i, q in enumerate(bs.qpoints)])
    ends = [float(bs.distances[0][0])]
    for i, d in enumerate(bs.distances):
        if i > 0 and not connections[i - 1]:
            ends.append(float(d[0]))  # a jump: the new start label sits at the same distance as the last end
        ends.append(float(d[-1]))
    label_dist = np.array(ends)
    seen = {gamma_key, *_q_keys(m_q)}  # Γ and the mesh were searched already
    new = [i for i, k in enumerate(_q_keys(b_q)) if k not in seen and b_freq[i].min() < -threshold]
    for start in range(0, len(new), 32):  # eigenvectors only where needed, a few q at a time (memory)
        chunk = new[start : start + 32]
        phonon.run_qpoints(b_q[chunk], with_eigenvectors=True)
        freqs = np.asarray(phonon.qpoints.frequencies, dtype=float)
        modes += _modes_below("path", b_q[chunk], freqs, phonon.qpoints.eigenvectors, threshold, n_prim)
    try:
        import spglib

        sg = spglib.get_spacegroup(
            (atoms.cell[:], atoms.get_scaled_positions(), atoms.numbers), symprec=max(symprec, 1e-5)
        )
    except Exception:  # pragma: no cover - spglib is a dependency
        sg = None
    if modes:
        notes.append(
            f"{len(modes)} imaginary modes (ν < −{threshold:g} THz): the structure is not a minimum of this "
            f"potential; the most unstable is {min(m.frequency_thz for m in modes):.3g} THz. C_v, S and F leave "
            "them out and are not those of a stable crystal"
        )
    return HarmonicResult(
        phonopy=phonon,
        atoms=atoms.copy(),
        supercell_matrix=smat,
        displacement=float(displacement),
        n_displacements=len(cells),
        primitive_symbols=prim_symbols,
        formula=formula,
        formula_units=z,
        gamma_frequencies_thz=g_freq,
        gamma_eigenvectors=g_vec.T.reshape(3 * n_prim, n_prim, 3),
        mesh=tuple(int(x) for x in mesh_obj.mesh_numbers),  # type: ignore[arg-type]
        dos_sigma=None if dos_sigma is None else float(dos_sigma),
        dos_frequency=nu,
        dos=dos,
        pdos=pdos,
        band_distance=b_dist,
        band_frequencies=b_freq,
        band_qpoints=b_q,
        band_segment=b_seg,
        band_labels=labels,
        band_path=path_text,
        band_label_distance=label_dist,
        temperatures=T,
        heat_capacity=CV,
        entropy=S,
        free_energy=F,
        imaginary_modes=sorted(modes, key=lambda m: m.frequency_thz),
        threshold_thz=float(threshold),
        max_residual_force=residual,
        mesh_min_frequency_thz=float(m_freq.min()),
        path_min_frequency_thz=float(b_freq.min()),
        spacegroup=str(sg),
        symprec=float(symprec),
        seconds=time.perf_counter() - t0,
        notes=notes,
    )
