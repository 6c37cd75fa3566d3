"""Instrument description for comparing simulated and measured S(Q,E): resolution, energy window, Q range.

Energies are in meV, Q in Å⁻¹, times in fs. A resolution function R(E) is normalised to ∫R dE = 1, so
convolving with it conserves the integrated intensity. Two kinds:

* `GaussianResolution(fwhm)`: R(E) = exp(−E²/2σ²)/(σ√2π), σ = FWHM/(2√(2 ln 2)); its Fourier pair is
  the time factor R(t) = exp(−σ²t²/2ħ²), which multiplies F(Q,t) exactly.
* `TabulatedResolution(energy, values)`: a measured resolution (e.g. vanadium or a low-temperature
  run) on a uniform or non-uniform grid, used as a piecewise-constant function of E; Lorentzians are
  convolved with it analytically bin by bin (exact for the piecewise-constant R, any Γ).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.special import voigt_profile

from ..errors import InputError

HBAR_MEV_FS = 658.2119569  # ħ in meV·fs
FWHM_TO_SIGMA = 1.0 / (2.0 * np.sqrt(2.0 * np.log(2.0)))


class Resolution:
    """Interface: `shape(E)` (1/meV, unit area), `lorentzian(E, gamma)` = (R ⊗ L_Γ)(E) with L_Γ a
    unit-area Lorentzian of half width Γ (meV), and `convolve(E, S)` for a spectrum on a uniform grid.
    """

    fwhm: float

    def shape(self, energy):  # pragma: no cover - interface
        """Resolution function R(E) (1/meV, unit area) at energy transfers E (meV)."""
        raise NotImplementedError

    def lorentzian(self, energy, gamma):  # pragma: no cover - interface
        """(R ⊗ L_Γ)(E) (1/meV): a unit-area Lorentzian of half width Γ (meV) broadened by the resolution."""
        raise NotImplementedError

    def describe(self) -> str:  # pragma: no cover - interface
        """One line naming the resolution and its width."""
        raise NotImplementedError

    def time_factor(self, t_fs):
        """Fourier pair R(t) (R(0) = 1) when the resolution is applied in the time domain, else None."""
        return None

    def convolve(self, energy: np.ndarray, spectrum: np.ndarray, axis: int = -1) -> np.ndarray:
        """Discrete convolution R ⊗ S on the uniform grid `energy` (meV), along `axis`."""
        e = np.asarray(energy, dtype=float)
        de = np.diff(e)
        if len(e) < 3 or not np.allclose(de, de[0], rtol=1e-6, atol=0):
            raise InputError("convolution with a resolution needs a uniform energy grid")
        de = de[0]
        n = len(e)
        kern_e = (np.arange(2 * n - 1) - (n - 1)) * de
        kern = self.shape(kern_e) * de
        s = np.moveaxis(np.asarray(spectrum, dtype=float), axis, -1)
        from scipy.signal import fftconvolve

        out = fftconvolve(s, np.broadcast_to(kern, s.shape[:-1] + kern.shape), mode="full", axes=-1)
        out = out[..., n - 1 : 2 * n - 1]
        return np.moveaxis(out, -1, axis)


@dataclass
class GaussianResolution(Resolution):
    """Gaussian resolution of full width at half maximum `fwhm` (meV), centred at `center` (meV)."""

    fwhm: float
    center: float = 0.0

    def __post_init__(self):
        if not (np.isfinite(self.fwhm) and self.fwhm > 0):
            raise InputError(f"resolution FWHM must be a positive number of meV, got {self.fwhm!r}")

    @property
    def sigma(self) -> float:
        """Gaussian standard deviation (meV)."""
        return self.fwhm * FWHM_TO_SIGMA

    def shape(self, energy):
        """Gaussian R(E) (1/meV, unit area) centred on `center`."""
        x = np.asarray(energy, dtype=float) - self.center
        return np.exp(-0.5 * (x / self.sigma) ** 2) / (self.sigma * np.sqrt(2 * np.pi))

    def lorentzian(self, energy, gamma):
        """Voigt profile: the Lorentzian of half width Γ (meV) convolved with the Gaussian."""
        x = np.asarray(energy, dtype=float) - self.center
        return voigt_profile(x, self.sigma, max(float(gamma), 1e-300))

    def time_factor(self, t_fs):
        """R(t) = exp(−σ²t²/2ħ²), the Fourier pair of the Gaussian (R(0) = 1), t in fs."""
        t = np.asarray(t_fs, dtype=float)
        return np.exp(-0.5 * (self.sigma * t / HBAR_MEV_FS) ** 2)

    def describe(self) -> str:
        """One line naming the resolution and its width."""
        return f"Gaussian, FWHM {self.fwhm:g} meV"


@dataclass
class TabulatedResolution(Resolution):
    """Measured resolution R(E) on a grid (meV); normalised to unit area on construction.

    Values are taken as constant over each point's bin (bin edges midway between points). Negative
    values (noise) are kept: clipping would bias the area.
    """

    energy: np.ndarray
    values: np.ndarray
    fwhm: float = field(init=False)

    def __post_init__(self):
        e = np.asarray(self.energy, dtype=float)
        v = np.asarray(self.values, dtype=float)
        if e.ndim != 1 or v.shape != e.shape or len(e) < 3:
            raise InputError("a tabulated resolution needs matching 1-D energy and value arrays (≥ 3 points)")
        if np.any(np.diff(e) <= 0):
            order = np.argsort(e)
            e, v = e[order], v[order]
        if not np.all(np.isfinite(v)):
            raise InputError("the resolution contains NaN or infinite values; clean the file first")
        mid = 0.5 * (e[1:] + e[:-1])
        self.edges = np.concatenate([[e[0] - (mid[0] - e[0])], mid, [e[-1] + (e[-1] - mid[-1])]])
        self.widths = np.diff(self.edges)
        area = float(np.sum(v * self.widths))
        if area <= 0:
            raise InputError("the resolution has zero or negative area; check the file")
        self.energy, self.values = e, v / area
        self.fwhm = _fwhm(e, self.values)

    def shape(self, energy):
        """R(E) (1/meV, unit area) interpolated from the table (zero outside it)."""
        x = np.asarray(energy, dtype=float)
        idx = np.searchsorted(self.edges, x, side="right") - 1
        inside = (idx >= 0) & (idx < len(self.values))
        out = np.zeros_like(x)
        out[inside] = self.values[idx[inside]]
        return out

    def lorentzian(self, energy, gamma):
        """(R ⊗ L_Γ)(E) = Σ_k R_k ∫_bin_k L_Γ(E − E') dE' (exact for piecewise-constant R)."""
        return _binned_lorentzian(np.asarray(energy, dtype=float), self.edges, self.values, max(float(gamma), 1e-12))

    def describe(self) -> str:
        """One line naming the table and its FWHM."""
        return f"tabulated ({len(self.energy)} points, FWHM ≈ {self.fwhm:.4g} meV)"


def _binned_lorentzian(x, edges, values, g):
    lo = (x[..., None] - edges[None, 1:]) / g
    hi = (x[..., None] - edges[None, :-1]) / g
    p = (np.arctan(hi) - np.arctan(lo)) / np.pi  # probability of L in each bin, shifted
    return p @ values


def _fwhm(e: np.ndarray, v: np.ndarray) -> float:
    i = int(np.argmax(v))
    half = v[i] / 2
    left = np.flatnonzero(v[:i] < half)
    right = np.flatnonzero(v[i:] < half)
    if len(left) == 0 or len(right) == 0:
        return float(e[-1] - e[0])
    l0 = left[-1]
    r0 = i + right[0]
    el = np.interp(half, [v[l0], v[l0 + 1]], [e[l0], e[l0 + 1]])
    er = np.interp(half, [v[r0], v[r0 - 1]], [e[r0], e[r0 - 1]])
    return float(er - el)


@dataclass
class Instrument:
    """A spectrometer: resolution, energy window (meV) and Q range (Å⁻¹) of the measured data."""

    name: str
    resolution: Resolution | None
    energy_window: tuple[float, float] | None = None
    q_range: tuple[float, float] | None = None

    def describe(self) -> dict:
        """JSON-ready description: instrument name, resolution, energy window (meV) and Q range (1/Å)."""
        return {
            "instrument": self.name,
            "resolution": self.resolution.describe() if self.resolution is not None else "none",
            "resolution_fwhm_meV": None if self.resolution is None else float(self.resolution.fwhm),
            "energy_window_meV": list(self.energy_window) if self.energy_window else None,
            "q_range_invA": list(self.q_range) if self.q_range else None,
        }


def backscattering_example() -> Instrument:
    """Example backscattering QENS spectrometer: 3.5 µeV FWHM Gaussian, ±100 µeV, Q 0.2–2.0 Å⁻¹."""
    return Instrument("backscattering (example)", GaussianResolution(0.0035), (-0.1, 0.1), (0.2, 2.0))


def as_resolution(res) -> Resolution | None:
    """None → None; a number → Gaussian FWHM (meV); a Resolution → itself; (E, R) → tabulated."""
    if res is None or isinstance(res, Resolution):
        return res
    if np.isscalar(res):
        return GaussianResolution(float(res))  # type: ignore[arg-type]
    if isinstance(res, (tuple, list)) and len(res) == 2:
        return TabulatedResolution(np.asarray(res[0]), np.asarray(res[1]))
    raise InputError(
        f"cannot interpret {type(res).__name__} as a resolution: give a FWHM in meV, a Resolution, or (energy, values)"
    )
