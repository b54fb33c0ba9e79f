"""discmri: lumbar intervertebral disc measurements on MRI.

Disc height index, T2 and ADC maps and per-region values, and grading assistance, per
participant × visit × disc level, for disc-regeneration trials.

Subpackages are imported on first use, so ``import discmri`` is cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

from ._version import __version__
from .errors import DiscMRIError

__all__ = [
    "DiscMRIError",
    "Volume",
    "__version__",
    "find_sessions",
    "io",
    "load_volume",
    "morphometry",
    "phantom",
    "save_volume",
    "spine",
]

_SUBPACKAGES = {"io", "morphometry", "phantom", "spine"}
_FROM_IO = {"Volume", "find_sessions", "load_volume", "save_volume"}


def __getattr__(name: str) -> Any:
    if name in _SUBPACKAGES:
        return importlib.import_module(f".{name}", __name__)
    if name in _FROM_IO:
        return getattr(importlib.import_module(".io", __name__), name)
    raise AttributeError(f"module 'discmri' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
