"""Segmentation assist: discs, vertebral bodies and canal from a sagittal T2-weighted image.

Classical image processing only (SciPy, scikit-image), offline, no learned weights:

1. :mod:`.frame` — check the image is sagittal and large enough; reorient to RAS.
2. :mod:`.canal` — in every slice, the brightest band path through all rows; the slice where
   it is strongest is the mid-sagittal slice.
3. :mod:`.column` — straighten that slice along the canal, take the SI profile of the column
   in front of it, and cut it into bodies and discs by dynamic programming.
4. :mod:`.naming` — name the levels from where the thecal sac ends (the sacrum), a hint
   point, or a given range.
5. :mod:`.regions` — grow each body and disc to its edges by marker watershed, slice by
   slice, in the slices where the column is seen.

The result is a native label map (:mod:`discmri.spine.levels`): vertebral bodies, discs
(annulus label; the nucleus region is laid out by :mod:`discmri.regions`) and the canal, with
a sidecar stating the method, its parameters and its confidence.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import ndimage

from ..._version import __version__
from ...errors import GeometryError
from ...io.volume import Volume
from ..levels import NATIVE_CANAL, NATIVE_VERTEBRA, native_disc_labels
from .canal import band_score, best_path
from .column import ColumnSegment, Straightened, cut_column, relative_profile, straighten
from .frame import SagittalFrame, check_hint, sagittal_frame
from .naming import LevelNames, name_levels, parse_level_range
from .regions import anterior_margin, label_slice, to_slice

__all__ = ["Segmentation", "parse_level_range", "segment_spine"]

#: Strip of the column whose SI profile is cut, mm in front of the canal's anterior border.
STRIP_MM = (2.0, 14.0)
#: Least mean band score of the canal path (relative to the image's bright level).
MIN_CANAL_SCORE = 0.12


@dataclass(frozen=True, eq=False)
class Segmentation:
    """Labels found in a T2-weighted image, with how they were found.

    Attributes
    ----------
    labels : Volume
        Native label map on the image's grid (``meta["LabelScheme"] == "native"``).
    levels : tuple of str
        Disc levels labelled, cranial first.
    sidecar : dict
        Method, parameters, version, level naming and per-structure confidence (JSON-ready).
    """

    labels: Volume
    levels: tuple[str, ...]
    sidecar: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class _Column:
    slice_index: int
    path: np.ndarray
    width_mm: float
    straight: Straightened
    segments: list[ColumnSegment]
    score: float
    spacing_yz: np.ndarray


def _normalised(frame: SagittalFrame) -> np.ndarray:
    data = frame.data
    positive = data[data > 0]
    if positive.size == 0:
        raise GeometryError("the image is empty (no positive voxel): no spine to segment")
    bright = float(np.percentile(positive, 99.5))
    sigma = 0.7 / frame.spacing
    return ndimage.gaussian_filter(data / bright, (0, sigma[1], sigma[2]))


def _find_column(frame: SagittalFrame, img: np.ndarray) -> _Column:
    sp = frame.spacing[1:]
    candidates = []
    for x in range(img.shape[0]):
        air = ndimage.binary_opening(img[x] < 0.04, iterations=2)
        score, width = band_score(img[x], sp, air)
        path = best_path(score, sp)
        cols = np.arange(len(path))
        candidates.append((float(np.mean(score[path, cols])), x, path,
                           float(np.median(width[path, cols]))))
    candidates.sort(key=lambda c: -c[0])
    best: _Column | None = None
    for score, x, path, width in candidates[:3]:
        if score < MIN_CANAL_SCORE:
            break
        st = straighten(img[x], path.astype(float), sp)
        strip = (st.t >= width / 2 + STRIP_MM[0]) & (st.t <= width / 2 + STRIP_MM[1])
        segs = cut_column(relative_profile(np.median(st.image[:, strip], axis=1)))
        col = _Column(x, path, width, st, segs, score, sp)
        if best is None or _n_discs(segs) > _n_discs(best.segments):
            best = col
    if best is None or _n_discs(best.segments) == 0:
        raise GeometryError(
            "no spine found: no bright canal with a column of vertebral bodies and discs in "
            "front of it (is this a sagittal T2-weighted image of the spine?)")
    return best


def _n_discs(segs: list[ColumnSegment]) -> int:
    """Discs with a body on both sides."""
    n = 0
    for a, b, c in zip(segs[:-2], segs[1:-1], segs[2:], strict=True):
        n += a.kind == "body" and b.kind == "disc" and c.kind == "body"
    return n


def _sac_end(col: _Column) -> float | None:
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


def _hint_arc(st: Straightened, index: np.ndarray, spacing_yz: np.ndarray) -> float:
    p = index[1:] * spacing_yz
    k = int(np.argmin(np.linalg.norm(st.points - p, axis=1)))
    return float(st.s[k])


def segment_spine(
    volume: Volume,
    *,
    hint_l5s1: np.ndarray | None = None,
    levels: str | tuple[str, ...] | None = None,
) -> Segmentation:
    """Segment vertebral bodies, discs and the canal of a sagittal T2-weighted image.

    Parameters
    ----------
    volume : Volume
        3-D sagittal T2-weighted image.
    hint_l5s1 : (3,) array_like, optional
        A scanner-space point (RAS mm) in or next to the L5-S1 disc; the levels are counted
        from it instead of from the sacrum.
    levels : str or tuple of str, optional
        The discs in view, e.g. ``"C5-C6..C6-C7"`` (needed when neither the sacrum nor a hint
        identifies them).

    Returns
    -------
    Segmentation

    Raises
    ------
    ImageFormatError, GeometryError
        Not a 3-D sagittal image; too small; no spine found.
    ParameterError
        A hint outside the image; a range that does not match the discs found; no sacrum in
        view and no hint or range.
    """
    frame = sagittal_frame(volume)
    hint_index = None if hint_l5s1 is None else check_hint(frame, hint_l5s1)
    level_names = parse_level_range(levels) if isinstance(levels, str) else levels
    img = _normalised(frame)
    sp = frame.spacing[1:]
    col = _find_column(frame, img)
    st = col.straight
    segs = col.segments
    sac = _sac_end(col)
    hint_s = None if hint_index is None else _hint_arc(st, hint_index, sp)
    names = name_levels(segs, sac_end=sac, hint_s=hint_s, levels=level_names)
    keys, meaning = _keys(segs, names)
    t0 = col.width_mm / 2
    marrow = float(np.median([np.median(st.image[(st.s >= s.start) & (st.s < s.stop)][
        :, (st.t >= t0 + STRIP_MM[0]) & (st.t <= t0 + STRIP_MM[1])]) for s in segs
        if s.kind == "body"]))
    fronts = _fronts(st, segs, t0, marrow)
    out = np.zeros(frame.data.shape, np.int16)
    seen = _label_slices(img, col, t0, marrow, fronts, keys, out)
    _drop_fragments(out, seen)
    _label_canal(img, col, sac, out)
    labels = volume.with_data(frame.to_input(out), LabelScheme="native")
    disc_levels = tuple(n for n in names.discs[::-1] if n and native_disc_labels(
        n.split("-")[0])[0] in seen)
    sidecar = _sidecar(col, names, keys, meaning, seen, sac, t0)
    return Segmentation(labels, disc_levels, sidecar)


def _keys(segs: list[ColumnSegment], names: LevelNames) -> tuple[list[int], dict[int, str]]:
    keys, meaning = [], {}
    disc_i = body_i = 0
    for seg in segs:
        key = 0
        if seg.kind == "disc":
            name = names.discs[disc_i]
            disc_i += 1
            if name:
                key = native_disc_labels(name.split("-")[0])[0]
                meaning[key] = name
        elif seg.kind == "body":
            name = names.bodies[body_i]
            body_i += 1
            if name and name in NATIVE_VERTEBRA:
                key = NATIVE_VERTEBRA[name]
                meaning[key] = name
        keys.append(key)
    return keys, meaning


def _fronts(st: Straightened, segs: list[ColumnSegment], t0: float, marrow: float
            ) -> list[float]:
    fronts = [np.nan] * len(segs)
    for i, seg in enumerate(segs):
        if seg.kind == "body":
            fronts[i] = anterior_margin(st, seg, t0, marrow)
    body_fronts = np.array([f for f in fronts if np.isfinite(f)])
    default = float(np.median(body_fronts)) if body_fronts.size else t0 + 30.0
    for i in range(len(segs)):
        if not np.isfinite(fronts[i]):
            near = [fronts[j] for j in (i - 1, i + 1)
                    if 0 <= j < len(segs) and np.isfinite(fronts[j])]
            fronts[i] = float(np.mean(near)) if near else default
    return fronts


def _present(st: Straightened, segs: list[ColumnSegment], t0: float, marrow: float,
             fronts: list[float]) -> list[bool]:
    """Which segments a slice shows: bodies at the marrow's level, discs between two."""
    present = []
    for seg, front in zip(segs, fronts, strict=True):
        core = (st.s >= seg.centre - 0.3 * seg.length) & (st.s <= seg.centre + 0.3 * seg.length)
        strip = (st.t >= t0 + 3.0) & (st.t <= max(t0 + 4.0, front - 4.0))
        vals = st.image[core][:, strip]
        level = float(np.median(vals)) / marrow if vals.size else 0.0
        present.append(seg.kind == "body" and 0.6 <= level <= 1.6)
    for i, seg in enumerate(segs):
        if seg.kind == "disc":
            present[i] = 0 < i < len(segs) - 1 and present[i - 1] and present[i + 1]
    return present


