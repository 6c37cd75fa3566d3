"""H5MD readers on damaged and foreign files: a truncated, NaN-ridden, gapped, empty or garbage file either
reads its intact frames exactly (with a warning saying what was dropped) or stops with one InputError line;
units of other writers (MDAnalysis: nm, ps) are converted; a stored time step is never overridden."""

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import ase.io
import h5py
import numpy as np
import pytest
from ase import Atoms
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from superionic.errors import InputError, SuperionicError
from superionic.trajectory import H5MDInfo, H5MDWriter, Trajectory, iter_trajectory, read_trajectory, write_h5md
from superionic.trajectory.h5md import TrajectoryWarning, unit_factor

DATA = Path(__file__).parent / "data"
SYMBOLS = ["Li", "Li", "P", "S", "Cl", "Li"]


def _traj(seed=0, frames=100, atoms=6, dt=4.0, dstep=2, velocities=True):
    rng = np.random.default_rng(seed)
    return Trajectory(
        positions=rng.normal(size=(frames, atoms, 3)) * 3 + 5,
        cells=np.broadcast_to(np.diag([10.0, 11.0, 12.0]), (frames, 3, 3)),
        symbols=(SYMBOLS * atoms)[:atoms],
        dt=dt,
        velocities=rng.normal(size=(frames, atoms, 3)) * 0.01 if velocities else None,
        steps=np.arange(frames) * dstep,
        metadata={"temperature": 576.0},
    )


