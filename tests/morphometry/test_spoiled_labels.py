"""Heights come from the image, not the labels: a segmenter's map a voxel off (issue 11).

The phantom's labels are cut from its exact geometry; here they are spoiled as a segmenter
would (every disc a voxel too tall or too thin, in-plane), across the range of marrow
contrast, while the truth stays the geometry's. Label boundaries alone then err by about a
voxel per endplate (1.2–1.4 mm median at 0.6 mm); the intensity edges must not follow them.
Tolerances are about 1.5 × the errors measured on these phantoms (seeds 0, 1; grades 1.5–6):
red marrow 0.09–0.13 mm, mixed 0.05–0.06 mm, fatty 0.03–0.06 mm.
"""

import dataclasses

import numpy as np
import pytest

from discmri.io import Volume
from discmri.morphometry import measure_spine
from discmri.phantom import DiscState, Protocol, random_anatomy, simulate_session
from discmri.phantom.spoil import spoil_labels
from discmri.phantom.tissue import MARROWS
from discmri.spine import read_levels

HEIGHTS = ("height_anterior_mm", "height_middle_mm", "height_posterior_mm")
TOLERANCE_MM = {"red": 0.20, "fatty": 0.10}


@pytest.fixture(scope="module")
def sessions():
    cache = {}

    def get(marrow):
        if marrow not in cache:
            rng = np.random.default_rng(7)
            anatomy = random_anatomy(rng)
            names = [d.name for d in anatomy.discs]
            severities = [1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 2.5][: len(names)]
            anatomy = dataclasses.replace(anatomy, marrow=MARROWS[marrow]).with_states(
                {n: DiscState(s) for n, s in zip(names, severities, strict=False)})
            protocol = Protocol(t2w_snr=30.0, mese_voxel_mm=None, dwi_voxel_mm=None)
            cache[marrow] = simulate_session(anatomy, rng=rng, protocol=protocol)
        return cache[marrow]

    return get


def height_errors(sim, labels, edges="intensity"):
    morph = measure_spine(sim.t2w, labels, read_levels(labels.data), edges=edges)
    truth = sim.truth.set_index("level")
    assert set(morph.discs) == set(truth.index)
    err = [h - truth.loc[name, col] for name, d in morph.discs.items()
           for h, col in zip(d.heights, HEIGHTS, strict=True)]
    share = np.mean([d.from_labels.mean() for d in morph.discs.values()])
    return np.abs(err), share


@pytest.mark.slow
@pytest.mark.parametrize("marrow", ["red", "fatty"])
@pytest.mark.parametrize("spoil", ["grow", "shrink"])
def test_heights_hold_with_labels_a_voxel_off(sessions, marrow, spoil):
    sim = sessions(marrow)
    labels = Volume(spoil_labels(sim.labels.data, spoil), sim.labels.affine, sim.labels.meta)
    err, share = height_errors(sim, labels)
    assert np.median(err) <= TOLERANCE_MM[marrow]
    assert share < 0.10  # profiles that fell back to the (wrong) labels
    # the same heights from the label boundaries are off by about a voxel per endplate
    label_err, _ = height_errors(sim, labels, edges="labels")
    assert np.median(label_err) > 0.8


@pytest.mark.slow
def test_a_cortical_endplate_is_measured_from_the_marrow():
    """The endplate edge is the marrow boundary (docs/morphometry.rst): with a dark cortical
    endplate of 0.5 mm, heights span the disc and both plates, i.e. the disc's height plus
    1.0 mm, where the labels (cut at the disc) give the disc's height. Measured at 0.6 mm,
    mixed marrow: 0.18 mm median above height + 2 × cortex (the blurred dark plate pulls each
    half-level edge a little towards the marrow); with the old plateau method, 0.2-1.1 mm,
    with 40-96 % of profiles falling back to the labels."""
    rng = np.random.default_rng(11)
    anatomy = random_anatomy(rng)
    names = [d.name for d in anatomy.discs]
    anatomy = dataclasses.replace(anatomy, cortex_mm=0.5).with_states(
        {n: DiscState(g) for n, g in zip(names, [2.0, 3.0, 4.0, 5.0, 6.0, 2.5, 1.5],
                                         strict=False)})
    sim = simulate_session(anatomy, rng=rng, protocol=Protocol(
        t2w_snr=30.0, mese_voxel_mm=None, dwi_voxel_mm=None))
    morph = measure_spine(sim.t2w, sim.labels, read_levels(sim.labels.data))
    truth = sim.truth.set_index("level")
    over = np.array([h - truth.loc[name, col] for name, d in morph.discs.items()
                     for h, col in zip(d.heights, HEIGHTS, strict=True)])
    assert abs(np.median(over) - 1.0) <= 0.25
    assert np.mean([d.from_labels.mean() for d in morph.discs.values()]) < 0.10
    # the vertebral bodies lose the two plates
    vb = [d.heights[1] - truth.loc[f"{name}-{nxt}", "vb_cranial_height_middle_mm"]
          for (name, d), nxt in zip(morph.vertebrae.items(), list(morph.vertebrae)[1:] + [""],
                                    strict=True) if f"{name}-{nxt}" in truth.index]
    assert abs(np.median(vb) + 1.0) <= 0.3
