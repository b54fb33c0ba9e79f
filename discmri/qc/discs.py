"""Quality-control figures of the measurements: each disc's mid-sagittal plane with its edges.

Needs matplotlib (``pip install "discmri[qc]"``, :mod:`discmri.plotting`). Figures are returned
as PNG bytes, so that callers write them with the rest of their files.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from ..geometry import sample_world
from ..morphometry.structure import StructureGeometry
from ..plotting import new_figure, png_bytes

if TYPE_CHECKING:
    from ..measure import Measurement
    from ..volume import Volume

__all__ = ["disc_figure", "disc_plane", "disc_qc_figures", "show_plane"]


def disc_figure(
    image: np.ndarray,
    affine: np.ndarray,
    disc: StructureGeometry,
    *,
    vertebrae: Mapping[str, StructureGeometry] | None = None,
    title: str | None = None,
    step_mm: float = 0.2,
    dpi: int = 110,
    roi_erosion_mm: float = 0.5,
    np_height_fraction: float = 0.6,
    t2map: tuple[np.ndarray, np.ndarray] | None = None,
) -> bytes:
    """PNG of the disc's mid-sagittal plane, resliced in its frame, with measurements drawn.

    Drawn: the endplate edges found on each profile line (orange; interpolated where the image
    did not resolve them in magenta; label boundaries in red), the heights at the reported
    positions (cyan), the AP margins and five-segment boundaries (dashed), the eroded regions,
    and the adjacent vertebral body edges when given.

    Parameters
    ----------
    image : (X, Y, Z) ndarray
        The image the disc was measured on.
    affine : (4, 4) ndarray
    disc : StructureGeometry
    vertebrae : mapping of str to StructureGeometry, optional
        Measured vertebral bodies (their edges are drawn when in view).
    title : str, optional
    step_mm : float
        Pixel size of the reslice, mm.
    dpi : int
    roi_erosion_mm, np_height_fraction : float
        Region settings drawn (:func:`discmri.regions.disc_regions`): the eroded disc (lime) and
        the nucleus region (magenta), for voxels of the image's size.
    t2map : (ndarray, (4, 4) ndarray), optional
        A T2 map (ms) and its affine, on any grid: drawn below, resliced in the same plane
        over the image, with its colour scale.

    Returns
    -------
    bytes
        PNG image.
    """
    frame = disc.frame
    p, q, plane = disc_plane(image, affine, disc, step_mm=step_mm)
    rows = 1 if t2map is None else 2
    fig = new_figure(6.4, rows * (6.4 * len(q) / len(p) + 0.6), dpi=dpi)
    ax = fig.add_subplot(rows, 1, 1)
    show_plane(ax, p, q, plane)
    if t2map is not None:
        _draw_t2(fig.add_subplot(rows, 1, 2), p, q, plane, disc, *t2map)
    kinds = ((~disc.from_labels & ~disc.interpolated, "orange"), (disc.interpolated, "magenta"),
             (disc.from_labels, "red"))
    for edge in (disc.lower, disc.upper):
        for which, colour in kinds:
            ax.plot(disc.p[which], edge[which], ".", ms=1.5, color=colour)
    for f, h in zip(disc.positions, disc.heights, strict=True):
        at = disc.position_p(f)
        k = int(np.argmin(np.abs(disc.p - at)))
        if np.isfinite(h):
            mid = 0.5 * (disc.lower[k] + disc.upper[k])
            ax.plot([at, at], [mid - h / 2, mid + h / 2], color="cyan", lw=1.5)
            ax.text(at, mid + h / 2 + 1.0, f"{h:.2f}", color="cyan", ha="center", fontsize=7)
    for k in range(6):
        at = disc.anterior - k * disc.depth / 5
        ax.axvline(at, color="yellow" if k in (0, 5) else "lime", lw=0.6, ls="--")
    _draw_regions(ax, disc, affine, roi_erosion_mm, np_height_fraction)
    if vertebrae:
        for vb in vertebrae.values():
            world = vb.frame.to_world(np.repeat(vb.p, 2), np.ravel([vb.lower, vb.upper], "F"))
            lp, lq, _ = frame.to_local(world)
            keep = (lp > p[0]) & (lp < p[-1]) & (lq > q[0]) & (lq < q[-1])
            ax.plot(lp[keep], lq[keep], ".", ms=1.0, color="deepskyblue")
    ax.set_xlabel("AP position in the disc frame, mm (anterior left)")
    ax.set_ylabel("along the endplate normal, mm")
    ax.set_title(title or disc.name, fontsize=9)
    return png_bytes(fig, bbox_inches="tight")


def _draw_t2(ax, p, q, plane, disc: StructureGeometry, t2: np.ndarray,
             affine: np.ndarray) -> None:
    """The T2 map resliced in the disc's plane, over the grey image, with its scale in ms."""
    pp, qq = np.meshgrid(p, q, indexing="xy")
    values = sample_world(np.asarray(t2, dtype=np.float64), affine, disc.frame.to_world(pp, qq))
    show_plane(ax, p, q, plane)
    shown = np.ma.masked_invalid(np.where(values > 0, values, np.nan))
    image = ax.imshow(shown, cmap="magma", origin="lower", vmin=0.0, vmax=200.0, alpha=0.7,
                      extent=(p[0], p[-1], q[0], q[-1]))
    ax.set_xlim(p[-1], p[0])  # anterior left, as above
    ax.figure.colorbar(image, ax=ax, label="T2 (ms)", shrink=0.8)
    ax.set_title("T2 map in the same plane", fontsize=9)
    ax.set_xlabel("AP position in the disc frame, mm (anterior left)")


