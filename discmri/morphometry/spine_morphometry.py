"""Measure every disc and vertebral body of a label map on its image."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from ..errors import GeometryError, MeasurementError, ParameterError
from ..geometry import check_same_grid, lr_axis, voxel_to_world
from ..spine.labels import DiscLevel, SpineLevels
from ..volume import Volume
from .frame import Frame, frame_from_points
from .structure import StructureGeometry, measure_structure

__all__ = ["HEIGHT_POSITIONS", "SpineMorphometry", "measure_spine"]

#: Default positions of the anterior, middle and posterior heights: fractions of the AP depth
#: from the anterior margin.
HEIGHT_POSITIONS = (0.1, 0.5, 0.9)

#: A disc across fewer sagittal slices than this has a coarse left-right axis (its shape
#: across the slices sets it; 5 slices of 4 mm span 20 mm, under half a lumbar disc's width).
MIN_SLICES = 5


@dataclass(frozen=True)
class SpineMorphometry:
    """Geometry of the discs and vertebral bodies of one image.

    Attributes
    ----------
    levels : SpineLevels
        What the label map says (scheme, levels, problems).
    discs : dict of str to StructureGeometry
        Measured discs by level name.
    vertebrae : dict of str to StructureGeometry
        Measured vertebral bodies by name.
    failures : dict of str to str
        Discs or vertebrae not measured, with the reason.
    positions : tuple of float
        Fractions of the depth (from anterior) of the reported heights.
    """

    levels: SpineLevels
    discs: dict[str, StructureGeometry]
    vertebrae: dict[str, StructureGeometry]
    failures: dict[str, str] = field(default_factory=dict)
    positions: tuple[float, ...] = HEIGHT_POSITIONS


def _lr_note(name: str, frame: Frame, slices: int) -> str | None:
    """What limited the disc's left-right axis, if anything."""
    if not frame.lr_from_shape:
        return (f"{name}: left-right axis not set by the disc's shape ({slices} slices across "
                "it, or a footprint about as wide as deep): the scanner's x axis was used, so "
                "a rolled or laterally bent disc is measured slightly obliquely")
    if slices < MIN_SLICES:
        return (f"{name}: spans only {slices} slices left-right, so its left-right axis "
                "(from its shape across them) is coarse")
    return None


def _median_line_shift(structures) -> float | None:
    """Median of the endplates' marrow-to-line-centre distances (None: none measured)."""
    values = [v for g in structures for v in g.line_shift_mm if np.isfinite(v)]
    return float(np.median(values)) if values else None


def _touches_in_plane(mask: np.ndarray, lr: int) -> bool:
    for axis in range(3):
        if axis == lr:
            continue
        ends = np.take(mask, [0, mask.shape[axis] - 1], axis=axis)
        if ends.any():
            return True
    return False


def _disc_frame(lab: np.ndarray, mask: np.ndarray, affine: np.ndarray, level: DiscLevel) -> Frame:
    """The disc's starting frame, ``si`` towards its cranial body (world +z without one)."""
    pts = voxel_to_world(affine, np.argwhere(mask))
    cranial = None
    if level.cranial_label is not None:
        cranial = voxel_to_world(affine, np.argwhere(lab == level.cranial_label)).mean(axis=0)
    elif level.caudal_label is not None:
        below = voxel_to_world(affine, np.argwhere(lab == level.caudal_label)).mean(axis=0)
        cranial = 2 * pts.mean(axis=0) - below
    return frame_from_points(pts, cranial=cranial)


def _vertebra_frame(body: np.ndarray, affine: np.ndarray, discs: list[StructureGeometry],
                    normals: list[np.ndarray]) -> Frame:
    """A body's frame: ``si`` the mean of the adjacent endplate normals, ``lr`` the discs'."""
    pts = voxel_to_world(affine, np.argwhere(body))
    if not normals:
        return frame_from_points(pts)
    # an axis has no preferred sign: the discs' may point opposite ways (one-slice images,
    # whose discs take the scanner's x axis either way), and their plain sum would vanish
    ref = discs[0].frame.lr
    lr = np.sum([d.frame.lr if d.frame.lr @ ref >= 0 else -d.frame.lr for d in discs], axis=0)
    si = np.sum(normals, axis=0)
    si = si - (si @ lr) / (lr @ lr) * lr
    si /= np.linalg.norm(si)
    lr = lr - (lr @ si) * si
    lr /= np.linalg.norm(lr)
    ap = np.cross(si, lr)
    if ap @ np.sum([d.frame.ap for d in discs], axis=0) < 0:
        ap = -ap
    return Frame(pts.mean(axis=0), lr, ap, si)


