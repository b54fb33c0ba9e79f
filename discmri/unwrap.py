"""Intensities wrapped at 256: recognised and unwrapped before segmentation and measurement.

An image converted to 8 bits by a cast rather than a rescale keeps its values modulo 256:
fat and CSF above 255 come back near 0, so the brightest tissues of a T2-weighted image turn
dark in patches ringed by jumps from about 255 to about 0 between neighbouring voxels. A
real 8-bit image has such jumps only at the few sharpest edges (at most 0.2 % of the
neighbour pairs of 100 SPIDER slices and the vb2 scans); a wrapped one has them around every
bright structure (2.4–4.2 % on the ivd scans of ../shared/data).

Reading the value as a phase, ``2π v / 256``, turns the wrap into a phase wrap, which
scikit-image's ``unwrap_phase`` (Herráez et al., Appl Opt 2002; Abdul-Rahman et al., Appl
Opt 2007: reliability-sorted path following, 2-D and 3-D) undoes wherever neighbouring true
values differ by less than 128. The result is defined up to a whole number of periods; the
one that puts the median voxel within 0–255 is taken (most of an image is tissue darker
than fat and CSF), and what noise in air unwraps below 0 is set to 0.
"""

from __future__ import annotations

import numpy as np

__all__ = ["WRAP_JUMP", "WRAPPED_FRACTION", "unwrap_8bit", "wrapped_fraction"]

#: A jump between neighbouring voxels of at least this much, in an image of 0–255 integers,
#: is read as a wrap (the other way round it is at most 96).
WRAP_JUMP = 160
#: Fraction of neighbour pairs with such a jump above which an image is wrapped.
WRAPPED_FRACTION = 0.01


def wrapped_fraction(data: np.ndarray) -> float:
    """Fraction of neighbouring voxel pairs that jump by :data:`WRAP_JUMP` or more.

    Returns 0 for an image that is not made of whole numbers within 0–255.
    """
    data = np.asarray(data)
    if data.size == 0 or data.min() < 0 or data.max() > 255 or not np.array_equal(
            data, np.round(data)):
        return 0.0
    values = data.astype(np.int16)
    pairs = jumps = 0
    for axis in range(values.ndim):
        if values.shape[axis] < 2:
            continue
        step = np.abs(np.diff(values, axis=axis))
        pairs += step.size
        jumps += int((step >= WRAP_JUMP).sum())
    return jumps / pairs if pairs else 0.0


def unwrap_8bit(data: np.ndarray) -> tuple[np.ndarray, float]:
    """Unwrap an image whose intensities were wrapped at 256; others come back as they are.

    Parameters
    ----------
    data : ndarray
        2-D or 3-D image (a one-slice volume is unwrapped in its plane).

    Returns
    -------
    data : float32 ndarray
        The unwrapped image (values may exceed 255), or the input as float32.
    fraction : float
        :func:`wrapped_fraction` of the input; the image was unwrapped when it is above
        :data:`WRAPPED_FRACTION`.
    """
    data = np.asarray(data)
    fraction = wrapped_fraction(data)
    if fraction <= WRAPPED_FRACTION:
        return np.asarray(data, dtype=np.float32), fraction
    from skimage.restoration import unwrap_phase

    squeeze = [axis for axis in range(data.ndim) if data.shape[axis] == 1]
    phase = np.squeeze(data.astype(np.float64), axis=tuple(squeeze)) * (2 * np.pi / 256) - np.pi
    value = (unwrap_phase(phase) + np.pi) * (256 / (2 * np.pi))
    value -= 256.0 * np.floor(np.median(value) / 256.0)
    value = np.clip(value, 0.0, None).reshape(data.shape)
    return value.astype(np.float32), fraction
