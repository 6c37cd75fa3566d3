"""Damping of the host's acoustic phonons from its current correlations: an overdamping measure that needs no
reference structure (docs/acoustic_damping.md).

The NMD (superionic.lattice.nmd) projects the velocities on the harmonic modes of a reference structure; where
the mobile ions leave their sites (α-AgI, β-Li3PS4) most of its verdicts stay undecided. The long-wavelength
acoustic modes of the host framework need no reference. The momentum current of the host atoms (every species
that is not mobile) at a commensurate wave vector Q,

    J(Q,t) = Σ_{j∈host} m_j v_j(t) exp(iQ·r_j(t)),

split into its longitudinal part J_L = Q̂·J and its transverse parts J_T1 = e₁·J, J_T2 = e₂·J (e₁ a Cartesian axis
⟂ Q where one exists, so that along ⟨110⟩ of a cubic crystal T1 and T2 are its two transverse branches), has the
correlation

    C_b(Q,t) = Re⟨J_b(Q,t) J_b*(Q,0)⟩ / Σ_j m_j        (amu Å²/fs², per direction)

whose value at t = 0 is k_B T by equipartition (`current_temperature` is C(Q,0)/k_B, a check of the run). Each
branch b ∈ {T1, T2, L} at each of the `n_shells` smallest commensurate |Q| shells is fitted with the damped harmonic
oscillator (DHO) of `superionic.lattice.nmd.dho_velocity_acf`: the spectrum of w(t)·B·c_DHO(t; ν₀, Γ) transformed
exactly as the data were (lag window w included), so that Γ is not broadened by the resolution. Γ is the FWHM
of the DHO's current spectrum (THz); a Langevin thermostat of friction γ_L damps every current by exactly
Γ_L = γ_L/2π, which is subtracted: Γ_int = Γ − Γ_L. **Overdamped: Γ_int/2 > ν₀**, the criterion of the NMD and of
`superionic.analysis.currents`.

Errors: the run is cut into `n_blocks` time blocks; a unit is one (wave vector, block), the correlations of the
units of a shell are averaged and fitted, and the errors of ν₀, Γ and of d = Γ_int/2 − ν₀ are jackknife errors over
the units (leave one out). The verdict is decided when |z| = |d|/σ_d > 2; with fewer than three units it is
undecided. A spectrum that is not one DHO line (the fit misses more than SINGLE_LINE_MISFIT of it: zone-folded optic
modes, split branches, inequivalent wave vectors of equal |Q|) is undecided and left out of the overdamped fraction,
which weights each (shell, branch) row by its wave vectors, its error binomial over the rows. Along a direction
without a Cartesian axis ⟂ Q (e.g. ⟨111⟩ of a non-cubic cell) T1 and T2 mix the two transverse branches: their DHO
width then includes the splitting (an upper bound on the damping).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import xarray as xr
from scipy.optimize import least_squares

from .. import units
from ..analysis import _scatter_kernels as K
from ..analysis import lag_windows
from ..analysis.finite_size import check_periodic_cell, host_species, species_currents
from ..analysis.qpoints import commensurate_shells
from ..analysis.scattering import time_to_energy
from ..carriers import MOBILE_IONS
from ..errors import InputError
from ..trajectory.blocks import opened
from .nmd import DECIDED_Z, GAMMA_MIN_FRACTION, dho_velocity_acf, thermostat_friction

METHOD = (
    "DHO fits (lag window modelled) of the transverse and longitudinal momentum-current correlations of the host "
    "at the smallest commensurate |Q| shells; jackknife over (wave vector, time block)"
)
#: a fit that leaves more than this share of the spectrum (Σ|fit − data| / Σ data over the fitted bins) is not one
#: DHO line (branches or zone-folded optic modes in one spectrum, inequivalent wave vectors in one shell): its verdict
#: is undecided and it is left out of the overdamped fraction. An exact DHO leaves 0.03–0.09 (4000-frame runs)
SINGLE_LINE_MISFIT = 0.3
#: fewest frames of a time block
MIN_BLOCK_FRAMES = 32
#: the fit covers ν ≤ max(3 ν_peak, 2 ν_half), ν_half the upper half-maximum of the spectrum, at least this many bins
MIN_FIT_BINS = 12
_BRANCHES = ("T1", "T2", "L")


def _transverse_basis(qhat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two unit vectors (M, 3) perpendicular to each Q̂ and to each other: e₁ a Cartesian axis ⟂ Q̂ where one
    exists (Q in a mirror plane of a cubic, tetragonal or orthorhombic crystal: e₁ and e₂ are then its two transverse
    eigenvectors, e.g. [001] and [1-10] along [110]), else any; e₂ = Q̂ × e₁.
    """
    e1 = np.empty_like(qhat)
    for m, q in enumerate(qhat):
        zero = np.nonzero(np.abs(q) < 1e-9)[0]
        if len(zero):
            e1[m] = np.eye(3)[zero[-1]]
        else:
            e1[m] = np.cross(q, np.eye(3)[int(np.argmin(np.abs(q)))])
            e1[m] /= np.linalg.norm(e1[m])
    return e1, np.cross(qhat, e1)


