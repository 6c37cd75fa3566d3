"""Phonon-gas κ of the NMD modes (superionic.lattice.phonon_gas) against independent references.

The crystal is the fcc nearest-neighbour spring crystal of tests/test_nmd.py (32-atom MD cell, 32 commensurate
q of the one-atom primitive cell, 24 of them not time-reversal invariant, so group velocities are finite).

* the velocity operator's diagonal against phonopy's own group velocities (phonopy.phonon.group_velocity, its
  analytic ∂D/∂q with degenerate perturbation) at every commensurate q;
* the same κ from two bases of the same modes: phonopy's Bloch modes (complex, q and −q stored once) and the
  MD cell's own Hessian at Γ (real eigenvectors mixing q and −q);
* exact Langevin dynamics of the harmonic crystal (every mode's Γ = γ/2π), through the whole NMD: κ_gas equals
  the sum (1/3V) Σ k_B |v_g|² /(2πΓ) written out by hand from phonopy's velocities;
* the unit W/(m·K) from SI constants, the quantum heat capacity against the Einstein function, the treatment
  of overdamped and unresolved modes.
"""

import math

import numpy as np
import pytest
import xarray as xr
from test_nmd import Springs, cu_emt_h5, exact_langevin, md_cell, spring_force_constants, unit_cell  # noqa: F401

from superionic.errors import InputError
from superionic.lattice import harmonic_phonons
from superionic.lattice.nmd import mode_reference, nmd, reference_from_hessian
from superionic.lattice.phonon_gas import (
    KAPPA_UNIT,
    _heat_capacity_pairs,
    kappa_summary,
    phonon_gas_kappa,
    velocity_matrices,
)

pytest.importorskip("phonopy")
KB_J = 1.380649e-23  # J/K (SI, exact)


@pytest.fixture(scope="module")
def crystal():
    result = harmonic_phonons(unit_cell(), Springs(), supercell=(2, 2, 2), mesh=(4, 4, 4), band_points=30)
    cell = md_cell()
    ref = mode_reference(result, cell.cell[:], cell.get_positions(), cell.get_chemical_symbols())
    return result.phonopy, ref, cell


def phonopy_velocities(phonon, q):
    """(bands, 3) group velocities (THz·Å = Å/ps) from phonopy at reduced q."""
    from phonopy.phonon.group_velocity import GroupVelocity

    gv = GroupVelocity(phonon.dynamical_matrix, symmetry=phonon.primitive_symmetry)
    gv.run([q])
    return np.asarray(gv.group_velocities[0])


def fake_nmd(ref, gamma_thz, overdamped=None, resolved=None):
    """An NMD result over the reference's modes with the given intrinsic widths (THz)."""
    n = ref.n_modes
    g = np.broadcast_to(np.asarray(gamma_thz, dtype=float), (n,)).copy()
    fitted = ~ref.translation
    res = fitted.copy() if resolved is None else np.asarray(resolved, bool)
    od = np.zeros(n, bool) if overdamped is None else np.asarray(overdamped, bool)
    return xr.Dataset(
        {
            "harmonic_frequency": ("mode", ref.frequencies_thz),
            "fitted": ("mode", fitted),
            "resolved": ("mode", res),
            "overdamped": ("mode", od),
            "gamma_intrinsic": ("mode", np.where(res, g, 0.0)),
            "gamma_upper": ("mode", np.where(res, np.nan, g)),
        },
        attrs={"temperature_K": 300.0},
    )


def hand_sum(phonon, ref, gamma_thz):
    """(1/3V) Σ_q w_q Σ_s k_B |v_s(q)|² τ, τ = 1/(2πΓ), from phonopy's velocities, W/(m·K), in SI units."""
    vol = abs(np.linalg.det(ref.cell)) * 1e-30  # m³
    total = 0.0
    for q in np.unique(np.round(ref.q, 8), axis=0):
        rows = np.flatnonzero(np.all(np.abs(ref.q - q) < 1e-6, axis=1))
        v = phonopy_velocities(phonon, q) * 100.0  # Å/ps → m/s
        nu = ref.frequencies_thz[rows]
        keep = nu > 0.05
        tau = 1.0 / (2 * math.pi * gamma_thz * 1e12)  # s
        total += ref.weight[rows[0]] * KB_J * np.sum(v[keep] ** 2) * tau
    return total / (3 * vol)


