"""Phonon-suppression protocols on cheap potentials: frozen host never moves, tethered interpolates
between frozen (k → ∞) and free (k → 0), rigid anions keep their shape but move."""

import json

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.calculators.lj import LennardJones
from ase.units import kB

from superionic.errors import InputError
from superionic.materials.argyrodite import li6ps5cl_ordered
from superionic.md import MDSettings, read_thermo, reference_from_trajectory, run_nvt
from superionic.trajectory import read_trajectory
from superionic.trajectory.unwrap import unwrap_positions

T0 = 600.0


def cuag():
    """Cu28Ag4 (EMT): Ag plays the mobile ion, Cu the host."""
    atoms = bulk("Cu", "fcc", a=3.63, cubic=True).repeat(2)
    sym = atoms.get_chemical_symbols()
    for i in (0, 9, 18, 27):
        sym[i] = "Ag"
    atoms.set_chemical_symbols(sym)
    return atoms


def settings(**kw):
    base = dict(
        temperature=T0,
        steps=400,
        dt=4.0,
        stride=4,
        chunk=20,
        equilibration_steps=100,
        seed=11,
        mobile=["Ag"],
        production_friction=0.02,
    )
    return MDSettings(**{**base, **kw})


@pytest.fixture(scope="module")
def free_run(tmp_path_factory):
    d = tmp_path_factory.mktemp("free")
    run_nvt(cuag(), EMT(), settings(), d)
    return d


def host_msd_about(traj, host, ref):
    pos = unwrap_positions(traj.positions, traj.cells)[:, host]
    return float(np.mean(np.sum((pos - ref[host]) ** 2, axis=-1)))


def test_frozen_host_never_moves(free_run, tmp_path):
    run_nvt(cuag(), EMT(), settings(protocol="frozen-host", reference=str(free_run)), tmp_path)
    t = read_trajectory(tmp_path / "trajectory.h5")
    ref = reference_from_trajectory(free_run)
    host = t.indices("Cu")
    np.testing.assert_array_equal(t.positions[:, host], np.broadcast_to(t.positions[0, host], (t.n_frames, 28, 3)))
    np.testing.assert_allclose(t.positions[0, host], ref["mean"][host], atol=1e-4)  # float32 storage
    assert np.all(t.velocities[:, host] == 0)
    ag = t.indices("Ag")
    assert np.ptp(t.positions[:, ag], axis=0).max() > 0.1  # mobile ions move
    # the mobile-ion temperature stays at the target (3 N_Ag dof)
    v = t.velocities[:, ag]
    T_ag = np.mean(np.sum(107.87 * v**2, axis=(1, 2))) * 103.6427 / (3 * len(ag) * kB)
    assert T_ag == pytest.approx(T0, rel=0.25)
    desc = json.loads((tmp_path / "run.json").read_text())["protocol"]
    assert desc["name"] == "frozen-host" and "Cu" in desc["suppressed"] and desc["host_species"] == ["Cu"]


def test_tether_stiffness_limits(free_run, tmp_path):
    ref = reference_from_trajectory(free_run)
    t_free = read_trajectory(free_run / "trajectory.h5")
    host = t_free.indices("Cu")
    msd_free = host_msd_about(t_free, host, ref["mean"])
    msd = {}
    for k in (1e-3, 20.0):
        d = tmp_path / f"k{k:g}"
        run_nvt(cuag(), EMT(), settings(protocol="tethered", reference=str(free_run), tether_stiffness=k), d)
        msd[k] = host_msd_about(read_trajectory(d / "trajectory.h5"), host, ref["mean"])
    stiff_bound = 3 * kB * T0 / 20.0  # equipartition for the spring alone (lattice only stiffens)
    assert msd[20.0] < 1.3 * stiff_bound and msd[20.0] < 0.3 * msd_free, (msd, msd_free)
    assert msd[1e-3] > 0.5 * msd_free, (msd, msd_free)  # k → 0 recovers the free host


def test_stiffness_scan_folders(free_run, tmp_path):
    from superionic.md import run_stiffness_scan

    paths = run_stiffness_scan(
        cuag(), EMT(), settings(reference=str(free_run), steps=20, equilibration_steps=0), [0.5, 5.0], tmp_path
    )
    assert sorted(paths) == [0.5, 5.0]
    desc = json.loads((tmp_path / "k5" / "run.json").read_text())["protocol"]
    assert desc["name"] == "tethered" and desc["stiffness_eV_per_A2"] == 5.0
    assert json.loads((tmp_path / "scan.json").read_text())["folders"] == ["k0.5", "k5"]


