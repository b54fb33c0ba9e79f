"""Sub-voxel geometry on the phantom against its analytic truth (issue #5 accuracy)."""

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from discmri.errors import DiscMRIError, GeometryError
from discmri.io import Volume
from discmri.morphometry import HEIGHT_POSITIONS, measure_spine
from discmri.phantom import Pose, Protocol, random_anatomy, simulate_session
from discmri.phantom.anatomy import DiscState
from discmri.spine import read_levels

#: The conditions built by the ``morphometry_session`` fixture (tests/conftest.py).
MORPHOMETRY_CONDITIONS = ("axial-aligned", "rotated-15deg", "oblique-affine", "1mm-in-plane")
HEIGHTS = ("height_anterior_mm", "height_middle_mm", "height_posterior_mm")
VB = ("anterior", "middle", "posterior")


def errors(sim, morph):
    truth = sim.truth.set_index("level")
    rows = []
    for name, disc in morph.discs.items():
        t = truth.loc[name]
        for col, h in zip(HEIGHTS, disc.heights, strict=True):
            rows.append({"level": name, "what": col, "error": h - t[col]})
        rows.append({"level": name, "what": "depth", "error": disc.depth - t.ap_depth_mm})
        rows.append({"level": name, "what": "wedge", "error": disc.wedge_deg
                     - t.wedge_angle_deg})
        rows.append({"level": name, "what": "area", "error": disc.area_mm2 / t.area_mm2 - 1})
        cranial = morph.vertebrae.get(name.split("-")[0])
        if cranial is not None:
            for pos, h in zip(VB, cranial.heights, strict=True):
                rows.append({"level": name, "what": "vb",
                             "error": h - t[f"vb_cranial_height_{pos}_mm"]})
            rows.append({"level": name, "what": "vb_area",
                         "error": cranial.area_mm2 / t.vb_cranial_area_mm2 - 1})
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def measured(morphometry_session):
    out = {}
    for condition in MORPHOMETRY_CONDITIONS:
        sim = morphometry_session(condition)
        levels = read_levels(sim.labels.data)
        morph = measure_spine(sim.t2w, sim.labels, levels)
        out[condition] = (sim, morph, errors(sim, morph))
    return out


@pytest.mark.slow
@pytest.mark.parametrize("condition", list(MORPHOMETRY_CONDITIONS))
def test_disc_heights_are_sub_voxel(measured, condition):
    # Issue #5: median |error| of disc heights <= 0.15 mm at 0.6 mm in-plane, 4 mm slices,
    # SNR 30, and within tolerance rotated 15°, with an oblique affine and at 1.0 mm.
    # Counting whole 0.6 mm voxels errs by ~0.18 mm (median); these must do clearly better.
    sim, morph, err = measured[condition]
    assert set(morph.discs) == set(sim.truth.level)
    h = err[err.what.isin(HEIGHTS)].error.abs()
    limit = 0.15 if condition != "1mm-in-plane" else 0.2
    assert h.median() <= limit, h.describe()
    assert h.max() <= 0.6  # no gross failure at any disc


@pytest.mark.slow
@pytest.mark.parametrize("condition", list(MORPHOMETRY_CONDITIONS))
def test_depth_wedge_area_and_vertebral_bodies(measured, condition):
    sim, morph, err = measured[condition]
    by = err.groupby("what").error
    # The AP margins come from the labels: each end is good to half a voxel.
    voxel = sim.t2w.spacing[1]
    assert by.apply(lambda e: e.abs().median())["depth"] <= 0.5 * voxel
    assert by.apply(lambda e: e.abs().max())["wedge"] < 1.0  # degrees
    # Area errors follow the depth's (half a voxel per end over ~35 mm).
    assert by.apply(lambda e: e.abs().max())["area"] < 0.035 * voxel  # relative
    assert by.apply(lambda e: e.abs().median())["vb"] < 0.2  # mm
    assert by.apply(lambda e: e.abs().max())["vb_area"] < 0.035 * voxel
    assert "S1" not in morph.vertebrae and "S1" in morph.failures


def test_disc_frame_follows_the_spine_rotation(measured):
    # The measured endplate normal of each disc turns with the patient (15° sagittal pose).
    sim0, morph0, _ = measured["axial-aligned"]
    sim1, morph1, _ = measured["rotated-15deg"]
    for name in ("L3-L4", "L4-L5"):
        t0, t1 = morph0.discs[name].frame.tilt_deg, morph1.discs[name].frame.tilt_deg
        # different individuals, so compare each with its own truth orientation
        for sim, tilt in ((sim0, t0), (sim1, t1)):
            seg = next(d for d in sim.geometry.discs if d.name == name)
            si_world = sim.pose.rotation @ np.array([0.0, *seg.axis_si])
            truth = np.degrees(np.arctan2(-si_world[1], si_world[2]))
            assert tilt == pytest.approx(truth, abs=0.5)


