"""Finding the spine: the canal's path and midline, and the column cut into levels."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ...errors import GeometryError
from .canal import air_behind, band_score, best_path, fat_behind
from .column import ColumnSegment, Straightened, cut_column, relative_profile, straighten
from .sagittal import SagittalFrame
from .watershed import anterior_margin

__all__ = ["MIN_CANAL_SCORE", "STRIP_MM", "Column", "air_level", "body_marrow", "canal_front",
           "column_on", "column_quality", "find_column", "n_discs", "normalised", "sac_ends",
           "sheet"]

#: Strip of the column whose SI profile is cut, mm in front of the canal's anterior border.
STRIP_MM = (2.0, 14.0)
#: Least mean band score of the canal path (relative to the image's bright level).
MIN_CANAL_SCORE = 0.12
#: Band across the canal path read for the CSF's signal, mm (posterior −, anterior +).
SAC_BAND_MM = (-8.0, 4.0)
#: Candidate canal paths tried, and how far apart they are kept, mm.
N_CANDIDATES = 4
APART_MM = 12.0
#: Fraction of a candidate's rows with fat behind it (:func:`~.canal.fat_behind`) that tells
#: the canal from the subcutaneous fat.
FAT_BEHIND = 0.3
#: How far in front of a column's anterior margin a band in front of it lies, mm (the
#: prevertebral fat and vessels run along the bodies' front, a few mm thick).
AT_MARGIN_MM = (0.0, 15.0)
#: Least distance from the canal to a band in front of its column, mm: an adult lumbar
#: vertebral body is 25 mm deep or more (Panjabi et al., Spine 1992;17(3):299–306).
BODY_DEPTH_MM = 25.0
#: Share of the best column's quality that a column behind it needs to be taken instead.
AS_GOOD = 0.7


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

    The canal's band score of every slice is projected to its maximum over the slices. The
    best path through that projection is one candidate; the next best paths, kept
    :data:`APART_MM` clear of those before, are the others, since subcutaneous fat and
    bowel also make long bright bands (brighter against the muscle in front of them than CSF
    against the vertebral bodies). Along each candidate a quadratic in z through the
    score-weighted mean slice is the midline, so a patient rolled or a spine curved to one
    side is followed from slice to slice; the midline sheet is straightened along the path
    and the strip in front of it cut into bodies and discs. The canal is the candidate with
    the largest product of its band score and its column's :func:`column_quality`: bright
    CSF with a column of discs between bodies in front of it, where fat has muscle in front
    and the tissue in front of the column has no regular discs. When no path's sheet shows a
    column, the three best single slices are tried.
    """
    sp = frame.spacing[1:]
    n_x, _, n_z = img.shape
    scores, widths = [], []
    air_below = air_level(img)
    for x in range(n_x):
        air = ndimage.binary_opening(img[x] < air_below, iterations=2)
        score, width = band_score(img[x], sp, air)
        scores.append(score)
        widths.append(width)
    score3, width3 = np.stack(scores), np.stack(widths)
    top = score3.max(axis=0)
    cols = np.arange(n_z)
    forbid = np.zeros(top.shape, bool)
    near = max(1, int(round(APART_MM / sp[0])))
    candidates = []
    for _ in range(N_CANDIDATES):
        path = best_path(top, sp, forbid=forbid)
        score = float(np.mean(top[path, cols]))
        for dz, y in enumerate(path):
            forbid[max(0, y - near):y + near + 1, dz] = True
        if score < MIN_CANAL_SCORE:
            break
        along = score3[:, path, cols]  # (X, Z)
        midline = _midline(along)
        width = float(np.median(width3[along.argmax(axis=0), path, cols]))
        candidates.append(column_on(sheet(img, midline), midline, path, width, score, sp))
    if not any(n_discs(c.segments) for c in candidates):
        # no sheet along a path shows a column: the three best single slices
        single = sorted(range(n_x), key=lambda x: -float(
            np.mean(score3[x][best_path(score3[x], sp), cols])))[:3]
        for x in single:
            p = best_path(score3[x], sp)
            sc = float(np.mean(score3[x][p, cols]))
            if sc >= MIN_CANAL_SCORE:
                candidates.append(column_on(img[x], np.full(n_z, x), p,
                                            float(np.median(width3[x][p, cols])), sc, sp))
    # the candidate with the most band and column together, once subcutaneous fat is left out
    kept = _not_under_skin(candidates, img)
    best = max(kept, key=lambda c: c.score * column_quality(c.segments), default=None)
    if best is not None:
        best = _behind_the_column(best, kept)
    if best is None or n_discs(best.segments) == 0:
        raise GeometryError(
            "no spine found: no bright canal with a column of vertebral bodies and discs in "
            "front of it (is this a sagittal T2-weighted image of the spine?)")
    return best


