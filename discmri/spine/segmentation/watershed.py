"""From the cut column to label regions: marker watershed in the straightened slices.

Each body and disc found on the profile seeds a marker in its core (the middle of its SI
extent, away from the canal and the anterior margin); the canal side, the tissue in front of
the column and the stretches beyond it seed background. A watershed on the gradient
magnitude of the straightened slice grows the markers to the edges between them, so the
boundaries follow the endplates and the anterior cortex at the image's own contrast. The
straightened labels are mapped back to the slice's pixels through the nearest point of the
centre line.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree
from skimage.segmentation import watershed

from .column import ColumnSegment, Straightened

__all__ = ["anterior_margin", "departure", "disc_lines", "label_slice", "margin_line",
           "posterior_margin", "slice_lookup", "to_slice"]

_BACKGROUND = 1


def _body_core(st: Straightened, seg: ColumnSegment) -> np.ndarray:
    """Rows of a body's central 40 % (all its rows when that holds none)."""
    core = (st.s >= seg.start + 0.3 * seg.length) & (st.s <= seg.stop - 0.3 * seg.length)
    return core if core.any() else (st.s >= seg.start) & (st.s <= seg.stop)


def anterior_margin(st: Straightened, seg: ColumnSegment, t0: float, level: float) -> float:
    """Anterior offset (mm) where a body's marrow ends.

    On the body's AP profile (median over its central rows, relative to marrow): the first
    offset beyond 10 mm in front of the canal where it departs from the marrow level by half
    — darker prevertebral muscle, or fat brighter than a red marrow; else the first dark dip
    below 0.75 (the anterior cortex and ligament, in front of tissue as bright as marrow);
    else the steepest fall.

    Parameters
    ----------
    st : Straightened
    seg : ColumnSegment
        A body.
    t0 : float
        Anterior border of the canal, mm.
    level : float
        Marrow intensity.
    """
    core = _body_core(st, seg)
    valid = st.valid[core].all(axis=0)
    q = np.median(st.image[core], axis=0) / max(level, 1e-6)
    q = ndimage.gaussian_filter1d(q, 1.0 / (st.t[1] - st.t[0]))
    idx = np.flatnonzero((st.t >= t0 + 10.0) & (st.t <= t0 + 60.0) & valid)
    if idx.size < 3:
        return float(t0 + 30.0)
    out = np.flatnonzero(np.abs(q[idx] - 1.0) > 0.5)
    if out.size:
        return float(st.t[idx[out[0]]])
    dips = [k for k in range(1, idx.size - 1)
            if q[idx[k]] < 0.75 and q[idx[k]] <= q[idx[k - 1]] and q[idx[k]] <= q[idx[k + 1]]]
    if dips:
        return float(st.t[idx[dips[0]]])
    return float(st.t[idx[int(np.argmin(np.gradient(q[idx])))]])


def posterior_margin(st: Straightened, seg: ColumnSegment, t0: float, level: float) -> float:
    """Posterior offset (mm) where a body's marrow begins, in front of the canal.

    On the body's AP profile (median over its central rows, relative to marrow), from the
    darkest point within 8 mm in front of the canal (the cortex, the ligament, the epidural
    space) forwards: where it rises halfway from that point to the marrow.
    """
    q = np.median(st.image[_body_core(st, seg)], axis=0) / max(level, 1e-6)
    idx = np.flatnonzero((st.t >= t0) & (st.t <= t0 + 8.0))
    if idx.size < 2:
        return float(t0)
    low = idx[int(np.argmin(q[idx]))]
    half = 0.5 * (q[low] + 1.0)
    ahead = np.flatnonzero((st.t > st.t[low]) & (st.t <= t0 + 15.0))
    rise = ahead[q[ahead] >= half]
    return float(st.t[rise[0]]) if rise.size else float(t0)


