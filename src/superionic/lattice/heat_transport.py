"""Thermal conductivity of a structure with a LAMMPS potential: independent heat-flux runs, then Green–Kubo.

`flux_runs` runs (or reuses) ``flux_run<k>.nc`` in a folder, one NVE run per seed (`heat_flux.run_heat_flux`);
`thermal_conductivity` analyses them (`green_kubo.green_kubo`) and writes ``kappa.nc``; `kappa_figure` draws the
running integral κ(t) with its error band and the cepstral estimate beside the heat-flux spectrum.
docs/thermal_conductivity.md states the method, the units and the validation.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import xarray as xr
from ase import Atoms

from ..errors import InputError
from ..results import save_dataset
from .green_kubo import green_kubo, kappa_summary
from .heat_flux import HeatFluxSettings, run_heat_flux

RUN_NAME = "flux_run{k}.nc"
KAPPA_NAME = "kappa.nc"


def _same_run(ds: xr.Dataset, settings: HeatFluxSettings, atoms: Atoms, potential_name: str) -> bool:
    try:
        stored = json.loads(ds.attrs["settings"])
        pot = json.loads(ds.attrs["potential"])
    except (KeyError, ValueError):
        return False
    return (
        stored == json.loads(json.dumps(asdict(settings)))
        and pot.get("name") == potential_name
        and int(ds.attrs.get("n_atoms", -1)) == len(atoms)
        and ds.attrs.get("formula") == atoms.get_chemical_formula()
    )


def flux_runs(
    atoms: Atoms,
    potential: Any,
    settings: HeatFluxSettings,
    out_dir: str | Path,
    *,
    runs: int = 4,
    method: str = "auto",
    threads: int = 1,
    overwrite: bool = False,
    progress: Callable[[int, int, int, float], None] | None = None,
    metadata: dict[str, Any] | None = None,
) -> list[Path]:
    """Run `runs` independent heat-flux runs (seeds settings.seed, +1, …) into out_dir/flux_run<k>.nc.

    A run file already there with the same settings, potential and structure is reused (a killed series resumes at
    the first missing run); one made otherwise is replaced only with overwrite. progress(run, step, steps, T).
    """
    from ..potentials.lammps_potentials import get_lammps_potential

    if runs < 1:
        raise InputError(f"runs must be ≥ 1, got {runs}")
    pot = get_lammps_potential(potential)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for k in range(runs):
        s = replace(settings, seed=int(settings.seed) + k)
        s.validate()
        path = out / RUN_NAME.format(k=k)
        if path.exists():
            with xr.open_dataset(path) as old:
                same = _same_run(old, s, atoms, pot.name)
            if same:
                paths.append(path)
                continue
            if not overwrite:
                raise InputError(
                    f"{path} holds a run made with other settings, potential or structure; give --overwrite to "
                    "replace it, or another folder"
                )

        def report(step: int, total: int, temp: float, _k: int = k) -> None:
            if progress:
                progress(_k, step, total, temp)

        ds = run_heat_flux(atoms, pot, s, method=method, threads=threads, progress=report)
        ds.attrs.update(
            {key: json.dumps(v) if isinstance(v, (dict, list)) else v for key, v in (metadata or {}).items()}
        )
        save_dataset(ds, path)
        paths.append(path)
    return paths


def load_flux_runs(folder: str | Path) -> list[xr.Dataset]:
    """The flux_run<k>.nc files of a folder, in run order; InputError when there are none."""
    folder = Path(folder)
    files = sorted(folder.glob("flux_run*.nc"), key=lambda p: int(p.stem.removeprefix("flux_run") or 0))
    if not files:
        raise InputError(f"no heat-flux runs (flux_run<k>.nc) in {folder}")
    return [xr.load_dataset(f) for f in files]


def thermal_conductivity(
    runs: Sequence[xr.Dataset] | str | Path,
    out: str | Path | None = None,
    **analysis: Any,
) -> xr.Dataset:
    """Green–Kubo κ of heat-flux runs (Datasets or the folder holding them); written to `out` when given.

    analysis: keyword arguments of `green_kubo.green_kubo` (t_max_ps, max_lag_ps, f_cut_THz, decorrelate, …).
    """
    data = load_flux_runs(runs) if isinstance(runs, (str, Path)) else list(runs)
    ds = green_kubo(data, **analysis)
    if out is not None:
        save_dataset(ds, out)
    return ds


def kappa_figure(ds: xr.Dataset, title: str | None = None):
    """Running integral κ(t) per component (mean ± standard error, runs thin) and the heat-flux spectrum in κ units
    (periodogram and its cepstral smoothing, whose zero-frequency value is κ).
    """
    import numpy as np
    from matplotlib.figure import Figure

    s = kappa_summary(ds)
    fig = Figure(figsize=(10.0, 4.0), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    t = ds["lag"].values / 1000.0
    colours = {"total": "k", "conduction": "tab:blue", "convection": "tab:orange", "cross": "tab:green"}
    for comp in ds["component"].values:
        m = ds["kappa_running_mean"].sel(component=comp).values
        e = ds["kappa_running_err"].sel(component=comp).values
        ax1.plot(t, m, color=colours[str(comp)], lw=1.5, label=str(comp))
        ax1.fill_between(t, m - e, m + e, color=colours[str(comp)], alpha=0.2, lw=0)
        if str(comp) == "total":
            for r in ds["run"].values:
                ax1.plot(t, ds["kappa_running"].sel(component=comp, run=r).values, color="0.6", lw=0.5)
    ax1.axvline(s["t_max_ps"], color="0.4", ls=":", lw=1)
    kc, ke = s["kappa_cepstral"], s["kappa_cepstral_err"]
    ax1.axhspan(kc - ke, kc + ke, color="tab:red", alpha=0.15, lw=0, label="cepstral κ ± σ")
    ax1.set_xlabel("integration time t (ps)")
    ax1.set_ylabel("κ(t) (W m⁻¹ K⁻¹)")
    ax1.legend(fontsize=8)
    f = ds["frequency"].values
    ax2.plot(f, ds["kappa_periodogram"].values, color="0.7", lw=0.5, label="periodogram (runs, x y z averaged)")
    ax2.plot(f, ds["kappa_spectrum_filtered"].values, color="tab:red", lw=1.5, label="cepstral filter")
    ax2.errorbar([0.0], [kc], yerr=[ke], fmt="o", color="tab:red", ms=4)
    ax2.set_xlabel("frequency (THz)")
    ax2.set_ylabel("S(f) in κ units (W m⁻¹ K⁻¹)")
    ax2.set_ylim(0, float(np.percentile(ds["kappa_spectrum_filtered"].values, 99)) * 2.5)
    ax2.legend(fontsize=8)
    fig.suptitle(
        title
        or f"{ds.attrs.get('formula', '')} at {s['temperature_K']:g} K: κ = {kc:.3g} ± {ke:.2g} W/(m·K) (cepstral), "
        f"{s['kappa_gk']:.3g} ± {s['kappa_gk_err']:.2g} (running integral at {s['t_max_ps']:.3g} ps)",
        fontsize=10,
    )
    return fig
