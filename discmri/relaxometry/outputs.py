"""Write a :class:`~discmri.relaxometry.T2Fit` as NIfTI maps with a provenance sidecar."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._version import __version__
from ..io.atomic import file_sha256, write_all_or_nothing
from ..io.nifti import nifti_bytes
from ..io.volume import Volume
from .t2 import STATUS, T2Fit

__all__ = ["t2_output_names", "write_t2_maps"]


def t2_output_names(prefix: str | os.PathLike[str], fit_method: str) -> dict[str, Path]:
    """File of each map for an output prefix (BIDS-derivative style names)."""
    p = str(prefix)
    names = {
        "t2": f"{p}_T2map.nii.gz",
        "m0": f"{p}_M0map.nii.gz",
        "rmse": f"{p}_desc-rmse_T2map.nii.gz",
        "r2": f"{p}_desc-r2_T2map.nii.gz",
        "status": f"{p}_desc-status_T2map.nii.gz",
        "sidecar": f"{p}_T2map.json",
    }
    if fit_method == "epg":
        names["b1"] = f"{p}_B1map.nii.gz"
    if fit_method == "offset":
        names["offset"] = f"{p}_desc-offset_M0map.nii.gz"
    return {k: Path(v) for k, v in names.items()}


def write_t2_maps(
    fit: T2Fit,
    reference: Volume,
    prefix: str | os.PathLike[str],
    *,
    inputs: Sequence[str | os.PathLike[str]] = (),
    overwrite: bool = False,
) -> dict[str, Path]:
    """Write the maps of a T2 fit on the grid (and header) of ``reference``, all or nothing.

    Parameters
    ----------
    fit : T2Fit
    reference : Volume
        The MESE volume the fit came from (geometry and header are kept).
    prefix : path-like
        Output prefix; see :func:`t2_output_names`.
    inputs : sequence of path-like
        Input files, hashed into the sidecar for provenance (and never overwritten).
    overwrite : bool
        Replace existing outputs.

    Returns
    -------
    dict of str to Path
    """
    names = t2_output_names(prefix, fit.method)
    units = {"t2": ("ms", "T2 (ms)"), "m0": ("signal", "M0"), "rmse": ("signal", "RMSE"),
             "r2": ("1", "R^2"), "b1": ("1", "B1 scale"), "offset": ("signal", "offset C")}
    maps: dict[str, Any] = {"t2": fit.t2, "m0": fit.m0, "rmse": fit.rmse, "r2": fit.r2,
                            "b1": fit.b1, "offset": fit.offset}
    files: dict[Path, bytes] = {}
    for key, data in maps.items():
        if key in names and data is not None:
            vol = Volume(data, reference.affine, {"header": reference.meta.get("header")})
            files[names[key]] = nifti_bytes(vol, names[key], description=units[key][1])
    status = Volume(fit.status, reference.affine, {"header": reference.meta.get("header")})
    files[names["status"]] = nifti_bytes(status, names["status"], dtype=np.uint8,
                                         description="T2 fit status")
    sidecar = {
        "Units": "ms",
        "Method": fit.method,
        "EchoTimes_ms": list(fit.echo_times_ms),
        "NoiseSigma": fit.noise_sigma,
        "Parameters": fit.parameters,
        "StatusCodes": {str(k): v for k, v in STATUS.items()},
        "StatusCounts": fit.reasons(),
        "Maps": {k: {"file": names[k].name, "units": units[k][0]} for k in units if k in names},
        "GeneratedBy": [{"Name": "discmri", "Version": __version__}],
        "Sources": [{"path": str(p), "sha256": file_sha256(p)} for p in inputs],
    }
    files[names["sidecar"]] = (json.dumps(sidecar, indent=2, sort_keys=True, default=str)
                               + "\n").encode()
    write_all_or_nothing(files, overwrite=overwrite, protected=inputs)
    return names
