"""Bounded-memory analyses (issue 12): streamed over atom blocks and time chunks, equal to the in-memory
functions (to float rounding), and never reading more than a block or a chunk at a time."""

import os
import warnings

import h5py
import numpy as np
import pytest

from superionic.analysis import diffusion as dm
from superionic.analysis import finite_size as fsz
from superionic.analysis import scattering as sc
from superionic.analysis import vdos as vm
from superionic.errors import InputError
from superionic.trajectory import Trajectory, h5md_read, read_trajectory
from superionic.trajectory import blocks as bl
from superionic.trajectory.h5md import H5MDReader, read_h5md
from superionic.trajectory.unwrap import unwrap_positions

FIXTURE = os.path.join(os.path.dirname(__file__), "data", "li6ps5cl_snap_400K_subset.h5")


@pytest.fixture(scope="module")
def real():
    return read_trajectory(FIXTURE)


def mixed(n_frames=400, seed=3, velocities=True, masses=None):
    """7 Li random walkers crossing a small triclinic box many times, 4 vibrating S, 2 Cl drifting."""
    rng = np.random.default_rng(seed)
    cell = np.array([[9.0, 0.0, 0.0], [1.5, 8.5, 0.0], [0.7, -1.1, 10.0]])
    n_li, n_s, n_cl = 7, 4, 2
    sites = rng.uniform(0, 1, (n_s + n_cl, 3)) @ cell
    li = rng.uniform(0, 1, (n_li, 3)) @ cell + np.cumsum(rng.normal(0, 0.6, (n_frames, n_li, 3)), axis=0)
    t = np.arange(n_frames)[:, None, None]
    host = sites[None] + 0.2 * np.sin(0.3 * t + rng.uniform(0, 6, (1, n_s + n_cl, 3)))
    host[:, n_s:] += 0.01 * t  # a drifting framework part
    pos = np.concatenate([li, host], axis=1)
    frac = pos @ np.linalg.inv(cell)
    wrapped = (frac - np.floor(frac)) @ cell
    vel = np.gradient(pos, axis=0) / 2.0 if velocities else None
    symbols = ["Li"] * n_li + ["S"] * n_s + ["Cl"] * n_cl
    return Trajectory(
        positions=wrapped,
        cells=cell,
        symbols=symbols,
        dt=2.0,
        velocities=vel,
        masses=masses,
        metadata={"temperature": 500.0},
    )


def assert_same(a, b, rtol=1e-9):
    """Two Datasets equal to float rounding: variables, coordinates and attributes."""
    assert set(a.data_vars) == set(b.data_vars)
    assert set(a.coords) == set(b.coords)
    for name in list(a.data_vars) + list(a.coords):
        x, y = np.asarray(a[name].values), np.asarray(b[name].values)
        assert x.shape == y.shape, name
        if x.dtype.kind in "fc":
            scale = np.nanmax(np.abs(x)) if np.isfinite(x).any() else 1.0
            np.testing.assert_allclose(y, x, rtol=rtol, atol=1e-12 * max(scale, 1e-300), equal_nan=True, err_msg=name)
        else:
            assert np.array_equal(x, y), name
    assert {k: str(v) for k, v in a.attrs.items()} == {k: str(v) for k, v in b.attrs.items()}


class RecordingSource(bl.TrajectorySource):
    """A source that records the (frames, atoms) of every piece it is asked for."""

    def __init__(self, traj):
        super().__init__(traj)
        self.pieces = []

    def read_positions(self, atoms=None, start=0, stop=None):
        out = super().read_positions(atoms, start, stop)
        self.pieces.append(("positions", out.shape[0], out.shape[1]))
        return out

    def read_velocities(self, atoms=None, start=0, stop=None):
        out = super().read_velocities(atoms, start, stop)
        self.pieces.append(("velocities", out.shape[0], out.shape[1]))
        return out


@pytest.fixture
def small_chunks(monkeypatch):
    """Time chunks of at most 40 frames of 13 atoms."""
    monkeypatch.setattr(bl, "CHUNK_VALUES", 3 * 13 * 40)


def assert_bounded(src, block):
    """Every piece read is all frames of at most `block` atoms, or a time chunk of CHUNK_VALUES values."""
    assert src.pieces
    for _, frames, atoms in src.pieces:
        assert atoms <= block or frames * atoms * 3 <= bl.CHUNK_VALUES, (frames, atoms)


