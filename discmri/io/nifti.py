"""NIfTI reading and writing with nibabel."""

from __future__ import annotations

import gzip
import os
import zlib
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
from nibabel.filebasedimages import ImageFileError

from ..errors import ImageFormatError, InputNotFoundError
from ..volume import Volume
from .atomic import atomic_path, check_writable

__all__ = ["NIFTI_SUFFIXES", "is_nifti", "load_nifti", "nifti_bytes", "save_nifti"]

NIFTI_SUFFIXES = (".nii", ".nii.gz")


def is_nifti(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` has a NIfTI file name (``.nii`` or ``.nii.gz``)."""
    return str(path).lower().endswith(NIFTI_SUFFIXES)


def _squeeze_trailing(data: np.ndarray) -> np.ndarray:
    while data.ndim > 3 and data.shape[-1] == 1:
        data = data[..., 0]
    return data


def load_nifti(path: str | os.PathLike[str], *, allow_nonfinite: bool = False) -> Volume:
    """Read a NIfTI-1/2 file into a :class:`Volume`.

    Parameters
    ----------
    path : path-like
        ``.nii`` or ``.nii.gz`` file.
    allow_nonfinite : bool, optional
        Accept NaN/inf voxels (as in fitted maps). Acquired images must be finite.

    Returns
    -------
    Volume
        float32 data with scaling applied, RAS+ affine (sform if set, else qform), the header in
        ``meta["header"]`` and the path in ``meta["source"]``.

    Raises
    ------
    InputNotFoundError
        If the file does not exist.
    ImageFormatError
        If it is not a NIfTI image, is truncated, has fewer than 3 or more than 4 non-trivial
        dimensions, or has non-finite voxels while ``allow_nonfinite`` is false.
    """
    path = Path(path)
    if not path.exists():
        raise InputNotFoundError(f"{path}: no such file")
    if path.is_dir():
        raise ImageFormatError(f"{path}: is a folder, expected a NIfTI file")
    try:
        img = nib.load(path)
    except (ImageFileError, OSError, EOFError, zlib.error, ValueError) as exc:
        raise ImageFormatError(f"{path}: not a readable NIfTI image ({exc})") from exc
    if not isinstance(img, (nib.Nifti1Image, nib.Nifti2Image)):
        raise ImageFormatError(f"{path}: is a {type(img).__name__}, expected NIfTI")
    try:
        data = np.asarray(img.get_fdata(dtype=np.float32))
    except (OSError, EOFError, zlib.error, ValueError, gzip.BadGzipFile) as exc:
        raise ImageFormatError(
            f"{path}: image data could not be read, the file may be truncated ({exc})"
        ) from exc
    data = _squeeze_trailing(data)
    if data.ndim < 3:
        raise ImageFormatError(
            f"{path}: image is {data.ndim}-D with shape {data.shape}, expected a 3-D volume "
            "(x, y, z) or 4-D series (x, y, z, n)"
        )
    if data.ndim > 4:
        raise ImageFormatError(f"{path}: image has shape {data.shape}, expected 3-D or 4-D")
    if not allow_nonfinite:
        bad = ~np.isfinite(data)
        if bad.any():
            raise ImageFormatError(
                f"{path}: {int(bad.sum())} voxel values are NaN or infinite, expected finite "
                "intensities in an acquired image"
            )
    meta: dict[str, Any] = {"source": str(path), "header": img.header.copy()}
    return Volume(data, img.affine, meta)


def save_nifti(
    volume: Volume,
    path: str | os.PathLike[str],
    *,
    dtype: Any = np.float32,
    overwrite: bool = False,
    description: str | None = None,
) -> Path:
    """Write a :class:`Volume` to NIfTI atomically.

    The header of the source image (``volume.meta["header"]``) is kept when present; the affine,
    data type and spatial units (mm) are set; gzip output is deterministic (no time stamp), so the
    same volume always gives the same bytes.

    Parameters
    ----------
    volume : Volume
        What to write.
    path : path-like
        Target ``.nii`` or ``.nii.gz`` file.
    dtype : numpy dtype, optional
        Stored type. float32 by default; integer types store rounded values (for label maps and
        scanner-like images) and require finite data within the type's range.
    overwrite : bool, optional
        Replace an existing file. The volume's own source file is never replaced.
    description : str, optional
        Text for the header ``descrip`` field (at most 80 characters), e.g. ``"T2 (ms)"``.

    Returns
    -------
    Path
        The written file.
    """
    path = Path(path)
    check_writable(path, overwrite=overwrite, protected=[volume.source])
    payload = nifti_bytes(volume, path, dtype=dtype, description=description)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        tmp.write_bytes(payload)
    return path


def nifti_bytes(
    volume: Volume,
    path: str | os.PathLike[str],
    *,
    dtype: Any = np.float32,
    description: str | None = None,
) -> bytes:
    """The bytes :func:`save_nifti` would write for ``path`` (gzipped for ``.nii.gz``).

    Parameters are as for :func:`save_nifti`; nothing is written.
    """
    path = Path(path)
    if not is_nifti(path):
        raise ImageFormatError(f"{path}: output name must end in .nii or .nii.gz")
    dtype = np.dtype(dtype)
    data = volume.data
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        if not np.isfinite(data).all():
            raise ImageFormatError(f"{path}: cannot store NaN/inf as {dtype}")
        lo, hi = float(data.min(initial=0)), float(data.max(initial=0))
        if lo < info.min or hi > info.max:
            raise ImageFormatError(
                f"{path}: values span [{lo:g}, {hi:g}], outside the range of {dtype}"
            )
        data = np.rint(data).astype(dtype)
    else:
        data = data.astype(dtype, copy=False)
    header = volume.meta.get("header")
    header = header.copy() if isinstance(header, nib.Nifti1Header) else nib.Nifti1Header()
    header.set_data_dtype(dtype)
    img = nib.Nifti1Image(data, volume.affine, header)
    img.header.set_slope_inter(1.0, 0.0)
    img.header.set_xyzt_units(xyz="mm")
    img.header["cal_min"] = 0
    img.header["cal_max"] = 0
    if description is not None:
        img.header["descrip"] = description.encode("ascii", "replace")[:80]
    payload = img.to_bytes()
    if str(path).lower().endswith(".gz"):
        payload = gzip.compress(payload, compresslevel=6, mtime=0)
    return payload
