"""Make docs/_static/segmentation.png: discmri segment on a phantom and on the real sample.

Left: a phantom with the tissues around the column (degenerated discs, lordosis; SNR 25,
bias field) — outlines from ``discmri segment``, levels counted from the sacrum. Right: the
real SPINEPS sample of TPTBox (cervical, 1.5 mm), levels from ``--levels C5-C6..C6-C7``.
Run from the repository root (needs the test extra for the sample):

    python docs/figures/segmentation.py
"""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path


def main() -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.image import imread

    from discmri.io import load_volume
    from discmri.phantom.conditions import segmentation_phantom
    from discmri.spine.segmentation import segment_spine
    from discmri.spine.segmentation.qc import segmentation_figure

    sim = segmentation_phantom("lordosis", 21)
    seg = segment_spine(sim.t2w)
    panels = [segmentation_figure(sim.t2w, seg.labels, title="phantom: " + seg.sidecar[
        "levels"]["why"].split(":")[0])]
    folder = Path(importlib.util.find_spec("TPTBox").submodule_search_locations[0])
    image = load_volume(folder / "tests" / "sample_mri" / "sub-mri_label-6_T2w.nii.gz")
    real = segment_spine(image, levels="C5-C6..C6-C7")
    panels.append(segmentation_figure(image, real.labels,
                                      title="real SPINEPS sample, --levels C5-C6..C6-C7"))
    images = [imread(io.BytesIO(p), format="png") for p in panels]
    height = max(p.shape[0] for p in images)
    width = sum(p.shape[1] for p in images)
    fig = Figure(figsize=(width / 110, height / 110), dpi=110)
    FigureCanvasAgg(fig)
    left = 0
    for p in images:
        ax = fig.add_axes((left / width, 1 - p.shape[0] / height, p.shape[1] / width,
                           p.shape[0] / height))
        ax.imshow(p)
        ax.set_axis_off()
        left += p.shape[1]
    out = Path(__file__).resolve().parents[1] / "_static" / "segmentation.png"
    fig.savefig(out, dpi=110)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
