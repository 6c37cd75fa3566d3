"""Potential stability check: a sane LJ solid passes; a potential that pulls atoms together fails."""

import numpy as np
import pytest
from ase.build import bulk

from superionic.potentials.lammps_potentials import lammps_available, lennard_jones

pytestmark = pytest.mark.skipif(not lammps_available(), reason="LAMMPS not importable")


def test_sane_lj_argon_is_stable_and_closest_approach_is_physical():
    from superionic.md.stability import stability_check

    atoms = bulk("Ar", "fcc", a=5.26, cubic=True).repeat(3)  # σ = 3.40 Å, ε = 10.3 meV
    rep = stability_check(atoms, lennard_jones(["Ar"], epsilon=0.0103, sigma=3.40, rc=8.0), 40.0, ps=1.0, stride=20)
    assert rep["stable"] and rep["completed"] and rep["failed"] is None
    assert rep["ps"] == pytest.approx(1.0, rel=0.05)
    # the nearest neighbour of an LJ solid at T* = 0.33 stays near 2^(1/6) σ = 3.82 Å (fcc: a/√2 = 3.72 Å)
    assert 3.0 < rep["closest_approach_A"]["Ar-Ar"] < 3.72
    assert rep["too_close"] == {}


def test_collapsing_potential_is_reported_not_raised():
    from superionic.md.stability import stability_check

    atoms = bulk("Ar", "fcc", a=5.26, cubic=True).repeat(2)
    atoms.rattle(0.3, seed=2)
    # minimum at 2^(1/6)·0.9 = 1.01 Å, far below the Ar–Ar bound 0.7 × 2 × 1.06 = 1.48 Å, and deep
    rep = stability_check(atoms, lennard_jones(["Ar"], epsilon=0.5, sigma=0.9, rc=8.0), 40.0, ps=0.5, stride=10)
    assert not rep["stable"]
    assert rep["failed"] is not None or rep["too_close"]
    if rep["failed"]:  # through run_md: a guard trip or a LAMMPS error is an MDExplodedError, as on every run
        assert rep["failed"].startswith("MDExplodedError: ")
    if rep["too_close"]:
        assert rep["too_close"]["Ar-Ar"] < rep["pair_bounds_A"]["Ar-Ar"]
    assert np.isfinite(rep["seconds"])
