"""Site hopping: exact rates and lengths on a lattice gas, rattling filtered, argyrodite sites."""

import json
import subprocess
import sys

import numpy as np
import pytest

from superionic import synthetic, units
from superionic.analysis.diffusion import diffusion
from superionic.analysis.hopping import Sites, argyrodite_sites, hopping, sites_from_density, sites_from_structure
from superionic.errors import InputError
from superionic.trajectory import Trajectory

RATE, L, DT = 1e-3, 2.0, 10.0


@pytest.fixture(scope="module")
def walk():
    return synthetic.lattice_random_walk(
        n_atoms=150, n_frames=4000, dt=DT, rate=RATE, jump_length=L, box_sites=6, seed=4
    )


def _lattice_sites(n=6):
    g = np.arange(n) * L
    pts = np.array(np.meshgrid(g, g, g, indexing="ij")).reshape(3, -1).T
    return Sites(pts, np.eye(3) * n * L, ["sc"] * len(pts), source="lattice")


def test_lattice_gas_rate_length_and_diffusion(walk):
    ds = hopping(walk, _lattice_sites(), residence=DT)
    p = 1 - np.exp(-RATE * DT)  # at most one jump per frame: Γ = p/dt
    assert abs(float(ds.total_rate) / (p / DT * 1e3) - 1) < 0.02
    assert abs(float(ds.total_rate) / (RATE * 1e3) - 1) < 0.02
    assert np.allclose(ds.jump_distance.values, L, atol=1e-9)  # jump length exact
    # D = l²/6τ from the jumps and from the MSD
    d_exact = L**2 * RATE / 6 * units.A2_PER_FS_TO_CM2_PER_S
    assert abs(float(ds.D_jump) / d_exact - 1) < 0.02
    dm = diffusion(walk, "Li")
    assert abs(float(dm.D.values[0]) - d_exact) < 3 * float(dm.D_err.values[0])
    f = hopping(walk, _lattice_sites(), residence=DT, d_tracer=float(dm.D.values[0]))
    assert abs(float(f.correlation_factor) - 1) < 0.1  # uncorrelated walk: f = 1
    # residence times: exponential with mean 1/Γ (frames are discrete)
    assert abs(float(ds.mean_residence) / (DT / p) - 1) < 0.03


def test_sites_from_density_recover_the_lattice(walk):
    s = sites_from_density(walk, "Li", min_separation=1.0)
    assert len(s) == 6**3
    ref = _lattice_sites()
    d = np.linalg.norm(((s.positions[:, None] - ref.positions[None]) / 12.0 + 0.5) % 1 - 0.5, axis=-1) * 12.0
    assert np.allclose(d.min(axis=1), 0, atol=1e-9)
    a = hopping(walk, s, residence=DT)
    b = hopping(walk, _lattice_sites(), residence=DT)
    assert int(a.jump_count.sum()) == int(b.jump_count.sum())


def _rattle_trajectory(seed=0):
    """Two sites 1 Å apart per atom; 'rattlers' hop over and back within < 60 fs, 'movers' hop once and stay."""
    rng = np.random.default_rng(seed)
    n_r, n_m, frames, dt = 20, 5, 600, 10.0
    centres = np.array([[5.0 + 6 * i, 5.0, 5.0] for i in range(n_r + n_m)])
    pos = np.repeat(centres[None], frames, axis=0).copy()
    for a in range(n_r):
        f = 5
        while f < frames - 10:
            stay = rng.integers(1, 6)  # 10–50 fs in the other site
            pos[f : f + stay, a, 0] += 1.0
            f += stay + rng.integers(5, 30)
    for a in range(n_r, n_r + n_m):
        pos[300:, a, 0] += 1.0  # one real jump, then stays
    pos += rng.normal(0, 0.05, pos.shape)  # thermal jitter
    sites = np.concatenate([centres, centres + [1.0, 0, 0]])
    cell = np.eye(3) * 200.0
    tr = Trajectory(positions=pos, cells=cell, symbols=["Li"] * (n_r + n_m), dt=dt)
    return tr, Sites(sites, cell, ["A"] * len(centres) + ["B"] * len(centres))


