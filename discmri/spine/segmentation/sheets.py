"""Labelling the sheets parallel to the midline: bodies and discs, canal, presacral fat."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ..levels import NATIVE_CANAL, NATIVE_PRESACRAL_FAT, NATIVE_VERTEBRA
from .column import ColumnSegment, Straightened, straighten
from .locate import Column, sheet
from .watershed import (
    anterior_margin,
    disc_lines,
    label_slice,
    margin_line,
    posterior_margin,
    slice_lookup,
    to_slice,
)

__all__ = ["BODY_LEVEL", "HALF_WIDTH_PER_DEPTH", "SIDE_LEVEL", "Sheets", "drop_fragments",
           "fronts_of", "label_canal", "label_presacral_fat", "label_sheets", "local_marrow",
           "present_in"]

#: Largest half-width of a lumbar vertebral body (and its discs) per AP depth. Endplates are
#: 1.3–1.5 times as wide as they are deep (Panjabi et al., Spine 1992;17(3):299–306; the
#: manual bodies and discs of ../shared/data/real-lumbar measure 0.63–0.78 half-widths per
#: depth); 0.85 leaves room for an axially rotated body.
HALF_WIDTH_PER_DEPTH = 0.85
#: A vertebral body's core signal over its neighbours' marrow (:func:`local_marrow`) on the
#: midline: sclerotic endplates, Modic changes and islands of red marrow darken a body to
#: half of it; fatty marrow and haemangiomas brighten it.
BODY_LEVEL = (0.5, 1.6)
#: The same beside the midline, over the column's marrow: tighter, since it decides where
#: a body ends, and psoas beside it comes to half the marrow's signal.
SIDE_LEVEL = (0.6, 1.6)


class Sheets:
    """The sheets parallel to the midline, each straightened along the canal once.

    Sheet ``k`` takes slice ``midline[z] + k`` at every row z, ``k * dx`` mm from the
    midline (``dx``: slice spacing, mm); sheet 0 is the column's own straightened midline
    sheet. The labelling of bodies and discs, of the canal and of the fat
    all read the same sheets.
    """

    def __init__(self, img: np.ndarray, col: Column, dx: float = 1.0) -> None:
        self.img, self.col, self.dx = img, col, float(dx)
        self._straight: dict[int, Straightened] = {0: col.straight}
        self._lookup: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    def slices(self, k: int) -> np.ndarray:
        """Slice of sheet ``k`` at each row (may fall outside the image)."""
        return self.col.midline + k

    def inside(self, k: int) -> np.ndarray:
        """Rows where sheet ``k`` lies in the image."""
        xs = self.slices(k)
        return (xs >= 0) & (xs < self.img.shape[0])

    def __getitem__(self, k: int) -> Straightened:
        if k not in self._straight:
            self._straight[k] = straighten(sheet(self.img, self.slices(k)),
                                           self.col.path.astype(float), self.col.spacing_yz)
        return self._straight[k]

    def paint(self, out: np.ndarray, k: int, labels: np.ndarray, *,
              only_empty: bool = False) -> np.ndarray:
        """Write the non-zero straightened labels of sheet ``k`` into ``out``.

        With ``only_empty``, only over voxels still 0. Returns the (Y, Z) labels written
        (rows outside the image left out).
        """
        if self._lookup is None:  # every sheet shares the centre line, so one lookup
            self._lookup = slice_lookup(self[0], out.shape[1:], self.col.spacing_yz)
        plane = to_slice(self[k], labels, out.shape[1:], self.col.spacing_yz, self._lookup)
        xs, z = self.slices(k), np.flatnonzero(self.inside(k))
        rows = out[xs[z], :, z]  # (n, Y)
        put = plane[:, z].T > 0
        if only_empty:
            put &= rows == 0
        rows[put] = plane[:, z].T[put]
        out[xs[z], :, z] = rows
        return np.where(put.T, plane[:, z], 0)


def fronts_of(st: Straightened, segs: list[ColumnSegment], t0: float, marrow: float
              ) -> list[float]:
    """Anterior margin per segment, mm: measured for bodies, the neighbours' for the rest."""
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