def _read(path, **kw):
    """read_trajectory, returning (trajectory, [warning messages])."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        t = read_trajectory(path, **kw)
    return t, [str(w.message) for w in caught if issubclass(w.category, TrajectoryWarning)]


def _assert_prefix(r, t):
    """r holds exactly the first r.n_frames frames of t (float32 storage)."""
    n = r.n_frames
    assert 0 < n <= t.n_frames
    np.testing.assert_array_equal(r.positions, t.positions[:n].astype(np.float32))
    np.testing.assert_array_equal(r.velocities, t.velocities[:n].astype(np.float32))
    np.testing.assert_array_equal(r.cells, t.cells[:n])
    np.testing.assert_array_equal(r.steps, t.steps[:n])
    if n > 1:
        assert r.dt == pytest.approx(t.dt, rel=1e-12)


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """A real file written by superionic (100 frames in 16-frame chunks), its bytes and its trajectory."""
    p = tmp_path_factory.mktemp("h5") / "full.h5"
    t = _traj()
    write_h5md(p, t, chunk=16)
    return p, p.read_bytes(), t


# ---------------------------------------------------------------------------- truncation
def _check_cut(data: bytes, n_bytes: int, t: Trajectory, path: Path):
    path.write_bytes(data[:n_bytes])
    try:
        r, msgs = _read(path)
    except InputError as err:
        assert "\n" not in str(err)
        return None
    _assert_prefix(r, t)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TrajectoryWarning)
        assert H5MDInfo(path).n_frames == r.n_frames
    if r.n_frames < t.n_frames:
        assert len(msgs) == 1 and f"dropped the last {t.n_frames - r.n_frames} frames" in msgs[0]
    return r.n_frames


def test_truncated_file_reads_its_complete_prefix_or_refuses(written, tmp_path):
    _, data, t = written
    lengths = sorted({*np.linspace(0, len(data), 41).astype(int), len(data) - 1, 8, 100})
    outcomes = [_check_cut(data, n, t, tmp_path / "cut.h5") for n in lengths]
    read = [n for n in outcomes if n is not None]
    assert outcomes[-1] == t.n_frames  # the whole file
    assert None in outcomes  # some cuts leave nothing usable …
    assert any(0 < n < t.n_frames for n in read)  # … others a usable prefix
    assert read == sorted(read)  # a longer file never reads fewer frames


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(frac=st.floats(0.0, 1.0))
def test_random_truncation_never_gives_wrong_numbers(written, tmp_path, frac):
    _, data, t = written
    _check_cut(data, int(frac * len(data)), t, tmp_path / f"cut{os.getpid()}.h5")


def test_truncated_file_in_chunks_and_info(written, tmp_path):
    _, data, t = written
    cut = tmp_path / "cut.h5"
    cut.write_bytes(data[: int(0.7 * len(data))])
    with pytest.warns(TrajectoryWarning, match="cut short"):
        info = H5MDInfo(cut)
    assert 0 < info.n_frames < t.n_frames and info.dt == pytest.approx(4.0)
    with pytest.warns(TrajectoryWarning):
        parts = list(iter_trajectory(cut, chunk=7))
    assert sum(c.n_frames for c in parts) == info.n_frames
    np.testing.assert_array_equal(
        np.concatenate([c.positions for c in parts]), t.positions[: info.n_frames].astype(np.float32)
    )


def test_cli_info_reports_the_usable_frames(written, tmp_path):
    _, data, t = written
    cut = tmp_path / "cut.h5"
    cut.write_bytes(data[: int(0.7 * len(data))])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        n = H5MDInfo(cut).n_frames
    res = subprocess.run(
        [sys.executable, "-m", "superionic", "info", str(cut), "--json"], capture_output=True, text=True, timeout=120
    )
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["trajectory"]["frames"] == n < t.n_frames
    assert "dropped the last" in res.stderr and "Traceback" not in res.stderr


# ---------------------------------------------------------------------------- damaged values
def _edit(src, dst, fn):
    dst.write_bytes(Path(src).read_bytes())
    with h5py.File(dst, "r+") as f:
        fn(f["particles/all"])
    return dst


def test_nan_at_the_end_is_dropped_with_a_warning(written, tmp_path):
    p, _, t = written

    def nan_tail(g):
        v = g["position/value"][...]
        v[95:, 2, 0] = np.nan
        g["position/value"][...] = v

    r, msgs = _read(_edit(p, tmp_path / "nan.h5", nan_tail))
    assert r.n_frames == 95
    _assert_prefix(r, t)
    assert "dropped the last 5 frames" in msgs[0] and "not finite" in msgs[0] and "frame 95" in msgs[0]


@pytest.mark.parametrize("what", ["position", "velocity", "box/edges"])
def test_nan_in_the_middle_is_refused(written, tmp_path, what):
    p, _, _t = written

    def nan_mid(g):
        v = g[f"{what}/value"][...]
        v[40] = np.inf
        g[f"{what}/value"][...] = v

    with pytest.raises(
        InputError,
        match=r"not finite .*in frames 40 of 100 \(first: frame 40, MD step 80\), "
        r"but frame 41 after it is intact: the file is damaged in the middle",
    ):
        read_trajectory(_edit(p, tmp_path / "nan.h5", nan_mid))


def test_unwritten_zero_frames_are_dropped(written, tmp_path):
    """A writer killed after extending its datasets: the last frames read as zeros, never as data."""
    p, _, t = written

    def zero_tail(g):
        for name in ("position", "velocity", "box/edges"):
            v = g[f"{name}/value"][...]
            v[90:] = 0
            g[f"{name}/value"][...] = v

    r, msgs = _read(_edit(p, tmp_path / "zero.h5", zero_tail))
    assert r.n_frames == 90
    _assert_prefix(r, t)
    assert "exactly 0" in msgs[0]


def test_zero_velocities_after_moving_frames_are_dropped(written, tmp_path):
    p, _, _t = written

    def zero_v(g):
        v = g["velocity/value"][...]
        v[97:] = 0
        g["velocity/value"][...] = v

    r, msgs = _read(_edit(p, tmp_path / "zero.h5", zero_v))
    assert r.n_frames == 97 and "every velocity is exactly 0" in msgs[0]


def test_frames_that_cannot_be_read_are_dropped(written, monkeypatch):
    """HDF5 may raise on chunks of a damaged file instead of returning zeros: the frames before are kept."""
    from superionic.trajectory import h5md

    p, _, t = written
    real = h5md._Source.read

    def failing(self, sl):
        if range(100)[sl].stop > 70:
            raise OSError("Can't synchronously read data (wrong B-tree signature)")
        return real(self, sl)

    monkeypatch.setattr(h5md._Source, "read", failing)
    r, msgs = _read(p)
    assert r.n_frames == 70 and "frame 70 cannot be read (Can't synchronously read data" in msgs[0]
    _assert_prefix(r, t)
    monkeypatch.setattr(h5md._Source, "read", lambda self, sl: failing(self, slice(70, 80)))
    with pytest.raises(InputError, match="no usable frame: frame 0 cannot be read"):
        read_trajectory(p)


@pytest.mark.parametrize("kind", ["gap", "repeat"])
def test_step_gap_or_repeat_in_the_middle_is_refused(written, tmp_path, kind):
    p, _, _t = written

    def bad_steps(g):
        for name in ("position", "velocity", "box/edges"):
            s = g[f"{name}/step"][...]
            tm = g[f"{name}/time"][...]
            if kind == "gap":
                s[30:] += 10
                tm[30:] += 20.0
            else:
                s[30:] -= 2
                tm[30:] -= 4.0
            g[f"{name}/step"][...] = s
            g[f"{name}/time"][...] = tm

    with pytest.raises(InputError, match=r"MD step breaks the even spacing of 2 steps in frames 30 of 100"):
        read_trajectory(_edit(p, tmp_path / "gap.h5", bad_steps))


def test_steps_differing_between_series_are_refused(written, tmp_path):
    p, _, _t = written

    def bad(g):
        s = g["velocity/step"][...]
        s[50] += 1
        g["velocity/step"][...] = s

    with pytest.raises(InputError, match="MD step differs between velocity and position in frames 50 of 100"):
        read_trajectory(_edit(p, tmp_path / "mismatch.h5", bad))


def test_step_gap_at_the_last_frame_is_dropped(written, tmp_path):
    p, _, _t = written

    def last(g):
        for name in ("position", "velocity", "box/edges"):
            s = g[f"{name}/step"][...]
            s[-1] = 0
            g[f"{name}/step"][...] = s

    r, msgs = _read(_edit(p, tmp_path / "last.h5", last))
    assert r.n_frames == 99 and "MD step breaks the even spacing" in msgs[0]


def test_uneven_times_are_refused(written, tmp_path):
    p, _, _t = written

    def bad(g):
        tm = g["position/time"][...]
        tm[20] += 1.0
        g["position/time"][...] = tm

    with pytest.raises(InputError, match="time breaks the even spacing of 4 fs in frames 20–21 of 100"):
        read_trajectory(_edit(p, tmp_path / "time.h5", bad))


# ---------------------------------------------------------------------------- not a usable file
def test_empty_garbage_and_foreign_files(tmp_path):
    cases = {
        "empty.h5": (b"", "empty \\(0 bytes\\)"),
        "garbage.h5": (np.random.default_rng(0).bytes(5000), "not an HDF5 file"),
        "text.h5": (b"Li 0 0 0\n" * 10, "not an HDF5 file"),
        "sig_only.h5": (b"\x89HDF\r\n\x1a\n" + bytes(100), "cannot open .* as HDF5"),
    }
    for name, (data, pattern) in cases.items():
        p = tmp_path / name
        p.write_bytes(data)
        with pytest.raises(InputError, match=pattern) as err:
            read_trajectory(p)
        assert isinstance(err.value, SuperionicError) and "\n" not in str(err.value)
    plain = tmp_path / "plain.h5"
    with h5py.File(plain, "w") as f:
        f["x"] = [1, 2]
    with pytest.raises(InputError, match="not H5MD"):
        read_trajectory(plain)
    with pytest.raises(InputError, match="not an HDF5 file"):
        read_trajectory(tmp_path / "text.h5", format="h5md")


def test_zero_frame_file(tmp_path):
    p = tmp_path / "none.h5"
    H5MDWriter(p, ["Li", "S"], [6.94, 32.06], 1.0).close()
    with pytest.raises(InputError, match="holds no frames"):
        read_trajectory(p)
    with pytest.raises(InputError, match="holds no frames"):
        H5MDInfo(p)


def test_all_zero_file_has_no_usable_frame(tmp_path):
    p = tmp_path / "zeros.h5"
    with H5MDWriter(p, ["Li", "S"], [6.94, 32.06], 1.0) as w:
        for i in range(5):
            w.append(i, np.zeros((2, 3)), np.eye(3) * 5, np.zeros((2, 3)))
    with pytest.raises(InputError, match="no usable frame: every position is exactly 0 .* in frame 0"):
        read_trajectory(p)


def test_damaged_structure_is_an_input_error(written, tmp_path):
    p, _, t = written
    q = _edit(p, tmp_path / "nospecies.h5", lambda g: g.__delitem__("species"))
    with pytest.raises(InputError, match="no /particles/all/species"):
        read_trajectory(q)
    r = read_trajectory(q, symbols=t.symbols)  # the elements can be given
    assert r.symbols == t.symbols
    q = _edit(p, tmp_path / "nobox.h5", lambda g: g["box"].__delitem__("edges"))
    with pytest.raises(InputError, match="no box edges"):
        read_trajectory(q)


# ---------------------------------------------------------------------------- units
def test_unit_strings():
    assert unit_factor("angstrom", "length") == 1.0
    assert unit_factor("Angstrom", "length") == 1.0
    assert unit_factor("nm", "length") == 10.0
    assert unit_factor("0.1 nm", "length") == pytest.approx(1.0)
    assert unit_factor("ps", "time") == 1000.0
    assert unit_factor("fs", "time") == 1.0
    assert unit_factor("nm ps-1", "velocity") == pytest.approx(0.01)
    assert unit_factor("Angstrom ps-1", "velocity") == pytest.approx(1e-3)
    assert unit_factor("angstrom fs-1", "velocity") == 1.0
    assert unit_factor("A/ps", "velocity") == pytest.approx(1e-3)
    assert unit_factor("m s-1", "velocity") == pytest.approx(1e-5)
    assert unit_factor("nm", "time") is None and unit_factor("furlong", "length") is None
    assert unit_factor("nm ps", "velocity") is None and unit_factor("", "length") is None


def _foreign_file(path, length_unit="nm", time_unit="ps", velocity_unit="nm ps-1", frames=5):
    """A minimal H5MD file as another program writes it: group 'trajectory', no superionic parameters."""
    rng = np.random.default_rng(3)
    pos = rng.random((frames, 2, 3)).astype(np.float32)
    vel = rng.normal(size=(frames, 2, 3)).astype(np.float32)
    with h5py.File(path, "w") as f:
        f.create_group("h5md").attrs["version"] = [1, 1]
        f["h5md"].create_group("creator").attrs["name"] = "elsewhere"
        g = f.create_group("particles/trajectory")
        g["species"] = np.array([3, 16], dtype=np.int32)
        box = g.create_group("box")
        box.attrs["dimension"] = 3
        box.attrs["boundary"] = ["periodic"] * 3
        box["edges"] = np.array([1.0, 1.1, 1.2])  # fixed cuboid box, H5MD's vector form
        for name, val, unit in (("position", pos, length_unit), ("velocity", vel, velocity_unit)):
            grp = g.create_group(name)
            grp["value"] = val
            if unit:
                grp["value"].attrs["unit"] = unit
            grp["step"] = np.arange(frames) * 5
            grp["time"] = np.arange(frames) * 0.01
            if time_unit:
                grp["time"].attrs["unit"] = time_unit
        if length_unit:
            box["edges"].attrs["unit"] = length_unit
    return pos, vel


def test_foreign_units_are_converted(tmp_path):
    p = tmp_path / "foreign.h5"
    pos, vel = _foreign_file(p)
    t, msgs = _read(p)
    assert msgs == []
    np.testing.assert_allclose(t.positions, pos * 10.0, rtol=1e-7)  # nm → Å
    np.testing.assert_allclose(t.velocities, vel * 0.01, rtol=1e-7)  # nm/ps → Å/fs
    np.testing.assert_allclose(t.cells[0], np.diag([10.0, 11.0, 12.0]))
    assert t.dt == pytest.approx(10.0) and t.symbols == ["Li", "S"]  # 0.01 ps


def test_unknown_unit_is_refused(tmp_path):
    p = tmp_path / "foreign.h5"
    _foreign_file(p, velocity_unit="furlong fortnight-1")
    with pytest.raises(InputError, match="unit 'furlong fortnight-1' of /particles/trajectory/velocity/value"):
        read_trajectory(p)
    _foreign_file(p, time_unit="parsec")
    with pytest.raises(InputError, match="not a time unit"):
        read_trajectory(p)


def test_missing_units_warn_for_foreign_files_only(tmp_path, written):
    p = tmp_path / "foreign.h5"
    pos, _ = _foreign_file(p, length_unit=None, time_unit=None, velocity_unit=None)
    t, msgs = _read(p)
    assert len(msgs) == 1 and "no unit attribute" in msgs[0]
    np.testing.assert_array_equal(t.positions, pos)

    def strip(g):
        for name in ("position/value", "velocity/value", "box/edges/value", "position/time"):
            del g[name].attrs["unit"]

    ours, _, _ = written
    t, msgs = _read(_edit(ours, tmp_path / "ours.h5", strip))
    assert msgs == [] and t.dt == pytest.approx(4.0)


def test_legacy_files_read_silently(written, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        t = read_trajectory(DATA / "li6ps5cl_snap_400K_subset.h5")
        info = H5MDInfo(DATA / "li6ps5cl_snap_400K_subset.h5")
    assert t.n_frames == info.n_frames == 1250 and t.dt == pytest.approx(20.0)
    p, _, tr = written

    def old_unit(g):  # earlier files say "angstrom fs-1"
        g["velocity/value"].attrs["unit"] = "angstrom fs-1"

    _assert_prefix(read_trajectory(_edit(p, tmp_path / "old.h5", old_unit)), tr)


def _mda_expected(frames=6, atoms=4):
    """Values tests/data/mdanalysis_nm_ps.h5 was written with (Å and Å/ps in memory), by MDAnalysis 2.11:
    Universe.empty(4, trajectory=True, velocities=True).load_new(pos, format=MemoryReader, velocities=vel,
    dimensions=[9, 10, 11, 90, 90, 90] per frame, dt=0.02) with units ps/Angstrom/Angstrom/ps, then
    H5MDWriter(path, 4, lengthunit="nm", velocityunit="nm/ps", timeunit="ps", forces=False) per frame."""
    i, j, k = np.meshgrid(np.arange(frames), np.arange(atoms), np.arange(3), indexing="ij")
    return (1.0 + 0.5 * j + 0.25 * k + 0.125 * i), (0.5 * (j + 1) - 0.25 * k + 0.0625 * i) / 1000.0


def test_file_written_by_mdanalysis_stored_in_repo():
    """Written by MDAnalysis's H5MDWriter in nm, nm ps-1, ps (no species: give the symbols)."""
    p = DATA / "mdanalysis_nm_ps.h5"
    with pytest.raises(InputError, match="species"):
        read_trajectory(p)
    t, msgs = _read(p, symbols=["Li", "Li", "P", "S"])
    pos, vel = _mda_expected()
    assert msgs == [] and t.n_frames == 6
    np.testing.assert_allclose(t.positions, pos, rtol=1e-6)
    np.testing.assert_allclose(t.velocities, vel, rtol=1e-6)
    np.testing.assert_allclose(t.cells[3], np.diag([9.0, 10.0, 11.0]), rtol=1e-6)
    assert t.dt == pytest.approx(20.0, rel=1e-6)
    with pytest.raises(InputError, match=r"stores dt = 20(\.0+\d*)? fs between frames; --dt 2 fs disagrees"):
        read_trajectory(p, dt=2.0, symbols=["Li", "Li", "P", "S"])


