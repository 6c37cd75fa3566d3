"""Deprecated: the lag windows moved to `superionic.analysis.lag_windows` (WINDOWS is LAG_WINDOWS there).

"window" alone names the bottleneck windows of analysis/bottleneck.py; this module goes in the next release.
"""

from __future__ import annotations

import warnings

from .lag_windows import LAG_WINDOWS, lag_window, resolution_fwhm

WINDOWS = LAG_WINDOWS

warnings.warn(
    "superionic.analysis.windows is deprecated: import from superionic.analysis.lag_windows "
    "(WINDOWS is LAG_WINDOWS there)",
    DeprecationWarning,
    stacklevel=2,
)

__all__ = ["LAG_WINDOWS", "WINDOWS", "lag_window", "resolution_fwhm"]
