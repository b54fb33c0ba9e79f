"""A label map that discmri made (segmented or completed), as files: int16 NIfTI and sidecar."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import ParameterError
from ..volume import Volume
from .nifti import nifti_bytes

__all__ = ["label_map_files", "label_paths"]


def label_paths(path: str | os.PathLike[str]) -> tuple[Path, Path]:
    """A label map's file and its JSON sidecar's (``x.nii.gz`` → ``x.json``).

    Raises
    ------
    ParameterError
        The name does not end in ``.nii.gz`` or ``.nii``.
    """
    path = Path(path)
    for ext in (".nii.gz", ".nii"):
        if path.name.endswith(ext):
            return path, path.with_name(path.name[: -len(ext)] + ".json")
    raise ParameterError(f"{path}: expected a .nii.gz or .nii file name for a label map")


def label_map_files(labels: Volume, sidecar: Mapping[str, Any], path: str | os.PathLike[str],
                    **extra: Any) -> dict[Path, bytes]:
    """The label map (int16 NIfTI) and its JSON sidecar, as bytes to write together.

    Parameters
    ----------
    labels : Volume
        Label map (e.g. :attr:`discmri.spine.segmentation.Segmentation.labels`).
    sidecar : mapping
        Its sidecar (method, parameters, confidence: ``Segmentation.sidecar``).
    path : path-like
        Label map file, ``.nii.gz`` or ``.nii``; the sidecar goes beside it
        (:func:`label_paths`).
    **extra
        Entries added to the sidecar (e.g. ``source``).

    Returns
    -------
    dict of Path to bytes
    """
    image, sidecar_path = label_paths(path)
    return {image: nifti_bytes(labels, image, dtype=np.int16, description="discmri segment"),
            sidecar_path: (json.dumps({**sidecar, **extra}, indent=2) + "\n").encode("utf-8")}
