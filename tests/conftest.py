import os

import numpy as np
import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

DATA = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data")
XDATCAR = os.path.abspath(os.path.join(DATA, "li6ps5cl_aimd_XDATCAR.gz"))


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture
def xdatcar_path(tmp_path):
    """The shared real AIMD XDATCAR of Li6PS5Cl, decompressed (skips where shared/ is absent)."""
    import gzip
    import shutil

    if not os.path.exists(XDATCAR):
        pytest.skip("shared/data/li6ps5cl_aimd_XDATCAR.gz not present")
    p = tmp_path / "XDATCAR"
    with gzip.open(XDATCAR, "rb") as src, open(p, "wb") as dst:
        shutil.copyfileobj(src, dst)
    return p


@pytest.fixture(scope="session")
def aimd():
    """The shared real AIMD Li6PS5Cl trajectory (100 fs between frames), read once per test session."""
    from superionic.trajectory.io import read_trajectory

    if not os.path.exists(XDATCAR):
        pytest.skip("shared/data/li6ps5cl_aimd_XDATCAR.gz not present")
    return read_trajectory(XDATCAR, dt=100.0, format="vasp-xdatcar")
