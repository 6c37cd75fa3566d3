"""Resumable labelling: one expensive teacher call per configuration, each kept the moment it is done.

A `LabelStore` is a folder with ``teacher.json`` (the teacher's identity and settings key) and one
extxyz file per labelled configuration, named by its `config_id` and written atomically. A killed
labelling therefore loses at most the calculation in flight, and a restarted one skips what is done.
Labels made with other teacher settings are refused, never mixed. `StoredCalculator` puts the same store
behind an ASE calculator, so that relaxations and finite-displacement phonons with a DFT teacher resume too.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator, all_changes

from ...errors import InputError
from ...results import atomic_write
from ..dft import TeacherFailed
from .sampling import label


def config_id(atoms: Atoms) -> str:
    """16-hex identity of a configuration (species, cell and positions to 1e-5 Å)."""
    h = hashlib.sha256()
    h.update(np.asarray(atoms.numbers, dtype=np.int64).tobytes())
    h.update(np.round(np.asarray(atoms.cell), 5).tobytes())
    h.update(np.round(atoms.get_positions(), 5).tobytes())
    return h.hexdigest()[:16]


def teacher_identity(spec: Any) -> dict[str, Any]:
    """The identity a label store records for a registered potential: its `identity()` plus `key` and `label`
    (a DFT teacher's settings hash and short name; another potential's name).
    """
    settings = spec.options.get("settings")
    identity = dict(spec.identity())
    if settings is not None:
        identity.update(key=settings.key(), label=settings.label())
    else:
        identity.setdefault("key", spec.name)
    return identity


class LabelStore:
    """A folder of configurations labelled by one teacher (see the module docstring)."""

    def __init__(self, folder: str | Path, teacher: dict[str, Any]):
        self.folder = Path(folder)
        self.teacher = teacher
        meta = self.folder / "teacher.json"
        if meta.exists():
            stored = json.loads(meta.read_text())
            if stored.get("key") != teacher.get("key"):
                raise InputError(
                    f"{self.folder} holds labels of another teacher setting (key {stored.get('key')}, "
                    f"{stored.get('label', '?')}); this teacher is {teacher.get('key')} ({teacher.get('label', '?')}). "
                    "Use another folder: labels of different settings are never mixed"
                )
        else:
            self.folder.mkdir(parents=True, exist_ok=True)
            text = json.dumps(teacher, indent=2, default=str)
            atomic_write(meta, lambda tmp: tmp.write_text(text), durable=True)

    def _path(self, cid: str) -> Path:
        return self.folder / f"{cid}.extxyz"

    def done(self) -> set[str]:
        """Configuration ids already labelled."""
        return {p.stem for p in self.folder.glob("*.extxyz")}

    def get(self, cid: str) -> Atoms:
        """The stored label of configuration `cid` (energy, forces and stress as written)."""
        import ase.io

        return ase.io.read(self._path(cid), format="extxyz")

    def failed(self) -> dict[str, str]:
        """Configuration ids the teacher could not label, with the reason (not retried)."""
        path = self.folder / "failed.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def add_failure(self, cid: str, reason: str) -> None:
        """Record that the teacher gave no label for configuration `cid`."""
        text = json.dumps({**self.failed(), cid: reason}, indent=2)
        atomic_write(self.folder / "failed.json", lambda tmp: tmp.write_text(text), durable=True)

    def add(self, atoms: Atoms) -> None:
        """Store one labelled configuration (atomically, fsynced)."""
        import ase.io

        atomic_write(
            self._path(atoms.info["config_id"]), lambda tmp: ase.io.write(tmp, atoms, format="extxyz"), durable=True
        )

    def frames(self) -> list[Atoms]:
        """Every labelled configuration, in the order they were labelled."""
        import ase.io

        out = []
        for p in self.folder.glob("*.extxyz"):
            a = ase.io.read(p, format="extxyz")
            out.append(a)
        out.sort(key=lambda a: float(a.info.get("labelled_at", 0.0)))
        return out

    def __len__(self) -> int:
        return len(self.done())


def label_configurations(
    configs: Sequence[Atoms],
    calculator_factory: Callable[[], Any],
    store: LabelStore,
    *,
    log: Callable[[str], None] = print,
) -> list[Atoms]:
    """Label every configuration not yet in `store` with the teacher; returns the new labelled frames.

    The calculator is built once and reused (a DFT code starts each SCF from the previous
    wavefunction) and closed at the end (`close()`, if it has one). Each frame's info gets `config_id`,
    `teacher_key`, `teacher_seconds` and `labelled_at` (Unix time) besides what the config carried.
    """
    done = store.done() | set(store.failed())
    todo = [(config_id(a), a) for a in configs]
    todo = [(cid, a) for cid, a in todo if cid not in done]
    if not todo:
        log(f"all {len(configs)} configurations are already labelled in {store.folder}")
        return []
    calc = calculator_factory()
    out = []
    t_all = time.perf_counter()
    try:
        for k, (cid, a) in enumerate(todo):
            t0 = time.perf_counter()
            info = {key: v for key, v in a.info.items() if isinstance(v, (str, int, float, bool))}
            try:
                lab = label(a, calc, **info)
            except TeacherFailed as err:
                store.add_failure(cid, str(err))
                log(f"no label for configuration {cid}: {err}")
                continue
            dt = time.perf_counter() - t0
            lab.info.update(
                config_id=cid, teacher_key=store.teacher.get("key", ""), teacher_seconds=dt, labelled_at=time.time()
            )
            store.add(lab)
            out.append(lab)
            left = (time.perf_counter() - t_all) / (k + 1) * (len(todo) - k - 1)
            log(
                f"labelled {k + 1}/{len(todo)} ({info.get('source', '?')}, {len(a)} atoms) in {dt:.0f} s; "
                f"about {left / 60:.0f} min left"
            )
    finally:
        close = getattr(calc, "close", None)
        if callable(close):
            close()  # e.g. ends a cp2k_shell process
    return out


class StoredCalculator(Calculator):
    """An expensive calculator (built by `factory` on first need) behind a `LabelStore`.

    A configuration found in the store is read back (energy eV, forces eV/Å, stress eV/Å³ where stored),
    not recomputed; a new one is computed, stored atomically at once (info ``source``, ``config_id``,
    ``teacher_key``, ``teacher_seconds``, ``labelled_at``) and then read back from the store, so a first
    run and a resumed one see the same numbers and a deterministic relaxation replays step by step.
    ``computed`` counts the calculations of this object; `close()` ends the inner calculator.
    """

    implemented_properties = ["energy", "forces", "stress"]

    def __init__(
        self,
        store: LabelStore,
        factory: Callable[[], Any],
        source: str = "stored-calculator",
        log: Callable[[str], None] | None = None,
    ):
        super().__init__()
        self.store, self.factory, self.source, self.log = store, factory, source, log
        self.inner: Any = None
        self.computed = 0
        self._cache = {a.info["config_id"]: a for a in store.frames()}

    def calculate(self, atoms: Atoms | None = None, properties: Any = None, system_changes: Any = all_changes) -> None:
        """Results of `atoms` from the store, computing and storing them first if they are new."""
        super().calculate(atoms, properties, system_changes)
        assert self.atoms is not None
        cid = config_id(self.atoms)
        if cid not in self._cache:
            if self.inner is None:
                self.inner = self.factory()
            t0 = time.perf_counter()
            lab = label(self.atoms, self.inner, source=self.source)
            dt = time.perf_counter() - t0
            lab.info.update(
                config_id=cid,
                teacher_key=self.store.teacher.get("key", ""),
                teacher_seconds=dt,
                labelled_at=time.time(),
            )
            self.store.add(lab)
            self._cache[cid] = self.store.get(cid)
            self.computed += 1
            if self.log is not None:
                self.log(f"labelled {cid} ({len(self.atoms)} atoms) in {dt:.0f} s; {len(self._cache)} in the store")
        lab = self._cache[cid]
        self.results = {"energy": lab.get_potential_energy(), "forces": lab.get_forces(apply_constraint=False)}
        try:
            self.results["stress"] = lab.get_stress()
        except Exception:  # a label without stress
            pass

    def close(self) -> None:
        """End the inner calculator (e.g. a cp2k_shell process), if one was started."""
        close = getattr(self.inner, "close", None)
        if callable(close):
            close()
        self.inner = None
