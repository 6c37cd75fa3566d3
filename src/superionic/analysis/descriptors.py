"""Scalar descriptors of a VDOS used in the superionic-conductor literature.

* Phonon band centre ν_c = ∫ν g dν / ∫g dν (Muy et al., Energy Environ. Sci. 2018 / iScience 2019:
  a low Li band centre correlates with low activation energy). Returned in THz; ×4.1357 for meV.
* Debye frequency from the low-frequency fit: for a Debye solid the per-atom-normalised VDOS is
  g = 3ν²/ν_D³, so ν_D = (3/a)^{1/3} with a from g₀ + aν² (n fixed at 2) on the low-ω fit range.
"""

from __future__ import annotations

import numpy as np

from .. import units
from ..errors import InputError


def band_centre(nu_thz: np.ndarray, g: np.ndarray, fmin: float | None = None, fmax: float | None = None) -> float:
    """First moment of g over [fmin, fmax] (THz, default the whole axis), THz."""
    nu = np.asarray(nu_thz, dtype=float)
    g = np.asarray(g, dtype=float)
    m = np.ones(nu.shape, bool)
    if fmin is not None:
        m &= nu >= fmin
    if fmax is not None:
        m &= nu <= fmax
    if m.sum() < 2:
        raise InputError("band-centre range holds fewer than 2 frequencies")
    norm = np.trapezoid(g[m], nu[m])
    if norm <= 0:
        raise InputError("the VDOS integrates to ≤ 0 on the band-centre range")
    return float(np.trapezoid(nu[m] * g[m], nu[m]) / norm)


def band_centre_mev(nu_thz, g, fmin=None, fmax=None) -> float:
    """Band centre in meV."""
    return band_centre(nu_thz, g, fmin, fmax) * units.THZ_TO_MEV


def debye_frequency(lowfreq_result: dict) -> dict:
    """ν_D (THz) and its bootstrap error from a `lowfreq.analyse_lowfreq` result (a of g₀ + aν²).

    Returns {'THz': ν_D, 'THz_err': …, 'meV': …, 'meV_err': …}; NaN when a ≤ 0 (no Debye regime).
    """
    a = lowfreq_result["debye_a"]
    a_err = lowfreq_result.get("debye_a_err", float("nan"))
    if not np.isfinite(a) or a <= 0:
        nd = err = float("nan")
    else:
        nd = (3.0 / a) ** (1.0 / 3.0)
        err = nd / 3.0 * a_err / a if np.isfinite(a_err) else float("nan")
    return {"THz": nd, "THz_err": err, "meV": nd * units.THZ_TO_MEV, "meV_err": err * units.THZ_TO_MEV}