def _not_under_skin(candidates: list[Column], img: np.ndarray) -> list[Column]:
    """Leave out the rearmost candidates that are subcutaneous fat.

    The canal has muscle and then subcutaneous fat behind it; the subcutaneous fat, however
    thick, only skin and then air (:func:`~.canal.fat_behind`, :func:`~.canal.air_behind`).
    While the rearmost candidate has air behind it on most rows and fat on less than
    :data:`FAT_BEHIND` of them, and a candidate in front of it has fat behind it on more,
    with a column at least half as good, the rearmost is dropped. Where the image shows no
    such layering (a crop without the skin, or muscle as bright as fat), nothing is dropped.
    """
    kept = sorted(candidates, key=lambda c: float(np.mean(c.path)))  # rearmost first
    below = air_level(img)
    layers = []
    for c in kept:
        mid = sheet(img, c.midline)
        layers.append((fat_behind(mid, c.path, c.spacing_yz),
                       air_behind(mid < below, c.path, c.spacing_yz)))
    while len(kept) > 1 and layers[0][0] < FAT_BEHIND and layers[0][1] > 0.5 and any(
            fat >= FAT_BEHIND and column_quality(c.segments) >= 0.5 * column_quality(
                kept[0].segments) for c, (fat, _) in zip(kept[1:], layers[1:], strict=True)):
        kept, layers = kept[1:], layers[1:]
    return kept


def _behind_the_column(best: Column, candidates: list[Column]) -> Column:
    """The canal rather than the band in front of the column it lies behind.

    Prevertebral fat and vessels make a bright band in front of the vertebral bodies, with
    a column cut from the tissues in front of it; the canal lies behind the same bodies.
    When the nearest candidate behind the best one has a column nearly as good
    (:data:`AS_GOOD` of its quality, half its band score), at least a body's depth behind
    (:data:`BODY_DEPTH_MM`), and whose bodies' anterior margin lies just behind the best
    one (:data:`AT_MARGIN_MM`), the best was the band in front of that column, and the one
    behind it is the canal.
    """
    dy = float(best.spacing_yz[0])
    here = float(np.mean(best.path)) * dy
    behind = [c for c in candidates if float(np.mean(c.path)) * dy < here]
    if not behind:
        return best
    near = max(behind, key=lambda c: float(np.mean(c.path)))
    gap = here - float(np.mean(near.path)) * dy
    margin = _column_margin(near)
    if (gap >= BODY_DEPTH_MM
            and column_quality(near.segments) >= AS_GOOD * column_quality(best.segments)
            and near.score >= 0.5 * best.score
            and AT_MARGIN_MM[0] <= gap - margin <= AT_MARGIN_MM[1]):
        return near
    return best


def body_marrow(col: Column) -> float:
    """The marrow's signal: the median over the column's bodies of their strip's median."""
    st, t0 = col.straight, col.front
    strip = (st.t >= t0 + STRIP_MM[0]) & (st.t <= t0 + STRIP_MM[1])
    return float(np.median([np.median(st.image[(st.s >= s.start) & (st.s < s.stop)][
        :, strip]) for s in col.segments if s.kind == "body"]))


def _column_margin(col: Column) -> float:
    """Median anterior margin of a column's bodies, mm in front of its path (NaN: none)."""
    bodies = [s for s in col.segments if s.kind == "body"]
    if not bodies:
        return float("nan")
    marrow = body_marrow(col)
    return float(np.median([anterior_margin(col.straight, s, col.front, marrow)
                            for s in bodies]))


