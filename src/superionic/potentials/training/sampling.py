"""Sample labelled configurations from a teacher ASE calculator (or read the user's labelled data).

Teacher MD (Langevin, ASE) over a temperature ladder gives configurations *and* their labels for free:
every MD step already evaluates energy, forces and stress, so every `label_every`-th step is stored
with its labels. Strained and rattled cells add off-equilibrium configurations (single points).
Close contacts (`close_contacts`) push one mobile ion towards a neighbour (of any species, or of one `partner`
species, e.g. another mobile ion) to sample the repulsive wall.
Optionally the teacher MD also writes an H5MD trajectory (positions + velocities) that the validation
compares against (VDOS, RDF, D_Li).

Labels are stored on each Atoms as a SinglePointCalculator: energy eV, forces eV/Å, stress eV/Å³ (Voigt),
so that extxyz files written here are read back with `ase.io.read(..., index=":")`.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np
from ase import Atoms

from ...errors import InputError


def labelled_copy(atoms: Atoms, energy: float, forces: np.ndarray, stress: np.ndarray | None = None, **info) -> Atoms:
    """A bare copy of `atoms` (periodic) labelled with energy (eV), forces (eV/Å), optional stress (eV/Å³)."""
    from ase.calculators.singlepoint import SinglePointCalculator

    a = Atoms(atoms.get_chemical_symbols(), positions=atoms.get_positions(), cell=atoms.cell, pbc=True)
    kw = {"energy": float(energy), "forces": np.array(forces, dtype=float)}
    if stress is not None:
        kw["stress"] = np.array(stress, dtype=float)
    a.calc = SinglePointCalculator(a, **kw)
    a.info.update(info)
    return a


def teacher_calculator(teacher: str, device: str | None = None):
    """The registered potential `teacher` as an ASE calculator, on `device` ('cpu', 'cuda') if given; InputError
    for a teacher without a device option (a classical or DFT teacher).
    """
    from .. import get_potential

    spec = get_potential(teacher)
    if device is None:
        return spec.make()
    if "device" not in inspect.signature(spec.factory).parameters:
        raise InputError(f"the teacher {teacher!r} has no device option (--device {device})")
    return spec.make(device=device)


def label(atoms: Atoms, calculator, **info) -> Atoms:
    """One single-point teacher evaluation; returns a labelled copy."""
    a = atoms.copy()
    a.calc = calculator
    e = a.get_potential_energy()
    f = a.get_forces(apply_constraint=False)  # the teacher's forces, not those an MD constraint adjusts
    try:
        s = a.get_stress()
    except Exception:  # a teacher without stress
        s = None
    return labelled_copy(a, e, f, s, **info)


def teacher_md(
    atoms: Atoms,
    calculator,
    temperature: float,
    steps: int,
    *,
    dt: float = 2.0,
    label_every: int = 25,
    equilibration: int = 200,
    friction: float = 0.01,
    production_friction: float = 0.001,
    seed: int = 0,
    h5md_path: str | Path | None = None,
    h5md_stride: int = 5,
    on_label: Callable[[Atoms], None] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[Atoms]:
    """Langevin MD with the teacher at `temperature` (K); returns labelled snapshots every `label_every` steps.
    progress(steps done, equilibration + steps) after every step.

    If `h5md_path` is given the production part is also written as H5MD (positions, velocities Å/fs)
    every `h5md_stride` steps, for validation against the student. `friction` holds during the `equilibration`
    steps, `production_friction` after them (weak, as in a study's production: a friction of 0.01/fs caps a
    species' D at kT/(mγ), 4.6 × 10⁻⁵ cm²/s for Ag at 600 K, and damps the host's slow motion). Units: dt fs,
    friction 1/fs.
    """
    import ase.units as u
    from ase.md.langevin import Langevin
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution, Stationary

    from ...trajectory.h5md import H5MDWriter

    if temperature <= 0 or steps < 1:
        raise InputError("teacher MD needs temperature > 0 K and steps ≥ 1")
    rng = np.random.default_rng(seed)
    a = atoms.copy()
    a.calc = calculator
    MaxwellBoltzmannDistribution(a, temperature_K=temperature, rng=rng)
    Stationary(a)
    from ase.constraints import FixCom

    a.set_constraint(FixCom())  # the centre of mass stays put (ASE's deprecated fixcm is not used)
    dyn = Langevin(a, dt * u.fs, temperature_K=temperature, friction=friction / u.fs, rng=rng, fixcm=False)
    if progress is not None:
        dyn.attach(lambda: progress(dyn.nsteps, equilibration + steps), interval=1)
    if equilibration:
        dyn.run(equilibration)
    dyn.set_friction(production_friction / u.fs)
    writer = None
    if h5md_path is not None:
        writer = H5MDWriter(
            h5md_path,
            a.get_chemical_symbols(),
            a.get_masses(),
            dt,
            metadata={
                "temperature": temperature,
                "thermostat": "Langevin",
                "friction_per_fs": production_friction,
                "equilibration_friction_per_fs": friction,
                "teacher": True,
            },
        )
    out: list[Atoms] = []
    t0 = time.time()
    try:
        for step in range(steps):
            if writer is not None and step % h5md_stride == 0:
                writer.append(step, a.get_positions(), np.asarray(a.cell), a.get_velocities() * u.fs)
            if step % label_every == 0:
                # results of the last force call belong to the current positions
                res = a.calc.results
                e = res.get("energy", None)
                if e is None or "forces" not in res:
                    snap = label(a, calculator, temperature=temperature, step=step, source="teacher-md")
                else:
                    snap = labelled_copy(
                        a, e, res["forces"], res.get("stress"), temperature=temperature, step=step, source="teacher-md"
                    )
                out.append(snap)
                if on_label:
                    on_label(snap)
            dyn.run(1)
    finally:
        if writer is not None:
            writer.close()
    for s in out:
        s.info["teacher_seconds_per_step"] = (time.time() - t0) / steps
    return out


def strained_rattled(
    atoms: Atoms,
    calculator,
    n: int,
    *,
    max_strain: float = 0.04,
    rattle: Sequence[float] = (0.05, 0.1, 0.15, 0.2),
    seed: int = 0,
) -> list[Atoms]:
    """N single points on randomly strained (|ε| ≤ max_strain, symmetric) and rattled (σ Å) cells."""
    rng = np.random.default_rng(seed)
    out = []
    for k in range(n):
        eps = rng.uniform(-max_strain, max_strain, size=(3, 3))
        eps = 0.5 * (eps + eps.T)
        a = atoms.copy()
        a.set_cell(np.asarray(a.cell) @ (np.eye(3) + eps), scale_atoms=True)
        sigma = float(rattle[k % len(rattle)])
        a.positions += rng.normal(0.0, sigma, size=a.positions.shape)
        out.append(label(a, calculator, source="strain-rattle", strain=eps.tolist(), rattle=sigma))
    return out


def close_contacts(
    frames: Sequence[Atoms],
    calculator,
    n: int,
    *,
    mobile: str = "Li",
    partner: str | None = None,
    shortest: float = 0.7,
    neighbours: int = 3,
    seed: int = 0,
) -> list[Atoms]:
    """N single points in which one mobile ion is pushed towards a neighbour (the repulsive wall).

    For each configuration: a random source frame, a random `mobile` atom i and one of its `neighbours`
    nearest atoms j (of species `partner` if given, else of any species); i moves along j→i until r_ij is
    uniform in [shortest·(R_i + R_j), r_ij] (R: ASE covalent radii, Å). Thermal MD rarely visits these
    distances, but a hot student run does, and a potential that never saw them can pull the two atoms together
    (a collapse). The nearest neighbours of a cation are anions: `partner=mobile` probes the cation–cation wall.
    A move that would bring i below the floor shortest·(R_i + R_k) of any third atom k is drawn again.
    """
    from ase.data import atomic_numbers, covalent_radii

    rng = np.random.default_rng(seed)
    least = 2 if partner == mobile else 1  # the mobile atom itself is not its own partner
    sources = [
        a
        for a in frames
        if mobile in a.get_chemical_symbols() and (partner is None or a.get_chemical_symbols().count(partner) >= least)
    ]
    if not sources:
        raise InputError(f"no source configuration contains {mobile}" + (f" and {partner}" if partner else ""))
    out = []
    for _ in range(1000 * n):
        if len(out) == n:
            break
        a = sources[int(rng.integers(len(sources)))].copy()
        sym = a.get_chemical_symbols()
        radii = covalent_radii[[atomic_numbers[x] for x in sym]]
        i = int(rng.choice([k for k, s in enumerate(sym) if s == mobile]))
        d = a.get_distances(i, range(len(a)), mic=True, vector=True)  # r_j − r_i
        r = np.linalg.norm(d, axis=1)
        r[i] = np.inf
        candidates = r.copy()
        if partner is not None:
            candidates[[k for k, s in enumerate(sym) if s != partner]] = np.inf
        j = int(rng.choice(np.argsort(candidates)[: min(neighbours, int(np.isfinite(candidates).sum()))]))
        floor = shortest * (radii[i] + radii)
        if r[j] <= floor[j]:
            continue
        target = rng.uniform(floor[j], r[j])
        shift = d[j] / r[j] * (r[j] - target)
        after = np.linalg.norm(d - shift, axis=1)  # every r_k − r_i once i has moved
        after[[i, j]] = np.inf
        if np.any(after < floor):  # on its way to j, i would land on another atom: not the contact meant
            continue
        a.positions[i] += shift
        out.append(label(a, calculator, source="close-contact", pair=f"{sym[i]}-{sym[j]}", distance=float(target)))
    if len(out) < n:
        raise InputError(f"found only {len(out)} of {n} close contacts of {mobile} without landing on a third atom")
    return out


def read_labelled(paths: str | Path | Iterable[str | Path]) -> list[Atoms]:
    """Read the user's labelled data (extxyz, vasprun.xml, OUTCAR … anything ASE reads with energies+forces).

    Every configuration must carry a potential energy (eV) and forces (eV/Å); stress is optional. The frame's
    own info (e.g. `source`, `temperature`) is kept; `file` and `frame` say where it was read from.
    """
    import ase.io

    if isinstance(paths, (str, Path)):
        paths = [paths]
    frames: list[Atoms] = []
    for p in paths:
        p = Path(p)
        if not p.exists():
            raise InputError(f"training data file {p} does not exist")
        try:
            images = ase.io.read(p, index=":")
        except Exception as err:
            raise InputError(
                f"cannot read {p} as a labelled structure file ({err}); use extxyz with "
                "energy and forces, or vasprun.xml"
            ) from err
        for i, a in enumerate(images):
            if a.calc is None:
                raise InputError(f"{p} frame {i} has no energy/forces; labelled data need both")
            try:
                e = a.get_potential_energy()
                f = a.get_forces()
            except Exception as err:
                raise InputError(f"{p} frame {i} lacks energy or forces ({err})") from err
            try:
                s = a.get_stress()
            except Exception:
                s = None
            # the frame's own metadata (its source, temperature, config_id …) is kept; where it came from is added
            frames.append(labelled_copy(a, e, f, s, **{"source": str(p), **a.info, "file": str(p), "frame": i}))
    if not frames:
        raise InputError("no labelled configurations were read")
    return frames
