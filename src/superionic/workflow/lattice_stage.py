"""The lattice stage of a study (`analyses: [..., lattice]`): harmonic phonons once per study, then per free run
the normal-mode decomposition, instantaneous normal modes, heat capacity and S_vib, and optionally κ(T).

Files under the study's ``analysis/`` (netCDF, ``units`` on every variable, written atomically):

    phonons.nc                 harmonic phonons of the material's relaxed unit cell (phonopy), with its force
                               constants (eV/Å²); reused while `LatticeConfig.phonons_key` is unchanged
    <run>_nmd.nc               NMD: per-mode ν₀, Γ (THz), overdamping verdict (superionic.lattice.nmd)
    <run>_acoustic.nc          host acoustic modes at the smallest |Q|: ν₀, Γ (THz), verdict
                               (superionic.lattice.acoustic_damping)
    <run>_inm.nc               INM density (1/THz, imaginary branch at ν < 0), f_u, low-ω law (superionic.lattice.inm)
    <run>_cv_md.nc             C_v and ⟨E⟩ of the run from its energy fluctuations (input of the next file)
    <run>_heat_capacity.nc     C_v per atom (k_B) by every route, S_vib harmonic and 2PT (superionic.lattice.heat_capacity)
    <run>.lattice.json         the run's cached items (key, summary entry, warnings, files; workflow.analysis_cache)
    <run>_kappa.nc             Green–Kubo κ, W/(m·K) (lattice.kappa only; heat-flux runs in kappa/<run>/)

`run_lattice_stage` returns the JSON-ready numbers that summary.json keeps under its top-level ``lattice`` key:
``phonons`` (once), ``runs`` (per free run: ``nmd``, ``acoustic``, ``inm``, ``heat_capacity``, ``kappa``),
``series`` (across temperatures: overdamped fraction per band and of the host's acoustic modes, f_u with D beside
it, κ) and ``units``. A failing item is recorded in `failed` ({label, stage: "lattice", reason}) and the rest goes
on; without `failed` the error propagates.
With a parallel `execution:` each free run's items are one Parsl task; a run whose items all succeeded is not
recomputed while its trajectory and settings are unchanged.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ..errors import InputError
from .config import StudyConfig, parse_supercell

Progress = Callable[[str, int, int, float], None]

#: units of the numbers in summary.json["lattice"]
UNITS = {
    "temperature": "K",
    "frequency": "THz",
    "linewidth": "THz (FWHM)",
    "fraction": "1",
    "f_u": "1",
    "exponent": "1",
    "cv": "k_B per atom",
    "S_vib": "k_B per atom",
    "kappa": "W/(m K)",
    "D": "cm2/s",
    "seconds": "s",
}

PHONONS_FILE = "phonons.nc"
#: energies of at most this many frames per run are evaluated where the run did not record them (LAMMPS runs)
MAX_ENERGY_FRAMES = 300


def run_lattice_stage(
    cfg: StudyConfig,
    runs: list,
    out: str | Path,
    failed: list | None = None,
    progress: Progress | None = None,
    results: dict | None = None,
    tasks=None,
) -> dict:
    """Phonons once, then NMD, INM, C_v/S_vib (and κ) of every free run; returns the summary's ``lattice`` dict.

    runs: the study's `Run`s (suppressed runs are skipped: their dynamics is not the material's); out: the study
    folder; results: the analysis stage's results (D of the mobile species is put beside f_u). progress(label,
    i, n, temperature K) after each step of the long parts. tasks: an open `execution.Tasks`: each free run's
    items are then one Parsl task (the phonons, C_v across temperatures and the series stay here). A run's items
    are reused from ``analysis/<label>.lattice.json`` while nothing that determines them changed
    (`analysis_cache.lattice_key`).
    """
    lc = cfg.lattice
    out = Path(out)
    adir = out / "analysis"
    adir.mkdir(parents=True, exist_ok=True)
    free = sorted((r for r in runs if r.protocol == "free"), key=lambda r: r.temperature)
    summary: dict[str, Any] = {"units": dict(UNITS), "runs": {}, "series": {}}

    def record(label: str, what: str, err: BaseException) -> None:
        if failed is None:
            raise err
        failed.append(_item_failure(label, what, err))

    phonons = phonopy_obj = None
    if lc.phonons or lc.nmd_reference == "phonons":
        try:
            phonons, phonopy_obj, info = study_phonons(cfg, adir, progress)
            summary["phonons"] = info
        except Exception as err:
            record("phonons", "harmonic phonons", err)
    phonons_file = adir / PHONONS_FILE if phonons is not None else None
    catch = failed is not None
    if tasks is not None and free:
        per_run = _lattice_tasks(cfg, free, out, phonons_file, catch, tasks, progress)
    else:
        per_run = {r.label: lattice_run(cfg, r, out, phonons_file, phonopy_obj, progress, catch) for r in free}
    entries: dict[str, dict] = {}
    md_cv: dict[str, xr.Dataset] = {}
    nmd_sets, inm_sets = [], []
    for run in free:
        item = per_run[run.label]
        entries[run.label] = item["entry"]
        if failed is not None:
            failed.extend(item["failures"])
        if item["nmd"] is not None:
            nmd_sets.append(item["nmd"])
        if item["inm"] is not None:
            inm_sets.append((run, item["inm"]))
        if item["md_cv"] is not None:
            md_cv[run.label] = item["md_cv"]
    if md_cv:
        _heat_capacity(cfg, [r for r in free if r.label in md_cv], md_cv, phonons, adir, entries, record)
    summary["runs"] = entries
    try:
        summary["series"] = _series(cfg, nmd_sets, inm_sets, entries, results or {})
    except Exception as err:
        record("series", "lattice series", err)
    return summary


def _item_failure(label: str, what: str, err: BaseException) -> dict:
    from .study import _failure

    row = _failure(label, "lattice", err)
    row["reason"] = f"{what}: {row['reason']}"
    return row


#: per-run lattice items: (entry key, file suffix of its dataset in analysis/)
_ITEM_FILES = {"nmd": "nmd", "acoustic": "acoustic", "inm": "inm", "md_cv": "cv_md"}


def lattice_run(
    cfg: StudyConfig,
    run,
    out: Path,
    phonons_file: Path | None,
    phonon: Any = None,
    progress: Progress | None = None,
    catch: bool = True,
) -> dict:
    """The lattice items of one free run: {entry, nmd, inm, md_cv (datasets or None), failures}.

    Reused from ``analysis/<label>.lattice.json`` when its key matches and every file is there; recorded there
    when every item succeeded. phonon: the Phonopy object of `phonons_file` (rebuilt from the file when None and
    the NMD needs it). With catch, a failing item is a row of `failures` and the others go on; else it raises.
    """
    from . import analysis_cache

    lc = cfg.lattice
    adir = Path(out) / "analysis"
    label = run.label
    key = analysis_cache.lattice_key(cfg, run, phonons_file)
    item: dict[str, Any] = {"entry": {"temperature_K": run.temperature}, "failures": []}
    item.update(dict.fromkeys(_ITEM_FILES))
    cached = analysis_cache.load_cached(adir, label, key, kind="lattice")
    if cached is not None:
        from .execution import reissue

        reissue([tuple(w) for w in cached["warnings"]])
        item["entry"] = cached["entry"]
        for name, suffix in _ITEM_FILES.items():
            f = adir / f"{label}_{suffix}.nc"
            if f.name in cached["files"]:
                item[name] = xr.load_dataset(f, engine="h5netcdf")
        if progress:
            progress(f"lattice {label} (reused)", 1, 1, run.temperature)
        return item

    def attempt(what: str, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except Exception as err:
            if not catch:
                raise
            item["failures"].append(_item_failure(label, what, err))
            return None

    entry = item["entry"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if lc.nmd:
            if phonon is None and phonons_file is not None and lc.nmd_reference == "phonons":
                phonon = phonopy_from_dataset(xr.load_dataset(phonons_file, engine="h5netcdf"))
            got = attempt("NMD", lambda: _nmd(cfg, run, adir, phonon, progress))
            if got is not None:
                item["nmd"], entry["nmd"] = got
        if lc.acoustic_damping:
            got = attempt("acoustic damping", lambda: _acoustic(cfg, run, adir))
            if got is not None:
                item["acoustic"], entry["acoustic"] = got
        if lc.inm_snapshots > 0:
            got = attempt("INM", lambda: _inm(cfg, run, adir, progress))
            if got is not None:
                item["inm"], entry["inm"] = got
        if lc.heat_capacity:
            item["md_cv"] = attempt("heat capacity", lambda: _md_heat_capacity(cfg, run, adir, progress))
        if lc.kappa:
            got = attempt("thermal conductivity", lambda: _kappa(cfg, run, Path(out), progress))
            if got is not None:
                entry["kappa"] = got
    from .execution import collect_warnings, reissue

    notes = collect_warnings(caught)
    reissue(notes)
    if not item["failures"]:
        files = [f"{label}_{suffix}.nc" for name, suffix in _ITEM_FILES.items() if item[name] is not None]
        if "kappa" in entry:
            files.append(f"{label}_kappa.nc")
        analysis_cache.store(adir, label, key, entry, notes, kind="lattice", files=files)
    return item


def _lattice_task(cfg: StudyConfig, run, out: Path, phonons_file: Path | None, catch: bool) -> dict:
    """`lattice_run` as a Parsl task (no progress; warnings recorded for `reissue`)."""
    from .execution import collect_warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        item = lattice_run(cfg, run, out, phonons_file, None, None, catch)
    item["warnings"] = collect_warnings(caught)
    return item


def _lattice_tasks(
    cfg: StudyConfig, free: list, out: Path, phonons_file: Path | None, catch: bool, tasks, progress
) -> dict[str, dict]:
    """Every free run's lattice items as one Parsl task each; progress counts the runs done."""
    from .execution import reissue

    futures = {tasks.submit(_lattice_task, cfg, run, out, phonons_file, catch): run for run in free}
    results: dict[str, dict] = {}
    done_count = [0]

    def done(fut, run, running: int) -> None:
        err = fut.exception()
        if err is not None:
            if not catch:
                raise err
            results[run.label] = {
                "entry": {"temperature_K": run.temperature},
                "failures": [_item_failure(run.label, "lattice task", err)],
                **dict.fromkeys(_ITEM_FILES),
            }
        else:
            results[run.label] = fut.result()
            reissue(results[run.label].pop("warnings", []))
        done_count[0] += 1
        if progress:
            progress(f"lattice tasks ({running} running)", done_count[0], len(free), run.temperature)

    tasks.wait(futures, done)
    return results


