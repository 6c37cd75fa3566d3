#!/usr/bin/env python
"""Run the real `superionic` command line on many bad and edge inputs and classify what happens.

Every case runs `python -m superionic …` in a subprocess on small real inputs made in a temporary folder
(a slice of tests/data/li6ps5cl_snap_400K_subset.h5, damaged copies of it, a synthetic measured spectrum …)
and is classified as

  ok             exit 0 and the output passes the case's check
  clear error    exit 1 or 2 with exactly one line `superionic: [usage ]error: …` on stderr that names the
                 problem (the case's expected words)
  unclear error  exit 1 or 2, no traceback, but the message is missing, spans lines, or does not name the
                 problem (e.g. NaN velocities reported as a fit-range problem, numpy reprs)
  traceback      a Python traceback reaches the user, or an exit code other than 0/1/2
  hang           no answer within --timeout seconds (killed)
  silent wrong   exit 0 where an error was due (wrong input accepted), or the output fails its check
  data lost      a file that existed before the run (an input) changed or vanished

A case passes when an `ok` case is ok and an `error` case is a clear error. The table is printed and
written as markdown (--markdown FILE); --update-doc FILE replaces the part of FILE between the markers
<!-- edge-cases:start --> and <!-- edge-cases:end --> with it.

Usage:
  python scripts/cli_edge_cases.py [--jobs 2] [--only WORD] [--markdown out.md] [--update-doc docs/reliability.md]
  python scripts/cli_edge_cases.py --src /path/to/other/checkout/src     # the same cases against other code
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "data" / "li6ps5cl_snap_400K_subset.h5"
OUTCOMES = ("ok", "clear error", "unclear error", "traceback", "hang", "silent wrong", "data lost")
START, END = "<!-- edge-cases:start -->", "<!-- edge-cases:end -->"
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


# ----------------------------------------------------------------------------- inputs
def make_inputs(d: Path) -> None:
    """The shared inputs of all cases (read-only for the cases; outputs go to each case's own folder)."""
    import ase
    import ase.io
    import numpy as np

    from superionic.analysis.qens import qens_model
    from superionic.neutron.instrument import GaussianResolution
    from superionic.neutron.measured import write_mantid_nexus
    from superionic.trajectory import read_trajectory, write_h5md

    traj = read_trajectory(FIXTURE, stop=400)  # 8 ps of Li6PS5Cl at 400 K, 48 atoms, velocities
    write_h5md(d / "traj.h5", traj)
    bad = copy.deepcopy(traj)  # (select_frames shares the arrays: copy)
    bad.velocities[5:10] = np.nan
    write_h5md(d / "nan_velocities.h5", bad)
    bad = copy.deepcopy(traj)
    bad.positions[100, 3] = np.inf
    write_h5md(d / "nan_positions.h5", bad)
    raw = (d / "traj.h5").read_bytes()
    (d / "truncated.h5").write_bytes(raw[: len(raw) // 2])
    (d / "garbage.h5").write_bytes(np.random.default_rng(0).bytes(4096))
    (d / "text.h5").write_text("this is not an HDF5 file\n")
    (d / "empty.h5").write_bytes(b"")
    (d / "notes.unknownext").write_text("1 2 3\n")
    (d / "a_folder.h5").mkdir()
    frames = [ase.Atoms(traj.symbols, positions=traj.positions[i], cell=traj.cells[i], pbc=True) for i in range(0, 200)]
    ase.io.write(d / "traj.extxyz", frames, format="extxyz")  # no time step in the file
    # a measured QENS spectrum (Mantid layout) and its resolution
    q = np.array([0.4, 0.7, 1.0, 1.3])
    e = np.linspace(-0.1, 0.1, 201)
    res = GaussianResolution(0.0035)
    rng = np.random.default_rng(7)
    # D = 0.05 Å²/ps (Γ 1.5–10× the resolution HWHM), and D/1000 (Γ ≤ 1/30 of it: not resolved)
    for name, d_a2_ps in (("sample.nxs", 0.05), ("sample_narrow.nxs", 0.05e-3)):
        vals, errs = [], []
        for g in 0.6582 * d_a2_ps * q**2:
            truth = 2.0 * qens_model(e, res, 0.2, [0.8], [g], b0=0.5e-3)
            sig = np.sqrt(np.abs(truth) * 1e-3 + 1e-6)
            vals.append(truth + rng.normal(0, sig))
            errs.append(sig)
        write_mantid_nexus(d / name, q, e, np.array(vals), np.array(errs), energy_unit="meV")
    rv = np.array([res.shape(e)] * len(q))
    write_mantid_nexus(d / "vanadium.nxs", q, e, rv, 0.01 * rv + 1e-6, energy_unit="meV")


# ----------------------------------------------------------------------------- cases
@dataclass
class Case:
    id: str
    args: list[str]  # {in} = shared inputs folder, {case} = this case's own folder
    expect: str  # "ok" or "error"
    words: tuple[str, ...] = ()  # an error message must contain each (case-insensitive)
    check: Callable | None = None  # ok cases: check(stdout, casedir) → problem text or None
    setup: Callable | None = None  # setup(casedir) before the run
    may_change: tuple[str, ...] = ()  # files in the case folder that the run may replace (--overwrite)
    stderr_has: tuple[str, ...] = ()  # ok cases: words a warning on stderr must contain
    note: str = ""


def _json_check(fn):
    def check(stdout, casedir):
        try:
            out = json.loads(stdout)
        except ValueError:
            return "stdout is not JSON"
        return fn(out, casedir)

    return check


def _exists(*names):
    def check(stdout, casedir):
        missing = [n for n in names if not (casedir / n).is_file() or (casedir / n).stat().st_size == 0]
        return f"not written: {', '.join(missing)}" if missing else None

    return check


def _copy_traj(casedir):
    shutil.copy(casedir.parent.parent / "inputs" / "traj.h5", casedir / "traj.h5")


def _existing_nc(casedir):
    (casedir / "existing.nc").write_text("an earlier result\n")


def _readonly(casedir):
    ro = casedir / "readonly"
    ro.mkdir()
    ro.chmod(stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)


def _fifo(casedir):
    os.mkfifo(casedir / "pipe.nc")


def _file_parent(casedir):
    (casedir / "plainfile").write_text("x\n")


def _mech_existing(casedir):
    (casedir / "m_bottleneck.nc").write_text("an earlier result\n")


def _gamma_in_range(out, casedir):
    lo, hi = out["fit_range_meV"]
    for q, v in out["q"].items():
        g = v.get("gamma")
        if g is None:
            if v.get("fit_ok") is False or (v.get("resolved") is False and v.get("gamma_upper")):
                continue
            return f"Q={q}: no Γ and no failure or unresolved flag"
        if not (0 < g <= hi):
            return f"Q={q}: Γ = {g:.4g} meV lies outside the fit range ±{hi:.3g} meV"
    return None


def _li_d(out) -> float | str:
    """Li's D, or its MSD-fit slope when D is null; a null D needs its reason (no diffusive regime, or a bound)."""
    li = out["species"]["Li"]
    if li["D"] is not None:
        return li["D"]
    if li["diffusive_regime_found"] and "D_upper" not in li:
        return "D is null without a reason"
    return li["D_fit"]


def _diffusion_ok(out, casedir):
    d = _li_d(out)  # 8 ps at 400 K: the MSD may not be diffusive yet, then the fit's slope is checked
    return None if isinstance(d, float) and 1e-7 < d < 1e-3 else f"D(Li) = {d} cm²/s is implausible"


def _version_ok(stdout, casedir):
    import re

    return None if re.fullmatch(r"superionic \d+\.\d+\S*\s*", stdout) else f"unexpected output {stdout[:60]!r}"


def _fit_range_honoured(lo, hi):
    def check(out, casedir):
        w = out["species"]["Li"]["fit_range_fs"]
        return None if lo <= w[0] < w[1] <= hi else f"fit range {w} is not inside the requested {lo}–{hi} fs"

    return check


def cases() -> list[Case]:
    T, I, C = "{in}/traj.h5", "{in}", "{case}"
    D, V, H, S, M = (["analyze", k] for k in ("diffusion", "vdos", "hopping", "scattering", "mechanism"))
    VB = ["--n-boot", "20"]
    FQ = ["fit-qens", f"{I}/sample.nxs", "--resolution", f"{I}/vanadium.nxs"]
    c = [
        # ---- inputs that do not exist or are not trajectories
        Case("missing-file-vdos", V + ["does-not-exist.h5"], "error", ("not found",)),
        Case("missing-file-diffusion", D + [f"{I}/nope.h5"], "error", ("not found",)),
        Case("missing-file-info", ["info", f"{I}/nope.h5"], "error", ("not found",)),
        Case("folder-as-input", D + [f"{I}/a_folder.h5"], "error", ("folder",)),
        Case("folder-as-input-info", ["info", I], "error", ("folder",)),
        Case("empty-file", D + [f"{I}/empty.h5"], "error", ("empty",)),
        Case("garbage-h5", D + [f"{I}/garbage.h5"], "error", ("garbage.h5",)),
        Case("garbage-h5-info", ["info", f"{I}/garbage.h5"], "error", ("garbage.h5",)),
        Case(
            "truncated-h5",
            ["info", f"{I}/truncated.h5", "--json"],
            "ok",
            stderr_has=("dropped",),
            check=_json_check(lambda o, c: None if 0 < o["trajectory"]["frames"] < 400 else "frame count"),
            note="the reader keeps the complete frames and warns",
        ),
        Case("text-as-h5", V + [f"{I}/text.h5"], "error", ("text.h5",)),
        Case("unknown-suffix", D + [f"{I}/notes.unknownext", "--dt", "1"], "error", ("format",)),
        Case("extxyz-without-dt", D + [f"{I}/traj.extxyz", "--species", "Li"], "error", ("--dt",)),
        Case(
            "extxyz-with-dt",
            D + [f"{I}/traj.extxyz", "--dt", "20", "--species", "Li", "--json"],
            "ok",
            check=_json_check(lambda o, c: None if isinstance(d := _li_d(o), float) and d > 0 else f"D(Li) = {d}"),
        ),
        Case("nan-velocities-diffusion", D + [f"{I}/nan_velocities.h5"], "error", ("velocities", "finite")),
        Case("nan-velocities-vdos", V + [f"{I}/nan_velocities.h5"] + VB, "error", ("velocities", "finite")),
        Case("inf-positions-diffusion", D + [f"{I}/nan_positions.h5"], "error", ("positions", "finite")),
        Case("inf-positions-hopping", H + [f"{I}/nan_positions.h5"], "error", ("positions", "finite")),
        # ---- numeric options: zero, negative, not finite, huge
        Case("dt-zero", D + [T, "--dt", "0"], "error", ("--dt",)),
        Case("dt-negative", D + [T, "--dt", "-5"], "error", ("--dt",)),
        Case("dt-nan", D + [T, "--dt", "nan"], "error", ("--dt",)),
        Case("dt-inf", D + [T, "--dt", "inf"], "error", ("--dt",)),
        Case(
            "dt-disagrees-with-file",
            D + [T, "--dt", "40"],
            "error",
            ("--dt",),
            note="trajectory reader's check (other owner)",
        ),
        Case("fit-start-negative", D + [T, "--fit-start", "-100"], "error", ("--fit-start",)),
        Case("fit-start-beyond-run", D + [T, "--fit-start", "1e9"], "error", ("--fit-start",)),
        Case("fit-stop-zero", D + [T, "--fit-stop", "0"], "error", ("--fit-stop",)),
        Case("fit-stop-before-start", D + [T, "--fit-start", "2000", "--fit-stop", "1000"], "error", ("--fit-stop",)),
        Case("fit-stop-beyond-lags", D + [T, "--fit-stop", "1e9"], "error", ("--fit-stop",)),
        Case(
            "fit-range-honoured",
            D + [T, "--species", "Li", "--fit-start", "500", "--fit-stop", "3000", "--json"],
            "ok",
            check=_json_check(_fit_range_honoured(500, 3000)),
        ),
        Case("max-lag-zero", D + [T, "--max-lag", "0"], "error", ("--max-lag",)),
        Case("max-lag-negative", D + [T, "--max-lag", "-3"], "error", ("--max-lag",)),
        Case("max-lag-huge", D + [T, "--max-lag", "1000000000"], "error", ("--max-lag",)),
        Case("max-lag-not-int", D + [T, "--max-lag", "x"], "error", ("--max-lag",)),
        Case("temperature-negative", D + [T, "--temperature", "-300"], "error", ("--temperature",)),
        Case("temperature-zero", D + [T, "--temperature", "0"], "error", ("--temperature",)),
        Case("charges-not-number", D + [T, "--charges", "Li=abc"], "error", ("--charges",)),
        Case("charges-malformed", D + [T, "--charges", "Li"], "error", ("--charges",)),
        Case("species-unknown", D + [T, "--species", "Xx"], "error", ("Xx",)),
        Case("species-unknown-vdos", V + [T, "--species", "Na"] + VB, "error", ("Na",)),
        Case("vdos-n-boot-zero", V + [T, "--n-boot", "0"], "error", ("--n-boot",)),
        Case("vdos-n-boot-negative", V + [T, "--n-boot", "-1"], "error", ("--n-boot",)),
        Case("vdos-atom-groups-zero", V + [T, "--atom-groups", "0"] + VB, "error", ("--atom-groups",)),
        Case("vdos-time-blocks-zero", V + [T, "--time-blocks", "0"] + VB, "error", ("--time-blocks",)),
        Case("vdos-lag-window-unknown", V + [T, "--lag-window", "foo"] + VB, "error", ("--lag-window",)),
        Case("vdos-old-window-option-unknown", V + [T, "--window", "foo"] + VB, "error", ("--lag-window",)),
        Case("vdos-precision-unknown", V + [T, "--precision", "float16"] + VB, "error", ("precision",)),
        Case("vdos-fit-range-reversed", V + [T, "--fit-range", "5,1"] + VB, "error", ("fit-range",)),
        Case("vdos-fit-range-text", V + [T, "--fit-range", "a,b"] + VB, "error", ("--fit-range",)),
        Case("vdos-fit-range-beyond-nyquist", V + [T, "--fit-range", "1,1e6"] + VB, "error", ("fit",)),
        Case("vdos-old-fit-window-option-reversed", V + [T, "--fit-window", "5,1"] + VB, "error", ("fit-range",)),
        Case("vdos-resolution-negative", V + [T, "--resolution", "-1"] + VB, "error", ("--resolution",)),
        Case("vdos-max-lag-one", V + [T, "--max-lag", "1"] + VB, "error", ("--max-lag",)),
        Case("vdos-group-negative-index", V + [T, "--group", "A=-1"] + VB, "error", ("--group",)),
        Case("vdos-group-out-of-range", V + [T, "--group", "A=0-1000"] + VB, "error", ("outside",)),
        Case("vdos-group-malformed", V + [T, "--group", "junk"] + VB, "error", ("--group",)),
        Case("vdos-isotope-unknown", V + [T, "--isotopes", "Li=9Xx"] + VB, "error", ("Xx",)),
        Case("scattering-huge-q", S + [T, "--q", "1000"], "error", ("fit range",)),
        Case("scattering-huge-q-json", S + [T, "--q", "1000", "--json"], "error", ("fit range",)),
        Case("scattering-q-negative", S + [T, "--q", "-1"], "error", ("--q",)),
        Case("scattering-q-zero", S + [T, "--q", "0"], "error", ("--q",)),
        Case("scattering-q-text", S + [T, "--q", "abc"], "error", ("--q",)),
        Case("scattering-q-empty", S + [T, "--q", ","], "error", ("--q",)),
        Case("scattering-n-directions-zero", S + [T, "--q", "1", "--n-directions", "0"], "error", ("--n-directions",)),
        Case("scattering-three-lorentzians", S + [T, "--q", "1", "--n-lorentzians", "3"], "error", ("lorentzians",)),
        Case("scattering-fit-range-negative", S + [T, "--q", "1", "--fit-range", "-1"], "error", ("--fit-range",)),
        Case(
            "scattering-fit-range-beyond-spectrum", S + [T, "--q", "1", "--fit-range", "1e6"], "error", ("--fit-range",)
        ),
        Case("scattering-fit-species-unknown", S + [T, "--q", "1", "--fit-species", "Xx"], "error", ("Xx",)),
        Case("scattering-lag-window-unknown", S + [T, "--q", "1", "--lag-window", "foo"], "error", ("--lag-window",)),
        Case(
            "scattering-temperature-negative", S + [T, "--q", "1", "--temperature", "-5"], "error", ("--temperature",)
        ),
        Case(
            "scattering-resolution-zero", S + [T, "--q", "1", "--resolution-fwhm", "0"], "error", ("--resolution-fwhm",)
        ),
        Case("mechanism-centre-unknown", M + [T, "--centre", "Xx"], "error", ("Xx",)),
        Case("mechanism-mobile-unknown", M + [T, "--mobile", "Xx"], "error", ("Xx",)),
        Case("mechanism-ligand-unknown", M + [T, "--ligand", "Xx"], "error", ("Xx",)),
        Case("hopping-species-unknown", H + [T, "--species", "Xx"], "error", ("Xx",)),
        Case("hopping-radius-negative", H + [T, "--radius", "-1"], "error", ("--radius",)),
        Case("hopping-residence-negative", H + [T, "--residence", "-5"], "error", ("--residence",)),
        Case("hopping-sites-missing-file", H + [T, "--sites", "nope.cif"], "error", ("--sites",)),
        Case(
            "fit-qens-missing-measured",
            ["fit-qens", f"{I}/nope.nxs", "--resolution", f"{I}/vanadium.nxs"],
            "error",
            ("not found",),
        ),
        Case("fit-qens-emin-above-emax", FQ + ["--emin", "0.05", "--emax", "-0.05"], "error", ("--emin",)),
        Case("fit-qens-zero-lorentzians", FQ + ["--n-lorentzians", "0"], "error", ("lorentzians",)),
        Case("fit-qens-background-unknown", FQ + ["--background", "cubic"], "error", ("background",)),
        # ---- outputs
        Case(
            "out-is-input-diffusion", D + [f"{C}/traj.h5", "-o", f"{C}/traj.h5"], "error", ("input",), setup=_copy_traj
        ),
        Case(
            "out-is-input-vdos", V + [f"{C}/traj.h5", "-o", f"{C}/traj.h5"] + VB, "error", ("input",), setup=_copy_traj
        ),
        Case(
            "gdos-out-is-input-vdos",
            V + [f"{C}/traj.h5", "--gdos-out", f"{C}/traj.h5"] + VB,
            "error",
            ("input",),
            setup=_copy_traj,
        ),
        Case("out-is-input-hopping", H + [f"{C}/traj.h5", "-o", f"{C}/traj.h5"], "error", ("input",), setup=_copy_traj),
        Case(
            "out-is-input-scattering",
            S + [f"{C}/traj.h5", "--q", "1", "-o", f"{C}/traj.h5"],
            "error",
            ("input",),
            setup=_copy_traj,
        ),
        Case(
            "out-is-input-relative-path",
            D + [f"{C}/traj.h5", "-o", f"{C}/./sub/../traj.h5"],
            "error",
            ("input",),
            setup=_copy_traj,
        ),
        Case(
            "out-is-input-fit-qens",
            ["fit-qens", f"{C}/traj.h5", "--resolution", f"{I}/vanadium.nxs", "-o", f"{C}/traj.h5"],
            "error",
            ("input",),
            setup=_copy_traj,
        ),
        Case("mechanism-out-exists", M + [T, "-o", f"{C}/m"], "error", ("exists",), setup=_mech_existing),
        Case("out-exists", D + [T, "-o", f"{C}/existing.nc"], "error", ("exists", "--overwrite"), setup=_existing_nc),
        Case(
            "out-exists-overwrite",
            D + [T, "-o", f"{C}/existing.nc", "--overwrite"],
            "ok",
            check=lambda s, c: None if (c / "existing.nc").read_bytes()[:4] == b"\x89HDF" else "not replaced",
            setup=_existing_nc,
            may_change=("existing.nc",),
        ),
        Case("out-is-folder", D + [T, "-o", C], "error", ("folder",)),
        Case(
            "out-read-only-folder",
            D + [T, "-o", f"{C}/readonly/x.nc"],
            "ok" if IS_ROOT else "error",
            ("readonly",),
            setup=_readonly,
            check=_exists("readonly/x.nc") if IS_ROOT else None,
            note="run as root, who writes into read-only folders: expected ok" if IS_ROOT else "",
        ),
        Case("out-read-only-filesystem", D + [T, "-o", "/sys/superionic-edge-case.nc"], "error", ("/sys",)),
        Case("out-parent-is-file", D + [T, "-o", f"{C}/plainfile/x.nc"], "error", ("plainfile",), setup=_file_parent),
        Case("out-not-regular-file", D + [T, "-o", f"{C}/pipe.nc"], "error", ("pipe.nc",), setup=_fifo),
        Case("out-wrong-suffix", D + [T, "-o", f"{C}/result.png"], "error", (".nc",)),
        Case("out-new-subfolder", D + [T, "-o", f"{C}/new/sub/d.nc"], "ok", check=_exists("new/sub/d.nc")),
        Case(
            "out-and-gdos-out-same", V + [T, "-o", f"{C}/a.nc", "--gdos-out", f"{C}/a.nc"] + VB, "error", ("same file",)
        ),
        Case("plot-suffix-h5", D + [T, "--plot", f"{C}/x.h5"], "error", ("--plot",)),
        Case("plot-no-suffix", D + [T, "--plot", f"{C}/figure"], "error", ("--plot",)),
        Case("plot-is-input", D + [f"{C}/traj.h5", "--plot", f"{C}/traj.h5"], "error", ("input",), setup=_copy_traj),
        Case("plot-png", D + [T, "--species", "Li", "--plot", f"{C}/msd.png"], "ok", check=_exists("msd.png")),
        Case("plot-pdf", D + [T, "--species", "Li", "--plot", f"{C}/msd.pdf"], "ok", check=_exists("msd.pdf")),
        # ---- JSON mode, usage, version
        Case(
            "json-missing-file",
            D + [f"{I}/nope.h5", "--json"],
            "error",
            ("not found",),
            check=_json_check(lambda o, c: None if o.get("exit_code") == 1 and "error" in o else "no JSON error"),
        ),
        Case(
            "json-usage-error",
            D + [T, "--max-lag", "x", "--json"],
            "error",
            ("--max-lag",),
            check=_json_check(lambda o, c: None if o.get("exit_code") == 2 else "no JSON usage error"),
        ),
        Case(
            "json-bad-option-value",
            V + [T, "--n-boot", "0", "--json"],
            "error",
            ("--n-boot",),
            check=_json_check(lambda o, c: None if o.get("exit_code") == 1 else "no JSON error"),
        ),
        Case("unknown-command", ["frobnicate"], "error", ("frobnicate",)),
        Case("unknown-option", D + [T, "--frobnicate"], "error", ("--frobnicate",)),
        Case("missing-argument", D, "error", ("trajectory",)),
        Case("version", ["--version"], "ok", check=_version_ok),
        # ---- real runs that must work (and give sane numbers)
        Case("diffusion-json", D + [T, "--species", "Li", "--json"], "ok", check=_json_check(_diffusion_ok)),
        Case("diffusion-netcdf", D + [T, "--species", "Li", "-o", f"{C}/d.nc"], "ok", check=_exists("d.nc")),
        Case(
            "vdos-json",
            V + [T, "--species", "Li", "--json", "-o", f"{C}/v.nc", "--gdos-out", f"{C}/g.nc"] + VB,
            "ok",
            check=_json_check(lambda o, c: _exists("v.nc", "g.nc")("", c)),
        ),
        Case("hopping-json", H + [T, "--json", "-o", f"{C}/h.nc"], "ok", check=_exists("h.nc")),
        Case(
            "scattering-json",
            S + [T, "--q", "0.5,1,1.5", "--json", "-o", f"{C}/s.nc"],
            "ok",
            check=_json_check(_gamma_in_range),
        ),
        Case("mechanism-json", M + [T, "--json", "-o", f"{C}/m"], "ok", check=_exists("m_bottleneck.nc")),
        Case("fit-qens-json", FQ + ["--json", "-o", f"{C}/f.nc"], "ok", check=_json_check(_gamma_in_range_measured)),
        Case(
            "fit-qens-unresolved-json",
            ["fit-qens", f"{I}/sample_narrow.nxs", "--resolution", f"{I}/vanadium.nxs", "--json"],
            "ok",
            check=_json_check(_unresolved_no_d),
        ),
        Case(
            "info-json",
            ["info", T, "--json"],
            "ok",
            check=_json_check(lambda o, c: None if o["trajectory"]["frames"] == 400 else "wrong frame count"),
        ),
        Case("potentials-json", ["potentials", "--json"], "ok", check=_json_check(lambda o, c: None)),
    ]
    return c


def _unresolved_no_d(out, casedir):
    """Widths far below the resolution: no Γ value, an upper bound where the fit converged, and no D."""
    for q, v in out["q"].items():
        if v.get("gamma") is not None:
            return f"Q={q}: Γ = {v['gamma']:.3g} meV given for a width far below the resolution"
        if v.get("fit_ok") and not (v.get("resolved") is False and v.get("gamma_upper")):
            return f"Q={q}: no Γ, but neither unresolved with a bound nor failed"
    with_d = [m for m, r in out["models"].items() if isinstance(r, dict) and r.get("D") is not None]
    if with_d or not out.get("models_refused"):
        return f"a D from unresolved widths ({', '.join(with_d) or 'no models_refused reason'})"
    return None


def _gamma_in_range_measured(out, casedir):
    for q, v in out["q"].items():
        g = v.get("gamma")
        if g is not None and not (0 < g < 0.1):
            return f"Q={q}: Γ = {g:.4g} meV lies outside the measured window ±0.1 meV"
    return None


# ----------------------------------------------------------------------------- running and classifying
@dataclass
class Result:
    case: Case
    rc: int
    stdout: str
    stderr: str
    seconds: float
    outcome: str = ""
    why: str = ""
    passed: bool = False
    changed: list[str] = field(default_factory=list)


def _digest(folder: Path) -> dict[str, str]:
    out = {}
    for p in sorted(folder.rglob("*")):
        try:
            if p.is_file() and not p.is_symlink() and stat.S_ISREG(p.stat().st_mode):
                out[str(p)] = hashlib.sha256(p.read_bytes()).hexdigest()
        except OSError:
            pass
    return out


def _subst(args: list[str], inputs: Path, casedir: Path) -> list[str]:
    return [a.replace("{in}", str(inputs)).replace("{case}", str(casedir)) for a in args]


def run_case(case: Case, work: Path, python: str, env: dict, timeout: float) -> Result:
    inputs = work / "inputs"
    casedir = work / "cases" / case.id
    casedir.mkdir(parents=True)
    if case.setup:
        case.setup(casedir)
    before = {**_digest(inputs), **_digest(casedir)}
    t0 = time.perf_counter()
    try:
        p = subprocess.run(
            [python, "-m", "superionic", *_subst(case.args, inputs, casedir)],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            cwd=casedir,
            stdin=subprocess.DEVNULL,
        )
        rc, out, err = p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired as exc:
        rc, out, err = -9, exc.stdout or "", (exc.stderr or "") + f"\n(timed out after {timeout:g} s)"
        out = out.decode() if isinstance(out, bytes) else out
        err = err.decode() if isinstance(err, bytes) else err
    res = Result(case, rc, out, err, time.perf_counter() - t0)
    after = {**_digest(inputs), **_digest(casedir)}
    may = {str(casedir / m) for m in case.may_change}
    res.changed = [Path(k).name for k, h in before.items() if k not in may and after.get(k) != h]
    classify(res)
    return res


def _error_lines(stderr: str) -> list[str]:
    return [ln for ln in stderr.splitlines() if ln.strip() and not ln.startswith(("warning:", "superionic: note:"))]


def classify(r: Result) -> None:
    c = r.case
    lines = _error_lines(r.stderr)
    msg = lines[-1] if lines else ""
    if r.changed:
        r.outcome, r.why = "data lost", "changed: " + ", ".join(r.changed)
    elif r.rc == -9:
        r.outcome, r.why = "hang", r.stderr.strip().splitlines()[-1]
    elif "Traceback (most recent call last)" in r.stderr or r.rc not in (0, 1, 2):
        tail = [ln for ln in r.stderr.splitlines() if ln.strip()]
        r.outcome, r.why = "traceback", (tail[-1] if tail else f"exit {r.rc}")
    elif r.rc == 0:
        problem = None
        if c.expect == "error":
            problem = "accepted: " + (" ".join(r.stdout.split())[:90] or "(no output)")
        elif c.check is not None:
            problem = _run_check(c, r)
        missing = [w for w in c.stderr_has if w.lower() not in r.stderr.lower()]
        if not problem and missing:
            problem = f"no warning mentioning {', '.join(missing)}"
        if not problem and c.expect == "ok" and c.stderr_has:
            r.why = next((ln for ln in r.stderr.splitlines() if ln.startswith("warning:")), "")
        r.outcome, r.why = ("silent wrong", problem) if problem else ("ok", r.why)
    else:
        one = len(lines) == 1 and lines[0].startswith(("superionic: error: ", "superionic: usage error: "))
        numpy_repr = "array(" in r.stderr
        missing = [w for w in c.words if w.lower() not in r.stderr.lower()]
        problem = None
        if not one:
            problem = f"{len(lines)} lines on stderr" if lines else "no message"
        elif numpy_repr:
            problem = "numpy repr in the message"
        elif missing:
            problem = f"does not mention {', '.join(missing)}"
        elif c.check is not None:
            problem = _run_check(c, r)
        r.outcome = "unclear error" if problem else "clear error"
        r.why = (problem + ": " if problem else "") + msg
    if c.expect == "ok":
        r.passed = r.outcome == "ok"
    else:
        r.passed = r.outcome == "clear error"


_WORK: Path | None = None


def _run_check(c: Case, r: Result) -> str | None:
    try:
        return c.check(r.stdout, _casedir_of(r))
    except Exception as exc:  # a check that cannot read the output is a failed check
        return f"output unreadable ({type(exc).__name__}: {exc})"


def _casedir_of(r: Result) -> Path:
    return _WORK / "cases" / r.case.id


# ----------------------------------------------------------------------------- reporting
def _short(text: str, n: int) -> str:
    if _WORK is not None:  # the temporary folder's name is noise in the table
        for sub in ("inputs", "cases"):
            text = text.replace(f"{_WORK / sub}/", "").replace(str(_WORK / sub), "DIR")
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= n else text[: n - 1] + "…"


def _command(case: Case) -> str:
    return _short(
        "superionic "
        + " ".join(
            a.replace("{in}/", "").replace("{case}/", "").replace("{case}", "DIR").replace("{in}", "DIR")
            for a in case.args
        ),
        70,
    )


def markdown(results: list[Result], label: str) -> str:
    counts = {o: sum(r.outcome == o for r in results) for o in OUTCOMES}
    passed = sum(r.passed for r in results)
    out = [
        f"{label}: {len(results)} cases, {passed} as expected; " + ", ".join(f"{o} {n}" for o, n in counts.items()),
        "",
        "| case | command | expected | outcome | exit | message or problem |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        mark = "" if r.passed else " ✗"
        why = r.why.replace("superionic: error: ", "").replace("superionic: usage error: ", "usage: ")
        if r.case.note:
            why = f"{why} ({r.case.note})" if why else r.case.note
        out.append(
            f"| {r.case.id} | `{_command(r.case)}` | {r.case.expect} | {r.outcome}{mark} | {r.rc} | "
            f"{_short(why, 150)} |"
        )
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    global _WORK
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--jobs", type=int, default=2, help="cases run in parallel (default 2)")
    ap.add_argument("--only", default=None, help="run only cases whose id contains this")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds per case before it counts as a hang")
    ap.add_argument("--python", default=sys.executable, help="interpreter that runs `-m superionic`")
    ap.add_argument("--src", default=None, help="put this folder first on PYTHONPATH (compare other code)")
    ap.add_argument("--label", default="superionic CLI edge cases")
    ap.add_argument("--markdown", default=None, help="write the table to this markdown file")
    ap.add_argument("--update-doc", default=None, help=f"replace the part between {START} and {END} in this file")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    a = ap.parse_args(argv)
    env = dict(os.environ, MPLBACKEND="Agg", SUPERIONIC_DEBUG="0")
    env.pop("PYTHONWARNINGS", None)
    if a.src:
        env["PYTHONPATH"] = os.pathsep.join([str(Path(a.src).resolve()), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    selected = [c for c in cases() if a.only is None or a.only in c.id]
    _WORK = Path(tempfile.mkdtemp(prefix="superionic-edge-"))
    try:
        (_WORK / "inputs").mkdir()
        make_inputs(_WORK / "inputs")
        t0 = time.perf_counter()
        with ThreadPoolExecutor(max_workers=max(1, a.jobs)) as pool:
            results = list(pool.map(lambda c: run_case(c, _WORK, a.python, env, a.timeout), selected))
        for r in results:
            flag = "  " if r.passed else "✗ "
            print(f"{flag}{r.case.id:<40} {r.outcome:<14} rc={r.rc:<3} {r.seconds:5.1f}s  {_short(r.why, 110)}")
        text = markdown(results, a.label)
        print()
        print(text.splitlines()[0] + f" ({time.perf_counter() - t0:.0f} s)")
        if a.markdown:
            Path(a.markdown).write_text(text, encoding="utf-8")
        if a.update_doc:
            doc = Path(a.update_doc)
            body = doc.read_text(encoding="utf-8")
            if START not in body or END not in body:
                raise SystemExit(f"{doc} lacks the markers {START} … {END}")
            head, rest = body.split(START, 1)
            _, tail = rest.split(END, 1)
            doc.write_text(f"{head}{START}\n{text}{END}{tail}", encoding="utf-8")
        return 0 if all(r.passed for r in results) else 1
    finally:
        if not a.keep:
            for p in (_WORK / "cases").rglob("readonly") if (_WORK / "cases").exists() else []:
                p.chmod(0o755)
            shutil.rmtree(_WORK, ignore_errors=True)
        else:
            print(f"kept {_WORK}")


if __name__ == "__main__":
    sys.exit(main())
