"""One entry point for every MD engine: the potential's registry entry says which engine runs it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ase import Atoms

from ..errors import InputError
from .guards import MDExplodedError

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

    engine: "auto" (the potential's own engine), "ase" (any potential, through its ASE calculator) or
    "lammps" (potentials whose engine is LAMMPS). `calculator` reuses an already built ASE calculator.
    ranks: MPI ranks of a LAMMPS run (use the machine's cores; the ASE engine ignores it).
    """
    if engine not in ENGINES:
        raise InputError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
    engine = spec.engine if engine == "auto" else engine
    if engine == "lammps":
        if spec.engine != "lammps":
            raise InputError(
                f"potential {spec.name!r} runs on the {spec.engine} engine, not LAMMPS; "
                "choose a LAMMPS potential (superionic potentials) or --engine ase"
            )
        from .lammps_engine import run_nvt_lammps

        try:
            return run_nvt_lammps(atoms, spec.name, settings, out_dir, resume=resume, progress=progress, ranks=ranks)
        except Exception as err:
            # the LAMMPS Python module raises plain Exceptions whose text starts with "ERROR"
            if type(err) is Exception and str(err).lstrip().startswith("ERROR"):
                raise MDExplodedError(
                    f"LAMMPS stopped the run in {out_dir}: {str(err).strip()}. Atoms came too close or "
                    "the run went unstable: use a smaller time step or a longer equilibration, or check the "
                    "potential's training range"
                ) from None
            raise
    from .run import run_nvt

    return run_nvt(
        atoms, calculator or spec.make(), settings, out_dir, potential=spec.identity(), resume=resume, progress=progress
    )
