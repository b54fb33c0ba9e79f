"""Write an :class:`~discmri.diffusion.ADCFit` as NIfTI maps with a provenance sidecar."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from ..fitting.outputs import fit_map_files, fit_output_names
from ..io.atomic import write_all_or_nothing
from ..io.volume import Volume
from .adc import ADCFit

__all__ = ["adc_map_files", "adc_output_names", "write_adc_maps"]


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
