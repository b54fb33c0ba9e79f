"""Voxel grids and patient poses for rendering the phantom."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..errors import ParameterError

__all__ = ["Grid", "Pose", "rotation_matrix"]


def rotation_matrix(axis: Sequence[float], angle_deg: float) -> np.ndarray:
    """3×3 rotation by ``angle_deg`` about ``axis`` (right-hand rule)."""
    k = np.asarray(axis, dtype=np.float64)
    k = k / np.linalg.norm(k)
    a = math.radians(angle_deg)
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + math.sin(a) * kx + (1 - math.cos(a)) * kx @ kx


@dataclass(frozen=True)
class Pose:
    """Placement of the body frame in scanner (RAS+) space: ``world = R @ body + t``.

    Parameters
    ----------
    rotation : (3, 3) ndarray
        Proper rotation.
    translation : (3,) ndarray
        mm.
    """

    rotation: np.ndarray
    translation: np.ndarray

    @classmethod
    def identity(cls) -> Pose:
        """Body frame = scanner frame."""
        return cls(np.eye(3), np.zeros(3))

    @classmethod
    def sagittal(cls, angle_deg: float = 0.0, shift_mm: Sequence[float] = (0, 0, 0)) -> Pose:
        """Rotation within the sagittal plane (about the left-right axis) and a shift."""
        return cls(rotation_matrix((1, 0, 0), angle_deg), np.asarray(shift_mm, float))

    def __post_init__(self) -> None:
        r = np.asarray(self.rotation, dtype=np.float64)
        if r.shape != (3, 3) or not np.allclose(r @ r.T, np.eye(3), atol=1e-9) or (
            np.linalg.det(r) < 0
        ):
            raise ParameterError("Pose rotation must be a proper 3x3 rotation matrix")
        object.__setattr__(self, "rotation", r)
        object.__setattr__(self, "translation", np.asarray(self.translation, dtype=np.float64))

    def to_body(self, world: np.ndarray) -> np.ndarray:
        """Scanner → body coordinates of points (..., 3)."""
        return (np.asarray(world) - self.translation) @ self.rotation

    def to_world(self, body: np.ndarray) -> np.ndarray:
        """Body → scanner coordinates of points (..., 3)."""
        return np.asarray(body) @ self.rotation.T + self.translation


@dataclass(frozen=True)
class Grid:
    """A voxel grid: spatial shape and voxel-to-world (RAS+) affine.

    Parameters
    ----------
    shape : tuple of 3 int
    affine : (4, 4) ndarray
    """

    shape: tuple[int, int, int]
    affine: np.ndarray

    def __post_init__(self) -> None:
        object.__setattr__(self, "shape", tuple(int(s) for s in self.shape))
        object.__setattr__(self, "affine", np.asarray(self.affine, dtype=np.float64))

    @classmethod
    def sagittal(
        cls,
        fov_mm: Sequence[float],
        voxel_mm: Sequence[float],
        *,
        center: Sequence[float] = (0.0, 0.0, 0.0),
        rotation: np.ndarray | None = None,
    ) -> Grid:
        """Make a sagittal acquisition grid.

        Axis 0 runs left→right (slices), 1 posterior→anterior, 2 inferior→superior, before
        ``rotation``.

        Parameters
        ----------
        fov_mm : (3,) float
            Extent along the three axes, mm (rounded to whole voxels).
        voxel_mm : (3,) float
            Voxel size (slice thickness, AP, SI), mm.
        center : (3,) float
            World position of the grid centre, mm.
        rotation : (3, 3) ndarray, optional
            Rotation of the grid axes in world space (oblique acquisitions).
        """
        vox = np.asarray(voxel_mm, dtype=np.float64)
        shape = np.maximum(1, np.round(np.asarray(fov_mm, dtype=np.float64) / vox)).astype(int)
        rot = np.eye(3) if rotation is None else np.asarray(rotation, dtype=np.float64)
        lin = rot * vox[None, :]
        affine = np.eye(4)
        affine[:3, :3] = lin
        affine[:3, 3] = np.asarray(center, float) - lin @ ((shape - 1) / 2.0)
        return cls(tuple(shape), affine)

    @property
    def spacing(self) -> tuple[float, float, float]:
        """Voxel size along each axis, mm."""
        return tuple(float(v) for v in np.linalg.norm(self.affine[:3, :3], axis=0))

    @property
    def size(self) -> int:
        """Number of voxels."""
        return int(np.prod(self.shape))

    def points(self, index: np.ndarray, offsets: np.ndarray | None = None) -> np.ndarray:
        """World coordinates of voxels (flat indices), optionally at sub-voxel offsets.

        Parameters
        ----------
        index : (N,) int ndarray
            Flat (C-order) voxel indices.
        offsets : (M, 3) ndarray, optional
            Offsets in voxel units from the voxel centre.

        Returns
        -------
        (N, 3) or (N, M, 3) ndarray
        """
        ijk = np.stack(np.unravel_index(index, self.shape), axis=-1).astype(np.float64)
        if offsets is not None:
            ijk = ijk[:, None, :] + offsets[None, :, :]
        return ijk @ self.affine[:3, :3].T + self.affine[:3, 3]
