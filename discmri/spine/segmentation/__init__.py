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
from ..levels import NATIVE_CANAL, NATIVE_PRESACRAL_FAT, NATIVE_VERTEBRA, native_disc_labels
from .canal import band_score, best_path
from .column import ColumnSegment, Straightened, cut_column, relative_profile, straighten
from .complete import complete_labels
from .frame import SagittalFrame, check_hint, sagittal_frame
from .naming import LevelNames, name_from_reference, name_levels, parse_level_range
from .regions import (
    anterior_margin,
    disc_lines,
    label_slice,
    margin_line,
    posterior_margin,
    to_slice,
)

__all__ = ["Segmentation", "complete_labels", "parse_level_range", "segment_spine"]

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
    midline: np.ndarray  # (Z,) slice of the canal's middle at each row
    path: np.ndarray
    width_mm: float
    straight: Straightened
    segments: list[ColumnSegment]
    score: float
    spacing_yz: np.ndarray
    level: np.ndarray
    period: float
    front: float  # anterior border of the canal, mm in front of the path

    @property
    def slice_index(self) -> int:
        """The median mid-sagittal slice."""
        return int(np.median(self.midline))


def _normalised(frame: SagittalFrame) -> np.ndarray:
    data = frame.data
    positive = data[data > 0]
    if positive.size == 0:
        raise GeometryError("the image is empty (no positive voxel): no spine to segment")
    bright = float(np.percentile(positive, 99.5))
    sigma = 0.7 / frame.spacing
    return ndimage.gaussian_filter(data / bright, (0, sigma[1], sigma[2]))


def _sheet(img: np.ndarray, xs: np.ndarray) -> np.ndarray:
    """The (Y, Z) image made of slice ``xs[z]`` at each row z (0 where that is outside)."""
    n_x, n_y, n_z = img.shape
    inside = (xs >= 0) & (xs < n_x)
    out = np.zeros((n_y, n_z), img.dtype)
    z = np.flatnonzero(inside)
    out[:, z] = img[xs[z], :, z].T
    return out


def _column_on(sheet: np.ndarray, midline: np.ndarray, path: np.ndarray, width: float,
               score: float, sp: np.ndarray) -> _Column:
    st = straighten(sheet, path.astype(float), sp)
    front = _canal_front(st, width)
    strip = (st.t >= front + STRIP_MM[0]) & (st.t <= front + STRIP_MM[1])
    rel, level, period = relative_profile(np.median(st.image[:, strip], axis=1))
    return _Column(midline, path, width, st, cut_column(rel, period), score, sp, level, period,
                   front)


def _canal_front(st: Straightened, width: float) -> float:
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


