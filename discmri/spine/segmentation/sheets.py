"""Labelling the sheets parallel to the midline: bodies and discs, canal, presacral fat."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ..levels import NATIVE_CANAL, NATIVE_PRESACRAL_FAT, NATIVE_VERTEBRA
from .column import ColumnSegment, Straightened, straighten
from .locate import Column, sheet
from .regions import (
    anterior_margin,
    disc_lines,
    label_slice,
    margin_line,
    posterior_margin,
    to_slice,
)

__all__ = ["drop_fragments", "fronts_of", "label_canal", "label_presacral_fat", "label_sheets",
           "present_in", "put_sheet"]


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


def present_in(st: Straightened, segs: list[ColumnSegment], t0: float, marrow: float,
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


def label_sheets(img: np.ndarray, col: Column, t0: float, marrow: float,
                  fronts: list[float], keys: list[int], out: np.ndarray) -> dict[int, int]:
    """Label the sheets parallel to the midline, outwards, while a body is seen.

    Each sheet gets its own anterior margins (the column narrows away from the midline); the
    posterior wall of the midline bounds the others, where pedicles continue the bodies'
    marrow backwards without an edge. Returns the number of sheets each label was found in.
    """
    segs, seen = col.segments, {}
    st = straighten(sheet(img, col.midline), col.path.astype(float), col.spacing_yz)
    present = present_in(st, segs, t0, marrow, fronts)
    walls = [posterior_margin(st, seg, t0, marrow) if seg.kind == "body" else np.nan
             for seg in segs]
    wall = margin_line(st, segs, walls)
    level = col.level
    front = margin_line(st, segs, fronts)
    lines = disc_lines(st, segs, level, wall, front)
    lab = label_slice(st, segs, keys, t0, front, present, wall, level, lines)
    put_sheet(out, col.midline, st, lab, col, seen)
    for step in (-1, 1):
        k = step
        while ((col.midline + k >= 0) & (col.midline + k < img.shape[0])).any():
            xs = col.midline + k
            st = straighten(sheet(img, xs), col.path.astype(float), col.spacing_yz)
            present = present_in(st, segs, t0, marrow, fronts)
            if not any(p for p, s in zip(present, segs, strict=True) if s.kind == "body"):
                break
            here = [anterior_margin(st, seg, t0, marrow) if seg.kind == "body" and ok
                    else np.nan for seg, ok in zip(segs, present, strict=True)]
            lab = label_slice(st, segs, keys, t0, margin_line(st, segs, here), present, wall,
                              level, lines)
            put_sheet(out, xs, st, lab, col, seen)
            k += step
    return seen


def put_sheet(out: np.ndarray, xs: np.ndarray, st: Straightened, lab: np.ndarray, col: Column,
         seen: dict[int, int]) -> None:
    """Write a straightened sheet's labels into the slices ``xs[z]`` of each row z."""
    sheet = to_slice(st, lab, out.shape[1:], col.spacing_yz)
    z = np.flatnonzero((xs >= 0) & (xs < out.shape[0]))
    out[xs[z], :, z] = sheet[:, z].T
    for key in np.unique(sheet[:, z]):
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


def label_canal(img: np.ndarray, col: Column, sac: float | None, out: np.ndarray) -> None:
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
        st = straighten(sheet(img, xs), col.path.astype(float), col.spacing_yz)
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


def label_presacral_fat(img: np.ndarray, col: Column, keys: list[int], fronts: list[float],
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
        st = straighten(sheet(img, xs), col.path.astype(float), col.spacing_yz)
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