def test_tether_energy_is_harmonic():
    from superionic.md import HarmonicTether

    atoms = cuag()
    ref = atoms.positions.copy()
    atoms.calc = EMT()
    e0 = atoms.get_potential_energy()
    atoms.set_constraint(HarmonicTether([1, 2], ref[[1, 2]], 3.0))
    atoms.positions[1] += [0.1, 0.0, 0.0]
    atoms.positions[2] += [0.0, 0.0, -0.2]
    e_spring = atoms.get_potential_energy() - atoms.get_potential_energy(apply_constraint=False)
    assert e_spring == pytest.approx(0.5 * 3.0 * (0.01 + 0.04))
    f = atoms.get_forces() - atoms.get_forces(apply_constraint=False)
    np.testing.assert_allclose(f[1], [-0.3, 0, 0], atol=1e-12)
    assert e0 is not None


def test_rigid_anions_keep_shape_and_move(tmp_path):
    atoms = li6ps5cl_ordered()
    calc = LennardJones(sigma=2.0, epsilon=0.05, rc=5.0, smooth=True)
    s = MDSettings(
        temperature=300,
        steps=150,
        dt=2.0,
        stride=5,
        chunk=10,
        equilibration_steps=30,
        seed=2,
        protocol="rigid-anions",
        production_friction=0.02,
    )
    run_nvt(atoms, calc, s, tmp_path)
    t = read_trajectory(tmp_path / "trajectory.h5")
    units = json.loads((tmp_path / "run.json").read_text())["protocol"]
    assert units["units"] == 4 and units["unit"] == "PS4"
    pos = unwrap_positions(t.positions, t.cells)
    with np.load(tmp_path / "protocol.npz") as f:
        unit_list = f["units"]
    rotations, shifts = [], []
    for u in unit_list:
        rel = pos[:, u] - pos[:, u[:1]]
        rel -= t.cells[0, 0, 0] * np.round(rel / t.cells[0, 0, 0])  # minimum image (cubic cell)
        d = np.linalg.norm(rel[:, :, None] - rel[:, None, :], axis=-1)  # all 5×5 distances
        assert np.abs(d[0][0, 1:] - 2.049).max() < 0.01  # P–S bonds of the structure
        assert np.abs(d - d[0]).max() < 2e-4  # rigid (float32 storage)
        p = u[0]
        v0, v1 = rel[0, 1], rel[-1, 1]
        rotations.append(np.degrees(np.arccos(np.clip(v0 @ v1 / (v0 @ v0), -1, 1))))
        shifts.append(np.linalg.norm(pos[-1, p] - pos[0, p]))
    assert max(rotations) > 1.0 and max(shifts) > 0.01  # rigid-body motion kept
    T = read_thermo(tmp_path)["temperature_K"]
    assert T.mean() == pytest.approx(300, rel=0.2)  # T over remaining dof


def test_suppressed_protocols_need_a_compatible_reference(free_run, tmp_path):
    with pytest.raises(InputError, match="free run"):
        run_nvt(cuag(), EMT(), settings(protocol="frozen-host"), tmp_path / "a")
    other = cuag()
    other.set_chemical_symbols(other.get_chemical_symbols()[1:] + other.get_chemical_symbols()[:1])
    with pytest.raises(InputError, match="different atoms"):
        run_nvt(other, EMT(), settings(protocol="tethered", reference=str(free_run)), tmp_path / "b")
    with pytest.raises(InputError, match="nose-hoover"):
        run_nvt(
            cuag(),
            EMT(),
            settings(protocol="frozen-host", reference=str(free_run), thermostat="nose-hoover"),
            tmp_path / "c",
        )
    with pytest.raises(InputError, match="not found"):
        run_nvt(cuag(), EMT(), settings(protocol="tethered", reference=str(tmp_path / "nothing")), tmp_path / "d")


def test_time_averaged_host_that_is_not_a_structure_is_refused():
    """Anion rotations in the free run average S positions toward P: a frozen host built from such a
    mean would put atoms on top of each other, so it is refused with a clear message."""
    import numpy as np
    import pytest

    from superionic.errors import InputError
    from superionic.materials import build_material
    from superionic.md.protocols import check_host_reference

    atoms = build_material("Li6PS5Cl")
    symbols = atoms.get_chemical_symbols()
    host = np.array([s != "Li" for s in symbols])
    check_host_reference(atoms.get_positions(), atoms.cell, symbols, host)  # the crystal passes
    pos = atoms.get_positions().copy()
    p, s = symbols.index("P"), symbols.index("S")
    pos[s] = pos[p] + np.array([0.3, 0.0, 0.0])  # S averaged onto its P
    with pytest.raises(InputError, match="not a structure"):
        check_host_reference(pos, atoms.cell, symbols, host)