def _find_column(frame: SagittalFrame, img: np.ndarray) -> _Column:
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
        candidates.append(_column_on(_sheet(img, midline), midline, path, width, score, sp))
    if not candidates or _n_discs(candidates[0].segments) == 0:
        single = sorted(range(n_x), key=lambda x: -float(
            np.mean(score3[x][best_path(score3[x], sp), cols])))[:3]
        for x in single:
            p = best_path(score3[x], sp)
            sc = float(np.mean(score3[x][p, cols]))
            if sc >= MIN_CANAL_SCORE:
                candidates.append(_column_on(img[x], np.full(n_z, x), p,
                                             float(np.median(width3[x][p, cols])), sc, sp))
    best = max(candidates, key=lambda c: _n_discs(c.segments), default=None)
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
    reference: np.ndarray | None = None,
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
    reference : (X, Y, Z) int ndarray, optional
        A native label map on the image's grid (a partial one, say) whose structures name
        the levels (:func:`complete_labels`).

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
    if reference is not None:
        names = name_from_reference(segs, _votes(frame, col, reference))
    else:
        names = name_levels(segs, sac_end=sac, hint_s=hint_s, levels=level_names)
    keys, meaning = _keys(segs, names)
    t0 = col.front
    marrow = float(np.median([np.median(st.image[(st.s >= s.start) & (st.s < s.stop)][
        :, (st.t >= t0 + STRIP_MM[0]) & (st.t <= t0 + STRIP_MM[1])]) for s in segs
        if s.kind == "body"]))
    fronts = _fronts(st, segs, t0, marrow)
    out = np.zeros(frame.data.shape, np.int16)
    seen = _label_slices(img, col, t0, marrow, fronts, keys, out)
    _drop_fragments(out, seen, segs, keys)
    _label_canal(img, col, sac, out)
    fat = _label_presacral_fat(img, col, keys, fronts, out)
    labels = volume.with_data(frame.to_input(out), LabelScheme="native")
    disc_levels = tuple(n for n in names.discs[::-1] if n and native_disc_labels(
        n.split("-")[0])[0] in seen)
    sidecar = _sidecar(col, names, keys, meaning, seen, sac)
    canal = int((out == NATIVE_CANAL).sum())
    if canal:
        sidecar["structures"]["spinal canal"] = {
            "label": NATIVE_CANAL, "kind": "canal", "voxels": canal,
            "confidence": round(min(1.0, col.score / 0.5), 2)}
    if fat:
        sidecar["structures"]["presacral fat"] = {
            "label": NATIVE_PRESACRAL_FAT, "kind": "fat", "voxels": fat,
            "confidence": round(names.confidence, 2)}
    return Segmentation(labels, disc_levels, sidecar)


def _votes(frame: SagittalFrame, col: _Column, reference: np.ndarray) -> list[int | None]:
    """Per segment, the reference label most common in its core on the midline sheet."""
    ref = frame.from_input(np.asarray(reference))
    if ref.shape != frame.data.shape:
        raise GeometryError(f"the label map has shape {reference.shape}; the image "
                            f"{frame.volume.spatial_shape}: they must share a grid")
    st = straighten(_sheet(ref.astype(np.float32), col.midline), col.path.astype(float),
                    col.spacing_yz, order=0)
    votes: list[int | None] = []
    for seg in col.segments:
        core = (st.s >= seg.centre - 0.3 * seg.length) & (st.s <= seg.centre + 0.3 * seg.length)
        strip = (st.t >= col.front + 3.0) & (st.t <= col.front + 20.0)
        values = np.rint(st.image[core][:, strip]).astype(int).ravel()
        values = values[(values > 0) & (values < 300)]
        votes.append(int(np.bincount(values).argmax()) if values.size else None)
    return votes


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
        if seg.kind == "disc":  # between two bodies seen, or one at the edge of the view
            near = [present[j] for j in (i - 1, i + 1) if 0 <= j < len(segs)]
            present[i] = all(near) if not seg.truncated else any(near)
    return present


def _label_slices(img: np.ndarray, col: _Column, t0: float, marrow: float,
                  fronts: list[float], keys: list[int], out: np.ndarray) -> dict[int, int]:
    """Label the sheets parallel to the midline, outwards, while a body is seen.

    Each sheet gets its own anterior margins (the column narrows away from the midline); the
    posterior wall of the midline bounds the others, where pedicles continue the bodies'
    marrow backwards without an edge. Returns the number of sheets each label was found in.
    """
    segs, seen = col.segments, {}
    st = straighten(_sheet(img, col.midline), col.path.astype(float), col.spacing_yz)
    present = _present(st, segs, t0, marrow, fronts)
    walls = [posterior_margin(st, seg, t0, marrow) if seg.kind == "body" else np.nan
             for seg in segs]
    wall = margin_line(st, segs, walls)
    level = col.level
    front = margin_line(st, segs, fronts)
    lines = disc_lines(st, segs, level, wall, front)
    lab = label_slice(st, segs, keys, t0, front, present, wall, level, lines)
    _put(out, col.midline, st, lab, col, seen)
    for step in (-1, 1):
        k = step
        while ((col.midline + k >= 0) & (col.midline + k < img.shape[0])).any():
            xs = col.midline + k
            st = straighten(_sheet(img, xs), col.path.astype(float), col.spacing_yz)
            present = _present(st, segs, t0, marrow, fronts)
            if not any(p for p, s in zip(present, segs, strict=True) if s.kind == "body"):
                break
            here = [anterior_margin(st, seg, t0, marrow) if seg.kind == "body" and ok
                    else np.nan for seg, ok in zip(segs, present, strict=True)]
            lab = label_slice(st, segs, keys, t0, margin_line(st, segs, here), present, wall,
                              level, lines)
            _put(out, xs, st, lab, col, seen)
            k += step
    return seen