def margin_line(st: Straightened, segments: list[ColumnSegment], margins: list[float]
                ) -> np.ndarray:
    """A margin of the column per arc length, mm.

    Body margins at body centres, interpolated between them (a disc is as deep as its
    neighbours).
    """
    at = [(seg.centre, f) for seg, f in zip(segments, margins, strict=True)
          if seg.kind == "body" and np.isfinite(f)]
    if not at:
        return np.full(len(st.s), np.nanmedian(margins))
    centres, values = zip(*at, strict=True)
    return np.interp(st.s, centres, values)


def departure(st: Straightened, level: np.ndarray) -> np.ndarray:
    """``min(|I / marrow − 1|, 0.5)`` of the lightly smoothed straightened slice, closed.

    Where a bright nucleus meets a dark annulus the signal passes through the marrow's level,
    drawing a thin ring of zero departure around the nucleus; a grey closing over 2.5 mm
    fills it (a body is far wider), so the ring does not wall the annulus off from its
    nucleus.
    """
    smooth = ndimage.gaussian_filter(st.image.astype(np.float64), 1.0)
    dep = np.minimum(np.abs(smooth / np.maximum(level, 1e-6)[:, None] - 1.0), 0.5)
    size = max(3, int(round(2.5 / (st.s[1] - st.s[0]))) | 1)
    return ndimage.grey_closing(dep, size=(size, size))


def disc_lines(st: Straightened, segments: list[ColumnSegment], level: np.ndarray,
               wall: np.ndarray, front: np.ndarray) -> list[tuple[float, float, float] | None]:
    """The mid-plane of each disc across the column's depth, as a line ``s(t)``.

    The profile gave each disc's SI stretch in a strip behind the column; a wedged disc (the
    lumbosacral one under lordosis) lies at another arc length at the front. In every depth
    column the disc is where the departure from marrow, averaged over the disc's height, is
    largest near that stretch; a line fitted through those points (twice, dropping points
    more than 2 mm off) is its mid-plane, its slope at most 1 (45°).

    Returns
    -------
    list
        Per segment: ``(s_ref, slope, t_ref)`` for a disc, so that ``s = s_ref + slope ·
        (t − t_ref)``; None for the others.
    """
    dep = departure(st, level)
    step = st.s[1] - st.s[0]
    lines: list[tuple[float, float, float] | None] = []
    for seg in segments:
        if seg.kind != "disc":
            lines.append(None)
            continue
        rows = np.flatnonzero((st.s >= seg.start - 8.0) & (st.s <= seg.stop + 8.0))
        in_seg = (st.s >= seg.start) & (st.s <= seg.stop)
        lo = float(np.median(wall[in_seg])) + 2.0 if in_seg.any() else st.t[0]
        hi = float(np.median(front[in_seg])) - 2.0 if in_seg.any() else st.t[-1]
        cols = np.flatnonzero((st.t >= lo) & (st.t <= hi))
        t_ref = 0.5 * (lo + hi)
        if rows.size < 3 or cols.size < 4:
            lines.append((seg.centre, 0.0, t_ref))
            continue
        box = max(1, int(round(seg.length / step)))
        avg = ndimage.uniform_filter1d(dep[rows][:, cols], box, axis=0, mode="nearest")
        best = st.s[rows][np.argmax(avg, axis=0)]
        tt = st.t[cols]
        keep = np.ones(tt.size, bool)
        slope, inter = 0.0, seg.centre
        for _ in range(2):
            if keep.sum() < 4:
                break
            slope, inter = np.polyfit(tt[keep] - t_ref, best[keep], 1)
            keep = np.abs(best - (inter + slope * (tt - t_ref))) <= 2.0
        slope = float(np.clip(slope, -1.0, 1.0))
        lines.append((float(inter), slope, t_ref))
    return lines


