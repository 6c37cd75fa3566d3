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
    base = dict(temperature=T0, steps=400, dt=4.0, stride=4, chunk=20, equilibration_steps=100, seed=11,
                mobile=["Ag"], production_friction=0.02)
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
    np.testing.assert_allclose(t.positions[0, host], ref["mean"][host], atol=1e-4)   # float32 storage
    assert np.all(t.velocities[:, host] == 0)
    ag = t.indices("Ag")
    assert np.ptp(t.positions[:, ag], axis=0).max() > 0.1                            # mobile ions move
    # the mobile-ion temperature stays at the target (3 N_Ag dof)
    v = t.velocities[:, ag]
    T_ag = np.mean(np.sum(107.87 * v ** 2, axis=(1, 2))) * 103.6427 / (3 * len(ag) * kB)
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
    stiff_bound = 3 * kB * T0 / 20.0               # equipartition for the spring alone (lattice only stiffens)
    assert msd[20.0] < 1.3 * stiff_bound and msd[20.0] < 0.3 * msd_free, (msd, msd_free)
    assert msd[1e-3] > 0.5 * msd_free, (msd, msd_free)           # k → 0 recovers the free host


def test_stiffness_scan_folders(free_run, tmp_path):
    from superionic.md import run_stiffness_scan
    paths = run_stiffness_scan(cuag(), EMT(), settings(reference=str(free_run), steps=20, equilibration_steps=0),
                               [0.5, 5.0], tmp_path)
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
    s = MDSettings(temperature=300, steps=150, dt=2.0, stride=5, chunk=10, equilibration_steps=30, seed=2,
                   protocol="rigid-anions", production_friction=0.02)
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
        rel -= t.cells[0, 0, 0] * np.round(rel / t.cells[0, 0, 0])                # minimum image (cubic cell)
        d = np.linalg.norm(rel[:, :, None] - rel[:, None, :], axis=-1)            # all 5×5 distances
        assert np.abs(d[0][0, 1:] - 2.049).max() < 0.01                          # P–S bonds of the structure
        assert np.abs(d - d[0]).max() < 2e-4                                       # rigid (float32 storage)
        p = u[0]
        v0, v1 = rel[0, 1], rel[-1, 1]
        rotations.append(np.degrees(np.arccos(np.clip(v0 @ v1 / (v0 @ v0), -1, 1))))
        shifts.append(np.linalg.norm(pos[-1, p] - pos[0, p]))
    assert max(rotations) > 1.0 and max(shifts) > 0.01                            # rigid-body motion kept
    T = read_thermo(tmp_path)["temperature_K"]
    assert T.mean() == pytest.approx(300, rel=0.2)                                # T over remaining dof


def test_suppressed_protocols_need_a_compatible_reference(free_run, tmp_path):
    with pytest.raises(InputError, match="free run"):
        run_nvt(cuag(), EMT(), settings(protocol="frozen-host"), tmp_path / "a")
    other = cuag()
    other.set_chemical_symbols(other.get_chemical_symbols()[1:] + other.get_chemical_symbols()[:1])
    with pytest.raises(InputError, match="different atoms"):
        run_nvt(other, EMT(), settings(protocol="tethered", reference=str(free_run)), tmp_path / "b")
    with pytest.raises(InputError, match="nose-hoover"):
        run_nvt(cuag(), EMT(), settings(protocol="frozen-host", reference=str(free_run), thermostat="nose-hoover"),
                tmp_path / "c")
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
    check_host_reference(atoms.get_positions(), atoms.cell, symbols, host)          # the crystal passes
    pos = atoms.get_positions().copy()
    p, s = symbols.index("P"), symbols.index("S")
    pos[s] = pos[p] + np.array([0.3, 0.0, 0.0])                                   # S averaged onto its P
    with pytest.raises(InputError, match="not a structure"):
        check_host_reference(pos, atoms.cell, symbols, host)
