"""`superionic phonons`: the harmonic reference of a structure with a registered potential (phonopy)."""

from __future__ import annotations

import math
from pathlib import Path

import typer

from .. import units
from ..errors import InputError
from .app import app
from .common import OVERWRITE_HELP, check_outputs, positive, print_json


def _supercell(text: str) -> tuple[str | tuple[int, int, int], float | None]:
    """'auto' → ('auto', None); '12A' → ('auto', 12.0); '2' → (2, 2, 2); '2,2,1' or '2x2x1' → (2, 2, 1)."""
    s = text.strip().lower()
    if s == "auto":
        return "auto", None
    if s.endswith("a"):
        try:
            length = float(s[:-1])
        except ValueError:
            length = float("nan")
        if not (math.isfinite(length) and length > 0):
            raise InputError(f"--supercell by size looks like 12A (minimum width in Å), got {text!r}")
        return "auto", length
    parts = s.replace("x", ",").split(",")
    try:
        n = [int(p) for p in parts]
    except ValueError:
        n = []
    if len(n) == 1:
        n = n * 3
    if len(n) != 3 or min(n) < 1:
        raise InputError(f"--supercell takes auto, a width like 12A, n or n1,n2,n3 (positive integers); got {text!r}")
    return (n[0], n[1], n[2]), None


def _mesh(text: str) -> float | tuple[int, int, int]:
    """'60' → a length in Å (phonopy's rule); '8,8,8' or '8x8x8' → the mesh itself."""
    parts = text.strip().lower().replace("x", ",").split(",")
    try:
        if len(parts) == 1:
            length = float(parts[0])
            if math.isfinite(length) and length > 0:
                return length
        elif len(parts) == 3:
            n = tuple(int(p) for p in parts)
            if min(n) >= 1:
                return n[0], n[1], n[2]
    except ValueError:
        pass
    raise InputError(f"--mesh takes a length in Å (60) or three positive integers (8,8,8); got {text!r}")