@pytest.mark.parametrize("length, velocity", [(None, None), ("nm", "nm/ps"), ("Angstrom", "Angstrom/fs")])
def test_mdanalysis_written_files_read_correctly(tmp_path, length, velocity):
    mda = pytest.importorskip("MDAnalysis")
    from MDAnalysis.coordinates.H5MD import H5MDWriter as MDAWriter
    from MDAnalysis.coordinates.memory import MemoryReader

    t = _traj(frames=12, atoms=4)
    u = mda.Universe.empty(4, trajectory=True, velocities=True)
    u.load_new(
        t.positions.astype(np.float32),
        format=MemoryReader,
        velocities=(t.velocities * 1000).astype(np.float32),
        dimensions=np.tile([10, 11, 12, 90, 90, 90], (12, 1)).astype(np.float32),
        dt=t.dt / 1000,
    )
    u.trajectory.units = {"time": "ps", "length": "Angstrom", "velocity": "Angstrom/ps", "force": None}
    p = tmp_path / "mda.h5"
    with MDAWriter(str(p), 4, lengthunit=length, velocityunit=velocity, forces=False) as w:
        for _ in u.trajectory:
            w.write(u.atoms)
        w.h5md_file.close()  # MDAnalysis 2.11's writer leaves its file open (unflushed)
    r, msgs = _read(p, symbols=t.symbols)
    assert msgs == [] and r.n_frames == 12
    np.testing.assert_allclose(r.positions, t.positions, rtol=1e-6, atol=1e-5)  # Å
    np.testing.assert_allclose(r.velocities, t.velocities, rtol=1e-5, atol=1e-8)  # Å/fs
    np.testing.assert_allclose(r.cells, t.cells, rtol=1e-6)
    assert r.dt == pytest.approx(t.dt, rel=1e-6)  # fs


