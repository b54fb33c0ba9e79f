import math

import numpy as np
import pytest

from discmri.errors import DiscMRIError
from discmri.morphometry import (
    DHI_COLUMNS,
    DHI_FORMULAS,
    dhi_area,
    dhi_farfan,
    dhi_masuda,
    dhi_mean_height,
    disc_height_index,
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


def test_disc_height_index_by_name_and_the_l5s1_rule():
    heights, depth, central = (12.0, 11.0, 9.0), 36.0, 300.0
    up, low = ((27.0, 26.0, 28.0), 950.0, 35.0), ((28.0, 27.0, 29.0), 990.0, 36.0)
    got = {f: disc_height_index(f, heights, depth, central, up, low) for f in DHI_FORMULAS}
    assert got["mean_height"] == pytest.approx((32 / 3) / 26.5)
    assert got["masuda"] == pytest.approx(2 * 32 / (81 + 84))
    assert got["farfan"] == pytest.approx(21 / 36)
    assert got["height_width"] == pytest.approx((32 / 3) / 36)
    assert got["area"] == pytest.approx(2 * (300 / 28.8) / (950 / 35 + 990 / 36))
    # L5-S1: cranial body only
    sacral = disc_height_index("mean_height", heights, depth, central, up, None)
    assert sacral == pytest.approx((32 / 3) / 26.0)
    assert disc_height_index("area", heights, depth, central, up, None) == pytest.approx(
        (300 / 28.8) / (950 / 35))
    # a missing caudal body elsewhere is a missing value, not the L5-S1 rule
    missing = ((math.nan,) * 3, math.nan, math.nan)
    assert math.isnan(disc_height_index("masuda", heights, depth, central, up, missing))
    assert not math.isnan(disc_height_index("farfan", heights, depth, central, up, missing))
    with pytest.raises(DiscMRIError, match="unknown DHI formula"):
        disc_height_index("pfirrmann", heights, depth, central, up, low)
    assert set(DHI_COLUMNS) == set(DHI_FORMULAS)
