"""A QC figure of the grade suggestions: each disc with the regions its evidence came from.

Needs matplotlib (``pip install "discmri[qc]"``). One panel per disc: its mid-sagittal plane
in the disc frame with the regions whose signals were compared drawn as they were used
(nucleus magenta, outer annulus yellow, CSF cyan; the strip searched for CSF dashed when the
map has no canal label), the suggestion with its confidence and runner-up, and the ratios
behind it.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from ..geometry import sample_world
from ..plotting import new_figure, png_bytes
from .discs import disc_plane, show_plane

if TYPE_CHECKING:
    import pandas as pd

    from ..measure import Measurement
    from ..volume import Volume

__all__ = ["grade_figure"]

#: Region drawn, its colour.
_COLOURS = {"np": "magenta", "outer_annulus": "yellow", "csf": "cyan"}


def _fmt(value, spec: str = ".2f") -> str:
    value = float(value)
    return format(value, spec) if math.isfinite(value) else "n/a"


def grade_figure(measurement: Measurement, t2w: Volume, grades: pd.DataFrame, *,
                 levels: list[str] | None = None, columns: int = 4, dpi: int = 100,
                 name: str = "", title: str | None = None) -> bytes:
    """PNG with one panel per graded disc: the image, the regions compared, the suggestion.

    Parameters
    ----------
    measurement : Measurement
        :func:`discmri.measure` of ``t2w``.
    t2w : Volume
        The T2-weighted image.
    grades : pandas.DataFrame
        :func:`~discmri.grading.suggest_grades` of the measurement.
    levels : list of str, optional
        Discs to show (all graded discs by default).
    columns : int
        Panels per row.
    dpi : int
    name : str
        Participant and session, put before the default title.
    title : str, optional
        Figure title (by default ``name`` and the colour key; ``""`` for none).

    Returns
    -------
    bytes
        PNG image.
    """
    data = np.asarray(t2w.data, dtype=np.float64)
    rows = grades.set_index("level")
    shown = [n for n in (levels or rows.index) if n in measurement.morphometry.discs]
    ncol = max(1, min(columns, len(shown)))
    nrow = max(1, math.ceil(len(shown) / ncol))
    fig = new_figure(3.4 * ncol, 2.0 * nrow + 0.4, dpi=dpi)
    regions = measurement.regions["t2w"].regions
    for k, level in enumerate(shown):
        ax = fig.add_subplot(nrow, ncol, k + 1)
        disc = measurement.morphometry.discs[level]
        p, q, plane = disc_plane(data, t2w.affine, disc, margin_mm=(16.0, 8.0), step_mm=0.25)
        show_plane(ax, p, q, plane)
        pp, qq = np.meshgrid(p, q, indexing="xy")
        world = disc.frame.to_world(pp, qq)
        for region, colour in _COLOURS.items():
            found = regions.get((level, region))
            if found is None or not found.mask.any():
                continue
            full = np.zeros(data.shape)
            full[found.box] = found.mask
            inside = sample_world(full, t2w.affine, world)
            if np.nanmax(inside) >= 0.5:
                ax.contour(p, q, np.nan_to_num(inside), levels=[0.5], colors=colour,
                           linewidths=0.8)
        row = rows.loc[level]
        if str(row.get("csf_reference", "")).startswith("image"):
            lower = float(np.interp(disc.posterior, disc.p, disc.lower))
            upper = float(np.interp(disc.posterior, disc.p, disc.upper))
            q0, q1 = lower + 0.2 * (upper - lower), lower + 0.8 * (upper - lower)
            p0, p1 = disc.posterior - 14.0, disc.posterior - 1.0
            ax.plot([p0, p1, p1, p0, p0], [q0, q0, q1, q1, q0], color="cyan", lw=0.8,
                    ls="--")
        ax.set_title(f"{level}: Griffith {row.griffith or 'n/a'} ({_fmt(row.confidence)}, "
                     f"runner-up {row.runner_up or '-'}), Pfirrmann {row.pfirrmann or 'n/a'}",
                     fontsize=7)
        ax.set_xlabel(f"NP/CSF {_fmt(row.np_csf_ratio)}, NP/fat {_fmt(row.np_fat_ratio)}, "
                      f"NP/outer AF {_fmt(row.np_outer_af_ratio)}, height loss "
                      f"{_fmt(row.height_loss_pct, '.0f')} %", fontsize=6.5)
        ax.tick_params(labelsize=5)
    if not shown:
        ax = fig.add_subplot(1, 1, 1)
        ax.text(0.5, 0.5, "no graded disc", ha="center", va="center")
        ax.set_axis_off()
    if title is None:
        title = (f"{f'{name}: ' if name else ''}Grade suggestions (anterior left; magenta "
                 "nucleus, yellow outer annulus, cyan CSF)")
    if title:
        fig.suptitle(title, fontsize=8)
    fig.tight_layout()
    return png_bytes(fig)
