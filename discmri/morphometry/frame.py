"""Anatomical frames of discs and vertebral bodies in scanner (world, RAS+) coordinates.

A frame has three orthonormal axes: left-right ``lr`` (the scanner x axis), ``ap`` (towards
anterior) and ``si`` (the endplate normal, towards cranial), and an origin. Local coordinates
are ``p`` along ``ap``, ``q`` along ``si`` and ``x`` along ``lr``, all in mm.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["Frame", "frame_from_points"]

_LR = np.array([1.0, 0.0, 0.0])


@dataclass(frozen=True)
class Frame:
    """Origin and axes of a disc or vertebral body, world mm.

    Attributes
    ----------
    origin : (3,) ndarray
        Centre, mm.
    lr, ap, si : (3,) ndarray
        Unit axes: left-right (the scanner x axis), anterior, cranial.
    """

    origin: np.ndarray
    lr: np.ndarray
    ap: np.ndarray
    si: np.ndarray

    def to_world(self, p: np.ndarray, q: np.ndarray, x: np.ndarray | float = 0.0) -> np.ndarray:
        """World points (..., 3) of local coordinates (mm)."""
        p, q, x = np.broadcast_arrays(np.asarray(p, float), np.asarray(q, float),
                                      np.asarray(x, float))
        return (self.origin + p[..., None] * self.ap + q[..., None] * self.si
                + x[..., None] * self.lr)

    def to_local(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(p, q, x) local coordinates (mm) of world points (..., 3)."""
        d = np.asarray(points, float) - self.origin
        return d @ self.ap, d @ self.si, d @ self.lr

    def rotated(self, angle: float, origin: np.ndarray | None = None) -> Frame:
        """The frame turned by ``angle`` (rad) in its sagittal plane, ``ap`` towards ``si``.

        A surface ``q = a + b·p`` has its normal turned from ``si`` by ``atan(b)``; rotating by
        that angle makes the new ``si`` that normal.
        """
        c, s = math.cos(angle), math.sin(angle)
        ap = c * self.ap + s * self.si
        si = -s * self.ap + c * self.si
        return Frame(self.origin if origin is None else np.asarray(origin, float),
                     self.lr, ap, si)

    @property
    def tilt_deg(self) -> float:
        """Angle of ``si`` from the scanner z axis in the sagittal plane, degrees."""
        return math.degrees(math.atan2(-self.si[1], self.si[2]))


def frame_from_points(points: np.ndarray, *, cranial: np.ndarray | None = None) -> Frame:
    """Frame of a flat structure from the world coordinates of its voxels.

    ``lr`` is the scanner x axis; in the plane orthogonal to it the axis of least spread is
    ``si`` and the other is ``ap`` (principal components of the voxel centres). For a wedge or
    domed disc the principal axes are its bisector frame, since the mid-surface is symmetric in
    AP. ``si`` points towards ``cranial`` (a world point above, e.g. the centroid of the
    vertebral body above) or world +z; ``ap`` points to world +y (anterior in RAS+).

    Parameters
    ----------
    points : (N, 3) ndarray
        Voxel centres, world mm (N ≥ 3).
    cranial : (3,) ndarray, optional

    Returns
    -------
    Frame
    """
    pts = np.asarray(points, float)
    centre = pts.mean(axis=0)
    yz = pts[:, 1:] - centre[1:]
    w, v = np.linalg.eigh(yz.T @ yz)
    si = np.array([0.0, *v[:, 0]])
    ap = np.array([0.0, *v[:, 1]])
    up = np.array([0.0, 0.0, 1.0]) if cranial is None else np.asarray(cranial) - centre
    if si @ up < 0:
        si = -si
    if ap[1] < 0:
        ap = -ap
    return Frame(centre, _LR.copy(), ap, si)
