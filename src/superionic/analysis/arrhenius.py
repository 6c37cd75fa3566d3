"""Arrhenius analysis of a temperature series: activation energy and prefactor with uncertainty.

    D(T) = D₀ exp(−E_a / k_B T)          (quantity="D", D in cm²/s)
    σT   = A  exp(−E_a / k_B T)          (quantity="sigma", σ in mS/cm; the fit is on σ·T)

Weighted least squares on y = ln(value) against x = 1/(k_B T) with σ_y = σ_value/value (first-order
propagation). Parameter covariance = (XᵀWX)⁻¹, multiplied by χ²/dof when that exceeds one (the
scatter between temperatures is then larger than the error bars say; stated in attrs). Values at other
temperatures (default 300 K) carry the propagated σ and are flagged `extrapolated` when outside the
fitted temperature range.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from .. import units
from ..errors import InputError

_UNITS = {"D": units.DIFFUSION, "sigma": units.CONDUCTIVITY}


def arrhenius(
    temperature: Sequence[float],
    value: Sequence[float],
    error: Sequence[float],
    quantity: str = "D",
    predict_at: Sequence[float] = (300.0,),
    scale_by_chi2: bool = True,
    n_curve: int = 100,
) -> xr.Dataset:
    """Fit E_a (eV) and the prefactor to values ± 1σ at temperatures (K); see module doc.

    quantity: "D" (cm²/s) or "sigma" (mS/cm; fitted as σT). predict_at: temperatures (K) for predicted
    values (flagged when extrapolated). Returns a Dataset with E_a, E_a_err, prefactor (D₀ in cm²/s or
    A in mS·K/cm), prefactor_err, ln_prefactor, their correlation, predictions and a fitted curve.
    """
    if quantity not in _UNITS:
        raise InputError(f"quantity must be 'D' or 'sigma', got {quantity!r}")
    t = np.asarray(temperature, float)
    v = np.asarray(value, float)
    e = np.asarray(error, float)
    if not (t.shape == v.shape == e.shape) or t.ndim != 1:
        raise InputError("temperature, value and error must be 1-D sequences of the same length")
    if t.size < 2:
        raise InputError("an Arrhenius fit needs at least two temperatures")
    if np.unique(t).size < 2:
        raise InputError("an Arrhenius fit needs at least two different temperatures")
    if np.any(t <= 0) or np.any(v <= 0) or np.any(e <= 0) or not np.all(np.isfinite(v * e)):
        raise InputError(
            "temperatures, values and errors must be positive and finite (a value ≤ 0 has no logarithm: "
            "drop temperatures where the species did not diffuse)"
        )
    fit_v = v * t if quantity == "sigma" else v
    fit_e = e * t if quantity == "sigma" else e
    x = 1.0 / (units.KB_EV * t)  # 1/eV
    y = np.log(fit_v)
    sy = fit_e / fit_v
    w = 1.0 / sy**2
    a = np.column_stack([np.ones_like(x), -x])  # y = ln P − E_a x
    cov = np.linalg.inv(a.T @ (w[:, None] * a))
    beta = cov @ (a.T @ (w * y))
    resid = y - a @ beta
    dof = t.size - 2
    chi2 = float((w * resid**2).sum())
    chi2_dof = chi2 / dof if dof > 0 else np.nan
    scale = max(1.0, chi2_dof) if (scale_by_chi2 and dof > 0) else 1.0
    cov = cov * scale
    ln_p, ea = beta
    ln_p_err, ea_err = np.sqrt(np.diag(cov))
    corr = cov[0, 1] / (ln_p_err * ea_err)
    pref = np.exp(ln_p)

    def predict(temps):
        temps = np.asarray(temps, float)
        xx = 1.0 / (units.KB_EV * temps)
        g = np.column_stack([np.ones_like(xx), -xx])
        ln_val = g @ beta
        ln_err = np.sqrt(np.einsum("ij,jk,ik->i", g, cov, g))
        val = np.exp(ln_val)
        if quantity == "sigma":
            val = val / temps
        return val, val * ln_err

    p_t = np.asarray(predict_at, float)
    p_v, p_e = predict(p_t) if p_t.size else (np.array([]), np.array([]))
    extrap = (p_t < t.min()) | (p_t > t.max())
    curve_t = np.linspace(
        min(t.min(), p_t.min() if p_t.size else t.min()), max(t.max(), p_t.max() if p_t.size else t.max()), n_curve
    )
    c_v, c_e = predict(curve_t)
    u = _UNITS[quantity]
    pu = units.DIFFUSION if quantity == "D" else "mS K cm-1"
    ds = xr.Dataset(
        {
            "value": ("temperature", v, {"units": u, "long_name": f"input {quantity}"}),
            "error": ("temperature", e, {"units": u, "long_name": "input 1σ"}),
            "E_a": ((), ea, {"units": units.ENERGY, "long_name": "activation energy"}),
            "E_a_err": ((), ea_err, {"units": units.ENERGY}),
            "prefactor": (
                (),
                pref,
                {"units": pu, "long_name": "D₀" if quantity == "D" else "A in σT = A exp(−E_a/kT)"},
            ),
            "prefactor_err": ((), pref * ln_p_err, {"units": pu, "long_name": "first-order 1σ of the prefactor"}),
            "ln_prefactor": ((), ln_p, {"units": units.DIMENSIONLESS}),
            "ln_prefactor_err": ((), ln_p_err, {"units": units.DIMENSIONLESS}),
            "correlation": ((), corr, {"units": units.DIMENSIONLESS, "long_name": "corr(ln prefactor, E_a)"}),
            "chi2_dof": ((), chi2_dof, {"units": units.DIMENSIONLESS}),
            "predicted": ("predict_temperature", p_v, {"units": u, "long_name": f"{quantity} from the fit"}),
            "predicted_err": ("predict_temperature", p_e, {"units": u}),
            "extrapolated": (
                "predict_temperature",
                extrap.astype(int),
                {"units": units.DIMENSIONLESS, "long_name": "1 = EXTRAPOLATED outside the fitted temperature range"},
            ),
            "curve": ("curve_temperature", c_v, {"units": u}),
            "curve_err": ("curve_temperature", c_e, {"units": u}),
        },
        coords={
            "temperature": ("temperature", t, {"units": units.TEMPERATURE}),
            "predict_temperature": ("predict_temperature", p_t, {"units": units.TEMPERATURE}),
            "curve_temperature": ("curve_temperature", curve_t, {"units": units.TEMPERATURE}),
        },
    )
    ds.attrs.update(
        analysis="arrhenius",
        quantity=quantity,
        model="D = D0 exp(-Ea/kT)" if quantity == "D" else "sigma T = A exp(-Ea/kT)",
        fit="weighted least squares on ln(value) vs 1/kT, σ_ln = σ/value",
        error_scaling=f"covariance × {scale:.3g} (max(1, χ²/dof))" if scale_by_chi2 else "none",
        fitted_range_K=[float(t.min()), float(t.max())],
        extrapolation_warning="values at temperatures outside fitted_range_K are extrapolations "
        "and assume the same mechanism (no phase change) there",
    )
    return ds


def arrhenius_from_datasets(
    datasets: Sequence[xr.Dataset], species: str = "Li", temperatures=None, **kwargs
) -> xr.Dataset:
    """Arrhenius fit of D from `diffusion` Datasets (temperature from `temperatures` or attrs)."""
    temps = []
    for k, ds in enumerate(datasets):
        t = temperatures[k] if temperatures is not None else ds.attrs.get("temperature")
        if t is None:
            raise InputError("a diffusion Dataset carries no temperature: pass temperatures=[…] (K)")
        temps.append(float(t))
    d = [float(ds.D.sel(species=species)) for ds in datasets]
    de = [float(ds.D_err.sel(species=species)) for ds in datasets]
    return arrhenius(temps, d, de, "D", **kwargs)


def rate_arrhenius(
    temperature: Sequence[float],
    counts: Sequence[int],
    exposure: Sequence[float],
    predict_at: Sequence[float] = (300.0,),
) -> dict[str, Any]:
    """E_a (eV) of a counted event rate, Γ(T) = Γ₀ exp(−E_a/k_B T) per unit exposure, by Poisson maximum likelihood.

    counts[i] events (e.g. cage changes) seen in exposure[i] (e.g. ions × ps) at temperature[i] (K) are Poisson
    with mean exposure·Γ(T): runs with no event count too (they bound the rate where a least-squares fit of ln Γ
    cannot use them). 1σ from the inverse Fisher information at the maximum (Wald; with few events per
    temperature the interval is approximate). Returns E_a, E_a_err, Γ₀ (per unit exposure), ln Γ₀ and its σ,
    their correlation, and Γ at `predict_at` with its 1σ factor (Γ ×/÷ rate_factor: σ propagated on ln Γ, as an
    extrapolation spans decades), flagged `extrapolated` outside the fitted range.
    InputError unless events were seen at ≥ 2 temperatures (otherwise the likelihood has no finite maximum).
    """
    t = np.asarray(temperature, float)
    n = np.asarray(counts, float)
    x_exp = np.asarray(exposure, float)
    if not (t.shape == n.shape == x_exp.shape) or t.ndim != 1:
        raise InputError("temperature, counts and exposure must be 1-D sequences of the same length")
    if np.any(t <= 0) or np.any(x_exp <= 0) or np.any(n < 0) or not np.all(np.isfinite(n)):
        raise InputError("temperatures and exposures must be positive, counts non-negative")
    if np.unique(t[n > 0]).size < 2:
        raise InputError(
            "a rate Arrhenius fit needs events at two or more temperatures (with events at one only, the "
            "likelihood grows without bound with E_a)"
        )
    x = 1.0 / (units.KB_EV * t)
    a = np.column_stack([np.ones_like(x), -x])  # ln Γ = ln Γ₀ − E_a x
    beta = np.array([np.log(n.sum() / x_exp.sum()), 0.0])
    for _ in range(100):  # Newton on the concave Poisson log-likelihood (a GLM with log link)
        mu = x_exp * np.exp(a @ beta)
        fisher = a.T @ (mu[:, None] * a)
        step = np.linalg.solve(fisher, a.T @ (n - mu))
        beta = beta + step
        if np.max(np.abs(step)) < 1e-12 * (1.0 + np.max(np.abs(beta))):
            break
    mu = x_exp * np.exp(a @ beta)
    cov = np.linalg.inv(a.T @ (mu[:, None] * a))
    (ln_g0, ea), (ln_err, ea_err) = beta, np.sqrt(np.diag(cov))
    p_t = np.asarray(predict_at, float)
    g = np.column_stack([np.ones_like(p_t), -1.0 / (units.KB_EV * p_t)])
    rate = np.exp(g @ beta)
    ln_rate_err = np.sqrt(np.einsum("ij,jk,ik->i", g, cov, g))
    return {
        "E_a": float(ea),
        "E_a_err": float(ea_err),
        "prefactor": float(np.exp(ln_g0)),
        "ln_prefactor": float(ln_g0),
        "ln_prefactor_err": float(ln_err),
        "correlation": float(cov[0, 1] / (ln_err * ea_err)),
        "predict_temperature_K": p_t.tolist(),
        "rate": rate.tolist(),
        "rate_factor": np.exp(ln_rate_err).tolist(),
        "extrapolated": ((p_t < t.min()) | (p_t > t.max())).tolist(),
        "fitted_range_K": [float(t.min()), float(t.max())],
        "fit": "Poisson maximum likelihood of counts ~ exposure·Γ₀·exp(−E_a/kT); σ from the Fisher information",
    }
