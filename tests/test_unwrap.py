"""Intensities wrapped at 256 are recognised and unwrapped (discmri.unwrap)."""

from __future__ import annotations

import numpy as np

from discmri.unwrap import WRAPPED_FRACTION, unwrap_8bit, wrapped_fraction


def _truth(n_x: int = 8) -> np.ndarray:
    """A smooth image of whole numbers in 1 mm voxels: tissue at 100 with 40 bright blobs
    (fat lobules, CSF: 4–9 mm, 230–350 above it, more where they overlap) whose cores lie
    above 255, and noise of SD 3. Wrapped, 3.4 % of its neighbour pairs jump, as on the real
    ivd scans (2.4–4.2 %)."""
    rng = np.random.default_rng(5)
    y, z = np.meshgrid(np.arange(120), np.arange(160), indexing="ij")
    image = np.full(y.shape, 100.0)
    for cy, cz, r, top in zip(rng.uniform(10, 110, 40), rng.uniform(10, 150, 40),
                              rng.uniform(4, 9, 40), rng.uniform(230, 350, 40), strict=True):
        image += top * np.exp(-((y - cy) ** 2 + (z - cz) ** 2) / (2.0 * r * r))
    image = np.repeat(image[None], n_x, axis=0)
    return np.rint(np.clip(image + rng.normal(0.0, 3.0, image.shape), 0, None))


def test_a_wrapped_image_is_recognised_and_unwrapped():
    truth = _truth()
    assert (truth > 255).mean() > 0.05  # the test wraps something
    wrapped = truth % 256
    assert wrapped_fraction(wrapped) > WRAPPED_FRACTION
    found, fraction = unwrap_8bit(wrapped)
    assert fraction > WRAPPED_FRACTION
    # every voxel back to its value (a wrong period would be 256 off)
    assert np.mean(np.abs(found - truth) <= 1.0) > 0.999
    bright = truth > 255
    assert np.median(np.abs(found[bright] - truth[bright])) <= 1.0


def test_an_image_that_is_not_wrapped_is_left_as_it_is():
    truth = _truth()
    scaled = np.rint(truth / truth.max() * 255.0)  # a rescale, not a cast
    found, fraction = unwrap_8bit(scaled)
    assert fraction <= WRAPPED_FRACTION
    np.testing.assert_array_equal(found, scaled.astype(np.float32))
    # not whole numbers of 0-255: never read as wrapped
    assert wrapped_fraction(truth % 256 + 0.5) == 0.0
    assert wrapped_fraction(truth) == 0.0


def test_a_one_slice_wrapped_image_is_unwrapped_in_its_plane():
    truth = _truth(n_x=1)
    found, fraction = unwrap_8bit(truth % 256)
    assert fraction > WRAPPED_FRACTION and found.shape == truth.shape
    assert np.mean(np.abs(found - truth) <= 1.0) > 0.999
