"""Finite size: the lowest vibrational frequency a periodic cell can hold.

A periodic cell of edge L holds only wave vectors commensurate with it, so no acoustic phonon lies
below ν_min ≈ v_s/L (smallest commensurate |Q| = 2π/L for a cubic cell). A VDOS feature below ν_min
(e.g. the Debye ν² law, or the boson-peak region) is not sampled by the cell; `needed_cell_length`
gives the edge that would reach a target frequency.

`lowest_phonon` measures ν_min directly: the longitudinal and transverse current correlations of the
host (non-mobile) species at the smallest commensurate |Q| shell (`lowest_phonon_from_file`: the same from
a file in bounded memory, the currents being per-frame sums over atoms taken in time chunks), combined with **mass weighting**
(the centre-of-mass current J = Σ m_j v_j e^{iQ·r_j}, whose long-wavelength modes are the acoustic
ones; `current_correlations` itself weights its totals by number, so the mass-weighted spectrum is
built here from its per-pair partials: C_m = Σ_αβ m_α m_β √(N_α N_β) C_αβ / Σ_α N_α m_α), and a
damped-harmonic-oscillator fit (`fit_dho`) of each spectrum; E₀ is the mode energy,
v = 2π ν / q = ω/q the phase velocity of the branch.
"""

from __future__ import annotations

import numpy as np

from .. import units
from .._compat import renamed_keyword
from ..carriers import MOBILE_IONS
from ..errors import InputError
from ..trajectory.blocks import FrameSource, opened, time_chunks
from ..trajectory.model import Trajectory
from . import _scatter_kernels as K
from . import lag_windows
from .currents import current_correlations, fit_dho
from .qpoints import QSet, commensurate_shells
from .scattering import _fwhm, time_to_energy

#: a cell with less than this number density (atoms/Å³) is taken as a non-periodic placeholder box
MIN_NUMBER_DENSITY = 1e-3

METHOD = (
    "transverse/longitudinal current-correlation peak of the host at the smallest commensurate Q, "
    "DHO fit (mass-weighted host current, Hann lag window)"
)

#: 1 THz·Å = 100 m/s
_THZ_A_TO_M_S = 100.0


def host_species(traj: Trajectory | FrameSource, mobile=MOBILE_IONS) -> list[str]:
    """Species of the trajectory that are not mobile (the host framework); the only species if there is one."""
    species = traj.species
    if len(species) == 1:
        return list(species)
    host = [s for s in species if s not in set(mobile)]
    if not host:
        raise InputError(
            f"every species of this trajectory ({', '.join(species)}) is listed as mobile "
            f"({', '.join(mobile)}); pass species= to choose the atoms that carry the phonon"
        )
    return host


def smallest_q_shell(cell, shell_tol: float = 0.02) -> QSet:
    """The commensurate Q vectors of smallest |Q| (one of each ±Q pair), within a relative `shell_tol`
    of the minimum (so a nearly cubic cell keeps all three ⟨100⟩ vectors). One shell, with Miller indices.
    """
    qs = commensurate_shells(cell, 1, shell_tol)
    qs.method = "smallest commensurate shell"
    return qs


def needed_cell_length(v_s_m_s: float, nu_thz: float) -> float:
    """Cell edge L (Å) whose lowest acoustic phonon ν_min = v_s/L equals ν: L = v_s/ν.

    v_s in m/s (1 m/s = 1e-2 Å/ps), ν in THz (1/ps).
    """
    v = float(v_s_m_s)
    nu = float(nu_thz)
    if not (np.isfinite(v) and v > 0 and np.isfinite(nu) and nu > 0):
        raise InputError(
            f"sound velocity (m/s) and frequency (THz) must be positive and finite, got v_s={v_s_m_s!r}, nu={nu_thz!r}"
        )
    return v / _THZ_A_TO_M_S / nu