# --------------------------------------------------------------------------- phonons (once per study)
def study_phonons(cfg: StudyConfig, adir: Path, progress: Progress | None = None) -> tuple[xr.Dataset, Any, dict]:
    """The study's harmonic phonons: analysis/phonons.nc reused when its key (`LatticeConfig.phonons_key`) matches
    and it covers the study's temperatures, else computed (relax the material's unit cell, phonopy finite
    displacements) and written with the compact force constants (eV/Å²). Returns (dataset, Phonopy object with
    force constants, summary dict).
    """
    lc = cfg.lattice
    key = lc.phonons_key(cfg.material, cfg.potential)
    path = adir / PHONONS_FILE
    t_top = max(cfg.temperatures)
    from ..potentials import get_potential

    ds = _load_phonons(path, key, t_top, str(get_potential(cfg.potential).identity().get("source")))
    reused = ds is not None
    if ds is None:
        ds = _compute_phonons(cfg, key, t_top, progress)
        from ..results import save_dataset

        save_dataset(ds, path)
        ds = xr.load_dataset(path, engine="h5netcdf")
    elif progress:
        progress("phonons (reused)", 1, 1, 0.0)
    phonon = phonopy_from_dataset(ds)
    return ds, phonon, _phonons_summary(ds, reused)


def _load_phonons(path: Path, key: str, t_top: float, source: str) -> xr.Dataset | None:
    """The stored phonons when they are this study's: same key, force constants kept, temperatures covered, and
    the potential's recorded source unchanged (a registered name that now points at another parameter set).
    """
    if not path.exists():
        return None
    try:
        ds = xr.load_dataset(path, engine="h5netcdf")
    except Exception:
        return None
    try:
        recorded = json.loads(ds.attrs.get("potential", "{}")).get("source")
    except (TypeError, ValueError, AttributeError):
        recorded = None
    same = ds.attrs.get("lattice_key") == key and "force_constants" in ds and str(recorded) == source
    if not same or float(ds.temperature.max()) < t_top:
        return None
    return ds


