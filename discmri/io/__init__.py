"""Reading and writing images, acquisition parameters and BIDS datasets.

Only this subpackage touches file formats. Everything it returns is in discmri's conventions:
float32 x-y-z[-n] arrays, RAS+ affines in mm, echo times in ms, b-values in s/mm².
SimpleITK is imported only when a DICOM series is read (or its adapter is asked for), so that
worker processes that read NIfTI files do not pay for it.
"""

import importlib
from typing import Any

from ..volume import Volume, voxel_spacing
from .acquisition_files import (
    bvecs_to_world,
    echo_times_from_sidecar,
    read_bvals,
    read_bvecs,
    validate_bvals,
    validate_bvecs,
    validate_echo_times,
    world_to_bvecs,
)
from .atomic import atomic_path, file_sha256, write_all_or_nothing, write_text_atomic
from .bids import Session, find_sessions, read_tsv
from .bidsname import parse_bids_name, read_json, read_sidecar
from .fitmaps import write_adc_maps, write_t2_maps
from .load import check_same_grid, load_dwi, load_mese, load_volume, save_volume

__all__ = [
    "Session",
    "Volume",
    "array_to_sitk",
    "atomic_path",
    "bvecs_to_world",
    "check_same_grid",
    "echo_times_from_sidecar",
    "file_sha256",
    "find_sessions",
    "load_dicom_series",
    "load_dwi",
    "load_mese",
    "load_volume",
    "parse_bids_name",
    "read_bvals",
    "read_bvecs",
    "read_json",
    "read_sidecar",
    "read_tsv",
    "save_volume",
    "sitk_to_array",
    "validate_bvals",
    "validate_bvecs",
    "validate_echo_times",
    "voxel_spacing",
    "world_to_bvecs",
    "write_adc_maps",
    "write_all_or_nothing",
    "write_t2_maps",
    "write_text_atomic",
]

#: Names imported on first use (they need SimpleITK).
_LAZY = {"load_dicom_series": ".dicom", "array_to_sitk": ".sitk", "sitk_to_array": ".sitk"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module 'discmri.io' has no attribute {name!r}")