def test_mean_host_with_a_bond_shorter_than_any_instantaneous_one_is_refused():
    """A PS4 unit that reoriented during the free run averages one S to 1.5 Å from its P: above the absolute
    floor (1.2 Å) but far below the closest host pair of any frame (P–S 2.05 Å here), so with an instantaneous
    frame it is refused, and `auto` chooses the quenched host, saying why."""
    import numpy as np
    import pytest

    from superionic.errors import InputError
    from superionic.materials import build_material
    from superionic.md.host_reference import MIN_DISTANCE_FRACTION, host_distance_floor, resolve_host_reference
    from superionic.md.protocols import check_host_reference

    atoms = build_material("Li6PS5Cl")
    symbols = atoms.get_chemical_symbols()
    host = np.array([s != "Li" for s in symbols])
    crystal = atoms.get_positions()
    d_min = atoms[host].get_all_distances(mic=True)[np.triu_indices(int(host.sum()), 1)].min()
    floor = host_distance_floor(atoms.cell, symbols, host, crystal)
    assert floor == pytest.approx(MIN_DISTANCE_FRACTION * d_min) and 1.7 < floor < 1.9
    pos = crystal.copy()
    p = symbols.index("P")
    s = int(np.argmin(np.where(np.array(symbols) == "S", atoms.get_distances(p, range(len(atoms)), mic=True), np.inf)))
    pos[s] = pos[p] + 1.5 * (pos[s] - pos[p]) / np.linalg.norm(pos[s] - pos[p])
    check_host_reference(pos, atoms.cell, symbols, host)  # above the absolute floor alone
    with pytest.raises(InputError, match="not a structure"):
        check_host_reference(pos, atoms.cell, symbols, host, instantaneous=crystal)
    reference = {"mean": pos, "last": crystal, "cell": np.asarray(atoms.cell), "symbols": symbols}
    with pytest.raises(InputError, match="calculator"):  # auto falls back to the quench, which needs one
        resolve_host_reference(reference, "auto", host)
    assert resolve_host_reference({**reference, "mean": crystal}, "auto", host)["host_reference"] == "mean"


# -- host references: mean | snapshot | quenched | auto -------------------------------------------------


def quick(**kw):
    return settings(steps=20, equilibration_steps=0, **kw)


def max_force(positions, calc=None):
    a = cuag()
    a.set_positions(positions)
    a.calc = calc or EMT()
    return float(np.linalg.norm(a.get_forces(), axis=1).max())


def test_snapshot_reference_is_the_free_runs_last_frame(free_run, tmp_path):
    from superionic.md.protocols import resolve_host_reference

    ref = reference_from_trajectory(free_run)
    host = np.arange(32)[np.array(cuag().get_chemical_symbols()) == "Cu"]
    np.testing.assert_array_equal(resolve_host_reference(ref, "snapshot", host)["host"], ref["last"])
    run_nvt(cuag(), EMT(), quick(protocol="frozen-host", reference=str(free_run), host_reference="snapshot"), tmp_path)
    t = read_trajectory(tmp_path / "trajectory.h5")
    np.testing.assert_allclose(t.positions[0], ref["last"], atol=1e-4)  # host and mobile ions: last frame
    desc = json.loads((tmp_path / "run.json").read_text())["protocol"]
    assert desc["host_reference"] == "snapshot" and "last frame" in desc["suppressed"]


def test_a_host_taken_earlier_in_the_free_run_is_that_frame(free_run, tmp_path):
    """host_time 0.5: the host and the mobile ions start at the free run's middle frame, recorded in run.json; a
    host_time outside (0, 1] or on a free run is refused."""
    from superionic.md.settings import differing_settings

    full = reference_from_trajectory(free_run)
    half = reference_from_trajectory(free_run, at=0.5)
    assert half["frame"] == round(0.5 * (full["frames"] - 1)) and full["frame"] == full["frames"] - 1
    np.testing.assert_array_equal(half["mean"], full["mean"])
    assert not np.allclose(half["last"], full["last"])
    s = quick(protocol="frozen-host", reference=str(free_run), host_reference="snapshot", host_time=0.5)
    run_nvt(cuag(), EMT(), s, tmp_path)
    t = read_trajectory(tmp_path / "trajectory.h5")
    np.testing.assert_allclose(t.positions[0], half["last"], atol=1e-4)
    info = json.loads((tmp_path / "run.json").read_text())
    assert info["protocol"]["reference_frame"] == half["frame"]
    assert differing_settings(info, quick(protocol="frozen-host", reference=str(free_run), host_reference="snapshot"))
    with pytest.raises(InputError, match="host_time is a fraction"):
        quick(protocol="frozen-host", host_time=1.5).validate()
    with pytest.raises(InputError, match="host_time applies to the frozen-host and tethered"):
        quick(host_time=0.5).validate()