def _split_endplates(lab: np.ndarray, affine: np.ndarray, level: DiscLevel, frame: Frame):
    """Endplate voxels of a disc (SPINEPS) above and below its mid-plane."""
    ep = np.isin(lab, level.endplate_labels) if level.endplate_labels else None
    if ep is None or not ep.any():
        empty = np.zeros(lab.shape, bool)
        return empty, empty
    ijk = np.argwhere(ep)
    _, q, _ = frame.to_local(voxel_to_world(affine, ijk))
    up = np.zeros(lab.shape, bool)
    low = np.zeros(lab.shape, bool)
    up[tuple(ijk[q > 0].T)] = True
    low[tuple(ijk[q <= 0].T)] = True
    return up, low


def _body(vertebra: np.ndarray, affine: np.ndarray, discs: list[StructureGeometry],
          margin_mm: float = 5.0) -> np.ndarray:
    """The vertebral body of a whole-vertebra label.

    The part within the adjacent discs' AP extent (± ``margin_mm``): this leaves out the arch
    and processes behind the canal, which TotalSpineSeg, SPINEPS and SPIDER label with the body.
    """
    if not discs:
        return vertebra.copy()
    ijk = np.argwhere(vertebra)
    world = voxel_to_world(affine, ijk)
    keep = np.ones(len(ijk), bool)
    for disc in discs:
        p, _, _ = disc.frame.to_local(world)
        keep &= (p >= disc.posterior - margin_mm) & (p <= disc.anterior + margin_mm)
    out = np.zeros(vertebra.shape, bool)
    out[tuple(ijk[keep].T)] = True
    return out


