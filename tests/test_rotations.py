"""Anion rotations: exact angles for rigid rotations, analytic C_ℓ(t), rotational diffusion, libration,
symmetry jumps, the rotation–hop correlation against a brute-force count, and input errors."""

import numpy as np
import pytest
import xarray as xr
from scipy.spatial.transform import Rotation

from superionic.analysis.rotations import (
    anion_units,
    orientations,
    rotation_hop_correlation,
    rotation_summary,
    rotational_acf,
)
from superionic.errors import InputError
from superionic.trajectory import Trajectory

BOND = 2.05
TET = np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]]) / np.sqrt(3.0)
T_GROUP = Rotation.create_group("T").as_matrix()  # the 12 proper rotations that map TET onto itself


def _traj(rot, spacing=7.0, dt=10.0, extra=None):
    """PS4 units on a cubic grid, orientation rot (F, U, 3, 3) applied to TET, positions wrapped into the box.
    extra: optional (F, n, 3) Li positions appended after the units."""
    n_f, n_u = rot.shape[:2]
    g = int(np.ceil(n_u ** (1 / 3)))
    grid = np.array(np.meshgrid(*[np.arange(g)] * 3, indexing="ij")).reshape(3, -1).T[:n_u] * spacing + 1.0
    s = grid[None, :, None, :] + BOND * np.einsum("fuij,kj->fuki", rot, TET)
    pos = np.concatenate([np.broadcast_to(grid, (n_f, n_u, 3)), s.reshape(n_f, 4 * n_u, 3)], axis=1)
    sym = ["P"] * n_u + ["S"] * (4 * n_u)
    if extra is not None:
        pos = np.concatenate([pos, extra], axis=1)
        sym += ["Li"] * extra.shape[1]
    box = g * spacing
    return Trajectory(positions=np.mod(pos, box), cells=np.eye(3) * box, symbols=sym, dt=dt)


def _sym_angle(r):
    """Independent reference: min over the group T of the angle of R·g (deg)."""
    return np.degrees(
        Rotation.from_matrix((r[..., None, :, :] @ T_GROUP).reshape(-1, 3, 3))
        .magnitude()
        .reshape(*r.shape[:-2], 12)
        .min(axis=-1)
    )


def test_constant_angular_velocity_angle_and_c1_exact():
    n_f, omega = 80, 2.0  # degrees per frame
    axis = np.array([0.3, -0.5, 0.81])
    axis /= np.linalg.norm(axis)
    r0 = Rotation.from_rotvec([0.4, 0.2, -0.7])
    rot = (Rotation.from_rotvec(np.radians(omega * np.arange(n_f))[:, None] * axis) * r0).as_matrix()
    tr = _traj(rot[:, None])
    ds = orientations(tr)
    assert ds.attrs["n_symmetry_operations"] == 12
    assert np.allclose(ds.angle.values[:, 0], omega * np.arange(n_f), atol=1e-6)  # θ = ω t
    assert np.allclose(ds.angle_sym.values[:, 0], _sym_angle(r0.as_matrix().T @ rot), atol=1e-6)
    # quaternion = rotation about `axis` by ωt (scalar first)
    q = Rotation.from_rotvec(np.radians(omega * np.arange(n_f))[:, None] * axis).as_quat(scalar_first=True)
    assert np.allclose(ds.quaternion.values[:, 0], q * np.sign(q[:, :1] + 1e-300), atol=1e-9)
    assert np.allclose(ds.time.values, np.arange(n_f) * 0.01)  # ps
    # C_1(t) = mean_k [cos²α_k + sin²α_k cos ωt], C_2 = mean_k P2(same), α_k the bond–axis angles
    acf = rotational_acf(tr, max_lag=60)
    ca = r0.apply(TET) @ axis
    x = ca[None] ** 2 + (1 - ca[None] ** 2) * np.cos(np.radians(omega * np.arange(60)))[:, None]
    assert np.allclose(acf.C1.values, x.mean(axis=1), atol=1e-10)
    assert np.allclose(acf.C2.values, (1.5 * x**2 - 0.5).mean(axis=1), atol=1e-10)


