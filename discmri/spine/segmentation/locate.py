"""Finding the spine: the canal's path and midline, and the column cut into levels."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ...errors import GeometryError
from .canal import band_score, best_path
from .column import ColumnSegment, Straightened, cut_column, relative_profile, straighten
from .frame import SagittalFrame

__all__ = ["MIN_CANAL_SCORE", "STRIP_MM", "Column", "canal_front", "column_on", "find_column",
           "n_discs", "normalised", "sac_end", "sheet"]

#: Strip of the column whose SI profile is cut, mm in front of the canal's anterior border.
STRIP_MM = (2.0, 14.0)
#: Least mean band score of the canal path (relative to the image's bright level).
MIN_CANAL_SCORE = 0.12


@dataclass(frozen=True, eq=False)
class Column:
    """The canal and the column in front of it, as found on the midline sheet.

    Attributes
    ----------
    midline : (Z,) int ndarray
        Slice of the canal's middle at each row.
    path : (Z,) int ndarray
        Canal path (y index) at each row.
    width_mm : float
        Band width of the canal path, mm.
    straight : Straightened
        The midline sheet straightened along the path.
    segments : list of ColumnSegment
        The column cut into bodies, discs and outside stretches, caudal first.
    score : float
        Mean band score of the path.
    spacing_yz : (2,) ndarray
        Pixel size, mm.
    level : (S,) ndarray
        The marrow's level along the column.
    period : float
        Level spacing, mm.
    front : float
        Anterior border of the canal's CSF, mm in front of the path.
    """

    midline: np.ndarray
    path: np.ndarray
    width_mm: float
    straight: Straightened
    segments: list[ColumnSegment]
    score: float
    spacing_yz: np.ndarray
    level: np.ndarray
    period: float
    front: float

    @property
    def slice_index(self) -> int:
        """The median mid-sagittal slice."""
        return int(np.median(self.midline))


def normalised(frame: SagittalFrame) -> np.ndarray:
    """The frame's data over its 99.5th percentile, smoothed in plane (0.7 mm)."""
    data = frame.data
    positive = data[data > 0]
    if positive.size == 0:
        raise GeometryError("the image is empty (no positive voxel): no spine to segment")
    bright = float(np.percentile(positive, 99.5))
    sigma = 0.7 / frame.spacing
    return ndimage.gaussian_filter(data / bright, (0, sigma[1], sigma[2]))


