"""Fine-tuning CHGNet on first-principles labels: the universal model corrected toward its teacher.

Universal potentials are systematically soft (shared/SCIENCE.md §7; measured for Li6PS5Cl in docs/dft.md:
F_DFT ≈ 1.4 F_CHGNet, Γ frequencies 0.72× DFT). A few hundred DFT labels are not enough to fit a fast potential
from nothing (docs/dft.md), but they are enough to correct a pretrained network: every weight of CHGNet is
trained further on the labels (energy per atom, forces, stress), starting from the shipped 0.3.0 weights.

Energies: CP2K's total energies and CHGNet's differ by a per-element reference. `element_offsets` fits it
(least squares of E_label − E_CHGNet on the element counts, minimum norm) and the offsets are added to CHGNet's
composition model, so the fine-tuned model predicts the labels' energies directly.

Units: energies eV (per atom in the loss), forces eV/Å, stress eV/Å³ in ASE's sign convention (GPa inside
CHGNet). The result is a CHGNet checkpoint that `get_potential(path)` loads like any model file.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from ase import Atoms, units

from ...errors import InputError
from ...results import atomic_write

#: per-epoch callback: (epoch, epochs, train force RMSE eV/Å, validation force RMSE eV/Å)
Progress = Callable[[int, int, float, float], None]


@dataclass(frozen=True)
class FineTuneSettings:
    """Every choice that determines a fine-tuned model (recorded in its card).

    Loss: energy_weight·L(E/atom, eV) + force_weight·L(F, eV/Å) + stress_weight·L(σ, GPa), L the Huber loss
    with `huber_delta` (quadratic below it, linear above: the few strained or rattled cells with forces of tens
    of eV/Å teach repulsion without outweighing the thermal snapshots); huber_delta = 0 gives plain MSE.
    Training stops after `epochs` or when the validation force RMSE has not improved for `patience` epochs;
    the weights of the best validation epoch are kept.
    """

    epochs: int = 40
    learning_rate: float = 3e-4
    batch_size: int = 4
    energy_weight: float = 1.0
    force_weight: float = 1.0
    stress_weight: float = 0.1
    huber_delta: float = 1.0
    patience: int = 10
    seed: int = 0

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or self.patience < 1:
            raise InputError("epochs, batch size and patience must be at least 1")
        if not self.learning_rate > 0:
            raise InputError(f"learning rate must be positive, got {self.learning_rate}")
        if min(self.energy_weight, self.force_weight, self.stress_weight, self.huber_delta) < 0:
            raise InputError("loss weights must not be negative")


def base_model():
    """The pretrained CHGNet 0.3.0 (weights inside the chgnet wheel; no download)."""
    from chgnet.model import CHGNet

    return CHGNet.load(verbose=False)


def _counts(frames: Sequence[Atoms], elements: Sequence[str]) -> np.ndarray:
    return np.array([[a.get_chemical_symbols().count(el) for el in elements] for a in frames], dtype=float)


def element_offsets(frames: Sequence[Atoms], model_energies: Sequence[float]) -> dict[str, float]:
    """Per-element energy offsets μ (eV) with E_label ≈ E_model + Σ n_el μ_el, least squares, minimum norm.

    With one composition only the total Σ n_el μ_el is determined; the minimum-norm solution spreads it over
    the elements in proportion to their counts.
    """
    elements = sorted({s for a in frames for s in a.get_chemical_symbols()})
    n = _counts(frames, elements)
    de = np.array([a.get_potential_energy() for a in frames]) - np.asarray(model_energies, dtype=float)
    mu, *_ = np.linalg.lstsq(n, de, rcond=None)
    return {el: float(m) for el, m in zip(elements, mu, strict=True)}


def _shift_reference(model, offsets: dict[str, float]) -> None:
    """Add per-element offsets (eV) to CHGNet's composition model (an intensive AtomRef)."""
    import torch
    from ase.data import atomic_numbers

    fc = model.composition_model.fc
    with torch.no_grad():
        for el, mu in offsets.items():
            fc.weight[0, atomic_numbers[el] - 1] += mu


