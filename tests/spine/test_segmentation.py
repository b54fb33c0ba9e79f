"""Segmentation assist on phantoms with the tissues around the column (issue 14, partial).

Measured on the phantom below (seed 12, SNR 25, bias 0.2, 1 mm in-plane, 4 mm slices):
levels all correct; body Dice 0.90–0.93 (median 0.92; the truncated top body 0.66); disc
Dice 0.73–0.85 (median 0.80); mean disc height within 0.21 mm median of the same
measurement with the true labels. Known failure (seed 11, a collapsed grade-7.6 L5-S1):
a level is missed and the names shift by one; see docs/segmentation.rst.
"""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from discmri.errors import GeometryError, ImageFormatError, ParameterError
from discmri.io.volume import Volume
from discmri.measure import measure
from discmri.phantom.anatomy import DiscState, random_anatomy
from discmri.phantom.grid import Pose
from discmri.phantom.session import Protocol, simulate_session
from discmri.spine.segmentation import parse_level_range, segment_spine

PROTOCOL = Protocol(slab_mm=32.0, t2w_voxel_mm=(4.0, 1.0, 1.0), mese_voxel_mm=None,
                    dwi_voxel_mm=None, bias=0.2, t2w_subsample_mm=(1.0, 0.25, 0.25),
                    si_margin_mm=35.0, t2w_snr=25.0)


@pytest.fixture(scope="module")
def lumbar():
    anatomy = random_anatomy(np.random.default_rng(12)).with_states(
        {"L3-L4": DiscState(5.5), "L5-S1": DiscState(3.0)})
    sim = simulate_session(replace(anatomy, surroundings=True), rng=np.random.default_rng(12),
                           protocol=PROTOCOL, pose=Pose.sagittal(4.0))
    return sim, segment_spine(sim.t2w)


def _dice(truth: np.ndarray, found: np.ndarray, key: int) -> float:
    t = (truth == key) | (truth == key + 100) if 100 <= key < 200 else truth == key
    f = found == key
    return 2 * float((t & f).sum()) / float(t.sum() + f.sum())


def test_levels_are_counted_from_the_sacrum(lumbar):
    sim, seg = lumbar
    assert seg.levels == tuple(sim.truth.level)
    assert seg.sidecar["levels"]["method"] == "sacrum"
    assert seg.sidecar["levels"]["confidence"] >= 0.9


def test_bodies_and_discs_overlap_the_truth(lumbar):
    sim, seg = lumbar
    truth, found = sim.labels.data.astype(int), seg.labels.data.astype(int)
    keys = [int(k) for k in np.unique(found) if 0 < k < 200]
    bodies = [_dice(truth, found, k) for k in keys if k < 100]
    discs = [_dice(truth, found, k) for k in keys if k >= 100]
    # measured medians 0.92 and 0.80; a one-voxel shift of every edge costs about 0.1
    assert np.median(bodies) >= 0.88 and min(bodies) >= 0.6
    assert np.median(discs) >= 0.75 and min(discs) >= 0.65
    assert (found == 301).sum() > 0.7 * (truth == 301).sum()


def test_heights_from_the_segmentation_match_those_from_the_true_labels(lumbar):
    sim, seg = lumbar
    a = measure(sim.t2w, sim.labels).table.set_index("level")
    b = measure(sim.t2w, seg.labels).table.set_index("level")
    diff = (b.height_mean_mm - a.height_mean_mm).loc[a.index]
    assert float(np.median(np.abs(diff))) <= 0.4  # measured 0.21 mm
    assert float(np.max(np.abs(diff))) <= 1.2  # measured 0.86 mm


def test_a_range_or_a_hint_names_the_levels(lumbar):
    sim, seg = lumbar
    # the profile also cuts the vestigial S1-S2 disc and a stretch above T11 (which the
    # sacrum count and the size check drop), so a range must name all 9: it says so
    with pytest.raises(ParameterError, match="names 2 discs but 9 were found"):
        segment_spine(sim.t2w, levels="L4-L5..L5-S1")
    # a hint in the L4-L5 disc renames every level by one: what the user asked for
    centre = np.argwhere(sim.labels.data == 123).mean(axis=0)
    world = sim.t2w.affine @ np.append(centre, 1.0)
    hinted = segment_spine(sim.t2w, hint_l5s1=world[:3])
    assert hinted.sidecar["levels"]["method"] == "hint"
    assert hinted.levels[-1] == "L5-S1" and hinted.levels[-2] == "L4-L5"
    assert len(hinted.levels) == len(seg.levels) - 1


