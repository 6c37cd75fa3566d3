"""Bottleneck breathing: Heron geometry, periodic tessellation, window crossings, spectrum and hop statistics."""

import numpy as np
import pytest
import xarray as xr

from superionic.analysis.bottleneck import window_geometry, windows
from superionic.analysis.bottleneck_stats import (
    bottleneck_summary,
    breathing_spectrum,
    hop_statistics,
    hop_triggered_average,
    window_crossings,
)
from superionic.errors import InputError
from superionic.trajectory import Trajectory

TRICLINIC = np.array([[10.0, 0.0, 0.0], [3.0, 9.0, 0.0], [2.0, 1.5, 8.0]])


def _wrap(x, cell):
    return np.mod(x @ np.linalg.inv(cell), 1.0) @ cell


# ----------------------------------------------------------------------------- geometry
@pytest.mark.parametrize("cell", [np.eye(3) * 12.0, TRICLINIC])
def test_heron_area_and_inradius_across_the_boundary(cell):
    a = 3.7
    # equilateral triangle (side a) and a scalene one, both straddling a corner of the cell
    eq = np.array([[0, 0, 0], [a, 0, 0], [a / 2, a * np.sqrt(3) / 2, 0]]) + [-1.0, -0.5, -0.3]
    sc = np.array([[0, 0, 0], [3.1, 0.4, -0.2], [0.7, 2.6, 1.1]]) + [-0.4, 8.5, 7.6]
    frame0 = np.concatenate([eq, sc])
    frame1 = frame0 + np.array([cell[0], -cell[1], cell[2], 2 * cell[2], cell[0] - cell[1], 0 * cell[0]])
    pos = np.stack([_wrap(frame0, cell), frame1])  # wrapped, and shifted by lattice vectors
    tr = Trajectory(positions=pos, cells=cell, symbols=["S", "Cl", "S", "S", "S", "Cl"], dt=1.0)
    g = window_geometry(tr, [[0, 1, 2], [3, 4, 5]], radii={"S": 1.84, "Cl": 1.81})
    for w, tri in enumerate([eq, sc]):
        e1, e2 = tri[1] - tri[0], tri[2] - tri[0]
        area = 0.5 * np.linalg.norm(np.cross(e1, e2))
        perim = sum(np.linalg.norm(tri[i] - tri[(i + 1) % 3]) for i in range(3))
        # circumcentre by linear algebra (in the triangle's plane)
        n = np.cross(e1, e2)
        m = np.array([e1, e2, n])
        c = tri[0] + np.linalg.solve(m, [e1 @ e1 / 2, e2 @ e2 / 2, 0.0])
        assert np.allclose(g.area.values[:, w], area, rtol=1e-12)
        assert np.allclose(g.inradius.values[:, w], 2 * area / perim, rtol=1e-12)
        assert np.allclose(g.circumradius.values[:, w], np.linalg.norm(c - tri[0]), rtol=1e-10)
    assert np.allclose(g.inradius.values[:, 0], a / (2 * np.sqrt(3)), rtol=1e-12)
    rbar = (1.84 * 2 + 1.81) / 3
    assert np.allclose(g.free_radius.values[:, 0], a / (2 * np.sqrt(3)) - rbar, rtol=1e-12)
    assert np.allclose(g.passage_radius.values[:, 0], a / np.sqrt(3) - rbar, rtol=1e-12)  # acute: R_c − R̄
    assert g.area.attrs["units"] == "angstrom2" and g.inradius.attrs["units"] == "angstrom"


