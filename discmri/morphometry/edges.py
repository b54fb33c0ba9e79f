"""Sub-voxel edges on intensity profiles: half-level crossings between local plateaus.

Profiles are image samples along parallel lines (one row per line) at positions ``q``
(uniform, mm). For each line a coarse edge position ``guide`` is known (from the label map,
good to about half a voxel). The edge is placed where the profile crosses the level halfway
between the plateau on either side of the guide — the half-maximum crossing of an edge
spread function. Plateaus are robust (median) estimates over bands a fixed distance from the
guide, smoothed along neighbouring lines, so noise in one line's plateau does not move its
edge. With linearly interpolated samples of a box-sampled step the crossing is exact when the
edge lies at a voxel boundary or centre and errs by at most 0.086 voxel in between; noise adds
about σ·Δ/contrast per line before averaging.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

__all__ = ["band_levels", "band_mask", "endplate_line_edges", "first_edges", "half_level_edges",
           "label_edges", "robust_sd"]


def band_mask(q: np.ndarray, guide: np.ndarray, direction: int,
              band: tuple[float, float]) -> np.ndarray:
    """(L, K) samples at signed distance in ``band`` (mm) from the guide towards ``direction``.

    Lines whose guide is NaN have none.
    """
    d = direction * (q[None, :] - np.nan_to_num(guide, nan=np.inf)[:, None])
    return (d >= band[0]) & (d <= band[1])


def robust_sd(values: np.ndarray) -> float:
    """Standard deviation from the median absolute deviation (1.4826 · MAD, Gaussian noise)."""
    v = np.asarray(values)
    return float(1.4826 * np.median(np.abs(v - np.median(v))))


def band_levels(
    profiles: np.ndarray,
    q: np.ndarray,
    guide: np.ndarray,
    direction: int,
    band: tuple[float, float],
    *,
    valid: np.ndarray | None = None,
    smooth: int = 1,
    min_samples: int = 3,
) -> np.ndarray:
    """Median profile value per line over a band of distances from the guide.

    Parameters
    ----------
    profiles : (L, K) ndarray
    q : (K,) ndarray
        Sample positions along the lines, mm.
    guide : (L,) ndarray
        Coarse edge position per line (NaN: no edge).
    direction : {+1, -1}
        Side of the band: towards increasing (+1) or decreasing (−1) ``q``.
    band : (near, far)
        Distances from the guide, mm.
    valid : (L, K) bool ndarray, optional
        Samples allowed (e.g. those labelled as the expected structure).
    smooth : int
        Odd window (lines) of a running median across neighbouring lines; NaNs ignored.
    min_samples : int
        Fewer valid samples in the band give NaN.

    Returns
    -------
    (L,) ndarray
    """
    mask = band_mask(q, guide, direction, band)
    if valid is not None:
        mask &= valid
    vals = np.where(mask, profiles, np.nan)
    enough = np.sum(mask & np.isfinite(profiles), axis=1) >= min_samples
    level = np.full(len(profiles), np.nan)
    if enough.any():
        level[enough] = np.nanmedian(vals[enough], axis=1)
    if smooth > 1:
        pad = smooth // 2
        padded = np.pad(level, pad, constant_values=np.nan)
        windows = np.lib.stride_tricks.sliding_window_view(padded, smooth)
        has = np.isfinite(windows).any(axis=1)
        out = np.full_like(level, np.nan)
        out[has] = np.nanmedian(windows[has], axis=1)
        level = np.where(np.isfinite(level), out, np.nan)
    return level


def half_level_edges(
    profiles: np.ndarray,
    q: np.ndarray,
    guide: np.ndarray,
    inner: np.ndarray,
    outer: np.ndarray,
    *,
    search_mm: float,
    min_contrast: float,
) -> np.ndarray:
    """Sub-voxel edge per line: the crossing of ``(inner + outer)/2`` nearest the guide.

    Parameters
    ----------
    profiles : (L, K) ndarray
    q : (K,) ndarray
        Uniform sample positions, mm.
    guide : (L,) ndarray
        Coarse edge per line, mm (NaN: no edge).
    inner, outer : (L,) ndarray
        Plateau levels on the two sides.
    search_mm : float
        Crossings further than this from the guide are not considered.
    min_contrast : float
        Lines with ``|inner − outer|`` below this give NaN.

    Returns
    -------
    (L,) ndarray
        Edge positions, mm; NaN where no crossing was found or the contrast is too low.
    """
    level = 0.5 * (inner + outer)
    ok = np.isfinite(guide) & (np.abs(inner - outer) >= min_contrast)
    d = profiles - level[:, None]
    a, b = d[:, :-1], d[:, 1:]
    cross = (a * b <= 0) & (a != b) & np.isfinite(a) & np.isfinite(b)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(cross, a / (a - b), np.nan)
    step = q[1] - q[0]
    pos = q[None, :-1] + t * step
    dist = np.abs(pos - guide[:, None])
    dist = np.where(cross & (dist <= search_mm), dist, np.inf)
    best = np.argmin(dist, axis=1)
    rows = np.arange(len(profiles))
    edge = pos[rows, best]
    found = np.isfinite(dist[rows, best])
    return np.where(ok & found, edge, np.nan)


def label_edges(inside: np.ndarray, q: np.ndarray, direction: int) -> np.ndarray:
    """Crossing of 0.5 by an interpolated mask profile, from the centre outwards, per line.

    The run of samples at or above 0.5 that contains (or is nearest to) the middle sample is
    followed towards ``direction`` to its end; the crossing is interpolated linearly.

    Parameters
    ----------
    inside : (L, K) ndarray
        Mask sampled with linear interpolation (values in [0, 1]).
    q : (K,) ndarray
        Uniform sample positions, mm.
    direction : {+1, -1}
        Towards increasing or decreasing q.

    Returns
    -------
    (L,) ndarray
        Edge positions, mm (NaN for lines that never reach 0.5 or whose run reaches the end).
    """
    vals = np.nan_to_num(inside)
    above = vals >= 0.5
    n_lines, n = above.shape
    k = np.arange(n)
    start = np.argmin(np.where(above, np.abs(k - n // 2), 2 * n), axis=1)
    if direction > 0:
        beyond = ~above & (k[None, :] > start[:, None])
        found = beyond.any(axis=1)
        j = np.argmax(beyond, axis=1)
    else:
        beyond = ~above & (k[None, :] < start[:, None])
        found = beyond.any(axis=1)
        j = n - 1 - np.argmax(beyond[:, ::-1], axis=1)
    last = j - direction
    rows = np.arange(n_lines)
    a = vals[rows, np.clip(last, 0, n - 1)] - 0.5
    b = vals[rows, np.clip(j, 0, n - 1)] - 0.5
    with np.errstate(invalid="ignore", divide="ignore"):
        frac = np.where(a != b, a / (a - b), 0.0)
    step = q[1] - q[0]
    edge = q[np.clip(last, 0, n - 1)] + direction * step * frac
    return np.where(found & above.any(axis=1), edge, np.nan)


def first_edges(
    profiles: np.ndarray,
    q: np.ndarray,
    guide: np.ndarray,
    to_bone: int,
    bone_level: np.ndarray,
    *,
    search_mm: float,
    smooth_mm: float,
    noise_band: np.ndarray,
    min_fraction: float = 0.2,
) -> np.ndarray:
    """Coarse edge per line: the gradient peak nearest the bone, whichever its sign.

    Coming from the vertebral marrow towards the disc, the endplate is the first place where
    the image changes: whether the disc next to it is brighter (a healthy nucleus) or darker
    (the annulus, a degenerated disc) than the marrow, and however that changes along the
    endplate. Further into the disc other edges follow (annulus to nucleus); they are not
    taken. The profile is smoothed along the line (Gaussian, SD ``smooth_mm``); its gradient
    peaks (local maxima of the magnitude) within ``search_mm`` of the guide (the label
    boundary, so labels a voxel too wide or too narrow are still searched past) that exceed
    four times the gradient's noise (its robust SD over ``noise_band``, where the image is
    flat marrow) and ``min_fraction`` of the line's largest peak are candidates; the one
    furthest towards the bone is the edge, placed at the peak's vertex (parabola through the
    three samples).

    Parameters
    ----------
    profiles : (L, K) ndarray
        Lines, already averaged across neighbouring lines.
    q : (K,) ndarray
        Uniform sample positions, mm.
    guide : (L,) ndarray
        Label boundary per line, mm (NaN: none).
    to_bone : {+1, -1}
        Direction of increasing ``q`` (+1) or decreasing (−1) that leads into the bone.
    bone_level : (L,) ndarray
        Marrow plateau per line (NaN: no bone, no edge).
    search_mm, smooth_mm : float
    noise_band : (L, K) bool ndarray
        Samples of flat marrow, for the gradient's noise.
    min_fraction : float

    Returns
    -------
    (L,) ndarray
        Coarse edges, mm; NaN where no peak stands out of the noise.
    """
    step = float(q[1] - q[0])
    filled = np.where(np.isfinite(profiles), profiles, np.nan)
    row_mean = np.nanmean(filled, axis=1, keepdims=True)
    filled = np.where(np.isfinite(filled), filled, np.nan_to_num(row_mean))
    smooth = ndimage.gaussian_filter1d(filled, smooth_mm / step, axis=1, mode="nearest")
    signed = np.gradient(smooth, step, axis=1)
    ref = signed[noise_band & np.isfinite(profiles)]
    noise = robust_sd(ref) if ref.size > 10 else 0.0
    grad = np.abs(signed)
    grad[~np.isfinite(profiles)] = 0.0
    window = np.abs(q[None, :] - np.nan_to_num(guide, nan=np.inf)[:, None]) <= search_mm
    mag = np.where(window, grad, 0.0)
    peak = np.zeros_like(window)
    peak[:, 1:-1] = (mag[:, 1:-1] >= mag[:, :-2]) & (mag[:, 1:-1] > mag[:, 2:])
    strong = np.maximum(3.5 * noise, min_fraction * mag.max(axis=1, keepdims=True))
    peak &= (mag > strong) & (mag > 0)
    order = to_bone * np.arange(q.size)
    score = np.where(peak, order[None, :], -np.inf)
    best = np.argmax(score, axis=1)
    rows = np.arange(len(profiles))
    found = peak.any(axis=1) & np.isfinite(bone_level) & np.isfinite(guide)
    b = np.clip(best, 1, q.size - 2)
    y0, y1, y2 = mag[rows, b - 1], mag[rows, b], mag[rows, b + 1]
    denom = y0 - 2 * y1 + y2
    with np.errstate(invalid="ignore", divide="ignore"):
        shift = np.where(denom < 0, 0.5 * (y0 - y2) / denom, 0.0)
    edge = q[b] + np.clip(shift, -0.5, 0.5) * step
    return np.where(found, edge, np.nan)


def endplate_line_edges(
    profiles: np.ndarray,
    q: np.ndarray,
    guide: np.ndarray,
    to_bone: int,
    bone: np.ndarray,
    disc: np.ndarray,
    noise: float,
    *,
    search_mm: float,
    reach_mm: float = 2.5,
    min_dip: float = 4.0,
    voxel_mm: float = 1.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A dark endplate line's disc side, centre and thickness, per line, from its deficit.

    On T2-weighted images the bony endplate is a dark line between the vertebral marrow and
    the disc, often no wider than the point spread of the image, so that its minimum never
    reaches the signal of bone and its half-level crossings lie where the blur puts them,
    not where the bone ends. The blur does not change the integral of the signal, nor (for a
    symmetric point spread, up to a term in the spread's variance times the marrow–disc
    contrast) its first moment. The model: marrow of level ``bone`` up to a layer of
    thickness ``t`` without signal, whose far side is the edge ``e``, then disc of level
    ``disc``. Against the two-tissue step at the line's minimum ``s``, the profile's missing
    signal has zeroth moment ``M0 = tB + Δ(s − e)`` and first moment about ``s``
    ``μ = tB(c − s) + Δ(s − e)²/2·(−1)`` (``B`` bone, ``D`` disc, ``Δ = B − D``, ``c = e − t/2``
    the centre, lengths measured from the bone towards the disc), which solve in closed form:
    ``(tB)² = (B/D)(M0² + 2Δμ)`` and ``e = s + (M0² + 2Bμ) / (D(M0 + tB))``. With ``Δ = 0`` this
    is the deficit's centroid plus half its width. On T2w the line is the cortex and the
    (dark) cartilaginous endplate together;
    :func:`~discmri.morphometry.structure.measure_structure` takes its centre ``e − t/2`` as
    the bony endplate between them.

    Parameters
    ----------
    profiles : (L, K) ndarray
        Profiles across the endplate (already averaged over neighbouring lines).
    q : (K,) ndarray
        Uniform sample positions, mm.
    guide : (L,) ndarray
        Coarse edge per line, mm (NaN: none).
    to_bone : {+1, -1}
        Direction of ``q`` that leads into the vertebral body.
    bone, disc : (L,) ndarray
        Plateau levels of the marrow beyond the line and of the disc beyond it.
    noise : float
        Noise SD of ``profiles``.
    search_mm : float
        The line's minimum is looked for within this distance of the guide.
    reach_mm : float
        The missing signal is summed this far from the minimum on either side.
    min_dip : float
        A line is seen where the profile dips this many noise SDs below both plateaus and its
        missing signal is as many SDs of the sum's noise.
    voxel_mm : float
        In-plane voxel size (the sum's noise counts independent samples).

    Returns
    -------
    edge : (L,) ndarray
        Disc side of the line, mm; NaN where no line is seen.
    centre, thickness : (L,) ndarray
        Centre (mm) and signal-free thickness (mm) of the line; NaN where none is seen.
    """
    step = float(q[1] - q[0])
    ref = np.fmin(bone, disc)
    finite = np.isfinite(profiles)
    prof = np.where(finite, profiles, np.inf)
    window = np.abs(q[None, :] - np.nan_to_num(guide, nan=np.inf)[:, None]) <= search_mm
    low = np.where(window, prof, np.inf)
    m = np.argmin(low, axis=1)
    rows = np.arange(len(prof))
    dip = ref - low[rows, m]
    seen = (np.isfinite(dip) & np.isfinite(ref) & (bone > 0) & (disc > 0)
            & (dip >= min_dip * noise))
    # lengths from the bone towards the disc
    x = -to_bone * q
    s = x[m]
    near = (np.abs(x[None, :] - s[:, None]) <= reach_mm) & finite
    step_model = np.where(x[None, :] < s[:, None], bone[:, None], disc[:, None])
    missing = np.where(near, step_model - np.where(finite, profiles, 0.0), 0.0)
    m0 = missing.sum(axis=1) * step
    mu = (missing * (x[None, :] - s[:, None])).sum(axis=1) * step
    delta = bone - disc
    with np.errstate(invalid="ignore", divide="ignore"):
        u2 = bone / disc * (m0 ** 2 + 2 * delta * mu)
        u = np.sqrt(np.where(u2 > 0, u2, np.nan))
        e = s + (m0 ** 2 + 2 * bone * mu) / (disc * (m0 + u))
        thickness = u / bone
    centre = e - 0.5 * thickness
    # the missing signal must stand out of its noise (summed over the window, about
    # 2·reach/voxel independent samples): otherwise there is no line, only a step
    significant = u >= min_dip * noise * np.sqrt(2.0 * reach_mm * voxel_mm)
    ok = seen & significant & (m0 > 0) & np.isfinite(e) & (np.abs(e - s) <= reach_mm)
    nan = np.full(len(prof), np.nan)
    return (np.where(ok, -to_bone * e, nan), np.where(ok, -to_bone * centre, nan),
            np.where(ok, thickness, nan))
