"""Acquisition parameters checked once, where data enters: echo times (ms), b-values (s/mm²).

A low module (NumPy and discmri's errors only), used by :mod:`discmri.io` when it reads
sidecars and gradient tables and by the fits when they are called with arrays. Values that
look like the wrong unit are reported, never silently rescaled.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from .errors import AcquisitionError

__all__ = ["B0_MAX", "source_prefix", "validate_bvals", "validate_bvecs", "validate_echo_times"]

#: b-values at or below this (s/mm²) count as b = 0 (scanners often report b = 5).
B0_MAX = 10.0

#: Below this (ms) an echo time cannot be a spin-echo echo time; it is probably in seconds.
_MIN_PLAUSIBLE_TE_MS = 1.0
#: Above this (s/mm²) a b-value is implausible for tissue imaging; it is probably in s/m².
_MAX_PLAUSIBLE_B = 1.0e5


def source_prefix(source: str | os.PathLike[str] | None) -> str:
    """``"path: "`` to start a message about a value read from ``source`` (empty: none)."""
    return f"{source}: " if source else ""


def validate_echo_times(
    echo_times_ms: Sequence[float] | np.ndarray,
    *,
    n_echoes: int | None = None,
    source: str | os.PathLike[str] | None = None,
) -> np.ndarray:
    """Check echo times in milliseconds and return them as a float64 array.

    Parameters
    ----------
    echo_times_ms : sequence of float
        Echo times, ms.
    n_echoes : int, optional
        Number of echoes in the image they belong to.
    source : path-like, optional
        Where they came from, for messages.

    Returns
    -------
    (n_echoes,) ndarray
        Echo times, ms.

    Raises
    ------
    AcquisitionError
        If they are not a finite, positive, strictly increasing 1-D sequence, do not match
        ``n_echoes``, or all lie below 1 ms (which means seconds were given).
    """
    te = np.asarray(echo_times_ms, dtype=np.float64)
    where = source_prefix(source)
    if te.ndim != 1 or te.size == 0:
        raise AcquisitionError(f"{where}echo times must be a 1-D list, got shape {te.shape}")
    if n_echoes is not None and te.size != n_echoes:
        raise AcquisitionError(
            f"{where}{te.size} echo times given for {n_echoes} echoes; expected one per echo"
        )
    if not np.isfinite(te).all() or (te <= 0).any():
        raise AcquisitionError(f"{where}echo times {te.tolist()} must be finite and positive (ms)")
    if te.size > 1 and (np.diff(te) <= 0).any():
        raise AcquisitionError(
            f"{where}echo times {te.tolist()} ms are not strictly increasing; expected the echo "
            "order of the image"
        )
    if te.max() < _MIN_PLAUSIBLE_TE_MS:
        raise AcquisitionError(
            f"{where}echo times {te.tolist()} look like seconds; expected milliseconds "
            f"(e.g. {[round(t * 1000, 3) for t in te[:3]]} ...)"
        )
    return te


def validate_bvals(
    bvals: Sequence[float] | np.ndarray,
    *,
    n_volumes: int | None = None,
    source: str | os.PathLike[str] | None = None,
) -> np.ndarray:
    """Check b-values (s/mm²): 1-D, finite, non-negative, plausible units, matching the volumes."""
    b = np.asarray(bvals, dtype=np.float64)
    where = source_prefix(source)
    if b.ndim != 1:
        raise AcquisitionError(f"{where}b-values must be one row, got shape {b.shape}")
    if n_volumes is not None and b.size != n_volumes:
        raise AcquisitionError(
            f"{where}{b.size} b-values for {n_volumes} diffusion volumes; expected one per volume"
        )
    if not np.isfinite(b).all() or (b < 0).any():
        raise AcquisitionError(f"{where}b-values {b.tolist()} must be finite and >= 0 (s/mm²)")
    if b.max(initial=0) > _MAX_PLAUSIBLE_B:
        raise AcquisitionError(
            f"{where}b-value {b.max():g} looks like s/m²; expected s/mm² (e.g. {b.max() / 1e6:g})"
        )
    return b


def validate_bvecs(
    bvecs: np.ndarray,
    bvals: np.ndarray,
    *,
    source: str | os.PathLike[str] | None = None,
    tol: float = 0.05,
) -> np.ndarray:
    """Check b-vectors, (n, 3): finite unit vectors (within ``tol``) where b > 0.

    On b = 0 volumes (b ≤ :data:`B0_MAX`) a direction means nothing, and files in the wild hold
    zeros or NaN there: those are accepted and returned as zero vectors.

    Returns
    -------
    (n, 3) ndarray
        The vectors; those of b = 0 volumes that were not finite are zeros.

    Raises
    ------
    AcquisitionError
        Wrong shape, or a diffusion-weighted volume whose vector is not finite or not of unit
        length (the volume is named, counting from 0).
    """
    v = np.array(bvecs, dtype=np.float64)
    b = np.asarray(bvals, dtype=np.float64)
    where = source_prefix(source)
    if v.ndim != 2 or v.shape[1] != 3 or v.shape[0] != len(b):
        raise AcquisitionError(
            f"{where}b-vectors have shape {v.shape}; expected ({len(b)}, 3), one unit "
            "vector per volume"
        )
    weighted = b > B0_MAX
    v[~weighted & ~np.isfinite(v).all(axis=1)] = 0.0
    nonfinite = weighted & ~np.isfinite(v).all(axis=1)
    if nonfinite.any():
        i = int(np.flatnonzero(nonfinite)[0])
        raise AcquisitionError(
            f"{where}b-vector of volume {i} (b = {b[i]:g} s/mm²) is {v[i].tolist()}; expected "
            "a finite unit vector for a diffusion-weighted volume (NaN is accepted at b = 0)"
        )
    norms = np.linalg.norm(v, axis=1)
    bad = weighted & (np.abs(norms - 1.0) > tol)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise AcquisitionError(
            f"{where}b-vector of volume {i} {v[i].tolist()} has length {norms[i]:.3f}; expected "
            "unit vectors for diffusion-weighted volumes"
        )
    return v