# ----------------------------------------------------------------------------- breathing triangles
def _breathing(n_win=2, frames=2000, dt=5.0, nu=3.0, r0=2.2, delta=0.1, phases=None, static=(), seed=None):
    """n_win equilateral S3 windows far apart, circumradius R(t) = r0 + δ sin(2πνt + φ) → in-radius R/2."""
    t = np.arange(frames) * dt * 1e-3  # ps
    phases = np.zeros(n_win) if phases is None else np.asarray(phases)
    ang = np.array([0, 2 * np.pi / 3, 4 * np.pi / 3])
    unit = np.stack([np.cos(ang), np.sin(ang), np.zeros(3)], axis=1)
    pos = np.empty((frames, 3 * n_win, 3))
    for w in range(n_win):
        amp = 0.0 if w in static else delta
        rad = r0 + amp * np.sin(2 * np.pi * nu * t + phases[w])
        pos[:, 3 * w : 3 * w + 3] = [8.0 * w + 4, 4.0, 4.0] + rad[:, None, None] * unit[None]
    cell = np.eye(3) * max(20.0, 8.0 * n_win + 8)
    return Trajectory(positions=pos, cells=cell, symbols=["S"] * 3 * n_win, dt=dt)


def test_breathing_spectrum_peak_and_parseval():
    delta = 0.1
    tr = _breathing(n_win=2, static=(1,), delta=delta)  # one breathing, one static window
    g = window_geometry(tr, [[0, 1, 2], [3, 4, 5]])
    assert np.allclose(g.inradius.values[:, 1], 1.1, rtol=1e-12)
    s = breathing_spectrum(g)
    nu, S = s.frequency.values, s.spectrum.values
    assert abs(nu[S.argmax()] - 3.0) <= s.attrs["resolution_fwhm_THz"]
    assert abs(np.trapezoid(S, nu) / float(s.variance) - 1) < 1e-6  # ∫ S dν = <δr²>
    # <δr²> = (δ/2)²/2 for the breathing window (30 whole periods), halved by averaging with the static one
    assert abs(float(s.variance) / ((delta / 2) ** 2 / 2 / 2) - 1) < 1e-9
    assert S[np.argmin(abs(nu - 1.0))] < 1e-3 * S.max()
    assert s.spectrum.attrs["units"] == "angstrom2 THz-1"
    assert np.allclose(s.energy.values, nu * 4.135667696)


# ----------------------------------------------------------------------------- bcc framework, Li hops
A_BCC = 4.0


def _bcc(supercell):
    """bcc 'S' points (Å) of the supercell with rows `supercell` (in cubic cells) and its cell."""
    m = np.asarray(supercell, float)
    cell = m * A_BCC
    g = np.arange(-6, 7)
    lat = np.array(np.meshgrid(g, g, g, indexing="ij")).reshape(3, -1).T.astype(float)
    pts = np.concatenate([lat, lat + 0.5]) * A_BCC
    f = pts @ np.linalg.inv(cell)
    keep = np.all((f > -1e-9) & (f < 1 - 1e-9), axis=1)
    return pts[keep], cell


def _hop_trajectory(supercell, frames=200, dt=10.0, k1=80, k2=140, rattle=(40, 3), seed=1):
    """bcc S framework (small noise) with two Li: Li1 hops A→B at k1; Li2 rattles C→D→C at rattle[0]
    for rattle[1] frames, then hops C→D at k2 and stays. Returns traj, Li indices, expected face triples."""
    rng = np.random.default_rng(seed)
    s, cell = _bcc(supercell)
    a = A_BCC
    site_a, site_b = np.array([0.5, 0.25, 0.0]) * a, np.array([0.25, 0.5, 0.0]) * a
    shift = np.array([1.5, 1.5, 1.5]) * a  # a bcc lattice vector
    face = np.array([[0, 0, 0], [0.5, 0.5, 0.5], [0.5, 0.5, -0.5]]) * a
    li = np.zeros((frames, 2, 3))
    li[:, 0] = np.where(np.arange(frames)[:, None] < k1, site_a, site_b)
    li[:, 1] = np.where(np.arange(frames)[:, None] < k2, site_a + shift, site_b + shift)
    li[rattle[0] : rattle[0] + rattle[1], 1] = site_b + shift
    pos = np.concatenate(
        [
            np.repeat(s[None], frames, axis=0) + rng.normal(0, 0.03, (frames, len(s), 3)),
            li + rng.normal(0, 0.05, li.shape),
        ],
        axis=1,
    )
    pos = np.mod(pos @ np.linalg.inv(cell), 1.0) @ cell  # wrapped, as read from files
    tr = Trajectory(positions=pos, cells=cell, symbols=["S"] * len(s) + ["Li"] * 2, dt=dt)

    def atoms_at(xyz):
        d = (xyz[:, None] - s[None]) @ np.linalg.inv(cell)
        d -= np.round(d)
        return set(np.argmin(np.linalg.norm(d @ cell, axis=-1), axis=1).tolist())

    return tr, [len(s), len(s) + 1], [atoms_at(face), atoms_at(face + shift)], (site_a, site_b, shift)


