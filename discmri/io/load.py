"""Loading entry points: any volume, multi-echo spin-echo series, diffusion series."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import AcquisitionError, ImageFormatError, InputNotFoundError
from ..geometry import check_same_grid
from ..volume import Volume
from .acquisition_files import (
    echo_times_from_sidecar,
    read_bvals,
    read_bvecs,
    sibling,
    validate_echo_times,
)
from .bidsname import BIDSName, parse_bids_name, read_sidecar
from .nifti import is_nifti, load_nifti, save_nifti

__all__ = ["check_same_grid", "load_dwi", "load_mese", "load_volume", "save_volume"]

save_volume = save_nifti
_NO_NAME = BIDSName((), "", "")


def load_volume(path: str | os.PathLike[str], *, allow_nonfinite: bool = False) -> Volume:
    """Read a volume from a NIfTI file or a DICOM series folder.

    Parameters
    ----------
    path : path-like
        ``.nii``/``.nii.gz`` file (read with nibabel) or a folder of DICOM files (read with
        SimpleITK; a multi-echo series becomes 4-D, see
        :func:`~discmri.io.dicom.load_dicom_series`).
    allow_nonfinite : bool, optional
        Accept NaN/inf voxels, as in fitted maps. Acquired images must be finite.

    Returns
    -------
    Volume
        float32 data in x-y-z[-n] order, RAS+ affine. For NIfTI files with a JSON sidecar
        beside them, the merged sidecar is in ``meta["sidecar"]``.

    Examples
    --------
    >>> vol = load_volume("sub-01_ses-baseline_T2w.nii.gz")  # doctest: +SKIP
    >>> vol.spacing, vol.orientation  # doctest: +SKIP
    ((4.0, 0.6, 0.6), 'RAS')
    """
    path = Path(path)
    if not path.exists():
        raise InputNotFoundError(f"{path}: no such file or folder")
    if path.is_dir():
        from .dicom import load_dicom_series  # SimpleITK only when a DICOM series is read

        return load_dicom_series(path)
    if not is_nifti(path):
        raise ImageFormatError(
            f"{path}: unsupported file type; expected a NIfTI file (.nii, .nii.gz) or a folder "
            "holding a DICOM series"
        )
    volume = load_nifti(path, allow_nonfinite=allow_nonfinite)
    sidecar = read_sidecar(path)
    if sidecar:
        return Volume(volume.data, volume.affine, {**volume.meta, "sidecar": sidecar})
    return volume


def load_mese(
    inputs: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    *,
    echo_times_ms: Sequence[float] | None = None,
) -> Volume:
    """Read a multi-echo spin-echo series as one 4-D volume with its echo times.

    Parameters
    ----------
    inputs : path-like or sequence of path-like
        One 4-D NIfTI file, one DICOM folder, or one 3-D file per echo in echo order (BIDS
        ``*_echo-<n>_MESE.nii.gz`` files are put in order of ``n``).
    echo_times_ms : sequence of float, optional
        Echo times in ms. When omitted they come from the BIDS sidecars (``EchoTime``, seconds,
        converted here) or the DICOM headers.

    Returns
    -------
    Volume
        (x, y, z, echo) data with ``meta["echo_times_ms"]``.

    Raises
    ------
    AcquisitionError
        If echo times are missing, not one per echo, not increasing, or look like seconds.
    GeometryError
        If per-echo files are not on one grid.
    """
    paths = [Path(inputs)] if isinstance(inputs, (str, os.PathLike)) else [Path(p) for p in inputs]
    if not paths:
        raise AcquisitionError("no MESE input given; expected a 4-D file or one file per echo")
    echo_index = [(parse_bids_name(p) or _NO_NAME).get("echo") for p in paths]
    if len(paths) > 1 and all(e is not None and e.isdigit() for e in echo_index):
        # BIDS per-echo files: order by the echo entity (a shell glob puts echo-10 before 2)
        paths = [p for _, p in sorted(zip(echo_index, paths, strict=True),
                                      key=lambda item: int(item[0]))]
    volumes = [load_volume(p) for p in paths]
    if len(volumes) == 1:
        (vol,) = volumes
        if vol.data.ndim != 4:
            raise ImageFormatError(
                f"{paths[0]}: a single MESE input must be 4-D (x, y, z, echo), got shape "
                f"{vol.shape}; or give one 3-D file per echo"
            )
        data = vol.data
        found = vol.meta.get("echo_times_ms")
        if found is None and "sidecar" in vol.meta and echo_times_ms is None:
            found = echo_times_from_sidecar(vol.meta["sidecar"], source=paths[0])
    else:
        for p, v in zip(paths, volumes, strict=True):
            if v.data.ndim != 3:
                raise ImageFormatError(f"{p}: per-echo file must be 3-D, got shape {v.shape}")
            check_same_grid(volumes[0], v, what="echo image")
        data = np.stack([v.data for v in volumes], axis=-1)
        vol = volumes[0]
        found = None
        if echo_times_ms is None:
            found = []
            for p, v in zip(paths, volumes, strict=True):
                if "sidecar" not in v.meta:
                    raise AcquisitionError(
                        f"{p}: no JSON sidecar with EchoTime; give the echo times in ms"
                    )
                found.extend(echo_times_from_sidecar(v.meta["sidecar"], source=p))
    te = echo_times_ms if echo_times_ms is not None else found
    if te is None:
        raise AcquisitionError(f"{paths[0]}: echo times unknown; give them in ms")
    te = validate_echo_times(te, n_echoes=data.shape[-1], source=paths[0])
    meta: dict[str, Any] = {**vol.meta, "echo_times_ms": tuple(float(t) for t in te)}
    if len(paths) > 1:
        meta["sources"] = tuple(str(p) for p in paths)
    return Volume(data, vol.affine, meta)


def load_dwi(
    path: str | os.PathLike[str],
    *,
    bval: str | os.PathLike[str] | None = None,
    bvec: str | os.PathLike[str] | None = None,
) -> Volume:
    """Read a 4-D diffusion-weighted series with its b-values and b-vectors.

    Parameters
    ----------
    path : path-like
        4-D NIfTI file (x, y, z, volume).
    bval, bvec : path-like, optional
        FSL-style files; by default the ``.bval``/``.bvec`` beside ``path``.

    Returns
    -------
    Volume
        With ``meta["bvals"]`` ((n,) s/mm²) and ``meta["bvecs"]`` ((n, 3), FSL convention).
    """
    vol = load_volume(path)
    if vol.data.ndim != 4:
        raise ImageFormatError(
            f"{path}: diffusion series must be 4-D (x, y, z, volume), got shape {vol.shape}"
        )
    n = vol.data.shape[-1]
    bvals = read_bvals(bval if bval is not None else sibling(path, ".bval"), n_volumes=n)
    bvecs = read_bvecs(bvec if bvec is not None else sibling(path, ".bvec"), bvals)
    return Volume(vol.data, vol.affine, {**vol.meta, "bvals": bvals, "bvecs": bvecs})