def _compute_phonons(cfg: StudyConfig, key: str, t_top: float, progress: Progress | None) -> xr.Dataset:
    from ..lattice import harmonic_dataset, harmonic_phonons, relax
    from ..materials import build_material
    from ..potentials import get_potential

    lc = cfg.lattice
    spec = get_potential(cfg.potential)
    calc = spec.make()
    atoms = build_material(cfg.material)
    start = atoms.copy()
    if lc.rattle > 0:
        start.rattle(lc.rattle, seed=cfg.md.seed)
    relaxed, residual = relax(start, calc, fmax=lc.relax_fmax)
    if not relaxed.info.get("relax_converged", True):
        warnings.warn(
            f"phonons: the relaxation of {cfg.material} stopped at max |F| = {residual:.2g} eV/Å (target "
            f"{lc.relax_fmax:g} eV/Å); the harmonic expansion is taken about this structure",
            RuntimeWarning,
            stacklevel=2,
        )
    sc, min_length = parse_supercell(lc.phonons_supercell)
    kwargs: dict[str, Any] = {} if min_length is None else {"min_length": min_length}
    # 0 … ≥ 1000 K by 10 K, past the study's highest temperature
    temps = np.arange(0.0, max(1000.0, 10.0 * math.ceil(t_top / 10.0)) + 5.0, 10.0)
    cb = (lambda i, n, _s: progress("phonons: displacements", i, n, 0.0)) if progress else None
    result = harmonic_phonons(
        relaxed, calc, supercell=sc, displacement=lc.displacement, temperatures=temps, progress=cb, **kwargs
    )
    ds = harmonic_dataset(result)
    ph = result.phonopy
    fc = np.asarray(ph.force_constants, dtype=float)
    if fc.shape[0] != len(ph.primitive):  # full → compact: the rows of the primitive atoms
        fc = fc[np.asarray(ph.primitive.p2s_map, dtype=int)]
    ds["force_constants"] = (
        ("fc_atom", "fc_supercell_atom", "fc_alpha", "fc_beta"),
        fc,
        {
            "units": "eV angstrom-2",
            "long_name": "force constants Φ (compact: rows of the primitive atoms, phonopy's p2s order)",
        },
    )
    for dim in ("fc_atom", "fc_supercell_atom", "fc_alpha", "fc_beta"):
        ds.coords[dim] = (dim, np.arange(ds.sizes[dim]), {"units": "1"})
    ds.attrs.update(
        lattice_key=key,
        material=cfg.material,
        potential=spec.identity(),
        relax={
            "fmax_eV_per_A": lc.relax_fmax,
            "rattle_A": lc.rattle,
            "seed": cfg.md.seed if lc.rattle > 0 else None,
            "steps": relaxed.info.get("relax_steps"),
            "converged": bool(relaxed.info.get("relax_converged", True)),
            "max_force_eV_per_A": residual,
        },
        seconds=result.seconds,
    )
    return ds