def test_periodic_tessellation_of_bcc_in_a_triclinic_cell():
    s, cell = _bcc([[3, 0, 0], [1, 3, 0], [0, 1, 3]])
    assert len(s) == 54
    pos = np.concatenate([s, [[0.5 * A_BCC, 0.25 * A_BCC, 0.0]]])  # one Li on a tetrahedral site
    tr = Trajectory(positions=np.repeat(pos[None], 2, axis=0), cells=cell, symbols=["S"] * 54 + ["Li"], dt=1.0)
    ws = windows(tr, anions="S", min_occupancy=0.0)
    # bcc: Delaunay = 6 congruent tetragonal disphenoids per atom, volume a³/12; 2 faces per tetrahedron
    assert ws.attrs["n_tetrahedra"] == 6 * 54
    assert np.allclose(ws.tet_volume.values, A_BCC**3 / 12, rtol=1e-4)
    assert ws.attrs["n_windows"] == 2 * ws.attrs["n_tetrahedra"]
    # every window is an isosceles triangle with edges a√3/2, a√3/2, a: area a²/(2√2)
    assert np.allclose(ws.ref_area.values, A_BCC**2 / (2 * np.sqrt(2)), rtol=1e-4)
    assert ws.tet_occupancy.values.max() == 1.0 and ws.tet_occupancy.values.sum() == 1.0


def test_random_framework_tessellation_fills_a_triclinic_cell():
    rng = np.random.default_rng(3)
    cell = TRICLINIC * 1.3
    n = 150
    pos = rng.random((n, 3)) @ cell
    tr = Trajectory(
        positions=np.repeat(pos[None], 3, axis=0), cells=cell, symbols=["Cl"] * (n - 5) + ["Li"] * 5, dt=1.0
    )
    ws = windows(tr, anions=("S", "Cl"), min_occupancy=0.0)
    assert abs(ws.tet_volume.sum().item() / abs(np.linalg.det(cell)) - 1) < 1e-9
    assert ws.attrs["n_windows"] == 2 * ws.attrs["n_tetrahedra"]  # each face shared by two tetrahedra
    assert ws.tet_occupancy.sum().item() == pytest.approx(5.0)  # every Li is in some tetrahedron
    # point-in-tetrahedron check of the occupancy against an independent barycentric test
    ref = ws.reference_positions.values
    loc = {int(a): k for k, a in enumerate(ws.anion_index.values)}
    tet = ws.tet_anions.values
    for li in pos[-5:]:
        hits = 0
        for t in np.flatnonzero(ws.tet_occupancy.values > 0):
            v = ref[[loc[int(a)] for a in tet[t]]]
            d = v[1:] - v[0]
            f = d @ np.linalg.inv(cell)
            # place the vertices by minimum image about vertex 0 and the Li about it as well
            d = (f - np.round(f)) @ cell
            x = li - v[0]
            x = ((x @ np.linalg.inv(cell)) - np.round(x @ np.linalg.inv(cell))) @ cell
            lam = np.linalg.solve(d.T, x)
            hits += bool(lam.min() >= -1e-9 and lam.sum() <= 1 + 1e-9)
        assert hits == 1


