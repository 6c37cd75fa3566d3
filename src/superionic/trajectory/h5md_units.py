"""H5MD unit attributes → factors to superionic's units (Å, fs, Å/fs).

The ``unit`` attribute of a dataset is read in H5MD/UDUNITS spelling: a symbol with an optional power
("nm", "ps-1"), products of them, a quotient ("A/ps") and a leading number ("0.1 nm").
"""

from __future__ import annotations

import re

import numpy as np

#: unit symbols: (power of length, power of time, factor to Å^a fs^b)
_SYMBOLS: dict[str, tuple[int, int, float]] = {
    **{s: (1, 0, 1.0) for s in ("angstrom", "Angstrom", "ANGSTROM", "A", "Å", "Ang", "ang")},
    "nm": (1, 0, 10.0),
    "pm": (1, 0, 1e-2),
    "fm": (1, 0, 1e-5),
    "um": (1, 0, 1e4),
    "µm": (1, 0, 1e4),
    "mm": (1, 0, 1e7),
    "cm": (1, 0, 1e8),
    "m": (1, 0, 1e10),
    "bohr": (1, 0, 0.529177210903),
    "fs": (0, 1, 1.0),
    "ps": (0, 1, 1e3),
    "ns": (0, 1, 1e6),
    "as": (0, 1, 1e-3),
    "us": (0, 1, 1e9),
    "µs": (0, 1, 1e9),
    "ms": (0, 1, 1e12),
    "s": (0, 1, 1e15),
    "sec": (0, 1, 1e15),
    "second": (0, 1, 1e15),
    "AKMA": (0, 1, 48.88821),
}
_KINDS = {"length": (1, 0), "time": (0, 1), "velocity": (1, -1)}
#: examples of each kind of unit, for messages
_UNIT_HELP = {"length": "angstrom, nm, pm", "time": "fs, ps, ns", "velocity": "'angstrom fs-1', 'nm ps-1', 'A/ps'"}


def unit_factor(text: str, kind: str) -> float | None:
    """Factor converting values in unit `text` (H5MD/UDUNITS spelling, e.g. "nm", "ps", "nm ps-1", "A/ps",
    "0.1 nm") to Å, fs or Å/fs for kind "length", "time" or "velocity"; None if not understood.
    """
    tokens = str(text).replace("/", " / ").split()
    factor, dims, sign = 1.0, [0, 0], 1
    if tokens:
        try:
            factor = float(tokens[0])
            tokens = tokens[1:]
        except ValueError:
            pass
    if not tokens:
        return None
    for tok in tokens:
        if tok == "/":
            sign = -1
            continue
        m = re.fullmatch(r"(.*?[^\d+-])([+-]?\d+)?", tok)
        if m is None:
            return None
        sym, power = m.group(1), int(m.group(2) or 1)
        if sym not in _SYMBOLS or power == 0:
            return None
        a, b, f = _SYMBOLS[sym]
        dims[0] += sign * power * a
        dims[1] += sign * power * b
        factor *= f ** (sign * power)
    return factor if tuple(dims) == _KINDS[kind] and np.isfinite(factor) and factor > 0 else None