def phonopy_from_dataset(ds: xr.Dataset) -> Any:
    """A Phonopy object with the force constants of a phonons file of this stage (unit cell, supercell matrix,
    symprec and compact force constants as stored); its primitive cell is checked against the stored one.
    """
    from phonopy import Phonopy
    from phonopy.structure.atoms import PhonopyAtoms

    unit = PhonopyAtoms(
        symbols=[str(s) for s in ds.unit_cell_symbol.values],
        positions=np.asarray(ds.unit_cell_positions.values, dtype=float),
        cell=np.asarray(ds.unit_cell.values, dtype=float),
    )
    smat = np.asarray(ds.attrs["supercell_matrix"], dtype=int).reshape(3, 3)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*primitive_matrix defaulted.*")
        phonon: Any = Phonopy(unit, supercell_matrix=smat, primitive_matrix="auto", symprec=float(ds.attrs["symprec"]))
    prim = np.asarray(phonon.primitive.cell, dtype=float)
    if prim.shape != ds.primitive_cell.shape or not np.allclose(prim, ds.primitive_cell.values, atol=1e-6):
        raise InputError("phonons.nc: phonopy finds another primitive cell than the stored one; delete the file")
    phonon.force_constants = np.asarray(ds.force_constants.values, dtype=float)
    return phonon


