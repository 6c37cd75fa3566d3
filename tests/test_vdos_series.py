"""Temperature series: exponent and g(0) vs T, crossover temperature with uncertainty."""

import numpy as np
import pytest
from vdos_models import spectrum_trajectory

from superionic.analysis.vdos import vdos
from superionic.analysis.vdos_series import crossover_temperature, vdos_series
from superionic.errors import InputError


def test_crossover_linear_interpolation_and_error():
    t = [100, 200, 300, 400]
    tx, err = crossover_temperature(t, [2.0, 1.8, 1.2, 1.0], [0.05, 0.05, 0.05, 0.05], threshold=1.5)
    assert tx == pytest.approx(250.0)
    # T = 200 + 100 (n₀−1.5)/(n₀−n₁): ∂T/∂n₀ = ∂T/∂n₁ = 100·0.3/0.36 → σ_T = 83.3·0.05·√2 ≈ 5.9 K
    assert 4.8 < err < 7.0
    assert np.isnan(crossover_temperature(t, [2, 2, 1.9, 1.8], [0.01] * 4)[0])


def test_series_from_synthetic_spectra():
    # Debye-like at low T turning into liquid-like (∝ ν) at high T
    shapes = {
        100.0: lambda nu: nu**2 * np.exp(-((nu / 3) ** 2)),
        300.0: lambda nu: (0.4 * nu + nu**2) * np.exp(-((nu / 3) ** 2)),
        500.0: lambda nu: nu * np.exp(-((nu / 3) ** 2)),
    }
    dss = [
        vdos(spectrum_trajectory(f, n_atoms=64, n_frames=4096, dt=10.0, temperature=t, seed=i))
        for i, (t, f) in enumerate(shapes.items())
    ]
    out = vdos_series(dss[::-1], n_boot=60, fit_range=(0.05, 0.6))
    assert list(out.temperature.values) == [100.0, 300.0, 500.0]
    n = out.exponent.sel(name="P").values
    assert n[0] > 1.8 and n[-1] < 1.2 and n[0] > n[1] > n[2]
    tx = float(out.crossover_temperature.sel(name="P"))
    assert 100 < tx < 500 and np.isfinite(float(out.crossover_temperature_err.sel(name="P")))
    assert out.g0.attrs["units"] == "THz-1" and out.temperature.attrs["units"] == "K"
    with pytest.raises(InputError):
        vdos_series(dss[:1])
