"""Noise level of magnitude images from their background."""

from __future__ import annotations

import numpy as np

from ..errors import DiscMRIError

__all__ = ["estimate_noise_sigma"]


def estimate_noise_sigma(
    signal: np.ndarray, *, background: np.ndarray | None = None, min_voxels: int = 100
) -> float:
    """Estimate the Gaussian noise SD σ (per real/imaginary channel) of magnitude data.

    In signal-free voxels the magnitude is Rayleigh distributed with ``E[M²] = 2σ²``, so
    ``σ = sqrt(mean(M²) / 2)`` over background voxels (and all their measurements).

    Parameters
    ----------
    signal : (..., m) or (...) ndarray
        Magnitude images; with a last measurement axis (echoes, b-values) every measurement
        is used.
    background : bool ndarray, optional
        Background voxels (spatial shape). By default they are found as the lowest mode of the
        histogram of per-voxel mean magnitude (the first local maximum from below that holds
        at least 2 % of the histogram's peak height), which for Rayleigh noise lies at
        ``σ·sqrt(π/2)``: voxels within 3 SD of that mode are taken. Background need not be
        the most common low intensity (muscle often is).
    min_voxels : int
        Fewest background voxels accepted.

    Returns
    -------
    float
        σ in the units of ``signal``.

    Raises
    ------
    DiscMRIError
        When too few background voxels are found (give σ explicitly then).

    References
    ----------
    .. [1] Gudbjartsson H, Patz S. The Rician distribution of noisy MRI data. Magn Reson Med
       1995;34:910-914. doi:10.1002/mrm.1910340618
    """
    s = np.asarray(signal, dtype=np.float64)
    # a last measurement axis: 4-D data, or one axis more than the background mask
    measurements = s.ndim >= 4 if background is None else s.ndim == np.ndim(background) + 1
    per_voxel = s.reshape(-1, s.shape[-1]) if measurements else s.reshape(-1, 1)
    n_meas = per_voxel.shape[1]
    if background is not None:
        sel = np.asarray(background, bool).ravel()
    else:
        mean = per_voxel.mean(axis=1)
        positive = mean[mean > 0]
        if positive.size < min_voxels:
            raise DiscMRIError(f"only {positive.size} non-zero voxels; cannot estimate noise")
        upper = np.percentile(positive, 50)
        # Bins well above the step of integer-valued data averaged over a few measurements,
        # which would otherwise comb the histogram into false peaks.
        hist, edges = np.histogram(positive[positive <= upper], bins=128)
        smooth = np.convolve(hist, np.ones(5) / 5, mode="same")
        padded = np.concatenate([[0.0], smooth, [0.0]])
        is_peak = (smooth >= padded[:-2]) & (smooth > padded[2:])
        is_peak &= smooth >= 0.02 * smooth.max()
        peak = int(np.flatnonzero(is_peak)[0])
        mode = 0.5 * (edges[peak] + edges[peak + 1])
        sigma0 = mode / np.sqrt(np.pi / 2)
        spread = sigma0 * np.sqrt((4 - np.pi) / 2) / np.sqrt(n_meas)
        sel = np.abs(mean - mode) < 3 * max(spread, edges[1] - edges[0])
        if sel.sum() >= min_voxels:  # refine once around the Rayleigh mean of this estimate
            sigma1 = np.sqrt(np.mean(per_voxel[sel] ** 2) / 2)
            centre = sigma1 * np.sqrt(np.pi / 2)
            sel = np.abs(mean - centre) < 3 * sigma1 * np.sqrt((4 - np.pi) / 2 / n_meas)
    if sel.sum() < min_voxels:
        raise DiscMRIError(
            f"found {int(sel.sum())} background voxels, expected at least {min_voxels}; give the "
            "noise SD explicitly"
        )
    return float(np.sqrt(np.mean(per_voxel[sel] ** 2) / 2))
