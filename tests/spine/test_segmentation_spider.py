"""SPIDER mid-sagittal slices with radiologists' levels (../shared/data/spider-slices).

One test module of its own, so that the test runner can run it beside the 3-D scans of
test_segmentation_real.py.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from discmri.errors import ParameterError
from discmri.io import load_volume
from discmri.spine.segmentation import segment_spine

SPIDER = Path(__file__).resolve().parents[3] / "shared" / "data" / "spider-slices"

# CI has ../shared/data beside the clone: there a missing folder fails instead of skipping
pytestmark = pytest.mark.skipif(not SPIDER.is_dir() and not os.environ.get("CI"),
                                reason="../shared/data/spider-slices not found (outside CI)")


@pytest.mark.slow
def test_spider_slices_are_segmented_or_refused_with_a_reason():
    """Every one of the 100 SPIDER mid-sagittal slices (one-slice volumes, 1.5 and 3 T,
    several vendors) is segmented, or refused with the options that name its levels; none
    fails otherwise. The graded discs found and named are counted against the radiologists'
    levels: measured 54.7 % (382 of 698); 52.1 % before bodies were judged against their
    neighbours' marrow rather than the whole column's, 47.7 % before a count contradicted by lumbar
    discs below the end of the sac was retried from a lower end of CSF, 41 % before the
    subcutaneous fat and the band in front of the column were told from the canal, 22 %
    when the sac was the lowest run of CSF on the path; the issue's target 95 %."""
    import pandas as pd

    grades = pd.read_csv(SPIDER / "spider_grades.tsv", sep="\t")
    hit = total = 0
    for case, rows in grades.groupby("case"):
        image = load_volume(SPIDER / f"{case}_T2w.nii.gz")
        try:
            got = set(segment_spine(image).levels)
        except ParameterError as exc:
            assert "--hint-l5s1" in str(exc) and "--level-range" in str(exc), (case, str(exc))
            got = set()
        hit += len(set(rows.level) & got)
        total += len(rows)
    assert total == 698
    assert hit / total >= 0.53, hit
