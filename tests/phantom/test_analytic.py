import dataclasses
import math

import numpy as np
import pytest

from discmri.errors import ParameterError
from discmri.phantom.analytic import SpineGeometry
from discmri.phantom.anatomy import DiscState, default_anatomy, random_anatomy
from discmri.phantom.grid import Grid, Pose, rotation_matrix
from discmri.phantom.render import render
from discmri.spine.levels import NATIVE_CANAL, NATIVE_VERTEBRA, native_disc_labels


@pytest.fixture(scope="module")
def geometry():
    anatomy = random_anatomy(np.random.default_rng(4)).with_states(
        {"L2-L3": DiscState(2.0), "L4-L5": DiscState(6.2, 0.5), "L5-S1": DiscState(7.4)})
    return SpineGeometry(anatomy)


def run_length(geometry, origin_yz, direction_yz, labels, span=40.0, step=0.0005):
    """Length of the run of ``labels`` along a line at x = 0, from dense classification."""
    t = np.arange(-span / 2, span / 2, step)
    yz = origin_yz[None, :] + t[:, None] * direction_yz[None, :]
    pts = np.column_stack([np.zeros(len(t)), yz])
    lab, *_ = geometry.classify(pts)
    hit = np.isin(lab, labels)
    return hit.sum() * step


def test_disc_heights_match_dense_classification(geometry):
    """The closed-form heights agree with the classifier the images are made from."""
    names = [v.name for v in geometry.vertebrae]
    for k, disc in enumerate(geometry.discs):
        for f in (0.1, 0.5, 0.9):
            p = disc.depth / 2 - f * disc.depth
            measured = run_length(geometry, disc.origin + p * disc.axis_ap, disc.axis_si,
                                  native_disc_labels(names[k]))
            assert measured == pytest.approx(geometry.disc_height(disc, f), abs=0.002)


def test_vertebra_heights_match_dense_classification(geometry):
    for vb in geometry.vertebrae[1:-1]:
        for f in (0.1, 0.5, 0.9):
            p = vb.depth / 2 - f * vb.depth
            measured = run_length(geometry, vb.origin + p * vb.axis_ap, vb.axis_si,
                                  [NATIVE_VERTEBRA[vb.name]], span=50.0)
            assert measured == pytest.approx(geometry.vertebra_height(vb, f), abs=0.002)


def test_disc_area_matches_fine_sampling(geometry):
    disc = geometry.discs[4]
    step = 0.05
    p = np.arange(-disc.depth / 2 - 1, disc.depth / 2 + 1, step)
    q = np.arange(-12, 12, step)
    pp, qq = np.meshgrid(p, q, indexing="ij")
    yz = disc.origin + pp[..., None] * disc.axis_ap + qq[..., None] * disc.axis_si
    pts = np.column_stack([np.zeros(pp.size), yz.reshape(-1, 2)])
    lab, *_ = geometry.classify(pts)
    area = np.isin(lab, native_disc_labels(geometry.vertebrae[4].name)).sum() * step**2
    assert area == pytest.approx(geometry.disc_area(disc), rel=0.005)


@pytest.mark.parametrize("voxel", [0.4, 1.0])
def test_label_volumes_match_analytic_volumes(geometry, voxel):
    """Rendered (partial-volume majority) labels reproduce the analytic disc and nucleus
    volumes within 2 % and 3 %, at fine voxels and at 1 mm (where sub-sample ties occur)."""
    k = 4
    disc = geometry.discs[k]
    centre = np.array([0.0, *disc.origin])
    rot = np.eye(3)
    rot[1:, 1:] = np.column_stack([disc.axis_ap, disc.axis_si])  # axes along the disc
    grid = Grid.sagittal((disc.width + 6, disc.depth + 6, 24.0), (voxel,) * 3,
                         center=centre, rotation=rot)
    labels = render(geometry, grid).labels
    af, np_ = native_disc_labels(geometry.vertebrae[k].name)
    disc_volume = np.isin(labels, [af, np_]).sum() * voxel**3
    nucleus_volume = (labels == np_).sum() * voxel**3
    assert disc_volume == pytest.approx(geometry.disc_volume(disc), rel=0.02)
    assert nucleus_volume == pytest.approx(geometry.nucleus_volume(k), rel=0.03)


