"""MACE fitted from scratch (`superionic fit-mace`): it learns an analytic surface, and its card's held-out
errors are what the model gives."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.calculators.singlepoint import SinglePointCalculator
from ase.io import write

pytest.importorskip("mace")

from superionic.errors import InputError  # noqa: E402
from superionic.potentials.registry import get_potential  # noqa: E402
from superionic.potentials.training.finetune import label_errors  # noqa: E402
from superionic.potentials.training.mace_fit import MaceSettings, fit_mace_labels  # noqa: E402


def _emt_labels(folder, n=24, seed=0):
    """Rattled 8-atom Cu cells labelled by EMT (energy eV, forces eV/Å, stress eV/Å³), one extxyz each."""
    rng = np.random.default_rng(seed)
    folder.mkdir()
    for i in range(n):
        a = bulk("Cu", "fcc", a=3.61, cubic=True).repeat((2, 1, 1))
        a.set_cell(a.cell * (1 + rng.uniform(-0.02, 0.02)), scale_atoms=True)
        a.rattle(0.08, seed=int(rng.integers(1 << 30)))
        a.calc = EMT()
        e, f, s = a.get_potential_energy(), a.get_forces(), a.get_stress()
        a.calc = SinglePointCalculator(a, energy=e, forces=f, stress=s)
        a.info.update(config_id=f"cu{i:02d}", source="teacher-md")
        write(folder / f"cu{i:02d}.extxyz", a)


def test_mace_learns_an_analytic_surface_and_its_card_says_what_it_gives_with_a_zbl_wall(tmp_path):
    _emt_labels(tmp_path / "labels")
    settings = MaceSettings(
        channels=8, max_l=1, correlation=2, interactions=2, r_max=4.0, epochs=40, swa=False, zbl=True
    )
    out = tmp_path / "cu.model"
    seen = []
    card = fit_mace_labels(
        [tmp_path / "labels"],
        out,
        settings,
        test_fraction=0.25,
        val_fraction=0.15,
        threads=1,  # one core: beside another test process, torch's threads would oversubscribe the machine
        progress=lambda *a: seen.append(a),
    )
    assert out.is_file() and json.loads(out.with_name("cu.model.card.json").read_text())["model_sha256"]
    assert seen and seen[-1][1] == 40 and len(card["history"]) == len(seen)
    held = card["test_errors"]["fitted"]["all"]
    # learnt, not memorised: the held-out force error is well below the labels' own spread
    assert held["n_configs"] == len(card["split"]["test"]) > 0
    assert held["force_rmse_eV_per_A"] < 0.5 * held["force_std_eV_per_A"]
    # the card's numbers are the model's: recomputed through the registry (a .model file → MACE)
    spec = get_potential(str(out))
    assert spec.package == "mace-torch" and spec.available()
    from superionic.potentials.training.finetune import held_out_labels

    again = label_errors(spec.make(), held_out_labels(card, tmp_path / "labels"))["all"]
    assert again["force_rmse_eV_per_A"] == pytest.approx(held["force_rmse_eV_per_A"], rel=1e-6)
    # a conservative force field: F = −dE/dx by central differences (float64 evaluation)
    atoms = bulk("Cu", "fcc", a=3.61, cubic=True).repeat((2, 1, 1))
    atoms.rattle(0.05, seed=3)
    atoms.calc = spec.make()
    f = atoms.get_forces()[1, 0]
    h, x = 1e-3, atoms.positions.copy()
    energies = []
    for d in (h, -h):
        atoms.positions = x
        atoms.positions[1, 0] += d
        energies.append(atoms.get_potential_energy())
    assert f == pytest.approx(-(energies[0] - energies[1]) / (2 * h), abs=1e-4)
    # the ZBL wall: two Cu pushed to 0.6 Å (no label comes closer than 2.3 Å) cost tens of eV. MACE's ZBL
    # (screening length 0.4543 a0 / (Z1^0.3 + Z2^0.3)): 14.4 eV Å · 29² / 0.6 Å · φ(13.7) = 58 eV for the pair
    # alone; a network alone learns nothing there
    dimer = bulk("Cu", "fcc", a=3.61, cubic=True).repeat((2, 1, 1))
    dimer.calc = spec.make()
    e0 = dimer.get_potential_energy()
    j = int(np.argsort(dimer.get_distances(0, range(1, len(dimer)), mic=True))[0]) + 1
    v = dimer.get_distance(0, j, mic=True, vector=True)
    dimer.positions[j] -= v * (1 - 0.6 / np.linalg.norm(v))
    assert dimer.get_distance(0, j, mic=True) == pytest.approx(0.6)
    assert dimer.get_potential_energy() - e0 > 25
    # a longer fit in the same work folder resumes from the last checkpoint instead of starting again
    again_card = fit_mace_labels(
        [tmp_path / "labels"],
        out,
        replace(settings, epochs=44),
        test_fraction=0.25,
        val_fraction=0.15,
        threads=1,
    )
    assert again_card["split"] == card["split"]
    assert again_card["history"][0]["epoch"] > 0  # a fresh fit logs epoch 0 first
    # another fit's settings in the same work folder are refused before any training, not resumed from
    with pytest.raises(InputError, match="other settings"):
        fit_mace_labels(
            [tmp_path / "labels"], out, replace(settings, channels=16), test_fraction=0.25, val_fraction=0.15
        )


def test_shipped_mace_reproduces_its_card_and_beats_the_tuned_chgnet_on_labels_neither_saw():
    """li6ps5cl-pbe-d3-mace (v1, fitted on the 138 training labels of li6ps5cl-pbe-d3-chgnet v3, its split kept):
    the file is the card's; its held-out errors on the 32 PBE-D3 MD test snapshots, recomputed here from data/dft,
    are the card's and meet the 0.10 eV/Å gate (measured 0.063; the tuned CHGNet 0.145); on the labels that neither
    model saw (16 MD snapshots labelled after both were made) it errs less than half the tuned CHGNet's (measured
    0.036 against 0.101 eV/Å)."""
    import hashlib
    from pathlib import Path

    from superionic.potentials.registry import PBE_D3_CHGNET, PBE_D3_MACE, model_card
    from superionic.potentials.training.finetune import held_out_labels
    from superionic.potentials.training.sampling import read_labelled

    card, tuned = model_card(PBE_D3_MACE), model_card(PBE_D3_CHGNET)
    assert hashlib.sha256(PBE_D3_MACE.read_bytes()).hexdigest() == card["model_sha256"]
    assert card["split"] == tuned["split"]
    labels = Path(__file__).parents[1] / "data" / "dft" / "li6ps5cl-pbe-d3" / "labels"
    md = [a for a in held_out_labels(card, labels) if a.info["source"] == "teacher-md"]
    assert len(md) == 32
    mace = get_potential("li6ps5cl-pbe-d3-mace").make()
    got = label_errors(mace, md)["all"]["force_rmse_eV_per_A"]
    assert got == pytest.approx(card["test_errors"]["fitted"]["teacher-md"]["force_rmse_eV_per_A"], rel=1e-3)
    assert got < 0.10 < tuned["test_errors"]["fine_tuned"]["teacher-md"]["force_rmse_eV_per_A"]
    # its first-principles card (scripts/dft_card.py): the same errors, and PBE-D3's force constants at the DFT
    # minimum (Φ_DFT ≈ k Φ, measured k = 1.00 with correlation 1.000; the tuned CHGNet 1.00 with 0.993)
    dft = json.loads(PBE_D3_MACE.with_name("li6ps5cl-pbe-d3-mace-v1.dft.json").read_text())
    assert dft["errors_against_dft"]["teacher-md"]["force_rmse_eV_per_A"] == pytest.approx(got, rel=1e-3)
    fc = dft["gamma"]["at_dft_geometry"]
    assert abs(fc["k"] - 1) < 0.03 and fc["correlation"] > 0.995
    seen = {cid for ids in card["split"].values() for cid in ids}
    unseen = [a for a in read_labelled(sorted(labels.glob("*.extxyz"))) if str(a.info["config_id"]) not in seen]
    assert len(unseen) >= 16
    rmse = {
        n: label_errors(get_potential(n).make(), unseen)["all"]["force_rmse_eV_per_A"]
        for n in ("li6ps5cl-pbe-d3-mace", "li6ps5cl-pbe-d3-chgnet")
    }
    assert rmse["li6ps5cl-pbe-d3-mace"] < 0.5 * rmse["li6ps5cl-pbe-d3-chgnet"]