# ----------------------------------------------------------------------------- reading
def test_reader_reads_atom_subsets_in_pieces(real, monkeypatch):
    sel = np.array([3, 7, 20, 21, 22, 40])
    sub = read_h5md(FIXTURE, atoms=sel[::-1], start=2, stride=3)
    assert sub.symbols == [real.symbols[i] for i in sel]
    np.testing.assert_array_equal(sub.positions, real.positions[2::3, sel])
    np.testing.assert_array_equal(sub.velocities, real.velocities[2::3, sel])
    np.testing.assert_array_equal(sub.masses, real.masses[sel])
    # HDF5 is asked for at most _SCAN_VALUES values (the span of the atoms × a few frames) per read
    monkeypatch.setattr(h5md_read, "_SCAN_VALUES", 3 * 50 * 38)
    shapes = []
    real_getitem = h5py.Dataset.__getitem__

    def getitem(self, key):
        out = real_getitem(self, key)
        if self.name.endswith("position/value"):
            shapes.append(out.shape)
        return out

    monkeypatch.setattr(h5py.Dataset, "__getitem__", getitem)
    with H5MDReader(FIXTURE) as r:
        assert r.n_frames == real.n_frames and r.dt == real.dt and r.symbols == real.symbols
        np.testing.assert_array_equal(r.cells, real.cells)
        shapes.clear()
        np.testing.assert_array_equal(r.read_positions(sel, 5, 900), real.positions[5:900, sel])
        assert shapes and max(s[0] * s[1] for s in shapes) <= 50 * 38 and len(shapes) == -(-895 // 50)
        np.testing.assert_array_equal(r.read_velocities(sel[:2], 0, 10), real.velocities[:10, sel[:2]])
    with pytest.raises(InputError, match="closed"):
        r.read_positions(sel)
    with pytest.raises(InputError, match="empty"):
        read_h5md(FIXTURE, atoms=[])
    with pytest.raises(InputError, match="must lie in"):
        read_h5md(FIXTURE, atoms=[0, 48])


@pytest.mark.parametrize("chunk", [1, 7, 400])
def test_unwrapping_continues_across_time_chunks(chunk):
    traj = mixed()
    cells = traj.cells * (1 + 0.001 * np.sin(np.arange(traj.n_frames)))[:, None, None]  # a breathing cell
    ref = unwrap_positions(traj.positions, cells)
    u = bl.Unwrapper()
    out = np.concatenate(
        [u(traj.positions[s : s + chunk], cells[s : s + chunk]) for s in range(0, traj.n_frames, chunk)]
    )
    np.testing.assert_allclose(out, ref, rtol=0, atol=1e-11)
    assert np.abs(ref - traj.positions).max() > 20  # the atoms did cross the box


# ----------------------------------------------------------------------------- diffusion
@pytest.mark.parametrize("block", [1, 3, 7, None])
def test_diffusion_streamed_equals_in_memory_synthetic(block, small_chunks):
    traj = mixed()
    ref = dm.diffusion(traj, ["Li", "Cl"], max_lag=150)
    src = RecordingSource(traj)
    got = dm.diffusion_from_file(src, ["Li", "Cl"], max_lag=150, block_atoms=block)
    assert_same(ref, got)
    assert_bounded(src, block or traj.n_atoms)
    assert "D_GK" in got and np.isfinite(got.alpha2.values).all()


def test_diffusion_from_the_real_file(real, monkeypatch):
    checks = []
    check = h5md_read._Source.check
    monkeypatch.setattr(h5md_read._Source, "check", lambda self, keep=False: checks.append(1) or check(self, keep))
    ref = dm.diffusion(real, ["Li", "Cl"])
    assert_same(ref, dm.diffusion_from_file(FIXTURE, ["Li", "Cl"], block_atoms=5))
    assert len(checks) == 1  # the file is checked once, not per block
    # a memory budget sets the block size: here 3 atoms of 1250 frames
    blocks = bl.atom_blocks(real.indices("Li"), real.n_frames, dm._MSD_BYTES, memory=3 * 1250 * dm._MSD_BYTES)
    assert [len(b) for b in blocks] == [3] * 5 + [1]
    assert_same(
        dm.diffusion(real, "Li", fit_range=(0.05, 0.3), remove_drift=False, non_gaussian_correction=False),
        dm.diffusion_from_file(
            FIXTURE,
            "Li",
            fit_range=(0.05, 0.3),
            remove_drift=False,
            non_gaussian_correction=False,
            memory=3 * 1250 * dm._MSD_BYTES,
        ),
    )


def test_msd_green_kubo_and_charge_sums_streamed():
    traj = mixed(n_frames=300)
    assert_same(dm.msd(traj, max_lag=100), dm.msd_from_file(traj, max_lag=100, block_atoms=2))
    assert_same(
        dm.green_kubo(traj, None, {"Li": 40.0}), dm.green_kubo_from_file(traj, None, {"Li": 40.0}, block_atoms=4)
    )
    sums = dm.mobile_position_sums(traj, ["Li", "S"])
    # the mobile species share one frame, the atoms outside them (Cl): a charge displacement of the two must
    # not cancel against each other
    unwrapped = unwrap_positions(traj.positions, traj.cells)
    cl = unwrapped[:, traj.indices("Cl")].mean(axis=1)
    for s in ("Li", "S"):
        idx = traj.indices(s)
        expected = (unwrapped[:, idx] - (cl - cl[0])[:, None, :]).sum(axis=1)
        np.testing.assert_allclose(sums[s], expected, rtol=1e-12, atol=1e-8)
    one = dm.mobile_position_sums(traj, "Li")["Li"]  # one species: the frame of `mobile_positions`
    np.testing.assert_allclose(one, dm.mobile_positions(traj, "Li").sum(axis=1), rtol=1e-12, atol=1e-10)
    nodrift = dm.mobile_position_sums(traj, "Li", remove_drift=False)["Li"]
    np.testing.assert_allclose(nodrift, unwrap_positions(traj.positions, traj.cells)[:, :7].sum(axis=1), atol=1e-10)


# ----------------------------------------------------------------------------- VDOS
def test_vdos_streamed_equals_in_memory(real, small_chunks):
    assert_same(vm.vdos(real), vm.vdos_from_file(FIXTURE, block_atoms=3))
    groups = {"x": [1, 5, 40, 41], "y": real.indices("Cl")[:5]}
    kw = dict(species=["Li", "Cl"], groups=groups, time_blocks=3, atom_groups=5, max_lag=300)
    src = RecordingSource(real)
    assert_same(vm.vdos(real, **kw), vm.vdos_from_file(src, block_atoms=2, **kw))
    assert_bounded(src, 2)
    with H5MDReader(FIXTURE) as r:
        assert {k: list(v) for k, v in vm.bonded_groups(r, "Cl", "P", 4.5).items()} == {
            k: list(v) for k, v in vm.bonded_groups(real, "Cl", "P", 4.5).items()
        }


def test_vdos_streamed_from_positions_with_mixed_masses():
    masses = np.array([6.94] * 6 + [7.5] + [32.06] * 4 + [35.45] * 2)
    traj = mixed(velocities=False, masses=masses)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", vm.FiniteDifferenceWarning)
        ref = vm.vdos(traj, max_lag=120)
        with pytest.warns(vm.FiniteDifferenceWarning):
            got = vm.vdos_from_file(traj, max_lag=120, block_atoms=3)
    assert_same(ref, got)
    assert got.attrs["velocities"] == "central differences of positions"


# ----------------------------------------------------------------------------- F_s and the lowest phonon
def test_self_intermediate_scattering_streamed(real, monkeypatch, small_chunks):
    kw = dict(n_directions=12, max_lag=300)
    ref = sc.self_intermediate_scattering(real, [0.5, 1.0, 2.0], **kw)
    assert_same(ref, sc.self_intermediate_scattering_from_file(FIXTURE, [0.5, 1.0, 2.0], **kw))
    kw = dict(species=["Li"], n_directions=7, max_lag=300)
    ref = sc.self_intermediate_scattering(real, [1.0, 2.0], **kw)
    nfft = sc.K.nfft_for(real.n_frames, 300)
    monkeypatch.setattr(sc, "_FS_WORK", 6 * nfft)  # Q vectors in chunks of 4 + 3, 1–2 atoms a call
    src = RecordingSource(real)
    assert_same(ref, sc.self_intermediate_scattering_from_file(src, [1.0, 2.0], block_atoms=5, **kw))
    assert_bounded(src, 5)
    traj = mixed()
    qv = np.array([[0.3, 0.1, 0.0], [0.0, 0.7, 0.2], [1.1, 0.0, 0.5]])
    assert_same(
        sc.self_intermediate_scattering(traj, qv, error_blocks=3, max_lag=100),
        sc.self_intermediate_scattering_from_file(traj, qv, error_blocks=3, max_lag=100, block_atoms=1),
    )


def test_lowest_phonon_streamed(real, small_chunks):
    ref = fsz.lowest_phonon(real)
    src = RecordingSource(real)
    got = fsz.lowest_phonon_from_file(src)
    assert ref.keys() == got.keys()
    for k, v in ref.items():
        if isinstance(v, float):
            assert np.isclose(got[k], v, rtol=1e-7, equal_nan=True), k
        else:
            assert got[k] == v, k
    assert_bounded(src, 0)  # time chunks only


def test_conductivity_streamed_equals_in_memory():
    from superionic.analysis.conductivity import conductivity

    traj = read_trajectory(FIXTURE)
    ref = conductivity(traj, "Li", 400.0)
    with H5MDReader(FIXTURE) as src:
        got = conductivity(src, "Li", 400.0)
    for k in ("sigma", "sigma_err", "sigma_NE", "haven_ratio", "D_sigma"):
        np.testing.assert_allclose(float(got[k]), float(ref[k]), rtol=1e-6)
