"""Fit, compare and write distilled SNAP potentials.

`train_snap(frames, out_dir, name)` splits labelled configurations into train/validation/test, fits
every candidate family (linear / quadratic SNAP, with or without a ZBL core baseline, with or without
a fitted spline pair term, "+pair"; pair tables carry a repulsive wall below the closest approach of each
pair in the data, `snap.data_walls`), picks the ridge strength and energy weight on the validation set
(configurations weighted by 1/max(1, F_rms/median F_rms) so that strongly rattled cells do not dominate), measures held-out accuracy (energy RMSE
meV/atom, force RMSE eV/Å per species) and LAMMPS speed, chooses the fastest candidate that meets
the accuracy target (the most accurate within 1.25× of its time per step; else the most accurate), and writes a versioned potential:
``<name>-v<version>.snapcoeff``, ``.snapparam`` and ``<name>.lammps.json`` (LAMMPS lines + training
metadata: teacher, data, hyper-parameters, metrics, the candidate comparison). ML-POD families (``pod…``,
`pod.py`) are fitted by LAMMPS fitpod on the training + validation configurations over the same ZBL baseline
and scored on the same held-out configurations.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms

from ...errors import InputError
from ..lammps_potentials import LammpsPotential, LammpsSession
from .snap import (
    Design,
    SnapHyper,
    config_weights,
    data_walls,
    descriptors,
    normal_equations,
    pair_option,
    predict,
    solve,
    write_coeff,
    write_pair_table,
)

# element radii (Å, cutoff = rcutfac·2R) and density weights: anions and P weigh most, Li least
# (Li 0.3 / P 1.0 / S 1.0 / Cl 0.9 gave 0.13 vs 0.20 eV/Å held-out force RMSE against Li 0.4 / P 0.6 / S 1.0 /
# Cl 0.95 for Li6PS5Cl with CHGNet labels, quadratic-4+pair; docs/potentials.md)
DEFAULT_RADII = {
    "Li": 2.5,
    "P": 2.5,
    "S": 2.5,
    "Cl": 2.5,
    "Ge": 2.5,
    "Si": 2.5,
    "Sn": 2.5,
    "Br": 2.5,
    "I": 2.5,
    "O": 2.5,
}
DEFAULT_WEIGHTS = {
    "Li": 0.3,
    "P": 1.0,
    "S": 1.0,
    "Cl": 0.9,
    "Br": 0.97,
    "I": 0.99,
    "O": 0.9,
    "Ge": 0.65,
    "Si": 0.62,
    "Sn": 0.68,
}
V1_WEIGHTS = {"Li": 0.4, "P": 0.6, "S": 1.0, "Cl": 0.95}  # li6ps5cl-snap v1
#: candidates meeting the accuracy targets at most this factor slower per MD step than the fastest one compete on
#: accuracy (α-AgI: quadratic-4 at 5.37 ms/step and 0.106 eV/Å against quadratic-4+pair at 5.66 ms/step and 0.052)
SPEED_TOLERANCE = 1.25


INNER_SWITCH_A = 1.4  # Å, centre of '+inner': SNAP off below 1.2 Å, where the ZBL core (1.2–1.6 Å) is whole
INNER_SWITCH_WIDTH_A = 0.2  # Å, half width of the inner switch


def candidates(
    elements: Sequence[str],
    families: Sequence[str] = ("linear-6", "quadratic-4", "quadratic-4+pair"),
    zbl: tuple[float, float] | None = (1.2, 1.6),
    radius: float | None = None,
    weights: dict[str, float] | None = None,
) -> dict[str, SnapHyper]:
    """Named SNAP hyper-parameter sets: '<linear|quadratic>-<twojmax>[+pair][+chem][+inner]'.

    '+pair' adds a fitted pair term (cubic B-splines, `snap.pair_term`), '+chem' the explicit multi-element
    bispectrum (chemflag + bnormflag; many more parameters and slower), '+inner' (or '+inner<S Å>') switches every
    neighbour's SNAP contribution off between S + 0.2 Å and S − 0.2 Å (default S = INNER_SWITCH_A), so that inside
    the ZBL core only ZBL and the pair table act.
    """
    out = {}
    w = weights or DEFAULT_WEIGHTS
    for fam in families:
        base, *opts = fam.split("+")
        kind, _, j = base.partition("-")
        try:
            r_fam = [float(o[1:]) for o in opts if o.startswith("r")][-1:] or [None]
            pair = pair_option(opts)
            inner = [(float(o[5:] or INNER_SWITCH_A), INNER_SWITCH_WIDTH_A) for o in opts if o.startswith("inner")]
            bad = set(opts) - {"chem"} - {o for o in opts if o.startswith(("r", "pair", "inner"))}
        except ValueError:
            bad = {"?"}
        if kind not in ("linear", "quadratic") or not j.isdigit() or bad:
            raise InputError(
                f"unknown family {fam!r}: use linear-<2J> or quadratic-<2J>, optionally with "
                "+pair[<cutoff Å>], +chem, +inner[<S Å>] and +r<radius Å>, e.g. quadratic-4+pair or "
                "quadratic-6+pair6.0+r2.25 (SNAP); or pod, pod-<cutoff Å>, optionally +4body and +pair (ML-POD)"
            )
        r_el = r_fam[0] or radius
        out[fam] = SnapHyper(
            list(elements),
            [r_el or DEFAULT_RADII.get(e, 2.5) for e in elements],
            [w.get(e, 0.8) for e in elements],
            twojmax=int(j),
            quadratic=kind == "quadratic",
            zbl=zbl,
            chemflag="chem" in opts,
            bnormflag="chem" in opts,
            pair=pair,
            inner=inner[-1] if inner else None,
        )
    return out


def split_indices(
    frames: Sequence[Atoms], test_fraction: float = 0.2, val_fraction: float = 0.15, seed: int = 0
) -> np.ndarray:
    """'train'/'val'/'test' per frame; a frame with info['split'] keeps it."""
    rng = np.random.default_rng(seed)
    u = rng.random(len(frames))
    lab = np.where(u < test_fraction, "test", np.where(u < test_fraction + val_fraction, "val", "train"))
    for i, a in enumerate(frames):
        if a.info.get("split") in ("train", "val", "test"):
            lab[i] = a.info["split"]
    if not (lab == "train").any():
        raise InputError("no training configurations left after the split; give more data")
    return lab


def metrics(design: Design, beta: np.ndarray, mask: np.ndarray, elements: Sequence[str]) -> dict[str, Any]:
    """Energy RMSE (meV/atom), force RMSE (eV/Å, per component) overall and per species, force spread."""
    pe, pf = predict(design, beta)
    return scores(pe, pf, design, mask, elements)


def scores(pe: np.ndarray, pf: np.ndarray, design: Design, mask: np.ndarray, elements: Sequence[str]) -> dict[str, Any]:
    """`metrics` of predicted energies pe (per config, eV) and force components pf (eV/Å) against the labels of
    `design` (same frame and order), over the configurations in `mask`.
    """
    de = (pe - design.y_energy) / design.n_atoms
    rows = mask[design.force_config]
    df = (pf - design.y_force)[rows]
    out = {
        "n_configs": int(mask.sum()),
        "energy_rmse_meV_per_atom": float(1000 * np.sqrt(np.mean(de[mask] ** 2))),
        "force_rmse_eV_per_A": float(np.sqrt(np.mean(df**2))),
        "force_std_eV_per_A": float(np.std(design.y_force[rows])),
        "force_rmse_per_species_eV_per_A": {},
    }
    sp = design.force_species[rows]
    for t, el in enumerate(elements):
        if (sp == t).any():
            out["force_rmse_per_species_eV_per_A"][el] = float(np.sqrt(np.mean(df[sp == t] ** 2)))
    return out


def _select(
    design: Design,
    labels: np.ndarray,
    elements,
    grid_e=(10.0, 30.0, 100.0),
    grid_r=(1e-7, 1e-5, 1e-4, 3e-4, 1e-3),
    val_mask: np.ndarray | None = None,
    weighted: bool = True,
) -> tuple[np.ndarray, dict]:
    """Pick (energy_weight, ridge) by validation loss (force RMSE + energy RMSE in eV/atom × 10).

    val_mask: the validation configurations that score (default: all labelled 'val'). The normal
    equations are built once; each grid point is one linear solve.
    """
    tr, va = labels == "train", labels == "val"
    if val_mask is not None:
        va = va & val_mask
    if not va.any():
        va = tr
    w = config_weights(design) if weighted else None
    ne = normal_equations(design, tr, w)
    best = None
    for we in grid_e:
        for lam in grid_r:
            beta = solve(ne, energy_weight=we, ridge=lam)
            m = metrics(design, beta, va, elements)
            loss = m["force_rmse_eV_per_A"] + 10 * m["energy_rmse_meV_per_atom"] / 1000
            if best is None or loss < best[0]:
                best = (loss, we, lam)
    _, we, lam = best
    beta = solve(normal_equations(design, tr | (labels == "val"), w), energy_weight=we, ridge=lam)
    return beta, {"energy_weight": we, "ridge": lam, "config_weighting": weighted}


def speed(pot: LammpsPotential, atoms: Atoms, steps: int = 200, dt_fs: float = 2.0, threads: int = 1) -> float:
    """Wall seconds per NVE MD step of `pot` on `atoms` in LAMMPS (one rank, `threads` OpenMP threads)."""
    s = LammpsSession(atoms, pot, threads=threads)
    try:
        s.command("velocity all create 600 1 mom yes rot no dist gaussian")
        s.command(f"timestep {dt_fs / 1000}")
        s.command("fix nve all nve")
        s.command("run 10")
        t = time.perf_counter()
        s.command(f"run {steps} pre no post no")
        return (time.perf_counter() - t) / steps
    finally:
        s.close()


#: Langevin steps (2 fs) at the hottest training temperature a candidate must survive: ML-POD fits of β-Li3PS4
#: more accurate than SNAP on held-out data (0.088 against 0.137 eV/Å) lost atoms within 1000 steps at 900 K
STABILITY_STEPS = 2000


def stability(pot: LammpsPotential, atoms: Atoms, temperature: float, steps: int, seed: int = 7) -> str | None:
    """Run `steps` Langevin steps (2 fs, damping 100 fs) at `temperature` K in LAMMPS; None when the run stays
    sane, else why not (lost atoms, a pair inside a table's inner cutoff, T above 5× the target).
    """
    s = LammpsSession(atoms, pot)
    try:
        s.command(f"velocity all create {temperature!r} {seed} mom yes rot no dist gaussian")
        s.command("timestep 0.002")
        s.command(f"fix hot all langevin {temperature!r} {temperature!r} 0.1 {seed + 4}")
        s.command("fix nve all nve")
        done, chunk = 0, 250
        while done < steps:
            n = min(chunk, steps - done)
            try:
                s.command(f"run {n} pre no post no")
            except Exception as err:  # LAMMPS raises plain Exceptions
                if type(err) is not Exception:
                    raise
                return f"{temperature:g} K Langevin run failed within {done + n} steps: {str(err).splitlines()[0]}"
            done += n
            t = float(s.lmp.get_thermo("temp"))
            if not np.isfinite(t) or t > 5 * temperature:
                return f"{temperature:g} K Langevin run reached {t:.0f} K within {done} steps"
        return None
    finally:
        s.close()


def _scratch(folder: Path) -> Path:
    """`folder` created empty: a killed fit may have left it, with fitpod's scratch folders inside."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir()
    return folder


def _hash_frames(frames: Sequence[Atoms]) -> str:
    h = hashlib.sha256()
    for a in frames:
        h.update(np.ascontiguousarray(a.get_positions(), dtype=np.float64).tobytes())
        h.update(np.ascontiguousarray(a.get_forces(), dtype=np.float64).tobytes())
    return h.hexdigest()[:16]


def train_snap(
    frames: Sequence[Atoms],
    out_dir: str | Path,
    name: str,
    *,
    version: str = "1",
    families: Sequence[str] = ("linear-6", "quadratic-4", "quadratic-4+pair"),
    zbl: tuple[float, float] | None = (1.2, 1.6),
    radius: float | None = None,
    force_target: float = 0.08,
    energy_target: float = 5.0,
    test_fraction: float = 0.2,
    seed: int = 0,
    teacher: dict | None = None,
    speed_atoms: Atoms | None = None,
    val_max_temperature: float | None = None,
    weights: dict[str, float] | None = None,
    max_seconds_per_step: float | None = None,
    stability_steps: int = STABILITY_STEPS,
    log=print,
) -> dict[str, Any]:
    """Fit every candidate family, compare, write the chosen potential; returns the training record.

    val_max_temperature (K): only validation configurations at or below it (or without a temperature,
    e.g. strained cells) score the hyper-parameter choice; the family is chosen on 'test_operating', the
    teacher-MD test configurations at 0 < T ≤ val_max_temperature (the operating range). The test metrics
    are also given per teacher temperature and, with several materials (info['material']), per material.
    max_seconds_per_step: candidates slower than this on `speed_atoms` (LAMMPS MD, one core) are not chosen
    (e.g. the teacher's time per step / 30 for a ≥ 30× speed-up). stability_steps: Langevin MD steps of 2 fs at the
    hottest labelled temperature that every candidate must survive (`stability`; 0: only the short NVE run).
    """
    if len(frames) < 3:
        raise InputError(f"{len(frames)} labelled configurations are too few to train and test (need ≥ 3)")
    elements = list(dict.fromkeys(s for a in frames for s in a.get_chemical_symbols()))
    order = ["Li", "Na", "Ag", "P", "Ge", "Si", "Sn", "La", "Zr", "Y", "S", "O", "Cl", "Br", "I"]
    elements.sort(key=lambda e: order.index(e) if e in order else len(order))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    labels = split_indices(frames, test_fraction, seed=seed)
    speed_atoms = speed_atoms or frames[0]
    results: dict[str, Any] = {}
    fitted: dict[str, tuple[SnapHyper, np.ndarray]] = {}
    temps = np.array([float(a.info.get("temperature", 0.0)) for a in frames])
    materials = np.array([str(a.info.get("material", "")) for a in frames])
    val_mask = None if val_max_temperature is None else temps <= val_max_temperature
    t_hot = float(temps.max()) if temps.max() > 0 else 600.0  # the stability test's temperature, K
    from .pod import fit_pod, pod_candidates, write_pod
    from .pod import predict as pod_predict

    pods = pod_candidates(elements, families, zbl)
    cands: dict[str, Any] = {
        **candidates(elements, [f for f in families if f not in pods], zbl, radius, weights),
        **pods,
    }
    ranges = [h.pair[1] for h in cands.values() if getattr(h, "pair", None)] + [h.rcut for h in pods.values()]
    wall_cut = max(ranges, default=0.0)
    walls = data_walls(frames, elements, wall_cut) if wall_cut > 0 else {}
    layout: Design | None = None
    for fam, hyper in cands.items():
        wall_range = hyper.rcut if fam in pods else (hyper.pair[1] if hyper.pair else None)
        if wall_range is not None:
            hyper.walls = {k: v for k, v in walls.items() if v < wall_range}
        tmpdir = _scratch(out / f".candidate-{fam}")
        t0 = time.perf_counter()
        if fam in pods:
            layout = layout or label_layout(frames, elements)
            fit_on = [a for a, lab in zip(frames, labels) if lab != "test"]
            t1 = time.perf_counter()
            files = fit_pod(fit_on, hyper, tmpdir, f"{name}-v{version}")
            pot = write_pod(tmpdir, name, version, hyper, *files)
            t2 = time.perf_counter()
            pe, pf = pod_predict(pot, frames)
            design, n_params = layout, _pod_parameters(files[1]) + hyper.n_pair_params
            chosen = {"energy_weight": hyper.energy_weight, "regularization": hyper.regularization}
        else:
            design = descriptors(frames, hyper)
            t1 = time.perf_counter()
            beta, chosen = _select(design, labels, elements, val_mask=val_mask)
            t2 = time.perf_counter()
            pe, pf = predict(design, beta)
            n_params = int(beta.size)
            pot = _write(tmpdir, name, version, hyper, beta)

        def score(mask: np.ndarray, pe=pe, pf=pf, design=design) -> dict[str, Any]:
            return scores(pe, pf, design, mask, elements)

        test = labels == "test"
        m = score(test if test.any() else labels == "train")
        m_train = score(labels == "train")
        # operating range: teacher-MD configurations at 0 < T ≤ val_max_temperature (single points excluded)
        op = test & ((temps > 0) & (temps <= val_max_temperature) if val_max_temperature is not None else True)
        m_op = score(op if op.any() else test)
        by_t = {}
        for t in sorted(set(temps[test].tolist())):
            by_t[f"{t:g}"] = score(test & (temps == t))
        by_mat = {}
        if len(set(materials.tolist())) > 1:
            for mat in sorted(set(materials[op].tolist())):
                by_mat[mat] = score(op & (materials == mat))
        try:
            sps, stable = speed(pot, speed_atoms), True
        except Exception as err:  # LAMMPS raises plain Exceptions ("ERROR: Lost atoms" …)
            if type(err) is not Exception:
                raise
            sps, stable = float("nan"), False
            log(
                f"{fam:>12}: unstable — a short 600 K NVE test run failed ({str(err).splitlines()[0]}); "
                "more or more varied training data are needed"
            )
        unstable = stability(pot, speed_atoms, t_hot, stability_steps) if stable and stability_steps > 0 else None
        if unstable:
            stable = False
            log(f"{fam:>12}: unstable — {unstable}; not kept")
        results[fam] = {
            "test": m,
            "train": m_train,
            "test_operating": m_op,
            "test_by_temperature": by_t,
            **({"test_operating_by_material": by_mat} if by_mat else {}),
            "stable_in_md_test": stable,
            "stability_test": {"temperature_K": t_hot, "steps": stability_steps, "failure": unstable},
            "n_parameters": n_params,
            **chosen,
            "featurise_seconds": t1 - t0,
            "fit_seconds": t2 - t1,
            "seconds_per_step": sps,
            "speed_atoms": len(speed_atoms),
            "cutoff_A": hyper.cutoff,
        }
        if fam in pods:
            keep = _scratch(out / f".fitted-{fam}")  # the chosen candidate's files are copied from here
            fitted[fam] = (hyper, tuple(Path(keep / f.name) for f in files))
            for f in files:
                (keep / f.name).write_text(f.read_text())
        else:
            fitted[fam] = (hyper, beta)
        md_txt = (
            f" (teacher MD ≤ {val_max_temperature:g} K: F {m_op['force_rmse_eV_per_A']:.4f} eV/Å, E "
            f"{m_op['energy_rmse_meV_per_atom']:.2f} meV/atom)"
            if val_max_temperature is not None and op.any()
            else ""
        )
        log(
            f"{fam:>12}: F {m['force_rmse_eV_per_A']:.4f} eV/Å  E {m['energy_rmse_meV_per_atom']:.2f} meV/atom{md_txt}  "
            f"{sps * 1e3:.2f} ms/step ({len(speed_atoms)} atoms)  fit {t2 - t0:.1f} s"
        )
        shutil.rmtree(tmpdir)
    try:
        chosen, why = choose(
            results, force_target, energy_target, max_seconds_per_step, val_max_temperature, n_frames=len(frames)
        )
    except InputError:
        for fam in pods:  # nothing is written when no candidate is usable
            shutil.rmtree(out / f".fitted-{fam}", ignore_errors=True)
        raise
    hyper, params = fitted[chosen]
    record = {
        "name": name,
        "version": version,
        "family": ("ML-POD " if chosen in pods else "SNAP ") + chosen + (" + ZBL" if hyper.zbl else ""),
        "chosen_because": why,
        "elements": elements,
        "hyper": asdict(hyper),
        "teacher": teacher or {},
        "operating_max_temperature_K": val_max_temperature,
        "data": {
            "n_configs": len(frames),
            "n_train": int((labels == "train").sum()),
            "n_val": int((labels == "val").sum()),
            "n_test": int((labels == "test").sum()),
            "sha256_16": _hash_frames(frames),
            "sources": sorted({str(a.info.get("source", "?")) for a in frames}),
            "temperatures_K": sorted({float(a.info["temperature"]) for a in frames if "temperature" in a.info}),
        },
        "metrics": results[chosen],
        "comparison": results,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if chosen in pods:
        pot = write_pod(
            out,
            name,
            version,
            hyper,
            *params,
            source=f"superionic train-potential ({name}-v{version})",
            description=_description(record),
        )
        pot.to_json(out / f"{name}.lammps.json", training=record)
    else:
        pot = _write(out, name, version, hyper, params, record)
    for fam in pods:
        shutil.rmtree(out / f".fitted-{fam}")
    (out / f"{name}-v{version}.training.json").write_text(json.dumps(record, indent=2))
    record["potential_json"] = str(out / f"{name}.lammps.json")
    record["lammps"] = pot.commands()
    return record


def choose(
    results: dict[str, dict],
    force_target: float,
    energy_target: float,
    max_seconds_per_step: float | None = None,
    val_max_temperature: float | None = None,
    n_frames: int = 0,
) -> tuple[str, str]:
    """The candidate to keep and why: among the stable ones (not slower than max_seconds_per_step, s) meeting
    the targets (held-out operating-range F RMSE eV/Å, E RMSE meV/atom), the most accurate one within
    SPEED_TOLERANCE of the fastest one meeting them; if none meets them, the most accurate.
    """
    key = "test_operating"
    stable = [f for f, r in results.items() if r["stable_in_md_test"]]
    if not stable:
        raise InputError(
            "every candidate potential was unstable: it lost atoms in the short 600 K NVE speed test or "
            "failed the Langevin stability test at the hottest training temperature (atoms closer than the "
            f"data allow, or a temperature blow-up); the training data ({n_frames} configurations) are too few "
            "or too narrow: add MD snapshots over the temperature range and rattled cells"
        )
    fast = [f for f in stable if max_seconds_per_step is None or results[f]["seconds_per_step"] <= max_seconds_per_step]
    if not fast:
        fast = [min(stable, key=lambda f: results[f]["seconds_per_step"])]
    ok = [
        f
        for f in fast
        if results[f][key]["force_rmse_eV_per_A"] <= force_target
        and results[f][key]["energy_rmse_meV_per_atom"] <= energy_target
    ]
    rng_txt = "" if val_max_temperature is None else f" (test configurations ≤ {val_max_temperature:g} K)"
    spd_txt = "" if max_seconds_per_step is None else f", at most {max_seconds_per_step * 1e3:.1f} ms/step"
    if ok:
        # a few per cent of speed does not buy away a potential twice as accurate
        quickest = min(results[f]["seconds_per_step"] for f in ok)
        near = [f for f in ok if results[f]["seconds_per_step"] <= SPEED_TOLERANCE * quickest]
        chosen = min(near, key=lambda f: results[f][key]["force_rmse_eV_per_A"])
        return chosen, (
            f"most accurate candidate meeting F ≤ {force_target} eV/Å and E ≤ {energy_target} meV/atom{rng_txt}"
            f"{spd_txt} within {SPEED_TOLERANCE:g}× the time per step of the fastest one meeting them"
        )
    chosen = min(fast, key=lambda f: results[f][key]["force_rmse_eV_per_A"])
    return chosen, f"no candidate met the accuracy targets{rng_txt}: the most accurate one{spd_txt}"


def _description(record: dict) -> str:
    """One line for the potential's description: family, teacher and held-out accuracy."""
    op = "test_operating" in record["metrics"] and record.get("operating_max_temperature_K")
    m = record["metrics"]["test_operating" if op else "test"]
    return (
        f"{record['family']} distilled from {record['teacher'].get('name', 'labelled data')}; "
        f"held-out{f' MD (≤ {op:g} K)' if op else ''} F RMSE {m['force_rmse_eV_per_A']:.3f} eV/Å, "
        f"E RMSE {m['energy_rmse_meV_per_atom']:.1f} meV/atom"
    )


def label_layout(frames: Sequence[Atoms], elements: Sequence[str]) -> Design:
    """The labels of `frames` (energies, force components in the ASE frame, species and configuration of each
    row) as a `Design` without descriptor columns: the reference of `scores` for potentials fitted elsewhere.
    """
    idx = {e: k for k, e in enumerate(elements)}
    species = [np.repeat([idx[s] for s in a.get_chemical_symbols()], 3) for a in frames]
    return Design(
        np.zeros((len(frames), 0)),
        np.array([a.get_potential_energy() for a in frames]),
        np.array([len(a) for a in frames]),
        np.zeros((sum(3 * len(a) for a in frames), 0)),
        np.concatenate([np.asarray(a.get_forces()).ravel() for a in frames]),
        np.concatenate(species),
        np.concatenate([np.full(3 * len(a), k) for k, a in enumerate(frames)]),
    )


def _pod_parameters(coeff: Path) -> int:
    """Number of coefficients in a fitpod coefficient file (its first line: 'model_coefficients: N …')."""
    first = coeff.read_text().split("\n", 1)[0].split()
    return int(first[1]) if len(first) > 1 and first[1].isdigit() else -1


def _write(
    folder: Path, name: str, version: str, hyper: SnapHyper, beta: np.ndarray, record: dict | None = None
) -> LammpsPotential:
    stem = f"{name}-v{version}"
    write_coeff(folder / f"{stem}.snapcoeff", hyper, beta, comment=f"{name} v{version}")
    (folder / f"{stem}.snapparam").write_text(hyper.param_file())
    table = None
    if hyper.pair:
        table = f"{stem}.pairtable"
        write_pair_table(folder / table, hyper, beta)
    desc = _description(record) if record else ""
    pot = hyper.potential(
        name,
        f"{stem}.snapcoeff",
        f"{stem}.snapparam",
        directory=str(folder),
        table_file=table,
        source=f"superionic train-potential ({stem})",
        description=desc,
        version=version,
    )
    if record is not None:
        pot.to_json(folder / f"{name}.lammps.json", training=record)
    return pot
