"""VDOS: fast kernel vs NumPy reference, chunked = in-memory, normalisation, Einstein peak, groups,
mixed diffusing + vibrating species, finite-difference velocities."""

import warnings

import numpy as np
import pytest

from superionic.analysis.lowfreq import analyse_lowfreq
from superionic.analysis.vdos import (
    FiniteDifferenceWarning,
    VACFAccumulator,
    bonded_groups,
    vacf,
    vacf_fast,
    vacf_reference,
    vdos,
    vdos_from_chunks,
    vdos_summary,
)
from superionic.errors import InputError
from superionic.synthetic import harmonic_oscillators, langevin_diffusion_coefficient, langevin_particles
from superionic.trajectory.model import Trajectory


def _direct_vacf(v, max_lag):
    """Plain double loop over lags (independent of any FFT)."""
    t = v.shape[0]
    return np.array([(v[: t - m] * v[m:]).sum(axis=-1).mean() for m in range(max_lag)])


def test_fast_kernel_matches_reference_and_direct_sum():
    rng = np.random.default_rng(1)
    v = rng.normal(size=(300, 10, 3))
    idx = [np.arange(6), np.arange(6, 10)]
    z, _, _ = vacf_fast(v, idx, 120, atom_groups=3)
    for k, i in enumerate(idx):
        np.testing.assert_allclose(z[k], vacf_reference(v, i, 120), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(z[k], _direct_vacf(v[:, i], 120), rtol=1e-10, atol=1e-12)
    z32, _, _ = vacf_fast(v, idx, 120, dtype=np.float32)
    np.testing.assert_allclose(z32, z, atol=1e-5 * z[:, 0].max())


@pytest.mark.parametrize("blocks", [2, 7])
def test_time_blocks_and_chunks_give_exact_all_origin_sums(blocks):
    rng = np.random.default_rng(2)
    v = rng.normal(size=(500, 8, 3))
    idx = [np.arange(8)]
    ref, _, _ = vacf_fast(v, idx, 90)
    z, usum, ucnt = vacf_fast(v, idx, 90, atom_groups=2, time_blocks=blocks)
    np.testing.assert_allclose(z, ref, rtol=1e-10, atol=1e-12)
    assert usum.shape[1] == 2 * blocks
    np.testing.assert_allclose(ucnt.sum(axis=1)[0], 8 * (500 - np.arange(90)))
    # uneven chunks smaller than max_lag, with pairwise merging of blocks
    acc = VACFAccumulator(idx, 90, atom_groups=1, max_blocks=3)
    for a, b in [(0, 40), (40, 45), (45, 200), (200, 260), (260, 500)]:
        acc.update(v[a:b])
    z2, us2, _ = acc.result()
    np.testing.assert_allclose(z2, ref, rtol=1e-10, atol=1e-12)
    assert us2.shape[1] <= 5


def test_einstein_peak_and_normalisation():
    nu0 = 5.0
    traj = harmonic_oscillators([nu0], n_per_frequency=32, n_frames=4096, dt=4.0)
    ds = vdos(traj)
    g = ds.g.sel(species="P").values
    nu = ds.frequency.values
    i = int(np.argmax(g))
    # parabolic interpolation of the peak
    y0, y1, y2 = g[i - 1 : i + 2]
    peak = nu[i] + 0.5 * (y0 - y2) / (y0 - 2 * y1 + y2) * (nu[1] - nu[0])
    assert abs(peak / nu0 - 1) < 0.005
    assert abs(np.trapezoid(g, nu) - 1) < 0.005
    assert abs(float(ds.integral.sel(species="P")) - 1) < 0.005
    assert abs(float(ds.kinetic_temperature.sel(species="P")) / 300 - 1) < 0.4  # 96 fixed-amplitude dof
    assert {ds[k].attrs["units"] for k in ds.data_vars} and all("units" in ds[c].attrs for c in ds.coords)


def test_total_is_atom_fraction_sum_and_groups():
    traj = harmonic_oscillators([3.0, 7.0], n_per_frequency=16, n_frames=1024, dt=5.0)
    idx_s = traj.indices("S")
    ds = vdos(traj, groups={"S_all": idx_s, "P_half": traj.indices("P")[:8]})
    np.testing.assert_allclose(ds.g_total, 0.5 * ds.g.sel(species="P") + 0.5 * ds.g.sel(species="S"))
    np.testing.assert_allclose(ds.g_group.sel(group="S_all"), ds.g.sel(species="S"), rtol=1e-10)
    assert abs(float(ds.integral_group.sel(group="P_half")) - 1) < 1e-6
    with pytest.raises(InputError):
        vdos(traj, groups={"bad": [0, 10_000]})
    with pytest.raises(InputError):
        vdos(traj, lag_window="kaiser")
    # the old keyword still works for one release, with a DeprecationWarning
    with pytest.warns(DeprecationWarning, match="lag_window"):
        old = vdos(traj, window="triangle")
    assert old.attrs["lag_window"] == "triangle"
    np.testing.assert_array_equal(old.g, vdos(traj, lag_window="triangle").g)
    with pytest.raises(TypeError, match="both"):
        vdos(traj, window="hann", lag_window="hann")


def test_bonded_groups_split_ps4_from_free_sulfur():
    cell = np.eye(3) * 10
    pos = np.array([[0, 0, 0], [2.0, 0, 0], [0, 2.0, 0], [5, 5, 5], [9.0, 0, 0]])  # P, S, S, S(free), S(wrap)
    traj = Trajectory(positions=pos[None], cells=cell, symbols=["P", "S", "S", "S", "S"], dt=1.0)
    g = bonded_groups(traj)
    assert list(g["S_PS4"]) == [1, 2, 4] and list(g["S_free"]) == [3]


def test_mixed_trajectory_recovers_both_species():
    gamma, temp = 0.02, 600.0
    li = langevin_particles(n_atoms=96, n_frames=12000, dt=1.0, stride=5, gamma=gamma, temperature=temp, seed=3)
    osc = harmonic_oscillators([6.0], n_per_frequency=32, n_frames=12000, dt=5.0, temperature=temp, seed=4)
    traj = Trajectory(
        positions=np.concatenate([li.positions, osc.positions], axis=1),
        cells=np.eye(3) * 20,
        symbols=li.symbols + osc.symbols,
        dt=5.0,
        velocities=np.concatenate([li.velocities, osc.velocities], axis=1),
        masses=np.concatenate([li.masses, osc.masses]),
        metadata={"temperature": temp},
    )
    ds = vdos(traj, max_lag=2000)
    s = vdos_summary(ds, n_boot=60)
    d_ref = langevin_diffusion_coefficient(temp, 6.94, gamma)
    li = s["species"]["Li"]
    assert li["classification"] == "diffusive" and li["g0_resolved"]
    # Green–Kubo through g(0): the exact D within 3 stated σ (here σ ≈ 4 %)
    assert abs(li["D_from_g0"] - d_ref) < 3 * li["D_from_g0_err"] and li["D_from_g0_err"] < 0.06 * d_ref
    gp = ds.g.sel(species="P").values
    assert abs(ds.frequency.values[np.argmax(gp)] / 6.0 - 1) < 0.01
    assert s["species"]["P"]["classification"] != "diffusive"
    assert abs(s["species"]["P"]["D_from_g0"]) < 0.02 * d_ref
    assert abs(s["species"]["P"]["band_centre"] / (6.0 * 4.135667696) - 1) < 0.01


def test_central_differences_warn_and_keep_green_kubo():
    li = langevin_particles(n_atoms=64, n_frames=6000, dt=1.0, stride=5, gamma=0.02, seed=5)
    nov = Trajectory(positions=li.positions, cells=li.cells, symbols=li.symbols, dt=li.dt, masses=li.masses)
    with pytest.warns(FiniteDifferenceWarning, match="sinc"):
        ds_fd = vdos(nov, max_lag=1000)
    ds = vdos(li, max_lag=1000)
    assert ds_fd.attrs["velocities"].startswith("central")
    d_fd = analyse_lowfreq(ds_fd, "Li", n_boot=0)["D_at_zero"]
    d = analyse_lowfreq(ds, "Li", n_boot=0)["D_at_zero"]
    assert abs(d_fd / d - 1) < 0.03  # Green–Kubo integral is unaffected by the differencing
    assert float(ds_fd.kinetic_temperature[0]) < float(ds.kinetic_temperature[0])


def test_chunked_central_differences_match_in_memory():
    traj = harmonic_oscillators([4.0], n_per_frequency=8, n_frames=900, dt=5.0)
    traj = Trajectory(
        positions=np.mod(traj.positions, 20.0), cells=traj.cells, symbols=traj.symbols, dt=5.0, masses=traj.masses
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FiniteDifferenceWarning)
        a = vdos(traj, max_lag=200)
        b = vdos_from_chunks((traj.select_frames(s, s + 250) for s in range(0, 900, 250)), max_lag=200)
    np.testing.assert_allclose(b.vacf.values, a.vacf.values, rtol=1e-9, atol=1e-14)
    np.testing.assert_allclose(b.g.values, a.g.values, rtol=1e-7, atol=1e-10)


def test_vacf_dataset_and_summary_keys():
    traj = harmonic_oscillators([5.0], n_per_frequency=8, n_frames=512, dt=5.0)
    ac = vacf(traj)
    assert ac.vacf.attrs["units"] == "angstrom2 fs-2" and ac.vacf.shape == (1, 256)
    s = vdos_summary(vdos(traj), n_boot=20)
    for k in ("g0", "g0_err", "exponent", "exponent_err", "D_from_g0", "band_centre"):
        assert k in s["species"]["P"]
