"""Write a set of parameter maps and their JSON sidecar, all or nothing."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._version import __version__
from .atomic import file_sha256, write_all_or_nothing
from .nifti import nifti_bytes
from .volume import Volume

__all__ = ["write_map_set"]


def write_map_set(
    maps: Mapping[Path, tuple[np.ndarray, Any, str]],
    reference: Volume,
    sidecar_path: Path,
    sidecar: dict[str, Any],
    *,
    inputs: Sequence[str | os.PathLike[str]] = (),
    overwrite: bool = False,
) -> list[Path]:
    """Write maps on ``reference``'s grid and header, plus a provenance sidecar, atomically.

    Parameters
    ----------
    maps : mapping of Path to (array, dtype, description)
        Each output file with its spatial array, stored type and header description.
    reference : Volume
        The volume the maps were fitted from (geometry and header are kept).
    sidecar_path : Path
        JSON file written with the maps.
    sidecar : dict
        Its content; ``GeneratedBy`` (discmri version) and ``Sources`` (path and SHA-256 of
        every input) are added.
    inputs : sequence of path-like
        Input files (hashed, and never overwritten).
    overwrite : bool
        Replace existing outputs.

    Returns
    -------
    list of Path
    """
    header = {"header": reference.meta.get("header")}
    files: dict[Path, bytes] = {
        path: nifti_bytes(Volume(data, reference.affine, header), path, dtype=dtype,
                          description=description)
        for path, (data, dtype, description) in maps.items()
    }
    content = {**sidecar, "GeneratedBy": [{"Name": "discmri", "Version": __version__}],
               "Sources": [{"path": str(p), "sha256": file_sha256(p)} for p in inputs]}
    files[sidecar_path] = (json.dumps(content, indent=2, sort_keys=True, default=str)
                           + "\n").encode()
    return write_all_or_nothing(files, overwrite=overwrite, protected=inputs)
