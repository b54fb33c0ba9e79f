"""Maps that cannot be right are refused, with what is wrong, before they are averaged."""

from pathlib import Path

import numpy as np
import pytest

from discmri.errors import MapError
from discmri.io import Volume, load_volume
from discmri.measure import measure

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"
KEY = "sub-01_ses-baseline"


@pytest.fixture(scope="module")
def images():
    t2w = load_volume(SAMPLE / f"sub-01/ses-baseline/anat/{KEY}_T2w.nii.gz")
    labels = load_volume(SAMPLE / f"derivatives/labels/sub-01/ses-baseline/anat/{KEY}_dseg.nii.gz")
    truth = SAMPLE / "derivatives/truth/sub-01/ses-baseline"
    t2 = load_volume(truth / f"{KEY}_desc-truth_T2map.nii.gz", allow_nonfinite=True)
    adc = load_volume(truth / f"{KEY}_desc-truth_ADC.nii.gz", allow_nonfinite=True)
    return t2w, labels, t2, adc


def scaled(vol, factor, **meta):
    return Volume(vol.data * factor, vol.affine, meta)


def test_right_maps_are_accepted(images):
    t2w, labels, t2, adc = images
    table = measure(t2w, labels, t2map=scaled(t2, 1.0), adcmap=scaled(adc, 1.0)).table
    assert table.np_t2_ms.between(30, 300).all() and table.np_adc_mm2_s.between(1e-3, 3e-3).all()


@pytest.mark.parametrize("case, needle", [
    ("t2 in seconds", "looks like seconds"),
    ("adc x1000", "looks like 10⁻³ mm²/s"),
    ("adc in m2/s", "looks like m²/s"),
    ("t2w as t2", "acquired image"),
    ("t2w as t2, no sidecar", "is the T2-weighted image"),
    ("all nan", "no finite value"),
    ("off the spine", "does not overlap the labelled spine"),
    ("units in sidecar", "Units 's'"),
])
def test_wrong_maps_are_refused(images, case, needle):
    t2w, labels, t2, adc = images
    shifted = t2.affine.copy()
    shifted[2, 3] += 500.0
    kwargs = {
        "t2 in seconds": {"t2map": scaled(t2, 1e-3)},
        "adc x1000": {"adcmap": scaled(adc, 1e3)},
        "adc in m2/s": {"adcmap": scaled(adc, 1e-6)},
        "t2w as t2": {"t2map": t2w},
        "t2w as t2, no sidecar": {"t2map": Volume(t2w.data, t2w.affine)},
        "all nan": {"t2map": Volume(np.full(t2.shape, np.nan), t2.affine)},
        "off the spine": {"t2map": Volume(t2.data, shifted)},
        "units in sidecar": {"t2map": scaled(t2, 1e-3, sidecar={"Units": "s"})},
    }[case]
    with pytest.raises(MapError, match=needle):
        measure(t2w, labels, **kwargs)


def test_a_map_covering_some_discs_notes_the_others(images):
    t2w, labels, t2, _ = images
    data = np.array(t2.data)
    data[:, :, : data.shape[2] // 2] = np.nan  # the caudal half of the field of view
    part = Volume(data, t2.affine, {"sidecar": {"Units": "ms"}})
    table = measure(t2w, labels, t2map=part).table.set_index("level")
    assert table.np_t2_ms.notna().any() and table.np_t2_ms.isna().any()
