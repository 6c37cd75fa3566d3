"""Intermediate scattering functions F(Q,t) and dynamic structure factors S(Q,E) (shared/SCIENCE.md §3).

Normalisations (stated again in every result's attrs):

* Self part per species α, **normalised per species** (not by the total atom count):
  F_s,α(Q,t) = N_α⁻¹ Σ_{j∈α} <exp(iQ·[r_j(t0+t) − r_j(t0)])>_{t0, Q∈shell},  F_s,α(Q,0) = 1.
  Unwrapped displacements, so any Q (powder directions at the exact |Q|) is allowed.
* Neutron-weighted incoherent sum: F_inc = Σ_α c_α σ_inc,α F_s,α / Σ_α c_α σ_inc,α (c_α atom fraction).
* Coherent partials, Ashcroft–Langreth: F_αβ(Q,t) = (N_α N_β)^(−1/2) Re<ρ_α(Q,t0+t) ρ_β(−Q,t0)>,
  symmetrised in α ↔ β, ρ_α(Q,t) = Σ_{j∈α} exp(iQ·r_j(t)); Q commensurate with the cell.
  Total: F(Q,t) = Σ_αβ √(c_α c_β) b_α b_β F_αβ / Σ_α c_α b_α²  (→ 1 at Q,t = 0⁺ for uncorrelated atoms),
  with coherent lengths b from the pinned table (or b = 1 with weights="number").
* S(Q,E) = (2πħ)⁻¹ ∫ F(Q,t) w(t) R(t) e^{−iEt/ħ} dt, E in meV (energy given to the sample), so
  ∫ S dE = F(Q,0). w is the stated lag window, R(t) the Gaussian instrument resolution (exact in the
  time domain); tabulated resolutions are convolved in energy. The variable `resolution` is the
  effective elastic line (the same transform of F ≡ 1), which QENS fits of simulated spectra use.

All time origins via FFT; the self part streams over atoms and Q in bounded blocks, and
`self_intermediate_scattering_from_file` reads the atoms from the file block by block (bounded memory).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from .. import units
from .._compat import renamed_keyword
from ..errors import InputError
from ..neutron.crosssections import REFERENCE as XS_REFERENCE
from ..neutron.crosssections import neutron_data
from ..neutron.instrument import HBAR_MEV_FS, Instrument, Resolution, as_resolution
from ..trajectory.blocks import atom_blocks, opened, unwrapped_positions
from ..trajectory.model import Trajectory
from ..trajectory.unwrap import unwrap_positions
from . import _scatter_kernels as K
from . import lag_windows
from .correlate import cosine_transform
from .qpoints import QSet, miller_indices, powder_directions, qpoints_from_list, spherical_shells

H_MEV_FS = 2 * np.pi * HBAR_MEV_FS  # Planck constant, meV·fs (E = h ν)
INV_A = "angstrom-1"


# ----------------------------------------------------------------------------- helpers
def _temperature(traj: Trajectory, temperature):
    if temperature is not None:
        return float(temperature)
    t = traj.metadata.get("temperature")
    return None if t is None else float(t)


def neutron_weights(species: list[str], counts, isotopes: dict | None = None) -> dict[str, np.ndarray]:
    """Atom fractions c, σ_inc (barn), b_coh (fm, real part), incoherent weights c σ_inc / Σ c σ_inc."""
    counts = np.asarray(counts, dtype=float)
    c = counts / counts.sum()
    sig = np.array([neutron_data(s, isotopes).sigma_inc for s in species])
    b = np.array([np.real(neutron_data(s, isotopes).b_coh) for s in species])
    tot = float(np.sum(c * sig))
    w_inc = c * sig / tot if tot > 0 else np.full(len(species), np.nan)
    return {"atom_fraction": c, "sigma_inc": sig, "b_coh": b, "incoherent_weight": w_inc}


def _self_qset(q, n_directions: int, cell) -> QSet:
    if isinstance(q, QSet):
        return q
    arr = np.asarray(q, dtype=float)
    if arr.ndim == 2:
        return qpoints_from_list(arr, cell)
    return powder_directions(arr, n_directions)


# ----------------------------------------------------------------------------- self part
def self_intermediate_scattering(
    traj: Trajectory,
    q,
    species=None,
    *,
    n_directions: int = 24,
    max_lag: int | None = None,
    isotopes: dict | None = None,
    error_blocks: int = 8,
) -> xr.Dataset:
    """Self intermediate scattering F_s,α(Q,t) per species and the neutron-weighted F_inc(Q,t).

    q: |Q| values in Å⁻¹ (powder average over `n_directions` Fibonacci directions at exactly that |Q|),
       an (M, 3) array of Q vectors, or a `QSet`. max_lag: lags kept (default half the frames).
    isotopes: e.g. {"Li": "7Li"} for the σ_inc weights. error_blocks: atoms of each species are split
    into this many groups; the spread between groups gives the standard errors `F_s_err`, `F_inc_err`
    (and, via `F_inc_blocks`, the errors of S(Q,E)).

    Returns a Dataset with F_s (species, q, time), F_inc (q, time), their errors, per-group F_inc_blocks,
    and the weights; time in fs, q in Å⁻¹.
    """
    species = traj.species_list(species)
    max_lag = traj.max_lag(max_lag)
    qs = _self_qset(q, n_directions, traj.cells[0])
    pos = unwrap_positions(traj.positions, traj.cells)
    t_n = traj.n_frames
    nfft = K.nfft_for(t_n, max_lag)
    counts = np.array([len(traj.indices(s)) for s in species])
    nb = int(max(1, min(error_blocks, counts.min())))
    fs = np.empty((len(species), qs.n_shells, max_lag))
    fs_blocks = np.empty((len(species), nb, qs.n_shells, max_lag))
    shell_onehot = np.zeros((qs.n_shells, len(qs.vectors)))
    shell_onehot[qs.shell, np.arange(len(qs.vectors))] = 1.0
    n_per_shell = qs.counts()
    for i, s in enumerate(species):
        idx = traj.indices(s)
        groups = np.arange(len(idx)) % nb
        power = K.self_power(pos[:, idx], qs.vectors, nfft, groups, nb)  # (nb, M, nfft)
        power = np.einsum("sm,gmf->gsf", shell_onehot, power)  # (nb, S, nfft)
        corr = K.power_to_correlation(power, t_n, max_lag)  # (nb, S, lag)
        gcount = np.bincount(groups, minlength=nb)
        fs_blocks[i] = corr / (gcount[:, None, None] * n_per_shell[None, :, None])
        fs[i] = corr.sum(axis=0) / (len(idx) * n_per_shell[:, None])
    return _self_dataset(traj, species, qs, counts, fs, fs_blocks, nb, max_lag, isotopes)


def _self_dataset(traj, species, qs: QSet, counts, fs, fs_blocks, nb: int, max_lag: int, isotopes) -> xr.Dataset:
    """The Dataset of `self_intermediate_scattering` from F_s (species, q, lag) and its atom-group parts."""
    t_n = traj.n_frames
    w = neutron_weights(species, counts, isotopes)
    f_inc = np.einsum("s,sqt->qt", w["incoherent_weight"], fs)
    f_inc_blocks = np.einsum("s,sbqt->bqt", w["incoherent_weight"], fs_blocks)
    fs_err = fs_blocks.std(axis=1, ddof=1) / np.sqrt(nb) if nb > 1 else np.full_like(fs, np.nan)
    f_inc_err = f_inc_blocks.std(axis=0, ddof=1) / np.sqrt(nb) if nb > 1 else np.full_like(f_inc, np.nan)
    time = np.arange(max_lag) * traj.dt
    norm_s = "F_s,α(Q,0) = 1 per species (divided by N_α, not by the total atom count)"
    norm_inc = "F_inc = Σ c_α σ_inc,α F_s,α / Σ c_α σ_inc,α; F_inc(Q,0) = 1"
    ds = xr.Dataset(
        {
            "F_s": (
                ("species", "q", "time"),
                fs,
                {
                    "units": units.DIMENSIONLESS,
                    "normalisation": norm_s,
                    "long_name": "self intermediate scattering function",
                },
            ),
            "F_s_err": (
                ("species", "q", "time"),
                fs_err,
                {"units": units.DIMENSIONLESS, "long_name": "standard error from atom blocks"},
            ),
            "F_inc": (
                ("q", "time"),
                f_inc,
                {
                    "units": units.DIMENSIONLESS,
                    "normalisation": norm_inc,
                    "long_name": "neutron-weighted incoherent F(Q,t)",
                },
            ),
            "F_inc_err": (
                ("q", "time"),
                f_inc_err,
                {"units": units.DIMENSIONLESS, "long_name": "standard error from atom blocks"},
            ),
            "F_s_blocks": (
                ("species", "block", "q", "time"),
                fs_blocks,
                {"units": units.DIMENSIONLESS, "long_name": "F_s from independent atom groups"},
            ),
            "F_inc_blocks": (
                ("block", "q", "time"),
                f_inc_blocks,
                {"units": units.DIMENSIONLESS, "long_name": "F_inc from independent atom groups"},
            ),
            "atom_fraction": ("species", w["atom_fraction"], {"units": units.DIMENSIONLESS}),
            "sigma_inc": ("species", w["sigma_inc"], {"units": "barn"}),
            "incoherent_weight": (
                "species",
                w["incoherent_weight"],
                {"units": units.DIMENSIONLESS, "long_name": "c σ_inc / Σ c σ_inc"},
            ),
            "n_atoms": ("species", counts, {"units": units.DIMENSIONLESS}),
            "q_mean": ("q", qs.mean_norm(), {"units": INV_A, "long_name": "mean |Q| of the vectors used"}),
            "n_qvectors": ("q", qs.counts(), {"units": units.DIMENSIONLESS}),
        },
        coords={
            "species": species,
            "q": ("q", qs.q, {"units": INV_A}),
            "time": ("time", time, {"units": units.TIME}),
            "block": np.arange(nb),
        },
    )
    temp = _temperature(traj, None)
    ds.attrs.update(
        analysis="self_intermediate_scattering",
        normalisation=norm_s + "; " + norm_inc,
        q_method=qs.method,
        q_info=qs.info,
        dt_fs=traj.dt,
        n_frames=t_n,
        max_lag=max_lag,
        time_origins="all (FFT); lag m averaged over n_frames − m origins",
        isotopes=dict(isotopes or {}),
        cross_sections=XS_REFERENCE,
        error_blocks=nb,
        temperature=temp if temp is not None else "unknown",
    )
    return ds


#: bytes per atom and frame that a block holds: its unwrapped positions (float64, with margin)
_FS_BYTES = 48
#: complex numbers per call of the self-part kernel (its phase buffer, FFT and power output are about
#: this size each: ~64 MB), however long the run
_FS_WORK = 4_000_000


def self_intermediate_scattering_from_file(
    trajectory,
    q,
    species=None,
    *,
    n_directions: int = 24,
    max_lag: int | None = None,
    isotopes: dict | None = None,
    error_blocks: int = 8,
    dt: float | None = None,
    format: str | None = None,
    memory: int | None = None,
    block_atoms: int | None = None,
) -> xr.Dataset:
    """`self_intermediate_scattering` in bounded memory: the same Dataset (to float rounding) from a path
    (H5MD read piece by piece; other formats read whole through ASE), an open FrameSource
    (`trajectory.blocks.open_trajectory`) or a Trajectory. Every frame of a block of atoms is held at a
    time (memory: bytes for one block, default `trajectory.blocks.MEMORY_BUDGET`, or block_atoms atoms per
    block); the power spectra |FFT_t exp(iQ·r_j)|² are summed over the atoms of each error group and the
    vectors of each shell as they come. The other arguments as in `self_intermediate_scattering`.
    """
    with opened(trajectory, dt, format) as src:
        species = src.species_list(species)
        max_lag = src.max_lag(max_lag)
        qs = _self_qset(q, n_directions, src.cells[0])
        t_n = src.n_frames
        nfft = K.nfft_for(t_n, max_lag)
        counts = np.array([len(src.indices(s)) for s in species])
        nb = int(max(1, min(error_blocks, counts.min())))
        fs = np.empty((len(species), qs.n_shells, max_lag))
        fs_blocks = np.empty((len(species), nb, qs.n_shells, max_lag))
        n_per_shell = qs.counts()
        per_q = max(1, _FS_WORK // nfft)  # Q vectors per kernel call (one shell at a time)
        calls = [
            (sh, part)
            for sh in range(qs.n_shells)
            for part in np.array_split(np.flatnonzero(qs.shell == sh), max(1, -(-int(n_per_shell[sh]) // per_q)))
            if part.size
        ]
        for i, s in enumerate(species):
            idx = src.indices(s)
            groups = np.arange(len(idx)) % nb
            power = np.zeros((nb, qs.n_shells, nfft))
            done = 0
            for blk in atom_blocks(idx, t_n, _FS_BYTES, memory, block_atoms):
                r = unwrapped_positions(src, blk)
                g_blk = groups[done : done + len(blk)]
                done += len(blk)
                for sh, qi in calls:
                    per_atoms = max(1, _FS_WORK // (nfft * len(qi)))
                    for a0 in range(0, len(blk), per_atoms):
                        present, local = np.unique(g_blk[a0 : a0 + per_atoms], return_inverse=True)
                        p = K.self_power(r[:, a0 : a0 + per_atoms], qs.vectors[qi], nfft, local, len(present))
                        power[present, sh] += p.sum(axis=1)
                        del p
                del r
            corr = K.power_to_correlation(power, t_n, max_lag)  # (nb, S, lag)
            gcount = np.bincount(groups, minlength=nb)
            fs_blocks[i] = corr / (gcount[:, None, None] * n_per_shell[None, :, None])
            fs[i] = corr.sum(axis=0) / (len(idx) * n_per_shell[:, None])
        return _self_dataset(src, species, qs, counts, fs, fs_blocks, nb, max_lag, isotopes)


# ----------------------------------------------------------------------------- coherent part
def _coherent_qset(traj: Trajectory, q, q_width, max_per_shell, seed) -> QSet:
    cell = traj.cells.mean(axis=0)
    if isinstance(q, QSet):
        qs = q
    else:
        arr = np.asarray(q, dtype=float)
        qs = (
            qpoints_from_list(arr, cell) if arr.ndim == 2 else spherical_shells(cell, arr, q_width, max_per_shell, seed)
        )
    if qs.hkl is None:
        hkl = miller_indices(qs.vectors, cell)
        if hkl is None:
            raise InputError(
                "coherent scattering needs Q vectors commensurate with the cell "
                "(Q = hkl·B with integer hkl); use spherical_shells or |Q| values"
            )
        qs.hkl = hkl
    return qs


def fractional_positions(traj: Trajectory) -> np.ndarray:
    """Fractional coordinates s = r·cell⁻¹ per frame, (T, N, 3)."""
    return np.einsum("fai,fij->faj", traj.positions, np.linalg.inv(traj.cells))


def coherent_intermediate_scattering(
    traj: Trajectory,
    q,
    species=None,
    *,
    q_width: float | None = None,
    max_per_shell: int | None = 64,
    max_lag: int | None = None,
    isotopes: dict | None = None,
    weights: str = "neutron",
    backend: str = "auto",
    seed: int = 0,
) -> xr.Dataset:
    """Coherent F(Q,t): partials F_αβ (Ashcroft–Langreth, per-species normalised) and the weighted total.

    q: |Q| values (Å⁻¹) → shells of commensurate vectors (width `q_width`, at most `max_per_shell`
    per shell), an (M, 3) array of commensurate Q vectors, or a `QSet`. weights: "neutron" (b_coh from
    the pinned table, isotopes as in `neutron_data`) or "number" (b = 1). backend: auto | numba | numpy.
    Positions may be wrapped (Q commensurate). Returns F (species_a, species_b, q, time), F_total (q, time)
    and S(Q) = F_total(Q, 0) as `S_static`.
    """
    species = traj.species_list(species)
    max_lag = traj.max_lag(max_lag)
    qs = _coherent_qset(traj, q, q_width, max_per_shell, seed)
    if weights not in ("neutron", "number"):
        raise InputError(f"weights must be 'neutron' or 'number', got {weights!r}")
    sel = np.concatenate([traj.indices(s) for s in species])
    groups = np.concatenate([np.full(len(traj.indices(s)), i) for i, s in enumerate(species)])
    frac = fractional_positions(traj)[:, sel]
    rho, _ = K.densities(frac, qs.hkl, groups, len(species), None, backend)
    t_n = traj.n_frames
    nfft = K.nfft_for(t_n, max_lag)
    spec = K.cross_spectra(rho, qs.shell, qs.n_shells, nfft)  # (G, G, S, nfft)
    corr = K.power_to_correlation(spec, t_n, max_lag)  # (G, G, S, lag)
    counts = np.array([len(traj.indices(s)) for s in species], dtype=float)
    corr /= qs.counts()[None, None, :, None]
    f_ab = corr / np.sqrt(counts[:, None] * counts[None, :])[:, :, None, None]
    w = neutron_weights(species, counts, isotopes)
    b = w["b_coh"] if weights == "neutron" else np.ones(len(species))
    c = w["atom_fraction"]
    coef = np.sqrt(c[:, None] * c[None, :]) * b[:, None] * b[None, :] / np.sum(c * b * b)
    f_tot = np.einsum("ab,abqt->qt", coef, f_ab)
    time = np.arange(max_lag) * traj.dt
    norm = (
        "F_αβ = (N_α N_β)^-1/2 Re<ρ_α(Q,t)ρ_β(-Q,0)> symmetrised (per-species, not total-N); "
        "F = Σ √(c_α c_β) b_α b_β F_αβ / Σ c_α b_α²"
    )
    ds = xr.Dataset(
        {
            "F": (
                ("species_a", "species_b", "q", "time"),
                f_ab,
                {"units": units.DIMENSIONLESS, "normalisation": norm, "long_name": "coherent partial F_αβ(Q,t)"},
            ),
            "F_total": (
                ("q", "time"),
                f_tot,
                {
                    "units": units.DIMENSIONLESS,
                    "normalisation": norm,
                    "long_name": f"{weights}-weighted coherent F(Q,t)",
                },
            ),
            "S_static": ("q", f_tot[:, 0], {"units": units.DIMENSIONLESS, "long_name": "S(Q) = F(Q,0)"}),
            "atom_fraction": ("species_a", c, {"units": units.DIMENSIONLESS}),
            "b_coh": ("species_a", b, {"units": "fm" if weights == "neutron" else units.DIMENSIONLESS}),
            "q_mean": ("q", qs.mean_norm(), {"units": INV_A}),
            "n_qvectors": ("q", qs.counts(), {"units": units.DIMENSIONLESS}),
        },
        coords={
            "species_a": species,
            "species_b": species,
            "q": ("q", qs.q, {"units": INV_A}),
            "time": ("time", time, {"units": units.TIME}),
        },
    )
    temp = _temperature(traj, None)
    ds.attrs.update(
        analysis="coherent_intermediate_scattering",
        normalisation=norm,
        weights=weights,
        q_method=qs.method,
        q_info=qs.info,
        dt_fs=traj.dt,
        n_frames=t_n,
        max_lag=max_lag,
        time_origins="all (FFT); lag m averaged over n_frames − m origins",
        isotopes=dict(isotopes or {}),
        cross_sections=XS_REFERENCE,
        backend=backend,
        temperature=temp if temp is not None else "unknown",
    )
    return ds


# ----------------------------------------------------------------------------- spectra
def time_to_energy(c: np.ndarray, dt_fs: float, pad: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided spectrum S(E) = (2πħ)⁻¹ ∫ c(t) e^{−iEt/ħ} dt of an even function sampled at t ≥ 0.

    c: (M, ...) (already multiplied by the lag window). Zero padding by `pad` refines the energy grid (interpolation).
    Returns (E (2K−1,) meV, S (2K−1, ...) 1/meV); the trapezoid integral over E equals c(0).
    """
    m = c.shape[0]
    cp = np.concatenate([c, np.zeros(((pad - 1) * m,) + c.shape[1:])], axis=0) if pad > 1 else c
    nu, spec = cosine_transform(cp, dt_fs)  # ν in 1/fs; one-sided, ∫ spec dν = c(0)
    e = nu * H_MEV_FS
    s = spec / (2.0 * H_MEV_FS)
    e2 = np.concatenate([-e[:0:-1], e])
    s2 = np.concatenate([s[:0:-1], s], axis=0)
    return e2, s2


