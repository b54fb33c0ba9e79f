"""Write the maps of a voxel-wise fit (T2, ADC), its status map and sidecar, all or nothing.

The fits (:mod:`discmri.relaxometry`, :mod:`discmri.diffusion`) compute arrays and know
nothing of files; this module turns a fit into BIDS-derivative NIfTI maps on the grid (and
header) of the series it came from, with a provenance sidecar.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..fitting.status import STATUS, status_counts
from ..volume import Volume
from .atomic import write_all_or_nothing
from .maps import map_set_files

if TYPE_CHECKING:
    from ..diffusion.adc import ADCFit
    from ..relaxometry.t2 import T2Fit

__all__ = ["adc_map_files", "adc_output_names", "fit_map_files", "fit_output_names",
           "t2_map_files", "t2_output_names", "write_adc_maps", "write_t2_maps"]


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


def t2_output_names(prefix: str | os.PathLike[str], fit_method: str) -> dict[str, Path]:
    """File of each map for an output prefix (BIDS-derivative style names)."""
    p = str(prefix)
    names = fit_output_names(p, "t2", "T2map", "m0", "M0map")
    if fit_method == "epg":
        names["b1"] = f"{p}_B1map.nii.gz"
    if fit_method == "offset":
        names["offset"] = f"{p}_desc-offset_M0map.nii.gz"
    return {k: Path(v) for k, v in names.items()}


def t2_map_files(
    fit: T2Fit,
    reference: Volume,
    prefix: str | os.PathLike[str],
    *,
    inputs: Sequence[str | os.PathLike[str]] = (),
    hashes: dict[str, str] | None = None,
) -> tuple[dict[str, Path], dict[Path, bytes]]:
    """The maps of a fit and their sidecar as file bytes by path, on ``reference``'s grid.

    Nothing is written: the caller writes them all or nothing (with other files of a session).

    Parameters
    ----------
    fit : T2Fit
    reference : Volume
        The MESE volume the fit came from (geometry and header are kept).
    prefix : path-like
        Output prefix; see :func:`t2_output_names`.
    inputs : sequence of path-like
        Input files, hashed into the sidecar for provenance.
    hashes : dict of str to str, optional
        SHA-256 of inputs already hashed (path → hex digest).

    Returns
    -------
    names : dict of str to Path
        File of each map by key.
    files : dict of Path to bytes
    """
    names = t2_output_names(prefix, fit.method)
    units = {"t2": ("ms", "T2 (ms)"), "m0": ("signal", "M0"), "rmse": ("signal", "RMSE"),
             "r2": ("1", "R^2"), "b1": ("1", "B1 scale"), "offset": ("signal", "offset C")}
    values = {"t2": fit.t2, "m0": fit.m0, "rmse": fit.rmse, "r2": fit.r2, "b1": fit.b1,
              "offset": fit.offset}
    sidecar = {"Units": "ms", "Method": fit.method, "EchoTimes_ms": list(fit.echo_times_ms),
               "NoiseSigma": fit.noise_sigma, "Parameters": fit.parameters}
    files = fit_map_files(names, values, units, fit.status, reference, sidecar, label="T2",
                          inputs=inputs, hashes=hashes)
    return names, files


def write_t2_maps(
    fit: T2Fit,
    reference: Volume,
    prefix: str | os.PathLike[str],
    *,
    inputs: Sequence[str | os.PathLike[str]] = (),
    overwrite: bool = False,
) -> dict[str, Path]:
    """Write the maps of a T2 fit on the grid (and header) of ``reference``, all or nothing.

    See :func:`t2_map_files` for the files; ``overwrite`` replaces existing outputs (never an
    input). Returns the file of each map by key.
    """
    names, files = t2_map_files(fit, reference, prefix, inputs=inputs)
    write_all_or_nothing(files, overwrite=overwrite, protected=inputs)
    return names


def adc_output_names(prefix: str | os.PathLike[str], method: str) -> dict[str, Path]:
    """File of each map for an output prefix (BIDS-derivative style names)."""
    p = str(prefix)
    names = fit_output_names(p, "adc", "ADC", "s0", "S0map")
    if method == "ivim":
        names["f"] = f"{p}_desc-ivimf_ADC.nii.gz"
        names["d_star"] = f"{p}_desc-ivimDstar_ADC.nii.gz"
    return {k: Path(v) for k, v in names.items()}


def adc_map_files(
    fit: ADCFit,
    reference: Volume,
    prefix: str | os.PathLike[str],
    *,
    inputs: Sequence[str | os.PathLike[str]] = (),
    hashes: dict[str, str] | None = None,
) -> tuple[dict[str, Path], dict[Path, bytes]]:
    """The maps of a fit and their sidecar as file bytes by path, on ``reference``'s grid.

    Nothing is written: the caller writes them all or nothing (with other files of a session).

    Parameters
    ----------
    fit : ADCFit
    reference : Volume
        The DWI volume the fit came from (geometry and header are kept).
    prefix : path-like
        Output prefix; see :func:`adc_output_names`.
    inputs : sequence of path-like
        Input files, hashed into the sidecar for provenance.
    hashes : dict of str to str, optional
        SHA-256 of inputs already hashed (path → hex digest).

    Returns
    -------
    names : dict of str to Path
        File of each map by key.
    files : dict of Path to bytes
    """
    names = adc_output_names(prefix, fit.method)
    units = {"adc": ("mm2/s", "ADC (mm2/s)"), "s0": ("signal", "S0"), "rmse": ("signal", "RMSE"),
             "r2": ("1", "R^2"), "f": ("1", "IVIM f"), "d_star": ("mm2/s", "IVIM D* (mm2/s)")}
    values = {"adc": fit.adc, "s0": fit.s0, "rmse": fit.rmse, "r2": fit.r2, "f": fit.f,
              "d_star": fit.d_star}
    sidecar = {"Units": "mm2/s", "Method": fit.method,
               "BValuesFitted_s_per_mm2": list(fit.bvals), "Parameters": fit.parameters}
    if fit.parameters.get("s0_extrapolated"):
        sidecar["S0Note"] = (f"no b = 0 volume was fitted: S0 is extrapolated from "
                             f"b = {min(fit.bvals):g} s/mm² and above")
    files = fit_map_files(names, values, units, fit.status, reference, sidecar, label="ADC",
                          inputs=inputs, hashes=hashes)
    return names, files


def write_adc_maps(
    fit: ADCFit,
    reference: Volume,
    prefix: str | os.PathLike[str],
    *,
    inputs: Sequence[str | os.PathLike[str]] = (),
    overwrite: bool = False,
) -> dict[str, Path]:
    """Write the maps of an ADC fit on the grid (and header) of ``reference``, all or nothing.

    See :func:`adc_map_files` for the files; ``overwrite`` replaces existing outputs (never an
    input). Returns the file of each map by key.
    """
    names, files = adc_map_files(fit, reference, prefix, inputs=inputs)
    write_all_or_nothing(files, overwrite=overwrite, protected=inputs)
    return names
