"""Disc levels from a label map in any supported scheme, with what is wrong with it.

Nothing is relabelled silently: unknown integers, structures in several pieces, missing
levels, discs without both vertebral bodies and transitional anatomy (L6, T13) are reported in
``problems``; levels are named from the labels as given.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from ..errors import DiscMRIError
from .schemes import _ORDER, SCHEMES, LabelScheme, load_scheme

__all__ = ["DiscLevel", "SpineLevels", "convert_labels", "detect_scheme", "nearest_labels",
           "next_vertebra", "read_levels"]

_OPTIONAL = ("T13", "L6")  # transitional vertebrae: expected only when present


@dataclass(frozen=True)
class DiscLevel:
    """One disc and its neighbours.

    Attributes
    ----------
    name : str
        ``"L4-L5"``.
    cranial, caudal : str
        Vertebrae above and below.
    labels : tuple of int
        Integers whose union is the disc (annulus and nucleus in the native scheme).
    nucleus_labels : tuple of int
        Nucleus sub-labels (native scheme), else empty.
    cranial_label, caudal_label : int or None
        Labels of the adjacent vertebral bodies, None when absent from the map.
    endplate_labels : tuple of int
        Labels of the endplates lining the disc (SPINEPS), else empty; they are bone.
    """

    name: str
    cranial: str
    caudal: str
    labels: tuple[int, ...]
    nucleus_labels: tuple[int, ...] = ()
    cranial_label: int | None = None
    caudal_label: int | None = None
    endplate_labels: tuple[int, ...] = ()


@dataclass(frozen=True)
class SpineLevels:
    """What a label map says about the spine.

    Attributes
    ----------
    scheme : str
        Scheme used.
    detected : str or None
        Why the scheme was chosen when detected (None when given).
    vertebrae : tuple of (str, int)
        Vertebrae present with their labels, cranial to caudal.
    discs : tuple of DiscLevel
        Discs present, cranial to caudal.
    canal_labels : tuple of int
        Canal labels present.
    problems : tuple of str
        Everything unusual about the map, one sentence each.
    loose_endplates : tuple of (str, tuple of int)
        Endplate labels (SPINEPS) of a disc that is not in the map, by the name of the
        vertebra above it: bone, which joins the nearer vertebral body.
    """

    scheme: str
    detected: str | None
    vertebrae: tuple[tuple[str, int], ...]
    discs: tuple[DiscLevel, ...]
    canal_labels: tuple[int, ...] = ()
    problems: tuple[str, ...] = field(default=())
    loose_endplates: tuple[tuple[str, tuple[int, ...]], ...] = ()

    @property
    def levels(self) -> tuple[str, ...]:
        """Disc level names, cranial to caudal."""
        return tuple(d.name for d in self.discs)

    def disc(self, name: str) -> DiscLevel:
        """The disc called ``name`` (e.g. ``"L4-L5"``)."""
        for d in self.discs:
            if d.name == name:
                return d
        raise KeyError(f"no disc {name!r}; present: {list(self.levels)}")

    def vertebra_label(self, name: str) -> int | None:
        """Label of vertebra ``name``, or None."""
        return dict(self.vertebrae).get(name)


def _consistent(scheme: LabelScheme, values: set[int]) -> bool:
    if scheme.name == "native":  # nucleus labels inside discs, or native extras
        nuclei = {v for v in values if v in scheme.nuclei}
        return any(v - 100 in values for v in nuclei) or bool(values & {301, 302})
    if scheme.name == "spineps":  # endplates 2xx, but none of the native extras
        return not any(300 <= v < 400 for v in values)
    if scheme.name == "spider":
        return not any(100 < v < 200 for v in values)
    return True


def _border_of_2xx(labels: np.ndarray) -> tuple[float, float]:
    """Shares of the outer boundary of the 2xx labels that is vertebra (1–99) and disc (1xx).

    Native nuclei (2xx) lie inside their discs: their border is all disc. SPINEPS endplates
    (2xx) lie between disc and vertebra: about half their border is disc, and the rest is
    vertebra, or background when the map has no vertebrae.
    """
    lab = np.asarray(labels)
    two = (lab >= 200) & (lab < 300)
    ring = ndimage.binary_dilation(two) & ~two
    if not ring.any():
        return 0.0, 1.0
    around = lab[ring]
    return (float(np.mean((around > 0) & (around < 100))),
            float(np.mean((around >= 100) & (around < 200))))


def detect_scheme(
    values: Iterable[int], labels: np.ndarray | None = None
) -> tuple[LabelScheme, str]:
    """Choose the built-in scheme that explains a set of label values.

    A scheme must know every value and be consistent with the map (native nucleus labels sit
    in discs; SPINEPS has no 3xx; SPIDER no 101–199). Native and SPINEPS share their
    integers; when both fit and the map is given, 2xx labels inside the discs (bordered by disc
    all round) are native nuclei, and 2xx labels against the vertebrae, or bordered by disc on
    one side only (a map without vertebrae), SPINEPS endplates.

    Returns
    -------
    scheme : LabelScheme
    reason : str

    Raises
    ------
    DiscMRIError
        When no scheme, or more than one, explains the values.
    """
    present = {int(v) for v in values if int(v) != 0}
    if not present:
        raise DiscMRIError("the label map is empty (all zero)")
    fits = []
    coverage = {}
    for scheme in SCHEMES.values():
        known = len(present & scheme.known) / len(present)
        coverage[scheme.name] = known
        if known == 1.0 and _consistent(scheme, present):
            fits.append(scheme)
    if len(fits) == 1:
        return fits[0], f"detected: every label value is a {fits[0].name} label"
    if labels is not None and {f.name for f in fits} == {"native", "spineps"}:
        bone, disc = _border_of_2xx(labels)
        if bone > 0.15 or disc < 0.8:
            return SCHEMES["spineps"], (f"detected: spineps (its 2xx labels lie against the "
                                        f"vertebrae or outside the discs: {100 * bone:.0f} % "
                                        f"of their border vertebra, {100 * disc:.0f} % disc: "
                                        "endplates)")
        return SCHEMES["native"], (f"detected: native (its 2xx labels lie inside the discs, "
                                   f"{100 * disc:.0f} % of their border disc: nuclei)")
    shown = ", ".join(f"{k} {100 * v:.0f} %" for k, v in coverage.items())
    if not fits:
        raise DiscMRIError(
            f"label values {sorted(present)[:12]}… fit no known scheme (share of values known: "
            f"{shown}); give the scheme or a JSON mapping")
    raise DiscMRIError(
        f"label values {sorted(present)[:12]} fit several schemes "
        f"({', '.join(s.name for s in fits)}); give the scheme")


def next_vertebra(name: str, present: set[str]) -> str:
    """The vertebra below ``name``; transitional ones (T13, L6) only when in ``present``."""
    i = _ORDER.index(name) + 1
    while _ORDER[i] in _OPTIONAL and _ORDER[i] not in present:
        i += 1
    return _ORDER[i]


def read_levels(
    labels: np.ndarray,
    *,
    scheme: str | os.PathLike[str] | LabelScheme = "auto",
    check_pieces: bool = True,
) -> SpineLevels:
    """Find the vertebrae and discs of a label map, cranial to caudal.

    Parameters
    ----------
    labels : (X, Y, Z) integer-valued ndarray
    scheme : "auto", scheme name, JSON file or LabelScheme
    check_pieces : bool
        Report structures made of several connected pieces (26-connectivity).

    Returns
    -------
    SpineLevels
    """
    lab = np.asarray(labels)
    if lab.size == 0 or lab.ndim != 3:
        raise DiscMRIError(f"label map has shape {lab.shape}; expected a 3-D volume")
    if np.issubdtype(lab.dtype, np.floating):
        if not np.isfinite(lab).all() or not np.array_equal(lab, np.round(lab)):
            raise DiscMRIError("label map has non-integer values; expected integer labels")
    lab = lab.astype(np.int32)
    values = set(np.unique(lab).tolist()) - {0}
    detected = None
    if str(scheme) == "auto":
        chosen, detected = detect_scheme(values, lab)
    else:
        chosen = load_scheme(scheme)
        if not values:
            raise DiscMRIError("the label map is empty (all zero)")
    problems: list[str] = []
    unknown = sorted(values - chosen.known)
    if unknown:
        problems.append(f"label values {unknown} are not in the {chosen.name} scheme; ignored")
    if chosen.name == "spider":
        problems.append("SPIDER numbers vertebrae from the bottom: label 1 is taken as L5 "
                        "(wrong with transitional anatomy)")
    vert = sorted(((chosen.vertebrae[v], v) for v in values if v in chosen.vertebrae),
                  key=lambda item: _ORDER.index(item[0]))
    names = {n for n, _ in vert}
    for odd in _OPTIONAL:
        if odd in names:
            problems.append(f"transitional anatomy: {odd} is present; levels are named from the "
                            "labels as given, not renumbered")
    if vert:
        first, last = _ORDER.index(vert[0][0]), _ORDER.index(vert[-1][0])
        for name in _ORDER[first:last + 1]:
            if name not in names and name not in _OPTIONAL:
                problems.append(f"vertebra {name} is missing between {vert[0][0]} and "
                                f"{vert[-1][0]}")
    label_of = dict(vert)
    discs: dict[str, list[int]] = {}
    nuclei: dict[str, list[int]] = {}
    endplates: dict[str, list[int]] = {}
    for v in sorted(values):
        if v in chosen.discs:
            discs.setdefault(chosen.discs[v], []).append(v)
        elif v == chosen.lumbosacral_disc:
            lumbar = [n for n, _ in vert if n.startswith("L")]
            cranial = lumbar[-1] if lumbar else "L5"
            if not lumbar:
                problems.append(f"disc label {v} (above the sacrum) with no lumbar vertebra; "
                                "taken as L5-S1")
            discs.setdefault(cranial, []).append(v)
        elif v in chosen.nuclei:
            nuclei.setdefault(chosen.nuclei[v], []).append(v)
        elif v in chosen.endplates:
            endplates.setdefault(chosen.endplates[v], []).append(v)
    for cranial in nuclei:
        if cranial not in discs:
            problems.append(f"nucleus label(s) {nuclei[cranial]} without a disc label below "
                            f"{cranial}")
    loose = {}
    for cranial in endplates:
        if cranial not in discs:
            loose[cranial] = tuple(endplates[cranial])
            problems.append(f"endplate label(s) {endplates[cranial]} without a disc label below "
                            f"{cranial}: bone of the nearer vertebral body")
    levels = []
    for cranial in sorted(set(discs) | set(nuclei), key=_ORDER.index):
        caudal = next_vertebra(cranial, names)
        name = f"{cranial}-{caudal}"
        level = DiscLevel(name, cranial, caudal,
                          tuple(discs.get(cranial, [])) + tuple(nuclei.get(cranial, [])),
                          tuple(nuclei.get(cranial, [])), label_of.get(cranial),
                          label_of.get(caudal), tuple(endplates.get(cranial, [])))
        missing = [v for v, lbl in ((cranial, level.cranial_label), (caudal, level.caudal_label))
                   if lbl is None]
        if missing:
            problems.append(f"disc {name}: no vertebral body {' or '.join(missing)} in the map")
        levels.append(level)
    present_discs = {lv.cranial for lv in levels}
    for (up, _), (low, _) in zip(vert[:-1], vert[1:], strict=True):
        if up not in present_discs and next_vertebra(up, names) == low:
            problems.append(f"disc {up}-{low} is missing between its vertebrae")
    if check_pieces:
        problems.extend(_pieces(lab, chosen, vert, levels))
    canal = tuple(v for v in sorted(values) if v in chosen.canal)
    return SpineLevels(chosen.name, detected, tuple(vert), tuple(levels), canal,
                       tuple(problems), tuple(loose.items()))


def _pieces(lab, scheme, vert, levels) -> list[str]:
    structures = [(name, (v,)) for name, v in vert]
    structures += [(f"disc {lv.name}", lv.labels) for lv in levels]
    boxes = ndimage.find_objects(lab)
    out = []
    full = np.ones((3, 3, 3), bool)
    for name, ints in structures:
        slices = [boxes[i - 1] for i in ints if i - 1 < len(boxes) and boxes[i - 1] is not None]
        if not slices:
            continue
        box = tuple(slice(min(s[d].start for s in slices), max(s[d].stop for s in slices))
                    for d in range(3))
        mask = np.isin(lab[box], ints)
        pieces, n = ndimage.label(mask, structure=full)
        if n > 1:
            sizes = np.bincount(pieces.ravel())[1:]
            out.append(f"{name}: {n} separate pieces (largest {100 * sizes.max() / sizes.sum():.0f}"
                       " % of its voxels)")
    return out


def nearest_labels(labels: np.ndarray, source: np.ndarray, where: np.ndarray) -> np.ndarray:
    """The label of the nearest ``source`` voxel, at every voxel of ``where`` (in its order).

    E.g. endplate voxels joining the nearest vertebral body.
    """
    _, nearest = ndimage.distance_transform_edt(~np.asarray(source, bool),
                                                return_indices=True)
    return np.asarray(labels)[tuple(idx[where] for idx in nearest)]


def convert_labels(
    labels: np.ndarray,
    source: str | LabelScheme,
    target: str | LabelScheme,
) -> tuple[np.ndarray, tuple[str, ...]]:
    """Relabel a map from one scheme to another, structure by structure.

    Nuclei merge into their disc when the target has no nucleus labels; endplates (SPINEPS)
    join the nearest vertebra when the target has no endplate labels; structures the target
    cannot express (e.g. the sacrum in SPIDER) become 0 and are listed.

    Returns
    -------
    labels : ndarray
        Same shape, int16.
    dropped : tuple of str
        Structures set to 0.
    """
    src, dst = load_scheme(source), load_scheme(target)
    levels = read_levels(labels, scheme=src, check_pieces=False)
    lab = np.asarray(labels).astype(np.int32)
    out = np.zeros(lab.shape, np.int16)
    inv_vert = {n: v for v, n in dst.vertebrae.items()}
    inv_disc = {n: v for v, n in dst.discs.items()}
    inv_nuc = {n: v for v, n in dst.nuclei.items()}
    dropped = []
    for name, v in levels.vertebrae:
        if name in inv_vert:
            out[lab == v] = inv_vert[name]
        else:
            dropped.append(name)
    for level in levels.discs:
        if level.caudal == "S1" and dst.lumbosacral_disc is not None:
            disc_value = dst.lumbosacral_disc
        else:
            disc_value = inv_disc.get(level.cranial)
        if disc_value is None:
            dropped.append(f"disc {level.name}")
            continue
        annulus = [v for v in level.labels if v not in level.nucleus_labels]
        out[np.isin(lab, annulus)] = disc_value
        nucleus_value = inv_nuc.get(level.cranial, disc_value)
        out[np.isin(lab, level.nucleus_labels)] = nucleus_value
    plates = [v for lv in levels.discs for v in lv.endplate_labels]
    if plates:
        inv_plate = {n: v for v, n in dst.endplates.items()}
        ep = np.isin(lab, plates)
        if all(src.endplates[v] in inv_plate for v in plates):
            for v in plates:
                out[lab == v] = inv_plate[src.endplates[v]]
        else:  # bone: each voxel joins the nearest vertebra (as relabelled above)
            bone = (out > 0) & np.isin(out, list(dst.vertebrae))
            if bone.any():
                out[ep] = nearest_labels(out, bone, ep)
    if levels.canal_labels:
        if dst.canal:
            out[np.isin(lab, levels.canal_labels)] = min(dst.canal)
        else:
            dropped.append("canal")
    inv_other = {n: v for v, n in dst.other.items()}
    for value in sorted(set(np.unique(lab).tolist()) & set(src.other)):
        name = src.other[value]
        if name in inv_other:
            out[lab == value] = inv_other[name]
        else:
            dropped.append(name)
    return out, tuple(dropped)
