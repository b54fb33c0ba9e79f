"""Write the maps of a voxel-wise fit, its status map and sidecar, all or nothing."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..io.maps import map_set_files
from ..io.volume import Volume
from .status import STATUS, status_counts

__all__ = ["fit_map_files", "fit_output_names"]


def fit_output_names(
    prefix: str | os.PathLike[str], key: str, suffix: str, amplitude: str, amplitude_suffix: str
) -> dict[str, str]:
    """The files every fit writes, BIDS-derivative style, for an output prefix.

    The fitted quantity ``PREFIX_{suffix}.nii.gz`` (under ``key``), the amplitude
    ``PREFIX_{amplitude_suffix}.nii.gz`` (under ``amplitude``), the quality maps
    ``PREFIX_desc-{rmse,r2,status}_{suffix}.nii.gz`` and the sidecar ``PREFIX_{suffix}.json``.
    """
    p = str(prefix)
    return {
        key: f"{p}_{suffix}.nii.gz",
        amplitude: f"{p}_{amplitude_suffix}.nii.gz",
        "rmse": f"{p}_desc-rmse_{suffix}.nii.gz",
        "r2": f"{p}_desc-r2_{suffix}.nii.gz",
        "status": f"{p}_desc-status_{suffix}.nii.gz",
        "sidecar": f"{p}_{suffix}.json",
    }


def fit_map_files(
    names: Mapping[str, Path],
    values: Mapping[str, np.ndarray | None],
    units: Mapping[str, tuple[str, str]],
    status: np.ndarray,
    reference: Volume,
    sidecar: dict[str, Any],
    *,
    label: str,
    inputs: Sequence[str | os.PathLike[str]] = (),
    hashes: dict[str, str] | None = None,
) -> dict[Path, bytes]:
    """Fitted maps (float32), the status map (uint8) and a sidecar, as bytes by path.

    Nothing is written: the caller writes the files all or nothing
    (:func:`discmri.io.atomic.write_all_or_nothing`).

    Parameters
    ----------
    names : mapping
        Output file per map key, plus ``"status"`` and ``"sidecar"``.
    values : mapping
        Map arrays per key (None: not produced by this fit).
    units : mapping
        Per key, (unit, header description).
    status : ndarray
        Status codes (:data:`~discmri.fitting.status.STATUS`).
    reference : Volume
        Grid and header of the fitted series.
    sidecar : dict
        Fit-specific sidecar fields; status codes, counts and the map list are added.
    label : str
        What was fitted ("T2", "ADC"), for the status map's description.
    inputs, hashes
        As for :func:`discmri.io.maps.map_set_files`.

    Returns
    -------
    dict of Path to bytes
    """
    maps = {names[k]: (v, np.float32, units[k][1]) for k, v in values.items()
            if k in names and v is not None}
    maps[names["status"]] = (status, np.uint8, f"{label} fit status")
    content = {
        **sidecar,
        "StatusCodes": {str(k): v for k, v in STATUS.items()},
        "StatusCounts": status_counts(status),
        "Maps": {k: {"file": names[k].name, "units": units[k][0]} for k in units if k in names},
    }
    return map_set_files(maps, reference, names["sidecar"], content, inputs=inputs,
                         hashes=hashes)
