"""Measured S(Q,E): loaders for plain text columns and Mantid NeXus/HDF5 files, and rebinning of a
simulated spectrum onto the measured grid.

Every loader returns an xarray Dataset with dims (q, energy): `S` and `S_err` (the file's intensity
units), coords q (Å⁻¹) and energy (meV), plus `energy_edges` when the file gives bin edges.

Mantid layout (SaveNexusProcessed): /mantid_workspace_<n> (NXentry) / workspace (NXdata) with
`values` (n_spectra, n_bins), `errors`, `axis1` (energy: bin edges n_bins+1 or centres n_bins, 1-D or
one row per spectrum; attribute `units` = a Mantid unit ID such as "DeltaE"), `axis2` (one value per
spectrum; `units` = "MomentumTransfer", or "QSquared"). Units are read from the file and converted.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import xarray as xr

from .. import units
from ..errors import InputError

# unit strings → factor to meV
_ENERGY_UNITS = {
    "deltae": 1.0,
    "energy": 1.0,
    "mev": 1.0,
    "millielectronvolt": 1.0,
    "uev": 1e-3,
    "µev": 1e-3,
    "μev": 1e-3,
    "microev": 1e-3,
    "microelectronvolt": 1e-3,
    "ev": 1e3,
    "deltae_inwavenumber": 0.12398419843320026,
    "energy_inwavenumber": 0.12398419843320026,
    "cm-1": 0.12398419843320026,
    "cm^-1": 0.12398419843320026,
    "1/cm": 0.12398419843320026,
    "thz": 4.135667696,
    "deltae_infrequency": 4.135667696,
}
# unit strings → factor to Å⁻¹ (QSquared handled separately)
_Q_UNITS = {
    "momentumtransfer": 1.0,
    "angstrom^-1": 1.0,
    "angstrom-1": 1.0,
    "1/angstrom": 1.0,
    "1/a": 1.0,
    "a^-1": 1.0,
    "a-1": 1.0,
    "invangstrom": 1.0,
    "å^-1": 1.0,
    "å-1": 1.0,
    "1/å": 1.0,
    "nm^-1": 0.1,
    "nm-1": 0.1,
    "1/nm": 0.1,
}


def _norm_unit(u) -> str:
    if isinstance(u, bytes):
        u = u.decode()
    if isinstance(u, np.ndarray):
        u = u.item() if u.size == 1 else u[0]
        if isinstance(u, bytes):
            u = u.decode()
    return str(u).strip().lower().replace(" ", "")


def energy_factor(unit) -> float:
    """Multiplier that converts an energy in `unit` to meV."""
    u = _norm_unit(unit)
    if u not in _ENERGY_UNITS:
        raise InputError(
            f"unknown energy unit {unit!r}; supported: DeltaE/meV, ueV, eV, cm-1 (DeltaE_inWavenumber), THz"
        )
    return _ENERGY_UNITS[u]


def q_values_from(values, unit) -> np.ndarray:
    """Q in Å⁻¹ from values in `unit` (MomentumTransfer, QSquared, nm⁻¹ …)."""
    u = _norm_unit(unit)
    v = np.asarray(values, dtype=float)
    if u in ("qsquared", "angstrom^-2", "1/angstrom^2", "a^-2"):
        return np.sqrt(v)
    if u not in _Q_UNITS:
        raise InputError(
            f"unknown Q unit {unit!r} (the spectrum axis must be MomentumTransfer or QSquared; "
            "convert spectrum numbers to Q in Mantid with ConvertSpectrumAxis first)"
        )
    return v * _Q_UNITS[u]


def _dataset(q, energy, s, err, edges=None, source="", intensity_units="arbitrary") -> xr.Dataset:
    data: dict[str, tuple] = {
        "S": (("q", "energy"), s, {"units": intensity_units, "long_name": "measured S(Q,E)"}),
        "S_err": (("q", "energy"), err, {"units": intensity_units, "long_name": "standard error"}),
    }
    coords = {
        "q": ("q", q, {"units": "angstrom-1"}),
        "energy": ("energy", energy, {"units": units.ENERGY_MEV, "long_name": "energy transfer"}),
    }
    if edges is not None:
        data["energy_edges"] = (("edge",), edges, {"units": units.ENERGY_MEV, "long_name": "bin edges"})
    ds = xr.Dataset(data, coords=coords)
    ds.attrs.update(source=str(source), analysis="measured_spectrum")
    return ds


# ----------------------------------------------------------------------------- NeXus / HDF5
def load_mantid_nexus(path, entry: str | None = None) -> xr.Dataset:
    """Load a Mantid processed NeXus file (see module docstring); units from the `units` attributes."""
    import h5py

    path = Path(path)
    if not path.exists():
        raise InputError(f"file not found: {path}")
    try:
        f = h5py.File(path, "r")
    except OSError as err:
        raise InputError(f"{path} is not an HDF5/NeXus file ({err}); for text files use load_text") from err
    with f:
        entries = [k for k in f if k.startswith("mantid_workspace")] or list(f)
        name = entry or (entries[0] if entries else None)
        if name is None or name not in f or "workspace" not in f[name]:
            raise InputError(f"{path}: no Mantid workspace group (expected /mantid_workspace_1/workspace)")
        ws = f[name]["workspace"]
        for key in ("values", "axis1", "axis2"):
            if key not in ws:
                raise InputError(f"{path}: /{name}/workspace has no '{key}' dataset")
        y = np.asarray(ws["values"], dtype=float)
        e = np.asarray(ws["errors"], dtype=float) if "errors" in ws else np.sqrt(np.abs(y))
        x = np.asarray(ws["axis1"], dtype=float)
        xunit = ws["axis1"].attrs.get("units", "DeltaE")
        a2 = ws["axis2"]
        a2unit = a2.attrs.get("units", "MomentumTransfer")
        if a2.dtype.kind in "SUO":
            raise InputError(f"{path}: the spectrum axis is a text axis; convert it to Q in Mantid first")
        qv = q_values_from(np.asarray(a2, dtype=float), a2unit)
        yunit = ws["values"].attrs.get("units", "arbitrary")
        yunit = yunit.decode() if isinstance(yunit, bytes) else str(yunit)
    fac = energy_factor(xunit)
    if y.ndim == 1:
        y, e = y[None], e[None]
    nspec, nbin = y.shape
    if len(qv) == nspec + 1:  # Q given as bin edges
        qv = 0.5 * (qv[1:] + qv[:-1])
    if len(qv) != nspec:
        raise InputError(f"{path}: axis2 has {len(qv)} values for {nspec} spectra")
    x = x * fac
    if x.ndim == 2:
        if not np.allclose(x, x[:1], equal_nan=True):
            raise InputError(f"{path}: spectra have different energy bins; rebin them to a common grid in Mantid")
        x = x[0]
    if len(x) == nbin + 1:
        edges = x
        centres = 0.5 * (x[1:] + x[:-1])
    elif len(x) == nbin:
        edges, centres = None, x
    else:
        raise InputError(f"{path}: axis1 has {len(x)} values for {nbin} bins (need {nbin} or {nbin + 1})")
    return _dataset(qv, centres, y, e, edges, path, yunit)


# ----------------------------------------------------------------------------- text
_UNIT_RE = re.compile(r"([A-Za-z_]+)\s*[\(\[]\s*([^\)\]]+)\s*[\)\]]")


def load_text(path, energy_unit: str | None = None, q_unit: str | None = None) -> xr.Dataset:
    """Plain text columns `Q E S [dS]` (long format, any order of rows, '#' comments).

    Units come from a header comment such as `# Q(1/angstrom) E(ueV) S dS`, else from the arguments,
    else Å⁻¹ and meV. A single-Q file may have columns `E S [dS]` with the Q in a `# Q = 0.9` comment.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"file not found: {path}")
    header_units: dict[str, str] = {}
    q_comment = None
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if not line.lstrip().startswith("#"):
                continue
            for key, unit in _UNIT_RE.findall(line):
                header_units[key.lower()] = unit
            m = re.search(r"\bQ\s*=\s*([0-9.eE+-]+)", line)
            if m:
                q_comment = float(m.group(1))
    try:
        a = np.loadtxt(path, comments="#", ndmin=2)
    except ValueError as exc:
        raise InputError(f"{path}: cannot read numeric columns ({exc})") from exc
    eu = energy_unit or header_units.get("e") or header_units.get("energy") or "meV"
    qu = q_unit or header_units.get("q") or "1/angstrom"
    ef = energy_factor(eu)
    if a.shape[1] in (2, 3) and q_comment is not None:
        a = np.column_stack([np.full(len(a), q_comment), a])
    if a.shape[1] not in (3, 4):
        raise InputError(
            f"{path}: expected columns Q E S [dS] (or E S [dS] with a '# Q = …' comment), found {a.shape[1]} columns"
        )
    q_all = q_values_from(a[:, 0], qu)
    qs = np.unique(np.round(q_all, 10))
    es = np.unique(np.round(a[:, 1] * ef, 12))
    s = np.full((len(qs), len(es)), np.nan)
    err = np.full_like(s, np.nan)
    iq = np.searchsorted(qs, np.round(q_all, 10))
    ie = np.searchsorted(es, np.round(a[:, 1] * ef, 12))
    s[iq, ie] = a[:, 2]
    err[iq, ie] = a[:, 3] if a.shape[1] == 4 else np.sqrt(np.abs(a[:, 2]))
    return _dataset(qs, es, s, err, None, path)