def _phonons_summary(ds: xr.Dataset, reused: bool) -> dict:
    g = np.asarray(ds.gamma_frequency.values, dtype=float)
    temps = ds.temperature.values
    at300 = {
        "cv_kB_per_atom": float(np.interp(300.0, temps, ds.cv.values)),
        "S_kB_per_atom": float(np.interp(300.0, temps, ds.entropy.values)),
    }
    n_super = int(round(abs(np.linalg.det(np.asarray(ds.attrs["supercell_matrix"], dtype=float).reshape(3, 3)))))
    return {
        "file": f"analysis/{PHONONS_FILE}",
        "reused": reused,
        "key": str(ds.attrs.get("lattice_key")),
        "formula": str(ds.attrs.get("formula")),
        "atoms_primitive": int(ds.attrs["atoms_primitive"]),
        "atoms_supercell": int(ds.attrs["atoms_unit_cell"]) * n_super,
        "supercell_matrix": [int(x) for x in np.asarray(ds.attrs["supercell_matrix"]).ravel()],
        "n_displacements": int(ds.attrs["n_displacements"]),
        "stable": bool(int(ds.attrs["stable"])),
        "n_imaginary_modes": int(ds.attrs["n_imaginary_modes"]),
        # share of the mesh's modes (q points × 3 atoms_primitive) that phonopy leaves out of C_v and S
        "imaginary_mode_share": int(ds.attrs["n_imaginary_modes"])
        / (int(np.prod(np.asarray(ds.attrs["mesh"]))) * 3 * int(ds.attrs["atoms_primitive"])),
        "lowest_imaginary_THz": float(ds.imaginary_frequency.min()) if ds.sizes["imaginary_mode"] else None,
        # the optical modes at Γ: all but the three closest to zero (the acoustic ones)
        "gamma_optical_min_THz": float(g[np.argsort(np.abs(g))[3:]].min()) if g.size > 3 else None,
        "gamma_max_THz": float(g.max()),
        "dos_integral": float(ds.attrs["dos_integral"]),
        "dos_integral_expected": int(ds.attrs["dos_integral_expected"]),
        "harmonic_300K": at300,
        "seconds": float(ds.attrs.get("seconds", float("nan"))),
    }


# --------------------------------------------------------------------------- per free run
def _nmd(cfg: StudyConfig, run, adir: Path, phonon: Any, progress: Progress | None) -> tuple[xr.Dataset, dict]:
    from ..lattice.nmd import mode_reference, nmd, nmd_summary, reference_from_frame
    from ..results import save_dataset
    from ..trajectory.blocks import open_trajectory

    lc = cfg.lattice
    label, temp = run.label, run.temperature

    def cb(stage: str, i: int, n: int) -> None:
        if progress:
            progress(f"NMD {label}: {stage}", i, n, temp)

    src = open_trajectory(run.path)
    try:
        src.require_velocities()
        if lc.nmd_reference == "phonons":
            if phonon is None:
                raise InputError("nmd_reference: phonons, but the study's phonons failed (see the phonons entry)")
            pos = src.read_positions(None, 0, 1)[0]
            ref = mode_reference(phonon, np.asarray(src.cells[0], dtype=float), pos, list(src.symbols))
            ref.source = f"analysis/{PHONONS_FILE} (the study's phonopy force constants); {ref.source}"
        else:
            ref = reference_from_frame(src, cfg.potential, frame=0, relax=True, progress=cb)
        ds = nmd(src, ref, segment_ps=lc.nmd_segment_ps, temperature=temp, follow_hops=lc.nmd_follow_hops, progress=cb)
    finally:
        src.close()
    ds.attrs.update(run=label, trajectory=str(run.path), reference=ref.source)
    save_dataset(ds, adir / f"{label}_nmd.nc")
    s = nmd_summary(ds, band_width=lc.band_width)
    s["reference"] = ref.source
    s["file"] = f"analysis/{label}_nmd.nc"
    return ds, s


