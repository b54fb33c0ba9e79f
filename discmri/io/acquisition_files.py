"""Acquisition parameters: echo times (ms), b-values (s/mm²) and b-vectors, validated once.

discmri works in milliseconds for echo times and s/mm² for b-values. BIDS sidecars give
``EchoTime`` in seconds; it is converted here and nowhere else. Values that look like the wrong
unit are reported, never silently rescaled.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..acquisition import source_prefix, validate_bvals, validate_bvecs, validate_echo_times
from ..errors import AcquisitionError, InputNotFoundError

__all__ = [
    "bvecs_to_world",
    "echo_times_from_sidecar",
    "read_bvals",
    "read_bvecs",
    "sibling",
    "validate_bvals",
    "validate_bvecs",
    "validate_echo_times",
    "world_to_bvecs",
]

def echo_times_from_sidecar(
    sidecar: dict, *, source: str | os.PathLike[str] | None = None
) -> list[float]:
    """Echo time(s) in ms from a BIDS sidecar's ``EchoTime`` (seconds).

    Returns a list: one value for a per-echo file, several when the sidecar lists one per volume.
    """
    where = source_prefix(source)
    if "EchoTime" not in sidecar:
        raise AcquisitionError(f"{where}no EchoTime in the JSON sidecar; expected seconds")
    raw = sidecar["EchoTime"]
    values = raw if isinstance(raw, list) else [raw]
    try:
        seconds = np.array(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise AcquisitionError(f"{where}EchoTime {raw!r} is not a number") from exc
    if not np.isfinite(seconds).all() or (seconds <= 0).any():
        raise AcquisitionError(f"{where}EchoTime {raw!r} must be positive seconds")
    if seconds.max() > 1.0:
        raise AcquisitionError(
            f"{where}EchoTime {raw!r} looks like milliseconds; BIDS EchoTime is in seconds "
            f"(e.g. {seconds[0] / 1000:g})"
        )
    return [float(s * 1000.0) for s in seconds]


def _read_numbers(path: Path, what: str) -> np.ndarray:
    if not path.is_file():
        raise InputNotFoundError(f"{path}: no such {what} file")
    try:
        rows = [
            [float(v) for v in line.split()]
            for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()
        ]
    except (UnicodeDecodeError, ValueError) as exc:
        raise AcquisitionError(f"{path}: not a table of numbers ({exc})") from exc
    if not rows or len({len(r) for r in rows}) != 1:
        raise AcquisitionError(f"{path}: expected rows of equal length, FSL {what} format")
    return np.array(rows, dtype=np.float64)


def read_bvals(path: str | os.PathLike[str], *, n_volumes: int | None = None) -> np.ndarray:
    """Read an FSL ``.bval`` file (one row of b-values, s/mm²)."""
    path = Path(path)
    rows = _read_numbers(path, "bval")
    if rows.shape[0] != 1 and rows.shape[1] != 1:
        raise AcquisitionError(f"{path}: expected one row of b-values, got shape {rows.shape}")
    return validate_bvals(rows.ravel(), n_volumes=n_volumes, source=path)


def read_bvecs(path: str | os.PathLike[str], bvals: np.ndarray) -> np.ndarray:
    """Read an FSL ``.bvec`` file: three rows (x, y, z) of one value per volume.

    A file with one (x, y, z) row per volume (written by some tools) is read too; with three
    volumes the two layouts look alike and FSL's is assumed.

    Returns
    -------
    (n, 3) ndarray
        Gradient directions in FSL's image-axis convention (see :func:`bvecs_to_world`).
    """
    path = Path(path)
    rows = _read_numbers(path, "bvec")
    if rows.shape[0] != 3 and rows.shape == (len(bvals), 3):
        rows = rows.T  # one (x, y, z) row per volume, as some tools write it
    if rows.shape[0] != 3:
        raise AcquisitionError(
            f"{path}: has {rows.shape[0]} rows of {rows.shape[1]} values; expected 3 rows "
            f"(x, y, z) of {len(bvals)} values"
        )
    return validate_bvecs(rows.T, bvals, source=path)


def _fsl_frame(affine: np.ndarray) -> np.ndarray:
    rot = np.asarray(affine, dtype=np.float64)[:3, :3]
    rot = rot / np.linalg.norm(rot, axis=0)
    if np.linalg.det(rot) > 0:  # FSL's voxel space is left-handed: x is flipped
        rot = rot @ np.diag([-1.0, 1.0, 1.0])
    return rot


def bvecs_to_world(bvecs: np.ndarray, affine: np.ndarray) -> np.ndarray:
    """Convert FSL b-vectors (image axes, x flipped for a right-handed affine) to RAS+ world.

    Parameters
    ----------
    bvecs : (n, 3) ndarray
        As read by :func:`read_bvecs`.
    affine : (4, 4) ndarray
        The diffusion image's affine.

    Returns
    -------
    (n, 3) ndarray
        Directions in RAS+ world coordinates.
    """
    return np.asarray(bvecs, dtype=np.float64) @ _fsl_frame(affine).T


def world_to_bvecs(directions: np.ndarray, affine: np.ndarray) -> np.ndarray:
    """Inverse of :func:`bvecs_to_world`: RAS+ directions to FSL b-vectors for an image."""
    return np.asarray(directions, dtype=np.float64) @ _fsl_frame(affine)


def sibling(path: str | os.PathLike[str], extension: str) -> Path:
    """The file beside an image with the same stem and another extension (``.bval``, ``.json``)."""
    path = Path(path)
    name = path.name
    for ext in (".nii.gz", ".nii"):
        if name.lower().endswith(ext):
            return path.with_name(name[: -len(ext)] + extension)
    return path.with_suffix(extension)
