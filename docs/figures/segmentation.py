"""Make docs/_static/segmentation.png: discmri segment on a phantom and on the real sample.

Left: a phantom with the tissues around the column (degenerated discs, lordosis; SNR 25,
bias field) — outlines from ``discmri segment``, levels counted from the sacrum. Right: the
real SPINEPS sample of TPTBox (cervical, 1.5 mm), levels from ``--level-range C5-C6..C6-C7``.
Run from the repository root (needs the test extra for the sample):

    python docs/figures/segmentation.py
"""

from __future__ import annotations

import importlib.util
from pathlib import Path


def main() -> None:
    from _panels import join_panels

    from discmri.io import load_volume
    from discmri.phantom.conditions import segmentation_phantom
    from discmri.qc import segmentation_figure
    from discmri.spine.segmentation import segment_spine

    sim = segmentation_phantom("lordosis", 21)
    seg = segment_spine(sim.t2w)
    panels = [segmentation_figure(sim.t2w, seg.labels, title="phantom: " + seg.sidecar[
        "levels"]["why"].split(":")[0])]
    folder = Path(importlib.util.find_spec("TPTBox").submodule_search_locations[0])
    image = load_volume(folder / "tests" / "sample_mri" / "sub-mri_label-6_T2w.nii.gz")
    real = segment_spine(image, levels="C5-C6..C6-C7")
    panels.append(segmentation_figure(image, real.labels,
                                      title="real SPINEPS sample, --level-range C5-C6..C6-C7"))
    join_panels(panels, Path(__file__).resolve().parents[1] / "_static" / "segmentation.png",
                across=True)


if __name__ == "__main__":
    main()
