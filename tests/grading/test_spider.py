"""The grading assist on real slices: SPIDER mid-sagittal T2w with radiologists' grades.

Reads ../shared/data/spider-slices (CI has it; skipped elsewhere when absent): the first 40
slices, run as a user runs them (segment, measure, grade) and compared by level with the
SPIDER radiologists' Pfirrmann grades (van der Graaf et al., Sci Data 2024; CC-BY 4.0).
Figures for all 100 slices: ``benchmarks/bench_grading.py --spider`` (docs/grading.rst).

What holds today is modest, and these tests keep it from slipping: the nucleus-to-CSF ratio
carries the radiologists' order (measured Spearman ρ −0.39 on these 40 slices, 95 % patient
bootstrap −0.60 to −0.17; −0.34 on all 100), and half the graded discs are found and named
(135 of 280). A ratio taken in the wrong regions, or a broken CSF reference, gives ρ near 0.
"""

import os
import warnings
from pathlib import Path

import numpy as np
import pytest

SPIDER = Path(__file__).resolve().parents[3] / "shared" / "data" / "spider-slices"
if not SPIDER.is_dir() and not os.environ.get("CI"):
    pytest.skip(f"SPIDER slices not found at {SPIDER}", allow_module_level=True)

SLICES = 40


@pytest.fixture(scope="module")
def joined():
    """Our features and grades joined by case and level with the radiologists' grades."""
    import pandas as pd

    from discmri.grading import suggest_grades
    from discmri.io import load_volume
    from discmri.measure import measure
    from discmri.spine.segmentation import segment_spine

    grades = pd.read_csv(SPIDER / "spider_grades.tsv", sep="\t")
    cases = sorted(grades.case.unique())[:SLICES]
    rows = []
    for case in cases:
        image = load_volume(SPIDER / f"{case}_T2w.nii.gz")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                m = measure(image, segment_spine(image).labels, scheme="native")
                rows.append(suggest_grades(m, image).assign(case=case))
        except ValueError:  # a slice the segmentation cannot count (its reason is printed
            continue        # by the benchmark); its discs count as not found
    ours = pd.concat(rows, ignore_index=True)
    return grades[grades.case.isin(cases)].merge(ours, on=["case", "level"], how="left",
                                                 suffixes=("", "_ours"))


@pytest.mark.slow
def test_the_nucleus_to_csf_ratio_follows_the_radiologists_grades(joined):
    from scipy.stats import spearmanr

    found = joined[joined.np_csf_ratio.notna()]
    assert len(found) >= 100
    rho = spearmanr(found.np_csf_ratio, found.pfirrmann).statistic
    assert rho <= -0.2, rho


@pytest.mark.slow
def test_half_the_graded_discs_are_found_named_and_graded(joined):
    graded = joined.pfirrmann_ours.fillna("").astype(str).str.len() > 0
    # measured 126 of 280 (45 %) graded, 135 found and named
    assert graded.mean() >= 0.4, graded.mean()
    values = {"I": 1, "II": 2, "III": 3, "IV": 4, "V": 5}
    ours = joined.pfirrmann_ours[graded].map(values).to_numpy()
    assert np.isin(ours, [1, 2, 3, 4, 5]).all()
