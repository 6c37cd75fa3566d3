"""Thermal conductivity of the NMD modes: the phonon-gas (Peierls–Boltzmann, relaxation-time) estimate and its
coherence (Allen–Feldman / quasi-harmonic Green–Kubo) complement, with the lifetimes measured by the NMD.

Inputs: the harmonic reference of the NMD (`superionic.lattice.nmd.ModeReference`: frequencies ν_λ (THz) and
eigenvectors e_λ of the MD cell at its commensurate q, equilibrium sites r_a (Å)) and the NMD result (per-mode
linewidth Γ_λ, THz, FWHM of the mode's DHO line, thermostat subtracted).

Velocity operator (docs/nmd.md). The mass-weighted dynamical matrix of the MD cell is rebuilt from the reference,
D = Σ_λ ω_λ² e_λ e_λ† (ω = 2πν, rad/ps; a (q, −q) pair stored once contributes e and e*), and differentiated
with respect to a Bloch wavevector k of the MD cell at k = 0, with the phase on the atomic positions
(minimum image Δr_ab = r_b − r_a):

    ∂D_ab/∂k_α = i D_ab Δr_ab,α,      V^α_λλ' = e_λ† (∂D/∂k_α) e_λ' / (2 √(ω_λ ω_λ'))      (Å/ps)

Its diagonal is the group velocity ∂ω/∂k of the mode (Hellmann–Feynman: the band of the MD cell at q is the
band of the primitive cell at q, so this equals phonopy's group velocity at that q; tests/test_phonon_gas.py).
It couples only modes at the same q. Degenerate modes (|Δν| < `degenerate_thz`) are summed as a block, which makes
every number independent of how eigh chose the basis of a degenerate subspace.

Lifetime: Γ is the FWHM in THz of the mode's velocity (= kinetic-energy) spectrum; the DHO's energy decays at the
angular rate γ = 2πΓ, so τ_λ = 1/(2πΓ_λ) (ps).

Conductivity, W/(m·K), the trace /3 of (classical: c = k_B per pair; quantum: the QHGK heat capacity c_λλ')

    κ^αα = (1/V) Σ_q w_q Σ_{λλ' at q} c_λλ' |V^α_λλ'|² τ_λλ',
    τ_λλ' = ½(γ_λ + γ_λ') / ((ω_λ − ω_λ')² + ¼(γ_λ + γ_λ')²)          (τ_λλ = 1/γ_λ = τ_λ)

split in the **phonon gas** κ_gas = the pairs within a degenerate block (for a non-degenerate mode: c v_g² τ, the
relaxation-time Boltzmann κ = (1/3V) Σ c |v_g|² τ), and the **coherences** κ_coh = all other pairs (heat carried
between modes closer than their linewidths; the Allen–Feldman diffusons when the lines overlap; Isaeva et al.,
Nat. Commun. 10, 3853 (2019); Simoncelli, Marzari, Mauri, Nat. Phys. 15, 809 (2019)). V: the MD cell's volume
(Å³), w_q = 2 for a row that stands for q and −q.

Which modes: the fitted ones with ν > TRANSLATION_THRESHOLD_THZ (translations, imaginary and unfitted modes are
left out and counted). A resolved width enters as measured; an unresolved one at its upper bound Γ_upper, so its
τ, and the κ of the pairs it enters, are LOWER bounds (`kappa_unresolved` says how much of κ that is). An
overdamped mode (Γ/2 > ν₀) is no quasiparticle: κ is given with it (`kappa_*`) and without it
(`kappa_*_underdamped`: every pair that involves an overdamped mode left out), the two bracketing what a gas of
propagating phonons can carry.

Limits: only the q the MD cell carries (a 2×2×2 cubic cell carries only time-reversal-invariant q, where every
non-degenerate group velocity vanishes); the reference of a disordered frame (no symmetry: every eigenvector real
and non-degenerate) has v_g = 0 for every mode, so its κ_gas is 0 by construction and all its κ is coherence;
harmonic ω and eigenvectors with anharmonic widths (the quasi-harmonic approximation); the minimum image must be
unique (the force constants shorter-ranged than half the cell: `image_ambiguous_weight`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import xarray as xr

from .. import units
from ..errors import InputError
from .nmd import TRANSLATION_THRESHOLD_THZ, ModeReference

#: W/(m·K) per [k_B · (Å/ps)² · ps / Å³] = k_B[J/K] · 1e4 · 1e-12 / 1e-30
KAPPA_UNIT = units.KB_J * 1e22
#: modes at the same q closer than this (THz) form one degenerate block (summed as a whole)
DEGENERATE_THZ = 1e-3
#: a pair farther apart than this fraction of the smallest cell height has an ambiguous minimum image
AMBIGUOUS_FRACTION = 0.45


def _min_image_vectors(sites: np.ndarray, cell: np.ndarray) -> np.ndarray:
    """(atoms, atoms, 3) Å: r_b − r_a, minimum image of the cell (rows are lattice vectors)."""
    frac = sites @ np.linalg.inv(cell)
    d = frac[None, :, :] - frac[:, None, :]
    d -= np.round(d)
    return d @ cell


def _cell_heights(cell: np.ndarray) -> np.ndarray:
    """Distances (Å) between opposite faces of the cell."""
    vol = abs(float(np.linalg.det(cell)))
    return np.array([vol / np.linalg.norm(np.cross(cell[(i + 1) % 3], cell[(i + 2) % 3])) for i in range(3)])


def dynamical_matrix(reference: ModeReference) -> np.ndarray:
    """The mass-weighted dynamical matrix of the MD cell, (3N × 3N) in (rad/ps)², rebuilt from the reference's
    modes: D = Σ_λ ω_λ² e_λ e_λ† over all 3N modes (a row of weight 2 is the pair e, e*); ω² < 0 for an imaginary
    mode. Real symmetric.
    """
    lam = np.sign(reference.frequencies_thz) * (2 * math.pi * reference.frequencies_thz) ** 2
    e = reference.eigenvectors.reshape(reference.n_modes, -1)
    pair = reference.weight == 2
    d = (e.T * lam) @ e.conj()
    if pair.any():
        d = d + np.conj((e[pair].T * lam[pair]) @ e[pair].conj())
    if np.abs(d.imag).max() > 1e-6 * max(np.abs(d).max(), 1e-30):  # pragma: no cover - reference guard
        raise InputError("the reference's modes do not rebuild a real dynamical matrix: not a complete basis")
    d = d.real
    return 0.5 * (d + d.T)


def velocity_matrices(
    reference: ModeReference, modes: np.ndarray | None = None
) -> tuple[list[np.ndarray], list[np.ndarray], dict[str, float]]:
    """Velocity operator V^α_λλ' (Å/ps) between the modes of each q of the reference.

    modes: boolean mask (modes,) of the rows used (default: ν > TRANSLATION_THRESHOLD_THZ). Returns (blocks,
    matrices, info): blocks[g] the row indices at one q, matrices[g] (3, n, n) complex, and info with
    `image_ambiguous_weight`: the share of Σ|D_ab|² (a ≠ b) in pairs farther apart than AMBIGUOUS_FRACTION of the
    smallest cell height (the minimum image may then be the wrong one; small is good).
    """
    nu = reference.frequencies_thz
    use = (nu > TRANSLATION_THRESHOLD_THZ) if modes is None else np.asarray(modes, dtype=bool)
    if use.shape != nu.shape:
        raise InputError(f"the mode mask has shape {use.shape}, the reference {nu.shape}")
    if np.any(use & (nu <= 0)):
        raise InputError("the velocity operator needs real frequencies: mask out imaginary and zero modes")
    n_atoms = reference.n_atoms
    d = dynamical_matrix(reference)
    dr = _min_image_vectors(np.asarray(reference.sites, dtype=float), np.asarray(reference.cell, dtype=float))
    dist = np.linalg.norm(dr, axis=-1)
    block = np.abs(d.reshape(n_atoms, 3, n_atoms, 3)) ** 2
    per_pair = block.sum(axis=(1, 3))
    np.fill_diagonal(per_pair, 0.0)
    far = dist > AMBIGUOUS_FRACTION * _cell_heights(np.asarray(reference.cell, dtype=float)).min()
    total = float(per_pair.sum())
    info = {"image_ambiguous_weight": float(per_pair[far].sum() / total) if total > 0 else 0.0}
    e = reference.eigenvectors.reshape(reference.n_modes, -1)
    omega = 2 * math.pi * nu
    keys = np.round(reference.q * 1e6).astype(np.int64)
    blocks, mats = [], []
    order = np.flatnonzero(use)
    _, first, inverse = np.unique(keys[order], axis=0, return_index=True, return_inverse=True)
    for g in np.argsort(first):
        rows = order[np.ravel(inverse) == g]
        eg = e[rows]  # (n, 3N)
        real = bool(np.abs(eg.imag).max() == 0)
        scale = 1.0 / (2 * np.sqrt(np.outer(omega[rows], omega[rows])))
        v = np.empty((3, len(rows), len(rows)), dtype=complex)
        for a in range(3):
            ad = d * np.repeat(np.repeat(dr[:, :, a], 3, axis=0), 3, axis=1)  # ∂D/∂k_α = i · this
            if real:
                v[a] = 1j * (eg.real @ ad @ eg.real.T)
            else:
                v[a] = 1j * (eg.conj() @ ad @ eg.T)
            v[a] *= scale
        blocks.append(rows)
        mats.append(v)
    return blocks, mats, info


def _heat_capacity_pairs(omega: np.ndarray, temperature: float, quantum: bool) -> np.ndarray:
    """c_λλ'/k_B: 1 classically; quantum the QHGK c = (ħωω'/T)(n − n')/(ω' − ω), → x²eˣ/(eˣ−1)² on the diagonal
    (x = ħω/k_BT); ω in rad/ps.
    """
    n = len(omega)
    if not quantum:
        return np.ones((n, n))
    x = units.HBAR_MEV_PS * 1e-3 * omega / (units.KB_EV * temperature)
    occ = 1.0 / np.expm1(x)
    diag = x**2 * np.exp(x) * occ**2
    with np.errstate(divide="ignore", invalid="ignore"):
        c = np.outer(x, x) * (occ[:, None] - occ[None, :]) / (x[None, :] - x[:, None])
    close = np.abs(x[:, None] - x[None, :]) < 1e-6 * np.maximum(x[:, None], 1e-12)
    mean = 0.5 * (diag[:, None] + diag[None, :])
    return np.where(close, mean, c)


def phonon_gas_kappa(
    reference: ModeReference,
    ds: xr.Dataset,
    *,
    quantum: bool = False,
    temperature: float | None = None,
    degenerate_thz: float = DEGENERATE_THZ,
) -> xr.Dataset:
    """Thermal conductivity (W/(m·K)) of the NMD modes: phonon gas, coherences, with and without the overdamped
    modes (module docstring). reference: the ModeReference the NMD `ds` was computed with (same rows). quantum:
    quantum heat capacities at `temperature` (K; default the run's), else classical c = k_B (the MD's statistics).

    Returns a Dataset over `mode`: group_speed_squared (Σ_α of the degenerate block's |V|², Å²/ps²), lifetime
    (ps), kappa_gas_mode, kappa_coherence_mode (half of each pair's share), used, lower_bound; attrs: the totals
    kappa_gas, kappa_coherence, kappa_total, their *_underdamped variants, kappa_unresolved (the part of
    kappa_total from pairs with an unresolved width: a lower bound), the tensor diagonal, counts, conventions.
    """
    n = reference.n_modes
    if ds.sizes.get("mode") != n or not np.allclose(ds.harmonic_frequency.values, reference.frequencies_thz):
        raise InputError("the NMD result was not computed with this reference (other modes): give the same one")
    if not (math.isfinite(degenerate_thz) and degenerate_thz >= 0):
        raise InputError(f"the degeneracy tolerance must be ≥ 0 THz, got {degenerate_thz:g}")
    temp = float(ds.attrs.get("temperature_K", np.nan)) if temperature is None else float(temperature)
    if quantum and not (math.isfinite(temp) and temp > 0):
        raise InputError("quantum heat capacities need a temperature (K)")
    nu = reference.frequencies_thz
    fitted = ds.fitted.values.astype(bool)
    resolved = ds.resolved.values.astype(bool)
    over = ds.overdamped.values.astype(bool)
    use = fitted & (nu > TRANSLATION_THRESHOLD_THZ)
    gamma_thz = np.where(resolved, ds.gamma_intrinsic.values, ds.gamma_upper.values)
    use &= np.isfinite(gamma_thz) & (gamma_thz > 0)
    lower = use & ~resolved
    blocks, mats, info = velocity_matrices(reference, use)
    vol = abs(float(np.linalg.det(reference.cell)))
    omega_all = 2 * math.pi * nu
    gam_all = 2 * math.pi * np.where(use, gamma_thz, np.nan)  # 1/ps
    names = ("gas", "coherence", "gas_underdamped", "coherence_underdamped", "unresolved")
    tensor = {k: np.zeros(3) for k in names}
    v2 = np.full(n, np.nan)
    k_gas_mode = np.zeros(n)
    k_coh_mode = np.zeros(n)
    for rows, v in zip(blocks, mats):
        w = float(reference.weight[rows[0]])
        om, ga = omega_all[rows], gam_all[rows]
        half = 0.5 * (ga[:, None] + ga[None, :])
        tau = half / ((om[:, None] - om[None, :]) ** 2 + half**2)  # ps
        c = _heat_capacity_pairs(om, temp, quantum)
        deg = np.abs(nu[rows][:, None] - nu[rows][None, :]) <= degenerate_thz
        ok_pair = ~(over[rows][:, None] | over[rows][None, :])
        low_pair = lower[rows][:, None] | lower[rows][None, :]
        mag = np.abs(v) ** 2  # (3, n, n)
        term = mag * (c * tau)[None] * w * KAPPA_UNIT / vol  # W/(m·K) per pair and direction
        for a in range(3):
            t = term[a]
            tensor["gas"][a] += t[deg].sum()
            tensor["coherence"][a] += t[~deg].sum()
            tensor["gas_underdamped"][a] += t[deg & ok_pair].sum()
            tensor["coherence_underdamped"][a] += t[~deg & ok_pair].sum()
            tensor["unresolved"][a] += t[low_pair].sum()
        v2[rows] = np.sum(np.where(deg[None], mag, 0.0), axis=(0, 2))
        tsum = term.sum(axis=0) / 3
        k_gas_mode[rows] = np.where(deg, tsum, 0.0).sum(axis=1)
        k_coh_mode[rows] = np.where(~deg, tsum, 0.0).sum(axis=1)
    tot = {k: float(t.mean()) for k, t in tensor.items()}
    tau_mode = np.where(use, 1.0 / gam_all, np.nan)
    md = ("mode",)
    wk = "W m-1 K-1"
    data = {
        "harmonic_frequency": (md, nu, {"units": units.FREQUENCY}),
        "weight": (md, reference.weight, {"units": units.DIMENSIONLESS}),
        "used": (md, use, {"units": units.DIMENSIONLESS, "long_name": "fitted, ν > 0, with a width"}),
        "overdamped": (md, over, {"units": units.DIMENSIONLESS}),
        "lower_bound": (
            md,
            lower,
            {"units": units.DIMENSIONLESS, "long_name": "width unresolved: τ (and its κ) a lower bound"},
        ),
        "lifetime": (md, tau_mode, {"units": "ps", "long_name": "τ = 1/(2πΓ), Γ the intrinsic FWHM in THz"}),
        "group_speed_squared": (
            md,
            v2,
            {"units": "angstrom2 ps-2", "long_name": "Σ_α Σ_λ'∈degenerate block |V^α_λλ'|² (= |v_g|²)"},
        ),
        "kappa_gas_mode": (md, k_gas_mode, {"units": wk, "long_name": "the mode's phonon-gas κ (×weight, /3 trace)"}),
        "kappa_coherence_mode": (
            md,
            k_coh_mode,
            {"units": wk, "long_name": "half of the coherence κ of the pairs the mode enters"},
        ),
    }
    attrs: dict[str, Any] = {
        "analysis": "phonon_gas",
        "temperature_K": temp,
        "heat_capacity": "quantum (QHGK c_λλ')" if quantum else "classical, k_B per mode",
        "volume_angstrom3": vol,
        "kappa_gas": tot["gas"],
        "kappa_coherence": tot["coherence"],
        "kappa_total": tot["gas"] + tot["coherence"],
        "kappa_gas_underdamped": tot["gas_underdamped"],
        "kappa_coherence_underdamped": tot["coherence_underdamped"],
        "kappa_total_underdamped": tot["gas_underdamped"] + tot["coherence_underdamped"],
        "kappa_unresolved": tot["unresolved"],
        "kappa_gas_diagonal": tensor["gas"].tolist(),
        "kappa_total_diagonal": (tensor["gas"] + tensor["coherence"]).tolist(),
        "kappa_units": wk,
        "n_used": int(np.sum(reference.weight[use])),
        "n_lower_bound": int(np.sum(reference.weight[lower])),
        "n_overdamped": int(np.sum(reference.weight[use & over])),
        "n_left_out": int(np.sum(reference.weight[~use])),
        "degenerate_THz": float(degenerate_thz),
        "image_ambiguous_weight": info["image_ambiguous_weight"],
        "conventions": "τ = 1/(2πΓ) with Γ the FWHM (THz) of the mode's line; τ_λλ' = ½(γ+γ')/((ω−ω')²+¼(γ+γ')²), "
        "γ = 2πΓ; v from ∂D/∂k at k = 0 (phase on atomic positions, minimum image); κ = trace/3",
    }
    return xr.Dataset(data, coords={"mode": ("mode", np.arange(n), {"units": units.DIMENSIONLESS})}, attrs=attrs)


def kappa_summary(kds: xr.Dataset) -> dict[str, Any]:
    """JSON-ready totals of `phonon_gas_kappa` (W/(m·K))."""
    a = kds.attrs
    keys = (
        "kappa_gas",
        "kappa_coherence",
        "kappa_total",
        "kappa_gas_underdamped",
        "kappa_coherence_underdamped",
        "kappa_total_underdamped",
        "kappa_unresolved",
        "n_used",
        "n_lower_bound",
        "n_overdamped",
        "n_left_out",
        "image_ambiguous_weight",
    )
    out: dict[str, Any] = {k: (float(a[k]) if "kappa" in k or "weight" in k else int(a[k])) for k in keys}
    out["heat_capacity"] = str(a["heat_capacity"])
    out["units"] = "W/(m·K)"
    return out


def attach_kappa(ds: xr.Dataset, kds: xr.Dataset) -> xr.Dataset:
    """The NMD result `ds` with the per-mode lifetime, group speed² and κ shares of `kds` (phonon_gas_kappa of
    it) as variables, and its totals as attrs `kappa_*` (W/(m·K)); `nmd_summary` then reports them.
    """
    out = ds.copy()
    for name in ("lifetime", "group_speed_squared", "kappa_gas_mode", "kappa_coherence_mode"):
        out[name] = ("mode", kds[name].values, dict(kds[name].attrs))
    for key, value in kds.attrs.items():
        if key.startswith("kappa_") or key in ("heat_capacity", "image_ambiguous_weight"):
            out.attrs[key if key.startswith("kappa_") else f"kappa_{key}"] = value
    return out
