import numpy as np

from discmri.diffusion import group_shells


def test_scanner_rounding_groups_into_shells():
    sh = group_shells([5, 795, 800, 805, 0, 1000, 995, 1005])
    np.testing.assert_allclose(sh.bvals, [2.5, 800, 1000])
    assert sh.counts.tolist() == [2, 3, 3] and sh.has_b0
    assert sh.index.tolist() == [0, 1, 1, 1, 0, 2, 2, 2]


def test_low_b_shells_stay_apart_from_b0():
    sh = group_shells([0, 50, 100, 200, 400])
    assert len(sh.bvals) == 5
    assert not group_shells([400, 800]).has_b0


def test_reduce_is_mean_at_b0_and_geometric_mean_elsewhere():
    sh = group_shells([0, 0, 800, 800, 800])
    rows = np.array([[100.0, 120.0, 10.0, 20.0, 40.0]])
    np.testing.assert_allclose(sh.reduce(rows), [[110.0, 20.0]])
