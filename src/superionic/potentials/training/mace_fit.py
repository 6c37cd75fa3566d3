"""Fitting a MACE potential from scratch to first-principles labels.

MACE (Batatia et al., NeurIPS 2022; the `mace-torch` package) is an equivariant message-passing network: two
interaction layers of radius `r_max` see 2 × r_max, and its many-body basis resolves angles that a SNAP of the
same cutoff does not (docs/finetune.md, the PS4 stretch band). It learns from a few hundred labels where a
linear fit needs thousands; on a CPU a small model runs faster than CHGNet (docs/mace.md: 1.6× at 52 atoms, 3.2× at
416, float32).

This module writes the labels in MACE's format (``REF_energy`` eV, ``REF_forces`` eV/Å, ``REF_stress`` eV/Å³
in ASE's sign convention), runs MACE's own trainer (``python -m mace.cli.run_train``) in a work folder beside the
model, and judges the result on held-out labels with this package's `label_errors` (the same numbers as a
fine-tuned CHGNet's card, so the two compare configuration for configuration). A killed fit resumes from MACE's
last checkpoint in the work folder.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms

from ...errors import InputError

#: per-evaluation callback: (epoch, epochs, validation force RMSE eV/Å)
Progress = Callable[[int, int, float], None]

_EPOCH = re.compile(r"Epoch (\d+):.*RMSE_E_per_atom=\s*([-\d.]+) meV, RMSE_F=\s*([-\d.]+) meV")


@dataclass(frozen=True)
class MaceSettings:
    """Every choice that determines a fitted MACE model (recorded in its card).

    Model: `channels` × (scalars and, for max_l = 1, vectors) per atom, `interactions` layers of cutoff `r_max`
    (Å), body order `correlation` + 1. Loss: MACE's Huber loss (threshold `huber_delta`, eV/Å for forces) of
    energy per atom, forces and stress with their weights; with `swa` the last quarter of the epochs is MACE's
    stage two (squared loss of energy, weight 1000, and forces, weight 100, at a tenth of the learning rate).
    Optimiser: Adam (amsgrad) at `learning_rate`, × 0.8 after 50 evaluations without improvement.
    The model of the best validation loss (evaluated every `eval_interval` epochs) is kept; exponential moving
    average of the weights. `zbl`: add the Ziegler–Biersack–Littmark screened-nuclear repulsion as a fixed pair
    term (MACE's pair repulsion, cut off smoothly at the sum of covalent radii), so that the energy rises steeply
    where the labels hold no pair; the network learns the rest.
    """

    channels: int = 32
    max_l: int = 1
    correlation: int = 3
    interactions: int = 2
    r_max: float = 5.0
    epochs: int = 150
    learning_rate: float = 0.01
    batch_size: int = 4
    energy_weight: float = 1.0
    force_weight: float = 100.0
    stress_weight: float = 1.0
    huber_delta: float = 0.1
    swa: bool = True
    zbl: bool = False
    eval_interval: int = 2
    seed: int = 1

    def __post_init__(self) -> None:
        if (
            min(self.channels, self.interactions, self.correlation, self.epochs, self.batch_size, self.eval_interval)
            < 1
        ):
            raise InputError(
                "channels, interactions, correlation, epochs, batch size and evaluation interval must be at least 1"
            )
        if self.max_l not in (0, 1, 2, 3):
            raise InputError(f"max_l must be 0–3, got {self.max_l}")
        if not self.r_max > 0 or not self.learning_rate > 0:
            raise InputError("r_max and the learning rate must be positive")
        if min(self.energy_weight, self.force_weight, self.stress_weight) < 0 or not self.huber_delta > 0:
            raise InputError("loss weights must not be negative and the Huber threshold must be positive")

    def arguments(self, name: str, work: Path) -> list[str]:
        """Command-line arguments of MACE's trainer for these settings (data files train/valid.extxyz in `work`)."""
        args = {
            "name": name,
            "work_dir": work,
            "train_file": work / "train.extxyz",
            "valid_file": work / "valid.extxyz",
            "energy_key": "REF_energy",
            "forces_key": "REF_forces",
            "stress_key": "REF_stress",
            "E0s": "average",
            "model": "MACE",
            "num_channels": self.channels,
            "max_L": self.max_l,
            "correlation": self.correlation,
            "num_interactions": self.interactions,
            "r_max": self.r_max,
            "loss": "huber",
            "huber_delta": self.huber_delta,
            "energy_weight": self.energy_weight,
            "forces_weight": self.force_weight,
            "stress_weight": self.stress_weight,
            "batch_size": self.batch_size,
            "valid_batch_size": 2 * self.batch_size,
            "max_num_epochs": self.epochs,
            "lr": self.learning_rate,
            "default_dtype": "float32",
            "device": "cpu",
            "seed": self.seed,
            "eval_interval": self.eval_interval,
        }
        flags = ["--ema", "--restart_latest", "--save_cpu"] + (["--swa"] if self.swa else [])
        flags += ["--pair_repulsion"] if self.zbl else []
        return [f"--{k}={v}" for k, v in args.items()] + flags


def write_mace_set(frames: Sequence[Atoms], path: Path) -> Path:
    """Labelled frames as MACE reads them: ``REF_energy`` (eV), ``REF_forces`` (eV/Å), ``REF_stress`` (eV/Å³,
    3×3, ASE's sign; only where labelled), plus `config_id` and `source`.
    """
    import ase.io

    out = []
    for a in frames:
        b = Atoms(a.get_chemical_symbols(), positions=a.get_positions(), cell=a.get_cell(), pbc=a.get_pbc())
        b.info = {k: a.info[k] for k in ("config_id", "source") if k in a.info}
        b.info["REF_energy"] = float(a.get_potential_energy())
        b.arrays["REF_forces"] = np.asarray(a.get_forces(), dtype=float)
        try:
            b.info["REF_stress"] = np.asarray(a.get_stress(voigt=False), dtype=float).reshape(9)
        except Exception:  # no stress labelled (ASE raises PropertyNotImplementedError)
            pass
        out.append(b)
    ase.io.write(path, out, format="extxyz")
    return path


def mace_version() -> str:
    """Installed mace-torch version; InputError when it is missing."""
    from importlib import metadata

    try:
        return metadata.version("mace-torch")
    except metadata.PackageNotFoundError as err:
        raise InputError("fitting MACE needs the mace-torch package: pip install mace-torch") from err


def _claim_work(work: Path, settings: MaceSettings, train: Sequence[Atoms], val: Sequence[Atoms], overwrite: bool):
    """Make `work` this fit's folder (see `fit_mace`): create it, resume in it, or refuse or empty another fit's."""
    import json

    from ...results import write_json

    def ids(frames: Sequence[Atoms]) -> list[str]:
        return [str(a.info.get("config_id", i)) for i, a in enumerate(frames)]

    this = {"settings": {**asdict(settings), "epochs": None}, "train": ids(train), "val": ids(val)}
    record = work / "fit.json"
    if record.is_file() and json.loads(record.read_text()) != this:
        if not overwrite:
            raise InputError(
                f"{work} holds a MACE fit with other settings or data; give --overwrite to start again there, "
                "or choose another --out"
            )
        shutil.rmtree(work)
    elif work.is_dir() and not record.is_file() and any(work.iterdir()):
        raise InputError(f"{work} exists and is not a fit-mace work folder; remove it or choose another --out")
    work.mkdir(parents=True, exist_ok=True)
    write_json(record, this)


def fit_mace(
    train: Sequence[Atoms],
    val: Sequence[Atoms],
    work: str | Path,
    settings: MaceSettings = MaceSettings(),
    *,
    threads: int | None = None,
    overwrite: bool = False,
    progress: Progress | None = None,
) -> tuple[Path, dict[str, Any]]:
    """Train MACE on labelled frames in the folder `work` (resumes from its last checkpoint there).

    `threads`: torch threads of the trainer (default: torch's own choice, every core). A work folder holds one fit:
    ``work/fit.json`` records its settings (but the number of epochs, which a resumed fit may extend) and its
    training and validation configurations. A folder of another fit is refused, or with `overwrite` emptied first.

    Returns the trained model file (the stage-two model with `swa`) and a record: settings, MACE version, the
    validation history (epoch, force RMSE eV/Å, energy RMSE meV/atom, as MACE's trainer logs them) and the wall
    time (s). The trainer's log is ``work/mace.log``.
    """
    version = mace_version()
    if not train or not val:
        raise InputError("fitting MACE needs training and validation configurations (at least one of each)")
    work = Path(work)
    _claim_work(work, settings, train, val, overwrite)
    write_mace_set(train, work / "train.extxyz")
    write_mace_set(val, work / "valid.extxyz")
    name = "mace"
    cmd = [sys.executable, "-m", "mace.cli.run_train", *settings.arguments(name, work)]
    history: list[dict[str, float]] = []
    t0 = time.perf_counter()
    with open(work / "mace.log", "a", buffering=1) as log:  # line-buffered: the log can be followed
        env = dict(os.environ, **({"OMP_NUM_THREADS": str(threads)} if threads else {}))
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=work, env=env)
        assert proc.stdout is not None
        for line in proc.stdout:
            log.write(line)
            m = _EPOCH.search(line)
            if m:
                epoch, e_rmse, f_rmse = int(m[1]), float(m[2]), float(m[3]) / 1000
                history.append({"epoch": epoch, "val_force_rmse": f_rmse, "val_energy_rmse_meV_per_atom": e_rmse})
                if progress is not None:
                    progress(epoch + 1, settings.epochs, f_rmse)
        code = proc.wait()
    if code != 0:
        raise InputError(f"MACE's trainer failed (exit {code}); its log: {work / 'mace.log'}")
    model = work / (f"{name}_stagetwo.model" if settings.swa else f"{name}.model")
    if not model.is_file():
        raise InputError(f"MACE's trainer wrote no model {model.name}; its log: {work / 'mace.log'}")
    record = {
        "settings": asdict(settings),
        "mace_version": version,
        "n_train": len(train),
        "n_val": len(val),
        "history": history,
        "seconds": time.perf_counter() - t0,
    }
    return model, record


