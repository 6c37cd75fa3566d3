"""The analyses of a study's run are cached: run again, a run whose trajectory and analysis settings are unchanged
is not analysed again.

The key hashes everything that determines the analyses: the trajectory file (size and modification time, so a
resumed or replaced run is analysed anew), its run.json (settings, potential identity and version), the study's
analysis settings (`analyses`, `neutron`, `mobile_species`), the run's protocol, the superionic version and
`ENTRY_FORMAT`, the form of the summary entry (an entry cached in an earlier form is recomputed, never reused).
``analysis/<label>.analysis.json`` holds the key, the summary entry, the warnings the analyses raised (raised again
on reuse, so the summary lists them as before) and the files written; all of them must still exist to be reused.
The lattice stage keeps its per-run record beside it (``<label>.lattice.json``, `lattice_key`): its key adds the
lattice settings, the MD settings, the cell and the stored phonons.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from .. import __version__
from ..results import atomic_text

#: form of a run's summary entry; raised whenever what the entry stores changes (2: a D is stored only when resolved
#: and diffusive, `results.nonnegative_fields`, also for the cage-to-cage D; 3: a mobile ion's plain-MSD D is not
#: diffusive when no ion changed cage, `cage_diffusion.demote_if_caged`, and σ/σ_NE are stored as D is,
#: `conductivity.conductivity_fields`; 4: also when fewer than 10 changed cage, the Haven ratio stored as σ is, and
#: the carrier density and charge of the mobile species, for σ(300 K) of the cage-to-cage Arrhenius fit; 5: a species
#: with atoms bound to a non-diffusing centre, e.g. S of PS4, is not diffusive, `bound_atoms.check_bound`; 6: no
#: cage-to-cage D without a cage change, and the ions counted, for the cage-change rate `rate_arrhenius`; 7: the
#: argyrodite cages are oriented by the anions, not by P alone, `hopping.argyrodite_sites`)
ENTRY_FORMAT = 7


def analysis_key(cfg, run) -> str:
    """SHA-256 (hex, 16) of what determines a run's analyses (see module doc)."""
    traj = Path(run.path)
    st = traj.stat()
    info = traj.parent / "run.json"
    what = {
        "trajectory": [st.st_size, st.st_mtime_ns],
        "run_json": hashlib.sha256(info.read_bytes()).hexdigest() if info.exists() else None,
        "protocol": run.protocol,
        "analyses": sorted(cfg.analyses),
        "neutron": cfg.neutron.model_dump(),
        "mobile": cfg.mobile_species,
        "superionic": __version__,
        "entry_format": ENTRY_FORMAT,
    }
    return hashlib.sha256(json.dumps(what, sort_keys=True, default=str).encode()).hexdigest()[:16]


def lattice_key(cfg, run, phonons: Path | None) -> str:
    """SHA-256 (hex, 16) of what determines a run's lattice items (NMD, INM, C_v energies, κ): `analysis_key` plus
    the lattice and MD settings, material, cell and potential, and the stored phonons file (size, mtime) if used.
    """
    what = {
        "analysis": analysis_key(cfg, run),
        "lattice": cfg.lattice.model_dump(),
        "md": cfg.md.model_dump(),
        "cell": [cfg.material, cfg.supercell, cfg.potential],
        "phonons": [phonons.stat().st_size, phonons.stat().st_mtime_ns] if phonons and phonons.exists() else None,
    }
    return hashlib.sha256(json.dumps(what, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _record(adir: Path, label: str, kind: str = "analysis") -> Path:
    return adir / f"{label}.{kind}.json"


def load_cached(adir: Path, label: str, key: str, kind: str = "analysis") -> dict[str, Any] | None:
    """The cached record ({entry, warnings, files}) when its key matches and its files exist, else None.

    The reused files are touched, so that the study's clean-up of stale outputs keeps them.
    """
    path = _record(adir, label, kind)
    try:
        rec = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    files = [adir / f for f in rec.get("files", [])]
    if rec.get("key") != key or not all(f.exists() for f in files):
        return None
    for f in [*files, path]:
        os.utime(f)
    return rec


def store(
    adir: Path,
    label: str,
    key: str,
    entry: dict,
    notes: list,
    since_ns: int = 0,
    kind: str = "analysis",
    files: list[str] | None = None,
) -> None:
    """Record a run's analyses: its entry, warnings and `files` (names in `adir`; default: the files of `label`
    written since `since_ns`).
    """
    if files is None:
        files = sorted(
            p.name
            for p in adir.iterdir()
            if p.name.startswith(f"{label}_") and p.is_file() and p.stat().st_mtime_ns >= since_ns
        )
    rec = {"key": key, "entry": entry, "warnings": notes, "files": files}
    atomic_text(_record(adir, label, kind), json.dumps(rec, indent=1, default=str))
