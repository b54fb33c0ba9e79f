"""Anatomical frames of discs and vertebral bodies in scanner (world, RAS+) coordinates.

A frame has three orthonormal axes: left-right ``lr`` (the structure's own, from its 3-D
shape: not the scanner x axis when the patient is rotated or bent), ``ap`` (towards anterior)
and ``si`` (the endplate normal, towards cranial), and an origin. Local coordinates
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
        Unit axes: left-right, anterior, cranial.
    lr_from_shape : bool
        False when the structure's shape did not determine ``lr`` and the scanner's x axis
        was taken (:func:`frame_from_points`).
    """

    origin: np.ndarray
    lr: np.ndarray
    ap: np.ndarray
    si: np.ndarray
    lr_from_shape: bool = True

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
                     self.lr, ap, si, self.lr_from_shape)

    @property
    def tilt_deg(self) -> float:
        """Angle of ``si`` from the scanner z axis in the sagittal plane, degrees."""
        return math.degrees(math.atan2(-self.si[1], self.si[2]))


def frame_from_points(points: np.ndarray, *, cranial: np.ndarray | None = None) -> Frame:
    """Frame of a flat structure, in 3-D, from the world coordinates of its voxels.

    The principal axes of the voxel centres: the one nearest the scanner x axis is ``lr`` (an
    axially rotated spine turns it); of the other two, the axis of less spread is ``si`` (the
    normal of a flat disc or body, whatever the patient's pose: lateral bending tilts it out of
    the scanner's sagittal plane), and ``ap`` completes the frame. Where the left-right spread
    is within 20 % of another (a footprint about as wide as deep, or a disc cut by a thin slab
    to about its height), its direction is not determined by the shape: ``lr`` is then the
    scanner x axis and ``si`` the normal found in the plane across it, and the frame's
    ``lr_from_shape`` is False. For a wedge or domed
    disc the principal axes are its bisector frame, since the mid-surface is symmetric in AP.
    ``si`` points towards ``cranial`` (a world point above, e.g. the centroid of the vertebral
    body above) or world +z; ``ap`` to world +y (anterior in RAS+); ``lr`` to world +x.

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
    d = pts - centre
    w, v = np.linalg.eigh(d.T @ d)
    k = int(np.argmax(np.abs(v[0])))  # the principal axis nearest the scanner x axis
    others = [i for i in range(3) if i != k]
    from_shape = min(w[k], w[others[0]]) > 0 and all(
        max(w[k], w[i]) > 1.2 * min(w[k], w[i]) for i in others)
    if from_shape:
        lr, si = v[:, k], v[:, others[0]]  # others[0] has the smaller spread
    else:
        # Left-right does not stand out (a round footprint, or a disc cut by a thin slab to
        # about its height): the scanner x axis, and the normal within the plane across it.
        yz = d[:, 1:]
        _, v2 = np.linalg.eigh(yz.T @ yz)
        lr, si = _LR.copy(), np.array([0.0, *v2[:, 0]])
    lr = lr / np.linalg.norm(lr)
    if lr[0] < 0:
        lr = -lr
    up = np.array([0.0, 0.0, 1.0]) if cranial is None else np.asarray(cranial) - centre
    if si @ up < 0:
        si = -si
    ap = np.cross(si, lr)
    if ap[1] < 0:  # keep a right-handed frame with ap anterior
        lr, ap = -lr, -ap
    return Frame(centre, lr, ap, si, bool(from_shape))
