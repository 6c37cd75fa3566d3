"""Green–Kubo thermal conductivity from heat-flux series: autocorrelation, running integral, cepstral analysis.

Conventions (docs/thermal_conductivity.md). J is the extensive heat flux (eV·Å/fs, as `heat_flux` writes it):

    κ = 1/(V k_B T²) ∫₀^∞ ⟨J_x(0) J_x(t)⟩ dt       (averaged over x, y, z)
      = S(0) / (2 V k_B T²),    S(f) = ∫ ⟨J_x(0) J_x(t)⟩ e^{2πift} dt  (two-sided power spectrum)

Unit conversion: with J in eV·Å/fs, t in fs, V in Å³, k_B in eV/K and T in K, κ comes out in eV/(Å·fs·K);
1 eV/(Å·fs·K) = 1.602176634e-19 J / (1e-10 m · 1e-15 s · K) = 1.602176634e6 W/(m·K) (`EV_PER_A_FS_K`). In
LAMMPS metal units (J in eV·Å/ps, t in ps) the same factor is 1.602176634e3 (`EV_PER_A_PS_K`).

Uncertainty, two ways:
- running integral κ(t) of each independent run (different seeds); mean and standard error over runs at the
  cut-off t_max (with one run: over the three Cartesian components, which is weaker: they are not independent in
  an anisotropic cell);
- cepstral analysis (Ercole, Marcolongo and Baroni, Sci. Rep. 7, 15835 (2017); as in SporTran): the periodogram of
  ℓ = 3 × runs flux components is S(f) times a χ²_2ℓ/(2ℓ) variable, so its logarithm is log S(f) plus noise of known
  mean ψ(ℓ) − log ℓ and variance ψ′(ℓ). The log-spectrum below a cut-off f* is smoothed by keeping the first P* of
  its Fourier (cepstral) coefficients, P* by the Akaike criterion, and log S(0) = C_0 + 2 Σ_{n=1}^{P*−1} C_n has
  variance ψ′(ℓ)(4P* − 2)/N* (N* = 2(K − 1) for the K frequencies up to f*). κ is then log-normal.

Multicomponent conductors (diffusing Li): the energy flux is decorrelated from the mass flux of the mobile species
(Bertossa, Grasselli, Ercole and Baroni, PRL 122, 255901 (2019)): at each frequency the reduced spectrum
S′ = 1/(S⁻¹)₀₀ of the M × M spectral matrix of (J, J_Li, …) replaces S; it is S′ χ²_{2(ℓ−M+1)}/(2ℓ).
The convective flux uses e_i − ē_α (ē_α the mean energy per atom of species α over the run): shifting every
energy of a species by a constant changes J by that constant times the species' number flux, and the raw energies
(eV per atom) would otherwise add a large oscillating term (and, where the species diffuses, a spurious one).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import scipy.fft as sfft
import xarray as xr
from scipy.special import polygamma, psi

from .. import units
from ..errors import InputError

#: 1 eV/(Å·fs·K) in W/(m·K)
EV_PER_A_FS_K = units.E_CHARGE_C / (1e-10 * 1e-15)
#: 1 eV/(Å·ps·K) in W/(m·K): LAMMPS metal units
EV_PER_A_PS_K = units.E_CHARGE_C / (1e-10 * 1e-12)
KAPPA_UNITS = "W m-1 K-1"
FLUX_UNITS = "eV angstrom fs-1"
COMPONENTS = ("total", "conduction", "convection", "cross")
#: the automatic cepstral cut-off keeps the frequencies that give log κ this floor error with one coefficient
SIGMA_FLOOR = 0.02
MIN_FREQUENCIES = 64


def gk_prefactor(volume_A3: float, temperature_K: float) -> float:
    """κ [W/(m·K)] per unit of ∫₀^∞ ⟨J_x(0)J_x(t)⟩ dt [(eV·Å/fs)²·fs] for the extensive flux J."""
    if not (volume_A3 > 0 and temperature_K > 0):
        raise InputError(f"Green–Kubo needs V > 0 and T > 0, got V = {volume_A3} Å³, T = {temperature_K} K")
    return EV_PER_A_FS_K / (volume_A3 * units.KB_EV * temperature_K**2)


def lj_reduced(kappa_W_mK: float, epsilon_eV: float, sigma_A: float, mass_amu: float) -> float:
    """κ* = κ σ² / k_B · √(m/ε): a thermal conductivity in Lennard-Jones reduced units."""
    eps_J = epsilon_eV * units.E_CHARGE_C
    return kappa_W_mK * (sigma_A * 1e-10) ** 2 / units.KB_J * math.sqrt(mass_amu * units.AMU_KG / eps_J)


def correlation(a: np.ndarray, b: np.ndarray | None = None, max_lag: int | None = None) -> np.ndarray:
    """All-origin correlation ⟨a(t)·b(t+m)⟩/d over the last axis (d components), symmetrised for a ≠ b.

    a, b: (T, d). Returns (max_lag,) with C(m) averaged over the T − m origins and over the d components;
    for b given, ½⟨a(0)b(m) + b(0)a(m)⟩ (the part that enters a Green–Kubo integral).
    """
    a = np.asarray(a, dtype=float)
    if a.ndim == 1:
        a = a[:, None]
    t, d = a.shape
    max_lag = t if max_lag is None else min(int(max_lag), t)
    nfft = sfft.next_fast_len(2 * t, real=True)
    fa = sfft.rfft(a, n=nfft, axis=0)
    if b is None:
        p = (fa.real**2 + fa.imag**2).sum(axis=1)
    else:
        b = np.asarray(b, dtype=float).reshape(a.shape)
        fb = sfft.rfft(b, n=nfft, axis=0)
        p = (fa.conj() * fb).real.sum(axis=1)  # the real part is the symmetrised correlation
    c = sfft.irfft(p, n=nfft)[:max_lag]
    return c / (t - np.arange(max_lag)) / d


def running_integral(c: np.ndarray, dt: float) -> np.ndarray:
    """∫₀^t c dt′ by the trapezoid rule on the lag grid (0 at t = 0); last axis is the lag."""
    c = np.asarray(c, dtype=float)
    out = np.zeros_like(c)
    out[..., 1:] = np.cumsum(0.5 * (c[..., 1:] + c[..., :-1]) * dt, axis=-1)
    return out


# -- cepstral analysis -------------------------------------------------------------------------------


@dataclass
class CepstralResult:
    """Cepstral estimate of S(0), in κ units: kappa ± kappa·log_sigma (log-normal), with what made it."""

    kappa: float  # W/(m·K)
    kappa_err: float  # W/(m·K): kappa × log_sigma
    log_sigma: float  # standard deviation of log κ
    n_coefficients: int  # P*
    f_cut_THz: float
    n_frequencies: int  # K: frequencies 0 … f*
    ell: int  # flux components averaged (3 × runs)
    n_fluxes: int  # M: 1, or 1 + the decorrelated species fluxes
    aic: list[float] = field(default_factory=list)
    frequency_THz: np.ndarray = field(default_factory=lambda: np.zeros(0))
    kappa_periodogram: np.ndarray = field(default_factory=lambda: np.zeros(0))  # W/(m·K), raw (reduced)
    kappa_filtered: np.ndarray = field(default_factory=lambda: np.zeros(0))  # W/(m·K), cepstrally smoothed

    def summary(self) -> dict[str, Any]:
        """The scalar results as a JSON-ready dict."""
        d = asdict(self)
        for k in ("frequency_THz", "kappa_periodogram", "kappa_filtered", "aic"):
            d.pop(k)
        return d


def _spectral_matrix(fluxes: Sequence[np.ndarray], dt: float) -> tuple[np.ndarray, np.ndarray, int]:
    """(f, S, ℓ): frequencies (1/time unit of dt), the spectral matrix S[k, a, b] (M × M) averaged over the
    ℓ = runs × d components, for fluxes given per run as (T, M, d) arrays of equal T.
    """
    t = min(f.shape[0] for f in fluxes)
    xs = [sfft.rfft(np.asarray(f[:t], dtype=float), axis=0) for f in fluxes]  # (K, M, d) each
    x = np.concatenate(xs, axis=-1)  # (K, M, ℓ)
    ell = x.shape[-1]
    S = np.einsum("kal,kbl->kab", x, x.conj()) * (dt / t) / ell
    return sfft.rfftfreq(t, d=dt), S, ell


def cepstral(
    fluxes: Sequence[np.ndarray],
    dt: float,
    prefactor: float,
    *,
    f_cut_THz: float | None = None,
    aic_factor: float = 1.0,
) -> CepstralResult:
    """Cepstral κ from fluxes per run, each (T, d) (one flux) or (T, M, d) (the heat flux first, then the fluxes it
    is decorrelated from). dt in fs; prefactor = `gk_prefactor`; f_cut_THz: the cut-off f* (default: automatic,
    the lowest f* whose K frequencies 0 … f* give log κ a floor error of `SIGMA_FLOOR` with one coefficient,
    K − 1 = ψ′(ℓ−M+1)/SIGMA_FLOOR², at least `MIN_FREQUENCIES`: a high f* leaves the Akaike choice too few
    coefficients for a spectrum peaked at zero and biases κ low, by −26 % at f* = Nyquist for an exponential ACF
    80 samples long).
    aic_factor multiplies the Akaike choice of P* (SporTran's correction factor; 1 = plain AIC).
    """
    fl = [np.asarray(f, dtype=float) for f in fluxes]
    fl = [f[:, None, :] if f.ndim == 2 else f for f in fl]
    if not fl or any(f.ndim != 3 for f in fl):
        raise InputError("cepstral: give one (T, d) or (T, M, d) flux array per run")
    freq, S, ell = _spectral_matrix(fl, dt)
    M = S.shape[1]
    m = ell - M + 1
    if m < 1:
        raise InputError(f"cepstral: {ell} flux components cannot be decorrelated from {M - 1} other fluxes")
    freq_thz = freq * 1000.0  # 1/fs → THz
    if f_cut_THz is None:
        # as low as the statistics allow: K − 1 = ψ′(m)/σ_floor² frequencies give log κ a floor error σ_floor
        # (P* = 1); lower f* leaves fewer cepstral coefficients to the structure of the spectrum near zero
        k_auto = max(MIN_FREQUENCIES, math.ceil(1 + float(polygamma(1, m)) / SIGMA_FLOOR**2))
        fc = float(freq_thz[min(k_auto, len(freq_thz)) - 1])
    else:
        fc = float(f_cut_THz)
    if not (fc > 0):
        raise InputError(f"cepstral: the cut-off frequency must be > 0 THz, got {fc}")
    K = int(np.searchsorted(freq_thz, fc * (1 + 1e-12), side="right"))
    K = min(K, len(freq_thz))
    if K < 8:
        raise InputError(
            f"cepstral: only {K} frequencies below f* = {fc:g} THz (resolution {freq_thz[1]:.3g} THz): run longer "
            "or raise the cut-off"
        )
    if M == 1:
        spec = S[:K, 0, 0].real
    else:
        spec = 1.0 / np.linalg.inv(S[:K])[:, 0, 0].real
    if np.any(spec <= 0) or not np.all(np.isfinite(spec)):
        raise InputError("cepstral: the periodogram has zero or non-finite values (a flux that is identically zero?)")
    # log periodogram minus its known bias; the zero (and Nyquist) frequency is real: χ²_(ℓ−M+1) / ℓ
    L = np.log(spec) - (psi(m) - math.log(ell))
    real_points = [0] + ([K - 1] if K == len(freq_thz) and (2 * (len(freq_thz) - 1)) == _t(fl) else [])
    for k in real_points:
        L[k] = math.log(spec[k]) - (psi(m / 2.0) + math.log(2.0) - math.log(ell))
    n_star = 2 * (K - 1)
    C = sfft.irfft(L, n=n_star)
    sigma2 = float(polygamma(1, m))
    p_max = n_star // 2
    tail = np.cumsum((C[: p_max + 1] ** 2)[::-1])[::-1]  # Σ_{n≥P} C_n², P = 0 … p_max
    ps = np.arange(1, p_max + 1)
    aic = n_star / sigma2 * tail[1 : p_max + 1] + 2 * ps
    p_star = int(ps[np.argmin(aic)])
    p_star = int(min(p_max, max(1, round(aic_factor * p_star))))
    log_s0 = C[0] + 2.0 * C[1:p_star].sum()
    log_sigma = math.sqrt(sigma2 * (4 * p_star - 2) / n_star)
    kappa = 0.5 * prefactor * math.exp(log_s0)
    # the smoothed log-spectrum: the first P* cepstral coefficients (and their mirror images)
    Cf = np.zeros(n_star)
    Cf[:p_star] = C[:p_star]
    if p_star > 1:
        Cf[-(p_star - 1) :] = C[1:p_star][::-1]
    logf = sfft.rfft(Cf).real[:K]
    return CepstralResult(
        kappa=kappa,
        kappa_err=kappa * log_sigma,
        log_sigma=log_sigma,
        n_coefficients=p_star,
        f_cut_THz=float(freq_thz[K - 1]),
        n_frequencies=K,
        ell=ell,
        n_fluxes=M,
        aic=aic.tolist(),
        frequency_THz=freq_thz[:K],
        kappa_periodogram=0.5 * prefactor * spec,
        kappa_filtered=0.5 * prefactor * np.exp(logf),
    )


def _t(fl: Sequence[np.ndarray]) -> int:
    return min(f.shape[0] for f in fl)


# -- from flux runs to κ -----------------------------------------------------------------------------


def flux_parts(ds: xr.Dataset, gauge: bool = True) -> dict[str, np.ndarray]:
    """Heat-flux pieces of one run (T, 3 arrays, eV·Å/fs): virial, convective (energies shifted by the run's mean
    energy per atom of each species when gauge) and total = virial + convective; plus 'species' (T, S, 3).
    """
    need = ("flux_virial", "flux_convection", "species_number_flux", "species_energy")
    missing = [v for v in need if v not in ds]
    if missing:
        raise InputError(f"not a heat-flux run of superionic.lattice.heat_flux: it lacks {', '.join(missing)}")
    conv = ds["flux_convection"].values.astype(float)
    nflux = ds["species_number_flux"].values.astype(float)
    if gauge:
        counts = json.loads(ds.attrs["counts"])
        per_atom = ds["species_energy"].values.mean(axis=0) / np.array(
            [counts[str(s)] for s in ds["species"].values], dtype=float
        )
        conv = conv - np.einsum("s,tsd->td", per_atom, nflux)
    vir = ds["flux_virial"].values.astype(float)
    return {"conduction": vir, "convection": conv, "total": vir + conv, "species": nflux}


def _auto_t_max(acf: np.ndarray, min_lag: int = 10) -> int:
    """First lag from which the ACF's envelope is down to its noise.

    noise: the standard deviation of the ACF over the second half of the computed lags (where it has decayed);
    envelope at lag k: the RMS of the ACF over [k, k + w], w = max(10, k/5) lags. Returns the first k ≥ min_lag with
    envelope < 2 × noise (the last lag when there is none).
    """
    n = len(acf)
    noise = float(np.std(acf[n // 2 :])) if n >= 4 * min_lag else 0.0
    for k in range(min_lag, n // 2):
        w = max(min_lag, k // 5)
        if math.sqrt(float(np.mean(acf[k : k + w] ** 2))) < 2.0 * noise:
            return k
    return n - 1


def green_kubo(
    runs: Sequence[xr.Dataset],
    *,
    t_max_ps: float | None = None,
    max_lag_ps: float | None = None,
    f_cut_THz: float | None = None,
    decorrelate: Sequence[str] | None = None,
    aic_factor: float = 1.0,
    temperature: str | float = "runs",
) -> xr.Dataset:
    """κ from heat-flux runs of `heat_flux.run_heat_flux` (independent seeds, same system and T).

    t_max_ps: where the running integrals are read (default: the first lag where the envelope of the mean total ACF
    is down to twice its noise, `_auto_t_max`); max_lag_ps: longest lag computed (default: a quarter of the
    shortest run); f_cut_THz: cepstral cut-off (default: automatic, see `cepstral`); decorrelate: species whose number flux the
    heat flux is decorrelated from (default: none; ["Li"] for a Li conductor; never every species, whose fluxes
    are linearly dependent through momentum conservation). temperature: the T of 1/(V k_B T²): "runs" (default)
    each NVE run's mean kinetic temperature (an NVE run of a small cell does not sit exactly at the target: each
    run's flux is scaled by T_ref/T_run and T_ref, their mean, enters the prefactor), "target" the set temperature,
    or a number in K.

    Returns a Dataset: per run and component (total, conduction = virial–virial, convection = convective–convective,
    cross = 2 × convective–virial; total = conduction + convection + cross) the running κ(t) in W/(m·K) and the
    ACF of the total flux, their mean and standard error over runs; the cepstral spectra; in attrs the κ numbers.
    """
    runs = list(runs)
    if not runs:
        raise InputError("green_kubo: no heat-flux runs given")
    first = runs[0]
    vol, T = float(first.attrs["volume_A3"]), float(first.attrs["temperature_K"])
    dts = {float(r["time"].values[1] - r["time"].values[0]) for r in runs}
    species = [str(s) for s in first["species"].values]
    for r in runs[1:]:
        if abs(float(r.attrs["volume_A3"]) - vol) > 1e-6 * vol or float(r.attrs["temperature_K"]) != T:
            raise InputError("green_kubo: the runs differ in volume or temperature; analyse them separately")
        if [str(s) for s in r["species"].values] != species:
            raise InputError("green_kubo: the runs hold different species")
    if len(dts) != 1:
        raise InputError(f"green_kubo: the runs sample the flux at different intervals {sorted(dts)} fs")
    dt = dts.pop()
    t_target = T
    if temperature == "runs":
        t_runs = [float(r.attrs.get("mean_temperature_K", T)) for r in runs]
        T = float(np.mean(t_runs))
    elif temperature == "target":
        t_runs = [T] * len(runs)
    else:
        T = float(temperature)
        t_runs = [T] * len(runs)
    pref = gk_prefactor(vol, T)
    parts = []
    for r, tr in zip(runs, t_runs, strict=True):
        p = flux_parts(r)
        parts.append({k: v * (T / tr) for k, v in p.items()})  # κ ∝ <JJ>/T²: J/T pooled at the mean T
    n_min = min(len(p["total"]) for p in parts)
    n_lag = n_min // 4 if max_lag_ps is None else int(round(max_lag_ps * 1000.0 / dt)) + 1
    if t_max_ps is not None and max_lag_ps is None:  # reach the requested t_max
        n_lag = max(n_lag, int(round(t_max_ps * 1000.0 / dt)) + 2)
    n_lag = max(2, min(n_lag, n_min))
    lag = np.arange(n_lag) * dt
    acf = np.array([correlation(p["total"], max_lag=n_lag) for p in parts])
    run_k = {
        "total": [running_integral(correlation(p["total"], max_lag=n_lag), dt) for p in parts],
        "conduction": [running_integral(correlation(p["conduction"], max_lag=n_lag), dt) for p in parts],
        "convection": [running_integral(correlation(p["convection"], max_lag=n_lag), dt) for p in parts],
        "cross": [
            2.0 * running_integral(correlation(p["convection"], p["conduction"], max_lag=n_lag), dt) for p in parts
        ],
    }
    kr = pref * np.array([run_k[c] for c in COMPONENTS])  # (component, run, lag)
    n_runs = len(runs)
    if n_runs > 1:
        mean, sem = kr.mean(axis=1), kr.std(axis=1, ddof=1) / math.sqrt(n_runs)
        acf_sem = acf.std(axis=0, ddof=1) / math.sqrt(n_runs)
        err_from = f"standard error over {n_runs} independent runs"
    else:  # one run: the three Cartesian components as samples
        per_dir = np.array(
            [
                [
                    running_integral(correlation(parts[0][c][:, d : d + 1], max_lag=n_lag), dt)
                    if c != "cross"
                    else 2.0
                    * running_integral(
                        correlation(parts[0]["convection"][:, d : d + 1], parts[0]["conduction"][:, d : d + 1], n_lag),
                        dt,
                    )
                    for d in range(3)
                ]
                for c in COMPONENTS
            ]
        )
        mean, sem = kr[:, 0], pref * per_dir.std(axis=1, ddof=1) / math.sqrt(3)
        acf_dirs = np.array([correlation(parts[0]["total"][:, d : d + 1], max_lag=n_lag) for d in range(3)])
        acf_sem = acf_dirs.std(axis=0, ddof=1) / math.sqrt(3)
        err_from = "standard error over the 3 Cartesian components of one run (give more runs)"
    acf_mean = acf.mean(axis=0)
    if t_max_ps is None:
        k_max = _auto_t_max(acf_mean)
        t_rule = "auto: first lag where the RMS of the mean ACF over [t, t + max(10 lags, t/5)] is below twice its noise (its std over the second half of the lags)"
    else:
        k_max = int(round(t_max_ps * 1000.0 / dt))
        if not 1 <= k_max < n_lag:
            raise InputError(f"t_max {t_max_ps} ps is outside the computed lags (0 … {lag[-1] / 1000:.3g} ps)")
        t_rule = "given"
    # cepstral: total, conduction only, and (where asked) decorrelated from species number fluxes
    totals = [p["total"][:n_min] for p in parts]
    cep = cepstral(totals, dt, pref, f_cut_THz=f_cut_THz, aic_factor=aic_factor)
    cep_cond = cepstral([p["conduction"][:n_min] for p in parts], dt, pref, f_cut_THz=f_cut_THz, aic_factor=aic_factor)
    cep_runs = [cepstral([p["total"]], dt, pref, f_cut_THz=f_cut_THz, aic_factor=aic_factor) for p in parts]
    cep_dec = None
    dec = [str(s) for s in (decorrelate or [])]
    if dec:
        unknown = sorted(set(dec) - set(species))
        if unknown:
            raise InputError(f"decorrelate: no species {unknown} in the runs (species: {', '.join(species)})")
        if len(dec) >= len(species):
            raise InputError("decorrelate: leave at least one species out (momentum conservation ties all fluxes)")
        idx = [species.index(s) for s in dec]
        stacked = [np.concatenate([p["total"][:n_min, None, :], p["species"][:n_min, idx, :]], axis=1) for p in parts]
        cep_dec = cepstral(stacked, dt, pref, f_cut_THz=f_cut_THz, aic_factor=aic_factor)
    per_run = np.array([c.kappa for c in cep_runs])
    attrs: dict[str, Any] = {
        "title": "Green–Kubo thermal conductivity",
        "kappa_units": KAPPA_UNITS,
        "volume_A3": vol,
        "temperature_K": T,
        "target_temperature_K": t_target,
        "temperature_rule": str(temperature),
        "run_temperatures_K": [float(x) for x in t_runs],
        "n_runs": n_runs,
        "run_length_ps": n_min * dt / 1000.0,
        "total_length_ps": sum(len(p["total"]) for p in parts) * dt / 1000.0,
        "sample_interval_fs": dt,
        "t_max_ps": lag[k_max] / 1000.0,
        "t_max_rule": t_rule,
        "error_from": err_from,
        "kappa_gk": float(mean[0, k_max]),
        "kappa_gk_err": float(sem[0, k_max]),
        "kappa_conduction_gk": float(mean[1, k_max]),
        "kappa_conduction_gk_err": float(sem[1, k_max]),
        "kappa_convection_gk": float(mean[2, k_max]),
        "kappa_convection_gk_err": float(sem[2, k_max]),
        "kappa_cross_gk": float(mean[3, k_max]),
        "kappa_cross_gk_err": float(sem[3, k_max]),
        "kappa_cepstral": cep.kappa,
        "kappa_cepstral_err": cep.kappa_err,
        "cepstral": json.dumps(cep.summary()),
        "kappa_conduction_cepstral": cep_cond.kappa,
        "kappa_conduction_cepstral_err": cep_cond.kappa_err,
        "kappa_cepstral_per_run": per_run.tolist(),
        "kappa_cepstral_per_run_err": [c.kappa_err for c in cep_runs],
        "kappa_cepstral_run_scatter": float(per_run.std(ddof=1) / math.sqrt(n_runs)) if n_runs > 1 else float("nan"),
        "decorrelated_from": json.dumps(dec),
        "prefactor_W_per_mK_per_flux2_fs": pref,
        "conversion": "kappa[W/mK] = 1.602176634e6 * int<Jx(0)Jx(t)>dt [(eV A/fs)^2 fs] / (V[A^3] kB[eV/K] T^2)",
        "method": str(first.attrs.get("method", "")),
        "potential": str(first.attrs.get("potential", "")),
        "formula": str(first.attrs.get("formula", "")),
        "n_atoms": int(first.attrs.get("n_atoms", 0)),
    }
    if cep_dec is not None:
        attrs.update(
            kappa_decorrelated=cep_dec.kappa,
            kappa_decorrelated_err=cep_dec.kappa_err,
            cepstral_decorrelated=json.dumps(cep_dec.summary()),
        )
    drift = [float(r.attrs.get("energy_drift_eV_per_atom_per_ps", float("nan"))) for r in runs]
    attrs["energy_drift_eV_per_atom_per_ps"] = drift
    attrs["mean_temperature_K"] = [float(r.attrs.get("mean_temperature_K", float("nan"))) for r in runs]
    ds = xr.Dataset(
        {
            "kappa_running": (("component", "run", "lag"), kr, {"units": KAPPA_UNITS}),
            "kappa_running_mean": (("component", "lag"), mean, {"units": KAPPA_UNITS}),
            "kappa_running_err": (("component", "lag"), sem, {"units": KAPPA_UNITS}),
            "acf": (("run", "lag"), acf, {"units": "eV2 angstrom2 fs-2", "long_name": "<J(0).J(t)>/3"}),
            "acf_mean": (("lag",), acf_mean, {"units": "eV2 angstrom2 fs-2"}),
            "acf_err": (("lag",), acf_sem, {"units": "eV2 angstrom2 fs-2"}),
            "kappa_periodogram": (("frequency",), cep.kappa_periodogram, {"units": KAPPA_UNITS}),
            "kappa_spectrum_filtered": (("frequency",), cep.kappa_filtered, {"units": KAPPA_UNITS}),
        },
        coords={
            "component": list(COMPONENTS),
            "run": ("run", np.arange(n_runs), {"units": units.DIMENSIONLESS}),
            "lag": ("lag", lag, {"units": units.TIME}),
            "frequency": ("frequency", cep.frequency_THz, {"units": units.FREQUENCY}),
        },
    )
    ds.attrs.update(attrs)
    return ds


def kappa_summary(ds: xr.Dataset) -> dict[str, Any]:
    """The κ numbers of a `green_kubo` Dataset as a JSON-ready dict (W/(m·K))."""
    keys = [k for k in ds.attrs if k.startswith("kappa") or k in ("t_max_ps", "n_runs", "run_length_ps")]
    out: dict[str, Any] = {k: ds.attrs[k] for k in keys}
    for k in ("cepstral", "cepstral_decorrelated", "decorrelated_from"):
        if k in ds.attrs:
            out[k] = json.loads(ds.attrs[k])
    out.update(
        temperature_K=ds.attrs["temperature_K"],
        volume_A3=ds.attrs["volume_A3"],
        error_from=ds.attrs["error_from"],
        t_max_rule=ds.attrs["t_max_rule"],
        units=KAPPA_UNITS,
    )
    return out
