"""The QC figure of the grade suggestions."""

import io
from pathlib import Path

import numpy as np
import pytest

from discmri.grading import suggest_grades
from discmri.io import load_volume
from discmri.measure import measure
from discmri.qc import grade_figure

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"
STEM = "sub-01_ses-baseline"


@pytest.fixture(scope="module")
def sample():
    sub = SAMPLE / "sub-01/ses-baseline/anat"
    t2w = load_volume(sub / f"{STEM}_T2w.nii.gz")
    labels = load_volume(SAMPLE / "derivatives/labels/sub-01/ses-baseline/anat"
                         / f"{STEM}_dseg.nii.gz")
    result = measure(t2w, labels)
    return result, t2w, suggest_grades(result, t2w)


def _decode(png: bytes) -> np.ndarray:
    from matplotlib.image import imread

    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    return imread(io.BytesIO(png), format="png")


def test_one_panel_per_disc_with_the_regions_drawn(sample):
    result, t2w, grades = sample
    seven = _decode(grade_figure(result, t2w, grades, columns=7))
    two = _decode(grade_figure(result, t2w, grades, levels=["L4-L5", "L5-S1"], columns=7))
    # panels side by side: seven discs make a figure about 3.5 times as wide as two
    assert seven.shape[1] / two.shape[1] == pytest.approx(3.5, rel=0.05)
    # not blank, and the region outlines are drawn in colour (magenta: red and blue, no green)
    assert seven[..., :3].std() > 0.1
    magenta = (seven[..., 0] > 0.8) & (seven[..., 2] > 0.8) & (seven[..., 1] < 0.3)
    assert magenta.sum() > 200


def test_a_map_without_canal_label_shows_the_strip_searched(sample):
    result, t2w, _ = sample
    labels = load_volume(SAMPLE / "derivatives/labels/sub-01/ses-baseline/anat"
                         / f"{STEM}_dseg.nii.gz")
    no_canal = labels.with_data(np.where(labels.data == 301, 0, labels.data))
    again = measure(t2w, no_canal)
    grades = suggest_grades(again, t2w)
    assert (grades.csf_reference == "image").all()
    image = _decode(grade_figure(again, t2w, grades, levels=["L4-L5"]))
    cyan = (image[..., 1] > 0.7) & (image[..., 2] > 0.7) & (image[..., 0] < 0.3)
    assert cyan.sum() > 50  # the dashed strip