def test_velocity_operator_diagonal_is_phonopys_group_velocity(crystal):
    phonon, ref, _ = crystal
    blocks, mats, info = velocity_matrices(ref)
    assert info["image_ambiguous_weight"] < 1e-20  # nearest neighbours 2.55 Å, half the cell 3.6 Å
    finite = 0
    for rows, v in zip(blocks, mats):
        q = ref.q[rows[0]]
        want = phonopy_velocities(phonon, q)[ref.branch[rows]]
        nu = ref.frequencies_thz[rows]
        # Hermitian in λλ' for every direction
        np.testing.assert_allclose(v, np.conj(np.swapaxes(v, 1, 2)), atol=1e-10)
        for s in range(len(rows)):
            deg = np.abs(nu - nu[s]) < 1e-3
            # Σ over the degenerate block, per direction: basis-independent; phonopy diagonalises it
            got = np.sum(np.abs(v[:, s][:, deg]) ** 2, axis=1) if deg.sum() > 1 else np.abs(v[:, s, s]) ** 2
            np.testing.assert_allclose(got, want[s] ** 2 if deg.sum() == 1 else got, atol=1e-8)
            if deg.sum() == 1:
                np.testing.assert_allclose(v[:, s, s].real, want[s], atol=1e-8)
        for a in range(3):
            sub = v[a]
            for s in range(len(rows)):
                deg = np.abs(nu - nu[s]) < 1e-3
                block = sub[np.ix_(deg, deg)]
                np.testing.assert_allclose(np.sort(np.linalg.eigvalsh(block)), np.sort(want[deg, a]), atol=1e-8)
        finite += int(np.any(np.abs(want) > 1.0))
        assert np.any(np.abs(want) > 1.0) == (ref.weight[rows[0]] == 2)  # zero at q ≡ −q, finite elsewhere
    assert len(blocks) == 19 and finite == 12  # 7 time-reversal-invariant q (Γ: translations only), 12 pairs


def test_the_md_cells_own_hessian_gives_the_same_kappa(crystal):
    """Real Γ-point modes of the 32-atom cell (its Hessian) against phonopy's complex Bloch modes, equal widths
    (so that degenerate subspaces are treated alike): the same κ_gas and κ_total."""
    _, ref, cell = crystal
    direct = reference_from_hessian(
        spring_force_constants(cell), cell.cell[:], cell.get_positions(), cell.get_chemical_symbols(), cell.get_masses()
    )
    a = phonon_gas_kappa(ref, fake_nmd(ref, 0.2))
    b = phonon_gas_kappa(direct, fake_nmd(direct, 0.2))
    for key in ("kappa_gas", "kappa_coherence", "kappa_total"):
        # phonopy's force constants (finite displacements) differ from the exact springs by ~1e-5
        np.testing.assert_allclose(b.attrs[key], a.attrs[key], rtol=1e-4)
    assert a.attrs["kappa_gas"] > 10 * a.attrs["kappa_coherence"]  # a crystal: mostly the phonon gas
    assert a.attrs["n_used"] == b.attrs["n_used"] == 93


def test_gas_kappa_by_hand_from_phonopy_and_the_unit(crystal):
    phonon, ref, _ = crystal
    gamma = 0.3
    k = phonon_gas_kappa(ref, fake_nmd(ref, gamma))
    np.testing.assert_allclose(k.attrs["kappa_gas"], hand_sum(phonon, ref, gamma), rtol=1e-8)
    np.testing.assert_allclose(KAPPA_UNIT, KB_J * (100.0**2) * 1e-12 / 1e-30, rtol=1e-12)
    # the per-mode pieces add up; τ = 1/(2πΓ)
    np.testing.assert_allclose(k.kappa_gas_mode.sum(), k.attrs["kappa_gas"], rtol=1e-10)
    np.testing.assert_allclose(k.kappa_coherence_mode.sum(), k.attrs["kappa_coherence"], rtol=1e-10)
    np.testing.assert_allclose(k.lifetime.values[k.used.values], 1 / (2 * math.pi * gamma))
    # κ ∝ 1/Γ for the gas term
    k2 = phonon_gas_kappa(ref, fake_nmd(ref, 2 * gamma))
    np.testing.assert_allclose(k2.attrs["kappa_gas"], 0.5 * k.attrs["kappa_gas"], rtol=1e-10)
    s = kappa_summary(k)
    assert s["units"] == "W/(m·K)" and s["kappa_total"] == pytest.approx(k.attrs["kappa_total"])


def test_exact_langevin_through_the_nmd_gives_the_hand_sum(crystal):
    """Every mode of the harmonic crystal under Langevin friction γ has Γ = γ/2π: the NMD measures the widths
    (friction not subtracted), phonon_gas_kappa turns them into κ_gas; against the hand sum at the exact Γ."""
    phonon, ref, _ = crystal
    gamma_thz = 0.25
    traj = exact_langevin(
        md_cell(), 2 * math.pi * gamma_thz * 1e-3, 300.0, dt_fs=20.0, n_frames=12000, burn=500, seed=4
    )
    ds = nmd(traj, ref, segment=1024, friction_per_fs=0.0)
    k = phonon_gas_kappa(ref, ds)
    want = hand_sum(phonon, ref, gamma_thz)
    print(f"κ_gas from the NMD widths {k.attrs['kappa_gas']:.4f}, by hand at Γ = γ/2π {want:.4f} W/(m·K)")
    assert k.attrs["n_used"] == 93 and k.attrs["n_lower_bound"] == 0
    assert k.attrs["kappa_gas"] == pytest.approx(want, rel=0.05)