def _put(out: np.ndarray, xs: np.ndarray, st: Straightened, lab: np.ndarray, col: _Column,
         seen: dict[int, int]) -> None:
    """Write a straightened sheet's labels into the slices ``xs[z]`` of each row z."""
    sheet = to_slice(st, lab, out.shape[1:], col.spacing_yz)
    z = np.flatnonzero((xs >= 0) & (xs < out.shape[0]))
    out[xs[z], :, z] = sheet[:, z].T
    for key in np.unique(sheet[:, z]):
        if key:
            seen[int(key)] = seen.get(int(key), 0) + 1


def _drop_fragments(out: np.ndarray, seen: dict[int, int], segs: list[ColumnSegment],
                    keys: list[int]) -> None:
    """Peel small bodies and discs off either end of the column.

    From each end inwards, a labelled structure under 30 % of the median size of its kind
    is removed, until one is not: a stretch at the edge of the column (or of the field of
    view) that the profile took for a level. Inside the column a small disc is a collapsed
    one, and stays.
    """
    sizes = {k: int((out == k).sum()) for k in seen}
    median = {}
    for kind, test in (("body", lambda k: k < 100), ("disc", lambda k: 100 <= k < 200)):
        values = [sizes[k] for k in sizes if test(k)]
        median[kind] = float(np.median(values)) if values else 0.0
    chain = [(seg.kind, key) for seg, key in zip(segs, keys, strict=True)
             if key and key in sizes]
    for order in (chain, chain[::-1]):
        for kind, key in order:
            if key not in seen or sizes[key] >= 0.3 * median[kind]:
                break
            out[out == key] = 0
            del seen[key]


def _label_canal(img: np.ndarray, col: _Column, sac: float | None, out: np.ndarray) -> None:
    """Canal label: CSF connected to the canal path above the end of the sac.

    In each sheet parallel to the midline, CSF is taken as brighter than 0.7 of the path's
    median signal (epidural fat, about 0.6 of CSF, is left out), within 25 mm of the path.
    """
    ref = np.median(col.straight.image[:, np.abs(col.straight.t) <= 1.0])
    n_x = img.shape[0]
    for k in range(-n_x, n_x):
        xs = col.midline + k
        inside = (xs >= 0) & (xs < n_x)
        if not inside.any():
            continue
        st = straighten(_sheet(img, xs), col.path.astype(float), col.spacing_yz)
        near = (np.abs(st.t) <= 25.0)[None, :] & (st.s >= (sac or 0.0))[:, None]
        bright = (st.image > 0.7 * ref) & near & st.valid
        seeds = bright & (np.abs(st.t) <= 1.0)[None, :]
        if seeds.sum() < 0.5 * (np.abs(st.t) <= 1.0).sum() * (st.s >= (sac or 0.0)).sum():
            continue  # no canal along the path in this sheet
        canal = ndimage.binary_propagation(seeds, mask=bright)
        mask = to_slice(st, canal.astype(np.int32), img.shape[1:], col.spacing_yz).astype(bool)
        z = np.flatnonzero(inside)
        rows = out[xs[z], :, z]  # (n, Y)
        put = mask[:, z].T & (rows == 0)
        rows[put] = NATIVE_CANAL
        out[xs[z], :, z] = rows


