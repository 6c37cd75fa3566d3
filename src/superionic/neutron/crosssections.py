"""Neutron scattering lengths and cross sections (pinned table, shared/SCIENCE.md §3).

Source: V. F. Sears, "Neutron scattering lengths and cross sections", Neutron News 3(3), 26–37 (1992),
as tabulated by NIST (https://www.ncnr.nist.gov/resources/n-lengths/). b in fm, σ in barn,
σ_abs at 2200 m/s, masses in u. ⁶Li has a complex b_coh (absorption); the real part is used in
coherent sums and the imaginary part is kept for reference.

Isotopes are chosen per element: ``isotopes={"Li": "7Li"}`` uses ⁷Li for every Li atom.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import InputError


@dataclass(frozen=True)
class NeutronData:
    b_coh: complex     # fm
    sigma_coh: float   # barn
    sigma_inc: float   # barn
    sigma_abs: float   # barn (2200 m/s)
    mass: float        # u

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


def neutron_data(element: str, isotopes: dict[str, str] | None = None) -> NeutronData:
    """Cross-section entry for an element, or for the isotope chosen for it in `isotopes`."""
    key = (isotopes or {}).get(element, element)
    if key not in TABLE:
        raise InputError(
            f"no neutron cross sections for {key!r} in the pinned table (has {', '.join(TABLE)}); "
            "add the element to superionic.neutron.crosssections.TABLE with its Sears (1992) values"
        )
    return TABLE[key]
