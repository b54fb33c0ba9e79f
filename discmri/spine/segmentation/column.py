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

* body: squared deviation from its own mean (against the spread of marrow-like samples,
  :func:`body_spread`) and of its mean from the marrow level 1;
* disc: squared deviation from its own mean (any brightness, bright or dark), weighed less
  than in a body, since a disc holds a bright nucleus between dark endplates; plus a cost
  per sample within 15 % of the marrow's level (marrow is no disc, and a disc that took in
  the edge of a body would be too tall);
* outside: a fixed cost per mm, above what a column fits but below alternating bodies and
  discs forced onto muscle;
* every segment: a fixed cost, so noise does not split bodies.

Lengths are bounded by the spine's own level spacing (:func:`level_period`, the first peak
of the profile's autocorrelation: about 20 mm in the neck, 35–40 mm in the lumbar spine):
bodies 0.5–1.2 periods (within 8–50 mm), discs 2 mm to 0.45 periods (at most 16 mm).
Segments cut by the edge of the field of view may be shorter, and the lowest body, which holds
the sacrum, longer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

__all__ = ["ColumnSegment", "Straightened", "cut_column", "level_period", "marrow_level",
           "relative_profile", "straighten"]

STEP_MM = 0.5
BODY_MM = (8.0, 50.0)
SACRUM_MAX_MM = 90.0
DISC_MM = (2.0, 16.0)
PERIOD_MM = (15.0, 60.0)
_FLAT = 2.0
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
               t_range: tuple[float, float] = (-20.0, 90.0), smooth_mm: float = 6.0,
               order: int = 1) -> Straightened:
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
    order : int
        Interpolation order (0 for label maps).

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
    image = ndimage.map_coordinates(slice_, coords, order=order, mode="nearest")
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
    contrast : float
        Mean absolute departure from the marrow level, ``|p - 1|``, of the half of the
        segment that departs most: high for a disc whether it is dark, bright, or a bright
        nucleus between dark endplates (whose mean can equal the marrow's), and not diluted
        when the segment took in the edges of its bodies.
    """

    kind: str
    start: float
    stop: float
    level: float
    truncated: bool = False
    contrast: float = 0.0

    @property
    def length(self) -> float:
        """SI extent along the canal, mm."""
        return self.stop - self.start

    @property
    def centre(self) -> float:
        """Arc length of the middle, mm."""
        return 0.5 * (self.start + self.stop)


def marrow_level(profile: np.ndarray, window_mm: float = 80.0) -> np.ndarray:
    """Running 70th percentile of a column profile: the marrow's level under a bias field.

    Bodies fill about three quarters of the column; the discs' dark annulus and endplates,
    which pull a median down on real images, and their bright nuclei, which stay above it,
    each fill less than the remaining quarter-plus.
    """
    size = max(3, int(round(window_mm / STEP_MM)) | 1)
    level = ndimage.percentile_filter(np.asarray(profile, float), 70, size=size, mode="nearest")
    top = np.nanmax(level)
    return np.where(level > 0, level, top if top > 0 else 1.0)


def relative_profile(profile: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """A column profile over the marrow's level, with that level and the level spacing.

    The level spacing is first found on the profile over an 80 mm running median; the
    marrow's level is then the running median over 1.5 level spacings (at least 30 mm), short
    enough to follow a strong coil-sensitivity falloff and long enough that bodies, about three
    quarters of the column, set the median.

    Returns
    -------
    p : (S,) ndarray
        Profile over the marrow's level.
    level : (S,) ndarray
        The marrow's level.
    period : float
        Level spacing, mm (:func:`level_period`).
    """
    profile = np.asarray(profile, float)
    period = level_period(profile / marrow_level(profile))
    level = marrow_level(profile, max(30.0, 1.5 * period))
    return profile / level, level, period


def level_period(p: np.ndarray) -> float:
    """Level spacing of a relative profile, mm: the highest autocorrelation peak in 15–60 mm.

    Parameters
    ----------
    p : (S,) ndarray
        Profile over the marrow level, sampled every :data:`STEP_MM`.

    Returns
    -------
    float
        The period, mm; 35 (a lumbar level) when the profile shows none.
    """
    x = np.asarray(p, float) - np.median(p)
    n = len(x)
    lags = np.arange(int(PERIOD_MM[0] / STEP_MM), min(int(PERIOD_MM[1] / STEP_MM), n // 2))
    if lags.size < 3:
        return 35.0
    denom = float(np.dot(x, x)) or 1.0
    ac = np.array([np.dot(x[:-k], x[k:]) for k in lags]) / denom
    peaks = [i for i in range(1, len(ac) - 1) if ac[i] >= ac[i - 1] and ac[i] >= ac[i + 1]]
    if not peaks or ac[max(peaks, key=lambda i: ac[i])] <= 0.05:
        return 35.0
    return float(lags[max(peaks, key=lambda i: ac[i])] * STEP_MM)


def body_spread(p: np.ndarray) -> float:
    """Tolerated spread of a body's profile, relative to marrow.

    1.5 robust SDs of the marrow-like samples (above 0.8), at least 0.12: real marrow is
    textured and its bias field is not flat within a body; a phantom's is smooth.
    """
    body = p[p > 0.8]
    if body.size < 10:
        return _TAU_WITHIN
    mad = float(np.median(np.abs(body - np.median(body))))
    return max(_TAU_WITHIN, 1.5 * 1.4826 * mad)


def cut_column(p: np.ndarray, period: float | None = None) -> list[ColumnSegment]:
    """Cut a relative profile into outside, body and disc segments (dynamic programming).

    Parameters
    ----------
    p : (S,) ndarray
        Profile over the marrow level, sampled every :data:`STEP_MM` from caudal to cranial.
    period : float, optional
        Level spacing, mm (:func:`level_period` of ``p`` when omitted).

    Returns
    -------
    list of ColumnSegment
        Caudal to cranial; outside segments only first or last.
    """
    p = np.asarray(p, dtype=np.float64)
    period = level_period(p) if period is None else float(period)
    body_mm = (max(BODY_MM[0], 0.5 * period), min(BODY_MM[1], 1.2 * period))
    disc_mm = (DISC_MM[0], min(DISC_MM[1], 0.45 * period))
    n = len(p)
    c1 = np.concatenate([[0.0], np.cumsum(p)])
    c2 = np.concatenate([[0.0], np.cumsum(p * p)])
    dev = np.abs(p - 1.0)

    def contrast(i: int, j: int) -> float:
        top = np.sort(dev[i:j])[(j - i) // 2:]
        return float(top.mean()) if top.size else 0.0

    # marrow-likeness of each sample: 1 at the marrow level, 0 beyond 15 % from it
    cm = np.concatenate([[0.0], np.cumsum(np.maximum(0.0, 1.0 - np.abs(p - 1.0) / 0.15))])
    w2, b2 = body_spread(p) ** 2, _TAU_BODY ** 2

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
        return sse / _TAU_DISC ** 2 + _FLAT * (cm[j] - cm[i]) + _SEGMENT

    steps = lambda mm: max(1, int(round(mm / STEP_MM)))  # noqa: E731
    lim = {1: (steps(body_mm[0]), steps(body_mm[1])), 2: (steps(disc_mm[0]), steps(disc_mm[1]))}
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
                                  float(stats(j, n)[0]), True, contrast(j, n)))
    while j > 0 and k >= 0:
        i = int(start[k, j])
        kind = ("outside", "body", "disc")[k]
        trunc = (i == 0 and prev[k, j] == -1) or (j == n and not tail)
        segs.append(ColumnSegment(kind, i * STEP_MM, j * STEP_MM, float(stats(i, j)[0]), trunc,
                                  contrast(i, j)))
        if k == 0:
            break
        k, j = int(prev[k, j]), i
    return segs[::-1]