def sheet(img: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """The (Y, Z) image made of slice ``xs[z]`` at each row z (0 where that is outside)."""
    n_x, n_y, n_z = img.shape
    inside = (xs >= 0) & (xs < n_x)
    out = np.zeros((n_y, n_z), img.dtype)
    z = np.flatnonzero(inside)
    out[:, z] = img[xs[z], :, z].T
    return out


def column_on(image: np.ndarray, midline: np.ndarray, path: np.ndarray, width: float,
              score: float, sp: np.ndarray) -> Column:
    """Straighten a sheet (Y, Z) along a canal path and cut the column in front of it."""
    st = straighten(image, path.astype(float), sp)
    front = canal_front(st, width)
    strip = (st.t >= front + STRIP_MM[0]) & (st.t <= front + STRIP_MM[1])
    rel, level, period = relative_profile(np.median(st.image[:, strip], axis=1))
    return Column(midline, path, width, st, cut_column(rel, period), score, sp, level, period,
                   front)


def canal_front(st: Straightened, width: float) -> float:
    """Anterior border of the canal's CSF in front of the path, mm.

    Per row, the first offset from the path forwards where the signal falls below half the
    path's; the median over the rows where the path is in CSF. The band score's width is
    the fallback (the path may run along the canal's front edge or its middle).
    """
    on = st.image[:, np.argmin(np.abs(st.t))]
    rows = on >= np.percentile(on, 50)
    ahead = st.t >= 0
    below = st.image[:, ahead] < 0.5 * on[:, None]
    first = np.where(below.any(axis=1), np.argmax(below, axis=1), -1)
    ok = rows & (first >= 0)
    if ok.sum() < 10:
        return width / 2
    return float(np.median(st.t[ahead][first[ok]]))


def find_column(frame: SagittalFrame, img: np.ndarray) -> Column:
    """The canal and the column in front of it.

    The canal's band score of every slice is projected to its maximum over the slices; the
    best path through that projection is the canal in the (y, z) plane, and a quadratic in z
    through the score-weighted mean slice along it is the midline. So a patient rolled or a spine
    curved to one side is followed from slice to slice. When that sheet shows no column, the
    three best single slices are tried.
    """
    sp = frame.spacing[1:]
    n_x, _, n_z = img.shape
    scores, widths = [], []
    for x in range(n_x):
        air = ndimage.binary_opening(img[x] < 0.04, iterations=2)
        score, width = band_score(img[x], sp, air)
        scores.append(score)
        widths.append(width)
    score3, width3 = np.stack(scores), np.stack(widths)
    top = score3.max(axis=0)
    path = best_path(top, sp)
    cols = np.arange(n_z)
    along = score3[:, path, cols]  # (X, Z)
    weight = np.clip(along - 0.5 * along.max(axis=0), 0.0, None)
    total = weight.sum(axis=0)
    centre = (weight * np.arange(n_x)[:, None]).sum(axis=0) / np.maximum(total, 1e-9)
    # a quadratic in z through the weighted centres: a roll or a lateral curve, without the
    # row-to-row jitter that would make the sheet hop between slices
    zz = (cols - cols.mean()) / max(1.0, float(n_z))
    fit = np.polynomial.polynomial.polyfit(zz, centre, 2, w=np.sqrt(total))
    centre = np.polynomial.polynomial.polyval(zz, fit)
    if np.ptp(centre) < 1.0:  # a spine within one slice keeps one slice
        centre = np.full(n_z, np.median(centre))
    midline = np.clip(np.rint(centre).astype(int), 0, n_x - 1)
    score = float(np.mean(top[path, cols]))
    width = float(np.median(width3[along.argmax(axis=0), path, cols]))
    candidates = []
    if score >= MIN_CANAL_SCORE:
        candidates.append(column_on(sheet(img, midline), midline, path, width, score, sp))
    if not candidates or n_discs(candidates[0].segments) == 0:
        single = sorted(range(n_x), key=lambda x: -float(
            np.mean(score3[x][best_path(score3[x], sp), cols])))[:3]
        for x in single:
            p = best_path(score3[x], sp)
            sc = float(np.mean(score3[x][p, cols]))
            if sc >= MIN_CANAL_SCORE:
                candidates.append(column_on(img[x], np.full(n_z, x), p,
                                             float(np.median(width3[x][p, cols])), sc, sp))
    best = max(candidates, key=lambda c: n_discs(c.segments), default=None)
    if best is None or n_discs(best.segments) == 0:
        raise GeometryError(
            "no spine found: no bright canal with a column of vertebral bodies and discs in "
            "front of it (is this a sagittal T2-weighted image of the spine?)")
    return best


def n_discs(segs: list[ColumnSegment]) -> int:
    """Discs with a body on both sides."""
    n = 0
    for a, b, c in zip(segs[:-2], segs[1:-1], segs[2:], strict=True):
        n += a.kind == "body" and b.kind == "disc" and c.kind == "body"
    return n


def sac_end(col: Column) -> float | None:
    """Arc length where the canal's CSF ends (None: it reaches the lower edge).

    Along the canal path the CSF is bright; the fat of the sacral canal below the sac is about
    0.6 of it on T2-weighted FSE. The sac ends where the signal stays below 0.75 of its median
    over the path for at least 10 mm.
    """
    st = col.straight
    core = np.abs(st.t) <= 1.0
    c = np.median(st.image[:, core], axis=1)
    csf = ndimage.binary_opening(c > 0.75 * np.median(c), np.ones(int(10 / (st.s[1] - st.s[0]))))
    if not csf.any():
        return None
    first = int(np.argmax(csf))
    if st.s[first] < 5.0:
        return None
    return float(st.s[first])
