"""Geometry every layer uses: voxel ↔ world transforms, world sampling and grid checks.

A low module: it imports NumPy, SciPy and ``nibabel.affines`` only, and nothing of discmri
but its errors. Affines are 4×4 voxel-to-world (RAS+, mm) matrices.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
from nibabel.affines import apply_affine, voxel_sizes
from scipy import ndimage

from .errors import GeometryError

__all__ = [
    "check_same_grid",
    "lr_axis",
    "sample_world",
    "voxel_centres",
    "voxel_spacing",
    "voxel_to_world",
    "world_to_voxel",
]


class _Gridded(Protocol):
    @property
    def spatial_shape(self) -> tuple[int, int, int]: ...

    @property
    def affine(self) -> np.ndarray: ...

    @property
    def source(self) -> str | None: ...


def voxel_spacing(affine: np.ndarray) -> tuple[float, float, float]:
    """Voxel edge lengths (mm) of a 4×4 voxel-to-world affine.

    Parameters
    ----------
    affine : (4, 4) ndarray
        Voxel-to-world (RAS+, mm) transform.

    Returns
    -------
    tuple of 3 float
        Length in mm of a unit step along each voxel axis.
    """
    return tuple(float(v) for v in voxel_sizes(np.asarray(affine, float)))  # type: ignore[return-value]


def voxel_to_world(affine: np.ndarray, ijk: np.ndarray) -> np.ndarray:
    """World points (..., 3), mm, of voxel indices (..., 3)."""
    return apply_affine(np.asarray(affine, float), np.asarray(ijk, float))


def world_to_voxel(affine: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Continuous voxel indices (..., 3) of world points (..., 3), mm."""
    return apply_affine(np.linalg.inv(np.asarray(affine, float)), np.asarray(points, float))


def voxel_centres(shape: tuple[int, ...], affine: np.ndarray,
                  box: tuple[slice, ...] | None = None) -> np.ndarray:
    """World coordinates (X, Y, Z, 3), mm, of the voxel centres of a grid (or of a box of it)."""
    ranges = ([np.arange(n) for n in shape[:3]] if box is None
              else [np.arange(s.start, s.stop) for s in box])
    ijk = np.stack(np.meshgrid(*ranges, indexing="ij"), axis=-1)
    return voxel_to_world(affine, ijk)


def lr_axis(affine: np.ndarray) -> int:
    """Voxel axis most nearly along the scanner left-right (x) axis.

    On a sagittal acquisition this is the slice axis.
    """
    cols = np.asarray(affine, float)[:3, :3]
    return int(np.argmax(np.abs(cols[0]) / np.linalg.norm(cols, axis=0)))


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


def check_same_grid(volume: _Gridded, other: _Gridded, *, what: str = "label map",
                    atol: float = 1e-3) -> None:
    """Raise :class:`~discmri.errors.GeometryError` unless two volumes share a voxel grid.

    Parameters
    ----------
    volume, other : Volume
        The reference image and the one that must match it (e.g. a label map): anything with
        ``spatial_shape``, ``affine`` and ``source``.
    what : str
        Name of ``other`` in the message.
    atol : float
        Tolerance on affine entries (mm).
    """
    name = other.source or what
    ref = volume.source or "the image"
    if tuple(other.spatial_shape) != tuple(volume.spatial_shape):
        raise GeometryError(
            f"{name}: {what} has shape {tuple(other.spatial_shape)}, expected "
            f"{tuple(volume.spatial_shape)} as in {ref}"
        )
    if not np.allclose(other.affine, volume.affine, atol=atol):
        diff = float(np.abs(np.asarray(other.affine) - np.asarray(volume.affine)).max())
        raise GeometryError(
            f"{name}: {what} affine differs from {ref} by up to {diff:.3g} mm; expected the same "
            "voxel grid"
        )