def _core_level(st: Straightened, seg: ColumnSegment, t0: float, front: float) -> float:
    """Median of a segment's core (0 when empty).

    The core is its middle 60 %, from 3 mm in front of the canal to 4 mm short of its
    anterior margin.
    """
    core = (st.s >= seg.centre - 0.3 * seg.length) & (st.s <= seg.centre + 0.3 * seg.length)
    strip = (st.t >= t0 + 3.0) & (st.t <= max(t0 + 4.0, front - 4.0))
    vals = st.image[core][:, strip]
    return float(np.median(vals)) if vals.size else 0.0


def local_marrow(st: Straightened, segs: list[ColumnSegment], t0: float,
                 fronts: list[float], period: float) -> list[float]:
    """Per segment, the median core level of the bodies within 2.5 level spacings of it.

    A coil's falloff along the spine and the marrow's changes from level to level leave
    a body far from the median of the whole column; its neighbours share them. A stretch
    at the end of the column that is no body is still compared with the bodies next to
    it, not with itself.
    """
    bodies = [(seg.centre, _core_level(st, seg, t0, f))
              for seg, f in zip(segs, fronts, strict=True) if seg.kind == "body"]
    everywhere = float(np.median([v for _, v in bodies])) if bodies else 1.0
    out = []
    for seg in segs:
        near = [v for c, v in bodies if abs(c - seg.centre) <= 2.5 * period]
        out.append(float(np.median(near)) if near else everywhere)
    return out


def present_in(st: Straightened, segs: list[ColumnSegment], t0: float,
               marrow: float | list[float], fronts: list[float],
               possible: list[bool] | None = None,
               bounds: tuple[float, float] = BODY_LEVEL) -> list[bool]:
    """Which segments a slice shows: bodies near the marrow's level, discs between two.

    A body is seen where the median of its core over the marrow's level lies within
    ``bounds``: one level, or one per segment (:func:`local_marrow`). ``possible`` (per
    segment) rules bodies out beforehand.
    """
    present = []
    for i, (seg, front) in enumerate(zip(segs, fronts, strict=True)):
        if possible is not None and not possible[i]:
            present.append(False)
            continue
        here = marrow[i] if isinstance(marrow, list) else float(marrow)
        level = _core_level(st, seg, t0, front) / here if here > 0 else 0.0
        present.append(seg.kind == "body" and bounds[0] <= level <= bounds[1])
    for i, seg in enumerate(segs):
        if seg.kind == "disc":  # between two bodies seen, or one at the edge of the view
            near = [present[j] for j in (i - 1, i + 1) if 0 <= j < len(segs)]
            present[i] = all(near) if not seg.truncated else any(near)
    return present


def label_sheets(sheets: Sheets, t0: float, marrow: float, fronts: list[float],
                 keys: list[int], out: np.ndarray) -> dict[int, int]:
    """Label the sheets parallel to the midline, outwards, while a body is seen.

    Each sheet gets its own anterior margins (the column narrows away from the midline); the
    posterior wall of the midline bounds the others, where pedicles continue the bodies'
    marrow backwards without an edge. A body is seen in a sheet while its signal stays near
    the marrow's (:func:`present_in`), no further from the midline than
    :data:`HALF_WIDTH_PER_DEPTH` times its depth there, and not beyond a sheet where it was
    lost after being seen (a body is convex): beside the body, psoas and pedicles may have
    the marrow's signal. Its anterior margin there is no further forward than a
    half-ellipse over that half-width allows, since its cross-section rounds off towards
    its sides while its back stays flat. Returns the number of sheets each label was found
    in.
    """
    col = sheets.col
    segs, seen = col.segments, {}
    st = sheets[0]
    refs = local_marrow(st, segs, t0, fronts, col.period)
    present = present_in(st, segs, t0, refs, fronts)
    walls = [posterior_margin(st, seg, t0, marrow) if seg.kind == "body" else np.nan
             for seg in segs]
    wall = margin_line(st, segs, walls)
    level = col.level
    front = margin_line(st, segs, fronts)
    lines = disc_lines(st, segs, level, wall, front)
    lab = label_slice(st, segs, keys, t0, front, present, wall, level, lines)
    _count(sheets.paint(out, 0, lab), seen)
    depth = [max(f - w, 1.0) if seg.kind == "body" else np.nan
             for seg, f, w in zip(segs, fronts, walls, strict=True)]
    shown = present
    for step in (-1, 1):
        k = step
        gone = [False] * len(segs)
        had = list(shown)  # seen in this sheet or one nearer the midline
        while sheets.inside(k).any():
            st = sheets[k]
            d = abs(k) * sheets.dx
            reach = [d <= HALF_WIDTH_PER_DEPTH * dp if seg.kind == "body" else True
                     for seg, dp in zip(segs, depth, strict=True)]
            present = present_in(st, segs, t0, marrow, fronts,
                                 [r and not g for r, g in zip(reach, gone, strict=True)],
                                 SIDE_LEVEL)
            gone = [g or (seg.kind == "body" and h and not p)
                    for g, h, p, seg in zip(gone, had, present, segs, strict=True)]
            had = [h or p for h, p in zip(had, present, strict=True)]
            if not any(p for p, s in zip(present, segs, strict=True) if s.kind == "body"):
                break
            here = [min(anterior_margin(st, seg, t0, marrow),
                        w + dp * np.sqrt(max(0.0, 1.0 - (d / (HALF_WIDTH_PER_DEPTH * dp)) ** 2)))
                    if seg.kind == "body" and ok else np.nan
                    for seg, ok, w, dp in zip(segs, present, walls, depth, strict=True)]
            lab = label_slice(st, segs, keys, t0, margin_line(st, segs, here), present, wall,
                              level, lines)
            _count(sheets.paint(out, k, lab), seen)
            k += step
    return seen