def check_periodic_cell(traj: Trajectory | FrameSource, what: str = "the lowest phonon") -> np.ndarray:
    """The mean cell (3, 3) Å of a periodic trajectory; InputError for a singular or placeholder-sized cell."""
    cell = traj.cells.mean(axis=0)
    vol = abs(float(np.linalg.det(cell)))
    if not np.all(np.isfinite(cell)) or vol < 1e-9:
        raise InputError(
            f"{what} needs a periodic cell (three lattice vectors); this trajectory has "
            "a singular or missing cell (non-periodic data)"
        )
    if traj.n_atoms / vol < MIN_NUMBER_DENSITY:
        raise InputError(
            f"the cell holds {traj.n_atoms / vol:.2g} atoms/Å³ (volume {vol:.3g} Å³): a placeholder "
            f"box of non-periodic data, not a periodic solid; {what} needs the real "
            f"periodic cell (density ≥ {MIN_NUMBER_DENSITY:g} atoms/Å³)"
        )
    return cell


def _resolution_message(
    fwhm_thz: float, nu_thz: float, max_lag: int, dt: float, n_frames: int, default_lag: bool
) -> str:
    need_lag = int(np.ceil(max_lag * fwhm_thz / nu_thz)) + 1 if np.isfinite(nu_thz) and nu_thz > 0 else None
    t_max = (max_lag - 1) * dt * 1e-3
    msg = (
        f"too few frames to resolve the lowest phonon: the lag-window resolution (FWHM {fwhm_thz:.3g} THz from "
        f"max_lag·Δt = {t_max:.3g} ps) must be finer than the fitted frequency "
        f"({nu_thz:.3g} THz)"
    )
    if need_lag is not None:
        frames = (
            f"≥ {2 * need_lag} frames with the default max_lag = n_frames/2"
            if default_lag
            else f"max_lag ≥ {need_lag} (n_frames ≥ {need_lag})"
        )
        msg += (
            f"; need max_lag·Δt ≳ {need_lag * dt * 1e-3:.3g} ps, i.e. {frames} (now {n_frames} frames), "
            "and several times that for a precise frequency"
        )
    else:
        msg += f"; run longer (now {n_frames} frames of {dt:g} fs)"
    return msg


@renamed_keyword(window="lag_window")
def lowest_phonon(
    traj: Trajectory,
    species=None,
    mobile=MOBILE_IONS,
    *,
    max_lag: int | None = None,
    lag_window: str = "hann",
    pad: int = 4,
    e_max: float | None = None,
    shell_tol: float = 0.02,
    backend: str = "auto",
) -> dict:
    """Lowest acoustic frequency ν_min the periodic cell holds, from the host current correlations.

    species: atoms that carry the phonon; default the host = every species not in `mobile`
    (Li6PS5Cl: P, S, Cl), or the only species. The L and T current correlations at the smallest
    commensurate |Q| shell (cubic cell: |Q| = 2π/L, Q = a*, b*, c*) are combined with mass weighting
    from the per-pair partials (`current_correlations` weights its own totals by number only; the
    host species of Li6PS5Cl, 31–35 u, would give nearly the same result either way) and each
    spectrum is fitted with the DHO form (`fit_dho`) up to `e_max` meV (default 3 × the spectral peak,
    at least 10 energy points); E₀ is the mode energy, ν = E₀/h.

    Returns {nu_min_THz (min of the T and L branches), nu_T_THz, nu_L_THz, v_T_m_s, v_L_m_s
    (v = 2πν/q), q_min_per_A (mean |Q| of the shell), cell_length_A (2π/q_min), overdamped_T,
    overdamped_L (Γ/2 > E₀), gamma_T_THz, gamma_L_THz, method, …} with the fit errors as *_err (NaN
    where the fit gives none). Γ includes the lag-window broadening (`resolution_fwhm_THz`) and any
    thermostat friction, so the overdamped flags are upper bounds on the true damping.

    Raises InputError without velocities, for a non-periodic (singular or placeholder-sized) cell, or
    when the lag-window resolution FWHM is not finer than the fitted lowest frequency (too few frames).
    """
    traj.require_velocities()
    lag_windows.check_lag_window(lag_window)
    cell = check_periodic_cell(traj)
    species = traj.species_list(host_species(traj, mobile) if species is None else species)
    default_lag = max_lag is None
    max_lag = traj.max_lag(max_lag, minimum=8)
    qs = smallest_q_shell(cell, shell_tol)
    ds = current_correlations(traj, qs, species, max_lag=max_lag, lag_window=lag_window, pad=pad, backend=backend)
    return _lowest_from_spectra(
        traj,
        species,
        qs,
        ds.energy.values,
        ds["C_T_w"].values,
        ds["C_L_w"].values,
        float(ds.attrs["effective_resolution_fwhm_meV"]),
        max_lag,
        default_lag,
        e_max,
    )


