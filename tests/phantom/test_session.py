import numpy as np
import pytest

from discmri.errors import DiscMRIError
from discmri.io import bvecs_to_world
from discmri.phantom.analytic import TISSUE_AIR
from discmri.phantom.anatomy import random_anatomy
from discmri.phantom.grid import Pose
from discmri.phantom.render import render
from discmri.phantom.session import diffusion_directions, simulate_session
from discmri.phantom.truth import np_region_median


def test_volumes_and_grids(session_sim, fast_protocol):
    s = session_sim
    assert s.t2w.shape == s.labels.shape
    np.testing.assert_array_equal(s.t2w.affine, s.labels.affine)
    assert s.t2w.spacing == pytest.approx((4.0, 1.5, 1.5))
    assert s.mese.shape[-1] == len(fast_protocol.echo_times_ms)
    assert s.mese.meta["echo_times_ms"] == fast_protocol.echo_times_ms
    assert s.t2_truth.shape == s.mese.shape[:3] == s.mese_labels.shape
    assert s.dwi.shape[-1] == 1 + 2 * 3
    np.testing.assert_array_equal(s.dwi.meta["bvals"], [0, 400, 400, 400, 800, 800, 800])
    norms = np.linalg.norm(s.dwi.meta["bvecs"][1:], axis=1)
    np.testing.assert_allclose(norms, 1.0)
    # the scanner images are integers, as stored
    assert np.array_equal(s.t2w.data, np.rint(s.t2w.data))


def test_gradient_directions_are_set_in_the_image_frame(session_sim):
    """Three orthogonal gradients along the image axes (as on a scanner), whatever the pose."""
    affine = session_sim.dwi.affine
    world = bvecs_to_world(session_sim.dwi.meta["bvecs"][1:4], affine)
    axes = affine[:3, :3] / np.linalg.norm(affine[:3, :3], axis=0)
    np.testing.assert_allclose(world, diffusion_directions(3) @ axes.T, atol=1e-12)
    np.testing.assert_array_equal(session_sim.dwi.meta["bvecs"][0], 0.0)


def test_noise_level_matches_the_protocol(session_sim, fast_protocol):
    """In air, magnitude noise is Rayleigh: mean = σ·sqrt(π/2), σ = scale / SNR."""
    s = session_sim
    labels_air = s.t2w.data[(s.labels.data == 0)]
    grid_mix = render(s.geometry, _grid(s.t2w), s.pose)
    air = np.asarray(grid_mix.fractions[:, TISSUE_AIR].todense()).ravel().reshape(
        s.t2w.spatial_shape) > 1 - 1e-9
    assert air.sum() > 1000 and labels_air.size > air.sum()
    sigma = fast_protocol.scale / fast_protocol.t2w_snr
    assert s.t2w.data[air].mean() == pytest.approx(sigma * np.sqrt(np.pi / 2), rel=0.05)


def _grid(volume):
    from discmri.phantom.grid import Grid

    return Grid(volume.spatial_shape, volume.affine)


def test_truth_maps_hold_the_tissue_values(session_sim):
    """Pure nucleus voxels carry the nucleus T2 exactly; mixed voxels (cleft, annulus) lie
    between the tissues they mix; only air is NaN."""
    s = session_sim
    t2 = s.t2_truth.data
    truth = s.truth.set_index("level")
    lab = s.mese_labels.data
    no_cleft = lab == 223  # L4-L5, severity 4.6: no cleft
    assert truth.loc["L4-L5", "cleft_mm"] == 0
    assert t2[no_cleft].max() == pytest.approx(truth.loc["L4-L5", "np_t2_ms"], rel=1e-5)
    assert t2[no_cleft].min() >= truth.loc["L4-L5", "af_t2_ms"] - 1e-3
    cleft = lab == 222  # L3-L4, severity 2: cleft of AF-like tissue inside
    assert truth.loc["L3-L4", "cleft_mm"] > 0
    assert t2[cleft].max() <= truth.loc["L3-L4", "np_t2_ms"] + 1e-3
    assert t2[cleft].mean() < truth.loc["L3-L4", "np_t2_ms"]
    assert np.isnan(t2).any() and not np.isnan(t2[lab > 0]).any()


def test_pose_changes_images_not_truth(fast_protocol):
    anatomy = random_anatomy(np.random.default_rng(1))
    a = simulate_session(anatomy, rng=np.random.default_rng(2), protocol=fast_protocol)
    b = simulate_session(anatomy, rng=np.random.default_rng(2), protocol=fast_protocol,
                         pose=Pose.sagittal(8.0, (0, 5, -5)))
    grid_bound = ["dhi_note", "np_region_t2_ms"]  # the region median is taken on the grid
    assert a.truth.drop(columns=grid_bound).equals(b.truth.drop(columns=grid_bound))
    assert not np.array_equal(a.t2w.data, b.t2w.data)
    # on 2 mm MESE voxels partial volume moves it by up to a few per cent with the grid
    np.testing.assert_allclose(a.truth.np_region_t2_ms, b.truth.np_region_t2_ms, rtol=0.1)


def test_diffusion_directions_are_unit_and_distinct():
    for n in (3, 6, 30):
        d = diffusion_directions(n)
        np.testing.assert_allclose(np.linalg.norm(d, axis=1), 1.0)
        assert np.linalg.matrix_rank(d) == 3
    with pytest.raises(DiscMRIError):
        diffusion_directions(2)


def test_region_truth_is_the_nucleus_region_median_of_the_truth_map(session_sim):
    """``np_region_t2_ms`` (the truth of a table's ``np_t2_ms``) is the median of the T2 truth
    map over the nucleus region of the exact geometry: between the annulus and the nucleus
    tissues' T2, and below the nucleus where a cleft (and the voxels that straddle it) or the
    annulus fills enough of the region to move the median."""
    s = session_sim
    truth = s.truth.set_index("level")
    region, tissue = truth.np_region_t2_ms, truth.np_t2_ms
    assert region.notna().all()
    lo, hi = np.minimum(tissue, truth.af_t2_ms), np.maximum(tissue, truth.af_t2_ms)
    assert (region >= lo - 1e-3).all() and (region <= hi + 1e-3).all()
    assert truth.loc["L3-L4", "cleft_mm"] > 0
    assert region["L3-L4"] < 0.9 * tissue["L3-L4"]
    # a map of one value on the nucleus label and another elsewhere: the region lies inside
    # the nucleus where it is big enough (the phantom's own label, not discmri's regions)
    lab = s.mese_labels.data
    marked = s.t2_truth.with_data(np.where(lab == 223, 1.0, 0.0))  # nucleus of L4-L5
    share = np_region_median(s.geometry, s.pose, marked)
    assert share["L4-L5"] == 1.0 and share["L3-L4"] == 0.0