def test_nucleus_lies_inside_its_disc_even_when_wedged():
    anatomy = default_anatomy()
    geometry = SpineGeometry(anatomy)
    names = [v.name for v in geometry.vertebrae]
    for k, (disc, nuc) in enumerate(zip(geometry.discs, geometry.nuclei, strict=True)):
        th, ph = np.meshgrid(np.linspace(0.05, np.pi - 0.05, 15), np.linspace(0, 2 * np.pi, 24))
        p = nuc.center_p + 0.999 * nuc.semi_ap * np.sin(th) * np.cos(ph)
        x = 0.999 * nuc.semi_lr * np.sin(th) * np.sin(ph)
        q = nuc.center_q + 0.999 * nuc.semi_si * np.cos(th)
        yz = disc.origin + p[..., None] * disc.axis_ap + q[..., None] * disc.axis_si
        lab, *_ = geometry.classify(np.column_stack([x.ravel(), yz.reshape(-1, 2)]))
        assert (lab == native_disc_labels(names[k])[1]).all()


def test_lordosis_and_layout():
    geometry = SpineGeometry(default_anatomy())
    lumbar = [d for d in geometry.discs if d.name[0] == "L"]
    angles = [math.degrees(d.angle) for d in lumbar]
    total = sum(math.degrees(d.wedge) for d in lumbar)
    assert 35 < total < 60  # lumbar lordosis L1-L2 .. L5-S1
    # below the thoracolumbar inflection, discs tilt further forward caudally
    assert angles == sorted(angles, reverse=True)
    # The canal is posterior to each disc centre, and there is air behind the back.
    for disc in geometry.discs:
        behind = disc.origin - (disc.depth / 2 + 10) * disc.axis_ap
        lab, ta, *_ = geometry.classify(np.array([[0.0, *behind]]))
        assert lab[0] == NATIVE_CANAL
        far = disc.origin - (disc.depth / 2 + 100) * disc.axis_ap
        _, ta, *_ = geometry.classify(np.array([[0.0, *far]]))
        assert ta[0] == 0  # air


def test_height_loss_scales_every_height(geometry):
    healthy = SpineGeometry(default_anatomy())
    worn = SpineGeometry(default_anatomy().with_states({"L3-L4": DiscState(7.0)}))
    k = [d.name for d in healthy.discs].index("L3-L4")
    for f in (0.1, 0.5, 0.9):
        assert worn.disc_height(worn.discs[k], f) == pytest.approx(
            0.55 * healthy.disc_height(healthy.discs[k], f))


def test_pose_invariance_of_rendered_labels(geometry):
    """Rotating the patient and the acquisition grid together changes no label."""
    grid = Grid.sagittal((16, 60, 80), (2.0, 1.0, 1.0), center=(0, 20, 60))
    rot = rotation_matrix((1, 0.2, 0.1), 17.0)
    pose = Pose(rot, np.array([3.0, -2.0, 5.0]))
    moved = Grid(grid.shape, np.vstack([np.hstack([rot @ grid.affine[:3, :3],
                                                   (rot @ grid.affine[:3, 3] + pose.translation)
                                                   [:, None]]), [0, 0, 0, 1]]))
    a = render(geometry, grid).labels
    b = render(geometry, moved, pose).labels
    assert (a == b).mean() > 0.9999


@pytest.fixture(scope="module")
def layered():
    """The junction as scans show it: 0.4 mm cortex, 0.6 mm cartilage, a lens nucleus."""
    anatomy = random_anatomy(np.random.default_rng(4)).with_states(
        {"L2-L3": DiscState(2.0), "L4-L5": DiscState(6.2, 0.5), "L5-S1": DiscState(7.4)})
    return SpineGeometry(anatomy.with_endplate_layers())