def _label_slices(img: np.ndarray, col: _Column, t0: float, marrow: float,
                  fronts: list[float], keys: list[int], out: np.ndarray) -> dict[int, int]:
    """Label the slices outward from the mid-sagittal one while the column is seen.

    Returns the number of slices each label was found in.
    """
    segs, seen = col.segments, {}
    for step in (-1, 1):
        x = col.slice_index if step == -1 else col.slice_index + 1
        while 0 <= x < img.shape[0]:
            st = straighten(img[x], col.path.astype(float), col.spacing_yz)
            present = _present(st, segs, t0, marrow, fronts)
            bodies = [p for p, s in zip(present, segs, strict=True) if s.kind == "body"]
            if sum(bodies) < max(1, (len(bodies) + 1) // 2):
                break
            lab = label_slice(st, segs, keys, t0, fronts, present)
            out[x] = to_slice(st, lab, img.shape[1:], col.spacing_yz)
            for key in np.unique(out[x]):
                if key:
                    seen[int(key)] = seen.get(int(key), 0) + 1
            x += step
    return seen


def _drop_fragments(out: np.ndarray, seen: dict[int, int]) -> None:
    """Remove bodies and discs under 30 % of the median size of their kind.

    Such a fragment is a stretch at the edge of the column that the profile took for a level.
    """
    sizes = {k: int((out == k).sum()) for k in seen}
    for kind in (lambda k: k < 100, lambda k: 100 <= k < 200):
        ks = [k for k in sizes if kind(k)]
        if not ks:
            continue
        median = float(np.median([sizes[k] for k in ks]))
        for k in ks:
            if sizes[k] < 0.3 * median:
                out[out == k] = 0
                del seen[k]


def _label_canal(img: np.ndarray, col: _Column, sac: float | None, out: np.ndarray) -> None:
    """Canal label: CSF connected to the canal path above the end of the sac, in each slice.

    CSF is taken as brighter than half the path's median signal, within 25 mm of the path.
    """
    ref = np.median(col.straight.image[:, np.abs(col.straight.t) <= 1.0])
    for x in range(img.shape[0]):
        st = straighten(img[x], col.path.astype(float), col.spacing_yz)
        near = (np.abs(st.t) <= 25.0)[None, :] & (st.s >= (sac or 0.0))[:, None]
        bright = (st.image > 0.5 * ref) & near & st.valid
        seeds = bright & (np.abs(st.t) <= 1.0)[None, :]
        if seeds.sum() < 0.5 * (np.abs(st.t) <= 1.0).sum() * (st.s >= (sac or 0.0)).sum():
            continue  # no canal along the path in this slice
        canal = ndimage.binary_propagation(seeds, mask=bright)
        mask = to_slice(st, canal.astype(np.int32), img.shape[1:], col.spacing_yz).astype(bool)
        out[x][mask & (out[x] == 0)] = NATIVE_CANAL


def _sidecar(col: _Column, names: LevelNames, keys: list[int], meaning: dict[int, str],
             seen: dict[int, int], sac: float | None, t0: float) -> dict[str, Any]:
    structures = {}
    for seg, key in zip(col.segments, keys, strict=True):
        if not key or key not in seen:
            continue
        contrast = abs(seg.level - 1.0)
        conf = names.confidence * (min(1.0, contrast / 0.3) if seg.kind == "disc" else 1.0)
        structures[meaning[key]] = {
            "label": key, "kind": "vertebral body" if seg.kind == "body" else "disc",
            "height_along_canal_mm": round(seg.length, 1), "slices": seen[key],
            "signal_vs_marrow": round(seg.level, 2), "confidence": round(conf, 2)}
    return {
        "method": "discmri classical segmentation (canal path, column profile cut by "
                  "dynamic programming, marker watershed)",
        "software": f"discmri {__version__}",
        "LabelScheme": "native",
        "parameters": {"strip_mm": list(STRIP_MM), "min_canal_score": MIN_CANAL_SCORE},
        "mid_sagittal_slice": col.slice_index,
        "canal_width_mm": round(col.width_mm, 1),
        "canal_score": round(col.score, 3),
        "sac_end_mm": None if sac is None else round(sac, 1),
        "levels": {"method": names.method, "confidence": names.confidence, "why": names.why},
        "structures": structures,
    }