def label_slice(st: Straightened, segments: list[ColumnSegment], keys: list[int],
                t0: float, front: np.ndarray, present: list[bool],
                wall: np.ndarray | None = None, level: np.ndarray | None = None,
                lines: list[tuple[float, float, float] | None] | None = None) -> np.ndarray:
    """Watershed labels of one straightened slice.

    The watershed runs on the gradient of the departure from marrow,
    ``min(|I / marrow − 1|, 0.5)``: a bright nucleus and a dark annulus are alike in it, so
    the only edge left between a body and its disc is the endplate, wherever the nucleus
    lies. The posterior wall and anterior margin lines bound the discs, which meet the
    ligaments and prevertebral tissue there without an edge of their own.

    Parameters
    ----------
    st : Straightened
    segments : list of ColumnSegment
        Bodies and discs (and outside stretches), caudal first.
    keys : list of int
        Output label per segment (0: leave as background).
    t0 : float
        Anterior border of the canal, mm.
    front : (S,) ndarray
        Anterior margin of the column in this slice per arc length, mm
        (:func:`margin_line`).
    present : list of bool
        Whether each segment is seen in this slice.
    wall : (S,) ndarray, optional
        Posterior wall per arc length (:func:`margin_line` of the bodies'
        :func:`posterior_margin` in the mid-sagittal slice): nothing is labelled behind it.
        Without it, nothing behind ``t0 - 1.5`` mm.
    level : (S,) ndarray, optional
        Marrow intensity per arc length (the running median of the column profile); the
        median of the slice's column when omitted.
    lines : list, optional
        The discs' mid-planes (:func:`disc_lines`): disc markers follow them, and body
        markers lie between them, so a wedged disc's marker stays out of its bodies. Without
        them, markers are bands across the depth at the profile's stretches.

    Returns
    -------
    (S, T) int32 ndarray
        ``keys`` values, 0 elsewhere.
    """
    s, t = st.s[:, None], st.t[None, :]
    back = t0 if wall is None else np.maximum(wall[:, None] - 0.25, t0)
    allowed = st.valid & (t >= back) & (t <= front[:, None] + 0.5)
    markers = np.zeros(st.image.shape, np.int32)
    markers[~allowed] = _BACKGROUND
    if lines is None:
        lines = [(seg.centre, 0.0, 0.0) if seg.kind == "disc" else None for seg in segments]
    plane = [None if ln is None else ln[0] + ln[1] * (t - ln[2]) for ln in lines]
    for i, (seg, key, here) in enumerate(zip(segments, keys, present, strict=True)):
        in_s = (s >= seg.start) & (s < seg.stop)
        if seg.kind == "outside" or not key or not here:
            if seg.kind == "outside" or not here:
                markers[np.broadcast_to(in_s & (t > t0 + 1.0), markers.shape)] = _BACKGROUND
            continue
        if seg.kind == "body":
            core_t = (t >= np.maximum(back, t0) + 3.0) & (t <= np.maximum(
                t0 + 4.0, front[:, None] - 4.0))
            half = max(0.5, 0.3 * seg.length)
            lower = seg.centre - half + 0.0 * t
            upper = seg.centre + half + 0.0 * t
            if i > 0 and plane[i - 1] is not None:  # above the disc below, with a margin
                lower = np.maximum(lower, plane[i - 1] + segments[i - 1].length / 2 + 2.0)
            if i + 1 < len(segments) and plane[i + 1] is not None:
                upper = np.minimum(upper, plane[i + 1] - segments[i + 1].length / 2 - 2.0)
            core_s = (s >= lower) & (s <= upper)
        else:  # the disc's whole depth along its mid-plane: annulus and nucleus as one
            half = max(0.5, 0.2 * seg.length)
            core_t = (t >= back + 0.5) & (t <= front[:, None] - 3.0)
            core_s = np.abs(s - plane[i]) <= half
        markers[core_s & core_t & allowed] = key + 1 + _BACKGROUND
    if level is None:
        level = np.full(len(st.s), float(np.median(st.image[allowed])) if allowed.any()
                        else 1.0)
    elevation = ndimage.gaussian_gradient_magnitude(departure(st, level), 0.7)
    # behind the posterior wall lie the canal in the middle slices and the pedicles
    # laterally, in front of the margin the prevertebral tissue: never a body or disc
    out = watershed(elevation, markers, mask=st.valid)
    out = np.where((out > _BACKGROUND) & allowed, out - 1 - _BACKGROUND, 0)
    slopes = [abs(ln[1]) if ln is not None else 0.0 for ln in lines]
    return _tidy(out.astype(np.int32), st, segments, keys, slopes)


