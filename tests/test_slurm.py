"""A study on a real SLURM cluster (`executor: slurm`). Its own file: the tests of test_execution.py hold a local
Parsl session for their whole module, and Parsl loads one configuration at a time.

Opt-in, since it submits jobs to the default partition: set SUPERIONIC_TEST_SLURM=1. `scripts/slurm_local_cluster.sh
start DIR 2` makes a two-node cluster on this machine (CI does both); without a cluster that answers, the tests are
skipped and say why.
"""

import json
import os
import shutil
import subprocess

import numpy as np
import pytest
from test_execution import LABELS, TINY

from superionic.workflow import StudyConfig


def _slurm_cluster(nodes: int = 1) -> str | None:
    """Why no SLURM cluster of at least `nodes` idle nodes is to be used here (None: one is)."""
    if os.environ.get("SUPERIONIC_TEST_SLURM") != "1":
        return "SUPERIONIC_TEST_SLURM is not 1 (the test submits a job)"
    if shutil.which("sbatch") is None:
        return "no sbatch on PATH"
    res = subprocess.run(["sinfo", "-h", "-N", "-o", "%T"], capture_output=True, text=True, timeout=30)
    if res.returncode != 0 or not res.stdout.strip():
        return f"sinfo finds no cluster ({res.stderr.strip()[:120]})"
    idle = res.stdout.split().count("idle")
    if idle < nodes:
        return f"the cluster has {idle} idle node(s), the test needs {nodes}"
    return None


def test_a_study_runs_in_slurm_jobs(tmp_path):
    """The tiny study of test_execution.py with `executor: slurm`: Parsl submits a job with sbatch, its workers make
    the same runs as the serial path, and the study's summary lists them."""
    why = _slurm_cluster()
    if why:
        pytest.skip(f"{why}: start one with scripts/slurm_local_cluster.sh")
    from superionic.trajectory import read_trajectory
    from superionic.workflow.study import run_md_stage, run_study

    serial = run_md_stage(StudyConfig(**TINY), tmp_path / "serial", failed=[])
    cfg = StudyConfig(**TINY, execution={"executor": "slurm", "workers": 2, "slurm": {"walltime": "00:10:00"}})
    run_study(cfg, tmp_path / "slurm")
    summary = json.loads((tmp_path / "slurm" / "summary.json").read_text())
    assert sorted(k for k in summary["results"] if k != "series") == LABELS and not summary.get("failed_runs")
    scripts = sorted((tmp_path / "slurm" / "runinfo").glob("*/submit_scripts/parsl.*"))
    assert any(p.name.endswith(".stdout") for p in scripts)  # written by SLURM: the job ran
    assert any("#SBATCH" in p.read_text() for p in scripts)  # the job script Parsl gave sbatch
    for a in serial:
        b = tmp_path / "slurm" / "md" / a.label / "trajectory.h5"
        ta, tb = read_trajectory(a.path), read_trajectory(b)
        assert ta.n_frames == tb.n_frames and np.allclose(ta.positions, tb.positions)


def test_one_job_spreads_the_runs_over_two_nodes(tmp_path):
    """`nodes_per_block: 2`: one sbatch job of two nodes, srun starts a worker pool on each, and the runs record the
    job and the node they ran on (run.json "ran_on"): both nodes, one job."""
    why = _slurm_cluster(nodes=2)
    if why:
        pytest.skip(f"{why}: start one with scripts/slurm_local_cluster.sh start DIR 2")
    from superionic.workflow.study import run_study

    slurm = {"walltime": "00:10:00", "nodes_per_block": 2}
    run_study(StudyConfig(**TINY, execution={"executor": "slurm", "workers": 1, "slurm": slurm}), tmp_path)
    where = [json.loads((tmp_path / "md" / label / "run.json").read_text())["ran_on"] for label in LABELS]
    assert len({w["slurm_job"] for w in where}) == 1
    assert len({w["slurm_node"] for w in where}) == 2, where
