"""measure_structure on a synthetic stack with flat endplates aligned with the voxel grid.

This is the worst case for label boundaries: every profile line meets the endplate at the
same sub-voxel phase, so no averaging along the endplate removes the ±½-voxel quantization of
the labels. The intensity half-level crossing must recover the edges anyway.
"""

import math

import numpy as np
import pytest

from discmri.errors import DiscMRIError
from discmri.morphometry import frame_from_points, measure_structure

SPACING = (4.0, 0.6, 0.6)
SHAPE = (5, 100, 150)
BONE, DISC, SOFT = 0.24, 0.075, 0.04
DEPTH = 34.0
HEIGHT = 9.57  # mm: the two endplates sit at different sub-voxel phases
SHIFTS = np.linspace(0.0, 0.6, 7)[:-1]  # the stack moved through one voxel


def overlap(lo, hi, centres, size):
    """Fraction of each voxel [c - size/2, c + size/2] inside [lo, hi]."""
    a = np.maximum(centres - size / 2, lo)
    b = np.minimum(centres + size / 2, hi)
    return np.clip(b - a, 0, None) / size


def stack(shift=0.21, noise=0.0, seed=0):
    z_disc = (shift, shift + HEIGHT)
    z_top, z_bottom = z_disc[1] + 26.0, z_disc[0] - 27.0
    affine = np.diag([*SPACING, 1.0])
    affine[:3, 3] = [-8.0, -30.0, -40.0]
    y = affine[1, 3] + SPACING[1] * np.arange(SHAPE[1])
    z = affine[2, 3] + SPACING[2] * np.arange(SHAPE[2])
    fy = overlap(-DEPTH / 2, DEPTH / 2, y, SPACING[1])[:, None]
    parts = {"low": (z_bottom, z_disc[0], BONE, 2), "disc": (*z_disc, DISC, 1),
             "up": (z_disc[1], z_top, BONE, 3)}
    image = np.zeros(SHAPE[1:])
    labels = np.zeros(SHAPE[1:], np.int16)
    covered = np.zeros(SHAPE[1:])
    for lo, hi, value, label in parts.values():
        f = fy * overlap(lo, hi, z, SPACING[2])[None, :]
        image += value * f
        covered += f
        centre_in = (np.abs(y)[:, None] < DEPTH / 2) & ((z >= lo) & (z < hi))[None, :]
        labels[centre_in] = label
    image += SOFT * (1 - covered)
    image = np.repeat(image[None], SHAPE[0], axis=0)
    labels = np.repeat(labels[None], SHAPE[0], axis=0)
    if noise:
        image = image + np.random.default_rng(seed).normal(0, noise, image.shape)
    return image, labels, affine


def measure(image, labels, affine, **kw):
    pts = np.argwhere(labels == 1) @ affine[:3, :3].T + affine[:3, 3]
    frame = frame_from_points(pts, cranial=np.array([0.0, 0.0, 30.0]))
    return measure_structure(image, labels, affine, name="L4-L5", kind="disc", inside=[1],
                           above=[3], below=[2], frame=frame, **kw)


def label_height(labels, affine):
    z = affine[2, 3] + SPACING[2] * np.arange(SHAPE[2])
    inside = z[labels[2, 50] == 1]
    return inside.max() - inside.min() + SPACING[2]


def test_flat_grid_aligned_edges_beat_the_labels_at_every_phase():
    # Half-level crossings on linearly interpolated box samples err by at most
    # (1.5 - sqrt 2) = 0.086 voxel per edge; label boundaries by up to half a voxel.
    errors, label_errors = [], []
    for shift in SHIFTS:
        image, labels, affine = stack(shift)
        g = measure(image, labels, affine)
        errors.append(np.array(g.heights) - HEIGHT)
        label_errors.append(label_height(labels, affine) - HEIGHT)
        assert np.ptp(g.heights) < 1e-6  # a flat disc is equally high everywhere
        assert g.wedge_deg == pytest.approx(0.0, abs=0.05)
        assert g.depth == pytest.approx(DEPTH, abs=0.31)  # label margins: half a voxel
        assert g.area_mm2 == pytest.approx(HEIGHT * DEPTH, rel=0.015)
        assert not g.from_labels.any()
        assert math.isnan(g.volume_mm3)  # the slab cuts the disc at its sides
    errors = np.abs(errors)
    assert errors.max() <= 2 * 0.0858 * SPACING[2] + 1e-3
    assert errors.mean() < 0.05
    assert np.max(np.abs(label_errors)) > 0.25  # what the labels alone would give


def test_noise_averages_out_along_the_endplate():
    errs = []
    for seed, shift in enumerate(SHIFTS[:4]):
        image, labels, affine = stack(shift, noise=1 / 30, seed=seed)
        errs += [h - HEIGHT for h in measure(image, labels, affine).heights]
    errs = np.abs(errs)
    assert np.median(errs) < 0.1 and errs.max() < 0.3


def test_contrast_free_lines_fall_back_to_labels_and_say_so():
    image, labels, affine = stack()
    flat = np.full_like(image, 0.1)
    g = measure(flat, labels, affine)
    assert g.from_labels.all()
    assert any("too little contrast" in n for n in g.notes)
    assert np.allclose(g.heights, label_height(labels, affine), atol=0.01)


def test_label_edges_on_request():
    image, labels, affine = stack(0.2)
    g = measure(image, labels, affine, edges="labels")
    assert g.from_labels.all() and not g.interpolated.any()
    assert np.allclose(g.heights, label_height(labels, affine), atol=0.01)
    assert not any("contrast" in n for n in g.notes)
    with pytest.raises(DiscMRIError, match="edges"):
        measure(image, labels, affine, edges="gradient")


@pytest.mark.parametrize("shift", [-0.5, math.nan])
def test_line_shift_must_be_a_distance(shift):
    image, labels, affine = stack()
    with pytest.raises(DiscMRIError, match="line_shift_mm must be None or a distance"):
        measure(image, labels, affine, edges="endplate", line_shift_mm=shift)


def test_kind_must_be_disc_or_vertebra():
    image, labels, affine = stack()
    with pytest.raises(DiscMRIError, match="kind"):
        measure_structure(image, labels, affine, name="x", kind="rib", inside=[1], above=[3],
                        below=[2], frame=frame_from_points(np.argwhere(labels == 1) * 1.0))