def test_quenched_reference_is_a_force_minimum(free_run, tmp_path):
    from superionic.md.protocols import QUENCH_FMAX, resolve_host_reference

    ref = reference_from_trajectory(free_run)
    host = np.flatnonzero(np.array(cuag().get_chemical_symbols()) == "Cu")
    assert max_force(ref["last"]) > 10 * QUENCH_FMAX  # a thermal frame is far from a minimum
    q = resolve_host_reference(ref, "quenched", host, EMT())
    assert q["host_reference"] == "quenched" and q["quench"]["converged"]
    assert max_force(q["host"]) < QUENCH_FMAX
    assert q["quench"]["fmax_eV_per_A"] == pytest.approx(max_force(q["host"]))
    assert q["quench"]["energy_final_eV"] < q["quench"]["energy_initial_eV"]
    # a tethered run ties the host to the quenched positions; its description records the quench
    run_nvt(
        cuag(),
        EMT(),
        quick(protocol="tethered", reference=str(free_run), host_reference="quenched", tether_stiffness=2.0),
        tmp_path,
    )
    with np.load(tmp_path / "protocol.npz") as p:
        np.testing.assert_allclose(p["tether_reference"], q["host"][host], atol=1e-10)
    desc = json.loads((tmp_path / "run.json").read_text())["protocol"]
    assert desc["host_reference"] == "quenched" and desc["quench"]["fmax_eV_per_A"] < QUENCH_FMAX
    assert "energy minimum" in desc["suppressed"]
    with pytest.raises(InputError, match="calculator"):
        resolve_host_reference(ref, "quenched", host, None)


def swapping_free_run(path):
    """A fake free run of Cu28Ag4 in which two neighbouring Cu atoms exchange sites half-way: their time
    averages coincide (the mean is not a structure); every frame is one."""
    from superionic.trajectory.h5md import H5MDWriter

    atoms = cuag()
    rng = np.random.default_rng(3)
    w = H5MDWriter(path, atoms.get_chemical_symbols(), atoms.get_masses(), 1.0, chunk=4)
    for i in range(10):
        pos = atoms.get_positions() + rng.normal(0, 0.05, (32, 3))
        if i >= 5:
            pos[[1, 2]] = pos[[2, 1]]
        w.append(i * 4, pos, np.asarray(atoms.cell), np.zeros((32, 3)))
    w.close()
    return path


def test_auto_falls_back_to_quenched_when_the_mean_is_not_a_structure(tmp_path):
    from superionic.md.protocols import QUENCH_FMAX, resolve_host_reference

    ref = reference_from_trajectory(swapping_free_run(tmp_path / "free.h5"))
    assert np.linalg.norm(ref["mean"][1] - ref["mean"][2]) < 0.2  # collapsed onto each other
    with pytest.raises(InputError, match="not a structure.*host-reference"):
        run_nvt(cuag(), EMT(), quick(protocol="frozen-host", reference=str(tmp_path / "free.h5")), tmp_path / "m")
    run_nvt(
        cuag(),
        EMT(),
        quick(protocol="frozen-host", reference=str(tmp_path / "free.h5"), host_reference="auto"),
        tmp_path / "a",
    )
    desc = json.loads((tmp_path / "a" / "run.json").read_text())["protocol"]
    assert desc["host_reference"] == "quenched" and "not a structure" in desc["host_reference_reason"]
    assert "Cu atom 1 and Cu atom 2" in desc["host_reference_reason"]
    host = np.flatnonzero(np.array(cuag().get_chemical_symbols()) == "Cu")
    q = resolve_host_reference(ref, "auto", host, EMT())
    assert max_force(q["host"]) < QUENCH_FMAX
    t = read_trajectory(tmp_path / "a" / "trajectory.h5")
    np.testing.assert_allclose(t.positions[0, host], q["host"][host], atol=1e-4)


def test_auto_keeps_the_mean_when_it_is_a_structure(free_run):
    from superionic.md.protocols import resolve_host_reference

    ref = reference_from_trajectory(free_run)
    host = np.flatnonzero(np.array(cuag().get_chemical_symbols()) == "Cu")
    r = resolve_host_reference(ref, "auto", host)  # no calculator needed: no quench
    assert r["host_reference"] == "mean" and "is a structure" in r["host_reference_reason"] and "quench" not in r
    np.testing.assert_array_equal(r["host"], ref["mean"])


