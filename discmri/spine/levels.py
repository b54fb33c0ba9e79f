"""Vertebra and disc level names, and discmri's native label scheme.

Level names follow DESIGN.md: vertebrae ``"C1"`` … ``"C7"``, ``"T1"`` … ``"T12"`` (``"T13"``
for a supernumerary thoracic vertebra), ``"L1"`` … ``"L5"`` (``"L6"``), ``"S1"``; a disc is named
by the vertebrae it joins, cranial first: ``"T12-L1"``, ``"L4-L5"``, ``"L5-S1"``.

Native label scheme
-------------------
Written by :mod:`discmri.phantom` and accepted wherever labels are read.

=========================  ==========================================================
structure                  integer
=========================  ==========================================================
vertebral body             C1–C7 → 1–7, T1–T12 → 8–19, L1–L5 → 20–24, L6 → 25, S1 → 26,
                           T13 → 28
disc, annulus fibrosus     100 + integer of the cranial vertebra (L4-L5 → 123)
disc, nucleus pulposus     200 + integer of the cranial vertebra (L4-L5 → 223)
spinal canal (CSF)         301
presacral fat              302
=========================  ==========================================================

A disc is the union of its annulus and nucleus labels.
"""

from __future__ import annotations

from types import MappingProxyType

from ..errors import ParameterError

__all__ = [
    "NATIVE_CANAL",
    "NATIVE_PRESACRAL_FAT",
    "NATIVE_VERTEBRA",
    "VERTEBRA_ORDER",
    "disc_name",
    "native_disc_labels",
    "native_label_table",
]

#: Vertebrae in cranial-to-caudal order (T13 and L6 where a spine has them).
VERTEBRA_ORDER = (
    *(f"C{i}" for i in range(1, 8)),
    *(f"T{i}" for i in range(1, 13)),
    "T13",
    *(f"L{i}" for i in range(1, 7)),
    "S1",
)
#: Native integer of each vertebral body.
NATIVE_VERTEBRA = MappingProxyType(
    {
        **{f"C{i}": i for i in range(1, 8)},
        **{f"T{i}": 7 + i for i in range(1, 13)},
        "T13": 28,
        **{f"L{i}": 19 + i for i in range(1, 7)},
        "S1": 26,
    }
)
NATIVE_CANAL = 301
NATIVE_PRESACRAL_FAT = 302


def disc_name(cranial: str, caudal: str) -> str:
    """Name of the disc between two vertebrae, e.g. ``disc_name("L5", "S1") == "L5-S1"``."""
    for v in (cranial, caudal):
        if v not in NATIVE_VERTEBRA:
            raise ParameterError(f"unknown vertebra {v!r}; expected one of {list(VERTEBRA_ORDER)}")
    if VERTEBRA_ORDER.index(cranial) >= VERTEBRA_ORDER.index(caudal):
        raise ParameterError(f"{cranial!r} is not cranial to {caudal!r}")
    return f"{cranial}-{caudal}"


def native_disc_labels(cranial: str) -> tuple[int, int]:
    """Native (annulus, nucleus) integers of the disc below vertebra ``cranial``."""
    if cranial not in NATIVE_VERTEBRA:
        raise ParameterError(f"unknown vertebra {cranial!r}")
    v = NATIVE_VERTEBRA[cranial]
    return 100 + v, 200 + v


def native_label_table(vertebrae: tuple[str, ...]) -> list[tuple[int, str]]:
    """Rows (integer, name) of the native scheme for a column of vertebrae, cranial first.

    Parameters
    ----------
    vertebrae : tuple of str
        Vertebrae present, cranial to caudal, e.g. ``("T12", "L1", …, "L5", "S1")``.

    Returns
    -------
    list of (int, str)
        For a BIDS ``dseg.tsv``: vertebrae, then per disc its annulus and nucleus, then the
        canal and presacral fat, sorted by integer.
    """
    rows = [(NATIVE_VERTEBRA[v], v) for v in vertebrae]
    for cranial, caudal in zip(vertebrae[:-1], vertebrae[1:], strict=True):
        af, np_ = native_disc_labels(cranial)
        name = disc_name(cranial, caudal)
        rows += [(af, f"{name} annulus"), (np_, f"{name} nucleus")]
    rows += [(NATIVE_CANAL, "spinal canal"), (NATIVE_PRESACRAL_FAT, "presacral fat")]
    return sorted(rows)