def _tidy(labels: np.ndarray, st: Straightened, segments: list[ColumnSegment],
          keys: list[int], slopes: list[float]) -> np.ndarray:
    """Keep each label near its own stretch of the column, without thin spurs.

    A region may reach half its height (at least 2 mm) beyond the stretch the profile gave
    it, more where it or a neighbour is a wedged disc (its slope times 30 mm); an opening of
    1 mm radius removes strips a flood left along a dark ligament, and only the largest
    piece is kept.
    """
    step = st.s[1] - st.s[0]
    radius = max(1, int(round(1.0 / step)))
    ball = np.hypot(*np.mgrid[-radius:radius + 1, -radius:radius + 1]) <= radius
    out = np.zeros_like(labels)
    for i, (seg, key) in enumerate(zip(segments, keys, strict=True)):
        if not key:
            continue
        mask = labels == key
        if not mask.any():
            continue
        tilt = max(slopes[max(0, i - 1):i + 2])
        reach = max(2.0, 0.5 * seg.length) + 30.0 * tilt
        rows = (st.s >= seg.start - reach) & (st.s <= seg.stop + reach)
        mask &= rows[:, None]
        if not mask.any():
            continue
        # the opening and the pieces, within the label's box and a margin of the ball:
        # beyond it all is 0 either way, so the result is the same, at a fraction of the cost
        box = tuple(slice(max(0, int(i.min()) - radius - 1), int(i.max()) + radius + 2)
                    for i in np.nonzero(mask))
        part = ndimage.binary_opening(mask[box], ball)
        pieces, n = ndimage.label(part)
        if n > 1:
            sizes = ndimage.sum(part, pieces, index=np.arange(1, n + 1))
            part = pieces == 1 + int(np.argmax(sizes))
        region = out[box]
        region[part & (region == 0)] = key
    return out


def slice_lookup(st: Straightened, shape: tuple[int, int], spacing_yz: np.ndarray
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Straightened sample of each pixel of the slice (nearest centre-line point).

    The lookup depends only on the centre line, so every sheet straightened along the same
    canal path shares it.

    Returns
    -------
    ok : (Y·Z,) bool ndarray
        Pixels that fall inside the straightened grid.
    si, ti : (Y·Z,) int ndarray
        Their row (``s``) and column (``t``) in the straightened image.
    """
    yy, zz = np.meshgrid(np.arange(shape[0]) * spacing_yz[0], np.arange(shape[1]) * spacing_yz[1],
                         indexing="ij")
    pts = np.stack([yy.ravel(), zz.ravel()], axis=1)
    lo = st.t[0]
    hi = st.t[-1]
    # pixels further than the grid reaches are not searched (cKDTree returns inf for them)
    dist, k = cKDTree(st.points).query(pts, distance_upper_bound=hi + 5.0)
    k = np.where(np.isfinite(dist), k, 0)
    d = pts - st.points[k]
    tt = np.einsum("ij,ij->i", d, st.normals[k])
    tan = np.stack([-st.normals[k, 1], st.normals[k, 0]], axis=1)
    ss = st.s[k] + np.einsum("ij,ij->i", d, tan)
    step = st.s[1] - st.s[0]
    si = np.rint((ss - st.s[0]) / step).astype(int)
    ti = np.rint((tt - lo) / (st.t[1] - st.t[0])).astype(int)
    ok = (si >= 0) & (si < len(st.s)) & (tt >= lo) & (tt <= hi) & (dist < hi + 5.0)
    return ok, si, ti


def to_slice(st: Straightened, labels: np.ndarray, shape: tuple[int, int],
             spacing_yz: np.ndarray,
             lookup: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Map straightened labels back to the pixels of the slice (nearest centre-line point).

    ``lookup`` is :func:`slice_lookup` of the same centre line, computed when omitted.
    """
    ok, si, ti = slice_lookup(st, shape, spacing_yz) if lookup is None else lookup
    out = np.zeros(ok.size, np.int32)
    out[ok] = labels[si[ok], ti[ok]]
    return out.reshape(shape)
