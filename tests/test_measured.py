"""Measured S(Q,E): Mantid NeXus and text loaders with units, rebinning, and a synthetic measurement
fitted back to the planted Γ."""

import json

import h5py
import numpy as np
import pytest
import xarray as xr

from superionic.analysis.qens import fit_gamma_model, fit_qens_dataset, qens_model
from superionic.errors import InputError
from superionic.neutron.instrument import GaussianResolution, backscattering_example
from superionic.neutron.measured import load_mantid_nexus, load_resolution, load_spectrum, load_text, rebin_simulated

FWHM = 0.0035
D_A2_PS = 0.05  # planted Fick diffusion, Å²/ps
HB = 0.6582119569


def write_mantid(
    path, q, edges_uev, values, errors, e_unit="DeltaE", q_unit="MomentumTransfer", scale=1e-3, two_d_axis=False
):
    """A Mantid processed NeXus workspace written directly with h5py (as SaveNexusProcessed lays it out)."""
    with h5py.File(path, "w") as f:
        ent = f.create_group("mantid_workspace_1")
        ent.attrs["NX_class"] = b"NXentry"
        ent.create_dataset("definition", data=b"Mantid Processed Workspace")
        ws = ent.create_group("workspace")
        ws.attrs["NX_class"] = b"NXdata"
        v = ws.create_dataset("values", data=values)
        v.attrs["signal"] = 1
        v.attrs["axes"] = b"axis2,axis1"
        v.attrs["units"] = b"Counts"
        ws.create_dataset("errors", data=errors)
        ax = np.asarray(edges_uev) * scale
        if two_d_axis:
            ax = np.tile(ax, (len(q), 1))
        a1 = ws.create_dataset("axis1", data=ax)
        a1.attrs["units"] = e_unit.encode()
        a2 = ws.create_dataset("axis2", data=np.asarray(q))
        a2.attrs["units"] = q_unit.encode()


@pytest.fixture
def measurement(tmp_path):
    """Planted Γ = ħDQ², EISF 0.2, flat background, Poisson-like noise, Gaussian resolution 3.5 µeV."""
    return make_measurement(tmp_path, D_A2_PS)


def make_measurement(tmp_path, d_a2_ps, counts=2000):
    inst = backscattering_example()
    q = np.array([0.4, 0.7, 1.0, 1.3])
    edges = np.linspace(-100, 100, 202)  # µeV, bin edges
    centres = 0.5 * (edges[1:] + edges[:-1]) * 1e-3  # meV
    res = inst.resolution
    gam = HB * d_a2_ps * q**2
    rng = np.random.default_rng(7)
    vals, errs, rvals = [], [], []
    for g in gam:
        truth = counts * qens_model(centres, res, 0.2, [0.8], [g], b0=0.5) * 1e-3
        sig = np.sqrt(truth + 1.0)
        vals.append(truth + rng.normal(0, sig))
        errs.append(sig)
        rvals.append(res.shape(centres))
    meas = tmp_path / "sample.nxs"
    write_mantid(meas, q, edges, np.array(vals), np.array(errs), two_d_axis=True)
    resf = tmp_path / "vanadium.nxs"
    write_mantid(resf, q, edges * 1e-3, np.array(rvals), 0.01 * np.array(rvals) + 1e-6, e_unit="meV", scale=1.0)
    return meas, resf, q, gam


def test_nexus_loader_reads_units(measurement):
    meas, resf, q, _ = measurement
    ds = load_mantid_nexus(meas)
    assert np.allclose(ds.q.values, q)
    assert ds.energy.values.min() > -0.1 and ds.energy.values.max() < 0.1  # DeltaE → meV
    assert ds.sizes["energy"] == 201 and "energy_edges" in ds
    assert ds.S.attrs["units"] == "Counts"
    r = load_mantid_nexus(resf)
    assert np.allclose(r.energy.values, ds.energy.values)


def test_synthetic_measurement_fitted_back(measurement):
    meas, resf, q, gam = measurement
    ds = load_spectrum(meas)
    res = load_resolution(resf, q=ds.q.values)
    fits = fit_qens_dataset(ds, "S", res)
    pulls = (fits.gamma.values - gam) / fits.gamma_err.values
    assert np.all(np.abs(pulls) < 2.5), pulls  # within the error bar (2.5σ, 4 Q values)
    assert np.all(np.abs(fits.eisf.values - 0.2) < 3 * fits.eisf_err.values + 0.01)
    fick = fit_gamma_model("fick", q, fits.gamma.values, fits.gamma_err.values)
    assert abs(fick["params"]["D"] - D_A2_PS) < 3 * fick["errors"]["D"]