def air_level(img: np.ndarray) -> float:
    """Signal below which a voxel is air, relative to the image's bright level.

    0.04 for a magnitude image, whose floor (its 2nd percentile, the noise in air) lies
    under 0.1 of its bright level; an image whose floor lies higher — 8-bit images scaled per
    scan may carry an offset of 0.1–0.3 in air — has air below its floor plus 0.05.
    """
    floor = float(np.percentile(img, 2.0))
    return 0.04 if floor < 0.1 else floor + 0.05


def _midline(along: np.ndarray) -> np.ndarray:
    """Slice per row: a quadratic in z through the score-weighted mean slice along a path.

    A roll or a lateral curve is followed without the row-to-row jitter that would make the
    sheet hop between slices; a spine within one slice keeps one slice.
    """
    n_x, n_z = along.shape
    cols = np.arange(n_z)
    weight = np.clip(along - 0.5 * along.max(axis=0), 0.0, None)
    total = weight.sum(axis=0)
    centre = (weight * np.arange(n_x)[:, None]).sum(axis=0) / np.maximum(total, 1e-9)
    zz = (cols - cols.mean()) / max(1.0, float(n_z))
    fit = np.polynomial.polynomial.polyfit(zz, centre, 2, w=np.sqrt(total) + 1e-9)
    centre = np.polynomial.polynomial.polyval(zz, fit)
    if np.ptp(centre) < 1.0:
        centre = np.full(n_z, np.median(centre))
    return np.clip(np.rint(centre).astype(int), 0, n_x - 1)


def column_quality(segs: list[ColumnSegment]) -> float:
    """How much a cut profile looks like a spine: its discs between two bodies, by contrast.

    Each disc with a body on both sides counts up to 1, in proportion to its departure from
    the marrow (:attr:`ColumnSegment.contrast`, full at 0.25 and above): muscle or bowel in
    front of a bright band may be cut into alternating stretches too, but not into discs that
    stand out from bodies of even signal.
    """
    q = 0.0
    for a, b, c in zip(segs[:-2], segs[1:-1], segs[2:], strict=True):
        if a.kind == "body" and b.kind == "disc" and c.kind == "body":
            q += min(1.0, b.contrast / 0.25)
    return q


def n_discs(segs: list[ColumnSegment]) -> int:
    """Discs with a body on both sides."""
    n = 0
    for a, b, c in zip(segs[:-2], segs[1:-1], segs[2:], strict=True):
        n += a.kind == "body" and b.kind == "disc" and c.kind == "body"
    return n


def sac_ends(col: Column) -> tuple[float | None, tuple[float, ...]]:
    """Where the thecal sac ends, and the ends of the shorter runs of CSF below it.

    Returns the arc length (mm) where the sac ends (None: its CSF reaches the lower edge),
    and the caudal ends of the shorter runs below it, nearest first.

    Along the canal path the CSF is bright; the fat of the sacral canal below the sac is about
    0.6 of it on T2-weighted FSE. The canal's signal at each arc length is the 80th percentile
    across :data:`SAC_BAND_MM` around the path — the path may run along the front of the
    CSF, where every disc bulge would dip a profile taken on the path itself. CSF is where
    that signal stays above 0.75 of its median for at least 10 mm; the thecal sac is the
    longest such stretch, and it ends at its caudal end (a bright stretch below it, such as
    fat near the coccyx, is not the sac).

    The lower ends are where the sac may end instead when its longest run was dimmed at its
    lower end by a stenosis or the crowded roots of the cauda equina
    (:func:`~.naming.name_levels` tries them when the count is contradicted).
    """
    st = col.straight
    band = (st.t >= SAC_BAND_MM[0]) & (st.t <= SAC_BAND_MM[1])
    c = np.percentile(st.image[:, band], 80, axis=1)
    csf = ndimage.binary_opening(c > 0.75 * np.median(c), np.ones(int(10 / (st.s[1] - st.s[0]))))
    if not csf.any():
        return None, ()
    runs, n = ndimage.label(csf)
    sizes = ndimage.sum(csf, runs, index=np.arange(1, n + 1))
    longest = 1 + int(np.argmax(sizes))
    starts = [int(np.argmax(runs == k)) for k in range(1, n + 1)]
    lower = tuple(float(st.s[starts[k - 1]]) for k in range(longest - 1, 0, -1)
                  if st.s[starts[k - 1]] >= 5.0)
    first = starts[longest - 1]
    if st.s[first] < 5.0:
        return None, ()
    return float(st.s[first]), lower