@pytest.mark.parametrize("supercell", [np.eye(3) * 3, [[3, 0, 0], [1, 3, 0], [0, 1, 3]]], ids=["cubic", "triclinic"])
def test_crossing_detected_at_the_right_frame_and_window(supercell):
    tr, (li1, li2), (face1, face2), (site_a, site_b, _) = _hop_trajectory(supercell)
    ws = windows(tr, anions="S")
    assert ws.attrs["n_tetrahedra"] == 6 * 54  # bcc: 6 tetrahedra per atom
    assert ws.attrs["n_sites"] == 4 and ws.attrs["n_windows"] == 2  # A, B, C, D; windows A|B and C|D
    assert {frozenset(t) for t in ws.anions.values.tolist()} == {frozenset(face1), frozenset(face2)}
    cr = window_crossings(tr, ws, min_residence_fs=100.0)
    assert cr.frame.values.tolist() == [80, 140]  # the rattle at 40–42 is not counted
    assert cr.ion.values.tolist() == [li1, li2]
    assert set(ws.anions.values[cr.window.values[0]].tolist()) == face1
    assert set(ws.anions.values[cr.window.values[1]].tolist()) == face2
    assert np.allclose(cr.time.values, [0.8, 1.4])  # ps
    # from A to B: the tetrahedra's centroids are the two sites
    cen = ws.tet_centroid.values
    cell = tr.cells[0]

    def dist(x, y):
        f = (x - y) @ np.linalg.inv(cell)
        return np.linalg.norm((f - np.round(f)) @ cell)

    assert dist(cen[cr.from_tetrahedron.values[0]], site_a) < 0.1
    assert dist(cen[cr.to_tetrahedron.values[0]], site_b) < 0.1
    raw = window_crossings(tr, ws, min_residence_fs=0.0)  # without the threshold the rattle counts
    assert raw.frame.values.tolist() == [40, 43, 80, 140]
    # membership recomputed (not reused) for another run of the same framework: Li shifted by a lattice vector
    moved = tr.positions.copy()
    moved[:, [li1, li2]] += tr.cells[0][1]
    tr2 = Trajectory(positions=moved, cells=tr.cells, symbols=tr.symbols, dt=tr.dt)
    cr2 = window_crossings(tr2, ws, min_residence_fs=100.0)
    assert cr2.frame.values.tolist() == [80, 140] and cr2.window.values.tolist() == cr.window.values.tolist()
    ws0 = windows(tr, anions="S", reference="frame0")  # frame-0 framework: same windows
    assert {frozenset(t) for t in ws0.anions.values.tolist()} == {frozenset(face1), frozenset(face2)}


def test_summary_on_the_hop_trajectory():
    tr, _, _, _ = _hop_trajectory(np.eye(3) * 3)
    s = bottleneck_summary(tr, anions="S", min_residence_fs=100.0, hop_lag_frames=5, radii={"S": 1.84})
    assert s.attrs["n_crossings"] == 2 and s.attrs["n_windows"] == 2
    assert s.n_crossings_window.values.tolist() == [1, 1]
    assert s.hta_count.values.tolist() == [2] * 11
    assert all("units" in s[v].attrs for v in list(s.data_vars) + list(s.coords))
    assert abs(np.trapezoid(s.breathing_spectrum.values, s.frequency.values) / float(s.inradius_variance) - 1) < 1e-6


# ----------------------------------------------------------------------------- hop statistics
def _crossings(frames, wins):
    return xr.Dataset({"frame": ("crossing", np.asarray(frames, int)), "window": ("crossing", np.asarray(wins, int))})


def test_hops_at_the_widest_window_shift_by_the_constructed_amount():
    period, delta, n_win = 80, 0.12, 5  # 80 frames per period, 25 periods
    phases = 2 * np.pi * np.arange(n_win) * 7 / period
    tr = _breathing(n_win=n_win, frames=2000, dt=5.0, nu=2.5, delta=delta, phases=phases)
    tri = np.arange(3 * n_win).reshape(n_win, 3)
    g = window_geometry(tr, tri)
    # r_w peaks (r0 + δ)/2 where 2πν t + φ_w = π/2: frame (20 − 7w) mod 80, + whole periods
    frames, wins = [], []
    for w in range(n_win):
        for j in range(3, 22, 4):
            frames.append((20 - 7 * w) % period + j * period)
            wins.append(w)
    cr = _crossings(frames, wins)
    st = hop_statistics(g, cr)
    assert abs(float(st.mean_shift) - delta / 2) < 1e-9  # widest window: shift = δ/2 exactly
    assert abs(float(st.mean_hop) - float(st.mean_all) - delta / 2) < 1e-9
    assert float(st.ks_statistic) > 0.95
    hta = hop_triggered_average(tr, tri, cr, hop_lag_frames=40, geometry=g)
    k = hta.lag.values
    assert np.allclose(hta.inradius_deviation.values, delta / 2 * np.cos(2 * np.pi * k / period), atol=1e-9)
    # each anion sits δ|sin| from its mean position: δ|cos| about the crossing; all-time mean 2δ/π
    assert np.allclose(hta.anion_displacement.values, delta * np.abs(np.cos(2 * np.pi * k / period)), atol=1e-9)
    assert abs(float(hta.anion_displacement_baseline) / (2 * delta / np.pi) - 1) < 1e-3


