"""Segmentation assist on real lumbar MRI (../shared/data/real-lumbar, see its README).

What holds now, measured by ``benchmarks/bench_segmentation.py --real`` (the figures of
docs/segmentation.rst):

- the canal is found in front of the vertebral bodies on the 6 vb2 scans (before, on
  none: the subcutaneous fat behind the spinous processes, as bright as CSF, was taken for
  the canal); the strip cut into levels lies on the manual bodies for 0.28–0.68 of its
  length;
- with the L5-S1 disc given (``hint_l5s1``), vb2-02 and vb2-07 get all 7 bodies named right,
  median body Dice 0.79 and 0.80 (bounded at their sides), and ivd-11 and ivd-20 all 5
  discs, median Dice 0.55 and 0.70 — their intensities are stored wrapped at 256 and are
  unwrapped first;
- a scan without the sacrum (sct-t2-lumbar) is refused with the options that name the
  levels, and segmented once a hint is given;
- ivd-11 and ivd-20 are counted right from the sacrum (the thecal sac is the longest run of
  CSF across the canal), with confidence 0.9; vb2-05, counted wrong, gets 0.5 and says why.

What does not hold yet (issue 21 stays open): the levels of the vb2 scans are not counted
from the sacrum (the end of the thecal sac is not seen; vb2-05 is counted wrong), and on the
other vb2 scans and ivd-25 the profile cut misplaces the discs even with a hint. The SPIDER
slices are tested in test_segmentation_spider.py.
"""

from __future__ import annotations

import os
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from discmri.errors import ParameterError
from discmri.io import load_volume
from discmri.spine.segmentation import segment_spine
from discmri.spine.segmentation.locate import find_column, normalised
from discmri.spine.segmentation.sagittal import sagittal_frame

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "real-lumbar"
VB2 = ("vb2-02", "vb2-04", "vb2-05", "vb2-06", "vb2-07", "vb2-08")

# CI has ../shared/data beside the clone: there a missing folder fails instead of skipping
pytestmark = pytest.mark.skipif(not DATA.is_dir() and not os.environ.get("CI"),
                                reason="../shared/data is not beside the checkout")


def _case(name: str):
    image = load_volume(DATA / name / f"{name}_T2w.nii.gz")
    labels = DATA / name / f"{name}_labels.nii.gz"
    return image, (nib.load(labels) if labels.exists() else None)


def _strip_on_bodies(name: str) -> float:
    """Fraction of the strip cut into levels (2–14 mm in front of the canal) that lies on
    the manual vertebral bodies, within the SI span of the labels."""
    image, labels = _case(name)
    frame = sagittal_frame(image)
    col = find_column(frame, normalised(frame))
    lab = frame.from_input(np.asarray(labels.dataobj).astype(int))
    st = col.straight
    s, t = np.meshgrid(st.s, np.arange(col.front + 2.0, col.front + 14.1, 1.0), indexing="ij")
    pix = np.rint(st.to_pixels(s, t, frame.spacing[1:])).astype(int)
    y = np.clip(pix[..., 0], 0, lab.shape[1] - 1)
    z = np.clip(pix[..., 1], 0, lab.shape[2] - 1)
    on = lab[col.midline[z], y, z] > 0
    rows = np.flatnonzero((lab > 0).any(axis=(0, 1)))
    span = (z >= rows.min()) & (z <= rows.max())
    return float(on[span].mean())


@pytest.mark.slow
def test_the_canal_is_found_in_front_of_the_bodies_not_in_the_subcutaneous_fat():
    # measured 0.60 0.64 0.68 0.28 0.48 0.33; the fat path gives 0.00 on every scan
    fractions = {name: _strip_on_bodies(name) for name in VB2}
    assert all(f >= 0.25 for f in fractions.values()), fractions
    assert np.median(list(fractions.values())) >= 0.45, fractions


def _hint(labels) -> np.ndarray:
    """A point in the L5-S1 disc from the manual labels, scanner mm: the centre of the ivd
    L5-S1 mask (124); for the vb2 bodies, half a level below the centre of L5 (24) along the
    line from the centre of L4 (23), which follows the column's tilt at the lumbosacral
    junction (a point straight below L5 can fall in front of S1)."""
    data = np.asarray(labels.dataobj)
    if (data == 124).any():
        return nib.affines.apply_affine(labels.affine, np.argwhere(data == 124).mean(axis=0))
    l4, l5 = (nib.affines.apply_affine(labels.affine, np.argwhere(data == k).mean(axis=0))
              for k in (23, 24))
    return l5 + 0.5 * (l5 - l4)