def _acoustic(cfg: StudyConfig, run, adir: Path) -> tuple[xr.Dataset, dict]:
    from ..lattice.acoustic_damping import acoustic_damping, acoustic_damping_summary
    from ..results import save_dataset

    ds = acoustic_damping(
        run.path, mobile=(cfg.mobile_species,), n_shells=cfg.lattice.acoustic_shells, temperature=run.temperature
    )
    ds.attrs.update(run=run.label, trajectory=str(run.path))
    save_dataset(ds, adir / f"{run.label}_acoustic.nc")
    s = acoustic_damping_summary(ds)
    s["file"] = f"analysis/{run.label}_acoustic.nc"
    return ds, s


def _inm(cfg: StudyConfig, run, adir: Path, progress: Progress | None) -> tuple[xr.Dataset, dict]:
    from ..lattice.inm import inm
    from ..results import save_dataset

    label, temp = run.label, run.temperature
    cb = (lambda k, n, _s: progress(f"INM {label}: snapshots", k, n, temp)) if progress else None
    ds = inm(run.path, cfg.potential, n_snapshots=cfg.lattice.inm_snapshots, temperature=temp, progress=cb)
    ds.attrs["run"] = label
    save_dataset(ds, adir / f"{label}_inm.nc")

    def branch(name: str, b: str) -> float:
        return float(ds[name].sel(branch=b))

    return ds, {
        "n_snapshots": int(ds.attrs["n_snapshots"]),
        "n_modes": int(ds.attrs["n_modes"]),
        "method": str(ds.attrs.get("method")),
        "f_u": float(ds.f_u_mean),
        "f_u_err": float(ds.f_u_err),
        "exponent_real": branch("exponent", "real"),
        "exponent_real_err": branch("exponent_err", "real"),
        "exponent_imaginary": branch("exponent", "imaginary"),
        "exponent_imaginary_err": branch("exponent_err", "imaginary"),
        "window_THz": [float(x) for x in np.ravel(ds.attrs.get("slope_window_THz", [np.nan, np.nan]))],
        "unstable_weight": {str(s): float(w) for s, w in zip(ds.species.values, np.ravel(ds.unstable_weight.values))},
        "seconds": float(ds.attrs.get("seconds", float("nan"))),
        "file": f"analysis/{label}_inm.nc",
    }


def _md_heat_capacity(cfg: StudyConfig, run, adir: Path, progress: Progress | None = None) -> xr.Dataset:
    """C_v of one free run from its energy fluctuations (E_pot evaluated on ≤ MAX_ENERGY_FRAMES frames where the
    run did not record energies), kept in analysis/<run>_cv_md.nc for `lattice_run`'s cache.
    """
    from ..lattice.heat_capacity import heat_capacity_from_run
    from ..results import save_dataset
    from ..trajectory.blocks import open_trajectory

    src = open_trajectory(run.path)
    try:
        n = int(src.n_frames)
    finally:
        src.close()
    every = 1
    if not (run.path.parent / "thermo.csv").exists():
        every = max(1, math.ceil(n / MAX_ENERGY_FRAMES))
    cb = (lambda k, m: progress(f"C_v {run.label}: energies", k, m, run.temperature)) if progress else None
    ds = heat_capacity_from_run(run.path.parent, cfg.potential, temperature=run.temperature, every=every, progress=cb)
    save_dataset(ds, adir / f"{run.label}_cv_md.nc")
    return xr.load_dataset(adir / f"{run.label}_cv_md.nc", engine="h5netcdf")


