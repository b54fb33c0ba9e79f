"""Checks of the arrays every voxel-wise fit takes: magnitude signal and mask."""

from __future__ import annotations

import numpy as np

from ..errors import GeometryError, ImageFormatError

__all__ = ["check_magnitude", "check_mask"]


def check_magnitude(signal: np.ndarray, *, axis_name: str = "measurements") -> np.ndarray:
    """Return ``signal`` as float32 after checking it is usable magnitude data.

    Raises
    ------
    ImageFormatError
        Fewer than 2 measurements on the last axis, complex or non-numeric data, NaN/inf,
        negative values, or all zeros.
    """
    s = np.asarray(signal)
    if s.ndim < 1 or s.shape[-1] < 2:
        raise ImageFormatError(
            f"signal has shape {s.shape}; expected (..., n_{axis_name}) with at least 2 "
            f"{axis_name}")
    if not np.issubdtype(s.dtype, np.number) or np.iscomplexobj(s):
        raise ImageFormatError(f"signal must be real magnitude data, got dtype {s.dtype}")
    s = s.astype(np.float32, copy=False)
    if not np.isfinite(s).all():
        raise ImageFormatError(f"signal has {int((~np.isfinite(s)).sum())} NaN/inf values; "
                               "expected finite magnitudes")
    if (s < 0).any():
        raise ImageFormatError(f"signal has negative values (min {float(s.min()):g}); expected "
                               "magnitude data")
    if not (s > 0).any():
        raise ImageFormatError("signal is all zero")
    return s


def check_mask(mask: np.ndarray | None, spatial: tuple[int, ...]) -> np.ndarray:
    """Boolean mask of the signal's spatial shape (all True when ``mask`` is None)."""
    if mask is None:
        return np.ones(spatial, bool)
    m = np.asarray(mask)
    if m.shape != spatial:
        raise GeometryError(f"mask has shape {m.shape}, expected {spatial} (the signal's "
                            "spatial shape)")
    return m.astype(bool)