def _label_presacral_fat(img: np.ndarray, col: _Column, keys: list[int], fronts: list[float],
                         out: np.ndarray) -> int:
    """Presacral fat: the bright tissue in front of S1, in the sheets that show S1.

    Fat is brighter than 0.35 of the canal's CSF on T2-weighted FSE (about 0.6 of it in fat,
    under 0.1 in muscle); the largest bright piece within 30 mm in front of S1 and reaching
    within 8 mm of its anterior margin is taken. Returns the number of voxels labelled.
    """
    s1 = NATIVE_VERTEBRA["S1"]
    if s1 not in keys:
        return 0
    seg = col.segments[keys.index(s1)]
    front = fronts[keys.index(s1)]
    ref = float(np.median(col.straight.image[:, np.abs(col.straight.t) <= 1.0]))
    n_x, total = img.shape[0], 0
    for k in range(-n_x, n_x):
        xs = col.midline + k
        inside = (xs >= 0) & (xs < n_x)
        if not inside.any() or not (out[xs[inside], :, np.flatnonzero(inside)] == s1).any():
            continue
        st = straighten(_sheet(img, xs), col.path.astype(float), col.spacing_yz)
        region = (((st.s >= seg.start - 10.0) & (st.s <= seg.stop + 5.0))[:, None]
                  & ((st.t >= front) & (st.t <= front + 30.0))[None, :] & st.valid)
        bright = region & (st.image > 0.35 * ref)
        pieces, n = ndimage.label(bright)
        if not n:
            continue
        near = np.unique(pieces[:, st.t <= front + 8.0])
        near = near[near > 0]
        if not near.size:
            continue
        sizes = ndimage.sum(bright, pieces, index=near)
        fat = pieces == near[int(np.argmax(sizes))]
        mask = to_slice(st, fat.astype(np.int32), img.shape[1:], col.spacing_yz).astype(bool)
        z = np.flatnonzero(inside)
        rows = out[xs[z], :, z]
        put = mask[:, z].T & (rows == 0)
        rows[put] = NATIVE_PRESACRAL_FAT
        out[xs[z], :, z] = rows
        total += int(put.sum())
    return total


def _sidecar(col: _Column, names: LevelNames, keys: list[int], meaning: dict[int, str],
             seen: dict[int, int], sac: float | None) -> dict[str, Any]:
    structures = {}
    for seg, key in zip(col.segments, keys, strict=True):
        if not key or key not in seen:
            continue
        contrast = seg.contrast
        conf = names.confidence * (min(1.0, contrast / 0.3) if seg.kind == "disc" else 1.0)
        structures[meaning[key]] = {
            "label": key, "kind": "vertebral body" if seg.kind == "body" else "disc",
            "height_along_canal_mm": round(seg.length, 1), "slices": seen[key],
            "signal_vs_marrow": round(seg.level, 2), "contrast": round(seg.contrast, 2),
            "confidence": round(conf, 2)}
    return {
        "method": "discmri classical segmentation (canal path, column profile cut by "
                  "dynamic programming, marker watershed)",
        "software": f"discmri {__version__}",
        "LabelScheme": "native",
        "parameters": {"strip_mm": list(STRIP_MM), "min_canal_score": MIN_CANAL_SCORE},
        "mid_sagittal_slice": col.slice_index,
        "midline_slices": [int(col.midline.min()), int(col.midline.max())],
        "canal_width_mm": round(col.width_mm, 1),
        "canal_front_mm": round(col.front, 1),
        "level_spacing_mm": round(col.period, 1),
        "canal_score": round(col.score, 3),
        "sac_end_mm": None if sac is None else round(sac, 1),
        "levels": {"method": names.method, "confidence": names.confidence, "why": names.why},
        "structures": structures,
    }
