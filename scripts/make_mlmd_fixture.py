"""Cut the small real-MLMD test fixture tests/data/li6ps5cl_snap_400K_subset.h5 from a finished run.

Usage: python3 scripts/make_mlmd_fixture.py RUN_FOLDER [OUT]

RUN_FOLDER is a free `superionic md`/study run of the 416-atom Li6PS5Cl cell on li6ps5cl-snap (velocities
stored). The fixture keeps every second frame, 16 P, 16 Cl and 16 Li atoms (positions and velocities,
float32), and stores in its metadata the lowest phonon of the full cell (`finite_size.lowest_phonon`,
which needs every host atom) so that tests can use it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from superionic.analysis.finite_size import lowest_phonon
from superionic.trajectory import read_trajectory, write_h5md
from superionic.trajectory.model import Trajectory


def main(run: str, out: str = "tests/data/li6ps5cl_snap_400K_subset.h5") -> None:
    folder = Path(run)
    traj = read_trajectory(folder / "trajectory.h5")
    lp = lowest_phonon(traj)
    keep = np.concatenate([traj.indices(s)[:16] for s in ("P", "Cl", "Li")])
    sub = traj.select_frames(0, None, 2)
    info = json.loads((folder / "run.json").read_text())
    meta = {k: v for k, v in sub.metadata.items() if isinstance(v, (int, float, str))}
    meta.update(
        source=f"{info['potential'].get('name')} {info['potential'].get('version')}, 416-atom Li6PS5Cl, "
        "every 2nd frame, 16 P + 16 Cl + 16 Li",
        lowest_phonon_json=json.dumps({k: v for k, v in lp.items() if isinstance(v, (int, float, str))}),
    )
    small = Trajectory(
        positions=sub.positions[:, keep],
        cells=sub.cells,
        symbols=[sub.symbols[i] for i in keep],
        dt=sub.dt,
        velocities=sub.velocities[:, keep],
        masses=sub.masses[keep],
        metadata=meta,
    )
    write_h5md(out, small)
    print(f"wrote {out}: {small!r}; lowest phonon {lp['nu_min_THz']:.3f} THz")


if __name__ == "__main__":
    main(*sys.argv[1:])
