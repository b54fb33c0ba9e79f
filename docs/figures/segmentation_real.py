"""Make docs/_static/segmentation_real.png: discmri segment on three real SPIDER slices.

SPIDER mid-sagittal T2w slices (van der Graaf et al., Sci Data 2024; CC-BY 4.0), as kept in
``../shared/data/spider-slices`` (not shipped with discmri), segmented as a user runs it
(levels counted from the sacrum): one where every graded disc is found and named, one
whose count is two levels high (its names still match four graded levels, which is why the
benchmark's count of names is no check of position), and one refused with its reason. Run
from the repository root with the shared data beside it:

    python docs/figures/segmentation_real.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

SPIDER = Path(__file__).resolve().parents[3] / "shared" / "data" / "spider-slices"
CASES = ("spider-006", "spider-002", "spider-008")


def main() -> None:
    import textwrap

    import pandas as pd
    from _panels import join_panels

    from discmri.io import load_volume
    from discmri.qc import segmentation_figure
    from discmri.spine.segmentation import segment_spine

    grades = pd.read_csv(SPIDER / "spider_grades.tsv", sep="\t")
    panels = []
    for case in CASES:
        image = load_volume(SPIDER / f"{case}_T2w.nii.gz")
        graded = set(grades.level[grades.case == case])
        try:
            seg = segment_spine(image)
            labels = seg.labels
            title = (f"{case}: {len(graded & set(seg.levels))} of {len(graded)} graded "
                     "discs named")
        except ValueError as exc:
            labels = image.with_data(np.zeros(image.spatial_shape, np.int16))
            title = f"{case}: refused — " + str(exc).split(":")[0]
        panels.append(segmentation_figure(image, labels, title="\n".join(
            textwrap.wrap(title, 48))))
    join_panels(panels, Path(__file__).resolve().parents[1] / "_static" /
                "segmentation_real.png", across=True)


if __name__ == "__main__":
    main()
