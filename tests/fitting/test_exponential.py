import numpy as np
import pytest
from scipy.optimize import curve_fit

from discmri.fitting import loglinear, varpro_newton

TE = 10.0 * np.arange(1, 17)


def test_loglinear_is_exact_on_noise_free_data():
    rate = np.array([1 / 20, 1 / 80, 1 / 250])
    s = (1000 * np.exp(-np.outer(rate, TE))).astype(np.float32)
    amp, fitted, used = loglinear(s, TE)
    np.testing.assert_allclose(fitted, rate, rtol=1e-4)
    np.testing.assert_allclose(amp, 1000, rtol=1e-4)
    assert (used == 16).all()


def test_loglinear_floor_and_degenerate_rows():
    s = np.array([[100, 50, 0, 0], [0, 0, 0, 0], [10, 0, 0, 0]], dtype=np.float64)
    amp, rate, used = loglinear(s, np.array([10.0, 20, 30, 40]))
    assert rate[0] == pytest.approx(np.log(2) / 10)
    assert used.tolist() == [2, 0, 1]
    assert np.isnan(rate[1:]).all()


@pytest.mark.parametrize("offset", [False, True])
def test_varpro_matches_curve_fit(rng, offset):
    """Variable projection reaches the same least-squares optimum as scipy's curve_fit."""
    true = rng.uniform(1 / 150, 1 / 30, 30)
    s = 900 * np.exp(-np.outer(true, TE)) + (40 if offset else 0)
    s = s + rng.normal(0, 15, s.shape)
    _, r0, _ = loglinear(np.maximum(s, 1), TE)
    amp, rate, off, conv = varpro_newton(s, TE, r0, offset=offset)
    assert conv.all()
    for i in range(len(s)):
        if offset:
            model = lambda t, a, r, c: a * np.exp(-r * t) + c  # noqa: E731
            p0 = [amp[i], rate[i], off[i]]
        else:
            model = lambda t, a, r: a * np.exp(-r * t)  # noqa: E731
            p0 = [amp[i], rate[i]]
        p, _ = curve_fit(model, TE, s[i], p0=np.array(p0) * 1.1, maxfev=10000)
        assert rate[i] == pytest.approx(p[1], rel=1e-5)
        assert amp[i] == pytest.approx(p[0], rel=1e-5)
        if offset:
            assert off[i] == pytest.approx(p[2], rel=1e-4, abs=1e-3)


def test_varpro_respects_bounds_and_fills_nan_starts():
    s = np.ones((2, 16)) * 100.0  # no decay: the rate runs to its lower bound
    amp, rate, _, _ = varpro_newton(s, TE, np.array([np.nan, 0.01]), rate_bounds=(1e-3, 1.0))
    np.testing.assert_allclose(rate, 1e-3)
