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
    "acquisition",
    "diffusion",
    "DiscMRIError",
    "find_sessions",
    "fit_adc",
    "fit_t2",
    "fitting",
    "geometry",
    "grading",
    "io",
    "load_volume",
    "measure",
    "morphometry",
    "phantom",
    "pipeline",
    "planning",
    "plotting",
    "process_session",
    "provenance",
    "qc",
    "regions",
    "relaxometry",
    "report",
    "run_dataset",
    "save_volume",
    "spine",
    "table",
    "unwrap",
    "volume",
    "__version__",
    "Volume",
]

_SUBPACKAGES = {"acquisition", "diffusion", "fitting", "geometry", "grading", "io", "measure",
                "morphometry", "phantom", "pipeline", "planning", "plotting", "provenance", "qc",
                "regions", "relaxometry", "report", "spine", "table", "unwrap", "volume"}
#: Top-level names and the subpackage that defines them (imported on first use).
_EXPORTS = {
    "Volume": "volume",
    "find_sessions": "io",
    "load_volume": "io",
    "save_volume": "io",
    "fit_t2": "relaxometry",
    "fit_adc": "diffusion",
    "run_dataset": "pipeline",
    "process_session": "pipeline",
}


def __getattr__(name: str) -> Any:
    if name in _SUBPACKAGES:
        return importlib.import_module(f".{name}", __name__)
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'discmri' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