def _dataset(model, frames: Sequence[Atoms]) -> list[tuple[Any, dict[str, Any]]]:
    """(graph, targets) per frame: energy per atom (eV), forces (eV/Å), stress (GPa, when labelled)."""
    import torch
    from pymatgen.io.ase import AseAtomsAdaptor

    out = []
    for a in frames:
        graph = model.graph_converter(AseAtomsAdaptor.get_structure(a))
        targets: dict[str, Any] = {
            "e": torch.tensor(a.get_potential_energy() / len(a), dtype=torch.float32),
            "f": torch.tensor(a.get_forces(), dtype=torch.float32),
        }
        try:
            s = a.get_stress(voigt=False)
        except Exception:
            s = None
        targets["s"] = None if s is None else torch.tensor(np.asarray(s) / units.GPa, dtype=torch.float32)
        out.append((graph, targets))
    return out


def _loss(model, batch, settings: FineTuneSettings):
    """Weighted loss of one batch and its summed squared force error and force-component count."""
    import torch

    graphs = [g for g, _ in batch]
    for g in graphs:
        g.atom_frac_coord.requires_grad = True
    with torch.set_grad_enabled(True):  # forces are gradients even when evaluating
        pred = model(graphs, task="efs")
    crit = torch.nn.HuberLoss(delta=settings.huber_delta) if settings.huber_delta > 0 else torch.nn.MSELoss()
    e_t = torch.stack([t["e"] for _, t in batch])
    f_t = torch.cat([t["f"] for _, t in batch])
    f_p = torch.cat(pred["f"])
    loss = settings.energy_weight * crit(pred["e"], e_t) + settings.force_weight * crit(f_p, f_t)
    pairs = [(p, t["s"]) for p, (_, t) in zip(pred["s"], batch, strict=True) if t["s"] is not None]
    if pairs and settings.stress_weight > 0:
        loss = loss + settings.stress_weight * crit(
            torch.stack([p for p, _ in pairs]), torch.stack([t for _, t in pairs])
        )
    sq = float(((f_p - f_t) ** 2).sum().detach())
    return loss, sq, f_t.numel()


def _force_rmse(model, data, settings: FineTuneSettings) -> float:
    sq, count = 0.0, 0
    model.eval()
    for i in range(0, len(data), settings.batch_size):
        _, s, c = _loss(model, data[i : i + settings.batch_size], settings)
        sq, count = sq + s, count + c
    return float(np.sqrt(sq / count))


def fine_tune(
    train: Sequence[Atoms],
    val: Sequence[Atoms],
    settings: FineTuneSettings = FineTuneSettings(),
    *,
    model=None,
    progress: Progress | None = None,
) -> tuple[Any, dict[str, Any]]:
    """Fine-tune CHGNet (default: the pretrained 0.3.0) on labelled frames; returns (model, record).

    The element offsets are fitted on `train` before training. The record holds the settings, the offsets
    (eV), the per-epoch train/validation force RMSE (eV/Å), the best epoch and the wall time (s).
    """
    import torch

    if not train or not val:
        raise InputError("fine-tuning needs training and validation configurations (at least one of each)")
    model = copy.deepcopy(model) if model is not None else base_model()
    from chgnet.model.dynamics import CHGNetCalculator

    calc = CHGNetCalculator(model=model, use_device="cpu")
    base_e = []
    for a in train:
        b = a.copy()
        b.calc = calc
        base_e.append(b.get_potential_energy())
    offsets = element_offsets(train, base_e)
    _shift_reference(model, offsets)

    torch.manual_seed(settings.seed)
    rng = np.random.default_rng(settings.seed)
    train_data, val_data = _dataset(model, train), _dataset(model, val)
    optimizer = torch.optim.Adam(model.parameters(), lr=settings.learning_rate)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=settings.epochs)
    history: list[dict[str, float | None]] = []
    best = (_force_rmse(model, val_data, settings), 0, copy.deepcopy(model.state_dict()))
    history.append({"epoch": 0, "train_force_rmse": None, "val_force_rmse": best[0]})  # before any training
    t0 = time.perf_counter()
    for epoch in range(1, settings.epochs + 1):
        model.train()
        sq, count = 0.0, 0
        order = rng.permutation(len(train_data))
        for i in range(0, len(order), settings.batch_size):
            batch = [train_data[j] for j in order[i : i + settings.batch_size]]
            loss, s, c = _loss(model, batch, settings)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            sq, count = sq + s, count + c
        scheduler.step()
        val_rmse = _force_rmse(model, val_data, settings)
        train_rmse = float(np.sqrt(sq / count))
        history.append({"epoch": epoch, "train_force_rmse": train_rmse, "val_force_rmse": val_rmse})
        if progress is not None:
            progress(epoch, settings.epochs, train_rmse, val_rmse)
        if val_rmse < best[0]:
            best = (val_rmse, epoch, copy.deepcopy(model.state_dict()))
        elif epoch - best[1] >= settings.patience:
            break
    model.load_state_dict(best[2])
    record = {
        "settings": asdict(settings),
        "element_offsets_eV": offsets,
        "n_train": len(train),
        "n_val": len(val),
        "best_epoch": best[1],
        "best_val_force_rmse_eV_per_A": best[0],
        "history": history,
        "seconds": time.perf_counter() - t0,
    }
    return model, record


