"""`superionic fit-mace`: an equivariant MACE potential fitted from scratch to first-principles labels."""

from __future__ import annotations

from pathlib import Path

import typer

from ..errors import InputError
from .app import app
from .common import OVERWRITE_HELP
from .finetune_cmd import checked_fit_inputs, echo_held_out


@app.command("fit-mace")
def fit_mace_cmd(
    labels: list[Path] = typer.Argument(
        ...,
        help="Labelled configurations: extxyz files with energy (eV) and forces (eV/Å), stress optional, or folders "
        "of them (e.g. data/dft/li6ps5cl-pbe-d3/labels).",
    ),
    out: Path = typer.Option(
        ...,
        "--out",
        "-o",
        help="The MACE model to write (.model); its card goes to <out>.card.json and MACE's log and checkpoints "
        "to <out>.work/ (a killed fit resumes from there).",
    ),
    epochs: int = typer.Option(150, "--epochs", min=1, help="Passes over the training set."),
    channels: int = typer.Option(32, "--channels", min=1, help="Features per atom and per symmetry (model width)."),
    max_l: int = typer.Option(1, "--max-l", min=0, max=3, help="Highest angular momentum of the messages."),
    r_max: float = typer.Option(5.0, "--r-max", help="Cutoff radius of one interaction layer (Å)."),
    learning_rate: float = typer.Option(
        0.01, "--learning-rate", help="Adam learning rate (× 0.8 on plateaus; stage two at a tenth)."
    ),
    batch_size: int = typer.Option(4, "--batch-size", min=1, help="Configurations per optimiser step."),
    test_fraction: float = typer.Option(
        0.2, "--test-fraction", help="Share of the configurations held out to judge the result (never trained on)."
    ),
    val_fraction: float = typer.Option(
        0.1, "--val-fraction", help="Share used to pick the best model (validation loss)."
    ),
    zbl: bool = typer.Option(
        False,
        "--zbl/--no-zbl",
        help="Add the ZBL screened-nuclear repulsion as a fixed pair term, so that the energy rises steeply at "
        "distances closer than any label (without it a network may turn over there; docs/mace.md, Limits).",
    ),
    seed: int = typer.Option(1, "--seed", help="Seed of the split and of MACE's training."),
    keep_split: Path | None = typer.Option(
        None,
        "--keep-split",
        help="An earlier card (a fine-tuned CHGNet's or a MACE model's <model>.card.json): the configurations it "
        "names keep their train/validation/test roles, so the two models' held-out errors compare on the same "
        "test configurations.",
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help=OVERWRITE_HELP),
) -> None:
    """Fit a MACE potential (equivariant message passing; the mace-torch package) to your first-principles labels.

    Unlike `fine-tune`, nothing is inherited from a universal model: the network learns the labels' surface
    alone, which a few hundred labels of one chemistry can pin down. The model file works anywhere a
    potential is asked for (`--potential model.model`). The card reports the held-out force and energy
    errors, per label source and species. About 16 s per epoch for 138 configurations of 52 atoms on 2 cores
    at the defaults (150 epochs: 47 min). See docs/mace.md.
    """
    from ..potentials.training.mace_fit import MaceSettings, fit_mace_labels
    from .progress import count_progress

    if out.suffix != ".model":
        raise InputError(f"--out writes a MACE model: give a name ending in .model (got {out.name!r})")
    kept, card_path = checked_fit_inputs(labels, out, test_fraction, val_fraction, keep_split, overwrite)
    settings = MaceSettings(
        epochs=epochs,
        channels=channels,
        max_l=max_l,
        r_max=r_max,
        learning_rate=learning_rate,
        batch_size=batch_size,
        zbl=zbl,
        seed=seed,
    )
    with count_progress("fit-mace", "epochs") as bar:

        def progress(epoch: int, total: int, val_rmse: float) -> None:
            bar(epoch, total, f"epoch {epoch}: validation force RMSE {val_rmse:.3f} eV/Å")

        card = fit_mace_labels(
            labels,
            out,
            settings,
            test_fraction=test_fraction,
            val_fraction=val_fraction,
            keep_split=kept,
            overwrite=overwrite,
            progress=progress,
        )
    typer.echo(f"{card['n_train']} training, {card['n_val']} validation configurations ({card['seconds']:.0f} s)")
    echo_held_out(card)
    typer.echo(f"wrote {out} and {card_path}  (use it: --potential {out})")
