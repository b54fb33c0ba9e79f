"""Segmentation assist: discs, vertebral bodies and canal from a sagittal T2-weighted image.

Classical image processing only (SciPy, scikit-image), offline, no learned weights:

1. :mod:`.sagittal` — check the image is sagittal and large enough; reorient to RAS.
2. :mod:`.canal` and :mod:`.locate` — the brightest band path through all rows of the
   slices' projected band scores is the canal; a quadratic through the slices where it is
   strongest is the midline.
3. :mod:`.column` — straighten the midline sheet along the canal, take the SI profile of the
   column in front of it, and cut it into bodies and discs by dynamic programming.
4. :mod:`.naming` — name the levels from where the thecal sac ends (the sacrum), a hint
   point, a given range, or a given label map.
5. :mod:`.watershed` and :mod:`.sheets` — grow each body and disc to its edges by marker
   watershed, sheet by sheet outwards from the midline while a body is seen; then the canal
   and the presacral fat.
6. :mod:`.segment` runs the steps; :mod:`.complete` completes a partial label map
   (:mod:`discmri.qc` draws a figure to check either).

The result is a native label map (:mod:`discmri.spine.levels`): vertebral bodies, discs
(annulus label; the nucleus region is laid out by :mod:`discmri.regions`) and the canal, with
a sidecar stating the method, its parameters and its confidence.
"""

from .complete import complete_labels
from .naming import parse_level_range
from .segment import Segmentation, segment_spine

__all__ = ["Segmentation", "complete_labels", "parse_level_range", "segment_spine"]
