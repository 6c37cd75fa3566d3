"""Validate a distilled potential against its teacher in MD, and the gate that decides whether it is registered.

For each teacher trajectory (H5MD with velocities, from `sampling.teacher_md`) the student runs Langevin NVT on
the LAMMPS engine at the same temperature, with the teacher's friction (200 steps at 0.01/fs, then the teacher's
production friction: by default a study's, 0.001/fs), from the teacher's first frame. Compared:

- VDOS overlap per species, ∫min(g_s, g_t) dν with each g normalised to 1 and the same lag window, beside its
  noise ceiling (the teacher's first half against its second half; with more teacher runs, `repeats`, g_t is
  their mean and the ceiling is also the first run against the others, whichever is lower: `vdos_ceiling`), and
  both spectra's mean frequencies (`vdos_mean_frequency`: which way a low overlap leans);
- tracer D (cm²/s, GLS fit with σ) of the mobile species, the student's from windows as long as the teacher's
  run (`windowed_d`): a fit over a short run measures the MSD slope at short lags, and runs of different
  lengths do not estimate the same quantity where the motion is correlated over picoseconds (α-AgI at 500 K:
  5 ps windows gave 1.7 × 10⁻⁵ cm²/s, the same student's 20 ps run 0.68 × 10⁻⁵). With at least
  `MIN_WINDOWS_FOR_SCATTER` windows their spread also stands for the run-to-run scatter of the teacher's single
  run, whose GLS σ covers only the noise of its own MSD (α-AgI, 500 K, 108 atoms: 5 ps windows of one potential
  from 0.7 to 1.8 × 10⁻⁵ cm²/s, GLS σ about 0.1 × 10⁻⁵), and that of the mean of n teacher runs over √n; in the
  frozen host the student's runs from the host's start play the windows' part (`frozen_host_check`);
- the MSD (Å²) of every host species (not a mobile ion) at half the teacher run's length, the student's over
  windows as long as the teacher's run (`host_msd`; the gate judges the first window, which covers the same time
  from the same frame as the teacher's run): a host that flows in the student and not in the teacher leaves the
  mobile ions' D and the VDOS nearly unchanged. With more teacher runs at a temperature (`repeats`: other seeds,
  the same protocol) the teacher's value is their mean and their spread, the realisation scatter that one run's
  σ over atoms does not hold (CHGNet's β-Li3PS4 S at 900 K: 2.75 and 5.65 Å² in two 6 ps runs), is counted for
  both sides;
- the student's force RMSE (eV/Å) on configurations of its *own* MD, relabelled by the teacher: how it
  extrapolates to where it takes itself, which held-out teacher data cannot show; evenly spread snapshots, and
  separately the snapshots where each species pair came closest (a bond the student forms once, late in a run,
  weighs little among evenly spread snapshots);
- the closest approach (Å) of every species pair in both runs.

Every student run, the hottest included, must finish with no pair closer than its sanity bound
(`materials.checks.pair_bound`), unless the teacher's own MD at that temperature (any of its runs there) crossed
that bound too: then the teacher's forces where the student came closest decide. Where held-out data and the MD at that
temperature passed, student and teacher run in the teacher's frozen host at the lowest teacher temperature where the
mobile ions move (`frozen_host_check`): D_free/D_frozen divides by a D no free run shows. A potential that passes all of this then runs once more at the highest teacher
temperature, more times from the same start with other seeds (`stability_runs`, `Gate.stability_runs`: each must
finish), and once in a cell of production size (`production_run`, `Gate.production_ps` on `Gate.production_atoms`): the
teacher runs watch tens of picoseconds of a small cell, and rare framework events escape them. `gate_failures`
turns the card into the reasons a potential is refused.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ...carriers import MOBILE_IONS as MOBILE
from ...errors import InputError
from ...results import fit_value, mean_with_spread, nonnegative_fields, positive_text


@dataclass(frozen=True)
class Gate:
    """What a distilled potential must meet to be registered (units: eV/Å, overlap 0–1, σ)."""

    force_rmse: float = 0.15  # held-out teacher configurations (`held_out`)
    student_force_rmse: float = 0.30  # the student's own MD, relabelled by the teacher
    # every species, every temperature; where two halves of the teacher's own run overlap less (a species of few
    # atoms in a short run), that ceiling is the threshold: the student cannot be asked to match the teacher better
    # than the teacher matches itself
    vdos_overlap: float = 0.85
    d_sigmas: float = 2.0  # |D_student − D_teacher| ≤ d_sigmas · √(σ_s² + σ_t²)
    # the student at the highest teacher temperature in a cell of at least `production_atoms`, `production_ps` long
    # (0: not run): it must finish, keep every pair above its bound and meet `student_force_rmse` where each pair came
    # closest. 50 ps on 200 atoms: Li10GeP2S12 v6 passed every check above and exploded at 21.8 ps of such a run
    production_atoms: int = 200
    production_ps: float = 50.0
    # a host species' MSD at half the teacher run's length may differ from the teacher's by at most this factor
    # (either way) unless within d_sigmas σ: vibration amplitudes of a good student differ by tens of per cent, a
    # flowing host by several times (CHGNet's α-AgI iodide at 600 K: 1.8 Å² at 5 ps of a 5 ps run, 8.8 Å² at 10 ps
    # of a 25 ps run, where it flows)
    host_msd_ratio: float = 1.5
    # the teacher's run with every host atom frozen at its free run's last frame, at the lowest teacher temperature
    # where the mobile ions move (0: not run): the student's D of the mobile ions in the same static host must
    # agree within d_sigmas (`frozen_host_check`): a study's D_free/D_frozen, the seed's headline, divides by a D
    # that no free-run check sees
    frozen_host_ps: float = 10.0
    # teacher runs in that host (seeds seed, seed + 1, …): their spread is the teacher's run-to-run scatter, which one
    # run's GLS σ does not hold (CHGNet's Li in one frozen 52-atom LGPS host, 600 K, 10 ps: 0.26 ± 0.25, 1.34, 2.43,
    # 2.15 × 10⁻⁵ cm²/s); with fewer runs the student's run spread stands for it (`_d_failures`)
    frozen_host_runs: int = 1
    # the teacher temperature (K) of that check; None: the lowest where the mobile ions move. A higher one resolves
    # D better in 10 ps (Li6PS5Cl at 300 K moves ~1 Å² in a 52-atom cell) and reuses teacher runs made there
    frozen_host_temperature: float | None = None
    # more runs of the student at the highest teacher temperature, as long as its validation run, from the same
    # start with other seeds (0: none), once every other MD check passed: each must finish. One run that survives
    # says little: llzo-snap v7's last round passed its 12 ps run and its 50 ps production-size run at 750 K, and
    # in one of five more 12 ps runs its oxygens collapsed after 5 ps (docs/distillation.md)
    stability_runs: int = 2


def rdf(traj, a: str, b: str, r_max: float = 4.9, nbins: int = 60, every: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """g_ab(r) over every `every`-th frame: (bin centres Å, g) on 1 Å ≤ r ≤ r_max."""
    from ase.geometry import get_distances

    edges = np.linspace(1.0, r_max, nbins + 1)
    ia, ib = traj.indices(a), traj.indices(b)
    vol = abs(np.linalg.det(traj.cells[0]))
    shell = 4 / 3 * np.pi * (edges[1:] ** 3 - edges[:-1] ** 3)
    h = np.zeros(nbins)
    nf = 0
    for f in range(0, traj.n_frames, every):
        _, d = get_distances(traj.positions[f, ia], traj.positions[f, ib], cell=traj.cells[f], pbc=True)
        d = d.ravel()
        h += np.histogram(d[d > 1e-6], bins=edges)[0]
        nf += 1
    npairs_density = len(ia) * (len(ib) - (a == b)) / vol
    return 0.5 * (edges[1:] + edges[:-1]), h / (nf * npairs_density * shell)


def _spectra(t1, t2, species: Sequence[str], max_lag: int, repeats: Sequence) -> tuple[np.ndarray, dict]:
    """(ν THz, {species: (g1, g2)}) on t1's grid, both with the same lag window and clipped at zero (a windowed
    spectrum rings slightly below zero in its tails); g2 the mean over t2 and `repeats`.
    """
    from ...analysis.vdos import vdos

    lag = min(max_lag, *(t.n_frames // 2 for t in (t1, t2, *repeats)))
    g1 = vdos(t1, list(species), max_lag=lag)
    g2 = [vdos(t, list(species), max_lag=lag) for t in (t2, *repeats)]
    nu = g1["frequency"].values
    out = {}
    for s in species:
        a = np.clip(g1["g"].sel(species=s).values, 0.0, None)
        b = np.mean([np.interp(nu, g["frequency"].values, g["g"].sel(species=s).values) for g in g2], axis=0)
        out[s] = (a, np.clip(b, 0.0, None))
    return nu, out


VDOS_MAX_LAG = 400  # frames: the lag window of the student–teacher VDOS comparison


def _overlap(nu: np.ndarray, g: dict) -> dict[str, float]:
    """`vdos_overlap` of the spectra `_spectra` returned."""
    return {s: float(np.trapezoid(np.minimum(a, b), nu) / np.trapezoid(a, nu)) for s, (a, b) in g.items()}


def _mean_frequency(nu: np.ndarray, g: dict) -> dict[str, dict[str, float]]:
    """`vdos_mean_frequency` of the spectra `_spectra` returned."""
    return {
        s: {k: float(np.trapezoid(nu * x, nu) / np.trapezoid(x, nu)) for k, x in (("student", a), ("teacher", b))}
        for s, (a, b) in g.items()
    }


def vdos_overlap(
    t1, t2, species: Sequence[str], max_lag: int = VDOS_MAX_LAG, repeats: Sequence = ()
) -> dict[str, float]:
    """∫min(g1, g2)dν / ∫g1 dν per species, both VDOS with the same lag window (`max_lag` frames): different
    windows give different resolution and an overlap < 1 even for equal dynamics. repeats: more runs like `t2`
    (other seeds): g2 is then the mean of their VDOS and t2's, a reference with less noise than one run's.
    """
    return _overlap(*_spectra(t1, t2, species, max_lag, repeats))


def vdos_mean_frequency(
    t1, t2, species: Sequence[str], max_lag: int = VDOS_MAX_LAG, repeats: Sequence = ()
) -> dict[str, dict[str, float]]:
    """{species: {"student": ν̄1, "teacher": ν̄2}}, ν̄ = ∫ν g dν / ∫g dν (THz) of the spectra `vdos_overlap`
    compares: which way a low overlap leans (a student softer than its teacher has the lower ν̄).
    """
    return _mean_frequency(*_spectra(t1, t2, species, max_lag, repeats))


def vdos_ceiling(run: dict) -> dict[str, float]:
    """Per species, how well the teacher's VDOS matches itself in a card's MD entry: its first half against its
    second half and, with more teacher runs, its first run against the mean of the others (whichever is lower).
    """
    halves, runs = run["vdos_overlap_teacher_halves"], run.get("vdos_overlap_teacher_runs") or {}
    return {s: min(v, runs.get(s, np.inf)) for s, v in halves.items()}


def _raw_d(traj, species: Sequence[str]) -> dict[str, tuple[float, float, bool] | str]:
    """{species: (D, σ (cm²/s), diffusive)} of the GLS MSD fit, as fitted (negative allowed), or why there is no
    fit (a run too short).
    """
    from ...analysis.diffusion import diffusion
    from ...errors import InputError

    try:
        ds = diffusion(traj, list(species), per_axis=False)
    except InputError as err:
        return {s: str(err) for s in species}
    return {
        s: (float(ds.D.sel(species=s)), float(ds.D_err.sel(species=s)), bool(ds.fit_range_ok.sel(species=s)))
        for s in species
    }


def _d_entry(d: float, err: float, diffusive: bool, **extra: Any) -> dict[str, Any]:
    """A card's D entry: `results.nonnegative_fields` (D only when resolved and diffusive) plus "diffusive"."""
    return {**nonnegative_fields(d, err, regime_ok=diffusive), "diffusive": diffusive, **extra}


