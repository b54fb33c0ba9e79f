"""DICOM series reading with SimpleITK, including multi-echo series split by echo time."""

from __future__ import annotations

import contextlib
import os
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import SimpleITK as sitk

from ..errors import ImageFormatError, InputNotFoundError
from ..volume import Volume
from .sitk import sitk_to_array

__all__ = ["load_dicom_series"]

_ECHO_TIME = "0018|0081"
_REPETITION_TIME = "0018|0080"
_POSITION = "0020|0032"
_ORIENTATION = "0020|0037"
_SERIES_DESCRIPTION = "0008|103e"
_MODALITY = "0008|0060"


def _header(path: str) -> sitk.ImageFileReader:
    reader = sitk.ImageFileReader()
    reader.SetFileName(path)
    reader.LoadPrivateTagsOff()
    reader.ReadImageInformation()
    return reader


def _tag(reader: sitk.ImageFileReader, key: str) -> str | None:
    return reader.GetMetaData(key).strip() if reader.HasMetaDataKey(key) else None


def _floats(text: str | None, path: str, key: str) -> np.ndarray:
    if text is None:
        raise ImageFormatError(f"{path}: DICOM tag {key} is missing")
    try:
        return np.array([float(v) for v in text.split("\\")], dtype=np.float64)
    except ValueError as exc:
        raise ImageFormatError(f"{path}: DICOM tag {key}={text!r} is not numeric") from exc


def _sorted_along_normal(files: list[str], headers: dict[str, sitk.ImageFileReader]) -> list[str]:
    first = headers[files[0]]
    iop = _floats(_tag(first, _ORIENTATION), files[0], _ORIENTATION)
    normal = np.cross(iop[:3], iop[3:6])
    depth = {f: float(_floats(_tag(headers[f], _POSITION), f, _POSITION) @ normal) for f in files}
    ordered = sorted(files, key=depth.__getitem__)
    positions = [depth[f] for f in ordered]
    if len(set(np.round(positions, 3))) != len(positions):
        raise ImageFormatError(
            f"{Path(files[0]).parent}: several slices share a position within one echo; "
            "expected one slice per position and echo time"
        )
    gaps = np.diff(positions)
    if gaps.size > 1 and np.ptp(gaps) > max(0.01, 0.05 * float(np.median(gaps))):
        k = int(np.argmax(np.abs(gaps - np.median(gaps))))
        raise ImageFormatError(
            f"{Path(files[0]).parent}: slices are not evenly spaced (a gap of {gaps[k]:.3g} mm "
            f"after slice {k + 1} of {len(positions)}, others {float(np.median(gaps)):.3g} mm); "
            "expected a complete series — is a slice file missing?"
        )
    return ordered


@contextlib.contextmanager
def _quiet_itk() -> Iterator[None]:
    """Keep ITK's warnings off standard error while reading (restored afterwards)."""
    was = sitk.ProcessObject.GetGlobalWarningDisplay()
    sitk.ProcessObject.SetGlobalWarningDisplay(False)
    try:
        yield
    finally:
        sitk.ProcessObject.SetGlobalWarningDisplay(was)


def _read(files: list[str]) -> tuple[np.ndarray, np.ndarray]:
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(files)
    try:
        with _quiet_itk():
            image = reader.Execute()
    except RuntimeError as exc:
        first = str(exc).strip().splitlines()[-1] if str(exc).strip() else "unknown reason"
        raise ImageFormatError(f"{Path(files[0]).parent}: DICOM series unreadable "
                               f"({first})") from exc
    if image.GetDimension() == 2:
        image = sitk.JoinSeries([image])
    return sitk_to_array(image)


def load_dicom_series(folder: str | os.PathLike[str], *, series_uid: str | None = None) -> Volume:
    """Read a DICOM series from a folder into a :class:`Volume`.

    A series whose slices carry several echo times (multi-echo spin echo) is split by echo time
    into a 4-D volume (x, y, z, echo), echoes in increasing order, with
    ``meta["echo_times_ms"]``. A single-echo series gives a 3-D volume; its echo time, when
    present, is kept in ``meta["echo_times_ms"]`` too.

    Parameters
    ----------
    folder : path-like
        Folder holding the DICOM files.
    series_uid : str, optional
        Series Instance UID to read when the folder holds several series.

    Returns
    -------
    Volume

    Raises
    ------
    InputNotFoundError
        If the folder does not exist.
    ImageFormatError
        If the folder holds no DICOM series, several series and no ``series_uid``, or echoes
        whose geometry differs.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputNotFoundError(f"{folder}: no such folder")
    with _quiet_itk():
        ids = sitk.ImageSeriesReader.GetGDCMSeriesIDs(str(folder))
    if not ids:
        raise ImageFormatError(
            f"{folder}: no DICOM series found; expected a folder of DICOM files "
            "(or a NIfTI .nii/.nii.gz file)"
        )
    if series_uid is None:
        if len(ids) > 1:
            raise ImageFormatError(
                f"{folder}: holds {len(ids)} DICOM series ({', '.join(ids)}); expected one "
                "series per folder (or choose one with series_uid)"
            )
        series_uid = ids[0]
    elif series_uid not in ids:
        raise ImageFormatError(f"{folder}: no series {series_uid}; found {', '.join(ids)}")
    files = list(sitk.ImageSeriesReader.GetGDCMSeriesFileNames(str(folder), series_uid))
    headers = {f: _header(f) for f in files}
    tags = {f: _tag(headers[f], _ECHO_TIME) for f in files}
    by_echo: dict[float, list[str]] = defaultdict(list)
    if all(tags.values()):
        for f in files:
            by_echo[round(float(_floats(tags[f], f, _ECHO_TIME)[0]), 3)].append(f)
    else:  # no echo times recorded: one volume
        by_echo[float("nan")] = files
    echo_times = sorted(by_echo)
    volumes = []
    affine = None
    for te in echo_times:
        data, aff = _read(_sorted_along_normal(by_echo[te], headers))
        if affine is not None and (data.shape != volumes[0].shape or not np.allclose(aff, affine)):
            raise ImageFormatError(
                f"{folder}: echo {te} ms has shape {data.shape}, expected {volumes[0].shape} "
                "on the same grid as the first echo"
            )
        affine = aff
        volumes.append(data)
    first = headers[files[0]]
    meta: dict[str, Any] = {"source": str(folder), "series_uid": series_uid}
    for key, name in ((_SERIES_DESCRIPTION, "series_description"), (_MODALITY, "modality")):
        value = _tag(first, key)
        if value:
            meta[name] = value
    tr = _tag(first, _REPETITION_TIME)
    if tr:
        meta["repetition_time_ms"] = float(tr)
    if not np.isnan(echo_times).any():
        meta["echo_times_ms"] = tuple(float(t) for t in echo_times)
    data = volumes[0] if len(volumes) == 1 else np.stack(volumes, axis=-1)
    if not np.isfinite(data).all():
        raise ImageFormatError(f"{folder}: DICOM pixel data has NaN/inf values")
    return Volume(data, affine, meta)