def _heat_capacity(cfg, free, md_cv, phonons, adir, entries, record) -> None:
    """C_v by every route per free run (d⟨E⟩/dT across them), written to <run>_heat_capacity.nc."""
    from ..lattice.heat_capacity import cv_from_temperatures, heat_capacity_comparison
    from ..results import save_dataset

    dedt = None
    if len(free) >= 2:
        try:
            dedt = cv_from_temperatures(
                [r.temperature for r in free],
                [float(md_cv[r.label].e_mean) for r in free],
                [float(md_cv[r.label].e_mean_err) for r in free],
            )
        except Exception as err:
            record("series", "C_v = d⟨E⟩/dT", err)
    for run in free:
        try:
            vd = _run_vdos(cfg, run, adir)
            md = md_cv[run.label]
            ds = heat_capacity_comparison(run.temperature, md=md, dedt=dedt, phonons=phonons, vdos=vd)
            ds.attrs.update(
                run=run.label,
                n_atoms=int(md.attrs["n_atoms"]),
                kinetic_dof=int(md.attrs["kinetic_dof"]),
                energy_source=str(md.attrs.get("energy_source", "")),
                units_note="per atom in units of k_B; × to_J_per_mol_K for J/(K mol of atoms)",
            )
            save_dataset(ds, adir / f"{run.label}_heat_capacity.nc")
            row: dict[str, Any] = {str(k): float(ds[k]) for k in ds.data_vars if ds[k].dims == ()}
            if "fluidicity" in ds:
                row["fluidicity"] = {str(s): float(v) for s, v in zip(ds.species.values, ds.fluidicity.values)}
            row["n_atoms"] = int(md.attrs["n_atoms"])
            row["kinetic_dof"] = int(md.attrs["kinetic_dof"])
            row["file"] = f"analysis/{run.label}_heat_capacity.nc"
            entries[run.label]["heat_capacity"] = row
        except Exception as err:
            record(run.label, "heat capacity", err)


def _run_vdos(cfg: StudyConfig, run, adir: Path) -> xr.Dataset:
    """The run's VDOS: the analysis stage's file when it wrote one, else computed here."""
    p = adir / f"{run.label}_vdos.nc"
    if "vdos" in cfg.analyses and p.exists():
        return xr.load_dataset(p, engine="h5netcdf")
    from ..analysis.vdos import vdos_from_file

    return vdos_from_file(run.path)


def _kappa(cfg: StudyConfig, run, out: Path, progress: Progress | None) -> dict:
    """Green–Kubo κ at the run's temperature: `kappa_runs` NVE heat-flux runs of the study's cell (kept, and
    reused with the same settings, in kappa/<run>/), analysed into analysis/<run>_kappa.nc.
    """
    from ..lattice.green_kubo import kappa_summary
    from ..lattice.heat_flux import HeatFluxSettings
    from ..lattice.heat_transport import flux_runs, thermal_conductivity
    from ..materials import build_material

    lc = cfg.lattice
    label, temp = run.label, run.temperature
    atoms = build_material(cfg.material, cfg.supercell)
    settings = HeatFluxSettings(
        temperature=temp,
        dt=cfg.md.dt,
        equilibration_steps=lc.kappa_equilibration_steps,
        steps=lc.kappa_steps,
        sample_every=lc.kappa_sample_every,
        seed=cfg.md.seed + 1,  # LAMMPS seeds start at 1; run k uses seed + k
    )
    settings.validate()
    folder = out / "kappa" / label

    def cb(k: int, step: int, total: int, _t: float) -> None:
        if progress:
            progress(f"κ {label}: heat-flux run {k + 1}/{lc.kappa_runs}", step, total, temp)

    try:
        paths = flux_runs(
            atoms,
            cfg.potential,
            settings,
            folder,
            runs=lc.kappa_runs,
            progress=cb,
            metadata={"material": cfg.material, "supercell": cfg.supercell, "study": cfg.name},
        )
    except InputError as err:
        raise InputError(
            f"{err} (heat-flux runs of kappa/{label}; move that folder aside to run them afresh)"
        ) from None
    data = [xr.load_dataset(p, engine="h5netcdf") for p in paths]
    species = [str(s) for s in data[0]["species"].values]
    mobile = cfg.mobile_species
    dec = [mobile] if mobile in species and len(species) > 1 else None
    ds = thermal_conductivity(data, out / "analysis" / f"{label}_kappa.nc", decorrelate=dec)
    s = kappa_summary(ds)
    s["file"] = f"analysis/{label}_kappa.nc"
    s["flux_runs"] = f"kappa/{label}/"
    return s


