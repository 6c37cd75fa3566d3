import os
import tempfile

import numpy as np
import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
# potentials registered by tests go to a throw-away folder, never the user's (~/.local/share/superionic)
os.environ["SUPERIONIC_POTENTIALS"] = tempfile.mkdtemp(prefix="superionic-test-potentials-")

#: the real AIMD trajectory of Li6PS5Cl shipped under tests/data (source and licence: tests/data/README.md)
XDATCAR = os.path.join(os.path.dirname(__file__), "data", "li6ps5cl_aimd_XDATCAR.gz")


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture
def xdatcar_path(tmp_path):
    """The real AIMD XDATCAR of Li6PS5Cl (tests/data), decompressed."""
    import gzip
    import shutil

    p = tmp_path / "XDATCAR"
    with gzip.open(XDATCAR, "rb") as src, open(p, "wb") as dst:
        shutil.copyfileobj(src, dst)
    return p


@pytest.fixture(scope="session")
def aimd():
    """The real AIMD Li6PS5Cl trajectory (tests/data, 100 fs between frames), read once per test session."""
    from superionic.trajectory.io import read_trajectory

    return read_trajectory(XDATCAR, dt=100.0, format="vasp-xdatcar")