def _lowest_from_spectra(
    traj, species, qs: QSet, energy, c_t_w, c_l_w, fwhm_mev: float, max_lag: int, default_lag: bool, e_max
) -> dict:
    """DHO fits of the mass-weighted T and L host current spectra (species, species, q, energy) → the
    result of `lowest_phonon`.
    """
    counts = np.array([len(traj.indices(s)) for s in species], dtype=float)
    mass = np.array([float(traj.masses[traj.indices(s)].mean()) for s in species])
    coef = (mass[:, None] * mass[None, :] * np.sqrt(counts[:, None] * counts[None, :])) / float(np.sum(counts * mass))
    fwhm_thz = fwhm_mev / units.THZ_TO_MEV
    q = float(qs.mean_norm()[0])

    out: dict = {}
    for kind in ("T", "L"):
        spec = np.einsum("ab,abe->e", coef, {"T": c_t_w, "L": c_l_w}[kind][:, :, 0, :])
        pos = energy > 0
        e_pk = float(energy[pos][np.argmax(spec[pos])])
        de = float(energy[pos][0])
        top = max(3.0 * e_pk, 10.5 * de) if e_max is None else float(e_max)
        try:
            fit = fit_dho(energy, spec, e_max=top)
        except InputError:
            raise InputError(
                _resolution_message(fwhm_thz, e_pk / units.THZ_TO_MEV, max_lag, traj.dt, traj.n_frames, default_lag)
            ) from None
        nu = fit["E0_meV"] / units.THZ_TO_MEV
        err = fit["E0_err_meV"] / units.THZ_TO_MEV
        err = err if np.isfinite(err) and fit["success"] else float("nan")
        if not fwhm_thz < nu:
            raise InputError(_resolution_message(fwhm_thz, nu, max_lag, traj.dt, traj.n_frames, default_lag))
        g_err = fit["gamma_err_meV"] / units.THZ_TO_MEV
        out[f"nu_{kind}_THz"] = nu
        out[f"nu_{kind}_THz_err"] = err
        out[f"v_{kind}_m_s"] = 2 * np.pi * nu / q * _THZ_A_TO_M_S
        out[f"v_{kind}_m_s_err"] = 2 * np.pi * err / q * _THZ_A_TO_M_S
        out[f"gamma_{kind}_THz"] = fit["gamma_meV"] / units.THZ_TO_MEV
        out[f"gamma_{kind}_THz_err"] = g_err if np.isfinite(g_err) and fit["success"] else float("nan")
        out[f"overdamped_{kind}"] = bool(fit["overdamped"])
        out[f"chi2_red_{kind}"] = fit["chi2_red"]
        out[f"fit_e_max_{kind}_meV"] = top

    low = "T" if out["nu_T_THz"] <= out["nu_L_THz"] else "L"
    res = {"nu_min_THz": out[f"nu_{low}_THz"], "nu_min_THz_err": out[f"nu_{low}_THz_err"], "lowest_branch": low}
    res.update(out)
    res.update(
        {
            "q_min_per_A": q,
            "cell_length_A": 2 * np.pi / q,
            "n_qvectors": int(len(qs.vectors)),
            "hkl": [] if qs.hkl is None else qs.hkl.tolist(),
            "species": list(species),
            "weighting": "mass (Σ m_j v_j e^{iQ·r_j})",
            "resolution_fwhm_THz": fwhm_thz,
            "max_lag": int(max_lag),
            "dt_fs": traj.dt,
            "n_frames": traj.n_frames,
            "method": METHOD,
        }
    )
    return res