def detailed_balance_factor(energy_mev, temperature_k: float) -> np.ndarray:
    """exp(E/2k_BT): classical (symmetric) S → quantum S with S(−E) = e^{−E/k_BT} S(E), E energy gain
    of the sample (neutron energy loss) positive.
    """
    kt = units.KB_EV * 1e3 * float(temperature_k)
    return np.exp(np.asarray(energy_mev) / (2.0 * kt))


@renamed_keyword(window="lag_window")
def dynamic_structure_factor(
    fqt: xr.Dataset,
    variables=None,
    *,
    lag_window: str = "hann",
    resolution=None,
    instrument: Instrument | None = None,
    temperature: float | None = None,
    detailed_balance: bool = False,
    pad: int = 4,
    energy_window=None,
    q_range=None,
) -> xr.Dataset:
    """S(Q,E) (1/meV, E in meV) from F(Q,t) variables of `fqt` ('F_s', 'F_inc', 'F', 'F_total' …).

    lag_window: applied to F before the transform (hann, blackman, triangle, none).
    resolution: Gaussian FWHM in meV, a Resolution, or (E, R); `instrument` supplies resolution, energy
    window (the measured energy range) and Q range at once (explicit arguments win). detailed_balance
    multiplies by exp(E/2k_BT) (temperature from the argument or the trajectory metadata). Errors S_*_err come from the
    independent atom blocks when the input has them.
    """
    lag_windows.check_lag_window(lag_window)
    if pad < 1:
        raise InputError(f"pad must be ≥ 1, got {pad}")
    if instrument is not None:
        resolution = instrument.resolution if resolution is None else resolution
        energy_window = instrument.energy_window if energy_window is None else energy_window
        q_range = instrument.q_range if q_range is None else q_range
    res = as_resolution(resolution)
    if variables is None:
        variables = [v for v in ("F_s", "F_inc", "F", "F_total") if v in fqt]
    if isinstance(variables, str):
        variables = [variables]
    t = fqt.time.values
    dt = float(t[1] - t[0])
    w = lag_windows.lag_window(lag_window, len(t))
    rt = res.time_factor(t) if res is not None else None
    tw = w * (rt if rt is not None else 1.0)

    def transform(da: xr.DataArray):
        dims = [d for d in da.dims if d != "time"]
        arr = da.transpose("time", *dims).values * tw.reshape((-1,) + (1,) * len(dims))
        e, s = time_to_energy(arr, dt, pad)
        if res is not None and rt is None:
            s = res.convolve(e, s, axis=0)
        return e, np.moveaxis(s, 0, -1), dims

    out: dict[str, tuple] = {}
    energy = None
    for v in variables:
        if v not in fqt:
            raise InputError(f"{v!r} is not in the dataset; it has {', '.join(map(str, fqt.data_vars))}")
        energy, s, dims = transform(fqt[v])
        name = "S" + v[1:]
        out[name] = (tuple(dims) + ("energy",), s, {"units": "meV-1", "long_name": f"Fourier transform of {v}"})
        blocks = f"{v}_blocks"
        if blocks in fqt:
            _, sb, bdims = transform(fqt[blocks])
            ax = bdims.index("block")
            nb = sb.shape[ax]
            err = sb.std(axis=ax, ddof=1) / np.sqrt(nb) if nb > 1 else np.full(np.delete(sb.shape, ax), np.nan)
            out[name + "_err"] = (
                tuple(d for d in bdims if d != "block") + ("energy",),
                err,
                {"units": "meV-1", "long_name": "standard error from atom blocks"},
            )
    e1, r_eff = time_to_energy(tw[:, None], dt, pad)
    r_eff = r_eff[:, 0]
    if res is not None and rt is None:
        r_eff = res.convolve(e1, r_eff)
    out["resolution"] = (
        "energy",
        r_eff,
        {"units": "meV-1", "long_name": "effective elastic line (lag window × resolution), unit area"},
    )
    temp = temperature if temperature is not None else fqt.attrs.get("temperature")
    if isinstance(temp, str):
        temp = None
    if detailed_balance:
        if temp is None:
            raise InputError(
                "detailed balance needs the temperature: pass temperature=… (K) or store it in the trajectory metadata"
            )
        fac = detailed_balance_factor(energy, temp)
        for k in list(out):
            if k != "resolution":
                dims_k, arr, attrs = out[k]
                out[k] = (dims_k, arr * fac, attrs)
    coords: dict[str, Any] = {str(d): fqt.coords[d] for d in fqt.coords if d not in ("time",)}
    coords["energy"] = ("energy", energy, {"units": units.ENERGY_MEV, "long_name": "energy transfer to the sample ħω"})
    ds = xr.Dataset(out, coords=coords)
    ds = ds.drop_vars([c for c in ds.coords if "time" in ds[c].dims], errors="ignore")
    if energy_window is not None:
        lo, hi = map(float, energy_window)
        ds = ds.sel(energy=slice(lo, hi))
    if q_range is not None and "q" in ds.dims:
        lo, hi = map(float, q_range)
        ds = ds.isel(q=np.flatnonzero((ds.q.values >= lo) & (ds.q.values <= hi)))
    eff_fwhm = _fwhm(energy, r_eff)
    ds.attrs.update(dict(fqt.attrs))
    ds.attrs.update(
        analysis="dynamic_structure_factor",
        lag_window=lag_window,
        pad=pad,
        resolution=res.describe() if res is not None else "none",
        resolution_fwhm_meV=float(res.fwhm) if res is not None else 0.0,
        effective_resolution_fwhm_meV=eff_fwhm,
        max_lag_time_fs=float(t[-1] - t[0]),  # t_max: a QENS Γ < ħ/t_max is not resolved (qens.resolution_limit)
        detailed_balance="exp(E/2k_BT)" if detailed_balance else "none (classical, symmetric in E)",
        spectrum_normalisation="S(Q,E) = (2πħ)^-1 ∫ F w R e^{-iEt/ħ} dt, ∫ S dE = F(Q,0) (before detailed "
        "balance); E in meV, positive = energy given to the sample",
        energy_window_meV=list(energy_window) if energy_window is not None else "full",
        q_range_invA=list(q_range) if q_range is not None else "all",
    )
    if temp is not None:
        ds.attrs["temperature"] = float(temp)
    return ds


def _fwhm(e, r) -> float:
    from ..neutron.instrument import _fwhm as f

    return f(np.asarray(e), np.asarray(r))


def effective_resolution(sqe: xr.Dataset) -> Resolution:
    """The elastic line of a simulated spectrum as a TabulatedResolution (for QENS fits)."""
    from ..neutron.instrument import TabulatedResolution

    return TabulatedResolution(sqe.energy.values, sqe.resolution.values)