def save_model(model, path: str | Path) -> Path:
    """Write a CHGNet checkpoint that `CHGNet.from_file` (and `get_potential(path)`) loads; atomic."""
    import torch

    state = {"model": model.as_dict()}
    return atomic_write(path, lambda tmp: torch.save(state, tmp), durable=True)


Residual = tuple[Atoms, np.ndarray, float]  # a labelled frame, its force residual (eV/Å), its energy residual (eV/atom)


def label_residuals(calculator, frames: Sequence[Atoms]) -> list[Residual]:
    """Per labelled frame: the frame, the calculator's force minus the label's (eV/Å) and energy minus the
    label's per atom (eV/atom).
    """
    rows = []
    for a in frames:
        b = a.copy()
        b.calc = calculator
        rows.append(
            (a, b.get_forces() - a.get_forces(), (b.get_potential_energy() - a.get_potential_energy()) / len(a))
        )
    return rows


def residual_errors(rows: Sequence[Residual]) -> dict[str, Any]:
    """Error summaries of `label_residuals`, overall and per `source` of the frames.

    Per group: configurations, force RMSE (eV/Å, per component) overall and per species, the labels' force
    spread (standard deviation, eV/Å), and the energy RMSE per atom (meV/atom) after removing the mean offset
    (models and DFT codes differ by a reference energy; the offset is reported).
    """

    def summary(group: list[Residual]) -> dict[str, Any]:
        df = np.concatenate([d for _, d, _ in group])
        ft = np.concatenate([a.get_forces() for a, _, _ in group])
        sym = np.array([s for a, _, _ in group for s in a.get_chemical_symbols()])
        de = np.array([e for _, _, e in group])
        return {
            "n_configs": len(group),
            "force_rmse_eV_per_A": float(np.sqrt(np.mean(df**2))),
            "force_std_eV_per_A": float(np.std(ft)),
            "force_rmse_per_species_eV_per_A": {
                el: float(np.sqrt(np.mean(df[sym == el] ** 2))) for el in sorted(set(sym.tolist()))
            },
            "energy_rmse_meV_per_atom": float(1000 * np.std(de)),
            "energy_offset_meV_per_atom": float(1000 * np.mean(de)),
        }

    out = {"all": summary(list(rows))}
    for src in sorted({str(a.info.get("source", "unknown")) for a, _, _ in rows}):
        out[src] = summary([r for r in rows if str(r[0].info.get("source", "unknown")) == src])
    return out


def label_errors(calculator, frames: Sequence[Atoms]) -> dict[str, Any]:
    """Errors of an ASE calculator against labelled frames, overall and per `source` (`residual_errors`)."""
    return residual_errors(label_residuals(calculator, frames))


def held_out_labels(card: dict[str, Any], folder: str | Path) -> list[Atoms]:
    """The labelled frames of a fine-tuning card's test split, read from the label folder they came from."""
    from .sampling import read_labelled

    return read_labelled(sorted(Path(folder) / f"{cid}.extxyz" for cid in card["split"]["test"]))


def label_files(paths: Sequence[str | Path]) -> list[Path]:
    """The extxyz label files of files and folders (a folder: every ``*.extxyz`` in it, sorted)."""
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(p.glob("*.extxyz"))
            if not found:
                raise InputError(f"no .extxyz label files in {p}")
            files += found
        elif p.is_file():
            files.append(p)
        else:
            raise InputError(f"labels {p} not found")
    return files


