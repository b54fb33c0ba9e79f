"""A dark endplate line's disc side and centre, found through the blur (edges.endplate_line_edges).

Truth: one-dimensional profiles made here, independent of the code under test: marrow, a
signal-free layer of known thickness on the bone side, then disc, box-averaged into voxels
(with the voxel grid shifted by fractions of a voxel), blurred, and sampled by linear
interpolation as the morphometry samples an image.
"""

import numpy as np
import pytest

from discmri.morphometry.edges import endplate_line_edges

Q = np.arange(-8.0, 8.0, 0.1)
BONE = 0.55


def profile(thickness, disc, voxel, offset, blur_mm=0.0, to_bone=-1):
    """Marrow up to a void of ``thickness`` ending at 0 (the disc side), then disc."""
    centres = np.arange(-12.0, 12.0, voxel) + offset
    sub = centres[None, :] + np.linspace(-0.5, 0.5, 81)[:, None] * voxel
    x = -to_bone * sub  # lengths from the bone towards the disc
    truth = np.where(x < -thickness, BONE, np.where(x < 0, 0.0, disc))
    values = truth.mean(axis=0)
    if blur_mm:
        kernel = np.exp(-0.5 * (np.arange(-4, 5) * voxel / blur_mm) ** 2)
        values = np.convolve(np.pad(values, 4, mode="edge"), kernel / kernel.sum(), "valid")
    return np.interp(Q, centres, values)[None, :]


CASES = [(t, d, v, o, s) for t in (0.5, 1.0) for d in (0.33, 0.55, 1.0) for v in (0.6, 1.0)
         for o in (0.0, 0.37) for s in (-1, 1)]


def measure(thickness, disc, voxel, offset, to_bone):
    # an MRI profile is band-limited: box voxels blurred by 0.6 voxel (SD)
    prof = profile(thickness, disc, voxel, offset, 0.6 * voxel, to_bone)
    edge, centre, width = endplate_line_edges(
        prof, Q, np.array([0.0]), to_bone, np.array([BONE]), np.array([disc]), 0.005,
        search_mm=1.5, voxel_mm=voxel)
    # the half-level crossing on the disc side of the minimum, which the blur moves
    k = int(np.argmin(prof[0]))
    level = 0.5 * (prof[0, k] + disc)
    side = np.arange(k, Q.size) if to_bone < 0 else np.arange(k, -1, -1)
    naive = Q[side[np.argmax(prof[0, side] >= level)]]
    return edge[0], centre[0], width[0], naive


@pytest.mark.parametrize(("thickness", "disc", "voxel", "offset", "to_bone"), CASES)
def test_the_disc_side_of_a_blurred_line_is_found(thickness, disc, voxel, offset, to_bone):
    edge, centre, width, _ = measure(thickness, disc, voxel, offset, to_bone)
    if np.isnan(edge):  # a 0.5 mm line in 1 mm voxels may go unseen: the plain edge is used
        assert thickness < voxel
        return
    # measured: at most 0.26 mm off, 0.11 mm median (a disc darker or brighter than the
    # marrow biases the centroid by the blur's variance times the contrast)
    assert abs(edge) <= 0.3
    assert abs(width - thickness) <= 0.15
    assert abs(centre - to_bone * thickness / 2) <= 0.3


def test_the_blur_moves_the_half_level_edge_not_this_one():
    found = np.array([measure(*case) for case in CASES])
    ours, naive = np.abs(found[:, 0]), np.abs(found[:, 3])
    # measured: 0.11 mm median here, 0.35 mm (up to 1.1 mm) for the half-level crossing
    assert np.nanmedian(ours) <= 0.15 and np.median(naive) >= 0.3
    assert np.isfinite(ours).mean() >= 0.9  # measured: 4 of 48 unseen, all 0.5 mm in 1 mm


def test_no_line_no_edge():
    # a plain step from marrow to disc, no dark layer: nothing to take
    prof = profile(0.0, 1.0, 0.6, 0.2)
    edge, _, _ = endplate_line_edges(prof, Q, np.array([0.0]), -1, np.array([BONE]),
                                     np.array([1.0]), 0.005, search_mm=1.5, voxel_mm=0.6)
    assert np.isnan(edge[0])


def test_a_line_in_the_noise_is_not_taken():
    rng = np.random.default_rng(1)
    prof = profile(0.3, 0.55, 1.0, 0.0) + 0.08 * rng.standard_normal((50, Q.size))
    edge, _, _ = endplate_line_edges(prof, Q, np.zeros(50), -1, np.full(50, BONE),
                                     np.full(50, 0.55), 0.08, search_mm=1.5, voxel_mm=1.0)
    # a 0.3 mm line at 7 noise SDs below the tissue over a 1 mm voxel: a few lines at most
    assert np.isfinite(edge).mean() < 0.2


def two_layer_profile(disc, voxel, offset, cortex=0.4, cartilage=0.6, cartilage_level=0.1):
    """Marrow, a signal-free cortex, then a dark cartilage endplate, then disc; the bony
    endplate (cortex | cartilage) at 0; bone towards −q (``to_bone = −1``)."""
    centres = np.arange(-12.0, 12.0, voxel) + offset
    x = centres[None, :] + np.linspace(-0.5, 0.5, 81)[:, None] * voxel
    truth = np.where(x < -cortex, BONE, np.where(x < 0, 0.0,
                                                 np.where(x < cartilage, cartilage_level, disc)))
    values = truth.mean(axis=0)
    kernel = np.exp(-0.5 * (np.arange(-4, 5) / 0.6) ** 2)
    values = np.convolve(np.pad(values, 4, mode="edge"), kernel / kernel.sum(), "valid")
    return np.interp(Q, centres, values)[None, :]


@pytest.mark.parametrize("disc", [1.0, 0.55])
@pytest.mark.parametrize("voxel", [0.6, 1.0])
def test_the_centre_of_a_cortex_and_cartilage_line_is_near_the_bony_endplate(disc, voxel):
    # A 0.4 mm cortex and a 0.6 mm cartilage endplate (a fifth of the marrow's signal)
    # blur into one line; the bony endplate between them is at 0. Measured over voxel
    # offsets: the centre 0.03-0.11 mm inside the disc with a nucleus as bright as the
    # marrow, 0.13-0.29 mm with one twice as bright (its cartilage takes more signal than
    # the cortex); the line's disc side 0.48-0.70 mm inside (the whole cartilage), the edge
    # the first endplate mode used.
    centres, sides = [], []
    for offset in np.linspace(0.0, voxel, 5, endpoint=False):
        prof = two_layer_profile(disc, voxel, offset)
        edge, centre, _ = endplate_line_edges(
            prof, Q, np.array([0.0]), -1, np.array([BONE]), np.array([disc]), 0.005,
            search_mm=1.5, voxel_mm=voxel)
        centres.append(centre[0])
        sides.append(edge[0])
    assert np.all(np.abs(centres) <= 0.3), centres
    assert np.median(sides) >= 0.4, sides