def _block_correlations(x: np.ndarray, n_blocks: int, block: int, max_lag: int) -> np.ndarray:
    """Re⟨x(t) x*(0)⟩ per time block and column: x (T, …) complex → (n_blocks, …, max_lag)."""
    nfft = K.nfft_for(block, max_lag)
    out = []
    for b in range(n_blocks):
        seg = x[b * block : (b + 1) * block]
        power = np.abs(np.fft.fft(seg, n=nfft, axis=0)) ** 2
        out.append(K.power_to_correlation(np.moveaxis(power, 0, -1), block, max_lag))
    return np.stack(out)


class _Spectrum:
    """The spectrum (ν ≥ 0, THz; amu Å²/fs² per THz) of a lag-windowed correlation, as the data are transformed."""

    def __init__(self, window: np.ndarray, dt_fs: float, pad: int):
        self.w, self.dt, self.pad = window, dt_fs, pad
        self.t_ps = np.arange(len(window)) * dt_fs * 1e-3
        e, _ = time_to_energy(window[:, None], dt_fs, pad)
        self.keep = e >= 0
        self.nu = e[self.keep] / units.THZ_TO_MEV

    def __call__(self, c: np.ndarray) -> np.ndarray:
        _, s = time_to_energy(self.w * c, self.dt, self.pad)
        return s[self.keep] * units.THZ_TO_MEV

    def dho(self, amplitude: float, nu0: float, gamma: float) -> np.ndarray:
        return amplitude * self(dho_velocity_acf(self.t_ps, nu0, gamma))


def _fit_window(nu: np.ndarray, s: np.ndarray) -> int:
    """Number of bins fitted: ν ≤ max(3 ν_peak, 2 ν_half), at least MIN_FIT_BINS."""
    pk = int(np.argmax(s[1:])) + 1
    below = np.nonzero(s[pk:] < 0.5 * s[pk])[0]
    nu_half = nu[pk + below[0]] if len(below) else nu[-1]
    top = max(3 * nu[pk], 2 * nu_half)
    return max(MIN_FIT_BINS, int(np.searchsorted(nu, top, side="right")))


def _fit(spec: _Spectrum, c: np.ndarray, start: tuple[float, float, float] | None = None) -> tuple[np.ndarray, int]:
    """Least-squares DHO fit (B amu Å²/fs², ν₀ THz, Γ THz) of the spectrum of correlation c; returns (params, bins)."""
    s = spec(c)
    n = _fit_window(spec.nu, s)
    nu, y = spec.nu[:n], s[:n]
    scale = float(np.max(np.abs(y))) or 1.0

    def resid(p):
        return (spec.dho(*p)[:n] - y) / scale

    if start is None:
        pk = int(np.argmax(y[1:])) + 1
        half = nu[y >= 0.5 * y[pk]]
        width = max(float(half.max() - half.min()), 2 * float(nu[1]))
        starts = [(float(c[0]), float(nu[pk]), g) for g in (width, 0.3 * width, 3 * width)]
    else:
        starts = [start]
    best = None
    for p0 in starts:
        r = least_squares(resid, p0, bounds=([0, 0, 0], [np.inf, np.inf, np.inf]), x_scale="jac", max_nfev=400)
        if best is None or r.cost < best.cost:
            best = r
    assert best is not None
    return best.x, n


def _jackknife_error(leave_one_out: np.ndarray) -> float:
    """Jackknife σ from the n leave-one-out estimates: √((n − 1)/n Σ (θ_i − θ̄)²)."""
    n = len(leave_one_out)
    return float(np.sqrt((n - 1) / n * np.sum((leave_one_out - leave_one_out.mean()) ** 2)))