def disc_plane(image: np.ndarray, affine: np.ndarray, disc: StructureGeometry, *,
               margin_mm: tuple[float, float] = (12.0, 14.0),
               step_mm: float = 0.2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The disc's mid-sagittal plane resliced in its frame.

    Parameters
    ----------
    image : (X, Y, Z) ndarray
    affine : (4, 4) ndarray
    disc : StructureGeometry
    margin_mm : (float, float)
        Extent beyond the disc along AP and along the endplate normal, mm.
    step_mm : float
        Pixel size, mm.

    Returns
    -------
    p, q : 1-D ndarray
        AP and normal positions of the pixels, mm in the disc frame.
    plane : (len(q), len(p)) ndarray
        Image values (linear interpolation; NaN outside the image).
    """
    p = np.arange(disc.posterior - margin_mm[0], disc.anterior + margin_mm[0], step_mm)
    q = np.arange(np.nanmin(disc.lower) - margin_mm[1], np.nanmax(disc.upper) + margin_mm[1],
                  step_mm)
    pp, qq = np.meshgrid(p, q, indexing="xy")
    return p, q, sample_world(image, affine, disc.frame.to_world(pp, qq))


def show_plane(ax, p: np.ndarray, q: np.ndarray, plane: np.ndarray) -> None:
    """Draw a :func:`disc_plane` in grey, anterior to the left (as sagittal images face)."""
    finite = plane[np.isfinite(plane)]
    vmax = float(np.percentile(finite, 99.5)) if finite.size else 1.0
    ax.imshow(plane, cmap="gray", origin="lower", vmin=0, vmax=vmax,
              extent=(p[0], p[-1], q[0], q[-1]))
    ax.invert_xaxis()


def _draw_regions(ax, disc: StructureGeometry, affine, erosion_mm: float, fraction: float) -> None:
    spacing = np.sort(np.linalg.norm(np.asarray(affine)[:3, :3], axis=0))[:2]
    margin = 0.5 * float(np.hypot(*spacing)) + erosion_mm
    p = np.linspace(disc.posterior + margin, disc.anterior - margin, 200)
    ok_low, ok_up = np.isfinite(disc.lower), np.isfinite(disc.upper)
    low = np.interp(p, disc.p[ok_low], disc.lower[ok_low]) + margin
    up = np.interp(p, disc.p[ok_up], disc.upper[ok_up]) - margin
    ax.plot(np.r_[p, p[::-1], p[:1]], np.r_[low, up[::-1], low[:1]], color="lime", lw=0.8)
    frac = (disc.anterior - p) / disc.depth
    core = (frac >= 0.2) & (frac <= 0.8)
    mid, half = 0.5 * (low + up + 0.0), 0.5 * fraction * (up - low + 2 * margin)
    top, bottom = np.minimum(mid + half, up), np.maximum(mid - half, low)
    pc = p[core]
    ax.plot(np.r_[pc, pc[::-1], pc[:1]], np.r_[bottom[core], top[core][::-1], bottom[core][:1]],
            color="magenta", lw=0.8)


def disc_qc_figures(result: Measurement, t2w: Volume, *, name: str = "",
                    t2map: Volume | None = None) -> dict[str, bytes]:
    """One QC figure (PNG bytes) per measured disc.

    Each shows the disc's mid-sagittal plane with the edges, heights, segments and regions
    drawn (:func:`disc_figure`).

    Parameters
    ----------
    result : Measurement
        :func:`discmri.measure.measure` of for ``t2w``.
    t2w : Volume
        The T2-weighted image that was measured.
    name : str
        Participant and session, put before the level in each title.
    t2map : Volume, optional
        A T2 map (ms, any grid), drawn below each disc in the same plane.

    Returns
    -------
    dict of str to bytes
        By disc level. Needs matplotlib (the ``qc`` extra).
    """
    morph = result.morphometry
    rows = result.table.set_index("level")
    figures = {}
    for level, disc in morph.discs.items():
        row = rows.loc[level]
        title = (f"{f'{name} ' if name else ''}{level}: heights {row.height_anterior_mm:.2f} / "
                 f"{row.height_middle_mm:.2f} / {row.height_posterior_mm:.2f} mm, depth "
                 f"{row.ap_depth_mm:.1f} mm")
        near = {k: v for k, v in morph.vertebrae.items() if k in level.split("-")}
        figures[level] = disc_figure(
            t2w.data, t2w.affine, disc, vertebrae=near, title=title,
            t2map=None if t2map is None else (t2map.data, t2map.affine))
    return figures