def _progress():
    def report(i: int, n: int, seconds: float) -> None:
        if i == 1 or i == n or i % max(1, n // 10) == 0:
            typer.echo(f"  displacement {i}/{n} done ({seconds:.1f} s)", err=True)

    return report


def _relax_and_displace(
    atoms, calc, *, relax, relax_cell, rattle, seed, keep_symmetry, fmax, optimizer, log, **phonon_kw
):
    """Relax (optionally) and run the finite displacements; returns (HarmonicResult, structure, relax record)."""
    from ..lattice import harmonic_phonons
    from ..lattice import relax as relax_atoms

    relax_info: dict = {"relaxed": relax}
    if relax:
        start = atoms.copy()
        if rattle > 0:
            start.rattle(rattle, seed=seed)
        if keep_symmetry:
            from ase.constraints import FixSymmetry

            start.set_constraint(FixSymmetry(start, symprec=phonon_kw["symprec"]))
        log(
            f"relaxing {'positions and cell' if relax_cell else 'positions'} of {len(atoms)} atoms to |F| < {fmax:g} eV/Å …"
        )
        atoms, residual = relax_atoms(start, calc, fmax=fmax, cell=relax_cell, optimizer=optimizer.upper())
        atoms.set_constraint()
        relax_info.update(
            cell=relax_cell,
            rattle_A=rattle,
            seed=seed if rattle > 0 else None,
            keep_symmetry=keep_symmetry,
            steps=atoms.info["relax_steps"],
            converged=atoms.info["relax_converged"],
            max_force_eV_per_A=residual,
        )
        if not atoms.info["relax_converged"]:
            typer.echo(
                f"warning: the relaxation stopped after {atoms.info['relax_steps']} steps at max |F| = "
                f"{residual:.2g} eV/Å (target {fmax:g} eV/Å); the phonons are taken about this structure "
                "(a looser --fmax accepts it; or give a relaxed structure with --no-relax)",
                err=True,
            )
    return harmonic_phonons(atoms, calc, **phonon_kw), atoms, relax_info


def _fmt_mode(m: dict) -> str:
    q = ", ".join(f"{x:.3g}" for x in m["q"])
    return f"{m['where']:>5}  q = ({q})  band {m['band']}: {m['frequency_THz']:.3f} THz ({m['frequency_meV']:.2f} meV)"


@app.command("phonons")
def phonons_cmd(
    material: str = typer.Argument(
        ...,
        help="A library material (Li6PS5Cl, Li3PS4, …; parameters as Li6PS5Cl:li=random,seed=1) or a structure "
        "file (CIF, POSCAR, extxyz …), taken as the unit cell.",
    ),
    potential: str = typer.Option(
        "chgnet",
        "--potential",
        help="Registered potential (see `superionic potentials`), a LAMMPS potential's .lammps.json written by "
        "`superionic train-potential`, or a CHGNet/SevenNet model file.",
    ),
    supercell: str = typer.Option(
        "auto",
        "--supercell",
        help="Supercell of the unit cell for the finite displacements: auto (each width ≥ 10 Å), a width "
        "like 12A, n, or n1,n2,n3.",
    ),
    displacement: float = typer.Option(0.01, "--displacement", help="Displacement amplitude in Å."),
    forward: bool = typer.Option(
        False,
        "--forward",
        help="Forward differences (+u only): half the displaced supercells of a low-symmetry cell, for an expensive "
        "potential; the error grows linearly with u (Li6PS5Cl with li6ps5cl-snap, u = 0.01 Å: ≤ 0.21 THz, "
        "0.03 THz RMS against central differences; docs/phonons.md).",
    ),
    relax: bool = typer.Option(
        True, "--relax/--no-relax", help="Relax the atomic positions first (the harmonic expansion needs a minimum)."
    ),
    relax_cell: bool = typer.Option(
        False, "--relax-cell", help="Relax the lattice vectors too (default: keep the cell, as MD at that volume)."
    ),
    fmax: float = typer.Option(1e-3, "--fmax", help="Relaxation target: max |F| in eV/Å."),
    optimizer: str = typer.Option(
        "FIRE",
        "--optimizer",
        help="FIRE (robust from far away) or BFGS (fewer force calls near a minimum: for DFT; Li6PS5Cl with "
        "cp2k-pbe-d3 from the li6ps5cl-snap minimum: 15 steps to 0.05 eV/Å).",
    ),
    rattle: float = typer.Option(
        0.0,
        "--rattle",
        help="Displace the atoms randomly by this much (Å, Gaussian σ) before relaxing: a relaxation that starts "
        "on a high-symmetry saddle can then fall into a minimum of lower symmetry.",
    ),
    seed: int = typer.Option(0, "--seed", help="Random seed of --rattle."),
    keep_symmetry: bool = typer.Option(
        False,
        "--keep-symmetry",
        help="Keep the space group while relaxing (ASE's FixSymmetry): a relaxation that drifts off a symmetric "
        "structure by 1e-5 Å otherwise needs many more displaced supercells (Li6PS5Cl's 52-atom cell: 82 "
        "instead of 312).",
    ),
    labels: Path | None = typer.Option(
        None,
        "--labels",
        help="Keep every energy/force evaluation in this label folder (one extxyz per configuration, as "
        "`train-potential --teacher dft`): for an expensive potential such as cp2k-pbe-d3, a killed run "
        "replays what it has and continues, and the labels can join the training data.",
    ),
    mesh: str = typer.Option("60", "--mesh", help="q mesh for DOS and thermal properties: a length in Å or n1,n2,n3."),
    sigma: float = typer.Option(0.1, "--sigma", help="Gaussian smearing of the DOS in THz (0.1 THz = 0.41 meV)."),
    threshold: float = typer.Option(
        0.05, "--threshold", help="A mode with ν < −threshold (THz) is reported as imaginary (unstable)."
    ),
    symprec: float = typer.Option(1e-5, "--symprec", help="Symmetry tolerance in Å (phonopy)."),
    t_max: float = typer.Option(1000.0, "--t-max", help="Highest temperature (K) of the thermal properties."),
    t_step: float = typer.Option(10.0, "--t-step", help="Temperature step (K) of the thermal properties."),
    vdos: Path | None = typer.Option(
        None,
        "--vdos",
        help="An MD VDOS netCDF file (`superionic analyze vdos --out`): --plot then draws the harmonic DOS beside it.",
    ),
    out: Path = typer.Option(Path("phonons.nc"), "--out", "-o", help="netCDF file of the results."),
    plot: Path | None = typer.Option(None, "--plot", help="Figure file (png, pdf, svg): dispersion and DOS."),
    overwrite: bool = typer.Option(False, "--overwrite", help=OVERWRITE_HELP),
    as_json: bool = typer.Option(False, "--json", help="Print a machine-readable summary on stdout."),
) -> None:
    """Harmonic phonons with phonopy: relax, finite displacements in a supercell, force constants, dispersion
    along the standard path, DOS and partial DOS (∫g dν = 3N per primitive cell), harmonic C_v, S, F(T).
    Imaginary modes (ν < −threshold) are listed with q, frequency and eigenvector; the structure is then
    reported UNSTABLE (exit status 0: it is a result, not an error).
    """
    import numpy as np

    from ..lattice import harmonic_dataset
    from ..materials import build_material
    from ..potentials import get_potential
    from ..results import save_dataset, save_figure

    positive(displacement, "--displacement", "Å")
    positive(fmax, "--fmax", "eV/Å")
    positive(sigma, "--sigma", "THz")
    positive(symprec, "--symprec", "Å")
    positive(t_max, "--t-max", "K")
    positive(t_step, "--t-step", "K")
    if not (math.isfinite(threshold) and threshold >= 0):
        raise InputError(f"--threshold must be ≥ 0 THz, got {threshold:g}")
    if not (math.isfinite(rattle) and rattle >= 0):
        raise InputError(f"--rattle must be ≥ 0 Å, got {rattle:g}")
    if displacement >= 0.5:
        raise InputError(f"--displacement must be below 0.5 Å, got {displacement:g}")
    if optimizer.upper() not in ("FIRE", "BFGS"):
        raise InputError(f"--optimizer must be FIRE or BFGS, got {optimizer!r}")
    if relax_cell and not relax:
        raise InputError("--relax-cell relaxes the structure, --no-relax keeps it: give one of them")
    sc, min_length = _supercell(supercell)
    q_mesh = _mesh(mesh)
    inputs = [Path(material.split(":", 1)[0]), vdos]
    check_outputs([("--out", out, "netcdf"), ("--plot", plot, "plot")], [p for p in inputs if p], overwrite)
    md_vdos = None
    if vdos is not None:
        import xarray as xr

        if not vdos.is_file():
            raise InputError(f"--vdos {vdos}: file not found; give the file of `superionic analyze vdos --out`")
        try:
            md_vdos = xr.load_dataset(vdos)
        except Exception as err:
            raise InputError(
                f"--vdos {vdos}: not a readable netCDF file ({err}); give the file of `superionic analyze vdos --out`"
            ) from None
        if "g" not in md_vdos or "species" not in md_vdos.dims or "frequency" not in md_vdos.dims:
            raise InputError(f"--vdos {vdos} is not a VDOS file of `superionic analyze vdos` (no g per species)")

    spec = get_potential(potential)
    atoms = build_material(material)
    if labels is not None:
        from ..potentials.training.labelling import LabelStore, StoredCalculator, teacher_identity

        store = LabelStore(labels, teacher_identity(spec))
        calc = StoredCalculator(store, spec.make, source="phonons")
        typer.echo(f"evaluations kept in {labels} ({len(store)} there already)", err=True)
    else:
        calc = spec.make()
    try:
        result, atoms, relax_info = _relax_and_displace(
            atoms,
            calc,
            relax=relax,
            relax_cell=relax_cell,
            rattle=rattle,
            seed=seed,
            keep_symmetry=keep_symmetry,
            fmax=fmax,
            optimizer=optimizer,
            log=(lambda text: typer.echo(text, err=True)) if as_json else typer.echo,
            supercell=sc,
            displacement=displacement,
            symprec=symprec,
            mesh=q_mesh,
            temperatures=np.arange(0.0, t_max + 0.5 * t_step, t_step),
            dos_sigma=sigma,
            threshold=threshold,
            progress=_progress(),
            plusminus=False if forward else "auto",
            **({"min_length": min_length} if min_length is not None else {}),
        )
    finally:
        if labels is not None:
            calc.close()
    ds = harmonic_dataset(result)
    ds.attrs.update(
        material=str(atoms.info.get("material", material)),
        potential=spec.identity(),
        relax=relax_info,
    )
    save_dataset(ds, out)
    if plot is not None:
        fig = _figure(ds, md_vdos)
        save_figure(fig, plot)
    summary = result.summary()
    summary.update(
        material=str(atoms.info.get("material", material)),
        potential=spec.identity(),
        relax=relax_info,
        out=str(out),
        plot=None if plot is None else str(plot),
    )
    if as_json:
        print_json(summary)
        return
    _print(summary, result)
    for p in (out, plot):
        if p is not None:
            typer.echo(f"wrote {p}")


def _figure(ds, md_vdos):
    """Dispersion and DOS; with an MD VDOS, a second row with the harmonic DOS beside it per species."""
    from matplotlib.figure import Figure

    from ..report.figures_lattice import dispersion_dos_figure, harmonic_vs_md_figure

    if md_vdos is None:
        return dispersion_dos_figure(ds)
    species = [str(s) for s in ds.species.values if s in list(md_vdos.species.values)]
    n = max(len(species), 1)
    fig = Figure(figsize=(max(8.0, 3.2 * n), 7.2), layout="constrained")
    top, bottom = fig.subfigures(2, 1)
    dispersion_dos_figure(ds, axes=top.subplots(1, 2, gridspec_kw={"width_ratios": [3, 1]}, sharey=True))
    harmonic_vs_md_figure(ds, md_vdos, species=species or None, axes=bottom.subplots(1, n, squeeze=False)[0])
    return fig


def _print(s: dict, result) -> None:
    import numpy as np

    sc = "×".join(str(int(x)) for x in np.diag(np.array(s["supercell_matrix"])))
    typer.echo(
        f"{s['material']} ({s['formula']}, Z = {result.formula_units} per primitive cell, {s['spacegroup']}, "
        f"{s['atoms_unit_cell']} atoms; primitive {s['atoms_primitive']}) with {s['potential']['name']}"
    )
    r = s["relax"]
    if r["relaxed"]:
        typer.echo(
            f"relaxed {'positions and cell' if r['cell'] else 'positions'} in {r['steps']} steps: max |F| = "
            f"{r['max_force_eV_per_A']:.2g} eV/Å"
            + (f" (rattled by {r['rattle_A']:g} Å first)" if r["rattle_A"] else "")
        )
    typer.echo(
        f"supercell {sc} ({s['atoms_supercell']} atoms), {s['n_displacements']} displacements of "
        f"{s['displacement_A']:g} Å, {s['seconds']:.1f} s"
    )
    g = np.array(s["gamma_frequencies_THz"])
    typer.echo(
        f"Γ: {g.size} modes from {g.min():.3f} to {g.max():.3f} THz ({g.min() * units.THZ_TO_MEV:.2f} … "
        f"{g.max() * units.THZ_TO_MEV:.2f} meV); highest on the path {s['max_frequency_THz']:.3f} THz"
    )
    typer.echo(
        f"DOS: ∫g dν = {s['dos_integral']:.4g} (3N = {s['dos_integral_expected']}), mesh "
        f"{'×'.join(map(str, s['mesh']))}, Gaussian σ = {s['dos_sigma_THz']:g} THz; path {s['band_path']}"
    )
    if s["stable"]:
        typer.echo(f"stable: no mode below −{s['threshold_THz']:g} THz at Γ, on the mesh or along the path")
    else:
        typer.echo(
            f"UNSTABLE: {s['n_imaginary_modes']} modes with ν < −{s['threshold_THz']:g} THz (imaginary; q, "
            "frequency and eigenvector of each in the netCDF file):"
        )
        for where, b in s["imaginary_by_source"].items():
            q = ", ".join(f"{x:.3g}" for x in b["lowest_q"])
            typer.echo(
                f"  {where:>5}: {b['n_modes']} modes at {b['n_q']} q-points, lowest {b['lowest_THz']:.3f} THz "
                f"({b['lowest_THz'] * units.THZ_TO_MEV:.2f} meV) at q = ({q})"
            )
        typer.echo("  listed (Γ first, then the lowest mode of each q):")
        for m in s["imaginary_modes"][:12]:
            typer.echo("    " + _fmt_mode(m))
    for T, v in s["thermal"].items():
        typer.echo(
            f"harmonic at {T}: C_v = {v['cv_kB_per_atom']:.3f} k_B/atom ({v['cv_J_per_K_mol_fu']:.1f} J/K/mol per "
            f"{s['formula']}), S = {v['s_kB_per_atom']:.3f} k_B/atom, F = {1e3 * v['f_eV_per_atom']:.1f} meV/atom"
        )
    for note in s["notes"]:
        typer.echo(f"note: {note}")
