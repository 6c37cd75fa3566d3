"""`superionic fine-tune`: correct CHGNet toward first-principles labels (a CHGNet checkpoint and its card)."""

from __future__ import annotations

from pathlib import Path

import typer

from ..errors import InputError
from .app import app
from .common import OVERWRITE_HELP, check_outputs


def check_fractions(test_fraction: float, val_fraction: float) -> None:
    """Refuse test/validation shares that leave no training data."""
    if not 0 <= test_fraction < 1 or not 0 < val_fraction < 1 or test_fraction + val_fraction >= 1:
        raise InputError("--test-fraction in [0, 1) and --val-fraction in (0, 1) must leave training data")


def checked_fit_inputs(
    labels: list[Path], out: Path, test_fraction: float, val_fraction: float, keep_split: Path | None, overwrite: bool
) -> tuple[dict[str, list[str]] | None, Path]:
    """Check a fit's shares and outputs (the model and its card, `out` + .card.json); return the kept split and
    the card's path.
    """
    from ..potentials.registry import model_card_file

    check_fractions(test_fraction, val_fraction)
    kept = kept_split(keep_split)
    card_path = model_card_file(out)
    check_outputs([("--out", out, "any"), ("card", card_path, "any")], labels, overwrite)
    return kept, card_path


def kept_split(card: Path | None) -> dict[str, list[str]] | None:
    """The ``split`` of an earlier card (--keep-split), or None."""
    if card is None:
        return None
    import json

    if not card.is_file():
        raise InputError(f"--keep-split {card} not found")
    kept = json.loads(card.read_text()).get("split")
    if not isinstance(kept, dict):
        raise InputError(f"--keep-split {card} is not a fine-tuning card (no 'split')")
    return kept


def echo_held_out(card: dict) -> None:
    """Print a card's held-out errors: per model and label source, and on the kept card's test set."""
    for which, errs in card.get("test_errors", {}).items():
        for group, e in errs.items():
            per = ", ".join(f"{k} {v:.3f}" for k, v in e["force_rmse_per_species_eV_per_A"].items())
            typer.echo(
                f"held out, {which:>10}, {group} ({e['n_configs']}): force RMSE {e['force_rmse_eV_per_A']:.3f} eV/Å "
                f"({per}; label spread {e['force_std_eV_per_A']:.2f}), energy RMSE "
                f"{e['energy_rmse_meV_per_atom']:.1f} meV/atom"
            )
    if "kept_test_errors" in card:
        e = card["kept_test_errors"]["all"]
        typer.echo(
            f"held out, the earlier card's test configurations ({e['n_configs']}): force RMSE "
            f"{e['force_rmse_eV_per_A']:.3f} eV/Å, energy RMSE {e['energy_rmse_meV_per_atom']:.1f} meV/atom"
        )


@app.command("fine-tune")
def fine_tune_cmd(
    labels: list[Path] = typer.Argument(
        ...,
        help="Labelled configurations: extxyz files with energy (eV) and forces (eV/Å), stress optional, or folders "
        "of them (e.g. the labels/ folder of `train-potential --teacher dft`, or data/dft/li6ps5cl-pbe-d3/labels).",
    ),
    out: Path = typer.Option(
        ..., "--out", "-o", help="The fine-tuned CHGNet checkpoint to write (.pth); its card goes to <out>.card.json."
    ),
    epochs: int = typer.Option(40, "--epochs", min=1, help="Largest number of passes over the training set."),
    learning_rate: float = typer.Option(3e-4, "--learning-rate", help="Adam learning rate (cosine-annealed to 0)."),
    batch_size: int = typer.Option(4, "--batch-size", min=1, help="Configurations per optimiser step."),
    huber: float = typer.Option(
        1.0,
        "--huber",
        help="Huber loss threshold (eV/Å for forces, eV/atom for energies, GPa for stress): errors above it count "
        "linearly, so a few strongly compressed cells cannot dominate. 0 gives plain mean squared error.",
    ),
    stress_weight: float = typer.Option(0.1, "--stress-weight", help="Weight of the stress term (GPa) in the loss."),
    patience: int = typer.Option(
        10, "--patience", min=1, help="Stop when the validation force error has not improved for this many epochs."
    ),
    test_fraction: float = typer.Option(
        0.2, "--test-fraction", help="Share of the configurations held out to judge the result (never trained on)."
    ),
    val_fraction: float = typer.Option(
        0.1, "--val-fraction", help="Share used to pick the best epoch and to stop early."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the split, the batch order and the weights' training."),
    keep_split: Path | None = typer.Option(
        None,
        "--keep-split",
        help="An earlier fine-tuning card (<model>.pth.card.json): the configurations it names keep their "
        "train/validation/test roles and only new labels are split at random, so the two models' held-out errors "
        "compare on the same test configurations (e.g. after labelling more).",
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help=OVERWRITE_HELP),
) -> None:
    """Fine-tune the universal CHGNet on your first-principles labels (all weights, from the pretrained ones).

    Universal potentials are soft: against PBE-D3 CHGNet's Li6PS5Cl forces are about 1.4× too small and its Γ
    phonons 0.72× too low (docs/dft.md). Fine-tuning corrects much of that with tens to hundreds of labels.
    The result is a CHGNet checkpoint: use it anywhere a potential is asked for (`--potential model.pth`), or as
    the teacher of a fast potential (`superionic train-potential --teacher model.pth`). The card reports the
    held-out force and energy errors of the pretrained and of the fine-tuned model. See docs/finetune.md.
    """
    from ..potentials.training.finetune import FineTuneSettings, fine_tune_labels
    from .progress import count_progress

    if out.suffix not in (".pth", ".pt", ".tar"):
        raise InputError(f"--out writes a CHGNet checkpoint: give a name ending in .pth (got {out.name!r})")
    kept, card_path = checked_fit_inputs(labels, out, test_fraction, val_fraction, keep_split, overwrite)
    settings = FineTuneSettings(
        epochs=epochs,
        learning_rate=learning_rate,
        batch_size=batch_size,
        huber_delta=huber,
        stress_weight=stress_weight,
        patience=patience,
        seed=seed,
    )
    with count_progress("fine-tune", "epochs") as bar:

        def progress(epoch: int, total: int, train_rmse: float, val_rmse: float) -> None:
            bar(epoch, total, f"epoch {epoch}: force RMSE train {train_rmse:.3f}, val {val_rmse:.3f} eV/Å")

        card = fine_tune_labels(
            labels,
            out,
            settings,
            test_fraction=test_fraction,
            val_fraction=val_fraction,
            keep_split=kept,
            progress=progress,
        )
    typer.echo(
        f"{card['n_train']} training, {card['n_val']} validation configurations; best epoch {card['best_epoch']} "
        f"({card['seconds']:.0f} s)"
    )
    echo_held_out(card)
    typer.echo(f"wrote {out} and {card_path}  (use it: --potential {out})")