def _overlap(seg, labels) -> dict[int, tuple[float, bool]]:
    """Per manual structure: its Dice with the found label of the same number (a nucleus
    counted with its disc), and whether that is the found label it overlaps most."""
    manual = np.asarray(labels.dataobj).astype(int)
    found = seg.labels.data.astype(int)
    found = np.where(found >= 200, found - 100, found)
    out = {}
    for key in (int(k) for k in np.unique(manual) if k):
        truth, mine = manual == key, found == key
        over = found[truth]
        over = over[over > 0]
        out[key] = (2 * float((truth & mine).sum()) / float(truth.sum() + mine.sum()),
                    bool(over.size) and int(np.bincount(over).argmax()) == key)
    return out


#: Least median Dice with the L5-S1 disc given, per case: measured 0.78 / 0.80 (vb2-02 / -07
#: bodies) and 0.55 / 0.69 (ivd-11 / -20 discs); 0.67 / 0.72 / 0.56 / 0.64 before the bodies
#: were bounded at their sides, when psoas beside them was labelled as body.
DICE_FLOOR = {"vb2-02": 0.75, "vb2-07": 0.76, "ivd-11": 0.5, "ivd-20": 0.66}


@pytest.mark.slow
@pytest.mark.parametrize("name", ["vb2-02", "vb2-07", "ivd-11", "ivd-20"])
def test_with_the_l5s1_disc_given_the_structures_are_found_and_named(name):
    image, labels = _case(name)
    seg = segment_spine(image, hint_l5s1=_hint(labels))
    overlap = _overlap(seg, labels)  # vb2: T11-L5 bodies; ivd: 5 discs
    dice = [d for d, _ in overlap.values()]
    assert sum(named for _, named in overlap.values()) == len(overlap)
    assert np.median(dice) >= DICE_FLOOR[name], dice
    if name.startswith("ivd"):  # unwrapped first: Dice 0.00 without
        assert "wrapped at 256" in seg.sidecar["intensity"]
    # no structure reaches far beyond its manual left-right extent (measured: median 1 mm
    # and 0 mm beyond on vb2-02 / -07, at most 14; before the bound, psoas and pedicles
    # were labelled across the whole field of view, 10-23 mm beyond)
    manual = np.asarray(labels.dataobj).astype(int)
    found = seg.labels.data.astype(int)
    beyond = []
    for key in overlap:
        t = np.flatnonzero((manual == key).any(axis=(0, 1)))  # axis 2: left-right
        f = np.flatnonzero(np.isin(found, (key, key + 100)).any(axis=(0, 1)))
        beyond += [max(0, t.min() - f.min()), max(0, f.max() - t.max())]
    assert np.median(beyond) <= 3.0, beyond


@pytest.mark.slow
@pytest.mark.parametrize("name", ["ivd-11", "ivd-20"])
def test_the_ivd_discs_are_counted_from_the_sacrum(name):
    # the thecal sac is the longest run of CSF across the canal: both are counted right
    # (before, ivd-11 was refused: a bright stretch at the lower edge passed for the sac)
    image, labels = _case(name)
    seg = segment_spine(image)
    assert seg.sidecar["levels"]["method"] == "sacrum"
    assert seg.sidecar["levels"]["confidence"] == 0.9
    overlap = _overlap(seg, labels)
    assert sorted(overlap) == list(range(120, 125))  # L1-L2 … L5-S1
    for key, (_, named) in overlap.items():
        assert named, key


@pytest.mark.slow
def test_a_count_that_the_sacrum_contradicts_is_flagged():
    # vb2-05: the CSF dips in the mid-lumbar canal and the count is wrong (L5-S1 named two
    # levels up); full lumbar discs 78 mm below the "end of the sac" disagree, and say so
    image, _ = _case("vb2-05")
    seg = segment_spine(image)
    levels = seg.sidecar["levels"]
    assert levels["method"] == "sacrum" and levels["confidence"] <= 0.5
    assert "where the sacrum should be: check the count" in levels["why"]


@pytest.mark.slow
def test_a_scan_without_the_sacrum_asks_for_a_hint_or_a_range():
    image, _ = _case("sct-t2-lumbar")
    with pytest.raises(ParameterError, match=r"--hint-l5s1 X,Y,Z.*--level-range FIRST\.\.LAST"):
        segment_spine(image)
    # with a point given, the disc nearest it is L5-S1 and the others are counted from it
    centre = image.affine @ np.append((np.array(image.spatial_shape) - 1) / 2.0, 1.0)
    seg = segment_spine(image, hint_l5s1=centre[:3])
    assert seg.sidecar["levels"]["method"] == "hint"
    assert seg.levels and seg.levels[-1] == "L5-S1"
