"""Any patient pose: axial rotation (roll) and lateral bending (issue 11).

The disc frame is found in 3-D from the disc's own shape, not from the scanner's x axis. With
the scanner's sagittal plane as the disc's (as before), 10° of lateral bending made every
height 1.5 % too tall (+0.16 mm median bias at 1 mm in-plane) and a 15° roll lengthened the
depth by 0.8 mm; in 3-D both are gone (measured: median |height error| 0.09 mm, bias within
±0.02 mm, depth bias within ±0.07 mm, at roll 10-15°, bending 10° and both, 1 mm in-plane).
"""

import dataclasses

import numpy as np
import pytest

from discmri.morphometry import measure_spine
from discmri.phantom import (
    DiscState,
    Pose,
    Protocol,
    random_anatomy,
    rotation_matrix,
    simulate_session,
)
from discmri.spine import read_levels

HEIGHTS = ("height_anterior_mm", "height_middle_mm", "height_posterior_mm")
POSES = {
    "roll 15°": rotation_matrix((0, 0, 1), 15.0),
    "bending 10°": rotation_matrix((0, 1, 0), 10.0),
    "roll 12°, bending -8°, lordosis 10°": (rotation_matrix((0, 0, 1), 12.0)
                                            @ rotation_matrix((0, 1, 0), -8.0)
                                            @ rotation_matrix((1, 0, 0), 10.0)),
}
PROTOCOL = Protocol(t2w_snr=30.0, t2w_voxel_mm=(4.0, 1.0, 1.0), slab_mm=64.0,
                    mese_voxel_mm=None, dwi_voxel_mm=None)


@pytest.mark.slow
@pytest.mark.parametrize("pose", list(POSES))
def test_heights_depth_and_dhi_hold_at_any_pose(pose):
    rng = np.random.default_rng(21)
    sim = simulate_session(random_anatomy(rng), rng=rng, protocol=PROTOCOL,
                           pose=Pose(POSES[pose], np.zeros(3)))
    morph = measure_spine(sim.t2w, sim.labels, read_levels(sim.labels.data))
    truth = sim.truth.set_index("level")
    err = np.array([h - truth.loc[n, c] for n, d in morph.discs.items()
                    for h, c in zip(d.heights, HEIGHTS, strict=True)])
    depth = np.array([d.depth - truth.loc[n, "ap_depth_mm"] for n, d in morph.discs.items()])
    assert np.median(np.abs(err)) <= 0.15  # issue 11's target at 1 mm in-plane
    assert abs(np.median(err)) <= 0.10  # a 2-D frame: +0.16 mm at 10° of bending
    assert abs(np.median(depth)) <= 0.25  # a 2-D frame: +0.8 mm at 15° of roll
    # the frame's left-right axis is the disc's, not the scanner's
    lr_body = POSES[pose] @ np.array([1.0, 0.0, 0.0])
    angles = [np.degrees(np.arccos(min(1.0, abs(d.frame.lr @ lr_body))))
              for d in morph.discs.values()]
    assert np.median(angles) < 3.0
    # ... set by the disc's shape: here a disc cut by the top of the image may fall back
    noted = [n for n, d in morph.discs.items() if any("left-right" in x for x in d.notes)]
    assert len(noted) <= 1 and all(d.frame.lr_from_shape != (n in noted)
                                   for n, d in morph.discs.items())


def test_a_disc_across_few_slices_says_its_left_right_axis_is_coarse(session_sim):
    # a 12 mm slab of 4 mm slices: three slices across each disc, too few to set its axis
    sim = session_sim
    morph = measure_spine(sim.t2w, sim.labels, read_levels(sim.labels.data))
    for name, d in morph.discs.items():
        said = [n for n in d.notes if "left-right" in n]
        assert len(said) == 1 and "3 slices" in said[0], (name, d.notes)


@pytest.mark.slow
def test_half_millimetre_gain_is_found_with_the_patient_posed_differently():
    rng = np.random.default_rng(5)
    anatomy = random_anatomy(rng).with_states({"L4-L5": DiscState(4.0)})
    later = anatomy.with_states({"L4-L5": DiscState(4.0, height_gain_mm=0.5)})
    protocol = dataclasses.replace(PROTOCOL, t2w_voxel_mm=(4.0, 0.8, 0.8))
    mean = []
    for anat, rot in ((anatomy, rotation_matrix((0, 0, 1), -8.0)),
                      (later, rotation_matrix((0, 1, 0), 7.0) @ rotation_matrix((0, 0, 1), 10.0))):
        sim = simulate_session(anat, rng=rng, protocol=protocol,
                               pose=Pose(rot, rng.uniform(-3, 3, 3)))
        morph = measure_spine(sim.t2w, sim.labels, read_levels(sim.labels.data))
        mean.append({n: np.mean(d.heights) for n, d in morph.discs.items()})
    change = {n: mean[1][n] - mean[0][n] for n in mean[0]}
    assert 0.3 < change["L4-L5"] < 0.7
    assert max(abs(v) for n, v in change.items() if n != "L4-L5") < 0.25