def test_fit_qens_cli(measurement):
    from typer.testing import CliRunner

    from superionic.cli.app import app

    meas, resf, q, gam = measurement
    r = CliRunner().invoke(app, ["fit-qens", str(meas), "--resolution", str(resf), "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    g = np.array([v["gamma"] for v in out["q"].values()])
    ge = np.array([v["gamma_err"] for v in out["q"].values()])
    assert np.all(np.abs(g - gam) < 2.5 * ge)
    assert out["models"]["fick"]["D"] == pytest.approx(D_A2_PS * 1e-4, rel=0.1)
    assert all(v["resolved"] for v in out["q"].values()) and "models_refused" not in out


def test_fit_qens_cli_widths_below_the_resolution(tmp_path):
    """Γ = ħDQ² of 0.3–3 % of the 1.75 µeV resolution HWHM: printed as upper bounds (or, where the noise and
    the binned resolution let the fit wander to a width its error bar does not hold, as failed), never as a
    number, and no D."""
    from typer.testing import CliRunner

    from superionic.cli.app import app

    meas, resf, q, gam = make_measurement(tmp_path, D_A2_PS / 1000, counts=20_000)
    r = CliRunner().invoke(app, ["fit-qens", str(meas), "--resolution", str(resf)])
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    widths = [ln for ln in lines if ln.strip().startswith("Q =")]
    unresolved = [ln for ln in widths if ln.endswith("meV (unresolved)") and "Γ < " in ln and "±" not in ln]
    failed = [ln for ln in widths if "fit failed" in ln and "not determined" in ln]
    assert len(widths) == 4 and len(unresolved) >= 2 and len(unresolved) + len(failed) == 4, widths
    assert [ln for ln in lines if "cm²/s" in ln] == []
    assert sum("no D: only 0 of 4 Q have a resolved Γ" in ln for ln in lines) == 1
    out = json.loads(CliRunner().invoke(app, ["fit-qens", str(meas), "--resolution", str(resf), "--json"]).output)
    for v, g in zip(out["q"].values(), gam):
        assert v["gamma"] is None and v["gamma_err"] is None and not v["resolved"]
        if v["fit_ok"]:
            assert g < v["gamma_upper"] == pytest.approx(0.1 * 0.00175, rel=0.05)  # Γ_min of the tabulated resolution
    assert out["models_refused"] and all(m.get("D") is None for k, m in out["models"].items() if k != "best_by_aic")


def test_text_loader_units(tmp_path):
    p = tmp_path / "s.txt"
    e = np.linspace(-50, 50, 11)  # µeV
    rows = [(qq, ee, np.exp(-(ee**2) / 400) * qq, 0.1) for qq in (0.5, 1.0) for ee in e]
    np.savetxt(p, rows, header="Q(1/angstrom) E(ueV) S dS")
    ds = load_text(p)
    assert np.allclose(ds.energy.values, e * 1e-3)
    assert np.allclose(ds.S.sel(q=1.0).values, np.exp(-(e**2) / 400))
    single = tmp_path / "r.dat"
    np.savetxt(single, np.column_stack([e, np.exp(-(e**2) / 400)]), header="Q = 0.9\nE(ueV) S")
    assert float(load_text(single).q[0]) == pytest.approx(0.9)
    with pytest.raises(InputError):
        load_text(tmp_path / "missing.txt")
    bad = tmp_path / "bad.txt"
    np.savetxt(bad, rows, header="Q(1/angstrom) E(furlong) S dS")
    with pytest.raises(InputError):
        load_text(bad)


def test_rebin_is_exact_bin_average():
    es = np.linspace(-1, 1, 2001)
    sim = xr.Dataset(
        {"S_inc": (("q", "energy"), np.array([1 + es, 2 + 3 * es]))}, coords={"q": [0.5, 1.5], "energy": es}
    )
    edges = np.linspace(-0.5, 0.5, 11)
    meas = xr.Dataset(
        {"S": (("q", "energy"), np.zeros((1, 10))), "energy_edges": ("edge", edges)},
        coords={"q": [1.0], "energy": 0.5 * (edges[1:] + edges[:-1])},
    )
    out = rebin_simulated(sim, meas)
    centres = 0.5 * (edges[1:] + edges[:-1])
    assert np.allclose(out.values[0], 1.5 + 2 * centres)  # linear in Q and E: bin mean = centre value
    with pytest.raises(InputError):
        rebin_simulated(sim, meas.assign_coords(q=[3.0]))


def test_instrument_example():
    inst = backscattering_example()
    assert inst.resolution.fwhm == 0.0035 and inst.energy_window == (-0.1, 0.1) and inst.q_range == (0.2, 2.0)
    e = np.linspace(-0.05, 0.05, 10001)
    assert np.trapezoid(inst.resolution.shape(e), e) == pytest.approx(1.0, rel=1e-6)
    assert isinstance(inst.resolution, GaussianResolution)