# --------------------------------------------------------------------------- across temperatures
def _series(cfg: StudyConfig, nmd_sets: list, inm_sets: list, entries: dict, results: dict) -> dict:
    """The overdamped fraction per band against T, that of the host's acoustic modes, f_u(T) with D beside it, and
    κ(T).
    """
    series: dict[str, Any] = {}
    acoustic = sorted((e for e in entries.values() if e.get("acoustic")), key=lambda e: e["temperature_K"])
    if acoustic:
        series["acoustic_overdamped_fraction"] = [
            {
                "temperature_K": float(e["temperature_K"]),
                "fraction": e["acoustic"]["overdamped_fraction"],
                "fraction_err": e["acoustic"]["overdamped_fraction_err"],
                "undecided_fraction": e["acoustic"]["undecided_fraction"],
            }
            for e in acoustic
        ]
    if nmd_sets:
        from ..lattice.nmd import overdamped_fraction

        fr = overdamped_fraction(nmd_sets, band_width=cfg.lattice.band_width)
        series["overdamped_fraction"] = [
            {
                "temperature_K": float(fr.temperature.values[r]),
                "fraction": float(fr.fraction_all.values[r]),
                "fraction_err": float(fr.fraction_all_err.values[r]),
                "bands": [
                    {
                        "band_THz": [float(fr.band_low.values[b]), float(fr.band_high.values[b])],
                        "modes": int(fr.n_modes.values[r, b]),
                        "fraction": float(fr.fraction.values[r, b]),
                        "fraction_err": float(fr.fraction_err.values[r, b]),
                    }
                    for b in range(fr.sizes["band"])
                    if fr.n_modes.values[r, b] > 0
                ],
            }
            for r in range(fr.sizes["run"])
        ]
    if inm_sets:
        from ..lattice.inm import inm_vs_temperature
        from ..results import fit_value

        mobile = cfg.mobile_species
        dvals: list[tuple[float, float] | None] = []
        for run, _ in inm_sets:
            d = ((results.get(run.label) or {}).get("diffusion") or {}).get(mobile)
            dvals.append(fit_value(d) if d else None)
        table = inm_vs_temperature([ds for _, ds in inm_sets], dvals, mobile)
        series["inm"] = [
            {
                "temperature_K": float(t),
                "f_u": float(table.f_u.values[i]),
                "f_u_err": float(table.f_u_err.values[i]),
                f"D_{mobile}": float(table.D.values[i]),
                f"D_{mobile}_err": float(table.D_err.values[i]),
                "exponent_real": float(table.exponent_real.values[i]),
                "exponent_real_err": float(table.exponent_real_err.values[i]),
            }
            for i, t in enumerate(table.temperature.values)
        ]
    # κ(T): decorrelated from the mobile species' flux where it was (the κ of a conductor whose ions diffuse),
    # else the plain cepstral value
    kappa = []
    for e in entries.values():
        k = e.get("kappa")
        if not k:
            continue
        dec = "kappa_decorrelated" in k
        kappa.append(
            {
                "temperature_K": e["temperature_K"],
                "kappa": k["kappa_decorrelated" if dec else "kappa_cepstral"],
                "kappa_err": k["kappa_decorrelated_err" if dec else "kappa_cepstral_err"],
                "estimate": f"cepstral, decorrelated from {', '.join(k['decorrelated_from'])}" if dec else "cepstral",
            }
        )
    if kappa:
        series["kappa"] = kappa
    return series
