"""The command line's failure contract (docs/reliability.md): one line per error, exit codes 0/1/2, JSON errors,
refused out-of-range options, outputs that never replace inputs, atomic writes.

Commands run in-process through `superionic.cli.run` (the same code path as the `superionic` entry point) on a
small slice of the shipped Li6PS5Cl fixture; scripts/cli_edge_cases.py runs the wider table via subprocesses."""

import copy
import hashlib
import json
import os
import shutil
import stat
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import superionic
from superionic.cli import run
from superionic.results import atomic_write, save_dataset

FIXTURE = Path(__file__).parent / "data" / "li6ps5cl_snap_400K_subset.h5"


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """traj.h5 (200 frames, 20 fs, velocities), a copy with NaN velocities, an empty file, a folder."""
    from superionic.trajectory import read_trajectory, write_h5md

    d = tmp_path_factory.mktemp("hardening")
    traj = read_trajectory(FIXTURE, stop=200)
    write_h5md(d / "traj.h5", traj)
    bad = copy.deepcopy(traj)
    bad.velocities[5:10] = np.nan
    write_h5md(d / "nan_velocities.h5", bad)
    (d / "empty.h5").write_bytes(b"")
    (d / "folder.h5").mkdir()
    return d


def cli(capsys, *args):
    """(exit code, stdout, stderr) of `superionic ARGS`."""
    capsys.readouterr()
    code = run([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(code, err, *words, exit_code=1):
    assert code == exit_code, err
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.strip() and not ln.startswith("warning:")]
    assert len(lines) == 1, err
    label = "usage error" if exit_code == 2 else "error"
    assert lines[0].startswith(f"superionic: {label}: "), err
    assert "array(" not in err, err
    for w in words:
        assert w.lower() in err.lower(), err
    return lines[0]


def digest(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture
def traj_copy(inputs, tmp_path):
    p = tmp_path / "traj.h5"
    shutil.copy(inputs / "traj.h5", p)
    return p


# ----------------------------------------------------------------------------- exit codes, JSON, version
def test_version_is_the_package_version(capsys):
    code, out, _ = cli(capsys, "--version")
    assert code == 0 and out.strip() == f"superionic {superionic.__version__}"


def test_version_single_source():
    """pyproject.toml's version (what pip and importlib.metadata see) is superionic.__version__."""
    import tomllib

    pyproject = Path(__file__).parents[1] / "pyproject.toml"
    if not pyproject.exists():
        pytest.skip("no pyproject.toml beside the tests")
    meta = tomllib.loads(pyproject.read_text())["project"]
    if "version" in meta.get("dynamic", []):
        return  # setuptools reads superionic.__version__ itself
    assert meta["version"] == superionic.__version__


def test_input_error_exits_1_with_one_line(capsys, tmp_path):
    code, _, err = cli(capsys, "analyze", "diffusion", tmp_path / "nope.h5")
    one_line_error(code, err, "not found")


def test_usage_error_exits_2_with_one_line(capsys, inputs):
    code, _, err = cli(capsys, "analyze", "diffusion", inputs / "traj.h5", "--max-lag", "x")
    one_line_error(code, err, "--max-lag", exit_code=2)
    code, _, err = cli(capsys, "analyze", "diffusion", inputs / "traj.h5", "--frobnicate")
    one_line_error(code, err, "--frobnicate", exit_code=2)


@pytest.mark.parametrize(
    "args, exit_code",
    [
        (["analyze", "diffusion", "nope.h5", "--json"], 1),
        (["analyze", "vdos", "nope.h5", "--max-lag", "x", "--json"], 2),
    ],
)
def test_json_errors_are_one_object_on_stdout(capsys, args, exit_code):
    code, out, err = cli(capsys, *args)
    one_line_error(code, err, exit_code=exit_code)
    obj = json.loads(out)
    assert obj["exit_code"] == exit_code and obj["error"] and obj["kind"] in ("input", "usage")


def test_a_bug_is_one_line_and_the_traceback_comes_with_debug(capsys, inputs, monkeypatch):
    import superionic.analysis.diffusion as mod  # analyze diffusion imports it when it runs

    def broken(*a, **k):
        raise ZeroDivisionError("planted")

    monkeypatch.setattr(mod, "diffusion_from_file", broken)
    monkeypatch.delenv("SUPERIONIC_DEBUG", raising=False)
    code, _, err = cli(capsys, "analyze", "diffusion", inputs / "traj.h5")
    line = one_line_error(code, err, "bug", "planted", "SUPERIONIC_DEBUG")
    assert "ZeroDivisionError" in line
    monkeypatch.setenv("SUPERIONIC_DEBUG", "1")
    code, _, err = cli(capsys, "analyze", "diffusion", inputs / "traj.h5")
    assert code == 1 and "Traceback" in err and err.rstrip().splitlines()[-1].startswith("superionic: error:")


def test_entry_point_exit_code_in_a_subprocess(tmp_path):
    """The installed entry point path (python -m superionic): an input error exits 1, not 2."""
    import subprocess

    res = subprocess.run(
        [sys.executable, "-m", "superionic", "analyze", "vdos", str(tmp_path / "nope.h5")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 1 and res.stderr.count("\n") == 1 and "Traceback" not in res.stderr


# ----------------------------------------------------------------------------- inputs
def test_folder_and_empty_inputs(capsys, inputs):
    one_line_error(*cli(capsys, "analyze", "diffusion", inputs / "folder.h5")[::2], "folder")
    one_line_error(*cli(capsys, "info", inputs / "empty.h5")[::2], "empty")


def test_nan_velocities_are_named_as_such(capsys, inputs):
    """Not a fit-range problem: the damaged frames are named."""
    code, _, err = cli(capsys, "analyze", "vdos", inputs / "nan_velocities.h5", "--n-boot", "5")
    line = one_line_error(code, err, "velocities", "not finite", "5–9")
    assert "fit window" not in line and "fit range" not in line


# ----------------------------------------------------------------------------- out-of-range options
@pytest.mark.parametrize(
    "opts, words",
    [
        (["--fit-start", "-100"], ["--fit-start"]),
        (["--fit-start", "1e9"], ["--fit-start", "longest"]),
        (["--fit-stop", "1e9"], ["--fit-stop", "longest"]),
        (["--fit-start", "800", "--fit-stop", "400"], ["--fit-stop", "--fit-start"]),
        (["--max-lag", "0"], ["--max-lag"]),
        (["--dt", "-1"], ["--dt"]),
        (["--temperature", "0"], ["--temperature"]),
        (["--charges", "Xx=1"], ["--charges", "Xx"]),
        (["--species", "Xx"], ["Xx"]),
    ],
)
def test_diffusion_refuses_out_of_range_options(capsys, inputs, opts, words):
    one_line_error(*cli(capsys, "analyze", "diffusion", inputs / "traj.h5", *opts)[::2], *words)


def test_diffusion_fit_range_inside_the_request(capsys, inputs):
    code, out, err = cli(
        capsys,
        "analyze",
        "diffusion",
        inputs / "traj.h5",
        "--species",
        "Li",
        "--fit-start",
        "200",
        "--fit-stop",
        "1500",
        "--json",
    )
    assert code == 0, err
    lo, hi = json.loads(out)["species"]["Li"]["fit_range_fs"]
    assert 200 <= lo < hi <= 1500


@pytest.mark.parametrize(
    "opts, words",
    [
        (["--q", "-1"], ["--q", "-1"]),
        (["--q", "0,1"], ["--q"]),
        (["--q", "1", "--n-lorentzians", "3"], ["--n-lorentzians"]),
        (["--q", "1", "--fit-range", "1e6"], ["--fit-range", "spectrum"]),
        (["--q", "1", "--fit-species", "Xx"], ["Xx"]),
        (["--q", "1000"], ["fit range", "1000"]),
    ],
)
def test_scattering_refuses(capsys, inputs, opts, words):
    one_line_error(*cli(capsys, "analyze", "scattering", inputs / "traj.h5", *opts)[::2], *words)


def test_scattering_reports_a_failed_q_and_keeps_the_others(capsys, inputs):
    code, out, err = cli(capsys, "analyze", "scattering", inputs / "traj.h5", "--q", "0.5,1,1000", "--json")
    assert code == 0, err
    res = json.loads(out)
    hi = res["fit_range_meV"][1]
    assert res["q"]["1000"]["fit_ok"] is False and res["q"]["1000"]["gamma"] is None
    assert "not determined" in res["q"]["1000"]["failure"] or "wider than" in res["q"]["1000"]["failure"]
    for k in ("0.5", "1"):
        assert res["q"][k]["fit_ok"] and 0 < res["q"][k]["gamma"] <= hi
    assert any("1000" in w for w in res["warnings"])


@pytest.mark.parametrize("opt", ["--centre", "--mobile", "--ligand"])
def test_mechanism_refuses_absent_species(capsys, inputs, opt):
    one_line_error(*cli(capsys, "analyze", "mechanism", inputs / "traj.h5", opt, "Xx")[::2], opt, "Xx")


@pytest.mark.parametrize(
    "opts, words",
    [
        (["--n-boot", "0"], ["--n-boot"]),
        (["--lag-window", "foo"], ["--lag-window"]),
        (["--window", "foo"], ["--lag-window"]),  # the old name, a hidden alias
        (["--window", "hann", "--lag-window", "none"], ["--window", "--lag-window"]),
        (["--group", "A=-1"], ["--group"]),
        (["--group", "A=x"], ["--group"]),
        (["--fit-range", "5,1"], ["--fit-range"]),
        (["--fit-range", "1,1e6"], ["Nyquist"]),
        (["--fit-window", "5,1"], ["--fit-range"]),  # the old name, a hidden alias
    ],
)
def test_vdos_refuses(capsys, inputs, opts, words):
    one_line_error(*cli(capsys, "analyze", "vdos", inputs / "traj.h5", *opts)[::2], *words)


def test_vdos_old_window_option_still_works(capsys, inputs, tmp_path):
    """--window is the old name of --lag-window: hidden from --help, still honoured."""
    base = ["analyze", "vdos", inputs / "traj.h5", "--species", "Li", "--no-msd", "--n-boot", "5", "--json"]
    for opt in ("--window", "--lag-window"):
        out = tmp_path / f"{opt.strip('-')}.nc"
        code, _, err = cli(capsys, *base, opt, "triangle", "--out", out)
        assert code == 0, err
        assert xr.load_dataset(out, engine="h5netcdf").attrs["lag_window"] == "triangle"
    _, help_text, _ = cli(capsys, "analyze", "vdos", "--help")
    assert "--lag-window" in help_text and "--window " not in help_text


@pytest.mark.parametrize(
    "opts, words",
    [
        (["--radius", "-1"], ["--radius"]),
        (["--residence", "-5"], ["--residence"]),
        (["--species", "Xx"], ["Xx"]),
        (["--sites", "nope.cif"], ["--sites"]),
    ],
)
def test_hopping_refuses(capsys, inputs, opts, words):
    one_line_error(*cli(capsys, "analyze", "hopping", inputs / "traj.h5", *opts)[::2], *words)


# hypothesis: whatever the bad number, the answer is one line naming the option, exit 1 (checked before the
# trajectory is read, so these are fast)
BAD = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@BAD
@given(value=st.one_of(st.floats(max_value=0.0, allow_nan=False), st.just(float("nan")), st.just(float("inf"))))
def test_property_non_positive_dt_is_refused(capsys, inputs, value):
    one_line_error(*cli(capsys, "analyze", "diffusion", inputs / "traj.h5", "--dt", repr(value))[::2], "--dt")


@BAD
@given(value=st.floats(max_value=-1e-9, allow_nan=False))
def test_property_negative_fit_start_is_refused(capsys, inputs, value):
    one_line_error(
        *cli(capsys, "analyze", "diffusion", inputs / "traj.h5", "--fit-start", repr(value))[::2], "--fit-start"
    )


@BAD
@given(values=st.lists(st.floats(max_value=0.0, allow_nan=False), min_size=1, max_size=3))
def test_property_non_positive_q_is_refused(capsys, inputs, values):
    q = ",".join(repr(v) for v in values)
    one_line_error(*cli(capsys, "analyze", "scattering", inputs / "traj.h5", "--q", q)[::2], "--q")


@BAD
@given(n=st.integers(max_value=1))
def test_property_too_few_bootstrap_resamples_are_refused(capsys, inputs, n):
    one_line_error(*cli(capsys, "analyze", "vdos", inputs / "traj.h5", "--n-boot", str(n))[::2], "--n-boot")


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lags=st.integers(min_value=-(10**6), max_value=10**6).filter(lambda m: not 3 <= m <= 200))
def test_property_max_lag_outside_the_run_is_refused(capsys, inputs, lags):
    one_line_error(*cli(capsys, "analyze", "diffusion", inputs / "traj.h5", "--max-lag", str(lags))[::2], "--max-lag")


# ----------------------------------------------------------------------------- outputs
@pytest.mark.parametrize(
    "cmd, out_opt",
    [
        (["analyze", "diffusion"], "-o"),
        (["analyze", "diffusion"], "--plot"),
        (["analyze", "vdos"], "-o"),
        (["analyze", "vdos"], "--gdos-out"),
        (["analyze", "hopping"], "-o"),
        (["analyze", "scattering", "--q", "1"], "-o"),
    ],
)
def test_output_never_replaces_the_input(capsys, traj_copy, cmd, out_opt):
    before = digest(traj_copy)
    for extra in ([], ["--overwrite"]):
        args = cmd[:2] + [traj_copy] + cmd[2:] + [out_opt, traj_copy] + extra
        code, _, err = cli(capsys, *args)
        one_line_error(code, err, out_opt if out_opt != "-o" else "--out", "input")
        assert digest(traj_copy) == before


def test_output_same_file_by_another_name(capsys, traj_copy):
    (traj_copy.parent / "sub").mkdir()
    code, _, err = cli(capsys, "analyze", "diffusion", traj_copy, "-o", traj_copy.parent / "sub" / ".." / "traj.h5")
    one_line_error(code, err, "input")
    link = traj_copy.parent / "link.h5"
    link.symlink_to(traj_copy)
    code, _, err = cli(capsys, "analyze", "diffusion", traj_copy, "-o", link, "--overwrite")
    one_line_error(code, err, "input")


def test_fit_qens_and_mechanism_outputs_are_checked(capsys, traj_copy, tmp_path):
    before = digest(traj_copy)
    one_line_error(*cli(capsys, "fit-qens", traj_copy, "--resolution", traj_copy, "-o", traj_copy)[::2], "input")
    (tmp_path / "m_rotations.nc").write_text("earlier\n")
    one_line_error(*cli(capsys, "analyze", "mechanism", traj_copy, "-o", tmp_path / "m")[::2], "exists")
    assert digest(traj_copy) == before


def test_existing_output_needs_overwrite(capsys, inputs, tmp_path):
    out = tmp_path / "d.nc"
    out.write_text("an earlier result\n")
    one_line_error(*cli(capsys, "analyze", "diffusion", inputs / "traj.h5", "-o", out)[::2], "exists", "--overwrite")
    assert out.read_text() == "an earlier result\n"
    code, _, err = cli(capsys, "analyze", "diffusion", inputs / "traj.h5", "--species", "Li", "-o", out, "--overwrite")
    assert code == 0, err
    assert out.read_bytes()[:4] == b"\x89HDF" and not out.with_name("d.nc.part").exists()


@pytest.mark.parametrize(
    "make, opt, name, words",
    [
        (lambda d: (d / "dir").mkdir(), "-o", "dir", ["folder"]),
        (lambda d: (d / "plain").write_text("x"), "-o", "plain/x.nc", ["plain"]),
        (lambda d: None, "-o", "result.png", [".nc"]),
        (lambda d: None, "--plot", "figure", ["--plot"]),
        (lambda d: None, "--plot", "x.h5", ["--plot"]),
        (lambda d: os.mkfifo(d / "pipe.nc"), "-o", "pipe.nc", ["regular file"]),
    ],
)
def test_bad_output_paths(capsys, inputs, tmp_path, make, opt, name, words):
    make(tmp_path)
    one_line_error(*cli(capsys, "analyze", "diffusion", inputs / "traj.h5", opt, tmp_path / name)[::2], *words)


def test_two_outputs_on_one_file(capsys, inputs, tmp_path):
    one_line_error(
        *cli(capsys, "analyze", "vdos", inputs / "traj.h5", "-o", tmp_path / "a.nc", "--gdos-out", tmp_path / "a.nc")[
            ::2
        ],
        "same file",
    )


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_folder(capsys, inputs, tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        one_line_error(*cli(capsys, "analyze", "diffusion", inputs / "traj.h5", "-o", ro / "x.nc")[::2], "cannot write")
    finally:
        ro.chmod(0o755)


def test_write_failure_is_one_line(capsys, inputs, tmp_path, monkeypatch):
    """A write that fails after the checks (disk full, read-only file system as root) is one line, exit 1."""
    import superionic.cli.analyze_diffusion as mod

    def full(*a, **k):
        raise OSError(28, "No space left on device", str(tmp_path / "d.nc"))

    monkeypatch.setattr(mod, "save_dataset", full)
    code, _, err = cli(capsys, "analyze", "diffusion", inputs / "traj.h5", "--species", "Li", "-o", tmp_path / "d.nc")
    one_line_error(code, err, "No space left")


def test_plot_is_written(capsys, inputs, tmp_path):
    code, _, err = cli(
        capsys, "analyze", "diffusion", inputs / "traj.h5", "--species", "Li", "--plot", tmp_path / "msd.png"
    )
    assert code == 0, err
    assert (tmp_path / "msd.png").read_bytes()[:4] == b"\x89PNG"


# ----------------------------------------------------------------------------- the atomic writer
def test_atomic_write_keeps_the_old_file_when_the_writer_fails(tmp_path):
    target = tmp_path / "r.nc"
    target.write_text("old")

    def half(tmp):
        tmp.write_text("half a fi")
        raise RuntimeError("crash")

    with pytest.raises(RuntimeError):
        atomic_write(target, half)
    assert target.read_text() == "old"
    assert list(tmp_path.iterdir()) == [target]


def test_save_dataset_is_atomic(tmp_path):
    import xarray as xr

    target = tmp_path / "new" / "d.nc"
    save_dataset(xr.Dataset({"x": ("t", np.arange(3.0), {"units": "1"})}, attrs={"nested": {"a": 1}}), target)
    assert xr.load_dataset(target, engine="h5netcdf").x.values.tolist() == [0.0, 1.0, 2.0]
    assert sorted(p.name for p in target.parent.iterdir()) == ["d.nc"]


# ----------------------------------------------------------------------------- the QENS fit range rule
def test_qens_fit_wider_than_its_fit_range_is_a_failure():
    """A line wider than the fit range (Γ = 3 meV seen through |E| ≤ 1 meV) is reported as a failed
    fit, not returned as a width; a narrow line next to it is fitted and enters the Γ(Q) summary."""
    import xarray as xr

    from superionic.analysis.qens import fit_qens, fit_qens_dataset, linewidth_summary, qens_model
    from superionic.neutron.instrument import GaussianResolution

    e = np.linspace(-1, 1, 101)
    res = GaussianResolution(0.05)
    broad = qens_model(e, res, 0.1, [1.0], [3.0])
    narrow = qens_model(e, res, 0.1, [1.0], [0.2])
    f = fit_qens(e, broad, np.full_like(e, 1e-4), res)
    assert not f.success and "wider than the fitted energy range" in f.message
    assert fit_qens(e, narrow, np.full_like(e, 1e-4), res).success
    ds = xr.Dataset(
        {"S": (("q", "energy"), np.array([narrow, broad])), "S_err": (("q", "energy"), np.full((2, e.size), 1e-4))},
        coords={"q": [0.5, 1.0], "energy": e},
    )
    summary = linewidth_summary(fit_qens_dataset(ds, "S", res))
    assert summary["q"]["0.5"]["fit_ok"] and summary["q"]["0.5"]["gamma"] == pytest.approx(0.2, rel=1e-3)
    assert not summary["q"]["1"]["fit_ok"] and summary["q"]["1"]["gamma"] is None and summary["q"]["1"]["failure"]
