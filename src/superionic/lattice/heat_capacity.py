"""Heat capacity and vibrational entropy beyond the harmonic picture: the anharmonic (classical) C_v of MD runs,
beside the harmonic C_v of phonopy and of the VDOS, and S_vib from the VDOS with the 2PT correction.

Routes to C_v from MD (docs/heat_capacity.md), per atom in units of k_B:

* **canonical fluctuations** (NVT: Langevin, Bussi, Nosé–Hoover), `cv_canonical`:
  C_v = (⟨E²⟩ − ⟨E⟩²) / (k_B T² N) with E = E_pot + E_kin the total energy, and the lower-noise
  C_v = n_kin/(2N) + (⟨U²⟩ − ⟨U⟩²)/(k_B T² N) (E_kin and E_pot are independent in the canonical ensemble; the
  kinetic part is exactly n_kin k_B/2, n_kin the kinetic degrees of freedom: 3N − 3 when the total momentum is
  held, as in the project's free runs on either engine);
* **microcanonical fluctuations** (NVE), `cv_microcanonical`: C_v = k_B / [1 − (1 − 2/n_kin)⟨K⟩⟨K⁻¹⟩] / N
  (Pearson, Halicioglu, Tiller 1985; exact at any size, the Lebowitz–Percus–Verlet formula
  C_v = (n_kin/2) / [1 − (2/n_kin) Var(K)/(k_B T)²] is its large-n limit);
* **dE/dT** of runs at several temperatures, `cv_from_temperatures`: a weighted polynomial fit of ⟨E⟩(T)
  (straight line for two runs, parabola for three or more), its derivative with the propagated error.

Errors of the fluctuation routes: the larger of two estimates. Block averages (the run cut into `n_blocks`
contiguous blocks, the estimator evaluated on each, error = standard deviation of the block values
/ √n_blocks), valid only when the blocks are much longer than the energy's correlation time; and the error
from the autocorrelation ρ(t) of the series (`correlated_errors`: σ(Var)² = 2 Var² (1 + 2Σρ²)/n,
σ(mean)² = Var (1 + 2Σρ)/n), which stays valid when they are not. A weak thermostat makes that time long (the
total energy changes only through the thermostat: about 1/γ and more; docs/heat_capacity.md has the numbers of
the Li6PS5Cl runs).

The comparison (`heat_capacity_comparison`) puts beside the MD value the harmonic quantum C_v of phonopy
(`superionic phonons`), the VDOS-weighted harmonic C_v (`analysis.thermo.thermo`) and the 2PT C_v of each
species (`analysis.thermo.two_phase_dataset`: a hard-sphere gas part of fluidicity f with C_v = 3/2 and a
harmonic solid part), and a quantum-corrected anharmonic value: the MD C_v plus the difference between the
quantum and the classical C_v of the 2PT reference, Σ_s c_s [C_v,2PT(s) − (3/2 f_s + 3 (1 − f_s))]. S_vib per
species is given harmonically and with 2PT (the harmonic entropy of a diffusing species is ill-defined: its
g(0) > 0 makes it diverge logarithmically with the resolution).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from .. import units
from ..errors import InputError
from .inm import resolve_potential

KB = units.KB_EV
_KB_ATOM = "k_B atom-1"


# --------------------------------------------------------------------------- estimators on arrays
def _blocks(n: int, n_blocks: int) -> list[slice]:
    if n_blocks < 2:
        raise InputError(f"the block average needs at least 2 blocks, got {n_blocks}")
    if n < 2 * n_blocks:
        raise InputError(f"{n} energy samples are too few for {n_blocks} blocks (at least 2 samples per block)")
    edges = np.linspace(0, n, n_blocks + 1).round().astype(int)
    return [slice(a, b) for a, b in zip(edges[:-1], edges[1:])]


def _block_error(values: Sequence[float]) -> float:
    v = np.asarray(values, dtype=float)
    return float(np.std(v, ddof=1) / math.sqrt(len(v)))


def _autocorrelation(x: np.ndarray) -> np.ndarray:
    """Normalised autocorrelation ρ(t) of a series for lags t = 0 … n/2 (FFT, biased estimator)."""
    y = np.asarray(x, dtype=float) - float(np.mean(x))
    n = len(y)
    f = np.fft.rfft(y, 2 * n)
    acf = np.fft.irfft(f * np.conj(f))[: n // 2 + 1]
    return acf / acf[0] if acf[0] > 0 else np.zeros_like(acf)


def _correlation_sums(x: np.ndarray) -> tuple[float, float]:
    """(Σ_{t≥1} ρ(t), Σ_{t≥1} ρ(t)²) up to the first lag where ρ ≤ 0 (the noise of ρ beyond it is left out)."""
    rho = _autocorrelation(x)[1:]
    cut = int(np.argmax(rho <= 0)) if np.any(rho <= 0) else len(rho)
    r = rho[:cut]
    return float(np.sum(r)), float(np.sum(r * r))


def correlated_errors(x: np.ndarray) -> dict[str, float]:
    """Standard errors of the mean and of the variance of a correlated series, from its autocorrelation ρ(t).

    σ(mean)² = Var(x) (1 + 2 Σ_{t≥1} ρ(t)) / n, σ(Var)² = 2 Var(x)² (1 + 2 Σ_{t≥1} ρ(t)²) / n (Gaussian series;
    Priestley, Spectral Analysis and Time Series (1981) §5.3), the sums cut at the first lag where ρ ≤ 0.
    Returns ``mean_err`` and ``var_err`` (units of x and of x²), ``tau_mean`` and ``tau_var`` (integrated
    correlation times 1/2 + Σρ and 1/2 + Σρ², in samples). Unlike block averages they stay valid when the
    correlation time approaches the block length, as under a weak thermostat.
    """
    v = np.asarray(x, dtype=float)
    n = len(v)
    var = float(np.var(v))
    s1, s2 = _correlation_sums(v)
    return {
        "mean_err": math.sqrt(max(var * (1 + 2 * s1), 0.0) / n),
        "var_err": math.sqrt(2 * var * var * (1 + 2 * s2) / n),
        "tau_mean": 0.5 + s1,
        "tau_var": 0.5 + s2,
    }


def _check_temperature(temperature: float) -> float:
    if not (math.isfinite(temperature) and temperature > 0):
        raise InputError(f"the temperature must be a positive number of K, got {temperature:g}")
    return float(temperature)


def cv_canonical(
    epot: np.ndarray,
    temperature: float,
    n_atoms: int,
    ekin: np.ndarray | None = None,
    kinetic_dof: int | None = None,
    n_blocks: int = 8,
) -> dict[str, float]:
    """Classical C_v per atom (k_B) of an NVT run from energy fluctuations; errors: the larger of the block
    average and the autocorrelation estimate (`correlated_errors`).

    epot, ekin: E_pot and E_kin (eV) of successive frames; temperature: the thermostat's (K); kinetic_dof:
    kinetic degrees of freedom (default 3N − 3). Returns cv_total (from the total energy E_pot + E_kin; NaN
    without ekin), cv_potential (kinetic part n_kin/2 exact, E_pot fluctuations measured), their errors, the
    mean energies per atom with errors (eV), and the integrated correlation times of E_pot and E (samples).
    """
    t = _check_temperature(temperature)
    u = np.asarray(epot, dtype=float)
    if u.ndim != 1 or not np.all(np.isfinite(u)):
        raise InputError("E_pot must be a finite series of energies (eV), one per frame")
    n_dof = 3 * n_atoms - 3 if kinetic_dof is None else int(kinetic_dof)
    scale = 1.0 / (KB * t * t * n_atoms)  # eV² → k_B per atom
    blocks = _blocks(len(u), n_blocks)

    def cv_pot(x: np.ndarray) -> float:
        return n_dof / (2.0 * n_atoms) + float(np.var(x)) * scale / KB

    cu = correlated_errors(u)
    out = {
        "cv_potential": cv_pot(u),
        "cv_potential_err": max(_block_error([cv_pot(u[b]) for b in blocks]), cu["var_err"] * scale / KB),
        "epot_mean": float(u.mean() / n_atoms),
        "epot_mean_err": max(_block_error([u[b].mean() / n_atoms for b in blocks]), cu["mean_err"] / n_atoms),
        "tau_epot_samples": cu["tau_mean"],
        "kinetic_dof": float(n_dof),
        "n_samples": float(len(u)),
        "n_blocks": float(n_blocks),
        "temperature": t,
    }
    if ekin is None:
        out.update(cv_total=math.nan, cv_total_err=math.nan, e_mean=math.nan, e_mean_err=math.nan)
        return out
    k = np.asarray(ekin, dtype=float)
    if k.shape != u.shape or not np.all(np.isfinite(k)):
        raise InputError("E_kin must be a finite series as long as E_pot")
    e = u + k
    ce = correlated_errors(e)
    out.update(
        cv_total=float(np.var(e)) * scale / KB,
        cv_total_err=max(_block_error([float(np.var(e[b])) * scale / KB for b in blocks]), ce["var_err"] * scale / KB),
        e_mean=float(e.mean() / n_atoms),
        e_mean_err=max(_block_error([e[b].mean() / n_atoms for b in blocks]), ce["mean_err"] / n_atoms),
        tau_e_samples=ce["tau_mean"],
        kinetic_temperature=float(2 * k.mean() / (n_dof * KB)),
    )
    return out


def cv_microcanonical(ekin: np.ndarray, n_atoms: int, kinetic_dof: int | None = None, n_blocks: int = 8) -> dict:
    """Classical C_v per atom (k_B) of an NVE run from its kinetic energy K (eV per frame):
    C_v = k_B / [1 − (1 − 2/n) ⟨K⟩⟨K⁻¹⟩] / N (Pearson, Halicioglu, Tiller, Phys. Rev. A 32, 3030 (1985): exact in
    the microcanonical ensemble; → the Lebowitz–Percus–Verlet fluctuation formula for large n), n the kinetic
    degrees of freedom (default 3N − 3), k_B T = 2⟨K⟩/n. Block-average error.
    """
    k = np.asarray(ekin, dtype=float)
    if k.ndim != 1 or not np.all(np.isfinite(k)) or np.any(k <= 0):
        raise InputError("E_kin must be a positive finite series of energies (eV), one per frame")
    n = 3 * n_atoms - 3 if kinetic_dof is None else int(kinetic_dof)

    def pht(x: np.ndarray) -> float:
        return 1.0 / (1.0 - (1.0 - 2.0 / n) * float(x.mean()) * float(np.mean(1.0 / x))) / n_atoms

    blocks = _blocks(len(k), n_blocks)
    return {
        "cv_nve": pht(k),
        "cv_nve_err": _block_error([pht(k[b]) for b in blocks]),
        "kinetic_temperature": float(2 * k.mean() / (n * KB)),
        "kinetic_dof": float(n),
        "n_samples": float(len(k)),
        "n_blocks": float(n_blocks),
    }


def cv_from_temperatures(
    temperatures: Sequence[float] | np.ndarray,
    energies: Sequence[float] | np.ndarray,
    errors: Sequence[float] | np.ndarray | None = None,
    degree: int | None = None,
) -> xr.Dataset:
    """C_v(T) = d⟨E⟩/dT (k_B per atom) from mean energies per atom (eV) at several temperatures (K).

    A polynomial in T of `degree` (default: a straight line for up to three runs, a parabola for four or more) is fitted, weighted by 1/σ²
    where errors are given; its derivative at each T is C_v, the error propagated from the fit's covariance
    (scaled by the reduced χ² when that exceeds 1, and with unit weights when no errors are given).
    """
    t = np.asarray(temperatures, dtype=float)
    e = np.asarray(energies, dtype=float)
    if t.ndim != 1 or t.shape != e.shape or len(t) < 2:
        raise InputError("dE/dT needs the mean energy at two or more temperatures")
    if len(np.unique(t)) != len(t) or not np.all(t > 0):
        raise InputError(f"the temperatures must be distinct and positive, got {t.tolist()}")
    deg = (1 if len(t) < 4 else 2) if degree is None else int(degree)
    if not 1 <= deg < len(t):
        raise InputError(f"a degree-{deg} fit of ⟨E⟩(T) needs more than {deg} temperatures, got {len(t)}")
    s = np.ones_like(e) if errors is None else np.asarray(errors, dtype=float)
    if s.shape != e.shape or not np.all(np.isfinite(s)) or np.any(s <= 0):
        s = np.ones_like(e)
        weighted = False
    else:
        weighted = errors is not None
    t0 = float(t.mean())
    x = t - t0
    design = np.vander(x, deg + 1, increasing=True)  # 1, x, x², …
    w = 1.0 / s
    coef, *_ = np.linalg.lstsq(design * w[:, None], e * w, rcond=None)
    cov = np.linalg.inv((design * (w * w)[:, None]).T @ design)
    dof = len(t) - (deg + 1)
    if dof > 0:
        chi2 = float(np.sum(((design @ coef - e) * w) ** 2)) / dof
        if not weighted or chi2 > 1:
            cov = cov * chi2
    elif not weighted:
        cov = cov * math.nan
    deriv = np.vstack([np.zeros_like(x)] + [k * x ** (k - 1) for k in range(1, deg + 1)]).T  # d/dT of the basis
    cv = deriv @ coef / KB
    cv_err = np.sqrt(np.einsum("ti,ij,tj->t", deriv, cov, deriv)) / KB
    out = xr.Dataset(
        {
            "cv": ("temperature", cv, {"units": _KB_ATOM, "long_name": "C_v = d⟨E⟩/dT (classical MD)"}),
            "cv_err": ("temperature", cv_err, {"units": _KB_ATOM}),
            "e_mean": ("temperature", e, {"units": "eV atom-1", "long_name": "mean energy per atom"}),
            "e_mean_err": ("temperature", s if weighted else np.full_like(e, math.nan), {"units": "eV atom-1"}),
        },
        coords={"temperature": ("temperature", t, {"units": units.TEMPERATURE})},
    )
    out.attrs.update(analysis="cv_dEdT", degree=deg, weighted=int(weighted), to_J_per_mol_K=units.R_J_PER_MOL_K)
    return out


# --------------------------------------------------------------------------- the energies of a run
def _evaluator(potential: Any, symbols: list[str], masses: np.ndarray, first_pos: np.ndarray, cell: np.ndarray):
    """(energy(positions, cell) → E_pot in eV, close()) with a LAMMPS session or an ASE calculator."""
    from ase import Atoms

    from .inm import potential_engine

    atoms = Atoms(symbols, positions=first_pos, cell=cell, pbc=True, masses=masses)
    is_calc = hasattr(potential, "get_forces") or hasattr(potential, "calculate")
    how, engine, _ = potential_engine(None if is_calc else potential, potential if is_calc else None, "auto")
    if how == "lammps":
        from ..potentials.lammps_potentials import LammpsSession

        session = LammpsSession(atoms, engine)

        def energy(pos: np.ndarray, c: np.ndarray) -> float:
            session.set_cell(c)
            session.set_state(pos, np.zeros_like(pos))
            return float(session.evaluate()[0])

        return energy, session.close
    atoms.calc = engine

    def energy_ase(pos: np.ndarray, c: np.ndarray) -> float:
        atoms.set_cell(c)
        atoms.set_positions(pos)
        return float(atoms.get_potential_energy())

    return energy_ase, (lambda: None)


def run_energies(
    run: str | Path,
    potential: Any = None,
    every: int = 1,
    skip: float = 0.0,
    progress: Any = None,
) -> dict[str, Any]:
    """E_pot and E_kin (eV) of the frames of a run folder (or a trajectory file), with what the estimators need.

    E_pot and E_kin come from the run's thermo.csv where it has one (ASE engine); else E_pot is evaluated with
    the potential (`resolve_potential`: default the run's own; LAMMPS runs record no energies) on every
    `every`-th frame and E_kin from the stored velocities. skip: the share of the run dropped at the start.
    Returns arrays epot, ekin, time_fs and n_atoms, temperature (target, K), thermostat, protocol,
    kinetic_dof (3N − 3 when the total momentum stays zero in the stored velocities, else 3N), source.
    """
    import json

    from ..trajectory.blocks import opened

    if every < 1:
        raise InputError(f"--every must be a positive number of frames, got {every}")
    if not 0 <= skip < 1:
        raise InputError(f"the skipped share of the run must be in [0, 1), got {skip:g}")
    p = Path(run)
    folder = p if p.is_dir() else p.parent
    traj_path = p / "trajectory.h5" if p.is_dir() else p
    if not traj_path.exists():
        raise InputError(f"{p}: no trajectory.h5 there; give a run folder of `superionic md`")
    info: dict[str, Any] = {}
    if (folder / "run.json").is_file():
        try:
            info = json.loads((folder / "run.json").read_text())
        except ValueError:
            info = {}
    settings = info.get("settings", {}) if isinstance(info, dict) else {}
    with opened(traj_path) as src:
        meta = src.metadata if isinstance(src.metadata, dict) else {}
        n, masses, symbols = src.n_atoms, np.asarray(src.masses, dtype=float), list(src.symbols)
        temp = settings.get("temperature", meta.get("temperature"))
        thermostat = str(settings.get("thermostat", meta.get("thermostat", "langevin"))).split(" ")[0]
        protocol = str(settings.get("protocol", meta.get("protocol", "free")))
        start = int(math.floor(skip * src.n_frames))
        frames = np.arange(start, src.n_frames, every)
        if frames.size < 4:
            raise InputError(f"{p}: {frames.size} frames after skip/every; at least 4 are needed")
        times = frames * src.dt
        ekin, momentum, v_scale = None, 0.0, 1.0
        if src.has_velocities:
            ek, pm = [], []
            for s0 in range(0, len(frames), 256):
                chunk = frames[s0 : s0 + 256]
                v = src.read_velocities(None, int(chunk[0]), int(chunk[-1]) + 1)[chunk - chunk[0]]
                ek.append(0.5 * np.einsum("a,tac,tac->t", masses, v, v) * units.AMU_A2_PER_FS2_IN_EV)
                pm.append(np.abs(np.einsum("a,tac->tc", masses, v)).max())
            ekin = np.concatenate(ek)
            momentum = float(max(pm))
            v_scale = float(np.sqrt(np.sum(masses) * 2 * ekin.mean() / (3 * n) / units.AMU_A2_PER_FS2_IN_EV))
        thermo_csv = folder / "thermo.csv"
        source = ""
        epot = None
        if thermo_csv.is_file():
            from ..md.run_folder import read_thermo

            th = read_thermo(folder)
            if len(th["epot_eV"]) == src.n_frames:
                epot = th["epot_eV"][frames]
                if ekin is None:
                    ekin = th["ekin_eV"][frames]
                source = "thermo.csv"
        if epot is None:
            pot = resolve_potential(potential, meta)
            cells = src.cells
            first = src.read_positions(None, int(frames[0]), int(frames[0]) + 1)[0]
            energy, close = _evaluator(pot, symbols, masses, first, cells[frames[0]])
            try:
                vals = []
                for k, fr in enumerate(frames):
                    vals.append(energy(src.read_positions(None, int(fr), int(fr) + 1)[0], cells[fr]))
                    if progress is not None:
                        progress(k + 1, len(frames))
            finally:
                close()
            epot = np.array(vals)
            source = "E_pot evaluated with the potential on the stored frames, E_kin from the stored velocities"
    held = ekin is not None and momentum < 1e-3 * max(v_scale, 1e-12)
    return {
        "epot": np.asarray(epot, dtype=float),
        "ekin": None if ekin is None else np.asarray(ekin, dtype=float),
        "time_fs": times,
        "n_atoms": n,
        "temperature": None if temp is None else float(temp),
        "thermostat": thermostat,
        "protocol": protocol,
        "kinetic_dof": 3 * n - 3 if held else 3 * n,
        "source": source,
        "path": str(traj_path),
    }


def heat_capacity_from_run(
    run: str | Path,
    potential: Any = None,
    *,
    temperature: float | None = None,
    every: int = 1,
    skip: float = 0.1,
    n_blocks: int = 8,
    kinetic_dof: int | None = None,
    progress: Any = None,
) -> xr.Dataset:
    """C_v per atom (k_B) of one MD run from its energy fluctuations (canonical or, for NVE, microcanonical),
    with block-average errors, and its mean energy per atom (for `cv_from_temperatures`).

    run: a run folder of `superionic md` (or its trajectory.h5); potential: to evaluate E_pot where the run did
    not record it (default: the run's own). skip: share of the run dropped at the start (default 0.1).
    A run under a phonon-suppression protocol is refused (its C_v is not the material's).
    """
    r = run_energies(run, potential, every=every, skip=skip, progress=progress)
    if r["protocol"] != "free":
        raise InputError(f"{run}: a {r['protocol']} run; the heat capacity needs a free run (all atoms moving)")
    temp = temperature if temperature is not None else r["temperature"]
    if temp is None:
        raise InputError(f"{run}: the run does not record its temperature; give it (--temperature)")
    n = r["n_atoms"]
    dof = r["kinetic_dof"] if kinetic_dof is None else int(kinetic_dof)
    kb = {"units": _KB_ATOM}
    ev = {"units": "eV atom-1"}
    data: dict[str, Any]
    if r["thermostat"] == "nve":
        if r["ekin"] is None:
            raise InputError(f"{run}: an NVE run without velocities or E_kin; C_v needs the kinetic energy")
        c = cv_microcanonical(r["ekin"], n, dof, n_blocks)
        e = r["epot"] + r["ekin"]
        data = {
            "cv": (
                (),
                c["cv_nve"],
                {**kb, "long_name": "C_v (NVE kinetic-energy fluctuations, Pearson–Halicioglu–Tiller)"},
            ),
            "cv_err": ((), c["cv_nve_err"], kb),
            "e_mean": ((), float(e.mean() / n), ev),
            "e_mean_err": ((), math.nan, ev),
        }
        ensemble, temp_k = "NVE", c["kinetic_temperature"]
    else:
        c = cv_canonical(r["epot"], float(temp), n, r["ekin"], dof, n_blocks)
        data = {
            "cv": ((), c["cv_total"], {**kb, "long_name": "C_v = Var(E_pot + E_kin)/(k_B T² N)"}),
            "cv_err": ((), c["cv_total_err"], kb),
            "cv_potential": (
                (),
                c["cv_potential"],
                {**kb, "long_name": "C_v = n_kin/(2N) + Var(E_pot)/(k_B T² N)"},
            ),
            "cv_potential_err": ((), c["cv_potential_err"], kb),
            "e_mean": ((), c["e_mean"], {**ev, "long_name": "⟨E_pot + E_kin⟩ per atom"}),
            "e_mean_err": ((), c["e_mean_err"], ev),
            "epot_mean": ((), c["epot_mean"], ev),
            "epot_mean_err": ((), c["epot_mean_err"], ev),
        }
        dt_frames = float(r["time_fs"][1] - r["time_fs"][0]) if len(r["time_fs"]) > 1 else math.nan
        for key, name in (("tau_e_samples", "tau_e"), ("tau_epot_samples", "tau_epot")):
            if key in c:
                data[name] = (
                    (),
                    c[key] * dt_frames,
                    {"units": units.TIME, "long_name": f"integrated correlation time of {name[4:]}"},
                )
        ensemble, temp_k = "NVT", float(temp)
    data["epot"] = ("time", r["epot"], {"units": units.ENERGY, "long_name": "E_pot of the frames used"})
    if r["ekin"] is not None:
        data["ekin"] = ("time", r["ekin"], {"units": units.ENERGY, "long_name": "E_kin of the frames used"})
    ds = xr.Dataset(data, coords={"time": ("time", r["time_fs"], {"units": units.TIME})})
    ds.attrs.update(
        analysis="heat_capacity_md",
        ensemble=ensemble,
        temperature_K=temp_k,
        thermostat=r["thermostat"],
        n_atoms=n,
        kinetic_dof=dof,
        n_blocks=n_blocks,
        skip=skip,
        every=every,
        energy_source=r["source"],
        trajectory=r["path"],
        classical="classical statistics (MD): → 3 k_B per atom for a harmonic crystal, (3N − 3)/N with the momentum held",
        to_J_per_mol_K=units.R_J_PER_MOL_K,
    )
    return ds


# --------------------------------------------------------------------------- beside the harmonic values
def vdos_entropy(
    vdos: xr.Dataset,
    temperature: float,
    species: Sequence[str] | None = None,
    diffusing: Sequence[str] | None = None,
) -> xr.Dataset:
    """S_vib and C_v per species from a VDOS (`analysis.vdos`): harmonic quantum (`analysis.thermo.thermo`) and
    2PT (`analysis.thermo.two_phase_dataset`, g(0) from the spectrum), k_B per atom, with the fluidicity f of
    each species and the atom-fraction-weighted totals.

    diffusing: the species 2PT is applied to (e.g. ["Li"]); the others are taken harmonic in the 2PT columns
    (f = 0), since the g(0) of a sublattice that does not diffuse is finite-resolution leakage, not a gas.
    None: every species (each with the f its g(0) gives).
    """
    from ..analysis.thermo import thermo, two_phase_dataset

    t = _check_temperature(temperature)
    names = list(species) if species is not None else [str(s) for s in vdos.species.values]
    if diffusing is not None:
        unknown = sorted(set(diffusing) - set(names))
        if unknown:
            raise InputError(f"diffusing species {unknown} are not in the VDOS ({names})")
    harm = thermo(vdos, [t], names)
    tp = [two_phase_dataset(vdos, s, t) for s in names]
    frac = vdos.atom_fraction.sel(species=names).values
    frac = frac / frac.sum()
    gas = np.array([diffusing is None or s in diffusing for s in names])
    f = np.where(gas, [float(d.fluidicity) for d in tp], 0.0)
    s2 = np.where(gas, [float(d.S_total) for d in tp], harm.S_vib.values[:, 0])
    c2 = np.where(gas, [float(d.Cv) for d in tp], harm.Cv.values[:, 0])
    s_gas = np.where(gas, [float(d.S_gas) for d in tp], 0.0)
    s_solid = np.where(gas, [float(d.S_solid) for d in tp], harm.S_vib.values[:, 0])
    kb = {"units": _KB_ATOM}
    dimless = {"units": units.DIMENSIONLESS}
    out = xr.Dataset(
        {
            "S_harmonic": ("species", harm.S_vib.values[:, 0], {**kb, "long_name": "harmonic quantum S_vib"}),
            "Cv_harmonic": ("species", harm.Cv.values[:, 0], {**kb, "long_name": "harmonic quantum C_v"}),
            "S_2pt": ("species", s2, {**kb, "long_name": "2PT S (gas-like hard spheres + solid-like harmonic)"}),
            "S_2pt_gas": ("species", s_gas, kb),
            "S_2pt_solid": ("species", s_solid, kb),
            "Cv_2pt": ("species", c2, {**kb, "long_name": "2PT C_v (3/2 f + harmonic quantum C_v of the solid part)"}),
            "fluidicity": ("species", f, {**dimless, "long_name": "2PT fluidicity f (gas-like share)"}),
            "atom_fraction": ("species", frac, dimless),
            "S_harmonic_total": ((), float(frac @ harm.S_vib.values[:, 0]), kb),
            "S_2pt_total": ((), float(frac @ s2), kb),
            "Cv_harmonic_total": ((), float(frac @ harm.Cv.values[:, 0]), kb),
            "Cv_2pt_total": ((), float(frac @ c2), kb),
            "Cv_2pt_classical_total": (
                (),
                float(frac @ (1.5 * f + 3.0 * (1.0 - f))),
                {**kb, "long_name": "classical limit of the 2PT C_v: 3/2 f + 3(1 − f)"},
            ),
        },
        coords={"species": names},
    )
    out.attrs.update(
        analysis="vdos_entropy",
        temperature_K=t,
        reference_2pt="Lin, Blanco, Goddard, J. Chem. Phys. 119, 11792 (2003)",
        two_phase_species=",".join(s for s, g in zip(names, gas) if g),
        to_J_per_mol_K=units.R_J_PER_MOL_K,
    )
    return out


def heat_capacity_comparison(
    temperature: float,
    md: xr.Dataset | None = None,
    dedt: xr.Dataset | None = None,
    phonons: xr.Dataset | None = None,
    vdos: xr.Dataset | None = None,
    diffusing: Sequence[str] | None = None,
) -> xr.Dataset:
    """C_v per atom (k_B) at one temperature by every route available, side by side (NaN where not given).

    md: `heat_capacity_from_run` (fluctuations); dedt: `cv_from_temperatures` (evaluated at this T when it is
    one of its temperatures, else interpolated); phonons: a `superionic phonons` Dataset (harmonic quantum C_v,
    interpolated in T); vdos: a VDOS Dataset (`vdos_entropy`: harmonic and 2PT C_v and S; the quantum correction);
    diffusing: the species 2PT treats (`vdos_entropy`; None: all).
    """
    t = _check_temperature(temperature)
    nan = math.nan
    vals: dict[str, tuple[float, str]] = {}
    if md is not None:
        vals["cv_md_fluctuation"] = (float(md.cv), "classical MD, Var(E)/(k_B T² N)")
        vals["cv_md_fluctuation_err"] = (float(md.cv_err), "block-average error")
        if "cv_potential" in md:
            vals["cv_md_potential"] = (float(md.cv_potential), "classical MD, n_kin/2N + Var(E_pot)/(k_B T² N)")
            vals["cv_md_potential_err"] = (float(md.cv_potential_err), "block-average error")
    if dedt is not None:
        tt = dedt.temperature.values
        vals["cv_md_dEdT"] = (float(np.interp(t, tt, dedt.cv.values)), "classical MD, d⟨E⟩/dT across runs")
        vals["cv_md_dEdT_err"] = (float(np.interp(t, tt, dedt.cv_err.values)), "fit error")
    if phonons is not None:
        if "cv" not in phonons or "temperature" not in phonons.dims:
            raise InputError("the phonons Dataset has no cv(temperature): give the file of `superionic phonons`")
        tp = phonons.temperature.values
        if not tp.min() <= t <= tp.max():
            raise InputError(f"{t:g} K is outside the phonons file's temperatures ({tp.min():g}–{tp.max():g} K)")
        vals["cv_harmonic_phonopy"] = (float(np.interp(t, tp, phonons.cv.values)), "harmonic quantum (phonopy)")
    vals["cv_harmonic_classical"] = (3.0, "harmonic classical limit (bulk; (3N − 3)/N in a cell with P held)")
    ve = None
    if vdos is not None:
        ve = vdos_entropy(vdos, t, diffusing=diffusing)
        vals["cv_vdos_harmonic"] = (float(ve.Cv_harmonic_total), "VDOS-weighted harmonic quantum")
        vals["cv_vdos_2pt"] = (float(ve.Cv_2pt_total), "2PT: gas-like 3/2 f + solid-like harmonic quantum")
        vals["S_vib_harmonic"] = (float(ve.S_harmonic_total), "VDOS harmonic quantum S_vib")
        vals["S_vib_2pt"] = (float(ve.S_2pt_total), "2PT S_vib")
        correction = float(ve.Cv_2pt_total) - float(ve.Cv_2pt_classical_total)
        vals["quantum_correction"] = (correction, "C_v,2PT(quantum) − C_v,2PT(classical)")
        base = next((vals[k][0] for k in ("cv_md_dEdT", "cv_md_potential", "cv_md_fluctuation") if k in vals), nan)
        vals["cv_md_quantum_corrected"] = (
            base + correction,
            "classical MD C_v (dE/dT, else fluctuations) + the correction",
        )
    out = xr.Dataset({k: ((), v, {"units": _KB_ATOM, "long_name": note}) for k, (v, note) in vals.items()})
    if ve is not None:
        out = xr.merge([out, ve.drop_vars([v for v in ve.data_vars if str(v).endswith("_total")])])
    out.attrs.update(analysis="heat_capacity_comparison", temperature_K=t, to_J_per_mol_K=units.R_J_PER_MOL_K)
    return out