def load_spectrum(path, **kw) -> xr.Dataset:
    """Load a measured S(Q,E) from NeXus/HDF5 (.nxs, .h5, .hdf5, .nx5) or text (anything else)."""
    p = Path(path)
    if p.suffix.lower() in (".nxs", ".h5", ".hdf5", ".nx5", ".hdf"):
        return load_mantid_nexus(p, **kw)
    return load_text(p, **kw)


def write_mantid_nexus(
    path,
    q,
    energy,
    values,
    errors,
    energy_edges: bool = False,
    energy_unit: str = "DeltaE",
    q_unit: str = "MomentumTransfer",
    y_unit: str = "Counts",
) -> None:
    """Write S(Q,E) in the Mantid processed layout (for tests and for exporting simulated spectra).

    energy: centres (n_bins) or, with energy_edges=True, edges (n_bins + 1), in the given unit.
    """
    import h5py

    with h5py.File(path, "w") as f:
        ent = f.create_group("mantid_workspace_1")
        ent.attrs["NX_class"] = np.bytes_("NXentry")
        ent.create_dataset("definition", data=np.bytes_("Mantid Processed Workspace"))
        ent.create_dataset("title", data=np.bytes_("S(Q,E)"))
        ws = ent.create_group("workspace")
        ws.attrs["NX_class"] = np.bytes_("NXdata")
        v = ws.create_dataset("values", data=np.asarray(values, dtype=float))
        v.attrs["signal"] = np.int32(1)
        v.attrs["axes"] = np.bytes_("axis2,axis1")
        v.attrs["units"] = np.bytes_(y_unit)
        ws.create_dataset("errors", data=np.asarray(errors, dtype=float))
        a1 = ws.create_dataset("axis1", data=np.asarray(energy, dtype=float))
        a1.attrs["units"] = np.bytes_(energy_unit)
        a1.attrs["distribution"] = np.bytes_("0")
        a2 = ws.create_dataset("axis2", data=np.asarray(q, dtype=float))
        a2.attrs["units"] = np.bytes_(q_unit)