def test_parse_level_range():
    assert parse_level_range("L3-L4..L5-S1") == ("L3-L4", "L4-L5", "L5-S1")
    assert parse_level_range("C5-C6..C6-C7") == ("C5-C6", "C6-C7")
    for bad in ("L3-L4", "L5-S1..L3-L4", "X1-X2..L5-S1"):
        with pytest.raises(ParameterError):
            parse_level_range(bad)


def test_bad_inputs_are_refused_with_what_was_wrong(lumbar):
    sim, _ = lumbar
    image = sim.t2w
    with pytest.raises(ImageFormatError, match="3-D"):
        segment_spine(Volume(np.zeros((4, 40, 40, 2)), np.eye(4)))
    # an axial acquisition: thick voxels along SI
    with pytest.raises(GeometryError, match="axial"):
        segment_spine(Volume(np.ones((60, 60, 10)), np.diag([1.0, 1.0, 5.0, 1.0])))
    with pytest.raises(GeometryError, match="coronal"):
        segment_spine(Volume(np.ones((60, 10, 60)), np.diag([1.0, 5.0, 1.0, 1.0])))
    with pytest.raises(GeometryError, match="at least"):
        segment_spine(Volume(np.ones((5, 20, 20)), np.diag([4.0, 1.0, 1.0, 1.0])))
    noise = np.random.default_rng(0).normal(100, 10, (6, 80, 80)).clip(0)
    with pytest.raises(GeometryError, match="no spine"):
        segment_spine(Volume(noise, np.diag([4.0, 1.0, 1.0, 1.0])))
    with pytest.raises(ParameterError, match="outside the image"):
        segment_spine(image, hint_l5s1=np.array([0.0, 0.0, 5000.0]))


def test_discmri_segment_writes_labels_and_sidecar(lumbar, tmp_path):
    from discmri.cli import main
    from discmri.io import load_volume, save_volume

    sim, seg = lumbar
    save_volume(sim.t2w, tmp_path / "t2w.nii.gz")
    out = tmp_path / "labels.nii.gz"
    assert main(["segment", "--t2w", str(tmp_path / "t2w.nii.gz"), "--out", str(out)]) == 0
    written = load_volume(out)
    assert np.array_equal(written.data, seg.labels.data)
    sidecar = json.loads((tmp_path / "labels.json").read_text(encoding="utf-8"))
    assert sidecar["LabelScheme"] == "native" and set(sidecar["structures"]) >= set(seg.levels)
    # an existing output is refused and kept; a hint outside the image writes nothing
    assert main(["segment", "--t2w", str(tmp_path / "t2w.nii.gz"), "--out", str(out)]) == 2
    assert main(["segment", "--t2w", str(tmp_path / "t2w.nii.gz"), "--out",
                 str(tmp_path / "x.nii.gz"), "--hint-l5s1", "0,0,5000"]) == 2
    assert not (tmp_path / "x.nii.gz").exists()


def test_run_segments_a_session_without_a_label_map(lumbar, tmp_path):
    import pandas as pd

    from discmri.io import save_volume
    from discmri.pipeline import RunOptions, run_dataset

    sim, seg = lumbar
    anat = tmp_path / "ds" / "sub-01" / "anat"
    anat.mkdir(parents=True)
    save_volume(sim.t2w, anat / "sub-01_T2w.nii.gz")
    discs = run_dataset(tmp_path / "ds", tmp_path / "out", options=RunOptions(t2=False,
                                                                               adc=False))
    assert tuple(discs.level) == seg.levels
    sessions = pd.read_csv(tmp_path / "out" / "sessions.tsv", sep="\t")
    assert sessions.skipped[0].startswith("labels: no label map; segmented")
    assert (tmp_path / "out" / "sub-01" / "sub-01_desc-discmri_dseg.nii.gz").exists()
    skipped = run_dataset(tmp_path / "ds", tmp_path / "out2",
                          options=RunOptions(t2=False, adc=False, segment=False))
    assert len(skipped) == 0
