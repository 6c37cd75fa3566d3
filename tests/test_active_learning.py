"""Resumable labelling and active selection (novelty, committee) with cheap teachers standing in for DFT."""

import numpy as np
import pytest
from ase.calculators.lj import LennardJones

from superionic.errors import InputError
from superionic.potentials.lammps_potentials import lammps_available
from superionic.potentials.training.labelling import LabelStore, config_id, label_configurations

needs_lammps = pytest.mark.skipif(not lammps_available(), reason="LAMMPS not importable")


def _cells(n, sigma=0.1, seed=0, strain=0.0):
    from ase.build import bulk

    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        a = bulk("NaCl", "rocksalt", a=5.6, cubic=True)
        eps = rng.uniform(-strain, strain, (3, 3))
        a.set_cell(np.asarray(a.cell) @ (np.eye(3) + 0.5 * (eps + eps.T)), scale_atoms=True)
        a.positions += rng.normal(0, sigma, a.positions.shape)
        out.append(a)
    return out


def _lj():
    return LennardJones(sigma=2.4, epsilon=0.05, rc=5.0, smooth=True)


class _Dies(LennardJones):
    """A teacher that fails on its `n`-th calculation, like a killed DFT job."""

    def __init__(self, n):
        super().__init__(sigma=2.4, epsilon=0.05, rc=5.0, smooth=True)
        self.n, self.calls = n, 0

    def __call__(self):
        return self

    def calculate(self, *args, **kwargs):
        self.calls += 1
        if self.calls == self.n:
            raise KeyboardInterrupt("killed")
        super().calculate(*args, **kwargs)


def test_config_id_is_stable_and_distinguishes_configurations():
    a, b = _cells(2)
    assert config_id(a) == config_id(a.copy())
    assert config_id(a) != config_id(b)
    c = a.copy()
    c.positions[0, 0] += 1e-3
    assert config_id(c) != config_id(a)


def test_killed_labelling_resumes_without_relabelling(tmp_path):
    frames = _cells(6)
    store = LabelStore(tmp_path / "labels", {"key": "lj-test", "label": "LJ"})
    dying = _Dies(4)  # dies during the 4th label
    with pytest.raises(KeyboardInterrupt):
        label_configurations(frames, dying, store, log=lambda _: None)
    assert len(store) == 3
    calls = []

    def factory():
        calls.append(1)
        return _lj()

    new = label_configurations(frames, factory, store, log=lambda _: None)
    assert len(new) == 3 and len(store) == 6
    got = {a.info["config_id"]: a for a in store.frames()}
    for a in frames:  # every stored label equals a fresh evaluation: nothing lost or duplicated
        b = a.copy()
        b.calc = _lj()
        lab = got[config_id(a)]
        np.testing.assert_allclose(lab.get_forces(), b.get_forces(), atol=1e-6)
        assert abs(lab.get_potential_energy() - b.get_potential_energy()) < 1e-6
    assert label_configurations(frames, factory, store, log=lambda _: None) == []


def test_stored_calculator_makes_finite_displacement_phonons_resumable(tmp_path):
    """A relaxation and phonopy's displaced cells through a label store: the first pass computes, a second
    (the resumed run) replays every configuration from the store with no teacher call and gives the same
    Γ frequencies; both equal the phonons of the plain calculator."""
    from ase.build import bulk
    from ase.calculators.emt import EMT

    from superionic.lattice import harmonic_phonons, relax
    from superionic.potentials.training.labelling import StoredCalculator

    cu = bulk("Cu", "fcc", a=3.60, cubic=True)
    cu.positions[0] += [0.05, 0.0, 0.0]
    calls = []

    def factory():
        calls.append(1)
        return EMT()

    def gamma(calc):
        relaxed, _ = relax(cu, calc, fmax=1e-4, optimizer="BFGS")
        return harmonic_phonons(relaxed, calc, supercell=1, mesh=[1, 1, 1]).gamma_frequencies_thz

    store = LabelStore(tmp_path / "labels", {"key": "emt", "label": "EMT"})
    first = StoredCalculator(store, factory, source="phonons")
    nu1 = gamma(first)
    assert first.computed == len(store) > 5 and calls == [1]
    again = StoredCalculator(LabelStore(tmp_path / "labels", {"key": "emt", "label": "EMT"}), factory)
    nu2 = gamma(again)
    assert again.computed == 0 and calls == [1]  # nothing recomputed, the teacher never built
    np.testing.assert_array_equal(nu1, nu2)
    np.testing.assert_allclose(nu1, gamma(EMT()), atol=1e-6)
    assert {a.info["source"] for a in store.frames()} == {"phonons"}


def test_labels_of_another_teacher_setting_are_refused(tmp_path):
    LabelStore(tmp_path / "labels", {"key": "aaaa", "label": "PBE 400 Ry"})
    with pytest.raises(InputError, match="another teacher setting"):
        LabelStore(tmp_path / "labels", {"key": "bbbb", "label": "PBE 600 Ry"})


def _labelled(frames):
    from superionic.potentials.training.sampling import label

    calc = _lj()
    return [label(a, calc) for a in frames]


@needs_lammps
def test_novelty_picks_the_outlier_and_no_duplicates():
    from superionic.potentials.training.active import novelty_order
    from superionic.potentials.training.train import candidates

    hyper = candidates(["Na", "Cl"], ["linear-6"], zbl=None)["linear-6"]
    pool = _labelled(_cells(6, sigma=0.03, seed=1))
    odd = _labelled(_cells(1, sigma=0.03, seed=2, strain=0.15))
    pool = pool[:3] + odd + pool[3:]
    pool += _labelled([pool[0]])  # an exact duplicate
    order = novelty_order(pool, hyper, labelled=pool[:1], n=4)
    assert order[0] == 3  # the strongly strained cell is the most novel
    assert len(set(order)) == 4 and 0 not in order and len(pool) - 1 not in order[:3]


