"""The segmenter itself: :func:`segment_spine` runs the steps of the package in order."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..._version import __version__
from ...errors import GeometryError
from ...unwrap import WRAP_JUMP, WRAPPED_FRACTION
from ...volume import Volume
from ..levels import NATIVE_CANAL, NATIVE_PRESACRAL_FAT, NATIVE_VERTEBRA, native_disc_labels
from .column import ColumnSegment, Straightened, straighten
from .locate import (
    MIN_CANAL_SCORE,
    STRIP_MM,
    Column,
    body_marrow,
    find_column,
    normalised,
    sac_ends,
    sheet,
)
from .naming import LevelNames, name_from_reference, name_levels, parse_level_range
from .sagittal import SagittalFrame, check_hint, sagittal_frame
from .sheets import (
    Sheets,
    drop_fragments,
    fronts_of,
    label_canal,
    label_presacral_fat,
    label_sheets,
)

__all__ = ["Segmentation", "segment_spine"]


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
        the levels (:func:`~discmri.spine.segmentation.complete_labels`).

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
    img = normalised(frame)
    sp = frame.spacing[1:]
    col = find_column(frame, img)
    st = col.straight
    segs = col.segments
    sac, lower_ends = sac_ends(col)
    hint_s = None if hint_index is None else _hint_arc(st, hint_index, sp)
    if reference is not None:
        names = name_from_reference(segs, _votes(frame, col, reference))
    else:
        names = name_levels(segs, sac_end=sac, hint_s=hint_s, levels=level_names,
                            lower_ends=lower_ends)
        if names.sac_end is not None:  # a lower end of the sac, when the count rests on it
            sac = names.sac_end
    keys, meaning = _keys(segs, names)
    t0 = col.front
    marrow = body_marrow(col)
    fronts = fronts_of(st, segs, t0, marrow)
    out = np.zeros(frame.data.shape, np.int16)
    sheets = Sheets(img, col, float(frame.spacing[0]))
    seen = label_sheets(sheets, t0, marrow, fronts, keys, out)
    drop_fragments(out, seen, segs, keys)
    label_canal(sheets, sac, out)
    fat = label_presacral_fat(sheets, keys, fronts, out)
    labels = volume.with_data(frame.to_input(out), LabelScheme="native")
    disc_levels = tuple(n for n in names.discs[::-1] if n and native_disc_labels(
        n.split("-")[0])[0] in seen)
    sidecar = _sidecar(col, names, keys, meaning, seen, sac)
    if frame.wrapped > WRAPPED_FRACTION:
        sidecar["intensity"] = (
            f"wrapped at 256 ({100 * frame.wrapped:.1f} % of neighbouring voxels jump by "
            f"{WRAP_JUMP} or more); unwrapped as a phase before segmenting")
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


def _votes(frame: SagittalFrame, col: Column, reference: np.ndarray) -> list[int | None]:
    """Per segment, the reference label most common in its core on the midline sheet."""
    ref = frame.from_input(np.asarray(reference))
    if ref.shape != frame.data.shape:
        raise GeometryError(f"the label map has shape {reference.shape}; the image "
                            f"{frame.volume.spatial_shape}: they must share a grid")
    st = straighten(sheet(ref.astype(np.float32), col.midline), col.path.astype(float),
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


def _sidecar(col: Column, names: LevelNames, keys: list[int], meaning: dict[int, str],
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
