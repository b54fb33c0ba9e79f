import numpy as np
import pytest

from discmri.morphometry import (
    dhi_area,
    dhi_farfan,
    dhi_masuda,
    dhi_mean_height,
    height_width_ratio,
)


def test_mean_height_by_hand():
    # ((12 + 11 + 9) / 3) / ((28 + 26) / 2) = 10.6667 / 27
    assert float(dhi_mean_height(12, 11, 9, 28, 26)) == pytest.approx(32 / 3 / 27)
    assert float(dhi_mean_height(12, 11, 9, 28, None)) == pytest.approx(32 / 3 / 28)
    assert float(dhi_mean_height(12, 11, 9, 28, np.nan)) == pytest.approx(32 / 3 / 28)


def test_masuda_by_hand():
    assert float(dhi_masuda((12, 11, 9), (28, 27, 28), (26, 25, 26))) == pytest.approx(
        2 * 32 / (83 + 77))
    assert float(dhi_masuda((12, 11, 9), (28, 27, 28), None)) == pytest.approx(32 / 83)


def test_farfan_and_height_width():
    assert float(dhi_farfan(12, 9, 35)) == pytest.approx(21 / 35)
    assert float(height_width_ratio(12, 11, 9, 35)) == pytest.approx(32 / 3 / 35)


def test_area_by_hand():
    # DH = 280/28 = 10; HV = 900/36 = 25 and 840/35 = 24 -> 2*10/49
    assert float(dhi_area(280, 28, 900, 36, 840, 35)) == pytest.approx(20 / 49)
    assert float(dhi_area(280, 28, 900, 36, None, None)) == pytest.approx(10 / 25)


def test_vectorized_with_mixed_l5s1():
    out = dhi_mean_height([10, 12], [10, 12], [10, 12], [25, 24], [25, np.nan])
    np.testing.assert_allclose(out, [10 / 25, 12 / 24])
