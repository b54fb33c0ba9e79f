"""Join PNG panels into one figure for the docs (side by side or stacked)."""

from __future__ import annotations

import io
from pathlib import Path


def join_panels(panels: list[bytes], out: Path, *, across: bool) -> None:
    """Write the PNG ``panels`` side by side (``across``) or one below the other, at 110 dpi."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.image import imread

    images = [imread(io.BytesIO(p), format="png") for p in panels]
    if across:
        width, height = sum(p.shape[1] for p in images), max(p.shape[0] for p in images)
    else:
        width, height = max(p.shape[1] for p in images), sum(p.shape[0] for p in images)
    fig = Figure(figsize=(width / 110, height / 110), dpi=110)
    FigureCanvasAgg(fig)
    left = top = 0
    for p in images:
        ax = fig.add_axes((left / width, 1 - (top + p.shape[0]) / height, p.shape[1] / width,
                           p.shape[0] / height))
        ax.imshow(p)
        ax.set_axis_off()
        if across:
            left += p.shape[1]
        else:
            top += p.shape[0]
    fig.savefig(out, dpi=110)
    print(f"wrote {out}")
