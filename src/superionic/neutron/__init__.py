"""Neutron cross sections, instrument resolutions and loaders of measured data."""

from .crosssections import TABLE, NeutronData, neutron_data

__all__ = ["TABLE", "NeutronData", "neutron_data"]
