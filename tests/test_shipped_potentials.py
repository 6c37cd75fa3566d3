"""Shipped family potentials against held-out configurations of their teacher (tests/data/held_out).

The reference is the teacher itself (CHGNet's energies and forces on configurations the fit never saw): a shipped
file that is not the one the gate passed (wrong coefficients, table or element order) fails here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ase.io import read

from superionic.potentials.lammps_potentials import lammps_available, shipped_potentials
from superionic.potentials.registry import get_potential
from superionic.potentials.training.finetune import label_errors

HELD_OUT = sorted((Path(__file__).parent / "data" / "held_out").glob("*.extxyz"))
DATA_DIR = Path(__file__).parents[1] / "src" / "superionic" / "potentials" / "data"

pytestmark = pytest.mark.skipif(not lammps_available(), reason="LAMMPS Python module not available")


def test_the_shipped_family_potentials_have_their_held_out_samples():
    names = {p.name.rsplit("-v", 1)[0] for p in HELD_OUT}
    assert names >= {"li3ps4-snap", "na3ps4-snap", "agi-snap", "lialcl4-snap", "lgps-snap", "llzo-snap"}
    for name in names:  # a sample without its potential would test nothing
        assert name in shipped_potentials()


@pytest.mark.parametrize("path", HELD_OUT, ids=[p.stem for p in HELD_OUT])
def test_shipped_potential_reproduces_its_teacher_on_held_out_md(path):
    stem = path.stem
    name, version = stem.rsplit("-v", 1)
    shipped = shipped_potentials()
    key = stem if stem in shipped else name  # a superseded version stays shipped as NAME-vV
    pot = shipped[key]
    assert pot.version == version
    card = json.loads((DATA_DIR / f"{stem}.training.json").read_text())
    gate = json.loads((DATA_DIR / f"{stem}.validation.json").read_text())
    assert gate["passed"]
    frames = read(path, ":")
    errors = label_errors(get_potential(key).make(), frames)["all"]
    card_rmse = card["metrics"]["test_operating"]["force_rmse_eV_per_A"]
    # a dozen of the card's held-out teacher-MD configurations: within the sampling scatter of the card's RMSE,
    # and well inside the gate (0.15 eV/Å)
    assert 0.6 * card_rmse < errors["force_rmse_eV_per_A"] < 1.4 * card_rmse
    assert errors["force_rmse_eV_per_A"] < 0.15
    assert errors["energy_rmse_meV_per_atom"] < 3 * card["metrics"]["test_operating"]["energy_rmse_meV_per_atom"]
