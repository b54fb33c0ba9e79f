"""Write a set of parameter maps and their JSON sidecar, all or nothing."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._version import __version__
from .atomic import sources, write_all_or_nothing
from .nifti import nifti_bytes
from .volume import Volume

__all__ = ["map_set_files", "write_map_set"]


def map_set_files(
    maps: Mapping[Path, tuple[np.ndarray, Any, str]],
    reference: Volume,
    sidecar_path: Path,
    sidecar: dict[str, Any],
    *,
    inputs: Sequence[str | os.PathLike[str]] = (),
    hashes: dict[str, str] | None = None,
) -> dict[Path, bytes]:
    """The bytes of every file :func:`write_map_set` writes, by path (nothing is written).

    ``hashes`` (path → SHA-256) spares hashing inputs again that the caller has hashed.
    """
    header = {"header": reference.meta.get("header")}
    files: dict[Path, bytes] = {
        path: nifti_bytes(Volume(data, reference.affine, header), path, dtype=dtype,
                          description=description)
        for path, (data, dtype, description) in maps.items()
    }
    content = {**sidecar, "GeneratedBy": [{"Name": "discmri", "Version": __version__}],
               "Sources": sources(inputs, hashes)}
    files[sidecar_path] = (json.dumps(content, indent=2, sort_keys=True, default=str)
                           + "\n").encode()
    return files


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
    files = map_set_files(maps, reference, sidecar_path, sidecar, inputs=inputs)
    return write_all_or_nothing(files, overwrite=overwrite, protected=inputs)