def split_labels(
    frames: Sequence[Atoms],
    keep_split: dict[str, list[str]] | None,
    test_fraction: float,
    val_fraction: float,
    seed: int,
) -> tuple[dict[str, list[Atoms]], dict[str, str]]:
    """Labelled frames split into 'train'/'val'/'test' at random (seed `seed`), and the roles kept.

    A frame whose info has `split` keeps it, and so does one named in `keep_split` (an earlier card's ``split``,
    role → configuration ids): two models judged on the same test set compare configuration for configuration.
    Returns the parts and the kept roles by configuration id.
    """
    from .train import split_indices

    role = {cid: k for k, ids in (keep_split or {}).items() for cid in ids}
    kept = [a for a in frames if str(a.info.get("config_id")) in role]
    if role and not kept:
        raise InputError("none of the labelled configurations is named in the split to keep")
    for a in kept:
        a.info["split"] = role[str(a.info["config_id"])]
    split = split_indices(frames, test_fraction, val_fraction, seed=seed)
    part = {k: [a for a, s in zip(frames, split, strict=True) if s == k] for k in ("train", "val", "test")}
    if not part["val"]:
        raise InputError("no validation configurations after the split; raise --val-fraction or give more labels")
    return part, role


def fine_tune_labels(
    paths: Sequence[str | Path],
    out: str | Path,
    settings: FineTuneSettings = FineTuneSettings(),
    *,
    test_fraction: float = 0.2,
    val_fraction: float = 0.1,
    keep_split: dict[str, list[str]] | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Fine-tune CHGNet on labelled files or folders; write the checkpoint `out` and its card beside it.

    The configurations are split at random (seed `settings.seed`) into train/val/test; a frame whose info
    has `split` keeps it, and so does one named in `keep_split` (an earlier card's ``split``: its configurations
    keep their roles, so the two models' held-out errors compare on the same test set). The card
    (``<out>.card.json``) holds the record of `fine_tune`, the split, and the held-out errors of the pretrained
    and of the fine-tuned model (`label_errors`; ``kept_test_errors``: on the earlier test set). Returns the card.
    """
    from chgnet.model.dynamics import CHGNetCalculator

    from ...results import write_json
    from ..registry import model_card_file
    from .sampling import read_labelled

    frames = read_labelled(label_files(paths))
    part, role = split_labels(frames, keep_split, test_fraction, val_fraction, settings.seed)
    model, record = fine_tune(part["train"], part["val"], settings, progress=progress)
    path = save_model(model, out)
    card = label_card(path, "CHGNet 0.3.0 (weights inside the chgnet wheel)", paths, frames, part, role, record)
    if part["test"]:
        pretrained = label_errors(CHGNetCalculator(model=base_model(), use_device="cpu"), part["test"])
        rows = label_residuals(CHGNetCalculator(model=model, use_device="cpu"), part["test"])
        add_held_out(card, "fine_tuned", rows, role, {"pretrained": pretrained})
    write_json(model_card_file(path), card)
    return card


def label_card(
    path: Path,
    base: str,
    paths: Sequence[str | Path],
    frames: Sequence[Atoms],
    part: dict[str, list[Atoms]],
    role: dict[str, str],
    record: dict[str, Any],
) -> dict[str, Any]:
    """What the card of every model fitted on labelled frames holds: the model file and its SHA-256, the `base`
    model, the label paths, the split (`split_labels`' parts; how many roles were kept) and the fit's `record`.
    """
    from ..registry import file_sha256

    return {
        "model_file": str(path),
        "model_sha256": file_sha256(path),
        "base_model": base,
        "labels": [str(p) for p in map(Path, paths)],
        "n_labels": len(frames),
        "split": {k: [str(a.info.get("config_id", a.info.get("file"))) for a in v] for k, v in part.items()},
        "split_kept": sum(str(a.info.get("config_id")) in role for a in frames),
        **record,
    }


def add_held_out(
    card: dict[str, Any],
    name: str,
    rows: Sequence[Residual],
    role: dict[str, str],
    others: dict[str, Any] | None = None,
) -> None:
    """Put a fitted model's held-out errors (`residual_errors` of its test `rows`) into `card` as
    ``test_errors[name]`` after `others` (e.g. the pretrained model's), and as ``kept_test_errors`` those on the
    earlier card's own test set (`role`), whose errors compare with that card's.
    """
    card["test_errors"] = {**(others or {}), name: residual_errors(rows)}
    old_test = [r for r in rows if role.get(str(r[0].info.get("config_id"))) == "test"]
    if old_test:
        card["kept_test_errors"] = residual_errors(old_test)
