"""The block phantom draws what its parameters say (discmri.phantom.blocks)."""

import numpy as np
import pytest

from discmri.errors import ParameterError
from discmri.phantom.blocks import block_spine
from discmri.spine.levels import NATIVE_VERTEBRA, native_disc_labels


def test_intensities_heights_and_labels_are_the_parameters():
    ph = block_spine(rng=np.random.default_rng(0), snr=1e6, body=0.55, nucleus=0.8,
                     outer_annulus=0.33, background=0.25)
    img, lab = ph.t2w.data, ph.labels.data
    af, np_ = native_disc_labels("L3")
    # the middle of each structure has its set intensity (no noise, away from edges)
    core = (lab == np_)
    assert np.median(img[core]) == pytest.approx(0.8, abs=0.02)
    assert np.median(img[lab == NATIVE_VERTEBRA["L3"]]) == pytest.approx(0.55, abs=0.02)
    assert np.median(img[lab == 0]) == pytest.approx(0.25, abs=0.02)
    # each disc's labelled thickness along SI matches its height to a voxel
    sz = ph.t2w.spacing[2]
    for name, h in ph.heights.items():
        a, n = native_disc_labels(name.split("-")[0])
        rows = np.flatnonzero(np.isin(lab, [a, n]).any(axis=(0, 1)))
        assert abs(rows.size * sz - h) <= sz
    # labels grown by one voxel at each endplate: two voxels thicker
    grown = block_spine(rng=np.random.default_rng(0), snr=1e6, label_shift_voxels=1)
    for name in ph.heights:
        a, n = native_disc_labels(name.split("-")[0])
        before = np.isin(lab, [a, n]).any(axis=(0, 1)).sum()
        after = np.isin(grown.labels.data, [a, n]).any(axis=(0, 1)).sum()
        assert after - before == 2


def test_a_cortex_darkens_the_bone_not_the_disc():
    plain = block_spine(rng=np.random.default_rng(1), snr=1e6)
    cortex = block_spine(rng=np.random.default_rng(1), snr=1e6, cortex_mm=1.0)
    assert plain.heights == cortex.heights
    diff = plain.t2w.data - cortex.t2w.data
    assert diff.max() > 0.4  # 0.55 - 0.05 where a voxel is all cortex
    af, np_ = native_disc_labels("L2")
    assert np.abs(diff[np.isin(plain.labels.data, [af, np_])]).max() < 0.5 * 0.5


def test_bad_parameters():
    with pytest.raises(ParameterError, match="disc_heights_mm"):
        block_spine(rng=np.random.default_rng(0), disc_heights_mm=(8.0, 9.0))
    with pytest.raises(ParameterError, match="snr"):
        block_spine(rng=np.random.default_rng(0), snr=0)
