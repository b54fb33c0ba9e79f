"""Write a :class:`~discmri.relaxometry.T2Fit` as NIfTI maps with a provenance sidecar."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ..fitting.outputs import fit_map_files, fit_output_names
from ..io.atomic import write_all_or_nothing
from ..io.volume import Volume
from .t2 import T2Fit

__all__ = ["t2_map_files", "t2_output_names", "write_t2_maps"]


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
