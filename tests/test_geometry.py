"""The one minimum-image helper against a brute-force search over neighbouring images."""

import numpy as np

from superionic.geometry import minimum_image, pair_distances


def _brute(d, cell):
    shifts = np.array([[i, j, k] for i in (-1, 0, 1) for j in (-1, 0, 1) for k in (-1, 0, 1)]) @ cell
    cand = d[..., None, :] + shifts
    return np.take_along_axis(cand, np.linalg.norm(cand, axis=-1).argmin(-1)[..., None, None], -2)[..., 0, :]


def test_minimum_image_matches_brute_force_in_orthorhombic_and_mildly_sheared_cells():
    rng = np.random.default_rng(3)
    for cell in (np.diag([10.0, 12.0, 9.0]), np.array([[10.0, 0, 0], [1.5, 11.0, 0], [0.5, -1.0, 9.5]])):
        frac = rng.uniform(-0.45, 0.45, (500, 3))
        d = frac @ cell + rng.integers(-3, 4, (500, 3)) @ cell  # short vectors hidden behind images
        ref = frac @ cell
        np.testing.assert_allclose(minimum_image(d, cell), ref, atol=1e-9)
        # the shortest image is found for every vector shorter than half the smallest cell height
        vol = abs(np.linalg.det(cell))
        h = min(vol / np.linalg.norm(np.cross(cell[i - 1], cell[i - 2])) for i in range(3))
        short = np.linalg.norm(ref, axis=-1) < h / 2
        assert short.sum() > 100
        np.testing.assert_allclose(
            np.linalg.norm(minimum_image(d, cell), axis=-1)[short],
            np.linalg.norm(_brute(ref, cell), axis=-1)[short],
            atol=1e-9,
        )


def test_per_frame_cells_and_pair_distances():
    rng = np.random.default_rng(4)
    cells = np.stack([np.diag([10.0, 10.0, 10.0]) * s for s in (1.0, 1.1, 0.9)])
    d = rng.uniform(-20, 20, (3, 7, 3))
    out = minimum_image(d, cells)
    for f in range(3):
        np.testing.assert_allclose(out[f], minimum_image(d[f], cells[f]))
    assert np.all(np.abs(out / np.diagonal(cells, axis1=1, axis2=2)[:, None, :]) <= 0.5 + 1e-12)
    a, b = rng.uniform(0, 10, (4, 3)), rng.uniform(0, 10, (5, 3))
    cell = np.eye(3) * 10.0
    ref = np.array([[np.linalg.norm(minimum_image(bj - ai, cell)) for bj in b] for ai in a])
    np.testing.assert_allclose(pair_distances(a, b, cell), ref)
