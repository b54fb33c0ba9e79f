"""Sampling voxel arrays at world coordinates."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

__all__ = ["lr_axis", "sample_world", "voxel_to_world", "world_to_voxel"]


def voxel_to_world(affine: np.ndarray, ijk: np.ndarray) -> np.ndarray:
    """World points (..., 3), mm, of voxel indices (..., 3)."""
    a = np.asarray(affine, float)
    return np.asarray(ijk, float) @ a[:3, :3].T + a[:3, 3]


def lr_axis(affine: np.ndarray) -> int:
    """Voxel axis most nearly along the scanner left-right (x) axis.

    On a sagittal acquisition this is the slice axis.
    """
    cols = np.asarray(affine, float)[:3, :3]
    return int(np.argmax(np.abs(cols[0]) / np.linalg.norm(cols, axis=0)))


def world_to_voxel(affine: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Continuous voxel indices (..., 3) of world points (..., 3), mm."""
    inv = np.linalg.inv(np.asarray(affine, float))
    return np.asarray(points, float) @ inv[:3, :3].T + inv[:3, 3]


def sample_world(
    data: np.ndarray,
    affine: np.ndarray,
    points: np.ndarray,
    *,
    order: int = 1,
    outside: float = np.nan,
) -> np.ndarray:
    """Values of a 3-D array at world points.

    Parameters
    ----------
    data : (X, Y, Z) ndarray
    affine : (4, 4) ndarray
        Voxel-to-world affine.
    points : (..., 3) ndarray
        World coordinates, mm.
    order : {0, 1}
        Nearest neighbour (labels) or trilinear interpolation (images, masks).
    outside : float
        Value for points outside the array.

    Returns
    -------
    ndarray
        Shape ``points.shape[:-1]``, float64.
    """
    ijk = world_to_voxel(affine, points)
    flat = ijk.reshape(-1, 3).T
    arr = np.asarray(data)
    if order == 0:
        idx = np.rint(flat).astype(np.int64)
        inside = np.all((idx >= 0) & (idx < np.array(arr.shape)[:, None]), axis=0)
        out = np.full(idx.shape[1], outside, dtype=np.float64)
        out[inside] = arr[tuple(idx[:, inside])]
        return out.reshape(ijk.shape[:-1])
    # Trilinear interpolation; points within half a voxel outside the array take the edge
    # value (as if the edge voxel extended), points further out take ``outside``.
    shape = np.array(arr.shape)[:, None]
    inside = np.all((flat >= -0.5) & (flat <= shape - 0.5), axis=0)
    vals = ndimage.map_coordinates(arr, np.clip(flat, 0, shape - 1), order=1,
                                   prefilter=False, output=np.float64)
    return np.where(inside, vals, outside).reshape(ijk.shape[:-1])
