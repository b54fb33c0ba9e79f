"""Goodness of fit per voxel: RMSE and R² from observations and residuals."""

from __future__ import annotations

import numpy as np

__all__ = ["fit_quality"]


def fit_quality(observed: np.ndarray, residual: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Root-mean-square residual and coefficient of determination of each row.

    Row-wise dot products use ``einsum`` (much faster than ``.sum(axis=1)`` over short rows).

    Parameters
    ----------
    observed, residual : (n, m) ndarray

    Returns
    -------
    rmse, r2 : (n,) float64 ndarray
    """
    m = observed.shape[1]
    ss_res = np.einsum("ij,ij->i", residual, residual).astype(np.float64)
    total = (observed @ np.ones(m, observed.dtype)).astype(np.float64)
    ss_tot = np.einsum("ij,ij->i", observed, observed).astype(np.float64) - total**2 / m
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = 1.0 - ss_res / ss_tot
    return np.sqrt(ss_res / m), r2