def test_isotropic_rotational_diffusion():
    rng = np.random.default_rng(7)
    n_f, n_u, dt, dr = 1500, 125, 10.0, 4e-4  # D_r in 1/fs → D_r·dt = 0.004
    steps = Rotation.from_rotvec(rng.normal(scale=np.sqrt(2 * dr * dt), size=(n_f, n_u, 3)).reshape(-1, 3))
    steps = steps.as_matrix().reshape(n_f, n_u, 3, 3)
    rot = np.empty((n_f, n_u, 3, 3))
    rot[0] = Rotation.random(n_u, random_state=3).as_matrix()
    for f in range(1, n_f):
        rot[f] = steps[f] @ rot[f - 1]
    acf = rotational_acf(_traj(rot, dt=dt))
    t_fs = acf.time.values * 1e3
    for ell in (1, 2):
        tau = 1.0 / (ell * (ell + 1) * dr)  # fs
        exact = np.exp(-t_fs / tau)
        first = t_fs <= tau
        c = acf[f"C{ell}"].values
        assert np.abs(c - exact)[first].max() < 0.03
        assert abs(float(acf.tau.sel(ell=ell)) * 1e3 / tau - 1) < 0.04
    assert float(acf.C1[0]) == pytest.approx(1.0) and float(acf.C2[0]) == pytest.approx(1.0)


def test_pure_libration():
    rng = np.random.default_rng(1)
    n_f, n_u = 200, 8
    vec = rng.normal(size=(n_f, n_u, 3))
    ang = np.radians(rng.uniform(0, 9.5, size=(n_f, n_u)))
    ang[0] = 0.0  # frame 0 is the reference
    rv = vec / np.linalg.norm(vec, axis=-1, keepdims=True) * ang[..., None]
    base = Rotation.random(n_u, random_state=2).as_matrix()
    rot = Rotation.from_rotvec(rv.reshape(-1, 3)).as_matrix().reshape(n_f, n_u, 3, 3) @ base
    ds = orientations(_traj(rot))
    assert np.allclose(ds.angle.values, np.degrees(ang), atol=1e-6)
    assert float(ds.libration_fraction) == 1.0 and float(ds.rotated_fraction) == 0.0
    assert int(ds.n_events) == 0 and ds.event.size == 0


def test_mean_reference_removes_the_frame0_libration():
    rng = np.random.default_rng(3)
    n_f, n_u = 300, 6
    vec = rng.normal(size=(n_f, n_u, 3))
    ang = np.radians(rng.uniform(0, 12.0, size=(n_f, n_u)))
    ang[0] = np.radians(12.0)  # frame 0 is itself librating by 12°
    rv = vec / np.linalg.norm(vec, axis=-1, keepdims=True) * ang[..., None]
    base = Rotation.random(n_u, random_state=4).as_matrix()
    jump = np.repeat(np.eye(3)[None], n_f, 0)
    jump[150:] = Rotation.from_rotvec(np.radians(120) * TET[3]).as_matrix()  # unit 0: symmetry jump
    rot = Rotation.from_rotvec(rv.reshape(-1, 3)).as_matrix().reshape(n_f, n_u, 3, 3) @ base
    rot[:, 0] = rot[:, 0] @ jump
    first, mean = orientations(_traj(rot)), orientations(_traj(rot), reference="mean")
    # the mean orientation is base (the noise averages out): θ_sym ≈ the applied libration angle
    assert np.abs(mean.angle_sym.values - np.degrees(ang)).max() < 1.5
    assert np.abs(first.angle_sym.values - np.degrees(ang)).max() > 10
    assert float(mean.libration_fraction) == 1.0 and float(first.libration_fraction) < 0.95
    assert mean.event_frame.values.tolist() == [150] and mean.event_unit.values.tolist() == [0]