def species_currents(
    src: FrameSource, hkl: np.ndarray, species: list[str], backend: str = "auto", mass_weighted: bool = False
) -> np.ndarray:
    """Currents j_g(Q,t) = Σ_{j∈g} v_j exp(2πi hkl·s_j(t)) per species g, (T, G, M, 3) complex in Å/fs (× amu, the
    momentum current Σ m_j v_j …, with mass_weighted), summed over atoms in time chunks (memory ∝ frames ×
    species × Q, not frames × atoms).
    """
    sel = np.concatenate([src.indices(s) for s in species])
    groups = np.concatenate([np.full(len(src.indices(s)), i) for i, s in enumerate(species)])
    atoms = np.unique(sel)
    order = np.searchsorted(atoms, sel)  # the atoms in the order of `sel`
    mass = np.asarray(src.masses, dtype=float)[sel][None, :, None] if mass_weighted else 1.0
    t_n = src.n_frames
    cells = src.cells
    j = np.empty((t_n, len(species), len(hkl), 3), dtype=complex)
    for s, e in time_chunks(t_n, 2 * len(atoms)):
        pos = src.read_positions(atoms, s, e)[:, order]
        vel = src.read_velocities(atoms, s, e)[:, order] * mass
        frac = np.matmul(pos, np.linalg.inv(cells[s:e]))  # fractional coordinates
        j[s:e] = K.densities(frac, hkl, groups, len(species), vel, backend)[1]
        del pos, vel, frac
    return j


def _host_spectra(src, qs: QSet, species: list[str], max_lag: int, lag_window: str, pad: int, backend: str):
    """The C_T and C_L spectra (species, species, q, energy ≥ 0) of `current_correlations` and its effective
    resolution, from `species_currents`; the rest as in `current_correlations`.
    """
    t_n = src.n_frames
    assert qs.hkl is not None  # the shells of `smallest_q_shell` carry their Miller indices
    j = species_currents(src, qs.hkl, species, backend)
    qhat = qs.vectors / np.linalg.norm(qs.vectors, axis=1)[:, None]
    jl = np.einsum("tgmd,md->tgm", j, qhat)
    jt = j - jl[..., None] * qhat[None, None]
    del j
    nfft = K.nfft_for(t_n, max_lag)
    counts = np.array([len(src.indices(s)) for s in species], dtype=float)
    norm = np.sqrt(counts[:, None] * counts[None, :])[:, :, None, None] * qs.counts()[None, None, :, None]
    cl = K.power_to_correlation(K.cross_spectra(jl, qs.shell, qs.n_shells, nfft), t_n, max_lag) / norm
    ct = 0.5 * K.power_to_correlation(K.cross_spectra(jt, qs.shell, qs.n_shells, nfft), t_n, max_lag) / norm
    w = lag_windows.lag_window(lag_window, max_lag)

    def spec(arr):
        a = np.moveaxis(arr, -1, 0) * w.reshape((-1,) + (1,) * (arr.ndim - 1))
        e, sp = time_to_energy(a, src.dt, pad)
        keep = e >= 0
        return e[keep], np.moveaxis(sp[keep], 0, -1)

    energy, cl_w = spec(cl)
    _, ct_w = spec(ct)
    e_all, r_eff = time_to_energy(w[:, None], src.dt, pad)
    return energy, ct_w, cl_w, _fwhm(e_all, r_eff[:, 0])


@renamed_keyword(window="lag_window")
def lowest_phonon_from_file(
    trajectory,
    species=None,
    mobile=MOBILE_IONS,
    *,
    max_lag: int | None = None,
    lag_window: str = "hann",
    pad: int = 4,
    e_max: float | None = None,
    shell_tol: float = 0.02,
    backend: str = "auto",
    dt: float | None = None,
    format: str | None = None,
) -> dict:
    """`lowest_phonon` in bounded memory, from a path (H5MD read piece by piece; other formats read whole
    through ASE), an open FrameSource (`trajectory.blocks.open_trajectory`) or a Trajectory: the same
    result (to float rounding). dt/format as in `read_trajectory`; the other arguments as in `lowest_phonon`.
    """
    with opened(trajectory, dt, format) as src:
        src.require_velocities()
        lag_windows.check_lag_window(lag_window)
        cell = check_periodic_cell(src)
        species = src.species_list(host_species(src, mobile) if species is None else species)
        default_lag = max_lag is None
        max_lag = src.max_lag(max_lag, minimum=8)
        qs = smallest_q_shell(cell, shell_tol)
        energy, ct_w, cl_w, fwhm_mev = _host_spectra(src, qs, species, max_lag, lag_window, pad, backend)
        return _lowest_from_spectra(src, species, qs, energy, ct_w, cl_w, fwhm_mev, max_lag, default_lag, e_max)
