"""QENS fits of S(Q,E) (simulated or measured alike) and models of the line width Γ(Q).

Spectrum model (E in meV, shared/SCIENCE.md §3):

    S(E) = a_el R(E − e0) + Σ_i a_i (R ⊗ L_Γi)(E − e0) + b0 + b1 E

R the unit-area resolution (Gaussian, measured, or the effective elastic line of a simulated spectrum),
L_Γ a unit-area Lorentzian of half width at half maximum Γ (meV). EISF A₀ = a_el / (a_el + Σ a_i).

Line-width models (Γ half widths, ħ = 0.6582 meV·ps, Q in Å⁻¹, D reported in cm²/s):
  Fick               Γ = ħ D Q²
  Chudley–Elliott    Γ = (ħ/τ)[1 − sin(Ql)/(Ql)]       (powder),  D = l²/(6τ)
  Singwi–Sjölander   Γ = ħ D Q² / (1 + D Q² τ₀)                   (l = √(6Dτ₀) reported)
  Hall–Ross          Γ = (ħ/τ)[1 − exp(−l²Q²/2)],       D = l²/(2τ) (l: rms jump per Cartesian axis)
Fits are weighted least squares (scipy.optimize), errors from the covariance (absolute sigma);
models are compared by reduced χ² and AIC = χ² + 2k.

Resolved widths (`resolution_limit`): a fitted Γ below Γ_min = max(0.1 × HWHM of the resolution, ħ/t_max)
is *unresolved*: the line is indistinguishable from the elastic line (0.1 × HWHM of the instrument or
effective resolution), or it decays by less than a factor e within the longest lag t_max of the correlation
a simulated spectrum was made from (ħ/t_max). Such a Γ is reported as the upper bound Γ < Γ_min, without
an error (there a Lorentzian and the elastic line trade places and σ_Γ means nothing), and it does not
enter the Γ(Q) models; with fewer than
MIN_RESOLVED_Q resolved widths no model (and no D) is given, with the reason.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import xarray as xr
from scipy.optimize import least_squares

from .. import units
from ..errors import InputError
from ..neutron.instrument import Resolution, as_resolution

HBAR_MEV_PS = units.HBAR_MEV_PS
A2_PER_PS_TO_CM2_PER_S = 1e-4
UNRESOLVED_FRACTION = 0.1  # a Γ below this fraction of the resolution HWHM is not resolved
MIN_RESOLVED_Q = 3  # the fewest resolved Γ(Q) a line-width model (and its D) is fitted to
RESOLUTION_RULE = (
    f"Γ < Γ_min = max({UNRESOLVED_FRACTION:g} × resolution HWHM, ħ/t_max of an MD correlation) is unresolved: "
    f"reported as Γ < Γ_min, left out of the Γ(Q) models; the models need ≥ {MIN_RESOLVED_Q} resolved Q"
)


def resolution_limit(resolution, max_lag_fs: float | None = None) -> float:
    """Γ_min (meV, half width): the narrowest Lorentzian a fit with `resolution` resolves.

    Γ_min = max(UNRESOLVED_FRACTION × HWHM of the resolution, ħ/t_max); the second term only for a spectrum
    transformed from a correlation that reaches t_max = `max_lag_fs` (an MD-derived S(Q,E)): a line of
    Γ < ħ/t_max decays by less than a factor e within the correlation, so the trajectory does not resolve it.
    """
    res = as_resolution(resolution)
    limit = UNRESOLVED_FRACTION * 0.5 * float(res.fwhm) if res is not None else 0.0
    if max_lag_fs is not None and np.isfinite(max_lag_fs) and max_lag_fs > 0:
        limit = max(limit, HBAR_MEV_PS * 1e3 / float(max_lag_fs))
    return limit


# ----------------------------------------------------------------------------- spectrum fits
@dataclass
class QENSFit:
    """Result of one spectrum fit. Values in meV (Γ, e0), spectrum units (amplitudes, background)."""

    params: dict
    errors: dict
    chi2: float
    chi2_red: float
    aic: float
    n_points: int
    n_lorentzians: int
    success: bool
    message: str = ""
    covariance: np.ndarray | None = field(default=None, repr=False)
    gamma_limit: float = 0.0  # Γ_min (meV) of `resolution_limit`
    resolved: bool = True  # every fitted Γ ≥ gamma_limit
    gamma_upper: float | None = None  # unresolved: the upper bound (meV), Γ_min

    @property
    def gamma(self) -> float:
        """Half width Γ (meV) of the (first) Lorentzian."""
        return self.params["gamma1"]

    @property
    def eisf(self) -> float:
        """Elastic incoherent structure factor: elastic fraction of the quasi-elastic intensity."""
        return self.params["eisf"]

    def summary(self) -> dict:
        """Γ ± σ (meV), EISF and fit quality as a JSON-ready dict; an unresolved Γ only as its upper bound."""
        out = {
            "gamma_meV": self.params.get("gamma1"),
            "gamma_err_meV": self.errors.get("gamma1"),
            "eisf": self.params.get("eisf"),
            "eisf_err": self.errors.get("eisf"),
            "chi2_red": self.chi2_red,
            "aic": self.aic,
            "success": self.success,
            "resolved": self.resolved,
            "gamma_limit_meV": self.gamma_limit,
        }
        if not self.resolved:  # the elastic/quasi-elastic split is undetermined too
            out.update(gamma_meV=None, gamma_err_meV=None, eisf=None, eisf_err=None, gamma_upper_meV=self.gamma_upper)
            return out
        if self.n_lorentzians == 2:
            out.update(
                gamma2_meV=self.params["gamma2"],
                gamma2_err_meV=self.errors["gamma2"],
                gamma_mean_meV=self.params["gamma_mean"],
                gamma_mean_err_meV=self.errors["gamma_mean"],
            )
        return out


def qens_model(energy, resolution: Resolution, a_el, amps, gammas, e0=0.0, b0=0.0, b1=0.0):
    """Evaluate the QENS spectrum model (see module docstring) at `energy` (meV)."""
    x = np.asarray(energy, dtype=float) - e0
    s = a_el * resolution.shape(x) + b0 + b1 * np.asarray(energy)
    for a, g in zip(amps, gammas):
        s = s + a * resolution.lorentzian(x, g)
    return s


def _usable(values, errors):
    """(values, σ, whether σ was given, mask of finite points with σ > 0); σ = 1 when not given."""
    y = np.asarray(values, dtype=float)
    have_err = errors is not None
    sig = np.asarray(errors, dtype=float) if have_err else np.ones_like(y)
    return y, sig, have_err, np.isfinite(y) & np.isfinite(sig) & (sig > 0)


def fit_qens(
    energy,
    spectrum,
    errors=None,
    resolution=None,
    *,
    n_lorentzians: int = 1,
    elastic: bool = True,
    background: str = "flat",
    fit_center: bool = False,
    energy_range=None,
    gamma_guess: float | None = None,
    gamma_limit: float | None = None,
) -> QENSFit:
    """Fit elastic line + 1 or 2 Lorentzians + background, convolved with `resolution`, to S(E).

    energy (meV), spectrum and errors (same units; None → unit weights and errors scaled by √χ²_red).
    resolution: FWHM (meV), Resolution, or (E, R). background: 'none', 'flat' or 'linear'.
    energy_range: (emin, emax) meV to fit. gamma_limit: Γ_min (meV) below which a width is unresolved
    (default `resolution_limit(resolution)`; pass the ħ/t_max term for MD spectra, 0 to turn the rule off).
    Returns a QENSFit with Γ_i (meV), EISF and their errors, and `resolved`/`gamma_upper`.
    """
    res = as_resolution(resolution)
    if res is None:
        raise InputError(
            "a QENS fit needs a resolution (FWHM in meV, a resolution file, or the effective "
            "elastic line of the simulated spectrum)"
        )
    if n_lorentzians not in (1, 2):
        raise InputError(f"n_lorentzians must be 1 or 2, got {n_lorentzians}")
    if background not in ("none", "flat", "linear"):
        raise InputError(f"background must be none, flat or linear, got {background!r}")
    e = np.asarray(energy, dtype=float)
    y, sig, have_err, ok = _usable(spectrum, errors)
    if energy_range is not None:
        ok &= (e >= energy_range[0]) & (e <= energy_range[1])
    e, y, sig = e[ok], y[ok], sig[ok]
    if len(e) < 6 + 2 * n_lorentzians:
        raise InputError(f"only {len(e)} usable points in the fit range; widen energy_range")
    de = np.median(np.diff(np.sort(e)))
    area = float(np.sum(y) * de)
    span = float(e.max() - e.min())
    fwhm_r = max(float(res.fwhm), de)
    # initial guesses: Γ from the excess width over the resolution
    if gamma_guess is None:
        half = y.max() / 2
        above = e[y >= half]
        w = (above.max() - above.min()) if len(above) > 1 else fwhm_r
        gamma_guess = max(0.5 * max(w - fwhm_r, 0.3 * w), 0.2 * de)
    names = []
    p0, lo, hi = [], [], []

    def add(name, v, l, h):
        names.append(name)
        p0.append(v)
        lo.append(l)
        hi.append(h)

    amp0 = max(area, 1e-12)
    if elastic:
        add("a_el", 0.3 * amp0, 0.0, np.inf)
    add("a1", 0.7 * amp0, 0.0, np.inf)
    add("gamma1", gamma_guess, 1e-6 * fwhm_r, 10 * span)
    if n_lorentzians == 2:
        add("a2", 0.3 * amp0, 0.0, np.inf)
        add("gamma2", 8 * gamma_guess, 1e-6 * fwhm_r, 50 * span)
    if fit_center:
        add("e0", 0.0, -0.5 * fwhm_r, 0.5 * fwhm_r)
    if background in ("flat", "linear"):
        add("b0", max(float(np.min(y)), 0.0) * 0.5, -np.inf, np.inf)
    if background == "linear":
        add("b1", 0.0, -np.inf, np.inf)

    def unpack(p):
        d = dict(zip(names, p))
        amps = [d["a1"]] + ([d["a2"]] if n_lorentzians == 2 else [])
        gams = [d["gamma1"]] + ([d["gamma2"]] if n_lorentzians == 2 else [])
        return d, amps, gams

    def resid(p):
        d, amps, gams = unpack(p)
        m = qens_model(e, res, d.get("a_el", 0.0), amps, gams, d.get("e0", 0.0), d.get("b0", 0.0), d.get("b1", 0.0))
        return (m - y) / sig

    best = None
    starts = [1.0, 0.3, 3.0]
    for f in starts:
        q0 = np.array(p0, dtype=float)
        q0[names.index("gamma1")] = np.clip(
            gamma_guess * f, lo[names.index("gamma1")] * 1.01, hi[names.index("gamma1")] * 0.99
        )
        try:
            r = least_squares(resid, q0, bounds=(lo, hi), x_scale="jac", method="trf", max_nfev=4000)
        except Exception as err:  # pragma: no cover - numerical failure
            last = err
            continue
        if best is None or r.cost < best.cost:
            best = r
    if best is None:  # pragma: no cover
        raise InputError(f"QENS fit failed: {last}")
    p = best.x
    chi2 = float(2 * best.cost)
    k = len(p)
    dof = max(len(e) - k, 1)
    chi2_red = chi2 / dof
    cov = _covariance(best.jac)
    if not have_err:
        cov = cov * chi2_red
    perr = np.sqrt(np.clip(np.diag(cov), 0, None))
    d, amps, gams = unpack(p)
    params = {n: float(v) for n, v in zip(names, p)}
    errors = {n: float(v) for n, v in zip(names, perr)}
    if n_lorentzians == 2 and params["gamma2"] < params["gamma1"]:  # order: gamma1 the narrow one
        for a, b in (("a1", "a2"), ("gamma1", "gamma2")):
            params[a], params[b] = params[b], params[a]
            errors[a], errors[b] = errors[b], errors[a]
    # EISF and its error by the delta method
    a_el = params.get("a_el", 0.0)
    tot = a_el + sum(params[f"a{i + 1}"] for i in range(n_lorentzians))
    eisf = a_el / tot if tot > 0 else np.nan
    grad = np.zeros(k)
    if elastic and tot > 0:
        for i, n in enumerate(names):
            if n == "a_el":
                grad[i] = (tot - a_el) / tot**2
            elif n in ("a1", "a2"):
                grad[i] = -a_el / tot**2
    params["eisf"] = float(eisf)
    errors["eisf"] = float(np.sqrt(max(grad @ cov @ grad, 0.0))) if elastic else 0.0
    if n_lorentzians == 2:
        # amplitude-weighted mean width (first cumulant of a distribution of rates) and its error
        def gmean(x):
            dd = dict(zip(names, x))
            return (dd["a1"] * dd["gamma1"] + dd["a2"] * dd["gamma2"]) / max(dd["a1"] + dd["a2"], 1e-300)

        h = np.maximum(np.abs(p) * 1e-6, 1e-12)
        gg = np.array(
            [(gmean(p + np.eye(k)[i] * h[i]) - gmean(p - np.eye(k)[i] * h[i])) / (2 * h[i]) for i in range(k)]
        )
        params["gamma_mean"] = float(gmean(p))
        errors["gamma_mean"] = float(np.sqrt(max(gg @ cov @ gg, 0.0)))
    else:
        params["gamma_mean"] = params["gamma1"]
        errors["gamma_mean"] = errors["gamma1"]
    params["total_area"] = float(tot)
    success, message = bool(best.success), str(best.message)
    limit = resolution_limit(res) if gamma_limit is None else float(gamma_limit)
    # a width the fit range cannot tell is not a result: not finite, wider than the fit range (the line is a
    # flat background there), pinned at the lower bound (narrower than the resolution), or σ_Γ > Γ; a width
    # below the resolution limit is not a failure but unresolved: an upper bound only
    half = float(np.max(np.abs(e - params.get("e0", 0.0))))
    unresolved: list[tuple[str, float]] = []  # (label, Γ)
    for i in range(1, n_lorentzians + 1):
        g, sg, label = params[f"gamma{i}"], errors[f"gamma{i}"], "Γ" if n_lorentzians == 1 else f"Γ{i}"
        if not np.isfinite(g) or not np.isfinite(sg):
            success, message = False, f"{label} is not finite"
        elif g > half:
            success, message = (
                False,
                (
                    f"{label} = {g:.3g} meV is wider than the fitted energy range "
                    f"(|E| ≤ {half:.3g} meV): the line is not resolved in this fit range"
                ),
            )
        elif g < limit:
            unresolved.append((label, g))
        elif g <= 1.01 * lo[names.index(f"gamma{i}")]:
            success, message = False, f"{label} = {g:.3g} meV sits at its lower bound (narrower than the resolution)"
        elif sg > g:
            success, message = (
                False,
                (f"{label} = {g:.3g} ± {sg:.2g} meV is not determined by the spectrum (its error exceeds it)"),
            )
    if unresolved and success:  # the fit cannot tell widths below Γ_min apart (its σ_Γ is no guide there)
        label, g = unresolved[0]
        message = f"{label} = {g:.2g} meV is below the resolution limit: unresolved, {label} < {limit:.2g} meV"
    fit = QENSFit(params, errors, chi2, chi2_red, chi2 + 2 * k, len(e), n_lorentzians, success, message, cov)
    fit.gamma_limit, fit.resolved, fit.gamma_upper = limit, not unresolved, limit if unresolved else None
    return fit


def _covariance(jac: np.ndarray) -> np.ndarray:
    jtj = jac.T @ jac
    try:
        return np.linalg.inv(jtj)
    except np.linalg.LinAlgError:
        return np.linalg.pinv(jtj)


def fit_qens_dataset(sqe: xr.Dataset, var: str = "S_inc", resolution=None, **kw) -> xr.Dataset:
    """Fit every Q of a spectrum Dataset (dims q, energy). Errors from `<var>_err` when present.

    resolution: None uses the dataset's effective elastic line (`resolution` variable, simulated
    spectra); otherwise a FWHM/Resolution for all Q, or a dict/list with one Resolution per Q.
    Returns gamma, gamma_err, eisf, eisf_err, chi2_red (and gamma2 for two Lorentzians) per q, and
    `resolved`, `gamma_limit` and `gamma_upper` (`resolution_limit`: a spectrum made from an MD correlation
    carries its longest lag in attrs["max_lag_time_fs"], whose ħ/t_max enters Γ_min; a `gamma_limit` keyword
    overrides Γ_min for every Q).
    """
    from ..neutron.instrument import TabulatedResolution

    if var not in sqe:
        raise InputError(f"{var!r} not in the spectrum dataset; it has {', '.join(map(str, sqe.data_vars))}")
    da = sqe[var]
    extra = [d for d in da.dims if d not in ("q", "energy")]
    if extra:
        raise InputError(f"select a single {extra[0]} first (e.g. ds.sel({extra[0]}=...)) before fitting")
    err = sqe.get(f"{var}_err")
    energy = sqe.energy.values
    gamma_limit = kw.pop("gamma_limit", None)
    max_lag_fs = sqe.attrs.get("max_lag_time_fs")
    max_lag_fs = float(max_lag_fs) if isinstance(max_lag_fs, (int, float, np.number)) else None
    rows = []
    for i in range(sqe.sizes["q"]):
        res_i: Resolution | None
        if resolution is None:
            if "resolution" not in sqe:
                raise InputError("no resolution given and the dataset carries no `resolution` variable")
            r = sqe.resolution.values if sqe.resolution.ndim == 1 else sqe.resolution.values[i]
            res_i = TabulatedResolution(energy, r)
        elif (
            isinstance(resolution, (list, tuple))
            and not np.isscalar(resolution[0])
            and len(resolution) == sqe.sizes["q"]
        ):
            res_i = as_resolution(resolution[i])
        else:
            res_i = as_resolution(resolution)
        y = da.isel(q=i).values
        s = None if err is None else err.isel(q=i).values
        limit = resolution_limit(res_i, max_lag_fs) if gamma_limit is None else gamma_limit
        rows.append(fit_qens(energy, y, s, res_i, gamma_limit=limit, **kw))
    nl = rows[0].n_lorentzians
    data = {
        "gamma": (
            "q",
            [r.params["gamma1"] for r in rows],
            {"units": units.ENERGY_MEV, "long_name": "Lorentzian HWHM Γ"},
        ),
        "gamma_err": ("q", [r.errors["gamma1"] for r in rows], {"units": units.ENERGY_MEV}),
        "eisf": ("q", [r.params["eisf"] for r in rows], {"units": units.DIMENSIONLESS, "long_name": "EISF A0"}),
        "eisf_err": ("q", [r.errors["eisf"] for r in rows], {"units": units.DIMENSIONLESS}),
        "chi2_red": ("q", [r.chi2_red for r in rows], {"units": units.DIMENSIONLESS}),
        "aic": ("q", [r.aic for r in rows], {"units": units.DIMENSIONLESS}),
        "fit_ok": (
            "q",
            [int(r.success) for r in rows],
            {
                "units": units.DIMENSIONLESS,
                "long_name": "1 if the fit converged with a determined Γ inside the fitted range",
            },
        ),
        "resolved": (
            "q",
            [int(r.resolved) for r in rows],
            {"units": units.DIMENSIONLESS, "long_name": "1 if every fitted Γ is at least gamma_limit"},
        ),
        "gamma_limit": (
            "q",
            [r.gamma_limit for r in rows],
            {"units": units.ENERGY_MEV, "long_name": "Γ_min: narrowest resolved half width"},
        ),
        "gamma_upper": (
            "q",
            [np.nan if r.gamma_upper is None else r.gamma_upper for r in rows],
            {"units": units.ENERGY_MEV, "long_name": "upper bound of an unresolved Γ (NaN when resolved)"},
        ),
    }
    if nl == 2:
        data["gamma2"] = ("q", [r.params["gamma2"] for r in rows], {"units": units.ENERGY_MEV})
        data["gamma2_err"] = ("q", [r.errors["gamma2"] for r in rows], {"units": units.ENERGY_MEV})
        data["gamma_mean"] = (
            "q",
            [r.params["gamma_mean"] for r in rows],
            {"units": units.ENERGY_MEV, "long_name": "amplitude-weighted mean Γ"},
        )
        data["gamma_mean_err"] = ("q", [r.errors["gamma_mean"] for r in rows], {"units": units.ENERGY_MEV})
    ds = xr.Dataset(data, coords={"q": sqe.q})
    ds.attrs.update({f"fit_{k}": str(v) for k, v in kw.items()})
    ds.attrs.update(
        analysis="qens_fit",
        variable=var,
        n_lorentzians=nl,
        model="a_el R + Σ a_i R⊗L_Γi + background; Γ half width (meV)",
        fit_failures={f"{float(q):g}": r.message for q, r in zip(sqe.q.values, rows) if not r.success},
        unresolved={f"{float(q):g}": r.message for q, r in zip(sqe.q.values, rows) if r.success and not r.resolved},
        resolution_rule=RESOLUTION_RULE,
    )
    return ds


# ----------------------------------------------------------------------------- Γ(Q) models
def _fick(q, d):
    return HBAR_MEV_PS * d * q**2


def _ce(q, tau, l):
    x = q * l
    return HBAR_MEV_PS / tau * (1.0 - np.sinc(x / np.pi))


def _ss(q, d, tau0):
    return HBAR_MEV_PS * d * q**2 / (1.0 + d * q**2 * tau0)


def _hr(q, tau, l):
    return HBAR_MEV_PS / tau * (1.0 - np.exp(-0.5 * (l * q) ** 2))


GAMMA_MODELS: dict[str, tuple[Callable[..., np.ndarray], tuple[str, ...], tuple[str, ...]]] = {
    # name: (function, parameter names, units)
    "fick": (_fick, ("D",), ("angstrom2 ps-1",)),
    "chudley_elliott": (_ce, ("tau", "l"), ("ps", "angstrom")),
    "singwi_sjolander": (_ss, ("D", "tau0"), ("angstrom2 ps-1", "ps")),
    "hall_ross": (_hr, ("tau", "l"), ("ps", "angstrom")),
}


def gamma_model(name: str, q, **params) -> np.ndarray:
    """Γ(Q) in meV of a named model (parameters in Å²/ps, ps, Å)."""
    if name not in GAMMA_MODELS:
        raise InputError(f"unknown Γ(Q) model {name!r}; choose {', '.join(GAMMA_MODELS)}")
    f, pn, _ = GAMMA_MODELS[name]
    return f(np.asarray(q, dtype=float), *[params[p] for p in pn])


def _derived(name, p, cov):
    """D (cm²/s), τ (ps), l (Å) with errors from the fitted parameters (delta method)."""

    def with_err(fun):
        v = fun(p)
        g = np.array(
            [(fun(p + h) - fun(p - h)) / (2 * h[i]) for i, h in enumerate(np.diag(np.maximum(np.abs(p) * 1e-6, 1e-12)))]
        )
        return float(v), float(np.sqrt(max(g @ cov @ g, 0.0)))

    out = {}
    if name == "fick":
        out["D"] = with_err(lambda x: x[0])
    elif name == "chudley_elliott":
        out["D"] = with_err(lambda x: x[1] ** 2 / (6 * x[0]))
        out["tau"] = with_err(lambda x: x[0])
        out["l"] = with_err(lambda x: x[1])
    elif name == "singwi_sjolander":
        out["D"] = with_err(lambda x: x[0])
        out["tau"] = with_err(lambda x: x[1])
        out["l"] = with_err(lambda x: np.sqrt(6 * x[0] * max(x[1], 0.0)))
    elif name == "hall_ross":
        out["D"] = with_err(lambda x: x[1] ** 2 / (2 * x[0]))
        out["tau"] = with_err(lambda x: x[0])
        out["l"] = with_err(lambda x: x[1])
    d, de = out["D"]
    out["D"] = (d * A2_PER_PS_TO_CM2_PER_S, de * A2_PER_PS_TO_CM2_PER_S)
    return out


def fit_gamma_model(name: str, q, gamma, gamma_err=None, q_max: float | None = None) -> dict:
    """Fit one Γ(Q) model. Returns parameters, errors, D (cm²/s), τ (ps), l (Å), χ²_red, AIC."""
    if name not in GAMMA_MODELS:
        raise InputError(f"unknown Γ(Q) model {name!r}; choose {', '.join(GAMMA_MODELS)}")
    q = np.asarray(q, dtype=float)
    g, s, have_err, ok = _usable(gamma, gamma_err)
    if q_max is not None:
        ok &= q <= q_max
    q, g, s = q[ok], g[ok], s[ok]
    f, pn, pu = GAMMA_MODELS[name]
    k = len(pn)
    if len(q) < k + 1:
        return {"model": name, "success": False, "message": f"needs ≥ {k + 1} Q points, got {len(q)}"}
    small = np.argsort(q)[: max(2, len(q) // 3)]
    d0 = float(np.median(g[small] / (HBAR_MEV_PS * q[small] ** 2)))
    gmax = float(g.max())
    starts = {
        "fick": [[d0]],
        "chudley_elliott": [
            [HBAR_MEV_PS / gmax * f_, np.sqrt(6 * d0 * HBAR_MEV_PS / gmax * f_)] for f_ in (0.5, 1.0, 2.0)
        ],
        "singwi_sjolander": [[d0, HBAR_MEV_PS / gmax * f_] for f_ in (0.1, 1.0, 3.0)],
        "hall_ross": [[HBAR_MEV_PS / gmax * f_, np.sqrt(2 * d0 * HBAR_MEV_PS / gmax * f_)] for f_ in (0.5, 1.0, 2.0)],
    }[name]
    best = None
    for p0 in starts:
        try:
            r = least_squares(
                lambda p: (f(q, *p) - g) / s,
                np.asarray(p0, float),
                bounds=(1e-12, np.inf),
                x_scale="jac",
                max_nfev=5000,
            )
        except Exception:  # pragma: no cover
            continue
        if best is None or r.cost < best.cost:
            best = r
    if best is None:  # pragma: no cover
        return {"model": name, "success": False, "message": "optimiser failed"}
    pinned = [n for n, v in zip(pn, best.x) if v <= 1e-9]
    if pinned:  # a parameter at its bound of 1e-12 is not determined by these Γ(Q)
        return {
            "model": name,
            "success": False,
            "message": f"{', '.join(pinned)} at its lower bound: these Γ(Q) do not determine it",
        }
    chi2 = float(2 * best.cost)
    dof = max(len(q) - k, 1)
    cov = _covariance(best.jac)
    if not have_err:
        cov = cov * chi2 / dof
    perr = np.sqrt(np.clip(np.diag(cov), 0, None))
    der = _derived(name, best.x, cov)
    return {
        "model": name,
        "success": bool(best.success),
        "params": {n: float(v) for n, v in zip(pn, best.x)},
        "errors": {n: float(v) for n, v in zip(pn, perr)},
        "param_units": dict(zip(pn, pu)),
        "D": der["D"][0],
        "D_err": der["D"][1],
        "D_units": units.DIFFUSION,
        "tau": der.get("tau", (None, None))[0],
        "tau_err": der.get("tau", (None, None))[1],
        "l": der.get("l", (None, None))[0],
        "l_err": der.get("l", (None, None))[1],
        "tau_units": "ps",
        "l_units": "angstrom",
        "chi2": chi2,
        "chi2_red": chi2 / dof,
        "aic": chi2 + 2 * k,
        "n_points": int(len(q)),
    }


def fit_gamma_models(
    q, gamma, gamma_err=None, models=None, q_max: float | None = None, min_points: int = MIN_RESOLVED_Q
) -> dict:
    """Fit all (or the named) Γ(Q) models; adds `best_by_aic` and ΔAIC to each model.

    Γ that are NaN (unresolved or failed widths) are left out; with fewer than `min_points` usable Q no model
    is fitted and each says why (`success` False, `message`).
    """
    models = list(models or GAMMA_MODELS)
    qa = np.asarray(q, dtype=float)
    n = int(np.count_nonzero(_usable(gamma, gamma_err)[3] & (qa <= q_max if q_max is not None else True)))
    if n < min_points:
        why = f"needs ≥ {min_points} Q points with a resolved Γ, got {n}: no D from Γ(Q)"
        return {m: {"model": m, "success": False, "message": why} for m in models}
    res = {m: fit_gamma_model(m, q, gamma, gamma_err, q_max) for m in models}
    ok = {m: r for m, r in res.items() if r.get("success") and np.isfinite(r.get("aic", np.nan))}
    if ok:
        best = min(ok, key=lambda m: ok[m]["aic"])
        for r in ok.values():
            r["delta_aic"] = r["aic"] - ok[best]["aic"]
        res["best_by_aic"] = best
    return res


def gamma_models_summary(models: dict) -> dict:
    """Plain-number summary of `fit_gamma_models` results (D cm²/s, τ ps, l Å, χ²_red, AIC)."""
    out = {}
    for name, r in models.items():
        if name == "best_by_aic":
            out[name] = r
            continue
        if not r.get("success"):
            out[name] = {"success": False, "message": r.get("message", "")}
            continue
        out[name] = {
            k: r.get(k)
            for k in ("D", "D_err", "tau", "tau_err", "l", "l_err", "chi2_red", "aic", "delta_aic", "params", "errors")
        }
        out[name]["units"] = {"D": "cm2/s", "tau": "ps", "l": "angstrom"}
    return out


def linewidth_summary(fits: xr.Dataset, n_lorentzians: int = 1) -> dict:
    """Per-Q Γ (meV, HWHM), EISF and χ²_red of `fit_qens_dataset` results, and the Γ(Q) model fits.

    With two Lorentzians the intensity-weighted mean width `gamma_mean` enters the Γ(Q) models.
    A Q whose spectrum fit failed (`fit_ok` 0: no convergence, Γ outside the fitted range or undetermined) has
    gamma/eisf None, `fit_ok` False and the reason in `failure`, and is left out of the Γ(Q) models.
    A Q whose Γ is unresolved (`resolved` False: below Γ_min, see `resolution_limit`) has gamma/eisf None,
    `gamma_upper` (meV) and the reason in `unresolved`, and is left out too. With fewer than MIN_RESOLVED_Q
    resolved Q the models are refused: `models_refused` says why, and no model carries a D.
    """
    gcol = "gamma_mean" if n_lorentzians == 2 else "gamma"
    nq = fits.sizes["q"]
    ok = fits["fit_ok"].values.astype(bool) if "fit_ok" in fits else np.ones(nq, bool)
    resolved = fits["resolved"].values.astype(bool) if "resolved" in fits else np.ones(nq, bool)
    failures, unresolved = (_attr_dict(fits, k) for k in ("fit_failures", "unresolved"))
    use = ok & resolved
    g = np.where(use, fits[gcol].values, np.nan)
    models = fit_gamma_models(fits.q.values, g, fits[f"{gcol}_err"].values)
    per_q: dict[str, dict[str, object]] = {}
    for i, q in enumerate(fits.q.values):
        key = f"{float(q):g}"
        row: dict[str, object] = {
            "gamma": None,
            "gamma_err": None,
            "eisf": None,
            "eisf_err": None,
            "chi2_red": float(fits.chi2_red.values[i]),
            "fit_ok": bool(ok[i]),
            "resolved": bool(resolved[i]) if ok[i] else None,  # a failed fit is neither
        }
        if "gamma_limit" in fits:
            row["gamma_limit"] = float(fits.gamma_limit.values[i])
        if use[i]:
            row.update(
                gamma=float(fits[gcol].values[i]),
                gamma_err=float(fits[f"{gcol}_err"].values[i]),
                eisf=float(fits.eisf.values[i]),
                eisf_err=float(fits.eisf_err.values[i]),
            )
        elif ok[i]:
            row.update(gamma_upper=float(fits.gamma_upper.values[i]), unresolved=unresolved.get(key, "unresolved"))
        else:
            row["failure"] = failures.get(key, "the fit did not converge")
        per_q[key] = row
    out = {
        "units": {
            "q": "1/angstrom",
            "gamma": "meV (HWHM)",
            "gamma_upper": "meV (HWHM)",
            "gamma_limit": "meV (HWHM)",
            "D": "cm2/s",
            "tau": "ps",
            "l": "angstrom",
        },
        "q": per_q,
        "models": gamma_models_summary(models),
    }
    n_use = int(np.count_nonzero(use & np.isfinite(g)))
    if n_use < MIN_RESOLVED_Q:
        n_unres = int(np.count_nonzero(ok & ~resolved))
        out["models_refused"] = (
            f"only {n_use} of {nq} Q have a resolved Γ ({n_unres} unresolved, {nq - int(ok.sum())} failed); "
            f"a D from Γ(Q) needs at least {MIN_RESOLVED_Q}"
        )
    return out


TRACER_FACTOR = 3.0  # a Γ(Q) model D more than this factor from the tracer D (and > 3σ away) is not the diffusive line


def compare_with_tracer(summary: dict, d_tracer: float, d_tracer_err: float, species: str) -> list[str]:
    """Mark each Γ(Q) model D of `linewidth_summary` against the tracer D of the same species (cm²/s, MSD).

    A model D that differs from the tracer D by more than a factor TRACER_FACTOR and by more than 3 combined σ
    gets `consistent_with_tracer` False: the fitted Lorentzian is then not the diffusive line (typically a fast
    local motion, with the diffusive line unresolved inside the elastic peak). Returns one warning per such model
    and stores `tracer_D`/`tracer_D_err`/`tracer_species` in `summary`.
    """
    summary["tracer_D"], summary["tracer_D_err"], summary["tracer_species"] = d_tracer, d_tracer_err, species
    warnings: list[str] = []
    if not (np.isfinite(d_tracer) and d_tracer > 0):
        return warnings
    for name, r in summary.get("models", {}).items():
        if not isinstance(r, dict) or r.get("D") is None:
            continue
        d, err = float(r["D"]), float(r.get("D_err") or 0.0)
        ratio = d / d_tracer
        sigma = np.hypot(err, d_tracer_err or 0.0)
        ok = (1 / TRACER_FACTOR <= ratio <= TRACER_FACTOR) or abs(d - d_tracer) <= 3 * sigma
        r["tracer_ratio"], r["consistent_with_tracer"] = ratio, bool(ok)
        if not ok:
            warnings.append(
                f"{name} D = {d:.2e} cm²/s is {ratio:.3g}× the tracer D of {species} from the MSD "
                f"({d_tracer:.2e} ± {d_tracer_err:.1e} cm²/s): the fitted line is not the diffusive one (a faster "
                "local motion; the diffusive line is narrower than this resolution or trajectory can show), so it is "
                "no diffusion coefficient"
            )
    return warnings


def _attr_dict(ds: xr.Dataset, name: str) -> dict:
    value = ds.attrs.get(name, {})
    return json.loads(value) if isinstance(value, str) else dict(value)  # a netCDF file stores a JSON string


def width_text(row: dict) -> str:
    """One Q of `linewidth_summary` in words: 'Γ = 0.012 ± 0.0004 meV, EISF = 0.31', 'Γ < 0.0002 meV (unresolved)'
    or 'fit failed (…)'.
    """
    if not row.get("fit_ok", True):
        return f"fit failed ({row.get('failure', '')})"
    if row.get("gamma") is None:
        return f"Γ < {row['gamma_upper']:.2g} meV (unresolved)"
    return f"Γ = {row['gamma']:.4g} ± {row['gamma_err']:.2g} meV, EISF = {row['eisf']:.3f}"
