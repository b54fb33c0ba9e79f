"""Parameter maps and their JSON sidecar as file bytes, for an all-or-nothing write."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._version import __version__
from ..volume import Volume
from .atomic import sources
from .nifti import nifti_bytes

__all__ = ["map_set_files"]


def map_set_files(
    maps: Mapping[Path, tuple[np.ndarray, Any, str]],
    reference: Volume,
    sidecar_path: Path,
    sidecar: dict[str, Any],
    *,
    inputs: Sequence[str | os.PathLike[str]] = (),
    hashes: dict[str, str] | None = None,
) -> dict[Path, bytes]:
    """Maps on ``reference``'s grid and header, plus a provenance sidecar, as bytes by path.

    Nothing is written: the caller writes the files all or nothing
    (:func:`discmri.io.atomic.write_all_or_nothing`).

    Parameters
    ----------
    maps : mapping of Path to (array, dtype, description)
        Each output file with its spatial array, stored type and header description.
    reference : Volume
        The volume the maps were fitted from (geometry and header are kept).
    sidecar_path : Path
        The JSON sidecar's file.
    sidecar : dict
        Its content; ``GeneratedBy`` (discmri version) and ``Sources`` (path and SHA-256 of
        every input) are added.
    inputs : sequence of path-like
        Input files, hashed for provenance.
    hashes : dict of str to str, optional
        SHA-256 of inputs the caller has hashed already (path → hex digest).

    Returns
    -------
    dict of Path to bytes
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
