"""Gaps in a label map: discs between consecutive bodies, bodies between consecutive discs.

Vertebra segmenters (and CT-trained models) label the bones only. Between two consecutive
vertebral bodies the disc is the unlabelled space that has the upper body directly above it and
the lower body directly below it, along the line joining the two bodies' centres (within
``reach_mm``): rays from the canal, from the soft tissue in front of the spine or from outside
the column meet something else first, or nothing. Of that space the largest connected piece is
kept (the spaces between the arches' processes, which rays also find, are separate pieces). The
derived label is a guide, like any label: the endplate edges are still found in the image.

The same geometry gives a disc-only map its vertebral bodies: between two consecutive discs
the body is the unlabelled space with the upper disc directly above it and the lower disc
directly below it (within ``reach_mm`` = 40, more than a lumbar body's height). Only the bodies
between two discs can be found so: the body above the top disc and the sacrum are not.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from scipy import ndimage

from ..geometry import voxel_to_world, world_to_voxel
from ..spine.labels import DiscLevel, SpineLevels, nearest_labels, next_vertebra

__all__ = ["DERIVED_BODY_NOTE", "DERIVED_NOTE", "derive_gap_bodies", "derive_gap_discs",
           "gap_disc"]

#: The note of a disc whose label was derived.
DERIVED_NOTE = "disc label derived from the gap between its vertebral bodies (none in the map)"

#: The note of a disc next to a vertebral body whose label was derived.
DERIVED_BODY_NOTE = ("vertebral body {name} derived from the space between its discs (no "
                     "vertebra labels in the map)")

#: Longest distance (mm) from a derived body's voxel to either disc along their centres' line.
BODY_REACH_MM = 40.0


def gap_disc(labels: np.ndarray, affine: np.ndarray, upper: int, lower: int, *,
             reach_mm: float = 20.0) -> np.ndarray:
    """Mask of the unlabelled gap between two vertebral bodies.

    Parameters
    ----------
    labels : (X, Y, Z) integer ndarray
    affine : (4, 4) ndarray
    upper, lower : int
        Labels of the cranial and caudal vertebrae.
    reach_mm : float
        Longest distance from a gap voxel to either body along the line of their centres.

    Returns
    -------
    (X, Y, Z) bool ndarray
        Empty when the two bodies do not face each other.
    """
    lab = np.asarray(labels)
    a, b = lab == upper, lab == lower
    out = np.zeros(lab.shape, bool)
    if not (a.any() and b.any()):
        return out
    ijk_a, ijk_b = np.argwhere(a), np.argwhere(b)
    axis = voxel_to_world(affine, ijk_a).mean(axis=0) - voxel_to_world(affine, ijk_b).mean(axis=0)
    axis /= np.linalg.norm(axis)
    lo = np.minimum(ijk_a.min(0), ijk_b.min(0))
    hi = np.maximum(ijk_a.max(0), ijk_b.max(0)) + 1
    box = tuple(slice(int(s), int(e)) for s, e in zip(lo, hi, strict=True))
    ijk = np.argwhere(lab[box] == 0) + lo
    if len(ijk) == 0:
        return out
    step = 0.5 * float(np.linalg.norm(np.asarray(affine)[:3, :3], axis=0).min())
    offsets = np.arange(1, int(reach_mm / step) + 1) * step
    world = voxel_to_world(affine, ijk)

    def first_met(direction: int) -> np.ndarray:
        """Label of the first labelled voxel met from each candidate along ±axis (0: none)."""
        met = np.zeros(len(ijk), lab.dtype)
        pending = np.ones(len(ijk), bool)
        for d in offsets:
            if not pending.any():
                break
            idx = np.rint(world_to_voxel(affine, world[pending] + direction * d * axis))
            idx = idx.astype(int)
            inside = np.all((idx >= 0) & (idx < np.array(lab.shape)), axis=1)
            values = np.zeros(len(idx), lab.dtype)
            values[inside] = lab[tuple(idx[inside].T)]
            rows = np.flatnonzero(pending)
            hit = values != 0
            met[rows[hit]] = values[hit]
            pending[rows[hit]] = False
        return met

    gap = (first_met(+1) == upper) & (first_met(-1) == lower)
    out[tuple(ijk[gap].T)] = True
    pieces, n = ndimage.label(out, structure=np.ones((3, 3, 3), bool))
    if n > 1:
        sizes = np.bincount(pieces.ravel())[1:]
        out = pieces == 1 + int(np.argmax(sizes))
    return out


def _endplates_as_bodies(lab: np.ndarray, plates: list[int], bodies: list[int]) -> np.ndarray:
    """A copy of the map with each endplate voxel relabelled as the nearest vertebra's."""
    if not plates or not bodies:
        return lab
    plate = np.isin(lab, plates)
    bone = np.isin(lab, bodies)
    if not (plate.any() and bone.any()):
        return lab
    out = lab.copy()
    out[plate] = nearest_labels(lab, bone, plate)
    return out


