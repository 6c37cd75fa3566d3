"""One entry point for every MD engine: the potential's registry entry says which engine runs it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ase import Atoms

from ..errors import InputError

ENGINES = ("auto", "ase", "lammps")


def run_md(
    atoms: Atoms,
    spec,
    settings,
    out_dir: str | Path,
    *,
    engine: str = "auto",
    resume: bool = False,
    progress: Callable[[int, int, float], None] | None = None,
    calculator=None,
    ranks: int = 1,
) -> Path:
    """Run one MD (settings: MDSettings) with a registered potential `spec` on its engine; returns trajectory.h5.

    spec: a registry entry (`potentials.get_potential`), or a `LammpsPotential` itself (e.g. one just fitted,
    not registered), which runs on the LAMMPS engine. engine: "auto" (the potential's own engine), "ase" (any
    registered potential, through its ASE calculator) or "lammps" (potentials whose engine is LAMMPS).
    `calculator` reuses an already built ASE calculator. ranks: MPI ranks of a LAMMPS run (use the machine's
    cores; the ASE engine ignores it). A run that a guard stops, or that LAMMPS stops with an error, raises
    MDExplodedError on either engine.
    """
    from ..potentials.lammps_potentials import LammpsPotential

    if engine not in ENGINES:
        raise InputError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    bare = isinstance(spec, LammpsPotential)  # not a registry entry: its engine is LAMMPS
    own_engine = "lammps" if bare else spec.engine
    engine = own_engine if engine == "auto" else engine
    if engine == "lammps":
        if own_engine != "lammps":
            raise InputError(
                f"potential {spec.name!r} runs on the {spec.engine} engine, not LAMMPS; "
                "choose a LAMMPS potential (superionic potentials) or --engine ase"
            )
        from .lammps_engine import lammps_stopped, run_nvt_lammps

        try:
            return run_nvt_lammps(
                atoms, spec if bare else spec.name, settings, out_dir, resume=resume, progress=progress, ranks=ranks
            )
        except Exception as err:
            # the LAMMPS Python module raises plain Exceptions whose text starts with "ERROR" (the engine turns
            # those of the integration into MDExplodedError itself; this catches the set-up's)
            exploded = lammps_stopped(err, out_dir)
            if exploded is None:
                raise
            raise exploded from None
    if bare:
        raise InputError(f"the LAMMPS potential {spec.name!r} runs on the LAMMPS engine only, not {engine!r}")
    from .run import run_nvt

    return run_nvt(
        atoms, calculator or spec.make(), settings, out_dir, potential=spec.identity(), resume=resume, progress=progress
    )