def test_the_lens_nucleus_meets_the_cartilage_and_the_cartilage_the_cortex(layered):
    # Along the disc axis through the nucleus centre, dense classification gives, from the
    # body below: cortex (0.4 mm), cartilage (0.6 mm), nucleus, cartilage, cortex; the disc
    # label spans the cartilage and the nucleus (the truth height counts the cartilage).
    names = [d.name for d in layered.discs]
    for k in (names.index("L2-L3"), names.index("L4-L5")):  # grade 2 (a cleft) and 6.2
        disc, nuc = layered.discs[k], layered.nuclei[k]
        step = 0.001
        t = np.arange(-12.0, 12.0, step)
        origin = disc.origin + nuc.center_p * disc.axis_ap
        yz = origin[None, :] + t[:, None] * disc.axis_si[None, :]
        lab, ta, tb, w = layered.classify(np.column_stack([np.zeros(len(t)), yz]))
        tissue = np.array([layered.tissues[i].name for i in ta])
        cartilage = (tissue == "cartilage endplate").sum() * step
        cortex = (tissue == "cortical endplate").sum() * step
        assert cartilage == pytest.approx(2 * 0.6, abs=0.005)
        assert cortex == pytest.approx(2 * 0.4, abs=0.005)
        nucleus = np.isin(tissue, [layered.disc_tissue[disc.name].nucleus.name,
                                   "intranuclear cleft"])
        # the nucleus reaches the cartilage on both sides: no annulus between them
        run = np.flatnonzero(nucleus | (tissue == "cartilage endplate"))
        assert np.all(np.diff(run) == 1)
        disc_run = np.isin(lab, native_disc_labels(layered.vertebrae[k].name)).sum() * step
        assert disc_run == pytest.approx(
            layered.disc_height(disc, 0.5 - nuc.center_p / disc.depth), abs=0.01)


@pytest.mark.parametrize("voxel", [0.4, 1.0])
def test_the_lens_volume_and_cleft_match_the_rendered_labels(layered, voxel):
    """Closed-form lens volume (and the quadrature cleft share) against rendered labels."""
    k = [d.name for d in layered.discs].index("L2-L3")  # grade 2: a 1 mm cleft
    disc = layered.discs[k]
    centre = np.array([0.0, *disc.origin])
    rot = np.eye(3)
    rot[1:, 1:] = np.column_stack([disc.axis_ap, disc.axis_si])
    grid = Grid.sagittal((disc.width + 6, disc.depth + 6, 24.0), (voxel,) * 3,
                         center=centre, rotation=rot)
    labels = render(layered, grid).labels
    _, np_ = native_disc_labels(layered.vertebrae[k].name)
    assert (labels == np_).sum() * voxel**3 == pytest.approx(layered.nucleus_volume(k),
                                                             rel=0.03)
    # the cleft share against a Monte Carlo estimate inside the nucleus
    rng = np.random.default_rng(0)
    nuc = layered.nuclei[k]
    n = 400_000
    p = nuc.center_p + nuc.semi_ap * rng.uniform(-1, 1, n)
    x = nuc.semi_lr * rng.uniform(-1, 1, n)
    q = rng.uniform(-8, 8, n)
    inside = nuc.rho(disc, p, x, q) <= 1
    cleft = np.abs(q - nuc.middle(disc, p, x)) < layered.disc_tissue[disc.name].cleft_mm / 2
    share = (inside & cleft).sum() / inside.sum()
    assert layered.cleft_fraction(k) == pytest.approx(share, abs=0.01)
    assert 0.05 < share < 0.95


def test_a_bad_junction_is_refused():
    anatomy = default_anatomy()
    for bad in ({"cartilage_mm": -0.1}, {"nucleus_shape": "cube"}, {"nucleus_si": 1.5}):
        with pytest.raises(ParameterError, match=next(iter(bad))):
            dataclasses.replace(anatomy, **bad)
