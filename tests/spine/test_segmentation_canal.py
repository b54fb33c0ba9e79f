"""The canal's band score (discmri.spine.segmentation.canal)."""

from __future__ import annotations

import numpy as np

from discmri.spine.segmentation.canal import band_score, best_path


def test_a_bright_band_scores_and_a_bright_edge_of_the_image_does_not():
    # 1 mm pixels, y posterior→anterior: a bright edge (a crop through fat) at y 0–5, a
    # bright 6 mm band (CSF) at y 40–45 with grey tissue (0.3) in front and behind
    image = np.full((120, 80), 0.3)
    image[:6] = 1.0
    image[40:46] = 1.0
    score, _ = band_score(image, np.array([1.0, 1.0]))
    assert np.isneginf(score[:6]).all()  # padded with itself, the edge scored as a band
    assert score[42:44].min() > 0.5 and score[6:36].max() < 0.2
    path = best_path(score, np.array([1.0, 1.0]))
    assert ((path >= 42) & (path <= 43)).all()