def tracer_d(traj, species: Sequence[str]) -> dict[str, dict[str, Any]]:
    """{species: D entry} from the GLS MSD fit (cm²/s): "D"/"D_err" only when resolved (D > 2σ) and diffusive,
    the fit under "D_fit"/"D_fit_err" otherwise (`results.nonnegative_fields`), and "diffusive"; a run too short
    to fit gives D None with "why".
    """
    return {
        s: _d_entry(*r) if isinstance(r, tuple) else {"D": None, "D_err": None, "diffusive": False, "why": r}
        for s, r in _raw_d(traj, species).items()
    }


def windowed_d(traj, species: Sequence[str], window: int) -> dict[str, dict[str, Any]]:
    """`tracer_d` over consecutive windows of `window` frames: per species the mean D with
    σ = max(√Σσ_k² / K, std(D_k)/√K) (K ≥ 2 windows; one window: its own fit), "diffusive" when every window is,
    and the windows' fitted D. The whole run's fit is kept under "full_run" for comparison.
    """
    k = max(1, traj.n_frames // max(1, window))
    if k == 1:
        return {s: {**v, "windows": [fit_value(v)[0]]} for s, v in tracer_d(traj, species).items()}
    parts = [_raw_d(traj.select_frames(i * window, (i + 1) * window), species) for i in range(k)]
    full = tracer_d(traj, species)
    return _combined_d(parts, species, "window", {s: {"full_run": full[s]} for s in species})


def teacher_d(teacher, species: Sequence[str], repeats: Sequence = ()) -> dict[str, dict[str, Any]]:
    """`tracer_d` of the teacher's run; with `repeats` (more runs at this temperature) the mean over all runs with
    σ = max(√Σσ_k² / n, std(D_k)/√n), "diffusive" when every run is, the runs' fitted D ("runs", "run_std") and
    the first run's own entry ("first_run").
    """
    first = tracer_d(teacher, species)
    if not repeats:
        return first
    parts = [_raw_d(r, species) for r in (teacher, *repeats)]
    return _combined_d(parts, species, "run", {s: {"first_run": first[s]} for s in species})


def _combined_d(parts: list, species: Sequence[str], what: str, extra: dict) -> dict[str, dict[str, Any]]:
    """Per species, the D entries of K pieces (`_raw_d` of windows or runs) combined: mean D, σ = max(√Σσ_k² / K,
    std(D_k)/√K), "diffusive" when every piece is, the pieces' D under "<what>s" and their spread under
    "<what>_std"; `extra[species]` is added to each entry.
    """
    k = len(parts)
    out: dict[str, dict[str, Any]] = {}
    for s in species:
        fits = [p[s] for p in parts if isinstance(p[s], tuple)]
        if len(fits) < k:
            pieces = [p[s][0] if isinstance(p[s], tuple) else None for p in parts]
            out[s] = {"D": None, "D_err": None, "diffusive": False, f"{what}s": pieces}
            continue
        d = np.array([f[0] for f in fits])
        mean, sigma = mean_with_spread(d, [f[1] for f in fits])
        out[s] = _d_entry(
            mean,
            sigma,
            all(f[2] for f in fits),
            **{f"{what}s": d.tolist(), f"{what}_std": float(d.std(ddof=1))},
            **extra.get(s, {}),
        )
    return out


#: windows of the student needed before their spread stands for the run-to-run scatter of one teacher run
MIN_WINDOWS_FOR_SCATTER = 4


def msd_at(traj, species: Sequence[str], lag: int) -> dict[str, tuple[float, float]]:
    """{species: (MSD, its standard error over the atoms)} in Å² at a lag of `lag` frames, averaged over every time
    origin, relative to the centre of mass of all atoms (a host's own drift is its motion; the mobile ions' mean
    displacement, which `analysis.diffusion.mobile_positions` removes, would add their noise to it).
    """
    from ...trajectory.unwrap import unwrap_positions

    r_all = unwrap_positions(traj.positions, traj.cells)
    w = traj.masses / traj.masses.sum()
    com = np.einsum("tai,a->ti", r_all, w)
    out = {}
    for s in species:
        r = r_all[:, traj.indices(s)] - (com - com[0])[:, None, :]
        per_atom = ((r[lag:] - r[:-lag]) ** 2).sum(axis=2).mean(axis=0)
        n = per_atom.size
        out[s] = (float(per_atom.mean()), float(per_atom.std(ddof=1) / np.sqrt(n)) if n > 1 else 0.0)
    return out


def teacher_closest_approach(teacher, repeats: Sequence = ()) -> dict[str, float]:
    """The closest approach (Å) of every species pair over all the teacher's runs at one temperature (every frame):
    what the teacher's own MD reached there, against which a student's pair below its bound is judged.
    """
    from ...md.stability import closest_approach

    out: dict[str, float] = {}
    for run in (teacher, *repeats):
        for k, d in closest_approach(run).items():
            out[k] = min(d, out.get(k, np.inf))
    return out


def host_msd(student, teacher, hosts: Sequence[str], repeats: Sequence = ()) -> dict[str, dict[str, Any]]:
    """Per host species, the MSD (Å²) at half the teacher run's length in the teacher's run and in the student's
    windows of the teacher run's length (`_frames_like`): "teacher_A2" ± "teacher_err_A2" (over atoms),
    "student_A2" ± "student_err_A2" (mean of the windows, σ = max(√Σσ_k²/K, std/√K)), "windows", "window_std_A2"
    (with ≥ `MIN_WINDOWS_FOR_SCATTER` windows, the run-to-run scatter of one teacher run), "lag_ps", and the first
    window's "first_A2" ± "first_err_A2" (over atoms): the student's run over the same time from the same frame as
    the teacher's, the one fair comparison where the host keeps changing (CHGNet's α-AgI iodide at 600 K: 3.3 Å² at
    5 ps in its first 10 ps, 4.9 in its next). Empty when the teacher run has fewer than 4 frames.
    With a teacher run of ≥ 20 frames, also both at a tenth of that lag ("short_lag_ps", "teacher_short_A2",
    "first_short_A2"): there the MSD is mostly the vibrations, and what it grows by up to "lag_ps" is slow motion (a
    host that creeps or flows), so a failure can say which of the two the student misses.

    repeats: more teacher runs at this temperature, of the same length and frame spacing: "teacher_A2" is then the
    mean of all runs ("teacher_runs_A2"), "teacher_realisation_std_A2" their spread (ddof 1) and "teacher_err_A2"
    the larger of the propagated σ over atoms and spread/√n.
    """
    for r in repeats:
        if r.n_frames != teacher.n_frames or abs(r.dt - teacher.dt) > 1e-9 * teacher.dt:
            raise InputError(
                f"a repeated teacher run must have the first one's length and frame spacing: {r.n_frames} frames "
                f"of {r.dt:g} fs against {teacher.n_frames} of {teacher.dt:g} fs"
            )
    lag_t = teacher.n_frames // 2
    window = _frames_like(student, teacher)
    lag_s = max(1, int(round(lag_t * teacher.dt / student.dt)))
    k = student.n_frames // window
    if lag_t < 2 or k < 1 or lag_s >= window or not hosts:
        return {}
    runs = [msd_at(r, hosts, lag_t) for r in (teacher, *repeats)]
    parts = [msd_at(student.select_frames(i * window, (i + 1) * window), hosts, lag_s) for i in range(k)]
    short_t = lag_t // 10
    if short_t >= 1:
        short_s = max(1, int(round(short_t * teacher.dt / student.dt)))
        short_runs = [msd_at(r, hosts, short_t) for r in (teacher, *repeats)]
        short_first = msd_at(student.select_frames(0, window), hosts, short_s)
    out = {}
    for s in hosts:
        v = np.array([p[s][0] for p in parts])
        e = np.array([p[s][1] for p in parts])
        std = float(v.std(ddof=1)) if k > 1 else 0.0
        tv = np.array([r[s][0] for r in runs])
        te = np.array([r[s][1] for r in runs])
        spread = float(tv.std(ddof=1)) if len(runs) > 1 else 0.0
        out[s] = {
            "lag_ps": float(lag_t * teacher.dt / 1000),
            "teacher_A2": float(tv.mean()),
            "teacher_err_A2": max(float(np.sqrt((te**2).sum()) / len(runs)), spread / np.sqrt(len(runs))),
            "student_A2": float(v.mean()),
            "student_err_A2": max(float(np.sqrt((e**2).sum()) / k), std / np.sqrt(k)),
            "windows": v.tolist(),
            "window_std_A2": std,
            "first_A2": float(v[0]),
            "first_err_A2": float(e[0]),
        }
        if short_t >= 1:
            out[s]["short_lag_ps"] = float(short_t * teacher.dt / 1000)
            out[s]["teacher_short_A2"] = float(np.mean([r[s][0] for r in short_runs]))
            out[s]["first_short_A2"] = short_first[s][0]
        if repeats:
            out[s]["teacher_runs_A2"] = tv.tolist()
            out[s]["teacher_realisation_std_A2"] = spread
    return out


def _relabel(student, frames: Sequence[int], teacher_calc, temperature: float, source: str = "student-md") -> list:
    """Frames of the student's own MD labelled by the teacher (energy eV, forces eV/Å; `source`, training split,
    `temperature` K).
    """
    from .sampling import labelled_copy

    out = []
    for f in frames:
        a = student.atoms_at(f)
        a.calc = teacher_calc
        out.append(
            labelled_copy(
                a, a.get_potential_energy(), a.get_forces(), source=source, temperature=temperature, split="train"
            )
        )
    return out


def _force_rmse(labelled: Sequence, pot) -> dict[str, Any]:
    """Force RMSE (eV/Å, per component) of the student `pot` against the labels, per species too, and its worst
    atom (eV/Å).
    """
    from ..lammps_potentials import LammpsCalculator

    mine = LammpsCalculator(pot)
    errors: dict[str, list[np.ndarray]] = {}
    for a in labelled:
        ft = a.get_forces()
        b = a.copy()
        b.calc = mine
        d = b.get_forces() - ft
        for s, row in zip(a.get_chemical_symbols(), d):
            errors.setdefault(s, []).append(row)
    every = np.concatenate([np.asarray(rows) for rows in errors.values()])
    return {
        "force_rmse_eV_per_A": float(np.sqrt((every**2).mean())),
        "force_rmse_per_species_eV_per_A": {s: float(np.sqrt((np.asarray(r) ** 2).mean())) for s, r in errors.items()},
        "frames": len(labelled),
        "worst_eV_per_A": float(np.linalg.norm(every, axis=1).max()),
    }


def compare_in_md(
    pot,
    teacher,
    teacher_calc,
    *,
    steps: int,
    mobile: Sequence[str] | None = None,
    relabel: int = 10,
    seed: int = 1,
    keep: list | None = None,
    repeats: Sequence = (),
) -> dict[str, Any]:
    """Student (LammpsPotential `pot`) against one teacher Trajectory at the teacher's temperature; see module doc.

    steps: student production steps of 2 fs. mobile: species whose D is compared (default: the mobile ions
    present). relabel: evenly spread snapshots of the student's MD relabelled by the teacher; the snapshots where
    each species pair came closest are relabelled too, and all of them are appended to `keep` if given.
    The student's failure (lost atoms, a tripped guard) is a result: {"failed": message}. repeats: more teacher
    runs at this temperature: they enter the teacher's D (`teacher_d`), its host MSD (`host_msd`) and its closest
    approaches (`teacher_closest_approach`), each with their spread.
    """
    from ...materials.checks import pair_bound
    from ...md import MDSettings
    from ...md.engine import run_md
    from ...md.stability import pair_minima
    from ...trajectory import read_h5md

    temp = float(teacher.metadata["temperature"])
    eq, gamma = _frictions(teacher)
    atoms = teacher.atoms_at(0)
    stride = max(1, int(round(teacher.dt / 2.0)))
    settings = MDSettings(
        temperature=temp,
        steps=steps,
        dt=2.0,
        stride=stride,
        equilibration_steps=200,
        seed=seed,
        friction=eq,
        production_friction=gamma,
    )
    with tempfile.TemporaryDirectory() as tmp:
        try:
            student = read_h5md(run_md(atoms, pot, settings, Path(tmp), engine="lammps"))
        except Exception as err:  # lost atoms, a tripped guard: the result of this check
            failed = {"temperature_K": temp, "failed": f"{type(err).__name__}: {str(err).splitlines()[0]}"}
            partial = Path(tmp) / "trajectory.h5"  # the frames written before it stopped
            return failed | _relabel_failed_run(
                read_h5md(partial) if partial.exists() else None, relabel, teacher_calc, temp, keep
            )
    species = list(dict.fromkeys(teacher.symbols))
    mobile = [s for s in (mobile or MOBILE) if s in species]
    hosts = [s for s in species if s not in mobile]
    half = teacher.n_frames // 2
    spectra = _spectra(student, teacher, species, VDOS_MAX_LAG, repeats)  # once for the overlap and the means
    # every frame: the extreme of a subsampled run is too high (t-Na3PS4 at 900 K, CHGNet: Na-Na 2.327 Å over every
    # 5th frame of 6 ps, 2.27 Å over all of them, across the bound of 2.324 Å)
    minima = pair_minima(student)  # one scan gives the whole run's extremes and its first window's
    closest = {k: (float(v.min()), int(v.argmin())) for k, v in minima.items()}
    closest_s, closest_t = {k: d for k, (d, _) in closest.items()}, teacher_closest_approach(teacher, repeats)
    n_first = min(student.n_frames, _frames_like(student, teacher))
    first_window = {k: float(v[:n_first].min()) for k, v in minima.items() if np.isfinite(v[:n_first].min())}
    too_close = {k: d for k, d in closest_s.items() if d < pair_bound(k.split("-")[0], k.split("-")[1])}
    spread = np.unique(np.linspace(0, student.n_frames - 1, relabel).round().astype(int)).tolist()
    extreme = sorted({f for _, f in closest.values()})
    frames = sorted({*spread, *extreme})
    labelled = dict(zip(frames, _relabel(student, frames, teacher_calc, temp)))
    if keep is not None:
        keep.extend(labelled.values())
    return {
        "temperature_K": temp,
        "friction_per_fs": gamma,
        "teacher_ps": float(teacher.n_frames * teacher.dt / 1000),
        "student_ps": float(student.n_frames * student.dt / 1000),
        "vdos_overlap": _overlap(*spectra),
        "vdos_mean_THz": _mean_frequency(*spectra),
        "vdos_overlap_teacher_halves": vdos_overlap(
            teacher.select_frames(0, half), teacher.select_frames(half, 2 * half), species, max_lag=half // 2
        ),
        # the teacher's first run against the mean of its others, with the lag window of the student's comparison
        "vdos_overlap_teacher_runs": (
            vdos_overlap(teacher, repeats[0], species, repeats=repeats[1:]) if repeats else None
        ),
        "D_window_ps": float(teacher.n_frames * teacher.dt / 1000),
        "D_student_cm2_s": windowed_d(student, mobile, _frames_like(student, teacher)),
        "D_teacher_cm2_s": teacher_d(teacher, mobile, repeats),
        "host_msd": host_msd(student, teacher, hosts, repeats),
        "teacher_runs": 1 + len(repeats),
        "student_md_force": _force_rmse([labelled[f] for f in spread], pot),
        # where the student brought each pair closest: held-out data and evenly spread snapshots miss a bond
        # it forms once, late in the run (Li10GeP2S12 at 900 K, docs/distillation.md)
        "student_closest_force": _force_rmse([labelled[f] for f in extreme], pot) if extreme else None,
        "closest_approach_student_A": closest_s,
        # the same over the student's first window as long as the teacher's run: the extreme of a 4× longer run
        # is lower by chance alone (informative; the bound applies to the whole run)
        "closest_approach_student_first_window_A": first_window,
        "closest_approach_teacher_A": closest_t,
        "too_close": too_close,
    }


def frozen_host_temperature(runs: Sequence[dict]) -> float | None:
    """The lowest temperature (K) of the `compare_in_md` records where the teacher's mobile ions move: an MSD slope
    (`fit_value`) above 2 σ, in the diffusive regime or not (a 6 ps CHGNet run of 52-atom Li6PS5Cl at 900 K gives
    D_fit 6 ± 2 × 10⁻⁵ cm²/s before its MSD is linear). None: nowhere.
    """
    moving = [
        float(r["temperature_K"])
        for r in runs
        if "failed" not in r and any(_resolved(d) for d in r["D_teacher_cm2_s"].values())
    ]
    return min(moving) if moving else None


def _resolved(d: dict) -> bool:
    """A D entry whose MSD slope (`fit_value`) is above 2 σ."""
    v, e = fit_value(d)
    return bool(np.isfinite(v) and np.isfinite(e) and v > 2 * e)


def frozen_host_check(
    pot,
    teacher,
    teacher_calc,
    teacher_identity: dict,
    folder: Path,
    *,
    ps: float,
    student_runs: int = 4,
    teacher_runs: int = 1,
    mobile: Sequence[str] | None = None,
    seed: int = 3,
    relabel: int = 10,
    keep: list | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Student and teacher with every host atom (not of a `mobile` species) frozen at the teacher Trajectory's last
    frame, at its temperature and frictions, the mobile ions starting there too (200 equilibration steps of 2 fs).

    The teacher runs `ps` picoseconds on the ASE engine (`teacher_calc`; `teacher_identity` is recorded) into
    ``folder/T<K>K-<host hash>``, kept and reused while its settings and host are unchanged (a killed run resumes);
    `teacher_runs` > 1 adds runs of seeds seed + 1, … in ``…-r1``, …, and the teacher's D is their mean with their
    spread (`teacher_d`). The student makes `student_runs` runs as long as the teacher's on the LAMMPS engine (seeds
    seed + 100, …), from the same start: the same time after the same start, since the mobile ions relax in a host
    frozen under them (`li6ps5cl-snap`, 600 K: consecutive 10 ps windows of one 40 ps run gave D 0.8, 1.3, 2.3, 2.2 ×
    10⁻⁵ cm²/s), and their D is combined as the teacher's. relabel: evenly spread frames of the student's first run
    labelled by the teacher, their force RMSE per species recorded ("student_md_force": whether the frozen host took
    the student where it is less accurate than in its free MD) and appended to `keep` if given (a refit's data).
    Returns {"temperature_K", "host", "teacher_ps", "student_ps", "D_window_ps", "D_teacher_cm2_s",
    "D_student_cm2_s", "teacher_run", "teacher_runs", "student_runs", "student_md_force"}, or {"temperature_K",
    "failed"} where a student run stopped.
    """
    import hashlib

    from ase import Atoms

    from ...md import MDSettings
    from ...md.engine import run_md
    from ...md.run import run_nvt
    from ...trajectory import read_h5md

    temp = float(teacher.metadata["temperature"])
    species = list(dict.fromkeys(teacher.symbols))
    mobile = [s for s in (mobile or MOBILE) if s in species]
    last = np.asarray(teacher.positions[-1], dtype=float)
    cell = np.asarray(teacher.cells[-1], dtype=float)
    atoms = Atoms(teacher.symbols, positions=last, cell=cell, pbc=True)
    eq, gamma = _frictions(teacher)
    steps = max(1, int(round(ps * 1000 / 2.0)))
    settings = MDSettings(
        temperature=temp,
        steps=steps,
        dt=2.0,
        stride=max(1, int(round(teacher.dt / 2.0))),
        equilibration_steps=200,
        seed=seed,
        friction=eq,
        production_friction=gamma,
        protocol="frozen-host",
        host_reference="snapshot",
        mobile=mobile,
    )
    host = {"mean": last, "last": last, "cell": cell, "symbols": list(teacher.symbols), "frames": 1}
    digest = hashlib.sha256(np.round(last, 4).tobytes() + np.round(cell, 4).tobytes()).hexdigest()[:10]
    run_dir = Path(folder) / f"T{temp:g}K-{digest}"
    runs = []
    for r in range(teacher_runs):
        where = run_dir if r == 0 else run_dir.with_name(f"{run_dir.name}-r{r}")
        log(f"frozen host at {temp:g} K: the teacher for {ps:g} ps ({where}) …")
        path = run_nvt(
            atoms,
            teacher_calc,
            replace(settings, seed=seed + r),
            where,
            potential=teacher_identity,
            resume=True,
            reference=host,
        )
        runs.append(read_h5md(path))
    t_frozen = runs[0]
    # the LAMMPS engine holds the host where the run starts when no reference run is named: the same snapshot
    log(f"frozen host at {temp:g} K: the student, {student_runs} runs of {ps:g} ps …")
    students = []
    for k in range(student_runs):
        student_settings = replace(settings, seed=seed + 100 + k, host_reference="mean")
        with tempfile.TemporaryDirectory() as tmp:
            try:
                students.append(read_h5md(run_md(atoms, pot, student_settings, Path(tmp), engine="lammps")))
            except Exception as err:  # lost atoms, a tripped guard: the result of this check
                return {"temperature_K": temp, "failed": f"{type(err).__name__}: {str(err).splitlines()[0]}"}
    first = students[0]
    frames = np.unique(np.linspace(0, first.n_frames - 1, relabel).round().astype(int)).tolist() if relabel else []
    labelled = _relabel(first, frames, teacher_calc, temp, source="student-md-frozen-host")
    if keep is not None:
        keep.extend(labelled)
    return {
        "temperature_K": temp,
        "host": "the teacher run's last frame, every atom but " + ", ".join(mobile) + " frozen",
        "teacher_ps": float(t_frozen.n_frames * t_frozen.dt / 1000),
        "student_ps": float(sum(t.n_frames * t.dt for t in students) / 1000),
        "D_window_ps": float(t_frozen.n_frames * t_frozen.dt / 1000),
        "D_teacher_cm2_s": teacher_d(t_frozen, mobile, runs[1:]),
        "D_student_cm2_s": teacher_d(students[0], mobile, students[1:]),
        "teacher_run": str(run_dir),
        "teacher_runs": len(runs),
        "student_runs": len(students),
        "student_md_force": _force_rmse(labelled, pot) if labelled else None,
    }


def _sane_frames(traj, frames: Sequence[int]) -> list[int]:
    """The `frames` of `traj` where no species pair is below its sanity bound (below it, the ZBL core rules)."""
    from ...materials.checks import pair_bound, pair_min_distances

    def sane(f: int) -> bool:
        return all(d >= pair_bound(*k) for k, d in pair_min_distances(traj.atoms_at(f)).items())

    return [f for f in frames if sane(f)]


def _relabel_failed_run(student, relabel: int, teacher_calc, temperature: float, keep: list | None) -> dict[str, Any]:
    """For a student run that stopped (`student`: the frames written before, or None): with `keep`, `relabel`
    evenly spread frames, those where each pair came closest and the last 3 (`_frames_to_relabel`) are relabelled
    by the teacher and appended to it: the approach to the failure is the data a refit needs. Returns
    {"student_ps", "relabelled_frames"}.
    """
    if student is None or student.n_frames == 0:
        return {"student_ps": 0.0, "relabelled_frames": 0}
    out = {"student_ps": float(student.n_frames * student.dt / 1000), "relabelled_frames": 0}
    if keep is None:
        return out
    frames = _frames_to_relabel(student, relabel, last=3)
    keep.extend(_relabel(student, frames, teacher_calc, temperature))
    return out | {"relabelled_frames": len(frames)}


def _frames_to_relabel(student, relabel: int, last: int = 0) -> list[int]:
    """Frames of a student's run worth the teacher's labels: `relabel` evenly spread ones, the one where each species
    pair came closest and the `last` ones, none where a pair is below its sanity bound (`_sane_frames`).
    """
    from ...md.stability import closest_approach_frames

    n = student.n_frames
    spread = np.linspace(0, n - 1, min(relabel, n)).round().astype(int).tolist()
    closest = [f for _, f in closest_approach_frames(student).values()]
    tail: list[int] = []  # the last sane frames, read backwards from the end
    for f in range(n - 1, -1, -1):
        if len(tail) == last:
            break
        tail.extend(_sane_frames(student, [f]))
    return sorted({*_sane_frames(student, sorted({*spread, *closest})), *tail})


def relabel_student_run(student, teacher_calc, relabel: int = 10, last: int = 3) -> list:
    """Frames of a student's run (a Trajectory, e.g. one that collapsed: its frames up to the stop), labelled by the
    teacher for a fit (source "student-run", training split, the run's `temperature` K): `relabel` evenly spread
    frames, the frame where each species pair came closest and the `last` frames, without those where a pair is
    below its sanity bound (`_frames_to_relabel`). The last sane frames before a collapse are its approach: where the
    student went and the teacher never did.
    """
    if "temperature" not in student.metadata:
        raise InputError(
            "a student run to relabel needs its temperature in its metadata (an H5MD from `superionic md`)"
        )
    frames = _frames_to_relabel(student, relabel, last)
    return _relabel(student, frames, teacher_calc, float(student.metadata["temperature"]), source="student-run")


def production_run(
    pot,
    atoms,
    teacher,
    teacher_calc,
    *,
    ps: float,
    seed: int = 2,
    keep: list | None = None,
    repeats: Sequence = (),
) -> dict[str, Any]:
    """The student (`pot`) for `ps` picoseconds at the temperature and friction of the teacher Trajectory `teacher`
    in the cell `atoms` (production size), through `md.stability.stability_check` (2 fs steps, a frame every
    100 fs). The snapshots where each species pair came closest are relabelled by the teacher ("closest_force", eV/Å;
    appended to `keep` if given, but not where a pair is below its bound); the teacher's closest approaches are those
    of all its runs at that temperature (`teacher` and its `repeats`), as in `compare_in_md`.
    """
    from ...md.stability import stability_check
    from ...trajectory import read_h5md

    temp = float(teacher.metadata["temperature"])
    eq, gamma = _frictions(teacher)
    with tempfile.TemporaryDirectory() as tmp:
        rep = stability_check(atoms, pot, temp, ps, friction=eq, production_friction=gamma, seed=seed, out_dir=tmp)
        path = Path(tmp) / "trajectory.h5"
        traj = read_h5md(path) if path.exists() else None
    frames = sorted(set(rep["closest_frame"].values())) if traj is not None else []
    labelled = dict(zip(frames, _relabel(traj, frames, teacher_calc, temp))) if frames else {}
    if keep is not None and labelled:  # for a refit: not where a pair is below its bound
        keep.extend(labelled[f] for f in _sane_frames(traj, frames))
    return {
        "temperature_K": temp,
        "n_atoms": len(atoms),
        "ps_target": float(ps),
        "ps": rep["ps"],
        "completed": rep["completed"],
        "failed": rep["failed"],
        "closest_approach_student_A": rep["closest_approach_A"],
        "closest_approach_teacher_A": teacher_closest_approach(teacher, repeats),
        "teacher_runs": 1 + len(repeats),
        "too_close": rep["too_close"],
        "closest_force": _force_rmse(list(labelled.values()), pot) if labelled else None,
        "seconds": rep["seconds"],
    }


def _frictions(teacher) -> tuple[float, float]:
    """(equilibration, production) Langevin friction (1/fs) of a teacher Trajectory, which the student copies;
    teacher runs made before the two differed ran at one friction throughout (0.01/fs if unrecorded).
    """
    gamma = float(teacher.metadata.get("friction_per_fs", 0.01))
    return float(teacher.metadata.get("equilibration_friction_per_fs", gamma)), gamma


def _frames_like(student, teacher) -> int:
    """Frames of `student` spanning the teacher run's duration."""
    return max(1, int(round(teacher.n_frames * teacher.dt / student.dt)))


def validate(
    pot,
    teachers: Sequence,
    teacher_calc,
    *,
    steps: int,
    training: dict,
    gate: Gate | None = None,
    mobile: Sequence[str] | None = None,
    relabel: int = 10,
    keep: list | None = None,
    production_cell=None,
    repeats: Sequence[Sequence] | None = None,
    frozen_host_dir: Path | None = None,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """The validation card: held-out metrics of `training` (a `train_snap` record), `compare_in_md` per teacher
    Trajectory, the gate and its verdict ("passed", and "failures": the reasons). relabel, keep: as in
    `compare_in_md` (the student's own snapshots, relabelled, for a refit). production_cell: ASE Atoms of production
    size; when given and every other criterion passes, `production_run` at the hottest teacher's temperature
    ("production"; a card without it was not checked there). repeats: per teacher run, more runs of its material at
    its temperature (other seeds, the same protocol), whose spread the host check counts (`host_msd`).
    frozen_host_dir: where the teacher's frozen-host runs are kept; when given and `gate.frozen_host_ps` > 0,
    `add_frozen_host` (its teacher run is reused by later rounds), before the production-size run.
    """
    gate = gate or Gate()
    more_runs = [list(r) for r in repeats] if repeats is not None else [[] for _ in teachers]
    if len(more_runs) != len(teachers):
        raise InputError(f"repeats: one list per teacher run ({len(teachers)}), got {len(more_runs)}")
    runs = []
    for t, more in zip(teachers, more_runs, strict=True):
        temp = float(t.metadata["temperature"])
        log(
            f"validating in MD at {temp:g} K ({steps} student steps"
            + (f"; {1 + len(more)} teacher runs" if more else "")
            + ") …"
        )
        runs.append(
            compare_in_md(pot, t, teacher_calc, steps=steps, mobile=mobile, relabel=relabel, keep=keep, repeats=more)
        )
    card = {
        "potential": pot.name,
        "version": pot.version,
        "family": training.get("family"),
        "teacher": training.get("teacher", {}),
        "held_out": held_out(training),
        "held_out_scope": held_out_scope(training),
        "held_out_all": training["metrics"]["test"],
        "held_out_single_points": training["metrics"].get("test_by_temperature", {}).get("0"),
        "md": runs,
        "gate": asdict(gate),
    }
    card["failures"] = gate_failures(card, gate)
    if frozen_host_dir is not None and gate.frozen_host_ps > 0:
        add_frozen_host(
            card, pot, teachers, teacher_calc, gate, frozen_host_dir, mobile=mobile, relabel=relabel, keep=keep, log=log
        )
    hot = max(range(len(teachers)), key=lambda k: float(teachers[k].metadata["temperature"]))
    hottest, hot_temp = teachers[hot], float(teachers[hot].metadata["temperature"])
    if gate.stability_runs > 0 and not card["failures"]:
        log(f"stability: {gate.stability_runs} more student runs at {hot_temp:g} K ({steps * 2e-3:g} ps each) …")
        card["stability"] = stability_runs(
            pot, hottest, steps=steps, runs=gate.stability_runs, teacher_calc=teacher_calc, relabel=relabel, keep=keep
        )
        card["failures"] = gate_failures(card, gate)
    if production_cell is not None and gate.production_ps > 0 and not card["failures"]:
        log(f"production-size run: {len(production_cell)} atoms at {hot_temp:g} K for {gate.production_ps:g} ps …")
        card["production"] = production_run(
            pot, production_cell, hottest, teacher_calc, ps=gate.production_ps, keep=keep, repeats=more_runs[hot]
        )
        card["failures"] = gate_failures(card, gate)
    card["passed"] = not card["failures"]
    return card


def stability_runs(
    pot,
    teacher,
    *,
    steps: int,
    runs: int,
    seed: int = 11,
    teacher_calc=None,
    relabel: int = 10,
    keep: list | None = None,
) -> list[dict[str, Any]]:
    """`runs` more runs of the student (`pot`), `steps` steps of 2 fs each, at the temperature and frictions of the
    teacher Trajectory `teacher` from its first frame, seeds seed, seed + 1, … (`md.stability.stability_check`):
    per run {"temperature_K", "seed", "ps_target", "ps", "completed", "failed", "closest_approach_student_A"}.
    Only whether each finished is judged (`gate_failures`): their closest approaches, over more sampling than the
    teacher's, are kept for the record and not compared with the teacher's. A run that stopped gives its approach to
    the failure to `keep` for a refit, relabelled by `teacher_calc` (`_relabel_failed_run`; "relabelled_frames").
    """
    from ...md.stability import stability_check
    from ...trajectory import read_h5md

    temp = float(teacher.metadata["temperature"])
    eq, gamma = _frictions(teacher)
    atoms, ps = teacher.atoms_at(0), steps * 2e-3  # 2 fs steps, as the validation run's
    out = []
    for k in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            rep = stability_check(
                atoms, pot, temp, ps, friction=eq, production_friction=gamma, seed=seed + k, out_dir=tmp
            )
            record = {
                "temperature_K": temp,
                "seed": seed + k,
                "ps_target": ps,
                "ps": rep["ps"],
                "completed": rep["completed"],
                "failed": rep["failed"],
                "closest_approach_student_A": rep["closest_approach_A"],
            }
            path = Path(tmp) / "trajectory.h5"
            if not rep["completed"] and teacher_calc is not None and path.exists():
                stopped = _relabel_failed_run(read_h5md(path), relabel, teacher_calc, temp, keep)
                record["relabelled_frames"] = stopped["relabelled_frames"]
        out.append(record)
    return out


def _stability_failures(runs: list[dict], temp: float) -> list[str]:
    """[the reason] when any of a card's `stability_runs` did not finish; else []."""
    failed = [r for r in runs if not r["completed"]]
    if not failed:
        return []
    each = "; ".join(f"seed {r['seed']} after {r['ps']:.1f} ps: {r['failed']}" for r in failed)
    return [
        f"at {temp:g} K {len(failed)} of {len(runs)} more student runs ({runs[0]['ps_target']:g} ps each, other "
        f"seeds) failed: {each}"
    ]


def frozen_host_at(card: dict, gate: Gate) -> float | None:
    """The temperature (K) of a card's frozen-host check: the gate's `frozen_host_temperature`, else the lowest where
    the teacher's mobile ions move (`frozen_host_temperature` of its MD records); None: nowhere.
    """
    if gate.frozen_host_temperature is not None:
        return float(gate.frozen_host_temperature)
    return frozen_host_temperature(card["md"])


def add_frozen_host(
    card: dict,
    pot,
    teachers: Sequence,
    teacher_calc,
    gate: Gate,
    folder: Path,
    *,
    mobile: Sequence[str] | None = None,
    relabel: int = 10,
    keep: list | None = None,
    log: Callable[[str], None] = print,
) -> None:
    """Add the frozen-host check to a validation `card` (in place: "frozen_host", "failures"): `frozen_host_check` at
    `gate.frozen_host_temperature` (default: `frozen_host_temperature` of its MD records), against the teacher
    Trajectory of `teachers` at that temperature, unless held-out data or the MD there already failed; {"skipped":
    why} where there is nothing to freeze or the teacher's mobile ions do not move there (then `teachers` may be
    empty). The teacher's identity is that of card["teacher"] (`_teacher_identity`). relabel, keep: as in
    `frozen_host_check`.
    """
    moving, where = frozen_host_temperature(card["md"]), frozen_host_at(card, gate)
    if gate.frozen_host_temperature is not None:
        ladder = [float(t.metadata["temperature"]) for t in teachers]
        if where not in ladder:
            raise InputError(f"the frozen-host check at {where:g} K: the teacher ran at {ladder} K only")
    failed_at = failures_by_temperature(card, gate)
    if None in failed_at or (where is not None and where in failed_at):
        return
    species = set(teachers[0].symbols) if teachers else set(pot.elements)
    if not species - set(mobile or MOBILE):
        card["frozen_host"] = {"skipped": "every species is mobile: no host to freeze"}
    elif moving is None:
        card["frozen_host"] = {
            "skipped": "the teacher's mobile ions move (MSD slope > 2 σ) at none of its temperatures"
        }
    elif where is None or where < moving:
        card["frozen_host"] = {"skipped": f"the teacher's mobile ions do not move (MSD slope ≤ 2 σ) at {where:g} K"}
    else:
        t = next(t for t in teachers if float(t.metadata["temperature"]) == where)
        identity = _teacher_identity(card.get("teacher") or {})
        card["frozen_host"] = frozen_host_check(
            pot,
            t,
            teacher_calc,
            identity,
            folder,
            ps=gate.frozen_host_ps,
            teacher_runs=gate.frozen_host_runs,
            mobile=mobile,
            relabel=relabel,
            keep=keep,
            log=log,
        )
        ratios = card_enhancement(card)
        if ratios is not None:
            card["frozen_host"]["enhancement"] = ratios
    card["failures"] = gate_failures(card, gate)


def _teacher_identity(teacher: dict) -> dict:
    """The registered identity of a card's teacher (what its frozen-host runs record and are reused by); the card's
    own fields for an unregistered one. Older cards describe CHGNet's version as '0.4.2 (CHGNet 0.3.0 weights)',
    newer ones as '0.4.2': one teacher, whose runs a re-validation and a distillation must share.
    """
    from ..registry import REGISTRY

    name = teacher.get("name")
    if name in REGISTRY:
        return REGISTRY[name].identity()
    keys = ("name", "engine", "source", "package", "version")
    return {k: v for k, v in teacher.items() if k in keys}


def card_enhancement(card: dict) -> dict[str, dict[str, float]] | None:
    """`enhancement` of a validation card: its frozen-host record over its free-run record at that temperature;
    None where either is missing or its MD failed.
    """
    fh = card.get("frozen_host") or {}
    if "D_student_cm2_s" not in fh:
        return None
    at = float(fh["temperature_K"])
    free = [r for r in card.get("md", []) if "D_student_cm2_s" in r and float(r["temperature_K"]) == at]
    return enhancement(free[0], fh) if free else None


def enhancement_text(e: dict[str, float]) -> str:
    """One species' `enhancement` entry as text: 'teacher r ± σ, student r ± σ' ('not resolved …' where σ > r/2)."""
    from ...results import resolved_text

    return (
        f"teacher {resolved_text(e['teacher'], e['teacher_err'])}, student "
        f"{resolved_text(e['student'], e['student_err'])}"
    )


def enhancement(free: dict, frozen: dict) -> dict[str, dict[str, float]]:
    """D_free/D_frozen of each mobile species as the teacher and the student give it (the seed's headline ratio, at
    the frozen-host check's temperature): D of the free runs (a `compare_in_md` record) over D in the frozen host (a
    `frozen_host_check` record), MSD slopes resolved or not, σ from both relative errors in quadrature. NaN where a
    D is not positive. Informative: the gate judges the two D, not their ratio.
    """
    out: dict[str, dict[str, float]] = {}
    for s in frozen["D_student_cm2_s"]:
        out[s] = {}
        for who in ("teacher", "student"):
            (a, sa), (b, sb) = fit_value(free[f"D_{who}_cm2_s"][s]), fit_value(frozen[f"D_{who}_cm2_s"][s])
            ok = a > 0 and b > 0
            out[s][who] = a / b if ok else float("nan")
            out[s][f"{who}_err"] = a / b * float(np.hypot(sa / a, sb / b)) if ok else float("nan")
    return out


def d_text(d: dict) -> str:
    """A `tracer_d` entry as text: 'D ± σ cm²/s', 'consistent with zero (< …)', flagged when not diffusive."""
    v, err = fit_value(d)
    if not np.isfinite(v):
        return "no fit"
    return positive_text(v, err, "cm²/s", digits=3) + ("" if d["diffusive"] else " (not diffusive)")


def _closer_pairs(run: dict, n: int = 3) -> str:
    """The `n` species pairs of a card's MD entry that the student brought furthest below the teacher's closest
    approach: 'S-S 2.02 Å (teacher 2.48 Å), …'.
    """
    s, t = run["closest_approach_student_A"], run.get("closest_approach_teacher_A", {})
    gaps = sorted((s[k] - t[k], k) for k in s if k in t)
    return ", ".join(f"{k} {s[k]:.2f} Å (teacher {t[k]:.2f} Å)" for _, k in gaps[:n]) or "none"


def held_out(training: dict) -> dict:
    """The held-out metrics the gate judges, from a `train_snap` record: with an operating range
    (operating_max_temperature_K), its teacher-MD test configurations ('test_operating'), where the student is used;
    the strained, rattled and close-contact single points teach the walls and are judged in MD (stability, the
    force RMSE where pairs come closest). Without one, the whole test set.
    """
    m = training["metrics"]
    return m["test_operating"] if training.get("operating_max_temperature_K") and "test_operating" in m else m["test"]


def held_out_scope(training: dict) -> str:
    """What `held_out` covers, in words."""
    t = training.get("operating_max_temperature_K")
    return f"teacher MD ≤ {t:g} K" if t and "test_operating" in training["metrics"] else "all test configurations"


def _ceiling_text(run: dict, s: str) -> str:
    """The teacher's own VDOS overlaps of species `s` in a card's MD entry, as the gate's reasons quote them."""
    runs = (run.get("vdos_overlap_teacher_runs") or {}).get(s)
    text = f"teacher halves: {run['vdos_overlap_teacher_halves'][s]:.3f}"
    return text if runs is None else f"{text}, teacher runs: {runs:.3f}"


def _mean_text(run: dict, s: str) -> str:
    """The mean VDOS frequencies of species `s` in a card's MD entry (absent from cards made before 2026-12-05)."""
    m = (run.get("vdos_mean_THz") or {}).get(s)
    return f"; mean frequency {m['student']:.2f} THz against the teacher's {m['teacher']:.2f}" if m else ""


def _below_bound_unlike_teacher(run: dict) -> dict[str, float]:
    """The pairs of a student run below their sanity bound where the teacher's own MD stayed above it.

    The bound (0.7 × the sum of covalent radii) is a floor for nonsense, not physics: where the teacher itself
    crossed it at that temperature (Na–Na in t-Na3PS4 at 900 K: teacher 2.321 Å, bound 2.324 Å), the student's
    approach is judged by the teacher's forces there (`student_closest_force`), not by the bound.
    """
    from ...materials.checks import pair_bound

    if not (run.get("student_closest_force") or run.get("closest_force")):
        return dict(run["too_close"])  # no teacher forces where it came closest: the bound decides
    teacher = run.get("closest_approach_teacher_A") or {}
    return {k: d for k, d in run["too_close"].items() if teacher.get(k, np.inf) >= pair_bound(*k.split("-"))}


def _first_window(run: dict, pair: str) -> str:
    """' (in its first 6 ps 2.31 Å, in the teacher's run of that length 2.327 Å)', where the card has both; with
    several teacher runs, the closest over all of them. Where the student ran longer than the teacher's runs together,
    says so: the extreme of a longer sampling is lower by chance alone, so unequal sampling cannot tell that from a
    heavier tail (LLZO v6 at 600 K was the latter; docs/distillation.md).
    """
    first = (run.get("closest_approach_student_first_window_A") or {}).get(pair)
    teacher = (run.get("closest_approach_teacher_A") or {}).get(pair)
    if first is None or teacher is None:
        return ""
    runs, each = int(run.get("teacher_runs", 1)), float(run["teacher_ps"])
    where = "in the teacher's run of that length" if runs == 1 else f"in the teacher's {runs} runs of that length"
    text = f" (in its first {each:g} ps {first:.2f} Å, {where} {teacher:.3f} Å"
    student = float(run.get("student_ps") or 0.0)  # absent from cards made before it was recorded
    if student > 1.01 * runs * each:
        text += (
            f"; the student's {student:g} ps against the teacher's {runs} × {each:g} ps: "
            f"{math.ceil(student / each - 0.01)} teacher runs per temperature sample as long"
        )
    return text + ")"


def gate_failures(card: dict, gate: Gate) -> list[str]:
    """Why the potential of a validation card fails `gate` (empty: it passes); each reason states its numbers."""
    return [reason for reasons in failures_by_temperature(card, gate).values() for reason in reasons]


def failures_by_temperature(card: dict, gate: Gate) -> dict[float | None, list[str]]:
    """`gate_failures` keyed by the temperature (K) of the MD where each was found; None: held-out data, which no
    temperature holds. Only temperatures with failures appear.
    """
    out: dict[float | None, list[str]] = {}
    f = card["held_out"]["force_rmse_eV_per_A"]
    if f > gate.force_rmse:
        scope = f" ({card['held_out_scope']})" if card.get("held_out_scope") else ""
        out[None] = [f"held-out force RMSE{scope} {f:.3f} eV/Å > {gate.force_rmse} eV/Å"]
    for r in card["md"]:
        reasons = _md_failures(r, gate)
        if reasons:
            out.setdefault(float(r["temperature_K"]), []).extend(reasons)
    # absent from cards made before it was measured; "skipped" where there was nothing to measure
    f = card.get("frozen_host") or {}
    if "temperature_K" in f:
        out.setdefault(float(f["temperature_K"]), []).extend(_frozen_host_failures(f, gate))
    runs = card.get("stability") or []
    if runs:
        t = float(runs[0]["temperature_K"])
        out.setdefault(t, []).extend(_stability_failures(runs, t))
    p = card.get("production") or {}
    if p:
        out.setdefault(float(p["temperature_K"]), []).extend(_production_failures(p, gate))
    return {t: r for t, r in out.items() if r}


def _md_failures(r: dict, gate: Gate) -> list[str]:
    """The reasons one `compare_in_md` record fails `gate`."""
    out = []
    t = f"{r['temperature_K']:g} K"
    if "failed" in r:
        return [f"student MD at {t} failed: {r['failed']}"]
    too_close = _below_bound_unlike_teacher(r)
    if too_close:
        pairs = ", ".join(f"{k} {d:.2f} Å{_first_window(r, k)}" for k, d in too_close.items())
        out.append(f"at {t} pairs come closer than their bound: {pairs}")
    fs = r["student_md_force"]["force_rmse_eV_per_A"]
    if fs > gate.student_force_rmse:
        out.append(f"force RMSE on the student's own MD at {t}: {fs:.3f} eV/Å > {gate.student_force_rmse} eV/Å")
    closest = r.get("student_closest_force")  # absent from cards made before it was measured
    if closest and closest["force_rmse_eV_per_A"] > gate.student_force_rmse:
        out.append(
            f"force RMSE at the closest approaches of the student's own MD at {t}: "
            f"{closest['force_rmse_eV_per_A']:.3f} eV/Å > {gate.student_force_rmse} eV/Å "
            f"(worst atom {closest['worst_eV_per_A']:.1f} eV/Å; closer than the teacher came: {_closer_pairs(r)})"
        )
    ceilings = vdos_ceiling(r)
    for s, v in r["vdos_overlap"].items():
        if v < min(gate.vdos_overlap, ceilings[s]):
            out.append(
                f"VDOS overlap of {s} at {t}: {v:.3f} < {gate.vdos_overlap} ({_ceiling_text(r, s)}{_mean_text(r, s)})"
            )
    # the student's D comes from windows as long as the teacher's run: their MSD slopes compare even where neither
    # is linear yet (LLZO's caged Li at 600 K in 3 ps: llzo-snap v7 round 2 at 0.02× CHGNet's slope had passed)
    out += _d_failures(r, gate, f"at {t}")
    for s, h in r.get("host_msd", {}).items():  # absent from cards made before it was measured
        out += _host_msd_failure(s, h, t, gate)
    return out


def _d_failures(r: dict, gate: Gate, where: str, notes: dict[str, str] | None = None) -> list[str]:
    """The mobile species whose student D ("D_student_cm2_s" of record `r`) differs from the teacher's by more than
    `gate.d_sigmas` σ, as reasons ('D of Li {where}: …', then `notes` of that species). Compared where either run is
    diffusive or either MSD slope is resolved (`_resolved`): both measured over the same time (the student's windows
    of the teacher's run length; the frozen host's 10 ps), their slopes compare even before the MSD is linear.
    """
    out = []
    for s, ds in r["D_student_cm2_s"].items():
        dt = r["D_teacher_cm2_s"][s]
        (d_s, e_s), (d_t, e_t) = fit_value(ds), fit_value(dt)
        moving = ds.get("diffusive") or dt.get("diffusive") or _resolved(ds) or _resolved(dt)
        if not np.isfinite(d_s) or not np.isfinite(d_t) or not moving:
            continue  # no fit, or a vibrating species in both runs: nothing to compare
        # one teacher run of this length scatters from run to run by about the spread of the student's windows of
        # the same length, or of its runs from the same start in a frozen host (the teacher's GLS σ covers the noise
        # of its own MSD only: CHGNet's Li in one frozen LGPS host gave 0.26 ± 0.25 and 1.34 ± 0.28 × 10⁻⁵ cm²/s
        # with two seeds); the mean of n teacher runs scatters by that over √n
        pieces, spread = (
            (ds.get("windows"), ds.get("window_std")) if "windows" in ds else (ds.get("runs"), ds.get("run_std"))
        )
        enough = pieces is not None and len(pieces) >= MIN_WINDOWS_FOR_SCATTER and spread is not None
        scatter = float(spread) / np.sqrt(max(1, int(r.get("teacher_runs") or 1))) if enough else 0.0
        diff, sig = abs(d_s - d_t), float(np.hypot(e_s, max(e_t, scatter)))
        if diff > gate.d_sigmas * sig:
            ratio = f"{d_s / d_t:.2f}×; " if d_t > 0 else ""
            out.append(
                f"D of {s} {where}: student {d_text(ds)} vs teacher {d_text(dt)} "
                f"({ratio}differ by {diff / sig:.1f} σ > {gate.d_sigmas:g} σ){(notes or {}).get(s, '')}"
            )
    return out


FROZEN_HOST_RUNS_TO_CONFIRM = 4  # teacher runs in a frozen host below which a failure suggests more


def _frozen_host_failures(f: dict, gate: Gate) -> list[str]:
    """The reasons one `frozen_host_check` record fails `gate`."""
    where = f"in the teacher's frozen host at {f['temperature_K']:g} K"
    if "failed" in f:
        return [f"student MD {where} failed: {f['failed']}"]
    # the force error on the mobile ions there tells a landscape the data never showed from a subtle one
    per = (f.get("student_md_force") or {}).get("force_rmse_per_species_eV_per_A", {})
    n = int(f.get("teacher_runs", 1))
    notes = {}
    for s in f["D_student_cm2_s"]:
        parts = [f"its {s} force RMSE there {per[s]:.3f} eV/Å"] if s in per else []
        if n < FROZEN_HOST_RUNS_TO_CONFIRM:
            # one frozen host's teacher D scatters by 2.3× between seeds (CHGNet, Li6PS5Cl, 600 K, 10 ps):
            # li6ps5cl-snap v3 failed at 2.1 σ against two teacher runs and passed at 1.3 σ against four
            parts.append(
                f"{n} teacher run{'s' if n > 1 else ''}: --frozen-host-runs {FROZEN_HOST_RUNS_TO_CONFIRM} tells a "
                "failure from the teacher's scatter"
            )
        notes[s] = f" ({'; '.join(parts)})" if parts else ""
    return _d_failures(f, gate, where, notes=notes)


def _production_failures(p: dict, gate: Gate) -> list[str]:
    """The reasons one `production_run` record fails `gate`."""
    out = []
    where = f"the production-size run ({p['n_atoms']} atoms, {p['temperature_K']:g} K)"
    if not p["completed"]:
        out.append(f"{where} failed after {p['ps']:.1f} of {p['ps_target']:g} ps: {p['failed']}")
    too_close = _below_bound_unlike_teacher(p)
    if too_close:
        pairs = ", ".join(f"{k} {d:.2f} Å" for k, d in too_close.items())
        out.append(f"in {where} pairs come closer than their bound: {pairs}")
    c = p["closest_force"]
    if c and c["force_rmse_eV_per_A"] > gate.student_force_rmse:
        out.append(
            f"force RMSE at the closest approaches of {where}: {c['force_rmse_eV_per_A']:.3f} eV/Å > "
            f"{gate.student_force_rmse} eV/Å (worst atom {c['worst_eV_per_A']:.1f} eV/Å; closer than the teacher "
            f"came: {_closer_pairs(p)})"
        )
    return out


def _host_msd_failure(species: str, h: dict, where: str, gate: Gate) -> list[str]:
    """[the reason] when a host's MSD in the student's first window (a `host_msd` entry: the same time from the same
    frame as the teacher's run) is more than `gate.host_msd_ratio` times off the teacher's (either way) and more than
    `gate.d_sigmas` σ from it (σ over atoms, both runs; with several teacher runs their realisation scatter, which
    the student's one run has too, at least); else [].
    """
    s, t = h["first_A2"], h["teacher_A2"]
    scatter = h.get("teacher_realisation_std_A2", 0.0)
    sig = float(np.hypot(max(h["first_err_A2"], scatter), h["teacher_err_A2"]))
    ratio = s / t if t > 0 else np.inf
    if max(ratio, 1 / ratio if ratio > 0 else np.inf) <= gate.host_msd_ratio or abs(s - t) <= gate.d_sigmas * sig:
        return []
    what = "flows or wanders further" if s > t else "moves less"
    return [
        f"MSD of the host {species} at {where} over {h['lag_ps']:.3g} ps: student {s:.2f} ± {h['first_err_A2']:.2f} Å² "
        f"vs teacher {t:.2f} ± {h['teacher_err_A2']:.2f} Å²"
        + (f" (mean of {len(h['teacher_runs_A2'])} runs, spread {scatter:.2f})" if "teacher_runs_A2" in h else "")
        + f" ({ratio:.2f}×, {abs(s - t) / sig:.1f} σ): the host "
        f"{what} in the student's first {h['lag_ps'] * 2:.3g} ps (limit {gate.host_msd_ratio:g}×)"
        + _vibration_and_creep(h)
    ]


def _vibration_and_creep(h: dict) -> str:
    """The short-lag split of a `host_msd` entry as text: the MSD at "short_lag_ps" (mostly vibrations) and what it
    grows by up to "lag_ps" (slow motion), student against teacher; "" for an entry without it.
    """
    if "first_short_A2" not in h:
        return ""
    s0, t0 = h["first_short_A2"], h["teacher_short_A2"]
    return (
        f"; at {h['short_lag_ps']:.2g} ps (mostly vibrations) student {s0:.3f} vs teacher {t0:.3f} Å², "
        f"then up to {h['lag_ps']:.3g} ps student {h['first_A2'] - s0:+.3f} vs teacher {h['teacher_A2'] - t0:+.3f} Å²"
    )