def fit_mace_labels(
    paths: Sequence[str | Path],
    out: str | Path,
    settings: MaceSettings = MaceSettings(),
    *,
    test_fraction: float = 0.2,
    val_fraction: float = 0.1,
    keep_split: dict[str, list[str]] | None = None,
    threads: int | None = None,
    overwrite: bool = False,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Fit MACE on labelled files or folders; write the model `out` and its card ``<out>.card.json`` beside it.

    The split is `split_labels`' (a fine-tuning card's ``split`` as `keep_split` keeps its roles, so MACE and the
    tuned CHGNet compare on the same held-out configurations). Training runs in ``<out>.work/`` (kept: MACE's
    log and checkpoints; a killed fit resumes there). The card holds the record of `fit_mace`, the split and the
    held-out errors (`label_errors`; ``kept_test_errors``: on the kept card's test set). Returns the card.
    """
    from .finetune import label_files, split_labels
    from .sampling import read_labelled

    out = Path(out)
    frames = read_labelled(label_files(paths))
    part, role = split_labels(frames, keep_split, test_fraction, val_fraction, settings.seed)
    work = out.with_name(out.name + ".work")
    model, record = fit_mace(
        part["train"], part["val"], work, settings, threads=threads, overwrite=overwrite, progress=progress
    )
    return mace_card(model, out, paths, frames, part, role, record)


def mace_card(
    model: Path,
    out: Path,
    paths: Sequence[str | Path],
    frames: Sequence[Atoms],
    part: dict[str, list[Atoms]],
    role: dict[str, str],
    record: dict[str, Any],
) -> dict[str, Any]:
    """Copy a trained `model` to `out` (atomic) and write its card beside it (`fit_mace_labels`); returns it."""
    from ...results import atomic_write, write_json
    from ..registry import mace_calculator, model_card_file
    from .finetune import add_held_out, label_card, label_residuals

    path = atomic_write(out, lambda tmp: shutil.copyfile(model, tmp), durable=True)
    card = label_card(path, "none: MACE fitted from scratch", paths, frames, part, role, record)
    if part["test"]:
        add_held_out(card, "fitted", label_residuals(mace_calculator(str(path)), part["test"]), role)
    write_json(model_card_file(path), card)
    return card