def test_our_files_read_correctly_in_mdanalysis(written):
    mda = pytest.importorskip("MDAnalysis")
    from MDAnalysis.coordinates.H5MD import H5MDReader

    p, _, t = written
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # MDAnalysis: "Reader has no dt information"
        r = H5MDReader(str(p))
        assert r.n_frames == t.n_frames and r.n_atoms == t.n_atoms
        for i in (0, 37, 99):
            ts = r[i]
            np.testing.assert_allclose(ts.positions, t.positions[i], rtol=1e-6)  # Å
            np.testing.assert_allclose(ts.velocities, t.velocities[i] * 1000, rtol=1e-5)  # Å/ps
            np.testing.assert_allclose(ts.dimensions, [10, 11, 12, 90, 90, 90], rtol=1e-6)
            assert ts.time == pytest.approx(i * t.dt / 1000)  # ps
            assert ts.data["step"] == t.steps[i]
        r.close()
        u = mda.Universe.empty(t.n_atoms, trajectory=False)
        u.load_new(str(p), format="H5MD")
        u.trajectory[5]
        np.testing.assert_allclose(u.atoms.positions, t.positions[5], rtol=1e-6)


# ---------------------------------------------------------------------------- the time step
def test_dt_that_disagrees_with_the_file_is_refused(written, tmp_path):
    p, _, t = written
    with pytest.raises(InputError, match=r"stores dt = 4 fs between frames; --dt 1 fs disagrees: drop --dt"):
        read_trajectory(p, dt=1.0)
    with pytest.raises(InputError, match="drop --dt"):
        list(iter_trajectory(p, dt=16.0, chunk=10))
    assert read_trajectory(p, dt=4.0).dt == pytest.approx(4.0)  # agreeing is fine
    assert read_trajectory(p, dt=4.0, stride=3).dt == pytest.approx(12.0)
    one = tmp_path / "one.h5"
    write_h5md(one, t.select_frames(stop=1))
    with pytest.raises(InputError, match="single frame .* --dt"):
        read_trajectory(one)
    assert read_trajectory(one, dt=7.0).dt == 7.0  # nothing stored to disagree with