def load_resolution(path, q=None, **kw):
    """A measured resolution file (same formats) → one TabulatedResolution per Q of `q` (nearest Q
    group), or a single one when the file has one spectrum or q is None (Q-summed).
    """
    from .instrument import TabulatedResolution

    ds = load_spectrum(path, **kw)
    vals = np.nan_to_num(ds.S.values)
    if ds.sizes["q"] == 1 or q is None:
        return TabulatedResolution(ds.energy.values, vals.sum(axis=0))
    qs = ds.q.values
    return [TabulatedResolution(ds.energy.values, vals[int(np.argmin(np.abs(qs - qi)))]) for qi in np.atleast_1d(q)]


# ----------------------------------------------------------------------------- rebinning
def rebin_simulated(sim: xr.Dataset | xr.DataArray, measured: xr.Dataset, var: str = "S_inc") -> xr.DataArray:
    """Put a simulated S(Q,E) on the measured grid: linear interpolation in Q, bin averages in E.

    With measured bin edges each value is the mean of the simulated spectrum over the bin (exact
    integral of its linear interpolant), otherwise linear interpolation at the centres.
    """
    da = sim[var] if isinstance(sim, xr.Dataset) else sim
    if set(da.dims) != {"q", "energy"}:
        raise InputError(f"simulated spectrum must have dims (q, energy), got {da.dims}; select one species first")
    da = da.transpose("q", "energy")
    es = da.energy.values
    qs = da.q.values
    qm = measured.q.values
    if qm.min() < qs.min() - 1e-9 or qm.max() > qs.max() + 1e-9:
        raise InputError(
            f"measured Q {qm.min():.3g}–{qm.max():.3g} Å⁻¹ lies outside the simulated "
            f"{qs.min():.3g}–{qs.max():.3g} Å⁻¹; compute the simulation at the measured Q values"
        )
    if len(qs) == 1:
        sq = np.repeat(da.values, len(qm), axis=0)
    else:
        order = np.argsort(qs)
        qs, vals = qs[order], da.values[order]
        j = np.clip(np.searchsorted(qs, qm), 1, len(qs) - 1)
        w = ((qm - qs[j - 1]) / (qs[j] - qs[j - 1]))[:, None]
        sq = (1 - w) * vals[j - 1] + w * vals[j]
    if "energy_edges" in measured:
        edges = measured.energy_edges.values
        cum = np.concatenate(
            [np.zeros((sq.shape[0], 1)), np.cumsum(0.5 * (sq[:, 1:] + sq[:, :-1]) * np.diff(es), axis=1)], axis=1
        )
        ce = np.array([np.interp(edges, es, c) for c in cum])
        out = np.diff(ce, axis=1) / np.diff(edges)
    else:
        out = np.array([np.interp(measured.energy.values, es, row) for row in sq])
    return xr.DataArray(
        out,
        dims=("q", "energy"),
        coords={"q": measured.q, "energy": measured.energy},
        attrs={"units": da.attrs.get("units", "meV-1"), "long_name": "simulated S(Q,E) on the measured grid"},
    )