def test_hops_at_random_times_show_no_shift():
    rng = np.random.default_rng(7)
    n_win, delta = 6, 0.12
    tr = _breathing(n_win=n_win, frames=2000, dt=5.0, nu=2.5, delta=delta, phases=rng.uniform(0, 2 * np.pi, n_win))
    g = window_geometry(tr, np.arange(3 * n_win).reshape(n_win, 3))
    n = 400
    st = hop_statistics(g, _crossings(rng.integers(0, 2000, n), rng.integers(0, n_win, n)), n_boot=2000)
    assert abs(float(st.mean_shift)) < 3 * float(st.mean_shift_err)
    # bootstrap error = σ/√n with σ = (δ/2)/√2 for a sinusoid
    assert abs(float(st.mean_shift_err) / (delta / 2 / np.sqrt(2) / np.sqrt(n)) - 1) < 0.15
    assert float(st.ks_pvalue) > 0.01
    width = st.bin.values[1] - st.bin.values[0]
    assert abs(st.density_all.values.sum() * width - 1) < 1e-9 and abs(st.density_hop.values.sum() * width - 1) < 1e-9


# ----------------------------------------------------------------------------- bad input
def test_bad_input_messages():
    tr = Trajectory(
        positions=np.zeros((3, 2, 3)) + [[1, 1, 1], [2, 2, 2]], cells=np.eye(3) * 10, symbols=["Li", "P"], dt=1.0
    )
    with pytest.raises(InputError, match=r"none of the anion species \['S', 'Cl'\].*it has Li, P"):
        windows(tr)
    g = window_geometry(tr, [[0, 1, 1]])
    with pytest.raises(InputError, match="needs at least 8"):
        breathing_spectrum(g)
    with pytest.raises(InputError, match="at least 8"):
        bottleneck_summary(tr, anions="P")
    with pytest.raises(InputError, match=r"\(n_windows, 3\)"):
        window_geometry(tr, [0, 1])
    s, cell = _bcc(np.eye(3) * 3)
    tr2 = Trajectory(positions=np.repeat(s[None], 2, axis=0), cells=cell, symbols=["S"] * len(s), dt=1.0)
    with pytest.raises(InputError, match="species 'Li' is not in this trajectory"):
        windows(tr2, anions="S")
    with pytest.raises(InputError, match="at least 4"):
        windows(
            Trajectory(
                positions=np.random.default_rng(0).random((2, 4, 3)) * 5,
                cells=np.eye(3) * 5,
                symbols=["S", "S", "S", "Li"],
                dt=1.0,
            ),
            anions="S",
        )


def test_aimd_li6ps5cl_windows(aimd):
    ws = windows(aimd)
    assert ws.attrs["anions"] == "S,Cl"
    assert abs(ws.tet_volume.sum().item() / aimd.volume() - 1) < 1e-6
    assert ws.tet_occupancy.sum().item() == pytest.approx(len(aimd.indices("Li")))  # every Li located
    assert 0 < ws.attrs["n_windows"] < 2 * ws.attrs["n_tetrahedra"]
    r = ws.ref_inradius.values
    assert 0.8 < r.min() and r.max() < 1.8  # S/Cl triangles, Å