def test_overdamped_and_unresolved_modes(crystal):
    _, ref, _ = crystal
    n = ref.n_modes
    low = (ref.frequencies_thz > 0.05) & (ref.frequencies_thz < 5.0)
    od = low.copy()
    unres = np.zeros(n, bool)
    unres[np.flatnonzero(ref.frequencies_thz > 8.0)[:3]] = True
    base = phonon_gas_kappa(ref, fake_nmd(ref, 0.3))
    k = phonon_gas_kappa(ref, fake_nmd(ref, 0.3, overdamped=od, resolved=~ref.translation & ~unres))
    # the upper bound of an unresolved width enters like a width: with everything equal κ is unchanged
    np.testing.assert_allclose(k.attrs["kappa_total"], base.attrs["kappa_total"], rtol=1e-12)
    assert k.attrs["n_lower_bound"] == int(ref.weight[unres].sum()) and k.lower_bound.values[unres].all()
    assert 0 < k.attrs["kappa_unresolved"] < k.attrs["kappa_total"]
    # without the overdamped modes: exactly the pairs among the others
    keep = ~od
    want = float(k.kappa_gas_mode.values[keep & k.used.values].sum())
    np.testing.assert_allclose(k.attrs["kappa_gas_underdamped"], want, rtol=1e-10)
    assert k.attrs["kappa_total_underdamped"] < k.attrs["kappa_total"]
    assert k.attrs["n_overdamped"] == int(ref.weight[od].sum())


def test_quantum_heat_capacity_and_refusals(crystal):
    _, ref, _ = crystal
    omega = 2 * math.pi * np.array([1.0, 1.0 + 1e-9, 5.0, 20.0])  # rad/ps
    t = 300.0
    c = _heat_capacity_pairs(omega, t, quantum=True)
    x = 1.0545718176e-34 * omega * 1e12 / (KB_J * t)
    einstein = x**2 * np.exp(x) / np.expm1(x) ** 2
    np.testing.assert_allclose(np.diag(c), einstein, rtol=2e-6)  # CODATA k_B of ASE
    np.testing.assert_allclose(c, c.T, rtol=1e-12)
    np.testing.assert_allclose(c[0, 1], einstein[0], rtol=1e-6)
    assert np.all(_heat_capacity_pairs(omega, 1e6, quantum=True) > 0.999)
    kq = phonon_gas_kappa(ref, fake_nmd(ref, 0.3), quantum=True)
    kc = phonon_gas_kappa(ref, fake_nmd(ref, 0.3))
    assert 0.8 * kc.attrs["kappa_total"] < kq.attrs["kappa_total"] < kc.attrs["kappa_total"]  # ν ≤ 8.8 THz at 300 K
    other = fake_nmd(ref, 0.3).isel(mode=slice(0, 10))
    with pytest.raises(InputError, match="same one"):
        phonon_gas_kappa(ref, other)


def test_cli_nmd_kappa(cu_emt_h5, tmp_path, capsys):  # noqa: F811 (the fixture of test_nmd)
    """`superionic nmd --kappa`: the totals in the JSON summary and the netCDF equal the library's on the same
    reference (EMT Cu, 32 atoms, its own relaxed Hessian at Γ)."""
    import json

    import superionic.cli.nmd_cmd  # noqa: F401  (registers the command)
    from superionic.cli import run
    from superionic.lattice.nmd import reference_from_frame

    out = tmp_path / "nmd.nc"
    code = run(["nmd", cu_emt_h5, "--potential", "emt", "--segment", "1.5", "--out", out, "--kappa", "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    s = json.loads(captured.out)
    ds = xr.load_dataset(out)
    ref = reference_from_frame(cu_emt_h5, "emt")
    k = phonon_gas_kappa(ref, ds)
    assert s["kappa_total_W_mK"] == pytest.approx(k.attrs["kappa_total"], rel=1e-6)
    assert s["kappa_gas_W_mK"] == pytest.approx(k.attrs["kappa_gas"], rel=1e-6, abs=1e-9)
    assert ds.attrs["kappa_total"] == pytest.approx(s["kappa_total_W_mK"])
    assert np.all(ds.lifetime.values[k.used.values] > 0)
    assert 0 < s["kappa_total_W_mK"] < 1e4
    code = run(["nmd", cu_emt_h5, "--potential", "emt", "--segment", "1.5", "--out", tmp_path / "b.nc", "--kappa"])
    assert code == 0
    assert "thermal conductivity (classical" in capsys.readouterr().out
