"""Q points: reciprocal cell, commensurate sets for any cell, shells, directions, user lists."""

import numpy as np
import pytest

from superionic.analysis.qpoints import (
    QSet,
    commensurate_qpoints,
    fibonacci_directions,
    miller_indices,
    powder_directions,
    qpoints_from_list,
    reciprocal_cell,
    spherical_shells,
)
from superionic.errors import InputError

TRICLINIC = np.array([[7.0, 0.0, 0.0], [2.0, 6.5, 0.0], [1.0, -1.5, 8.0]])


def test_reciprocal_cell_duality():
    b = reciprocal_cell(TRICLINIC)
    assert np.allclose(TRICLINIC @ b.T, 2 * np.pi * np.eye(3))


def test_commensurate_points_are_periodic_and_complete():
    q, hkl = commensurate_qpoints(TRICLINIC, 2.0, 0.5)
    qn = np.linalg.norm(q, axis=1)
    assert np.all((qn >= 0.5) & (qn <= 2.0)) and np.all(np.diff(qn) >= -1e-12)
    assert np.allclose(q, hkl @ reciprocal_cell(TRICLINIC))
    # exp(iQ·r) is unchanged by any lattice translation
    r = np.array([0.3, 1.7, -2.2])
    for a in TRICLINIC:
        assert np.allclose(np.exp(1j * q @ (r + a)), np.exp(1j * q @ r))
    # brute-force count (both ±Q) equals twice the half set
    h = np.arange(-10, 11)
    g = np.stack(np.meshgrid(h, h, h, indexing="ij"), -1).reshape(-1, 3) @ reciprocal_cell(TRICLINIC)
    gn = np.linalg.norm(g, axis=1)
    assert 2 * len(q) == np.count_nonzero((gn >= 0.5) & (gn <= 2.0))
    assert not np.any(np.all(hkl[:, None] == -hkl[None], axis=-1))  # no ±Q duplicates


def test_spherical_shells():
    qs = spherical_shells(TRICLINIC, [0.8, 1.5], q_width=0.2, max_per_shell=5)
    assert qs.n_shells == 2 and np.all(qs.counts() <= 5)
    qn = np.linalg.norm(qs.vectors, axis=1)
    assert np.all(np.abs(qn - qs.q[qs.shell]) <= 0.1 + 1e-12)
    assert miller_indices(qs.vectors, TRICLINIC) is not None
    with pytest.raises(InputError):
        spherical_shells(np.eye(3) * 5, [0.3], q_width=0.01)  # nothing near 0.3 in a 5 Å box
    with pytest.raises(InputError):
        spherical_shells(TRICLINIC, [0.0])


def test_directions_isotropic():
    d = fibonacci_directions(200)
    assert np.allclose(np.linalg.norm(d, axis=1), 1.0)
    assert np.allclose(d.T @ d / len(d), np.eye(3) / 3, atol=0.01)
    ps = powder_directions([0.5, 1.0], 10)
    assert np.allclose(np.linalg.norm(ps.vectors, axis=1), np.repeat([0.5, 1.0], 10))


def test_user_list_and_miller():
    q = np.array([[2 * np.pi / 5, 0, 0], [0, 4 * np.pi / 5, 0]])
    qs = qpoints_from_list(q, np.eye(3) * 5)
    assert np.array_equal(qs.hkl, [[1, 0, 0], [0, 2, 0]])
    assert qpoints_from_list([[0.1, 0, 0]], np.eye(3) * 5).hkl is None
    with pytest.raises(InputError):
        qpoints_from_list(np.ones((2, 2)))
    with pytest.raises(InputError):
        QSet(np.ones((2, 3)), np.array([0, 0]), np.array([1.0, 2.0]))  # empty shell