def _count(written: np.ndarray, seen: dict[int, int]) -> None:
    """Count one more sheet for every label written."""
    for key in np.unique(written):
        if key:
            seen[int(key)] = seen.get(int(key), 0) + 1


def drop_fragments(out: np.ndarray, seen: dict[int, int], segs: list[ColumnSegment],
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


def label_canal(sheets: Sheets, sac: float | None, out: np.ndarray) -> None:
    """Canal label: CSF connected to the canal path above the end of the sac.

    In each sheet parallel to the midline, CSF is taken as brighter than 0.7 of the path's
    median signal (epidural fat, about 0.6 of CSF, is left out), within 25 mm of the path.
    """
    col = sheets.col
    ref = np.median(col.straight.image[:, np.abs(col.straight.t) <= 1.0])
    n_x = out.shape[0]
    for k in range(-n_x, n_x):
        if not sheets.inside(k).any():
            continue
        st = sheets[k]
        near = (np.abs(st.t) <= 25.0)[None, :] & (st.s >= (sac or 0.0))[:, None]
        bright = (st.image > 0.7 * ref) & near & st.valid
        seeds = bright & (np.abs(st.t) <= 1.0)[None, :]
        if seeds.sum() < 0.5 * (np.abs(st.t) <= 1.0).sum() * (st.s >= (sac or 0.0)).sum():
            continue  # no canal along the path in this sheet
        canal = ndimage.binary_propagation(seeds, mask=bright)
        sheets.paint(out, k, np.where(canal, NATIVE_CANAL, 0), only_empty=True)


def label_presacral_fat(sheets: Sheets, keys: list[int], fronts: list[float],
                        out: np.ndarray) -> int:
    """Presacral fat: the bright tissue in front of S1, in the sheets that show S1.

    Fat is brighter than 0.35 of the canal's CSF on T2-weighted FSE (about 0.6 of it in fat,
    under 0.1 in muscle); the largest bright piece within 30 mm in front of S1 and reaching
    within 8 mm of its anterior margin is taken. Returns the number of voxels labelled.
    """
    col = sheets.col
    s1 = NATIVE_VERTEBRA["S1"]
    if s1 not in keys:
        return 0
    seg = col.segments[keys.index(s1)]
    front = fronts[keys.index(s1)]
    ref = float(np.median(col.straight.image[:, np.abs(col.straight.t) <= 1.0]))
    n_x, total = out.shape[0], 0
    for k in range(-n_x, n_x):
        inside = sheets.inside(k)
        xs = sheets.slices(k)
        if not inside.any() or not (out[xs[inside], :, np.flatnonzero(inside)] == s1).any():
            continue
        st = sheets[k]
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
        written = sheets.paint(out, k, np.where(fat, NATIVE_PRESACRAL_FAT, 0), only_empty=True)
        total += int((written > 0).sum())
    return total
