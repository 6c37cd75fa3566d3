"""Neutron scattering lengths and cross sections (pinned table, shared/SCIENCE.md §3).

Source: V. F. Sears, "Neutron scattering lengths and cross sections", Neutron News 3(3), 26–37 (1992),
as tabulated by NIST (https://www.ncnr.nist.gov/resources/n-lengths/). b in fm, σ in barn,
σ_abs at 2200 m/s, masses in u. ⁶Li has a complex b_coh (absorption); the real part is used in
coherent sums and the imaginary part is kept for reference.

Isotopes are chosen per element: ``isotopes={"Li": "7Li"}`` uses ⁷Li for every Li atom.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ..errors import InputError


@dataclass(frozen=True)
class NeutronData:
    """Neutron scattering data of one element or isotope: coherent length (fm), cross sections (barn), mass (amu)."""

    b_coh: complex  # fm
    sigma_coh: float  # barn
    sigma_inc: float  # barn
    sigma_abs: float  # barn (2200 m/s)
    mass: float  # u

    @property
    def sigma_total(self) -> float:
        """σ_coh + σ_inc, barn (the scattering cross section used for GDOS weights)."""
        return self.sigma_coh + self.sigma_inc


TABLE: dict[str, NeutronData] = {
    "Li": NeutronData(-1.90, 0.454, 0.92, 70.5, 6.94),
    "6Li": NeutronData(2.00 - 0.261j, 0.51, 0.46, 940.0, 6.015),
    "7Li": NeutronData(-2.22, 0.619, 0.78, 0.0454, 7.016),
    "P": NeutronData(5.13, 3.307, 0.005, 0.172, 30.97),
    "S": NeutronData(2.847, 1.0186, 0.007, 0.53, 32.06),
    "Cl": NeutronData(9.577, 11.528, 5.3, 33.5, 35.45),
}

REFERENCE = "Sears, Neutron News 3, 26 (1992); NIST neutron scattering lengths table"


def neutron_data(element: str, isotopes: Mapping[str, str] | None = None) -> NeutronData:
    """Cross-section entry for an element, or for the isotope chosen for it in `isotopes`.

    The pinned table wins; other elements/isotopes come from the optional `periodictable` package.
    """
    key = (isotopes or {}).get(element, element)
    if key not in TABLE:
        return _from_periodictable(key)
    return TABLE[key]


def _from_periodictable(key: str) -> NeutronData:
    """Fallback for entries missing from the pinned table: the `periodictable` package (NIST/Sears data).

    key: an element ('Na') or an isotope written mass-number first ('7Li', '2H').
    """
    try:
        import periodictable as pt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise InputError(
            f"no neutron cross sections for {key!r} in the pinned table (has {', '.join(TABLE)}); "
            "install the optional `periodictable` package or add the entry to "
            "superionic.neutron.crosssections.TABLE"
        ) from exc
    import re

    m = re.fullmatch(r"(\d*)([A-Z][a-z]?)", key)
    if not m:
        raise InputError(f"cannot read {key!r} as an element or isotope (write e.g. 'Na' or '7Li')")
    try:
        el = pt.elements.symbol(m.group(2))
    except ValueError as exc:
        raise InputError(f"{m.group(2)!r} is not a chemical element") from exc
    atom = el[int(m.group(1))] if m.group(1) else el
    n = atom.neutron
    if n is None or n.b_c is None or n.coherent is None:
        raise InputError(f"periodictable has no neutron data for {key!r}")
    b_i = getattr(n, "b_c_i", None)
    b = complex(n.b_c, b_i) if b_i else float(n.b_c)
    return NeutronData(b, float(n.coherent), float(n.incoherent or 0.0), float(n.absorption or 0.0), float(atom.mass))


def lookup(element: str, isotopes: dict[str, str] | None = None) -> tuple[NeutronData, str]:
    """(entry, source) for an element or its chosen isotope: the pinned table first, else periodictable."""
    key = (isotopes or {}).get(element, element)
    if key in TABLE:
        return TABLE[key], REFERENCE
    return _from_periodictable(key), "periodictable (NIST, Sears 1992)"
