import numpy as np
import pytest

from discmri.morphometry.edges import band_levels, half_level_edges, label_edges


def box_sampled_step(edge, voxel, a=1.0, b=0.2, step=0.01, n_vox=20):
    """A step from ``a`` (q < edge) to ``b`` imaged with box voxels, then interpolated."""
    centres = (np.arange(n_vox) + 0.5) * voxel
    left = np.clip((edge - (centres - voxel / 2)) / voxel, 0, 1)
    values = b + (a - b) * left
    q = np.arange(centres[0], centres[-1], step)
    return q, np.interp(q, centres, values)


@pytest.mark.parametrize("voxel", [0.6, 1.0])
def test_half_level_crossing_error_is_bounded_and_unbiased(voxel):
    # With linear interpolation between box samples the crossing is exact when the edge lies
    # on a voxel boundary or centre, and off by at most (1.5 - sqrt 2)·voxel = 0.0858 voxel.
    phases = np.linspace(0, 1, 101)[:-1]
    errors = []
    for phase in phases:
        edge = (8 + phase) * voxel
        q, prof = box_sampled_step(edge, voxel)
        found = half_level_edges(prof[None], q, np.array([edge + 0.3 * voxel]),
                                 np.array([1.0]), np.array([0.2]), search_mm=voxel,
                                 min_contrast=0.1)[0]
        errors.append(found - edge)
    errors = np.abs(np.array(errors))
    assert errors.max() <= (1.5 - np.sqrt(2)) * voxel + 1e-3
    assert errors.max() > 0.06 * voxel  # the bound is reached: the model of the error holds
    assert errors[[0, 50]].max() < 2e-3 * voxel  # boundary and centre phases are exact


def test_signed_error_averages_out_over_phases():
    voxel = 0.6
    signed = []
    for phase in np.linspace(0, 1, 200, endpoint=False):
        edge = (8 + phase) * voxel
        q, prof = box_sampled_step(edge, voxel)
        signed.append(half_level_edges(prof[None], q, np.array([edge]), np.array([1.0]),
                                       np.array([0.2]), search_mm=voxel,
                                       min_contrast=0.0)[0] - edge)
    assert abs(np.mean(signed)) < 0.005 * voxel


def test_crossing_nearest_the_guide_wins_over_a_spike():
    q, prof = box_sampled_step(5.3, 0.6)
    prof = prof.copy()
    prof[(q > 3.0) & (q < 3.1)] = 0.0  # noise spike crossing the level 2.3 mm away
    found = half_level_edges(prof[None], q, np.array([5.2]), np.array([1.0]),
                             np.array([0.2]), search_mm=1.0, min_contrast=0.1)[0]
    assert found == pytest.approx(5.3, abs=0.06)


def test_no_edge_without_contrast_guide_or_crossing():
    q, prof = box_sampled_step(5.3, 0.6)
    profiles = np.stack([prof, prof, prof])
    out = half_level_edges(profiles, q, np.array([5.3, np.nan, 1.0]),
                           np.array([1.0, 1.0, 1.0]), np.array([0.95, 0.2, 0.2]),
                           search_mm=0.6, min_contrast=0.1)
    # low contrast; no guide; no crossing within 0.6 mm of the guide
    assert np.isnan(out).all()


def test_band_levels_median_smoothing_and_minimum_count():
    q = np.arange(0, 10, 0.1)
    profiles = np.tile(np.where(q < 5, 3.0, 1.0), (5, 1))
    profiles[2, q < 5] = 9.0  # one line with an odd plateau
    guide = np.full(5, 5.0)
    raw = band_levels(profiles, q, guide, -1, (1.0, 3.0))
    assert raw.tolist() == [3.0, 3.0, 9.0, 3.0, 3.0]
    smooth = band_levels(profiles, q, guide, -1, (1.0, 3.0), smooth=3)
    assert smooth.tolist() == [3.0] * 5
    valid = np.ones_like(profiles, bool)
    valid[0] = False
    assert np.isnan(band_levels(profiles, q, guide, +1, (1.0, 3.0), valid=valid)[0])


def test_label_edges_follow_the_central_run():
    q = np.arange(0, 20, 0.1)
    inside = ((q > 6.04) & (q < 13.96)).astype(float)
    inside[(q > 16) & (q < 19)] = 1.0  # another structure further up
    masks = np.stack([inside, np.zeros_like(q)])
    up = label_edges(masks, q, +1)
    low = label_edges(masks, q, -1)
    assert up[0] == pytest.approx(13.95, abs=0.06) and low[0] == pytest.approx(6.05, abs=0.06)
    assert np.isnan(up[1]) and np.isnan(low[1])


def _box_sampled(edges, levels, voxel, step=0.1, n_vox=30):
    """Piecewise-constant profile (``levels[k]`` beyond ``edges[k-1]``) imaged with box
    voxels, then interpolated at ``step``."""
    centres = (np.arange(n_vox) + 0.5) * voxel
    fine = np.arange(0, n_vox * voxel, 0.001)
    truth = np.full(fine.shape, float(levels[0]))
    for e, v in zip(edges, levels[1:], strict=True):
        truth[fine >= e] = v
    values = truth.reshape(n_vox, -1).mean(axis=1)
    q = np.arange(centres[0], centres[-1], step)
    return q, np.interp(q, centres, values)


@pytest.mark.parametrize("disc_level", [0.4, 0.05])  # a bright nucleus or a dark annulus
@pytest.mark.parametrize("label_error", [-1.0, 0.0, 1.0])  # voxels
def test_first_edge_from_the_marrow_whatever_its_sign_and_the_labels(disc_level, label_error):
    """The marrow (0.2, q > the edge) ends at 10.3 mm; the disc lies below. With a stronger
    edge 2.5 mm further into the disc (annulus to a bright nucleus) the first edge from the
    marrow is still the one found, within a tenth of a voxel, wherever the labels put it."""
    from discmri.morphometry.edges import first_edges

    voxel, edge = 0.6, 10.3
    q, prof = _box_sampled([edge - 2.5, edge], [0.9, disc_level, 0.2], voxel)
    rng = np.random.default_rng(0)
    lines = np.tile(prof, (21, 1)) + rng.normal(0, 0.005, (21, q.size))
    guide = np.full(21, edge + label_error * voxel)
    bone = np.full(21, 0.2)
    band = (q[None, :] >= guide[:, None] + 2.0) & (q[None, :] <= guide[:, None] + 4.0)
    found = first_edges(lines, q, guide, +1, bone, search_mm=1.75 * voxel,
                        smooth_mm=0.6 * voxel, noise_band=band)
    assert np.isfinite(found).all()
    assert np.median(np.abs(found - edge)) < 0.1 * voxel
    # flat marrow, no edge: nothing is found rather than noise
    flat = 0.2 + rng.normal(0, 0.005, (21, q.size))
    none = first_edges(flat, q, guide, +1, bone, search_mm=1.75 * voxel,
                       smooth_mm=0.6 * voxel, noise_band=band)
    assert np.isnan(none).mean() > 0.9
