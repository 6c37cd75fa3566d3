"""Re-analyse a finished study on the first part of every run (run-length convergence).

Usage: python3 scripts/truncated_study.py STUDY.yaml STUDY_OUTPUT FRACTION OUT

Writes the first FRACTION of every trajectory of STUDY_OUTPUT/md/* to OUT/md/*, analyses them with the
study's settings (`run_analysis_stage`) and writes OUT/summary.json with the seed-claims table, so
`scripts/reproduction_table.py OUT/summary.json` compares it with the full-length study.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from superionic.results import write_json
from superionic.trajectory import read_trajectory, write_h5md
from superionic.workflow.config import load_config
from superionic.workflow.findings import findings
from superionic.workflow.study import Run, _label, run_analysis_stage


def main(study: str, source: str, fraction: str, out: str) -> None:
    cfg = load_config(study)
    src, dst, frac = Path(source), Path(out), float(fraction)
    scan = cfg.stiffness_scan()
    runs = []
    for temp in cfg.temperatures:
        for protocol in cfg.protocols:
            for k in scan if protocol == "tethered" and scan else [None]:
                label = _label(temp, protocol, k)
                traj_path = src / "md" / label / "trajectory.h5"
                if not traj_path.exists():
                    continue
                traj = read_trajectory(traj_path)
                (dst / "md" / label).mkdir(parents=True, exist_ok=True)
                write_h5md(dst / "md" / label / "trajectory.h5", traj.select_frames(0, int(frac * traj.n_frames)))
                shutil.copy(src / "md" / label / "run.json", dst / "md" / label / "run.json")
                runs.append(Run(temp, protocol, dst / "md" / label / "trajectory.h5", k))
    results = run_analysis_stage(cfg, runs, dst)
    summary = json.loads((src / "summary.json").read_text())
    summary.update(results=results, findings=findings(results, cfg.mobile_species))
    summary["config"]["md"]["steps"] = int(frac * cfg.md.steps)
    write_json(dst / "summary.json", summary)
    print(f"wrote {dst / 'summary.json'}")


if __name__ == "__main__":
    main(*sys.argv[1:])
