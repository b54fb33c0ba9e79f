"""The column in front of the canal: straightened, cut into vertebral bodies and discs.

The slice is resampled along the canal's centre line (curved planar reformation): ``s`` runs
along the line (mm, inferior→superior), ``t`` along its anterior normal (mm). A strip of the
column just in front of the canal gives an SI profile in which vertebral bodies are long
stretches at the marrow's level and discs are short stretches of any other level — bright
when hydrated, dark when degenerated, dark at their cortical endplates either way. The profile
is divided by its running median (bodies are three quarters of the column, so that median is
the marrow's level under any smooth bias field), then cut by dynamic programming into
alternating body and disc segments, with leading and trailing "outside" segments for the
parts of the field of view beyond the column. Segment costs:

* body: squared deviation from its own mean and of its mean from the marrow level 1;
* disc: squared deviation from its own mean (any brightness), weighed less than in a body,
  since a disc holds a bright nucleus between dark endplates;
* outside: a fixed cost per mm, above what a column fits but below alternating bodies and
  discs forced onto muscle;
* every segment: a fixed cost, so noise does not split bodies.

Lengths are bounded by anatomy (bodies 8–50 mm, discs 2–20 mm; segments cut by the edge of the
field of view may be shorter, and the lowest body, which holds the sacrum, longer).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

__all__ = ["ColumnSegment", "Straightened", "cut_column", "straighten"]

STEP_MM = 0.5
BODY_MM = (8.0, 50.0)
SACRUM_MAX_MM = 90.0
DISC_MM = (2.0, 20.0)
_TAU_WITHIN = 0.12
_TAU_BODY = 0.25
_TAU_DISC = 0.6
_OUTSIDE = 4.0
_SEGMENT = 20.0


@dataclass(frozen=True, eq=False)
class Straightened:
    """A slice resampled along the canal.

    Attributes
    ----------
    image : (S, T) ndarray
        Intensities at arc length ``s`` and anterior offset ``t``.
    s, t : ndarray
        Sample positions, mm.
    points, normals : (S, 2) ndarray
        Centre-line points (y, z, mm) and unit anterior normals.
    valid : (S, T) bool ndarray
        Samples inside the image.
    """

    image: np.ndarray
    s: np.ndarray
    t: np.ndarray
    points: np.ndarray
    normals: np.ndarray
    valid: np.ndarray

    def to_pixels(self, s: np.ndarray, t: np.ndarray, spacing_yz: np.ndarray) -> np.ndarray:
        """Pixel (y, z) coordinates of straightened positions (s, t), mm → index."""
        k = np.interp(s, self.s, np.arange(len(self.s)))
        k0 = np.clip(np.floor(k).astype(int), 0, len(self.s) - 2)
        f = (k - k0)[..., None]
        p = self.points[k0] * (1 - f) + self.points[k0 + 1] * f
        n = self.normals[k0] * (1 - f) + self.normals[k0 + 1] * f
        n /= np.linalg.norm(n, axis=-1, keepdims=True)
        return (p + np.asarray(t)[..., None] * n) / spacing_yz


def straighten(slice_: np.ndarray, path_y: np.ndarray, spacing_yz: np.ndarray, *,
               t_range: tuple[float, float] = (-20.0, 90.0), smooth_mm: float = 6.0
               ) -> Straightened:
    """Resample a sagittal slice along a canal path.

    Parameters
    ----------
    slice_ : (Y, Z) ndarray
    path_y : (Z,) ndarray
        Canal centre (y index) per z; NaN rows are left out.
    spacing_yz : (2,) ndarray
        Pixel size, mm.
    t_range : (float, float)
        Anterior offsets sampled, mm.
    smooth_mm : float
        Gaussian smoothing of the centre line along z, mm.

    Returns
    -------
    Straightened
    """
    dy, dz = (float(v) for v in spacing_yz)
    rows = np.flatnonzero(np.isfinite(path_y))
    y = ndimage.gaussian_filter1d(path_y[rows] * dy, smooth_mm / dz, mode="nearest")
    z = rows * dz
    seg = np.hypot(np.diff(y), np.diff(z))
    arc = np.concatenate([[0.0], np.cumsum(seg)])
    s = np.arange(0.0, arc[-1], STEP_MM)
    pts = np.stack([np.interp(s, arc, y), np.interp(s, arc, z)], axis=1)
    tan = np.gradient(pts, axis=0)
    tan /= np.linalg.norm(tan, axis=1, keepdims=True)
    normals = np.stack([tan[:, 1], -tan[:, 0]], axis=1)  # +y (anterior) for a vertical line
    t = np.arange(t_range[0], t_range[1] + STEP_MM / 2, STEP_MM)
    xy = (pts[:, None, :] + t[None, :, None] * normals[:, None, :]) / np.array([dy, dz])
    coords = np.moveaxis(xy, -1, 0)
    image = ndimage.map_coordinates(slice_, coords, order=1, mode="nearest")
    shape = np.array(slice_.shape)[:, None, None]
    valid = ((coords >= 0) & (coords <= shape - 1)).all(axis=0)
    return Straightened(image.astype(np.float32), s, t, pts, normals, valid)


@dataclass(frozen=True)
class ColumnSegment:
    """One stretch of the column profile.

    Attributes
    ----------
    kind : {"body", "disc", "outside"}
    start, stop : float
        Arc length along the canal, mm (``start`` caudal).
    level : float
        Mean profile value relative to the marrow (1).
    truncated : bool
        Cut by the edge of the field of view.
    """

    kind: str
    start: float
    stop: float
    level: float
    truncated: bool = False

    @property
    def length(self) -> float:
        """SI extent along the canal, mm."""
        return self.stop - self.start

    @property
    def centre(self) -> float:
        """Arc length of the middle, mm."""
        return 0.5 * (self.start + self.stop)


def relative_profile(profile: np.ndarray, window_mm: float = 80.0) -> np.ndarray:
    """The profile over its running median (the marrow level under a smooth bias field)."""
    size = max(3, int(round(window_mm / STEP_MM)) | 1)
    level = ndimage.median_filter(profile, size=size, mode="nearest")
    level = np.where(level > 0, level, np.nanmax(level) if np.nanmax(level) > 0 else 1.0)
    return profile / level


def cut_column(p: np.ndarray) -> list[ColumnSegment]:
    """Cut a relative profile into outside, body and disc segments (dynamic programming).

    Parameters
    ----------
    p : (S,) ndarray
        Profile over the marrow level, sampled every :data:`STEP_MM` from caudal to cranial.

    Returns
    -------
    list of ColumnSegment
        Caudal to cranial; outside segments only first or last.
    """
    p = np.asarray(p, dtype=np.float64)  # cumulative sums of squares need the precision
    n = len(p)
    c1 = np.concatenate([[0.0], np.cumsum(p)])
    c2 = np.concatenate([[0.0], np.cumsum(p * p)])
    w2, b2 = _TAU_WITHIN ** 2, _TAU_BODY ** 2

    def stats(i, j):
        m = (c1[j] - c1[i]) / (j - i)
        sse = np.maximum(c2[j] - c2[i] - (j - i) * m * m, 0.0)
        return m, sse

    def cost(kind, i, j):
        m, sse = stats(i, j)
        if kind == 0:  # outside
            return _OUTSIDE * (j - i) * STEP_MM + _SEGMENT
        if kind == 1:  # body
            return sse / w2 + (j - i) * (m - 1.0) ** 2 / b2 + _SEGMENT
        return sse / _TAU_DISC ** 2 + _SEGMENT

    steps = lambda mm: max(1, int(round(mm / STEP_MM)))  # noqa: E731
    lim = {1: (steps(BODY_MM[0]), steps(BODY_MM[1])), 2: (steps(DISC_MM[0]), steps(DISC_MM[1]))}
    inf = np.inf
    # F[k, j]: best cost of [0, j) ending with a segment of kind k (0 leading outside,
    # 1 body, 2 disc); arg[k, j] = (start, previous kind)
    F = np.full((3, n + 1), inf)
    start = np.zeros((3, n + 1), int)
    prev = np.full((3, n + 1), -1, int)
    for j in range(1, n + 1):
        F[0, j] = cost(0, 0, j)
        for k in (1, 2):
            lo, hi = lim[k]
            if j == n:
                lo = 1
            if k == 1 and j == n:
                hi = steps(SACRUM_MAX_MM)
            ls = np.arange(lo, min(hi, j) + 1)
            if ls.size:
                i = j - ls
                other = 2 if k == 1 else 1
                before = np.minimum(F[other, i], F[0, i])
                pk = np.where(F[other, i] <= F[0, i], other, 0)
                c = before + cost(k, i, j)
                best = int(np.argmin(c))
                F[k, j], start[k, j], prev[k, j] = c[best], i[best], pk[best]
            # a first segment cut by the lower edge of the field of view
            first_hi = steps(SACRUM_MAX_MM) if k == 1 else hi
            if j <= first_hi:
                c0 = cost(k, 0, j)
                if c0 < F[k, j]:
                    F[k, j], start[k, j], prev[k, j] = c0, 0, -1
    # close: end with body, disc, or a trailing outside segment
    options = [(F[1, n], 1, n, None), (F[2, n], 2, n, None)]
    for k in (1, 2):
        i = np.arange(1, n)
        c = F[k, i] + _OUTSIDE * (n - i) * STEP_MM + _SEGMENT
        if c.size:
            b = int(np.argmin(c))
            options.append((c[b], k, int(i[b]), "tail"))
    _, k, j, tail = min(options, key=lambda o: o[0])
    segs: list[ColumnSegment] = []
    if tail:
        segs.append(ColumnSegment("outside", j * STEP_MM, n * STEP_MM,
                                  float(stats(j, n)[0]), True))
    while j > 0 and k >= 0:
        i = int(start[k, j])
        kind = ("outside", "body", "disc")[k]
        trunc = (i == 0 and prev[k, j] == -1) or (j == n and not tail)
        segs.append(ColumnSegment(kind, i * STEP_MM, j * STEP_MM, float(stats(i, j)[0]), trunc))
        if k == 0:
            break
        k, j = int(prev[k, j]), i
    return segs[::-1]