def derive_gap_discs(labels: np.ndarray, affine: np.ndarray,
                     levels: SpineLevels) -> tuple[np.ndarray, SpineLevels, tuple[str, ...]]:
    """Add a disc between every pair of consecutive vertebrae that has none in the map.

    Parameters
    ----------
    labels : (X, Y, Z) integer ndarray
    affine : (4, 4) ndarray
    levels : SpineLevels
        From :func:`discmri.spine.read_levels`.

    Returns
    -------
    labels : ndarray
        A copy with each derived disc under a new integer (above every value in use).
    levels : SpineLevels
        With the derived discs, cranial to caudal.
    derived : tuple of str
        Names of the derived discs.
    """
    lab = np.asarray(labels)
    present = {lv.cranial for lv in levels.discs}
    vert = list(levels.vertebrae)
    loose = dict(levels.loose_endplates)
    # endplates of a missing disc (SPINEPS 2xx) are bone: for the rays, the nearer body's
    ray_lab = _endplates_as_bodies(lab, [v for vs in loose.values() for v in vs],
                                   [v for _, v in vert])
    new = {}
    out = None
    value = int(lab.max()) + 1
    for (up, up_label), (low, low_label) in zip(vert[:-1], vert[1:], strict=False):
        if up in present or next_vertebra(up, {n for n, _ in vert}) != low:
            continue
        mask = gap_disc(ray_lab, affine, up_label, low_label)
        if mask.sum() < 8:
            continue
        if out is None:
            out = lab.astype(np.int32, copy=True)
        out[mask] = value
        new[up] = DiscLevel(f"{up}-{low}", up, low, (value,), (), up_label, low_label,
                            tuple(loose.get(up, ())))
        value += 1
    if not new:
        return lab, levels, ()
    order = [lv for lv in levels.discs] + list(new.values())
    names = [n for n, _ in vert]
    order.sort(key=lambda lv: names.index(lv.cranial) if lv.cranial in names else -1)
    derived = tuple(lv.name for lv in new.values())
    gone = {f"disc {lv.name} is missing between its vertebrae" for lv in new.values()}
    gone |= {p for p in levels.problems for up in new
             if p.startswith(f"endplate label(s) {list(loose.get(up, ()))} without a disc")}
    problems = tuple(p for p in levels.problems if p not in gone)
    return out, replace(levels, discs=tuple(order), problems=problems), derived


def derive_gap_bodies(labels: np.ndarray, affine: np.ndarray,
                      levels: SpineLevels) -> tuple[np.ndarray, SpineLevels, tuple[str, ...]]:
    """Add the vertebral body between every pair of consecutive discs when it is not in the map.

    Parameters
    ----------
    labels : (X, Y, Z) integer ndarray
    affine : (4, 4) ndarray
    levels : SpineLevels
        From :func:`discmri.spine.read_levels` (after :func:`derive_gap_discs`).

    Returns
    -------
    labels : ndarray
        A copy with each derived body under a new integer (above every value in use).
    levels : SpineLevels
        With the derived vertebrae, and the discs next to them knowing their labels.
    derived : tuple of str
        Names of the derived vertebrae (``"L4"``).
    """
    lab = np.asarray(labels)
    present = {name for name, _ in levels.vertebrae}
    discs = list(levels.discs)
    pairs = [(a, b) for a, b in zip(discs[:-1], discs[1:], strict=False)
             if a.caudal == b.cranial and a.caudal not in present]
    if not pairs:
        return lab, levels, ()
    # a disc's labels (annulus, nucleus, and the endplates lining it) as one, for the rays
    ray_lab = lab.astype(np.int32, copy=True)
    for d in discs:
        ray_lab[np.isin(lab, d.labels + d.nucleus_labels + d.endplate_labels)] = d.labels[0]
    out = lab.astype(np.int32, copy=True)
    value = int(lab.max()) + 1
    found: dict[str, int] = {}
    for upper, lower in pairs:
        mask = gap_disc(ray_lab, affine, upper.labels[0], lower.labels[0],
                        reach_mm=BODY_REACH_MM)
        if mask.sum() < 8:
            continue
        out[mask] = value
        found[upper.caudal] = value
        value += 1
    if not found:
        return lab, levels, ()
    new_discs = tuple(replace(d, cranial_label=found.get(d.cranial, d.cranial_label),
                              caudal_label=found.get(d.caudal, d.caudal_label)) for d in discs)
    order = [d.cranial for d in discs] + [discs[-1].caudal]
    vertebrae = sorted([*levels.vertebrae, *found.items()],
                       key=lambda nv: order.index(nv[0]) if nv[0] in order else len(order))
    gone = {p for p in levels.problems for name in found
            if p.startswith("disc ") and "no vertebral body" in p and name in p}
    problems = tuple(p for p in levels.problems if p not in gone)
    return out, replace(levels, vertebrae=tuple(vertebrae), discs=new_discs,
                        problems=problems), tuple(found)