def test_symmetry_jumps_detected_at_their_frames():
    rng = np.random.default_rng(5)
    n_f = 100
    noise = Rotation.from_rotvec(rng.normal(scale=np.radians(0.5), size=(n_f * 3, 3))).as_matrix()
    noise = noise.reshape(n_f, 3, 3, 3)
    jump = np.repeat(np.eye(3)[None], n_f, 0)
    c3 = Rotation.from_rotvec(np.radians(120) * TET[0]).as_matrix()  # 120° about the first P–S bond
    c2 = Rotation.from_rotvec(np.radians(180) * np.array([1.0, 0, 0])).as_matrix()
    jump[30:] = c3
    jump[70:] = c2 @ c3
    slow = np.repeat(np.eye(3)[None], n_f, 0)  # 120° in 10 steps of 12°, frames 41–50
    k = np.clip(np.arange(n_f) - 40, 0, 10)
    slow[:] = Rotation.from_rotvec(np.radians(12.0 * k)[:, None] * TET[2]).as_matrix()
    rot = np.stack([noise[:, 0] @ jump, noise[:, 1], noise[:, 2] @ slow], axis=1)
    ds = orientations(_traj(rot))
    assert np.allclose(ds.angle_sym.values, _sym_angle(np.swapaxes(rot[:1], -1, -2) @ rot), atol=1e-6)
    assert ds.event_frame.values.tolist() == [30, 49, 70]  # slow unit settles at 108° (12° left)
    assert ds.event_unit.values.tolist() == [0, 2, 0]
    assert np.allclose(ds.event_time.values, np.array([30, 49, 70]) * 0.01)
    assert np.allclose(ds.event_angle.values, [120, 108, 180], atol=5)  # slow unit: 108° when it settles
    # rotated (θ_sym ≥ 15°) only while the slow unit is in transit: 12·k within 15° of 0 or 120 → k = 2..8
    assert float(ds.rotated_fraction) == pytest.approx(7 / (3 * n_f))
    assert ds.libration_fraction_unit.values.tolist()[:2] == [1.0, 1.0]


def _hop_setup(seed=11):
    rng = np.random.default_rng(seed)
    n_f, n_li, n_u = 2000, 60, 27  # 20 ps; units 7 Å apart in a 21 Å box
    li = rng.uniform(0, 21.0, size=(n_li, 3))
    tr = _traj(np.repeat(np.eye(3)[None, None], n_f, 0).repeat(n_u, 1), extra=np.broadcast_to(li, (n_f, n_li, 3)))
    li_idx = np.arange(5 * n_u, 5 * n_u + n_li)
    hops = np.column_stack([rng.integers(0, n_f, 150) * 0.01, rng.choice(li_idx, 150)])
    return rng, tr, hops


def _brute(tr, hops, events, tw, dw):
    """Independent count of rotation events with a hop within both windows (double loop)."""
    box = tr.cells[0, 0, 0]
    n = 0
    for te, c in events:
        for th, a in hops:
            f = round(th / 0.01)
            d = tr.positions[f, int(c)] - tr.positions[f, int(a)]
            d -= box * np.round(d / box)
            if abs(te - th) <= tw + 1e-9 and np.linalg.norm(d) <= dw:
                n += 1
                break
    return n


def test_rotation_hop_correlation_correlated_and_random():
    rng, tr, hops = _hop_setup()
    p = tr.indices("P")
    li_pos = tr.positions[0, hops[:, 1].astype(int)]
    d = li_pos[:, None] - tr.positions[0, p][None]
    d -= 21.0 * np.round(d / 21.0)
    nearest = p[np.linalg.norm(d, axis=-1).argmin(axis=1)]
    jitter = rng.integers(-2, 3, len(hops)) * 0.01
    ev = np.column_stack([np.clip(hops[:, 0] + jitter, 0, 19.99), nearest])
    res = rotation_hop_correlation(tr, hops, ev, time_window_ps=0.055, distance_window_A=6.5, n_shuffle=200)
    obs = res.sel(counted="rotation_events")
    assert float(obs.observed) == _brute(tr, hops, ev, 0.055, 6.5) == len(ev)
    assert float(obs.ratio) > 5 and float(obs.p_value) == pytest.approx(1 / 201)
    assert float(res.ratio.sel(counted="li_hops")) > 5
    # independent events: ratio consistent with 1 within the reported spread
    ev_r = np.column_stack([rng.integers(0, 2000, 150) * 0.01, rng.choice(p, 150)])
    res_r = rotation_hop_correlation(tr, hops, ev_r, time_window_ps=0.055, distance_window_A=6.5, n_shuffle=200)
    rr = res_r.sel(counted="rotation_events")
    assert float(rr.observed) == _brute(tr, hops, ev_r, 0.055, 6.5)
    assert 0 < float(rr.ratio_err) < 0.5
    assert abs(float(rr.ratio) - 1) < 3 * float(rr.ratio_err)
    assert 0.01 < float(rr.p_value) <= 1
    # the hopping.py Dataset form (fs, sites around the atom) gives the same result as the array form
    x = tr.positions[0, hops[:, 1].astype(int)]
    n = len(hops)
    hds = xr.Dataset(
        {
            "jump_time": ("jump", hops[:, 0] * 1e3, {"units": "fs"}),
            "jump_from": ("jump", np.arange(n)),
            "jump_to": ("jump", np.arange(n) + n),
            "site_position": (("site", "xyz"), np.concatenate([x - 0.4, x + 0.4])),
        }
    )
    res_d = rotation_hop_correlation(tr, hds, ev_r, time_window_ps=0.055, distance_window_A=6.5, n_shuffle=200)
    assert np.array_equal(res_d.baseline.values, res_r.baseline.values)


