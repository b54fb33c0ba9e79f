"""The per-disc QC figure, with and without a T2 map below it."""

import io
from pathlib import Path

import numpy as np
import pytest

from discmri.io import load_volume
from discmri.measure import measure
from discmri.qc import disc_qc_figures

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"
STEM = "sub-01_ses-baseline"


def _decode(png: bytes) -> np.ndarray:
    from matplotlib.image import imread

    return imread(io.BytesIO(png), format="png")


@pytest.fixture(scope="module")
def measured():
    t2w = load_volume(SAMPLE / "sub-01/ses-baseline/anat" / f"{STEM}_T2w.nii.gz")
    labels = load_volume(SAMPLE / "derivatives/labels/sub-01/ses-baseline/anat"
                         / f"{STEM}_dseg.nii.gz")
    t2 = load_volume(SAMPLE / "derivatives/truth/sub-01/ses-baseline"
                     / f"{STEM}_desc-truth_T2map.nii.gz", allow_nonfinite=True)
    return t2w, measure(t2w, labels, t2map=t2), t2


def test_the_t2_map_is_drawn_below_in_colour(measured):
    t2w, result, t2 = measured
    plain = _decode(disc_qc_figures(result, t2w, name="sub-01 ses-baseline")["L4-L5"])
    both = _decode(disc_qc_figures(result, t2w, t2map=t2)["L4-L5"])
    # one panel more: about twice as tall, as wide
    assert both.shape[0] / plain.shape[0] == pytest.approx(2.0, rel=0.15)
    assert both.shape[1] >= plain.shape[1]

    def colourful(img):
        rgb = img[..., :3]
        return (rgb.max(axis=2) - rgb.min(axis=2) > 0.25).mean()

    # the grey image with thin coloured lines above; the magma-coloured map below
    assert colourful(both[both.shape[0] // 2:]) > 5 * colourful(plain)
