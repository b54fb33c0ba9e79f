"""Level names for the discs of a segmented column: from the sacrum, a hint, or a range.

A lumbar field of view has no C2 to count from, so the count starts at the sacrum. The
sacrum is recognised by where the thecal sac ends: the CSF of the canal stops at S1–S2 in
most adults (range L5–S3), and the sacral canal below holds fat. The lumbosacral disc is the
lowest disc departing from marrow (:data:`MIN_CONTRAST`) whose centre lies at least 10 mm
above the end of the sac, passing over a thin one (3.5 mm or less) within 25 mm of it: the
vestigial S1-S2 disc. Its distance from the end (15–50 mm expected: the height of S1) sets
the confidence, which is lowered when a disc like the lumbar ones lies a level or more
below the end of the sac (where only the thin remnants of the sacrum's discs should be).
Such a count is then tried again from the ends of the shorter runs of CSF below, nearest
first: a stenosis or the crowded roots of the cauda equina can dim the sac over a
stretch, so that its longest bright run ends above its true end; the first end that
leaves no lumbar disc below it and its lowest disc 15–50 mm above is taken, with
confidence 0.7 and the reason in the sidecar. Beyond 50 mm the drop of the CSF is no end
of the sac and the count is refused, naming the hint and the range. A hint point (any
point in or near the L5-S1 disc) or an explicit range of level names overrides the count.

What cannot be recognised in a lumbar field of view: transitional anatomy (a lumbarised S1
counted as L6, a sacralised L5). Counting from the sacrum names the lowest mobile disc L5-S1
whatever the number of lumbar vertebrae; the sidecar says so, and a whole-spine localiser
(counting from C2) settles it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...errors import ParameterError
from ..levels import VERTEBRA_ORDER, disc_name
from .column import ColumnSegment

__all__ = ["GIVE_LEVELS", "SAC_GAP_MM", "LevelNames", "name_from_reference", "name_levels",
           "parse_level_range"]

_LUMBOSACRAL = ("L5", "S1")
#: Vertebrae in order without the transitional ones, which a count cannot name.
_COUNTED = tuple(v for v in VERTEBRA_ORDER if v not in ("T13", "L6"))
#: Distance from the centre of L5-S1 to the end of the thecal sac, mm: about the height of
#: S1 when the sac ends at S1–S2 (its range is L5–S3).
SAC_GAP_MM = (15.0, 50.0)
#: What to give when the levels cannot be counted (library keywords, then the CLI's options).
GIVE_LEVELS = ("give a point in the L5-S1 disc (hint_l5s1=; --hint-l5s1 X,Y,Z in scanner "
               "mm) or the range of discs in view (levels=; --level-range FIRST..LAST, e.g. "
               "T12-L1..L3-L4)")
#: Least mean departure of a disc's profile from marrow (:attr:`ColumnSegment.contrast`) for
#: it to count as a disc when levels are named.
MIN_CONTRAST = 0.25


@dataclass(frozen=True)
class LevelNames:
    """Names of the discs and bodies of the column.

    Attributes
    ----------
    discs : tuple of str
        Name per disc segment, caudal first ("" for a segment left unnamed).
    bodies : tuple of str
        Vertebra per body segment, caudal first.
    confidence : float
        0–1.
    method : str
        "sacrum", "hint" or "range".
    why : str
        How the names were given, in one sentence.
    sac_end : float or None
        Counted from the sacrum: the end of the thecal sac the count rests on, mm along the
        canal.
    """

    discs: tuple[str, ...]
    bodies: tuple[str, ...]
    confidence: float
    method: str
    why: str
    sac_end: float | None = None


def parse_level_range(text: str) -> tuple[str, ...]:
    """Disc names of a range such as ``"T12-L1..L5-S1"`` or ``"C5-C6..C6-C7"``, cranial first."""
    parts = text.split("..")
    if len(parts) != 2:
        raise ParameterError(f"a level range is FIRST..LAST, e.g. T12-L1..L5-S1; got {text!r}")
    ends = []
    for part in parts:
        names = part.strip().split("-")
        if len(names) != 2 or any(n not in VERTEBRA_ORDER for n in names):
            raise ParameterError(f"{part!r} is not a disc name such as L4-L5")
        ends.append(names)
    order = _COUNTED
    try:
        first, last = order.index(ends[0][0]), order.index(ends[1][0])
    except ValueError as err:
        raise ParameterError(f"{text!r}: transitional levels need a hint, not a range") from err
    if last < first:
        raise ParameterError(f"{text!r}: the first disc must be cranial to the last")
    return tuple(disc_name(order[i], order[i + 1]) for i in range(first, last + 1))


def _names_up_from(anchor: int, n_discs: int, cranial_of_anchor: str) -> list[str]:
    """Disc names when disc ``anchor`` (caudal index) has cranial vertebra ``cranial_of_anchor``."""
    order = _COUNTED
    k = order.index(cranial_of_anchor)
    names = []
    for i in range(n_discs):
        j = k - (i - anchor)  # cranial vertebra of disc i (caudal index)
        names.append(disc_name(order[j], order[j + 1]) if 0 <= j < len(order) - 1 else "")
    return names


def _beside_body(segments: list[ColumnSegment], disc: ColumnSegment) -> bool:
    """A disc a range can name: beside a vertebral body, and departing from marrow."""
    i = segments.index(disc)
    near = [segments[j].kind for j in (i - 1, i + 1) if 0 <= j < len(segments)]
    return "body" in near and disc.contrast >= MIN_CONTRAST


def _bodies(segments: list[ColumnSegment], discs: list[str]) -> tuple[str, ...]:
    """Vertebra of each body.

    It is the caudal vertebra of the disc above it, else the cranial one of the disc below.
    """
    out = []
    disc_iter = [s for s in segments if s.kind == "disc"]
    for seg in (s for s in segments if s.kind == "body"):
        above = [i for i, d in enumerate(disc_iter) if d.start >= seg.stop - 1e-6]
        below = [i for i, d in enumerate(disc_iter) if d.stop <= seg.start + 1e-6]
        name = ""
        if above and discs[above[0]]:
            name = discs[above[0]].split("-")[1]
        elif below and discs[below[-1]]:
            name = discs[below[-1]].split("-")[0]
        out.append(name)
    return tuple(out)


def name_levels(
    segments: list[ColumnSegment],
    *,
    sac_end: float | None,
    hint_s: float | None = None,
    levels: tuple[str, ...] | None = None,
    lower_ends: tuple[float, ...] = (),
) -> LevelNames:
    """Name the discs and bodies of a cut column.

    Parameters
    ----------
    segments : list of ColumnSegment
        Caudal to cranial.
    sac_end : float or None
        Arc length where the thecal sac ends, mm; None when CSF reaches the lower edge of the
        field of view (no sacrum in view).
    hint_s : float, optional
        Arc length of a point in the L5-S1 disc, mm.
    levels : tuple of str, optional
        Disc names of the discs in view, cranial first (:func:`parse_level_range`).
    lower_ends : tuple of float, optional
        Caudal ends of shorter runs of CSF below ``sac_end``, mm, nearest first: tried in
        turn when full lumbar discs lie a level or more below ``sac_end`` (or no disc lies
        above it); the first whose count has none below it and its lowest disc 15–50 mm
        above it is taken, with confidence 0.7.

    Returns
    -------
    LevelNames

    Raises
    ------
    ParameterError
        No sacrum in view, or a lowest disc more than ``SAC_GAP_MM[1]`` above where the CSF
        fades, and neither a hint nor a range given (the message names both); a range whose
        length differs from the number of discs found.
    """
    discs = [s for s in segments if s.kind == "disc"]
    n = len(discs)
    if levels is not None:
        whole = [i for i, d in enumerate(discs) if _beside_body(segments, d)]
        if len(levels) != len(whole):
            raise ParameterError(
                f"the range names {len(levels)} discs but {len(whole)} were found beside a "
                f"vertebral body (at {', '.join(f'{discs[i].centre:.0f}' for i in whole)} mm "
                "along the canal, from the lower edge)")
        names = [""] * n
        for i, name in zip(whole, levels[::-1], strict=True):
            names[i] = name
        return LevelNames(tuple(names), _bodies(segments, names), 0.9, "range",
                          f"named from the given range {levels[0]}..{levels[-1]}")
    if hint_s is not None:
        anchor = int(np.argmin([abs(d.centre - hint_s) for d in discs]))
        dist = min(abs(d.centre - hint_s) for d in discs)
        names = _names_up_from(anchor, n, _LUMBOSACRAL[0])
        conf = 0.95 if dist <= discs[anchor].length / 2 + 3.0 else 0.7
        return LevelNames(tuple(names), _bodies(segments, names), conf, "hint",
                          f"L5-S1 is the disc nearest the hint point ({dist:.0f} mm from its "
                          "centre); the others are counted from it")
    if sac_end is None:
        raise ParameterError(
            "no sacrum in view (the canal's CSF runs to the lower edge of the image), so the "
            f"levels cannot be counted: {GIVE_LEVELS}")
    try:
        count = _from_sac_end(segments, discs, sac_end)
    except ParameterError as exc:
        count, no_disc = None, exc
    if count is None or count.below is not None:
        # no disc above the end, or full lumbar discs below it: a lower end of CSF (the sac
        # dimmed above it by a stenosis or the crowded cauda equina) that leaves neither is
        # taken instead
        wrong = ("no disc lies above it" if count is None
                 else "discs like the lumbar ones lie below it")
        for end in lower_ends:
            try:
                other = _from_sac_end(segments, discs, end)
            except ParameterError:
                continue
            if other.below is None and SAC_GAP_MM[0] <= other.gap <= SAC_GAP_MM[1]:
                count = _Count(other.names, other.gap, 0.7, other.note + (
                    f"; the CSF also dims {sac_end - end:.0f} mm higher, where the sac "
                    f"does not end ({wrong}): check the count"), None, end)
                break
    if count is None:
        raise no_disc
    if count.gap > SAC_GAP_MM[1]:
        # the sac ends at S1–S2 (range L5–S3): a lowest disc this far above where the CSF
        # stops is no L5-S1, and the drop is no end of the sac (a scan above the sacrum)
        raise ParameterError(
            f"the canal's CSF fades {count.gap:.0f} mm below the lowest disc, more than the "
            f"{SAC_GAP_MM[1]:.0f} mm from L5-S1 to the end of the thecal sac, so the sacrum "
            f"is not recognised and the levels cannot be counted: {GIVE_LEVELS}")
    why = (f"counted from the sacrum: the thecal sac ends {count.gap:.0f} mm below the lowest "
           f"disc above it, {count.note}; transitional anatomy (L6, sacralised L5) cannot be "
           "told in a lumbar field of view")
    return LevelNames(count.names, _bodies(segments, list(count.names)), count.confidence,
                      "sacrum", why, count.end)


@dataclass(frozen=True)
class _Count:
    names: tuple[str, ...]
    gap: float
    confidence: float
    note: str
    below: float | None  # distance of a full lumbar disc below the end, mm (None: none)
    end: float  # the end of the sac counted from, mm


def _from_sac_end(segments: list[ColumnSegment], discs: list[ColumnSegment], sac_end: float
                  ) -> _Count:
    """The count from one end of the thecal sac, with how well it holds.

    Raises
    ------
    ParameterError
        No disc above the end.
    """
    # a thin stretch just above the end of the sac is the vestigial S1-S2 disc
    above = [i for i, d in enumerate(discs)
             if d.centre >= sac_end + 10.0 and d.contrast >= MIN_CONTRAST
             and not (d.length <= 3.5 and d.centre < sac_end + 25.0)]
    if not above:
        raise ParameterError(f"no disc was found above the end of the thecal sac: {GIVE_LEVELS}")
    anchor = above[0]
    n = len(discs)
    gap = discs[anchor].centre - sac_end
    names = tuple(_names_up_from(anchor, n, _LUMBOSACRAL[0]))
    if gap >= SAC_GAP_MM[0]:
        conf, note = 0.9, "within the expected 15–50 mm (the height of S1)"
    else:
        conf, note = 0.5, "closer than the expected 15–50 mm: check the count"
    # below the sac lies the sacrum, whose discs are thin remnants: a disc like the lumbar
    # ones a level or more below where the CSF fades disagrees with the count
    spacing = (float(np.median(np.diff([d.centre for d in discs[anchor:]])))
               if n - anchor > 1 else 35.0)
    full = [d for d in discs[:anchor] if d.centre < sac_end - spacing and d.length > 3.5
            and _beside_body(segments, d)]
    below = None
    if full:
        conf = 0.5
        below = sac_end - full[-1].centre
        note += (f"; but a disc like the lumbar ones lies {below:.0f} mm below it, where the "
                 "sacrum should be: check the count")
    return _Count(names, gap, conf, note, below, sac_end)


def name_from_reference(segments: list[ColumnSegment], votes: list[int | None]) -> LevelNames:
    """Name the levels after a given label map: each body or disc votes for a count.

    Parameters
    ----------
    segments : list of ColumnSegment
        Caudal to cranial.
    votes : list of int or None
        Per segment, the native label the given map has most in the segment's core
        (a vertebral body 1–28 or a disc 100–299), None where it has none.

    Returns
    -------
    LevelNames
        ``method == "labels"``; the confidence is the fraction of voting segments that agree.

    Raises
    ------
    ParameterError
        No segment overlaps a structure of the given map.
    """
    from ..levels import NATIVE_VERTEBRA

    order = _COUNTED
    by_label = {i: v for v, i in NATIVE_VERTEBRA.items()}
    discs = [i for i, seg in enumerate(segments) if seg.kind == "disc"]
    implied = []  # cranial vertebra index + disc position: constant along the column
    for i, (seg, vote) in enumerate(zip(segments, votes, strict=True)):
        if vote is None or seg.kind == "outside":
            continue
        if seg.kind == "disc" and 100 <= vote < 300:
            cranial = by_label.get(vote % 100)
            pos = discs.index(i)
        elif seg.kind == "body" and 0 < vote < 100:
            above = [d for d in discs if d > i]  # the disc over this body: caudal = the body
            name = by_label.get(vote)
            if not above or name not in order or order.index(name) == 0:
                continue
            cranial, pos = order[order.index(name) - 1], discs.index(above[0])
        else:
            continue
        if cranial in order:
            implied.append(order.index(cranial) + pos)
    if not implied:
        raise ParameterError("the given label map has no body or disc where the image's "
                             "column was found: is it on this image's grid?")
    values, counts = np.unique(implied, return_counts=True)
    const = int(values[np.argmax(counts)])
    agree = float(counts.max()) / len(implied)
    names = []
    for pos in range(len(discs)):
        k = const - pos
        names.append(disc_name(order[k], order[k + 1]) if 0 <= k < len(order) - 1 else "")
    return LevelNames(tuple(names), _bodies(segments, names), round(agree, 2), "labels",
                      f"named after the given label map ({counts.max()} of {len(implied)} "
                      "structures agree)")