def test_summary_and_orientation_events_feed_the_correlation():
    n_f = 60
    rot = np.repeat(np.eye(3)[None, None], n_f, 0).repeat(2, 1)
    rot[25:, 1] = Rotation.from_rotvec(np.radians(120) * TET[1]).as_matrix()
    tr = _traj(rot)
    s = rotation_summary(tr, n_bins=18)
    assert int(s.n_events) == 1 and float(s.libration_fraction) == 1.0
    assert float(s.event_rate) == pytest.approx(1 / (2 * (n_f - 1) * 0.01))  # per unit per ps
    assert s.angle_sym_hist.values[0] * 10.0 == pytest.approx(1.0)  # all θ_sym in [0°, 10°)
    # C_1: 2 units × 4 bonds; after the 120° jump about bond 1, bond 1 keeps u, the others rotate onto
    # each other (u·u' = −1/3): for lags crossing the jump C_1 = (4 + 1·1 + 3·(−1/3))/8 per origin
    m = 10
    frac = np.minimum(np.arange(m), 25) / (n_f - np.arange(m))  # fraction of origins that straddle
    assert np.allclose(s.C1.values[:m], 1 - frac * (1 - 0.5), atol=1e-12)
    ori = orientations(tr)
    res = rotation_hop_correlation(tr, np.array([[0.25, 0]]), ori, 0.01, 3.0, n_shuffle=20)
    assert float(res.observed.sel(counted="rotation_events")) == 0  # unit 0's centre is 7 Å away
    res = rotation_hop_correlation(tr, np.array([[0.25, 1]]), ori, 0.01, 3.0, n_shuffle=20)
    assert float(res.observed.sel(counted="rotation_events")) == 1


def test_real_aimd_units(aimd):
    a = anion_units(aimd)
    assert len(a) == 32 and a.ligands.shape == (32, 4)
    acf = rotational_acf(aimd, anions=a, max_lag=20)
    assert float(acf.C1[0]) == pytest.approx(1.0) and float(acf.C2[0]) == pytest.approx(1.0)
    ori = orientations(aimd, anions=a)
    assert float(ori.angle_sym.min()) >= 0 and np.all(ori.angle_sym.values <= ori.angle.values + 1e-9)
    assert float(ori.libration_fraction) + float(ori.rotated_fraction) == pytest.approx(1.0)


def test_bad_input():
    rot = np.repeat(np.eye(3)[None, None], 5, 0).repeat(2, 1)
    tr = _traj(rot)
    with pytest.raises(InputError, match="'B' is not in this trajectory"):
        anion_units(tr, centre="B")
    pos = tr.positions.copy()
    pos[:, 5] += 1.5  # one S of the first P pulled away
    bad = Trajectory(positions=pos, cells=tr.cells, symbols=tr.symbols, dt=tr.dt)
    with pytest.raises(InputError, match=r"exactly 4.*found 3 S around 1 P"):
        orientations(bad)
    with pytest.raises(InputError, match="more than one P"):
        anion_units(tr, cutoff=20.0)
    with pytest.raises(InputError, match="reference"):
        orientations(tr, reference="last")
    with pytest.raises(InputError, match=r"\(n, 2\) array"):
        rotation_hop_correlation(tr, np.zeros(3), np.zeros((1, 2)), 0.1, 3.0)
    with pytest.raises(InputError, match="are they in ps"):
        rotation_hop_correlation(tr, np.array([[40.0, 0]]), np.zeros((1, 2)), 0.1, 3.0)