def test_host_reference_settings_are_checked():
    with pytest.raises(InputError, match="unknown host reference"):
        settings(protocol="frozen-host", host_reference="average").validate()
    with pytest.raises(InputError, match="frozen-host and tethered"):
        settings(protocol="free", host_reference="snapshot").validate()


def test_lammps_start_holds_the_host_at_the_chosen_reference(free_run, tmp_path):
    """The LAMMPS engine ties the host to its starting positions when no reference run is named:
    `host_reference_start` puts the host there and records the choice in the run's metadata."""
    from superionic.md.run import host_reference_start

    ref = reference_from_trajectory(free_run)
    s = quick(protocol="frozen-host", reference=str(free_run), host_reference="snapshot")
    start, s2 = host_reference_start(cuag(), s, None)
    np.testing.assert_allclose(start.get_positions(), ref["last"])
    assert s2.reference is None and s2.metadata["host_reference"]["host_reference"] == "snapshot"
    assert s2.metadata["host_reference"]["reference"] == str(free_run / "trajectory.h5")
    again = host_reference_start(cuag(), s2, None)[0]  # a resumed run resolves it again
    np.testing.assert_allclose(again.get_positions(), ref["last"])
    assert host_reference_start(cuag(), settings(protocol="frozen-host", reference=str(free_run)))[1].reference
    from superionic.potentials.lammps_potentials import lammps_available, lennard_jones

    if not lammps_available():
        pytest.skip("LAMMPS not installed")
    from superionic.md.lammps_engine import run_nvt_lammps

    t = read_trajectory(run_nvt_lammps(start, lennard_jones(["Cu", "Ag"], sigma=2.3, epsilon=0.05), s2, tmp_path))
    host = t.indices("Cu")
    np.testing.assert_allclose(t.positions[:, host], np.broadcast_to(ref["last"][host], (t.n_frames, 28, 3)), atol=1e-4)
    assert (
        json.loads((tmp_path / "run.json").read_text())["settings"]["metadata"]["host_reference"]["host_reference"]
        == "snapshot"
    )


def test_a_finished_run_on_a_mean_host_the_check_now_refuses_is_stale(tmp_path):
    """A frozen-host run made on a time-averaged host that passed the old absolute floor (1.2 Å) but has a
    P–S pair far shorter than any frame's is reported with the reason; one on a sound mean host is not."""

    import numpy as np
    from scipy.spatial.transform import Rotation

    from superionic.materials import build_material
    from superionic.md.host_reference import recorded_mean_host_invalid
    from superionic.trajectory import Trajectory
    from superionic.trajectory.h5md import write_h5md

    atoms = build_material("Li6PS5Cl")
    symbols = atoms.get_chemical_symbols()
    crystal = atoms.get_positions()
    p = symbols.index("P")
    d = atoms.get_distances(p, range(len(atoms)), mic=True)
    s = int(np.argmin(np.where(np.array(symbols) == "S", d, np.inf)))
    bond = atoms.get_distance(p, s, mic=True, vector=True)
    # the PS4 unit turned by 120° about that P–S bond (a symmetry reorientation): its last frame is a perfect
    # tetrahedron, but averaged over 3 frames before and 1 after, the other three S sit 1.45 Å from P
    others = [i for i in np.argsort(d) if symbols[i] == "S" and i != s][:3]
    turn = Rotation.from_rotvec(2 * np.pi / 3 * bond / np.linalg.norm(bond))
    turned = crystal.copy()
    turned[others] = crystal[p] + turn.apply(atoms.get_distances(p, others, mic=True, vector=True))

    def run(name, frames):
        free = tmp_path / name
        free.mkdir()
        cells = np.repeat(np.asarray(atoms.cell)[None], len(frames), axis=0)
        write_h5md(free / "trajectory.h5", Trajectory(np.array(frames), cells, symbols, dt=10.0))
        meta = {"host_reference": {"host_reference": "mean", "reference": str(free / "trajectory.h5")}}
        return {"settings": {"protocol": "frozen-host", "mobile": ["Li"], "metadata": meta}}

    assert recorded_mean_host_invalid(run("sound", [crystal, crystal])) is None
    why = recorded_mean_host_invalid(run("turned", [crystal, crystal, crystal, turned]))
    assert why is not None and "not a structure" in why and "1.4" in why
    assert recorded_mean_host_invalid({"settings": {"protocol": "free"}}) is None
