"""The spinal canal: a bright band running the whole height of a sagittal slice.

CSF is the brightest tissue of a T2-weighted image. Each row of a slice (one SI position)
is scored for a bright band of 3–16 mm with darker tissue in front of it; the canal is the
path through the rows with the highest total score, found by dynamic programming with a bound
on its slope (so it follows lordosis but cannot jump between structures). Subcutaneous fat,
the other long bright band, lies under the skin: positions within :data:`SKIN_MM` of air are
scored down, and a path is only accepted when a column of discs and bodies lies in front of it
(:mod:`.column`).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

__all__ = ["air_behind", "band_score", "best_path", "fat_behind"]

#: Depth under the skin where a bright band is taken for subcutaneous fat, mm.
SKIN_MM = 25.0
#: Band widths tried, mm (thin cervical CSF to a wide lumbar thecal sac).
WIDTHS_MM = (3.0, 6.0, 10.0, 16.0)
#: Behind the canal (:func:`fat_behind`): a gap darker than this fraction of the band's
#: signal, at least ``GAP_MM`` long (muscle, laminae), then tissue at least ``FAT_LEVEL`` of
#: it over ``FAT_MM`` (subcutaneous fat), within ``BEHIND_MM``.
GAP_LEVEL, GAP_MM = 0.45, 8.0
FAT_LEVEL, FAT_MM = 0.6, 3.0
BEHIND_MM = 120.0


def _box_mean(img: np.ndarray, half: int, shift: int) -> np.ndarray:
    """Mean of ``img`` over rows ``y + shift − half … y + shift + half`` (edge-padded)."""
    size = 2 * half + 1
    m = ndimage.uniform_filter1d(img, size, axis=0, mode="nearest")
    return ndimage.shift(m, (-shift, 0), order=0, mode="nearest")


def band_score(slice_: np.ndarray, spacing_yz: np.ndarray, air: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
    """Score of a bright band centred at each pixel of a sagittal slice (y, z).

    Parameters
    ----------
    slice_ : (Y, Z) ndarray
        Normalised intensities (the image's bright level is 1).
    spacing_yz : (2,) ndarray
        Pixel size, mm.
    air : (Y, Z) bool ndarray, optional
        Air outside the body; bands within :data:`SKIN_MM` of it are scored down.

    Returns
    -------
    score, width : (Y, Z) ndarray
        Band contrast against the darker tissue in front of it (anterior, +y), and the width
        (mm) that gave it; ``-inf`` where, for every width, the tissue in front or behind
        lies beyond the image.
    """
    dy = float(spacing_yz[0])
    best = np.full(slice_.shape, -np.inf, np.float32)
    width = np.zeros(slice_.shape, np.float32)
    for w in WIDTHS_MM:
        half = max(1, int(round(w / 2 / dy)))
        inside = _box_mean(slice_, half, 0)
        front = _box_mean(slice_, half, 2 * half + 1 + int(round(2.0 / dy)))
        back = _box_mean(slice_, max(1, half // 2), -(2 * half + 1))
        # the canal is brighter than the column in front of it; behind it there may be fat
        s = inside - front - 0.5 * np.maximum(back - inside, 0)
        s = np.minimum(s, inside)  # a band is no brighter than itself (dark noise floor)
        # a band whose tissue in front or behind lies beyond the image is not seen as a
        # band: the edge of a crop, padded with its own values, would pass for one
        reach_front = 3 * half + 1 + int(round(2.0 / dy))
        reach_back = 2 * half + 1 + max(1, half // 2)
        s[max(0, slice_.shape[0] - reach_front):] = -np.inf
        s[:reach_back] = -np.inf
        better = s > best
        best[better], width[better] = s[better], w
    if air is not None and air.any():
        depth = ndimage.distance_transform_edt(~air, sampling=spacing_yz)
        best = np.where(depth < SKIN_MM, best * 0.25, best)
    return best, width


def best_path(score: np.ndarray, spacing_yz: np.ndarray, *, max_slope: float = 2.0,
              smooth: float = 0.02, forbid: np.ndarray | None = None) -> np.ndarray:
    """Row position per z of the highest-scoring connected path (dynamic programming).

    Parameters
    ----------
    score : (Y, Z) ndarray
    spacing_yz : (2,) ndarray
        Pixel size, mm.
    max_slope : float
        Largest |dy/dz| in mm per mm (2.0: 63° from the z axis, for the sacral canal of a
        lordotic spine).
    smooth : float
        Penalty per mm² of squared step, in score units.
    forbid : (Y, Z) bool ndarray, optional
        Pixels the path may not use (an earlier rejected path).

    Returns
    -------
    (Z,) int ndarray
    """
    dy, dz = float(spacing_yz[0]), float(spacing_yz[1])
    s = np.where(np.isfinite(score), score, -1.0).astype(np.float64)
    if forbid is not None:
        s = np.where(forbid, -1.0, s)
    n_y, n_z = s.shape
    reach = max(1, int(np.floor(max_slope * dz / dy)))
    steps = np.arange(-reach, reach + 1)
    penalty = smooth * (steps * dy) ** 2
    total = s[:, 0].copy()
    back = np.zeros((n_y, n_z), np.int16)
    idx = np.arange(n_y)
    for k in range(1, n_z):
        cand = np.full((len(steps), n_y), -np.inf)
        for j, st in enumerate(steps):
            src = idx + st
            ok = (src >= 0) & (src < n_y)
            cand[j, ok] = total[src[ok]] - penalty[j]
        j = np.argmax(cand, axis=0)
        back[:, k] = steps[j]
        total = cand[j, idx] + s[:, k]
    path = np.empty(n_z, int)
    path[-1] = int(np.argmax(total))
    for k in range(n_z - 1, 0, -1):
        path[k - 1] = path[k] + back[path[k], k]
    return path


def fat_behind(slice_: np.ndarray, path: np.ndarray, spacing_yz: np.ndarray) -> float:
    """Fraction of rows with a dark gap and then bright tissue behind a band path.

    Behind the spinal canal lie the paraspinal muscles and laminae (dark on T2-weighted
    images) and then the subcutaneous fat, bright again, under the skin; behind the
    subcutaneous fat lie only skin and air. Per row, going posteriorly from the path (up to
    :data:`BEHIND_MM`): a run of at least :data:`GAP_MM` below :data:`GAP_LEVEL` of the
    path's median signal, and after it a run of at least :data:`FAT_MM` at or above
    :data:`FAT_LEVEL` of it.

    Parameters
    ----------
    slice_ : (Y, Z) ndarray
        Normalised intensities, y posterior → anterior.
    path : (Z,) int ndarray
        Band position (y index) per row.
    spacing_yz : (2,) ndarray
        Pixel size, mm.

    Returns
    -------
    float
        0–1.
    """
    n_y, n_z = slice_.shape
    y = np.clip(np.asarray(path, int), 0, n_y - 1)
    on = float(np.median(slice_[y, np.arange(n_z)]))
    dy = float(spacing_yz[0])
    gap, fat = max(1, int(round(GAP_MM / dy))), max(1, int(round(FAT_MM / dy)))
    behind, inside = _behind(slice_, path, max(gap + fat, int(round(BEHIND_MM / dy))))
    dark = _full_runs(inside & (behind < GAP_LEVEL * on), gap)
    bright = _full_runs(inside & (behind >= FAT_LEVEL * on), fat)
    after = np.argmax(dark, axis=0) + gap  # first sample behind the first dark run
    starts = np.arange(bright.shape[0])[:, None]
    hits = dark.any(axis=0) & (bright & (starts >= after[None, :])).any(axis=0)
    return float(hits.mean()) if n_z else 0.0


def _behind(image: np.ndarray, path: np.ndarray, reach: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``reach`` pixels behind a path in each row, and which lie inside the image.

    ``out[k, z]`` is ``image[y - 1 - k, z]`` for the path's row ``y``; where that index
    falls before the image's first row, ``inside`` is false and ``out`` holds filler.
    """
    n_y, n_z = image.shape
    y = np.clip(np.asarray(path, int), 0, n_y - 1)
    idx = y[None, :] - 1 - np.arange(reach)[:, None]
    inside = idx >= 0
    return image[np.clip(idx, 0, None), np.arange(n_z)[None, :]], inside


def _full_runs(mask: np.ndarray, n: int) -> np.ndarray:
    """``out[j, z]``: ``mask[j:j + n, z]`` all true (windows inside the array only)."""
    c = np.concatenate([np.zeros((1, mask.shape[1])), np.cumsum(mask, axis=0)])
    return (c[n:] - c[:-n]) == n


def air_behind(air: np.ndarray, path: np.ndarray, spacing_yz: np.ndarray) -> float:
    """Fraction of rows with air within :data:`BEHIND_MM` behind a band path.

    Parameters
    ----------
    air : (Y, Z) bool ndarray
        Air outside the body, y posterior → anterior.
    path : (Z,) int ndarray
        Band position (y index) per row.
    spacing_yz : (2,) ndarray
        Pixel size, mm.

    Returns
    -------
    float
        0–1 (0 for a crop whose posterior edge cuts through the body).
    """
    if air.shape[1] == 0:
        return 0.0
    behind, inside = _behind(air, path, int(round(BEHIND_MM / float(spacing_yz[0]))))
    return float((behind & inside).any(axis=0).mean())