@needs_lammps
def test_committee_disagrees_more_outside_the_labelled_distribution():
    from superionic.potentials.training.active import committee_spread
    from superionic.potentials.training.train import candidates

    hyper = candidates(["Na", "Cl"], ["linear-6"], zbl=None)["linear-6"]
    labelled = _labelled(_cells(12, sigma=0.05, seed=3))
    near = _labelled(_cells(5, sigma=0.05, seed=4))
    far = _labelled(_cells(5, sigma=0.35, seed=5))
    s = committee_spread(labelled, near + far, hyper, n_models=6)
    assert np.all(s >= 0)
    assert s[5:].mean() > 3 * s[:5].mean(), s


@needs_lammps
def test_learning_rounds_label_refit_and_resume(tmp_path):
    """Novelty first, then committee rounds, until the budget; a second call resumes and labels nothing twice."""
    from superionic.potentials.training.teach import learn

    pool = _labelled(_cells(16, sigma=0.08, seed=6) + _cells(6, sigma=0.08, seed=7, strain=0.05))
    store = LabelStore(tmp_path / "labels", {"key": "lj", "label": "LJ"})
    kw = dict(initial=5, per_round=3, max_labels=11, force_target=1e-6, families=["linear-6"], log=lambda _: None)
    rec = learn(pool, store, _lj, tmp_path / "pot", "toy", **kw)
    assert len(store) == 11
    assert [r["n_labels"] for r in rec["rounds"]] == [5, 8, 11]
    assert not rec["rounds"][-1]["gate_met"]  # an unreachable target is reported as not met
    ids = [a.info["config_id"] for a in store.frames()]
    assert len(set(ids)) == 11
    rec2 = learn(pool, store, _lj, tmp_path / "pot", "toy", **{**kw, "max_labels": 14})
    assert len(store) == 14 and rec2["rounds"][-1]["n_labels"] == 14
    # the rounds of the first call are kept, not overwritten: 5, 8, 11, then 11 (refit on resume) and 14
    assert [r["n_labels"] for r in rec2["rounds"]] == [5, 8, 11, 11, 14]
    rounds = [r["round"] for r in rec2["rounds"]]
    assert rounds == sorted(set(rounds))  # numbered on, not restarted
    assert (tmp_path / "pot" / "toy.lammps.json").exists()


@needs_lammps
def test_cli_dft_teacher_path_samples_once_labels_and_resumes(tmp_path, monkeypatch):
    """`train-potential --teacher <a dft-kind potential>`: pool written once and reused, labels resumable."""
    import json

    from typer.testing import CliRunner

    from superionic.cli.app import app
    from superionic.potentials.registry import REGISTRY, PotentialSpec

    made = []

    def fake_dft(**_):
        made.append(1)
        return _lj()

    monkeypatch.setitem(
        REGISTRY, "fake-dft", PotentialSpec("fake-dft", "ase", "LJ standing in for DFT", fake_dft, kind="dft")
    )
    args = ["train-potential", "--teacher", "fake-dft", "--sampler", "lj", "--name", "toy", "--out", str(tmp_path)]
    args += ["--material", "Li6PS5Cl", "--temperatures", "300", "--md-steps", "40", "--label-every", "4"]
    args += ["--strained", "2", "--close-contacts", "0", "--initial-labels", "4", "--per-round", "2"]
    args += ["--families", "linear-2", "--force-target", "1e-6"]
    res = CliRunner().invoke(app, args + ["--max-labels", "6"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "pool.extxyz").exists()
    assert json.loads((tmp_path / "labels" / "teacher.json").read_text())["name"] == "fake-dft"
    assert len(list((tmp_path / "labels").glob("*.extxyz"))) == 6
    res = CliRunner().invoke(app, args + ["--max-labels", "8"])
    assert res.exit_code == 0, res.output
    assert "reusing the candidate pool" in res.output
    assert len(list((tmp_path / "labels").glob("*.extxyz"))) == 8
    rounds = json.loads((tmp_path / "toy-v1.rounds.json").read_text())
    assert rounds[-1]["n_labels"] == 8 and not rounds[-1]["gate_met"]


def test_a_configuration_the_teacher_cannot_label_is_recorded_and_skipped(tmp_path):
    from superionic.potentials.dft import TeacherFailed

    class Refuses(LennardJones):
        def calculate(self, atoms=None, *args, **kwargs):
            if atoms is not None and atoms.positions[0, 0] > 0.0:
                raise TeacherFailed("SCF did not converge")
            super().calculate(atoms, *args, **kwargs)

    frames = _cells(4)
    frames[2].positions[0, 0] = 0.3  # the one that fails
    for a in frames[:2] + frames[3:]:
        a.positions[0, 0] = -0.1
    store = LabelStore(tmp_path / "labels", {"key": "lj"})
    new = label_configurations(frames, lambda: Refuses(sigma=2.4, epsilon=0.05, rc=5.0), store, log=lambda _: None)
    assert len(new) == 3 and len(store) == 3
    assert list(store.failed()) == [config_id(frames[2])]
    assert label_configurations(frames, _lj, store, log=lambda _: None) == []  # not retried
