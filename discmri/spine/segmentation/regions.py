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

__all__ = ["anterior_margin", "label_slice", "to_slice"]

_BACKGROUND = 1


def anterior_margin(st: Straightened, seg: ColumnSegment, t0: float, level: float) -> float:
    """Anterior offset (mm) where a body's marrow ends: the steepest fall of its AP profile.

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
    core = (st.s >= seg.start + 0.3 * seg.length) & (st.s <= seg.stop - 0.3 * seg.length)
    if not core.any():
        core = (st.s >= seg.start) & (st.s <= seg.stop)
    q = np.median(st.image[core], axis=0) / max(level, 1e-6)
    q = ndimage.gaussian_filter1d(q, 1.0 / (st.t[1] - st.t[0]))
    search = (st.t >= t0 + 10.0) & (st.t <= t0 + 60.0)
    idx = np.flatnonzero(search)
    inside = q[idx] > 0.5
    # first sustained drop below half the marrow level
    out = np.flatnonzero(~inside)
    if out.size == 0:
        return float(st.t[idx[-1]])
    return float(st.t[idx[out[0]]])


def label_slice(st: Straightened, segments: list[ColumnSegment], keys: list[int],
                t0: float, fronts: list[float], present: list[bool]) -> np.ndarray:
    """Watershed labels of one straightened slice.

    Parameters
    ----------
    st : Straightened
    segments : list of ColumnSegment
        Bodies and discs (and outside stretches), caudal first.
    keys : list of int
        Output label per segment (0: leave as background).
    t0 : float
        Anterior border of the canal, mm.
    fronts : list of float
        Anterior margin per segment, mm.
    present : list of bool
        Whether each segment is seen in this slice.

    Returns
    -------
    (S, T) int32 ndarray
        ``keys`` values, 0 elsewhere.
    """
    s, t = st.s[:, None], st.t[None, :]
    markers = np.zeros(st.image.shape, np.int32)
    markers[np.broadcast_to(t < t0 - 1.5, markers.shape)] = _BACKGROUND
    for seg, key, front, here in zip(segments, keys, fronts, present, strict=True):
        in_s = (s >= seg.start) & (s < seg.stop)
        markers[np.broadcast_to(in_s & (t > front + 4.0), markers.shape)] = _BACKGROUND
        if seg.kind == "outside" or not key or not here:
            if seg.kind == "outside" or not here:
                markers[np.broadcast_to(in_s & (t > t0 + 1.0), markers.shape)] = _BACKGROUND
            continue
        frac = 0.3 if seg.kind == "body" else 0.25
        half = max(0.5, frac * seg.length)
        core_s = (s >= seg.centre - half) & (s <= seg.centre + half)
        core_t = (t >= t0 + 3.0) & (t <= max(t0 + 4.0, front - 4.0))
        markers[core_s & core_t] = key + 1 + _BACKGROUND
    smooth = ndimage.gaussian_filter(st.image.astype(np.float64), 1.0)
    elevation = ndimage.gaussian_gradient_magnitude(smooth, 0.7)
    # behind the posterior wall (the canal's anterior border) lie the canal in the middle
    # slices and the pedicles laterally, never a body or disc
    out = watershed(elevation, markers, mask=st.valid & np.broadcast_to(t >= t0 - 1.5,
                                                                         markers.shape))
    out = np.where(out > _BACKGROUND, out - 1 - _BACKGROUND, 0)
    return out.astype(np.int32)


def to_slice(st: Straightened, labels: np.ndarray, shape: tuple[int, int],
             spacing_yz: np.ndarray) -> np.ndarray:
    """Map straightened labels back to the pixels of the slice (nearest centre-line point)."""
    yy, zz = np.meshgrid(np.arange(shape[0]) * spacing_yz[0], np.arange(shape[1]) * spacing_yz[1],
                         indexing="ij")
    pts = np.stack([yy.ravel(), zz.ravel()], axis=1)
    lo = st.t[0]
    hi = st.t[-1]
    dist, k = cKDTree(st.points).query(pts)
    d = pts - st.points[k]
    tt = np.einsum("ij,ij->i", d, st.normals[k])
    tan = np.stack([-st.normals[k, 1], st.normals[k, 0]], axis=1)
    ss = st.s[k] + np.einsum("ij,ij->i", d, tan)
    step = st.s[1] - st.s[0]
    si = np.rint((ss - st.s[0]) / step).astype(int)
    ti = np.rint((tt - lo) / (st.t[1] - st.t[0])).astype(int)
    ok = (si >= 0) & (si < len(st.s)) & (tt >= lo) & (tt <= hi) & (dist < hi + 5.0)
    out = np.zeros(len(pts), np.int32)
    out[ok] = labels[si[ok], ti[ok]]
    return out.reshape(shape)
