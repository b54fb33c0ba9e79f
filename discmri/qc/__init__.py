"""Quality-control figures, one place for all: what was measured, graded and segmented, drawn.

Every figure is PNG bytes (matplotlib through :mod:`discmri.plotting`; the ``qc`` extra):

- :func:`disc_qc_figures` — one per disc: its mid-sagittal plane in the disc frame with the
  edges found, the heights, the margins, the five segments and the regions
  (:func:`disc_figure` draws one);
- :func:`grade_figure` — the grade suggestions with the regions their evidence came from;
- :func:`segmentation_figure` — a segmented or completed label map on its image.
"""

from .discs import disc_figure, disc_plane, disc_qc_figures, show_plane
from .grades import grade_figure
from .segmentation import segmentation_figure

__all__ = ["disc_figure", "disc_plane", "disc_qc_figures", "grade_figure", "segmentation_figure",
           "show_plane"]
