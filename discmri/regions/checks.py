"""Checks that a parameter map can be what it claims before its regions are averaged.

A T2 map in seconds, an ADC map ×1000, a T2-weighted image passed as a T2 map, a map of NaN or
a map that does not cover the discs all give plausible-looking numbers when averaged; these
checks refuse them with a message that names the map, what was seen and what was expected.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import MapError

__all__ = ["MAP_KINDS", "check_map_header", "check_map_values"]

#: Per map kind: unit, the range (in that unit) that disc medians fall in on any protocol, and
#: what a value off by a unit factor would look like (factor, how it is read).
MAP_KINDS: dict[str, dict[str, Any]] = {
    "t2": {"name": "T2", "unit": "ms", "disc_range": (5.0, 1500.0),
           "scaled": ((1e-3, "seconds"), (1e-6, "microseconds"))},
    "adc": {"name": "ADC", "unit": "mm²/s", "disc_range": (2e-5, 6e-3),
            "scaled": ((1e3, "10⁻³ mm²/s (µm²/ms)"), (1e6, "10⁻⁶ mm²/s (µm²/s)"),
                       (1e-6, "m²/s"))},
}
_UNIT_SPELLINGS = {"t2": {"ms", "msec", "millisecond", "milliseconds"},
                   "adc": {"mm2/s", "mm^2/s", "mm²/s"}}


def check_map_header(kind: str, data: np.ndarray, meta: Mapping[str, Any],
                     source: str | None, *, image: np.ndarray | None = None) -> None:
    """Refuse a map whose sidecar or content says it is not a ``kind`` map in discmri's unit.

    Parameters
    ----------
    kind : {"t2", "adc"}
    data : (X, Y, Z) ndarray
        The map.
    meta : mapping
        Its metadata (``sidecar``: the BIDS JSON beside it, if any).
    source : str or None
        Its file, for the message.
    image : ndarray, optional
        The T2-weighted image when on the same grid: a map equal to it is that image.

    Raises
    ------
    MapError
    """
    spec = MAP_KINDS[kind]
    name = f"{spec['name']} map {source}" if source else f"{spec['name']} map"
    sidecar = meta.get("sidecar") or {}
    units = sidecar.get("Units")
    if units is not None and str(units).replace(" ", "").lower() not in _UNIT_SPELLINGS[kind]:
        raise MapError(f"{name}: its sidecar gives Units {units!r}; expected {spec['unit']}")
    if units is None and ("EchoTime" in sidecar or "RepetitionTime" in sidecar):
        raise MapError(f"{name}: its sidecar has acquisition parameters (EchoTime/"
                       f"RepetitionTime) and no Units: it is an acquired image, expected a "
                       f"fitted {spec['name']} map in {spec['unit']}")
    if image is not None and image.shape == data.shape and np.array_equal(image, data):
        raise MapError(f"{name}: is the T2-weighted image itself; expected a fitted "
                       f"{spec['name']} map in {spec['unit']}")
    if not np.isfinite(data).any():
        raise MapError(f"{name}: has no finite value (all NaN or inf); expected a fitted map")


def check_map_values(kind: str, medians: Mapping[str, float], source: str | None) -> None:
    """Refuse a map whose disc medians lie outside what discs have in ``kind``'s unit.

    Parameters
    ----------
    kind : {"t2", "adc"}
    medians : mapping of str to float
        Median of the map per disc level (NaN where the disc has no voxel of the map).
    source : str or None
        The map's file, for the message.

    Raises
    ------
    MapError
        No disc has a value of the map (it does not cover the labelled spine), or the typical
        disc value is outside the plausible range (with the unit it looks like).
    """
    spec = MAP_KINDS[kind]
    name = f"{spec['name']} map {source}" if source else f"{spec['name']} map"
    finite = [v for v in medians.values() if math.isfinite(v)]
    if not finite:
        raise MapError(f"{name}: no disc of the label map has a value in it (it does not "
                       f"overlap the labelled spine, or its fit failed there); expected a map "
                       f"over the discs ({', '.join(medians) or 'none measured'})")
    typical = float(np.median(finite))
    lo, hi = spec["disc_range"]
    if lo <= typical <= hi:
        return
    hint = ""
    for factor, unit in spec["scaled"]:
        if lo <= typical / factor <= hi:
            hint = f"; it looks like {unit}"
            break
    raise MapError(f"{name}: median over the discs {typical:.4g}, outside {lo:g}–{hi:g} "
                   f"{spec['unit']} where disc values lie{hint}; expected {spec['unit']}")
