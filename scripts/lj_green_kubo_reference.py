"""Green–Kubo κ of the Lennard-Jones fluid at ρ* = 0.6, T* = 1.35 (r_c = 2.5σ): the validation of docs/thermal_conductivity.md.

The state point is the one of LAMMPS' examples/KAPPA (after D. J. Evans, Phys. Rev. A 34, 1449 (1986), whose
homogeneous NEMD gave κ* ≈ 3.4 for it; the three NEMD scripts of examples/KAPPA give 3.39, 3.41 and 3.45 with 8000
atoms). The potential is truncated at 2.5σ and not shifted, as there. The run goes through the package itself
(`superionic.lattice.heat_flux.run_heat_flux`, `green_kubo`), in LAMMPS metal units with argon parameters
(ε/k_B = 119.8 K, σ = 3.405 Å, m = 39.948 u): κ in W/(m·K) is converted back to reduced units with
κ* = κ σ²/k_B · √(m/ε), so the unit chain metal → SI → reduced is part of the check.

One core, about 10 minutes (default: 4 independent runs of 250 τ NVE each after 25 τ of NVT, 864 atoms):

    OMP_NUM_THREADS=1 python3 scripts/lj_green_kubo_reference.py [--runs 4] [--tau 250] [--out results/lj_kappa]

Prints a table and writes <out>/lj_kappa.json and <out>/kappa.nc (and the flux runs).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
from ase import Atoms

from superionic import units
from superionic.lattice.green_kubo import kappa_summary, lj_reduced
from superionic.lattice.heat_flux import HeatFluxSettings
from superionic.lattice.heat_transport import flux_runs, thermal_conductivity
from superionic.potentials.lammps_potentials import LammpsPotential

EPS_K = 119.8  # ε/k_B, K
SIGMA = 3.405  # Å
MASS = 39.948  # u
RHO, TSTAR, RC = 0.6, 1.35, 2.5
REFERENCE = {
    "Evans 1986 (homogeneous NEMD, 108 atoms; as read from his Fig. 1 in LAMMPS examples/KAPPA/README)": 3.4,
    "LAMMPS examples/KAPPA fix langevin NEMD (8000 atoms)": 3.41,
    "LAMMPS examples/KAPPA fix heat NEMD (8000 atoms)": 3.39,
    "LAMMPS examples/KAPPA Muller-Plathe RNEMD (8000 atoms)": 3.45,
}


def lj_fluid(n_cells: int) -> Atoms:
    """fcc lattice of 4 n³ atoms at ρ* (it melts during the NVT equilibration at T* = 1.35)."""
    a = (4.0 / RHO) ** (1.0 / 3.0) * SIGMA
    base = np.array([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])
    grid = np.array([[i, j, k] for i in range(n_cells) for j in range(n_cells) for k in range(n_cells)])
    pos = ((grid[:, None, :] + base[None, :, :]).reshape(-1, 3)) * a
    return Atoms(f"Ar{len(pos)}", positions=pos, cell=[n_cells * a] * 3, pbc=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs", type=int, default=4, help="independent NVE runs (seeds 1, 2, …)")
    p.add_argument("--tau", type=float, default=250.0, help="NVE length of each run in LJ time units τ")
    p.add_argument("--cells", type=int, default=6, help="fcc cells per edge (4n³ atoms; 6 → 864)")
    p.add_argument("--out", type=Path, default=Path("results/lj_kappa"), help="output folder")
    args = p.parse_args()

    eps = EPS_K * units.KB_EV  # eV
    tau_fs = SIGMA * 1e-10 * math.sqrt(MASS * units.AMU_KG / (eps * units.E_CHARGE_C)) * 1e15
    dt = 0.005 * tau_fs
    pot = LammpsPotential(
        name="lj-argon-rc2.5",
        pair_style=f"lj/cut {RC * SIGMA!r}",
        pair_coeff=[f"* * {eps!r} {SIGMA!r}"],
        elements=["Ar"],
        source="Lennard-Jones, argon parameters, truncated at 2.5 sigma, not shifted (LAMMPS examples/KAPPA)",
    )
    atoms = lj_fluid(args.cells)
    atoms.set_masses([MASS] * len(atoms))
    settings = HeatFluxSettings(
        temperature=TSTAR * EPS_K,
        dt=dt,
        equilibration_steps=int(25 / 0.005),
        steps=int(args.tau / 0.005),
        sample_every=2,
        seed=1,
        thermostat_damping=100 * dt,
    )
    t0 = time.time()
    flux_runs(atoms, pot, settings, args.out, runs=args.runs, progress=None)
    wall = time.time() - t0
    ds = thermal_conductivity(args.out, args.out / "kappa.nc")
    s = kappa_summary(ds)

    def star(v: float) -> float:
        return lj_reduced(v, eps, SIGMA, MASS)

    rows = {
        "cepstral": (star(s["kappa_cepstral"]), star(s["kappa_cepstral_err"])),
        "running integral": (star(s["kappa_gk"]), star(s["kappa_gk_err"])),
        "  conduction (virial-virial)": (star(s["kappa_conduction_gk"]), star(s["kappa_conduction_gk_err"])),
        "  convection (convective-convective)": (star(s["kappa_convection_gk"]), star(s["kappa_convection_gk_err"])),
        "  cross (2 x convective-virial)": (star(s["kappa_cross_gk"]), star(s["kappa_cross_gk_err"])),
    }
    mean_t = float(np.mean(ds.attrs["mean_temperature_K"]))
    print(
        f"LJ fluid rho* = {RHO}, T* = {TSTAR} (NVE mean T* = {mean_t / EPS_K:.3f}), rc = {RC} sigma, "
        f"{len(atoms)} atoms, {args.runs} runs x {args.tau:g} tau (dt = 0.005 tau = {dt:.3f} fs), {wall:.0f} s"
    )
    for k, (v, e) in rows.items():
        print(f"  kappa* {k:<40s} {v:6.3f} +- {e:.3f}")
    print(
        f"  t_max = {s['t_max_ps']:.3g} ps = {s['t_max_ps'] * 1000 / tau_fs:.2f} tau; cepstral P* = "
        f"{s['cepstral']['n_coefficients']}, per run: "
        + ", ".join(f"{star(v):.3f}" for v in s["kappa_cepstral_per_run"])
    )
    for k, v in REFERENCE.items():
        print(f"  reference {v:5.2f}  {k}")
    out = {
        "state": {"rho_star": RHO, "T_star": TSTAR, "rc_sigma": RC, "shifted": False, "n_atoms": len(atoms)},
        "units": {"epsilon_eV": eps, "sigma_A": SIGMA, "mass_amu": MASS, "tau_fs": tau_fs, "dt_fs": dt},
        "runs": args.runs,
        "tau_per_run": args.tau,
        "wall_seconds": wall,
        "mean_T_star": mean_t / EPS_K,
        "kappa_star": {k.strip(): {"value": v, "error": e} for k, (v, e) in rows.items()},
        "kappa_W_per_mK": s,
        "reference_kappa_star": REFERENCE,
    }
    (args.out / "lj_kappa.json").write_text(json.dumps(out, indent=2, default=float))
    print(f"wrote {args.out / 'lj_kappa.json'}")


if __name__ == "__main__":
    main()