def test_rattling_counts_no_jumps():
    tr, sites = _rattle_trajectory()
    ds = hopping(tr, sites, residence=100.0)
    assert int(ds.jump_count.sum()) == 5  # only the five movers
    assert set(ds.jump_from.values) <= set(range(20, 25))
    raw = hopping(tr, sites, residence=0.0)  # without the threshold rattling would count
    assert int(raw.jump_count.sum()) > 100


def test_argyrodite_sites_geometry():
    s = argyrodite_sites(supercell=(1, 1, 1))
    assert len(s) == 48
    assert np.all(np.bincount(s.doublet) == 2) and np.all(np.bincount(s.cage) == 12)
    d = s.distances()
    i, j = np.nonzero(np.triu(np.ones_like(d, bool), 1))
    same_pair = s.doublet[i] == s.doublet[j]
    same_cage = (s.cage[i] == s.cage[j]) & ~same_pair
    # doublet partners are the closest, then intra-cage, then other cages
    assert d[i, j][same_pair].max() < d[i, j][same_cage].min() < d[i, j][~same_cage & ~same_pair].min() + 1.0
    assert len(argyrodite_sites(supercell=(2, 1, 1))) == 96


def test_sites_from_structure_labels():
    from superionic.materials.argyrodite import li6ps5cl_full_sites

    s = sites_from_structure(li6ps5cl_full_sites(), "Li")
    assert len(s) == 48 and set(s.labels) == {"48h"}


def test_input_errors(walk):
    with pytest.raises(InputError):
        Sites(np.zeros((1, 3)), np.eye(3), ["a"])
    with pytest.raises(InputError, match="radius"):
        hopping(walk, _lattice_sites(), radius=-1.0)
    with pytest.raises(InputError, match="species"):
        hopping(walk, _lattice_sites(), species="Na")


def test_real_argyrodite_hopping(aimd):
    s = argyrodite_sites(aimd)
    assert s.info["supercell"] == [2, 2, 2] and len(s) == 384
    assert s.info["alignment_rms"] < 0.3  # P positions of the file match the 4b sites
    ds = hopping(aimd, s)
    kinds = set(ds.jump_type.values)
    assert kinds <= {"doublet", "intra-cage", "inter-cage"} and len(kinds) == 3
    lengths = dict(zip(ds.jump_type.values, ds.jump_length.values))
    assert lengths["doublet"] < lengths["intra-cage"] < lengths["inter-cage"]
    assert float(ds.total_rate) > 0 and np.isfinite(float(ds.mean_residence))


def test_cli_hopping_json(xdatcar_path):
    res = subprocess.run(
        [sys.executable, "-m", "superionic", "analyze", "hopping", str(xdatcar_path), "--dt", "100", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["sites"] == "argyrodite 48h" and set(out["jumps"]) == {"doublet", "intra-cage", "inter-cage"}
    assert 0 < out["correlation_factor"] < 2


@pytest.mark.parametrize("inverted", [False, True])
def test_argyrodite_sites_take_their_orientation_from_the_anions_not_from_p_alone(inverted):
    """P on 4b fits F-43m and its inverse equally well; picking the inverse puts the 48h cages on empty sites and
    turned a 100 ps run's 41 Li cage changes into 4228 (found on examples/ding2025_pbe_d3_long.yaml). The ordered
    cell and its mirror image (r → −r, another origin too) must both get sites under their Li."""
    from superionic.geometry import pair_vectors
    from superionic.materials import build_material

    atoms = build_material("Li6PS5Cl", supercell="2x2x2")
    cell = np.asarray(atoms.cell[:])
    pos = atoms.get_positions()
    if inverted:
        pos = np.mod((-pos + 0.37 * cell[0]) @ np.linalg.inv(cell), 1.0) @ cell
    rng = np.random.default_rng(1)
    frames = pos[None] + rng.normal(scale=0.05, size=(4, *pos.shape))
    traj = Trajectory(frames, np.repeat(cell[None], 4, axis=0), atoms.get_chemical_symbols(), dt=10.0)
    sites = argyrodite_sites(traj)
    assert sites.info["inverted"] == int(inverted)
    assert sites.info["alignment_rms"] < 0.1 and sites.info["anion_rms"] < 0.1
    li = traj.indices("Li")
    to_site = np.linalg.norm(pair_vectors(pos[li], sites.positions, cell), axis=-1).min(axis=1)
    assert to_site.max() < 0.05  # every Li on a 48h site (the inverse template would leave them ≈ 1 Å off)