def test_dt_that_disagrees_with_ase_times_is_refused(tmp_path):
    frames = []
    for i in range(4):
        a = Atoms("Li2S", positions=np.random.default_rng(i).random((3, 3)) * 4, cell=np.eye(3) * 4, pbc=True)
        a.info["time"] = 2.5 * i
        frames.append(a)
    p = tmp_path / "t.extxyz"
    ase.io.write(p, frames, format="extxyz")
    with pytest.raises(InputError, match=r"stores dt = 2.5 fs between frames .*--dt 10 fs disagrees: drop --dt"):
        read_trajectory(p, dt=10.0)
    assert read_trajectory(p, dt=2.5).dt == pytest.approx(2.5)
    assert read_trajectory(p, dt=2.5, stride=2).dt == pytest.approx(5.0)
    assert read_trajectory(p).dt == pytest.approx(2.5)


# ---------------------------------------------------------------------------- property-based round trip
@settings(max_examples=25, deadline=None)
@given(
    frames=st.integers(1, 40),
    atoms=st.integers(1, 5),
    dt=st.floats(0.1, 50.0),
    dstep=st.integers(1, 20),
    first=st.integers(0, 10**6),
    chunk=st.integers(1, 17),
    velocities=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_round_trip_property(tmp_path_factory, frames, atoms, dt, dstep, first, chunk, velocities, seed):
    rng = np.random.default_rng(seed)
    cell = np.diag(rng.uniform(5, 15, 3)) + np.triu(rng.uniform(-1, 1, (3, 3)), 1)
    t = Trajectory(
        positions=rng.normal(size=(frames, atoms, 3)) * 4,
        cells=np.broadcast_to(cell, (frames, 3, 3)),
        symbols=(SYMBOLS * 2)[:atoms],
        dt=dt,
        velocities=rng.normal(size=(frames, atoms, 3)) * 0.02 if velocities else None,
        steps=first + np.arange(frames) * dstep,
    )
    p = tmp_path_factory.mktemp("rt") / "t.h5"
    write_h5md(p, t, chunk=chunk)
    kw = {"dt": dt} if frames == 1 else {}
    r, msgs = _read(p, **kw)
    assert msgs == [] and r.n_frames == frames
    np.testing.assert_array_equal(r.positions, t.positions.astype(np.float32))
    if velocities:
        np.testing.assert_array_equal(r.velocities, t.velocities.astype(np.float32))
    else:
        assert r.velocities is None
    np.testing.assert_array_equal(r.cells, t.cells)
    np.testing.assert_array_equal(r.steps, t.steps)
    assert r.dt == pytest.approx(dt, rel=1e-9)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    frame=st.integers(0, 99),
    tail=st.booleans(),
    series=st.sampled_from(["position", "velocity", "box/edges"]),
    bad=st.sampled_from([np.nan, np.inf, -np.inf]),
)
def test_non_finite_frames_property(written, tmp_path, frame, tail, series, bad):
    """Non-finite values from `frame` on (tail) or in `frame` only: a prefix read exactly, or InputError."""
    p, _, t = written

    def damage(g):
        v = g[f"{series}/value"][...]
        if tail:
            v[frame:, 0, 0] = bad
        else:
            v[frame, 0, 0] = bad
        g[f"{series}/value"][...] = v

    q = _edit(p, tmp_path / f"bad{os.getpid()}.h5", damage)
    try:
        r, msgs = _read(q)
    except InputError as err:
        assert "\n" not in str(err)
        if frame == 1 and tail:  # one usable frame: nothing to take the time step from
            assert "single frame" in str(err)
            return
        assert frame == 0 or (not tail and frame < 99)
        assert "not finite" in str(err)
        return
    assert r.n_frames == frame and (tail or frame == 99)
    _assert_prefix(r, t)
    assert f"dropped the last {100 - frame} frames" in msgs[0]
