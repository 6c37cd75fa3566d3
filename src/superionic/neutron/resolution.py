"""Instrument resolution: convolve a spectrum on a uniform energy grid with a Gaussian or a given kernel.

Generic on purpose (used by the GDOS and by the scattering analyses): energies in any unit as long as
spectrum grid, FWHM and kernel share it (meV by convention). Kernels are normalised to unit area, so
the convolution conserves ∫S dE. `symmetric=True` treats the spectrum as even in E (a one-sided DOS
on E ≥ 0), so no intensity leaks to E < 0; otherwise values outside the grid are zero.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..errors import InputError

FWHM_TO_SIGMA = 1.0 / (2.0 * np.sqrt(2.0 * np.log(2.0)))


def _uniform_step(e: np.ndarray) -> float:
    d = np.diff(e)
    if e.ndim != 1 or e.size < 3 or not np.allclose(d, d[0], rtol=1e-6, atol=0):
        raise InputError("the energy grid must be 1-D, increasing and uniformly spaced")
    if d[0] <= 0:
        raise InputError("the energy grid must be increasing")
    return float(d[0])


def gaussian_kernel(step: float, fwhm: float, reach: float = 5.0) -> np.ndarray:
    """Gaussian of FWHM `fwhm` sampled at multiples of `step`, unit area (sum·step = 1)."""
    if fwhm <= 0:
        raise InputError(f"resolution FWHM must be positive, got {fwhm}")
    sigma = fwhm * FWHM_TO_SIGMA
    n = int(np.ceil(reach * sigma / step))
    x = np.arange(-n, n + 1) * step
    k = np.exp(-0.5 * (x / sigma) ** 2)
    return k / (k.sum() * step)


def kernel_on_grid(step: float, kernel_energy: np.ndarray, kernel_values: np.ndarray) -> np.ndarray:
    """A user resolution function R(E) (any sampling, centred at 0) resampled at multiples of step."""
    ke = np.asarray(kernel_energy, dtype=float)
    kv = np.asarray(kernel_values, dtype=float)
    if ke.shape != kv.shape or ke.ndim != 1 or ke.size < 2:
        raise InputError("resolution kernel energies and values must be 1-D arrays of equal length")
    if np.any(kv < 0):
        raise InputError("resolution kernel has negative values")
    n = int(np.ceil(max(abs(ke[0]), abs(ke[-1])) / step))
    x = np.arange(-n, n + 1) * step
    k = np.interp(x, ke, kv, left=0.0, right=0.0)
    if k.sum() <= 0:
        raise InputError("resolution kernel is zero on the spectrum's grid (too narrow for the step?)")
    return k / (k.sum() * step)


def convolve(
    energy,
    spectrum,
    fwhm: float | Callable[[np.ndarray], np.ndarray] | None = None,
    kernel: tuple[np.ndarray, np.ndarray] | None = None,
    symmetric: bool = True,
) -> np.ndarray:
    """Convolve spectrum(energy) with a resolution: Gaussian `fwhm` (a number, or a function of E for an
    energy-dependent width) or `kernel=(energies, values)`. Returns the convolved spectrum, same grid.
    """
    e = np.asarray(energy, dtype=float)
    s = np.asarray(spectrum, dtype=float)
    if s.shape[-1] != e.size:
        raise InputError(f"spectrum has {s.shape[-1]} points, energy grid {e.size}")
    if (fwhm is None) == (kernel is None):
        raise InputError("give exactly one of fwhm= (Gaussian) or kernel=(energies, values)")
    step = _uniform_step(e)
    if symmetric and abs(e[0]) > 0.5 * step:
        raise InputError("symmetric=True needs a grid starting at E = 0")
    if callable(fwhm):
        return _convolve_variable(e, s, fwhm, step, symmetric)
    k = gaussian_kernel(step, float(fwhm)) if fwhm is not None else kernel_on_grid(step, *(kernel or ()))
    h = k.size // 2
    if symmetric:
        if h >= s.shape[-1]:
            raise InputError("the resolution kernel is wider than the spectrum's energy range")
        # reflect about E = 0 (even DOS); zero beyond the top of the grid
        ext = np.concatenate([s[..., 1 : h + 1][..., ::-1], s, np.zeros(s.shape[:-1] + (h,))], axis=-1)
    else:
        ext = np.concatenate([np.zeros(s.shape[:-1] + (h,)), s, np.zeros(s.shape[:-1] + (h,))], axis=-1)
    out = np.apply_along_axis(lambda r: np.convolve(r, k, mode="valid"), -1, ext) * step
    return out


def _convolve_variable(e, s, fwhm_fn, step, symmetric):
    w = np.asarray(fwhm_fn(e), dtype=float) * np.ones_like(e)
    if np.any(w <= 0):
        raise InputError("energy-dependent FWHM must be positive everywhere")
    sig = w * FWHM_TO_SIGMA
    src = e
    vals = s
    if symmetric:
        src = np.concatenate([-e[:0:-1], e])
        vals = np.concatenate([s[..., :0:-1], s], axis=-1)
    # resolution at output energy E: R(E' − E; σ(E)); columns normalised to unit area
    d = src[None, :] - e[:, None]
    r = np.exp(-0.5 * (d / sig[:, None]) ** 2)
    r /= r.sum(axis=1, keepdims=True) * step
    return (vals @ r.T) * step
