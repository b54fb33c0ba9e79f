"""Label schemes of segmentation tools: which integer is which vertebra, disc or canal.

A scheme maps integers to structures. Discs are identified by their *cranial* vertebra, so the
name of a disc follows the vertebrae actually present (the disc below L5 is "L5-S1", or
"L5-L6" with a transitional L6). Supported:

* ``native`` — discmri's own scheme (:mod:`discmri.spine.levels`): annulus 100 + v, nucleus
  200 + v.
* ``spineps`` — SPINEPS ``seg-vert`` instance maps: vertebrae C1…C7 1–7, T1…T12 8–19,
  L1…L5 20–24, L6 25, sacrum 26, T13 28; disc = 100 + vertebra above; endplates = 200 +
  vertebra above the disc they line (both its upper and lower endplate, as in the SPINEPS
  sample of TPTBox). The same integers as the native scheme: a map with 2xx labels is told
  apart by where they lie (native nuclei inside discs, SPINEPS endplates against vertebrae).
  Vertebra labels cover the whole vertebra; only the body is measured.
* ``totalspineseg`` — TotalSpineSeg (current release): cord 1, canal 2, C1–C7 11–17,
  T1–T12 21–32, L1–L5 41–45, L6 46, sacrum 50; discs C2-C3 … C6-C7 63–67, C7-T1 71,
  T1-T2 … T11-T12 72–82, T12-L1 91, L1-L2 … L4-L5 92–95, L5-L6 96, L5-S 100. (Earlier
  releases numbered differently; give a JSON mapping for those.)
* ``spider`` — SPIDER: vertebrae numbered from the bottom (1 = the lowest lumbar vertebra,
  L5 in a 5-lumbar spine), canal 100, discs 201 (lowest) upwards; no sacrum label. Checked
  only against a third-party data card; with transitional anatomy the numbering is ambiguous.
* a user JSON mapping (:func:`scheme_from_mapping`).

Sources: REFERENCE.md §6; TotalSpineSeg README "List of Classes" (neuropoly/totalspineseg).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from ..errors import DiscMRIError, InputNotFoundError
from .levels import NATIVE_CANAL, NATIVE_PRESACRAL_FAT, NATIVE_VERTEBRA

__all__ = ["SCHEMES", "LabelScheme", "load_scheme", "scheme_from_mapping"]

_ORDER = (*(f"C{i}" for i in range(1, 8)), *(f"T{i}" for i in range(1, 13)), "T13",
          *(f"L{i}" for i in range(1, 7)), "S1")


@dataclass(frozen=True)
class LabelScheme:
    """Meaning of the integers of one label convention.

    Attributes
    ----------
    name : str
    vertebrae : mapping of int to str
        Vertebral body label → vertebra name (``"L4"``, ``"S1"`` for the sacrum).
    discs : mapping of int to str
        Disc label → name of the vertebra *above* the disc.
    nuclei : mapping of int to str
        Nucleus sub-label → vertebra above (native only).
    canal : frozenset of int
    other : mapping of int to str
        Other known labels (spinal cord, presacral fat …).
    endplates : mapping of int to str
        Endplate label → name of the vertebra above the disc they line (SPINEPS); endplates
        count as bone, each voxel with the nearer vertebral body.
    lumbosacral_disc : int or None
        Label of "the disc above the sacrum", whatever the number of lumbar vertebrae
        (TotalSpineSeg's 100); its cranial vertebra is the lowest lumbar one present.
    """

    name: str
    vertebrae: Mapping[int, str]
    discs: Mapping[int, str]
    nuclei: Mapping[int, str] = field(default_factory=dict)
    canal: frozenset[int] = frozenset()
    other: Mapping[int, str] = field(default_factory=dict)
    lumbosacral_disc: int | None = None
    endplates: Mapping[int, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for attr in ("vertebrae", "discs", "nuclei", "other", "endplates"):
            object.__setattr__(self, attr, MappingProxyType(dict(getattr(self, attr))))
        names = [*self.vertebrae.values(), *self.discs.values(), *self.nuclei.values(),
                 *self.endplates.values()]
        unknown = sorted({n for n in names if n not in _ORDER})
        if unknown:
            raise DiscMRIError(f"label scheme {self.name!r}: unknown vertebra names {unknown}; "
                               f"expected names like 'L4', 'T12', 'S1'")

    def __reduce__(self):
        # MappingProxyType does not pickle: rebuild from plain dicts (for worker processes)
        return (LabelScheme, (self.name, dict(self.vertebrae), dict(self.discs),
                              dict(self.nuclei), self.canal, dict(self.other),
                              self.lumbosacral_disc, dict(self.endplates)))

    @property
    def known(self) -> frozenset[int]:
        """Every integer this scheme gives a meaning to."""
        extra = {self.lumbosacral_disc} if self.lumbosacral_disc is not None else set()
        return frozenset({*self.vertebrae, *self.discs, *self.nuclei, *self.canal, *self.other,
                          *self.endplates, *extra})


def _native() -> LabelScheme:
    discs = {100 + v: name for name, v in NATIVE_VERTEBRA.items() if name != "S1"}
    nuclei = {200 + v: name for name, v in NATIVE_VERTEBRA.items() if name != "S1"}
    return LabelScheme("native", {v: k for k, v in NATIVE_VERTEBRA.items()}, discs, nuclei,
                       frozenset({NATIVE_CANAL}), {NATIVE_PRESACRAL_FAT: "presacral fat"})


def _spineps() -> LabelScheme:
    vert = {v: k for k, v in NATIVE_VERTEBRA.items()}  # SPINEPS uses the same vertebra ids
    discs = {100 + v: name for v, name in vert.items() if name != "S1"}
    endplates = {200 + v: name for v, name in vert.items() if name != "S1"}
    return LabelScheme("spineps", vert, discs, endplates=endplates)


def _totalspineseg() -> LabelScheme:
    vert = {10 + i: f"C{i}" for i in range(1, 8)}
    vert.update({20 + i: f"T{i}" for i in range(1, 13)})
    vert.update({40 + i: f"L{i}" for i in range(1, 7)})
    vert[50] = "S1"
    discs = {60 + i: f"C{i - 1}" for i in range(3, 8)}  # 63 = C2-C3
    discs[71] = "C7"
    discs.update({71 + i: f"T{i}" for i in range(1, 12)})  # 72 = T1-T2 … 82 = T11-T12
    discs[91] = "T12"
    discs.update({91 + i: f"L{i}" for i in range(1, 5)})  # 92 = L1-L2 … 95 = L4-L5
    discs[96] = "L5"  # L5-L6
    return LabelScheme("totalspineseg", vert, discs, canal=frozenset({2}),
                       other={1: "spinal cord"}, lumbosacral_disc=100)


def _spider() -> LabelScheme:
    order = ["L5", "L4", "L3", "L2", "L1", *(f"T{i}" for i in range(12, 0, -1))]
    vert = {i + 1: name for i, name in enumerate(order)}
    discs = {201 + i: name for i, name in enumerate(order)}  # 201 = disc below L5
    return LabelScheme("spider", vert, discs, canal=frozenset({100}))


#: Built-in schemes by name.
SCHEMES: Mapping[str, LabelScheme] = MappingProxyType({
    s.name: s for s in (_native(), _spineps(), _totalspineseg(), _spider())
})


def scheme_from_mapping(mapping: Mapping, *, name: str = "custom") -> LabelScheme:
    """A scheme from a mapping (e.g. parsed JSON).

    Expected keys: ``"vertebrae"`` ({"L1": 20, …, "S1": 26}), ``"discs"`` ({"L4-L5": 123, …},
    named cranial-caudal), optional ``"nuclei"`` (same form), ``"canal"`` (list of ints).
    """
    try:
        vert = {int(v): str(k) for k, v in mapping.get("vertebrae", {}).items()}
        discs = {int(v): str(k).split("-")[0] for k, v in mapping.get("discs", {}).items()}
        nuclei = {int(v): str(k).split("-")[0] for k, v in mapping.get("nuclei", {}).items()}
        canal = frozenset(int(v) for v in mapping.get("canal", []))
    except (AttributeError, TypeError, ValueError) as exc:
        raise DiscMRIError(f"label scheme {name!r}: expected {{'vertebrae': {{'L1': 20, …}}, "
                           f"'discs': {{'L1-L2': 120, …}}}} with integer labels ({exc})") from exc
    if not vert and not discs:
        raise DiscMRIError(f"label scheme {name!r} defines no vertebrae and no discs")
    return LabelScheme(name, vert, discs, nuclei, canal)


def load_scheme(spec: str | os.PathLike[str] | LabelScheme) -> LabelScheme:
    """A scheme by name (``native``, ``spineps``, ``totalspineseg``, ``spider``) or JSON file."""
    if isinstance(spec, LabelScheme):
        return spec
    text = str(spec)
    if text in SCHEMES:
        return SCHEMES[text]
    path = Path(text)
    if path.suffix.lower() == ".json":
        if not path.is_file():
            raise InputNotFoundError(f"{path}: no such label scheme file")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise DiscMRIError(f"{path}: not a readable JSON label scheme ({exc})") from exc
        return scheme_from_mapping(data, name=path.stem)
    raise DiscMRIError(f"label scheme {text!r} unknown; expected one of {sorted(SCHEMES)}, "
                       "'auto' or a .json file")
