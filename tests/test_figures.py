"""Figures draw on the caller's axes and never touch pyplot or the backend."""

import subprocess
import sys

import numpy as np
import xarray as xr
from matplotlib.figure import Figure


def test_importing_the_report_does_not_load_pyplot():
    code = (
        "import sys, superionic.report.html, superionic.report.figures_vdos, superionic.report.figures_scattering,"
        " superionic.report.figures_mechanism, superionic.report.figures_diffusion;"
        " print('matplotlib.pyplot' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_figures_draw_on_given_axes():
    from superionic.report.figures import new_axes, vdos_figure
    from superionic.report.figures_scattering import fs_figure

    nu = np.linspace(0, 20, 50)
    ds = xr.Dataset(
        {"g": (("species", "frequency"), np.vstack([nu, nu**2]))}, coords={"species": ["Li", "S"], "frequency": nu}
    )
    mine = Figure()
    axes = mine.subplots(1, 2, squeeze=False)
    fig = vdos_figure({"400 K": ds}, axes=axes)
    assert fig is mine
    assert len(axes[0][0].lines) == 1 and len(axes[0][1].lines) == 1
    fig2, ax = new_axes(figsize=(3, 2))
    assert fig2 is not mine and ax.figure is fig2
    t = np.arange(10) * 10.0
    fqt = xr.Dataset(
        {"F_s": (("species", "q", "time"), np.exp(-t / 50.0)[None, None, :])},
        coords={"species": ["Li"], "q": [1.0], "time": t},
    )
    ax2 = Figure().subplots()
    assert fs_figure(fqt, "Li", ax=ax2) is ax2.figure
    assert len(ax2.lines) >= 1