def acoustic_damping(
    trajectory: Any,
    species: str | list[str] | None = None,
    mobile=MOBILE_IONS,
    *,
    n_shells: int = 4,
    n_blocks: int = 4,
    max_lag: int | None = None,
    lag_window: str = "hann",
    pad: int = 4,
    friction_per_fs: float | None = None,
    temperature: float | None = None,
    shell_tol: float = 0.02,
    backend: str = "auto",
    dt: float | None = None,
) -> xr.Dataset:
    """Frequency ν₀, damping Γ and overdamping verdict of the host's acoustic modes at the smallest |Q|.

    trajectory: a path, Trajectory or FrameSource with velocities (read in time chunks). species: the atoms that
    carry the phonon (default every species not in `mobile`; the only species if there is one). n_shells: |Q|
    shells fitted (smallest first). n_blocks: time blocks of the jackknife; max_lag: correlation lags in frames
    (default half a block). friction_per_fs: the Langevin friction of the run (1/fs; default from the
    trajectory's metadata, 0: none). temperature: K for `current_temperature`'s check (default: the file's).

    Returns a Dataset over (shell, branch): q (Å⁻¹), n_vectors, nu0 ± err, gamma ± err, gamma_intrinsic (THz),
    overdamped, overdamped_z, decided, current_temperature (K); the spectra and fitted curves over
    (shell, branch, frequency); the overdamped fraction and the undecided share in attrs.
    """
    if n_blocks < 1:
        raise InputError(f"n_blocks must be ≥ 1, got {n_blocks}")
    lag_windows.check_lag_window(lag_window)
    with opened(trajectory, dt) as src:
        src.require_velocities()
        cell = check_periodic_cell(src, "the acoustic damping")
        species = src.species_list(host_species(src, mobile) if species is None else species)
        block = src.n_frames // n_blocks
        if block < MIN_BLOCK_FRAMES:
            raise InputError(
                f"{src.n_frames} frames in {n_blocks} blocks leave {block} per block: at least {MIN_BLOCK_FRAMES} "
                "(a longer run or fewer blocks)"
            )
        max_lag = block // 2 if max_lag is None else int(max_lag)
        if not 8 <= max_lag <= block:
            raise InputError(f"max_lag must lie in [8, {block}] frames (a time block), got {max_lag}")
        qs = commensurate_shells(cell, n_shells, shell_tol)
        qv, shell = qs.vectors, qs.shell
        assert qs.hkl is not None  # commensurate shells carry their Miller indices
        j = species_currents(src, qs.hkl, species, backend, mass_weighted=True).sum(axis=1)  # (T, M, 3)
        host = np.concatenate([src.indices(s) for s in species])
        total_mass = float(np.sum(np.asarray(src.masses, dtype=float)[host]))
        meta = dict(getattr(src, "metadata", {}) or {})
        friction = thermostat_friction(meta, friction_per_fs)
        dt_fs, n_frames = float(src.dt), int(src.n_frames)
    if temperature is None and meta.get("temperature"):
        temperature = float(meta["temperature"])
    qhat = qv / np.linalg.norm(qv, axis=1)[:, None]
    e1, e2 = _transverse_basis(qhat)
    jl = np.einsum("tmd,md->tm", j, qhat)
    corr = {  # (blocks, M, lag)
        "T1": _block_correlations(np.einsum("tmd,md->tm", j, e1), n_blocks, block, max_lag) / total_mass,
        "T2": _block_correlations(np.einsum("tmd,md->tm", j, e2), n_blocks, block, max_lag) / total_mass,
        "L": _block_correlations(jl, n_blocks, block, max_lag) / total_mass,
    }
    window = lag_windows.lag_window(lag_window, max_lag)
    spec = _Spectrum(window, dt_fs, pad)
    res_fwhm = lag_windows.resolution_fwhm(lag_window, max_lag, dt_fs) * 1e3  # THz
    gamma_l = friction * 1e3 / (2 * math.pi)  # THz
    kt = units.KB_EV / units.AMU_A2_PER_FS2_IN_EV  # amu Å²/fs² per K

    n_sh = qs.n_shells
    shape = (n_sh, len(_BRANCHES))
    names = ("nu0", "nu0_err", "gamma", "gamma_err", "d_err", "t_cur", "amp", "misfit")
    cols = {k: np.full(shape, np.nan) for k in names}
    n_units = np.zeros(shape, dtype=int)
    fit_bins = np.zeros(shape, dtype=int)
    spectra = np.full(shape + (len(spec.nu),), np.nan)
    curves = np.full(shape + (len(spec.nu),), np.nan)
    for s in range(n_sh):
        vec = np.nonzero(shell == s)[0]
        for b, name in enumerate(_BRANCHES):
            units_c = corr[name][:, vec].reshape(-1, max_lag)  # one row per (block, wave vector)
            mean = units_c.mean(axis=0)
            p, nb = _fit(spec, mean)
            cols["amp"][s, b], cols["nu0"][s, b], cols["gamma"][s, b] = p
            cols["t_cur"][s, b] = mean[0] / kt
            spectra[s, b] = spec(mean)
            curves[s, b] = spec.dho(*p)
            fit_bins[s, b] = nb
            y = spectra[s, b, :nb]  # the share of the spectrum the one line does not describe
            cols["misfit"][s, b] = float(np.sum(np.abs(curves[s, b, :nb] - y)) / np.sum(np.abs(y)))
            n = len(units_c)
            n_units[s, b] = n
            if n < 3:
                continue
            loo = np.array([_fit(spec, (mean * n - u) / (n - 1), tuple(p))[0] for u in units_c])
            d_loo = 0.5 * (loo[:, 2] - gamma_l) - loo[:, 1]
            cols["nu0_err"][s, b], cols["gamma_err"][s, b], cols["d_err"][s, b] = (
                _jackknife_error(loo[:, 1]),
                _jackknife_error(loo[:, 2]),
                _jackknife_error(d_loo),
            )
    gamma_int = cols["gamma"] - gamma_l
    d = 0.5 * gamma_int - cols["nu0"]
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(cols["d_err"] > 0, d / cols["d_err"], np.nan)
    single = cols["misfit"] <= SINGLE_LINE_MISFIT
    decided = np.isfinite(z) & (np.abs(z) > DECIDED_Z) & single
    overdamped = d > 0
    resolved = (cols["gamma"] > DECIDED_Z * cols["gamma_err"]) & (cols["gamma"] > GAMMA_MIN_FRACTION * res_fwhm)
    n_vec = qs.counts()
    weight = np.repeat(n_vec[:, None], len(_BRANCHES), axis=1)
    counted = single  # a spectrum of several lines has no one Γ: left out of the fraction
    frac, frac_err = float("nan"), float("nan")
    if counted.any():
        frac = float(np.sum((weight * overdamped)[counted]) / np.sum(weight[counted]))
        rows = int(counted.sum())
        frac_err = math.sqrt(max(frac * (1 - frac), 0.25 / rows) / rows)
    undecided = float(np.sum(weight * ~decided) / np.sum(weight))

    dims = ("shell", "branch")
    thz = units.FREQUENCY
    ds = xr.Dataset(
        {
            "n_vectors": ("shell", n_vec, {"units": units.DIMENSIONLESS, "long_name": "wave vectors (one per ±Q)"}),
            "n_units": (dims, n_units, {"units": units.DIMENSIONLESS, "long_name": "jackknife units (Q, block)"}),
            "nu0": (dims, cols["nu0"], {"units": thz, "long_name": "DHO frequency ν₀"}),
            "nu0_err": (dims, cols["nu0_err"], {"units": thz, "long_name": "jackknife 1σ"}),
            "gamma": (dims, cols["gamma"], {"units": thz, "long_name": "DHO linewidth Γ (FWHM), thermostat included"}),
            "gamma_err": (dims, cols["gamma_err"], {"units": thz, "long_name": "jackknife 1σ"}),
            "gamma_intrinsic": (dims, gamma_int, {"units": thz, "long_name": "Γ − Γ_L (thermostat removed)"}),
            "gamma_resolved": (
                dims,
                resolved,
                {"units": units.DIMENSIONLESS, "long_name": f"Γ > {DECIDED_Z:g}σ and > {GAMMA_MIN_FRACTION:g} × FWHM"},
            ),
            "overdamped": (dims, overdamped, {"units": units.DIMENSIONLESS, "long_name": "Γ_int/2 > ν₀"}),
            "overdamped_z": (dims, z, {"units": units.DIMENSIONLESS, "long_name": "(Γ_int/2 − ν₀)/σ (jackknife)"}),
            "decided": (dims, decided, {"units": units.DIMENSIONLESS, "long_name": f"|z| > {DECIDED_Z:g}"}),
            "amplitude": (dims, cols["amp"], {"units": "amu angstrom2 fs-2", "long_name": "DHO amplitude B"}),
            "current_temperature": (
                dims,
                cols["t_cur"],
                {"units": units.TEMPERATURE, "long_name": "C(Q,0)/k_B (= T at equipartition)"},
            ),
            "misfit": (
                dims,
                cols["misfit"],
                {"units": units.DIMENSIONLESS, "long_name": "Σ|fit − spectrum| / Σ spectrum over the fitted bins"},
            ),
            "single_line": (
                dims,
                single,
                {"units": units.DIMENSIONLESS, "long_name": f"misfit ≤ {SINGLE_LINE_MISFIT:g}: one DHO line"},
            ),
            "fit_bins": (dims, fit_bins, {"units": units.DIMENSIONLESS, "long_name": "spectrum bins fitted"}),
            "spectrum": (
                dims + ("frequency",),
                spectra,
                {"units": "amu angstrom2 fs-2 THz-1", "long_name": "C(Q,ν), lag-windowed, two-sided density"},
            ),
            "fit": (dims + ("frequency",), curves, {"units": "amu angstrom2 fs-2 THz-1", "long_name": "DHO fit"}),
        },
        coords={
            "shell": ("shell", np.arange(n_sh), {"units": units.DIMENSIONLESS}),
            "q": ("shell", qs.mean_norm(), {"units": "angstrom-1", "long_name": "mean |Q| of the shell"}),
            "branch": ("branch", list(_BRANCHES), {"units": units.DIMENSIONLESS}),
            "frequency": ("frequency", spec.nu, {"units": thz}),
        },
    )
    ds.attrs.update(
        analysis="acoustic_damping",
        method=METHOD,
        species=list(species),
        weighting="mass (J = Σ m_j v_j e^{iQ·r_j}), C normalised by Σ m_j",
        criterion="overdamped: Γ_int/2 > ν₀; decided: |z| > 2 (jackknife)",
        temperature_K=float("nan") if temperature is None else float(temperature),
        overdamped_fraction=frac,
        overdamped_fraction_err=frac_err,
        undecided_fraction=undecided,
        not_one_line_fraction=float(np.sum(weight * ~counted) / np.sum(weight)),
        n_blocks=n_blocks,
        max_lag=max_lag,
        dt_fs=dt_fs,
        n_frames=n_frames,
        lag_window=lag_window,
        resolution_fwhm_THz=res_fwhm,
        thermostat_friction_per_fs=friction,
        thermostat_gamma_THz=gamma_l,
    )
    return ds


