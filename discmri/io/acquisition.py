"""Acquisition parameters: echo times (ms), b-values (s/mm²) and b-vectors, validated once.

discmri works in milliseconds for echo times and s/mm² for b-values. BIDS sidecars give
``EchoTime`` in seconds; it is converted here and nowhere else. Values that look like the wrong
unit are reported, never silently rescaled.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

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

#: Below this (ms) an echo time cannot be a spin-echo echo time; it is probably in seconds.
_MIN_PLAUSIBLE_TE_MS = 1.0
#: Above this (s/mm²) a b-value is implausible for tissue imaging; it is probably in s/m².
_MAX_PLAUSIBLE_B = 1.0e5


def _label(source: str | os.PathLike[str] | None) -> str:
    return f"{source}: " if source else ""


def validate_echo_times(
    echo_times_ms: Sequence[float] | np.ndarray,
    *,
    n_echoes: int | None = None,
    source: str | os.PathLike[str] | None = None,
) -> np.ndarray:
    """Check echo times in milliseconds and return them as a float64 array.

    Parameters
    ----------
    echo_times_ms : sequence of float
        Echo times, ms.
    n_echoes : int, optional
        Number of echoes in the image they belong to.
    source : path-like, optional
        Where they came from, for messages.

    Returns
    -------
    (n_echoes,) ndarray
        Echo times, ms.

    Raises
    ------
    AcquisitionError
        If they are not a finite, positive, strictly increasing 1-D sequence, do not match
        ``n_echoes``, or all lie below 1 ms (which means seconds were given).
    """
    te = np.asarray(echo_times_ms, dtype=np.float64)
    where = _label(source)
    if te.ndim != 1 or te.size == 0:
        raise AcquisitionError(f"{where}echo times must be a 1-D list, got shape {te.shape}")
    if n_echoes is not None and te.size != n_echoes:
        raise AcquisitionError(
            f"{where}{te.size} echo times given for {n_echoes} echoes; expected one per echo"
        )
    if not np.isfinite(te).all() or (te <= 0).any():
        raise AcquisitionError(f"{where}echo times {te.tolist()} must be finite and positive (ms)")
    if te.size > 1 and (np.diff(te) <= 0).any():
        raise AcquisitionError(
            f"{where}echo times {te.tolist()} ms are not strictly increasing; expected the echo "
            "order of the image"
        )
    if te.max() < _MIN_PLAUSIBLE_TE_MS:
        raise AcquisitionError(
            f"{where}echo times {te.tolist()} look like seconds; expected milliseconds "
            f"(e.g. {[round(t * 1000, 3) for t in te[:3]]} ...)"
        )
    return te


def echo_times_from_sidecar(
    sidecar: dict, *, source: str | os.PathLike[str] | None = None
) -> list[float]:
    """Echo time(s) in ms from a BIDS sidecar's ``EchoTime`` (seconds).

    Returns a list: one value for a per-echo file, several when the sidecar lists one per volume.
    """
    where = _label(source)
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


def validate_bvals(
    bvals: Sequence[float] | np.ndarray,
    *,
    n_volumes: int | None = None,
    source: str | os.PathLike[str] | None = None,
) -> np.ndarray:
    """Check b-values (s/mm²): 1-D, finite, non-negative, plausible units, matching the volumes."""
    b = np.asarray(bvals, dtype=np.float64)
    where = _label(source)
    if b.ndim != 1:
        raise AcquisitionError(f"{where}b-values must be one row, got shape {b.shape}")
    if n_volumes is not None and b.size != n_volumes:
        raise AcquisitionError(
            f"{where}{b.size} b-values for {n_volumes} diffusion volumes; expected one per volume"
        )
    if not np.isfinite(b).all() or (b < 0).any():
        raise AcquisitionError(f"{where}b-values {b.tolist()} must be finite and >= 0 (s/mm²)")
    if b.max(initial=0) > _MAX_PLAUSIBLE_B:
        raise AcquisitionError(
            f"{where}b-value {b.max():g} looks like s/m²; expected s/mm² (e.g. {b.max() / 1e6:g})"
        )
    return b


def validate_bvecs(
    bvecs: np.ndarray,
    bvals: np.ndarray,
    *,
    source: str | os.PathLike[str] | None = None,
    tol: float = 0.05,
) -> np.ndarray:
    """Check b-vectors, (n, 3): unit length (within ``tol``) wherever b > 0.

    Returns
    -------
    (n, 3) ndarray
        The vectors, with those of b = 0 volumes kept as given.
    """
    v = np.asarray(bvecs, dtype=np.float64)
    where = _label(source)
    if v.ndim != 2 or v.shape[1] != 3 or v.shape[0] != len(bvals):
        raise AcquisitionError(
            f"{where}b-vectors have shape {v.shape}; expected ({len(bvals)}, 3), one unit "
            "vector per volume"
        )
    if not np.isfinite(v).all():
        raise AcquisitionError(f"{where}b-vectors contain NaN or inf")
    norms = np.linalg.norm(v, axis=1)
    bad = (np.asarray(bvals) > 0) & (np.abs(norms - 1.0) > tol)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise AcquisitionError(
            f"{where}b-vector {i} {v[i].tolist()} has length {norms[i]:.3f}; expected unit "
            "vectors for diffusion-weighted volumes"
        )
    return v


def read_bvals(path: str | os.PathLike[str], *, n_volumes: int | None = None) -> np.ndarray:
    """Read an FSL ``.bval`` file (one row of b-values, s/mm²)."""
    path = Path(path)
    rows = _read_numbers(path, "bval")
    if rows.shape[0] != 1 and rows.shape[1] != 1:
        raise AcquisitionError(f"{path}: expected one row of b-values, got shape {rows.shape}")
    return validate_bvals(rows.ravel(), n_volumes=n_volumes, source=path)


def read_bvecs(path: str | os.PathLike[str], bvals: np.ndarray) -> np.ndarray:
    """Read an FSL ``.bvec`` file: three rows (x, y, z) of one value per volume.

    Returns
    -------
    (n, 3) ndarray
        Gradient directions in FSL's image-axis convention (see :func:`bvecs_to_world`).
    """
    path = Path(path)
    rows = _read_numbers(path, "bvec")
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