def measure_spine(
    image: Volume,
    labels: Volume,
    levels: SpineLevels,
    *,
    positions: Sequence[float] = HEIGHT_POSITIONS,
    window_mm: float | None = None,
    edges: str = "marrow",
    parasagittal_mm: float = 0.0,
) -> SpineMorphometry:
    """Sub-voxel geometry of every disc (with or without its vertebral bodies) and body.

    Parameters
    ----------
    image : Volume
        T2-weighted image (3-D).
    labels : Volume
        Label map on the image's grid.
    levels : SpineLevels
        Levels read from ``labels`` (:func:`discmri.spine.read_levels`).
    positions : sequence of float
        Fractions of the AP depth from the anterior margin where heights are taken
        (anterior, middle, posterior; default 10 %, 50 %, 90 %).
    window_mm : float, optional
        Half-width along AP of the local fit giving each height (default: the larger of 2 mm
        and three in-plane voxels).
    edges : {"marrow", "endplate", "labels"}
        Where the endplate edges are placed (:data:`~discmri.morphometry.EDGE_MODES`, as in
        :func:`~discmri.morphometry.measure_structure`; default the marrow boundary). With
        ``"endplate"``, a structure whose endplates show no dark line (a disc as dark as the
        line) is moved by the median distance from marrow boundary to line centre over the
        image's discs, and says so in its notes.
    parasagittal_mm : float
        0 (default): heights in each structure's mid-sagittal plane; otherwise from the mean
        of it and the planes this far (mm) to either side
        (:func:`~discmri.morphometry.structure.measure_structure`).

    Returns
    -------
    SpineMorphometry
        A disc or body that cannot be measured is listed in ``failures`` with the reason;
        the others are still measured.

    Raises
    ------
    GeometryError
        When the label map is not on the image's grid or the image is not 3-D.
    """
    if image.data.ndim != 3:
        raise GeometryError(f"image {image.source or ''} has shape {image.shape}; expected a "
                            "3-D image (one T2-weighted volume)")
    check_same_grid(image, labels, what="label map")
    positions = tuple(float(f) for f in positions)
    if len(positions) != 3 or not all(0.0 < f < 1.0 for f in positions):
        raise ParameterError(f"positions must be three fractions in (0, 1), got {positions}")
    affine = np.asarray(image.affine, float)
    img = np.asarray(image.data)
    lab = np.asarray(labels.data).astype(np.int32)
    lr = lr_axis(affine)
    discs: dict[str, StructureGeometry] = {}
    failures: dict[str, str] = {}
    # endplate voxels (SPINEPS) on each side of each disc: bone of the body on that side
    endplates: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    wanted_discs = {}
    for level in levels.discs:
        mask = np.isin(lab, level.labels)
        if _touches_in_plane(mask, lr):
            failures[level.name] = "disc reaches the edge of the image in-plane"
            continue
        if not mask.any():
            failures[level.name] = "disc label is empty"
            continue
        frame = _disc_frame(lab, mask, affine, level)
        endplates[level.name] = _split_endplates(lab, affine, level, frame)
        wanted_discs[level.name] = (level, mask, frame)

    def measure_disc(name: str, line_shift_mm: float | None = None) -> StructureGeometry:
        level, mask, frame = wanted_discs[name]
        ep_up, ep_low = endplates[name]
        # A disc-only map (or a missing body) still gives the disc: the bone across an
        # endplate is then whatever is not the disc, and the edge is found in the image.
        neighbours = [None if label is None else (lab == label) | ep
                      for label, ep in ((level.cranial_label, ep_up),
                                        (level.caudal_label, ep_low))]
        geometry = measure_structure(
            img, lab, affine, name=name, kind="disc", inside=level.labels,
            above=None, below=None, frame=frame, positions=positions,
            window_mm=window_mm, edges=edges, parasagittal_mm=parasagittal_mm,
            masks=(mask, *neighbours), line_shift_mm=line_shift_mm)
        slices = int(np.unique(np.nonzero(mask)[lr]).size)  # across the slice axis
        notes = [_lr_note(name, frame, slices)]
        missing = [n for n, v in ((level.cranial, level.cranial_label),
                                  (level.caudal, level.caudal_label)) if v is None]
        if missing:
            notes.append(f"{name}: no vertebral body {' or '.join(missing)} in the label map; "
                         "disc measured from its label and the image, indices that need the "
                         "bodies are n/a")
        return replace(geometry, notes=(*geometry.notes, *(n for n in notes if n)))

    for name in wanted_discs:
        try:
            discs[name] = measure_disc(name)
        except MeasurementError as exc:
            failures[name] = str(exc)
    # edges="endplate": a disc as dark as the endplate line shows it at neither endplate; it
    # takes the median distance from marrow boundary to line centre over the other endplates
    shift = _median_line_shift(discs.values())
    for name, geometry in list(discs.items()):
        if shift is not None and not np.isfinite(geometry.line_shift_mm).any():
            discs[name] = measure_disc(name, shift)
    vertebrae: dict[str, StructureGeometry] = {}
    above_disc = {lv.caudal: lv for lv in levels.discs}
    below_disc = {lv.cranial: lv for lv in levels.discs}
    wanted = []
    for lv in levels.discs:
        for name in (lv.cranial, lv.caudal):
            if name not in wanted:
                wanted.append(name)
    for name in wanted:
        label = levels.vertebra_label(name)
        if label is None:
            continue
        if name == "S1":
            failures[name] = ("S1 is the sacrum: no vertebral body height (DHI at the disc "
                              "above uses the cranial body only)")
            continue
        up, low = above_disc.get(name), below_disc.get(name)
        adjacent = [discs[d.name] for d in (up, low) if d is not None and d.name in discs]
        body = _body(lab == label, affine, adjacent)
        for disc, side in ((up, 1), (low, 0)):  # the disc above lends its lower endplate
            if disc is not None and disc.name in endplates:
                body |= endplates[disc.name][side]
        if _touches_in_plane(body, lr):
            failures[name] = f"vertebral body {name} reaches the edge of the image in-plane"
            continue
        normals = []
        if up is not None and up.name in discs:
            normals.append(discs[up.name].normal_lower)
        if low is not None and low.name in discs:
            normals.append(discs[low.name].normal_upper)
        try:
            vertebrae[name] = measure_structure(
                img, lab, affine, name=name, kind="vertebra", inside=[label], above=None,
                below=None, frame=_vertebra_frame(body, affine, adjacent, normals),
                positions=positions,
                window_mm=window_mm, edges=edges, parasagittal_mm=parasagittal_mm,
                masks=(body, None if up is None else np.isin(lab, up.labels),
                       None if low is None else np.isin(lab, low.labels)),
                line_shift_mm=shift)
        except MeasurementError as exc:
            failures[name] = str(exc)
    return SpineMorphometry(levels, discs, vertebrae, failures, positions)