def mode_verdict(mode: dict[str, Any]) -> str:
    """The verdict of one row of `acoustic_damping_summary`'s modes, in words (with its z)."""
    if not np.isfinite(mode["z"]):
        return "undecided (no error: fewer than 3 units)"
    if not mode["single_line"]:
        return f"not one line (the fit misses {100 * mode['misfit']:.0f} % of the spectrum)"
    if not mode["decided"]:
        return f"undecided (z = {mode['z']:+.1f})"
    return f"{'overdamped' if mode['overdamped'] else 'underdamped'} (z = {mode['z']:+.1f})"


def acoustic_damping_summary(ds: xr.Dataset) -> dict[str, Any]:
    """JSON-ready numbers of one `acoustic_damping` result (THz, K, fractions)."""
    a = ds.attrs
    rows = []
    for s in range(ds.sizes["shell"]):
        for b in ds.branch.values:
            r = ds.sel(branch=b).isel(shell=s)
            rows.append(
                {
                    "q_per_A": float(r.q),
                    "branch": str(b),
                    "n_vectors": int(r.n_vectors),
                    "nu0_THz": float(r.nu0),
                    "nu0_err_THz": float(r.nu0_err),
                    "gamma_intrinsic_THz": float(r.gamma_intrinsic),
                    "gamma_err_THz": float(r.gamma_err),
                    "overdamped": bool(r.overdamped),
                    "z": float(r.overdamped_z),
                    "decided": bool(r.decided),
                    "misfit": float(r.misfit),
                    "single_line": bool(r.single_line),
                }
            )
    return {
        "overdamped_fraction": float(a["overdamped_fraction"]),
        "overdamped_fraction_err": float(a["overdamped_fraction_err"]),
        "undecided_fraction": float(a["undecided_fraction"]),
        "not_one_line_fraction": float(a["not_one_line_fraction"]),
        "species": list(np.ravel(a["species"])),
        "resolution_fwhm_THz": float(a["resolution_fwhm_THz"]),
        "thermostat_gamma_THz": float(a["thermostat_gamma_THz"]),
        "current_temperature_K": float(np.nanmean(ds.current_temperature.values)),
        "modes": rows,
        "method": str(a["method"]),
    }