def test_volume_is_measured_only_when_the_disc_is_whole(measured):
    sim, morph, _ = measured["1mm-in-plane"]  # 64 mm slab: discs are whole
    truth = sim.truth.set_index("level")
    rel = [morph.discs[n].volume_mm3 / truth.loc[n, "volume_mm3"] - 1 for n in morph.discs]
    assert np.max(np.abs(rel)) < 0.04
    _, narrow, _ = measured["axial-aligned"]  # 24 mm slab cuts the discs
    for disc in narrow.discs.values():
        assert np.isnan(disc.volume_mm3)
        assert any("volume not measured" in n for n in disc.notes)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_half_millimetre_gain_is_detected(seed):
    # Issue #5: a 0.5 mm height gain at one disc between two visits is detected with the
    # right sign at every seed; the patient is repositioned between the visits.
    rng = np.random.default_rng(seed)
    anatomy = random_anatomy(rng).with_states({"L4-L5": DiscState(4.0)})
    later = anatomy.with_states({"L4-L5": DiscState(4.0, height_gain_mm=0.5)})
    protocol = Protocol(t2w_snr=30.0, slab_mm=12.0, mese_voxel_mm=None, dwi_voxel_mm=None)
    mean = []
    for anat, pose in ((anatomy, Pose.sagittal(0.0)),
                       (later, Pose.sagittal(float(rng.uniform(-4, 4)),
                                             tuple(rng.uniform(-3, 3, 3))))):
        sim = simulate_session(anat, rng=rng, protocol=protocol, pose=pose)
        morph = measure_spine(sim.t2w, sim.labels, read_levels(sim.labels.data))
        mean.append({n: np.mean(d.heights) for n, d in morph.discs.items()})
    change = {n: mean[1][n] - mean[0][n] for n in mean[0]}
    assert 0.3 < change["L4-L5"] < 0.7
    others = [abs(v) for n, v in change.items() if n != "L4-L5"]
    assert max(others) < 0.25


def test_positions_are_configurable(measured):
    sim, _, _ = measured["axial-aligned"]
    levels = read_levels(sim.labels.data)
    morph = measure_spine(sim.t2w, sim.labels, levels, positions=(0.2, 0.5, 0.8))
    geometry = sim.geometry
    for disc in geometry.discs:
        if disc.name not in ("L2-L3", "L3-L4"):
            continue
        got = morph.discs[disc.name].heights
        want = [geometry.disc_height(disc, f) for f in (0.2, 0.5, 0.8)]
        assert np.allclose(got, want, atol=0.3)
    assert HEIGHT_POSITIONS == (0.1, 0.5, 0.9)


def test_parasagittal_planes_give_the_height_averaged_across_them(measured):
    # With planes 8 mm to either side, a disc domed left-right is lower there: the heights
    # are the mean over the three planes (the phantom's truth at x = -8, 0, 8 mm). Measured:
    # 0.02 mm (median) from the three-plane truth and 0.14 mm below the mid-sagittal truth;
    # the mid-sagittal plane alone gives 0.11 mm and -0.02 mm.
    sim, _, _ = measured["axial-aligned"]
    levels = read_levels(sim.labels.data)
    morph = measure_spine(sim.t2w, sim.labels, levels, parasagittal_mm=8.0)
    g = sim.geometry
    three, mid = [], []
    for disc in g.discs:
        for f, h in zip(HEIGHT_POSITIONS, morph.discs[disc.name].heights, strict=True):
            three.append(h - np.mean([g.disc_height(disc, f, x) for x in (-8.0, 0.0, 8.0)]))
            mid.append(h - g.disc_height(disc, f))
    assert np.median(np.abs(three)) < 0.06
    assert np.median(mid) < -0.1
    with pytest.raises(DiscMRIError, match="parasagittal"):
        measure_spine(sim.t2w, sim.labels, levels, parasagittal_mm=-1.0)


def test_bad_input_is_reported(measured):
    sim, _, _ = measured["axial-aligned"]
    levels = read_levels(sim.labels.data)
    affine = sim.labels.affine.copy()
    affine[1, 3] += 2.0  # labels 2 mm off the image
    shifted = Volume(sim.labels.data, affine)
    with pytest.raises(GeometryError, match="affine differs"):
        measure_spine(sim.t2w, shifted, levels)
    cropped = Volume(sim.labels.data[:, :, :-3], sim.labels.affine)
    with pytest.raises(GeometryError, match="shape"):
        measure_spine(sim.t2w, cropped, levels)
    with pytest.raises(DiscMRIError, match="three fractions"):
        measure_spine(sim.t2w, sim.labels, levels, positions=(0.1, 0.9))
    # a disc without a body next to it is measured from its label and the image, and says so
    lab = sim.labels.data.copy()
    lab[lab == 23] = 0  # remove L4
    holed = Volume(lab, sim.labels.affine)
    morph = measure_spine(sim.t2w, holed, read_levels(lab))
    for name in ("L3-L4", "L4-L5"):
        assert any("no vertebral body L4" in n for n in morph.discs[name].notes)
    assert {"L2-L3", "L5-S1"} <= set(morph.discs) and "L4" not in morph.vertebrae



def test_voxel_axis_order_and_direction_do_not_matter(measured):
    # Physical coordinates throughout: the same images stored with permuted and flipped voxel
    # axes (affine adjusted, world geometry unchanged) give the same geometry.
    sim, morph, _ = measured["axial-aligned"]
    target = nib.orientations.axcodes2ornt(("S", "L", "P"))

    def reoriented(vol):
        img = nib.Nifti1Image(np.asarray(vol.data), vol.affine)
        ornt = nib.orientations.ornt_transform(nib.io_orientation(vol.affine), target)
        out = img.as_reoriented(ornt)
        return Volume(np.asarray(out.dataobj), out.affine)

    t2w, labels = reoriented(sim.t2w), reoriented(sim.labels)
    assert t2w.shape != sim.t2w.shape
    other = measure_spine(t2w, labels, read_levels(labels.data))
    for name, disc in morph.discs.items():
        assert np.allclose(other.discs[name].heights, disc.heights, atol=1e-6)
        assert other.discs[name].depth == pytest.approx(disc.depth, abs=1e-6)
    for name, vb in morph.vertebrae.items():
        assert np.allclose(other.vertebrae[name].heights, vb.heights, atol=1e-6)
