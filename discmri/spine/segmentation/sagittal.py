"""The sagittal working frame of the segmenter: checks and reorientation of the input.

The segmenter works on arrays in RAS order (left→right, posterior→anterior,
inferior→superior), one sagittal slice per first index. :class:`SagittalFrame` holds that
array, its voxel size and the transform back to the input's array order, so that the labels
it makes are written on the input's own grid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from nibabel.orientations import apply_orientation, axcodes2ornt, io_orientation, ornt_transform

from ...errors import GeometryError, ImageFormatError, ParameterError
from ...geometry import world_to_voxel
from ...unwrap import unwrap_8bit
from ...volume import Volume

__all__ = ["MIN_EXTENT_MM", "SagittalFrame", "sagittal_frame"]

#: Smallest in-plane field of view that can hold a disc with a vertebral body on each side,
#: (AP, SI) mm: a cervical body is about 15 mm deep and tall, a disc 4–6 mm.
MIN_EXTENT_MM = (30.0, 30.0)
_RAS = axcodes2ornt(("R", "A", "S"))


@dataclass(frozen=True, eq=False)
class SagittalFrame:
    """A volume in the segmenter's RAS array order.

    Attributes
    ----------
    data : (X, Y, Z) float32 ndarray
        Voxel values, x left→right (slices), y posterior→anterior, z inferior→superior.
    spacing : (3,) ndarray
        Voxel size along x, y, z, mm.
    volume : Volume
        The input.
    wrapped : float
        Fraction of neighbouring voxels of the input that jump as an image wrapped at 256
        does; above :data:`~discmri.unwrap.WRAPPED_FRACTION` ``data`` holds the unwrapped values
        (:func:`~discmri.unwrap.unwrap_8bit`).
    """

    data: np.ndarray
    spacing: np.ndarray
    volume: Volume
    _ornt: np.ndarray
    wrapped: float = 0.0

    def to_input(self, labels: np.ndarray) -> np.ndarray:
        """A label array of this frame, in the input's array order."""
        back = ornt_transform(_RAS, self._ornt)
        return np.ascontiguousarray(apply_orientation(labels, back))

    def from_input(self, array: np.ndarray) -> np.ndarray:
        """An array on the input's grid, in this frame's order."""
        return np.ascontiguousarray(apply_orientation(array, ornt_transform(self._ornt, _RAS)))

    def voxel_of(self, world: np.ndarray) -> np.ndarray:
        """Continuous (x, y, z) index of this frame for a scanner (RAS mm) point."""
        ijk = world_to_voxel(self.volume.affine, np.asarray(world, float))
        shape = np.array(self.volume.spatial_shape, float)
        out = np.empty(3)
        for axis, (target, flip) in enumerate(ornt_transform(self._ornt, _RAS)):
            out[int(target)] = shape[axis] - 1 - ijk[axis] if flip < 0 else ijk[axis]
        return out


def sagittal_frame(volume: Volume) -> SagittalFrame:
    """Check that a volume is a sagittal acquisition of a usable size and reorient it.

    An image whose intensities were wrapped at 256 (cast to 8 bits) is unwrapped
    (:mod:`.wrap`).

    Parameters
    ----------
    volume : Volume
        A 3-D T2-weighted image.

    Returns
    -------
    SagittalFrame

    Raises
    ------
    ImageFormatError
        The image is 4-D, or not finite.
    GeometryError
        The acquisition is axial or coronal (its thickest voxels are not left-right), or its
        in-plane field of view is smaller than :data:`MIN_EXTENT_MM`.
    """
    if volume.data.ndim != 3:
        raise ImageFormatError(
            f"segmentation needs one 3-D T2-weighted image, got shape {volume.shape}")
    if not np.isfinite(volume.data).all():
        raise ImageFormatError("the T2-weighted image has NaN or infinite voxels")
    ornt = io_orientation(volume.affine)
    spacing_in = np.asarray(volume.spacing, float)
    spacing = np.empty(3)
    for axis, (target, _) in enumerate(ornt):
        spacing[int(target)] = spacing_in[axis]
    thickest = int(np.argmax(spacing))
    if spacing[thickest] > 1.2 * np.min(spacing) and thickest != 0:
        plane = "axial" if thickest == 2 else "coronal"
        raise GeometryError(
            f"the image looks {plane}: its thickest voxels ({spacing[thickest]:.2g} mm) run "
            f"{'inferior-superior' if thickest == 2 else 'anterior-posterior'}; segmentation "
            "needs a sagittal acquisition (thickest voxels left-right)")
    data = np.asarray(apply_orientation(np.asarray(volume.data), ornt_transform(ornt, _RAS)),
                      dtype=np.float32)
    data, wrapped = unwrap_8bit(data)
    extent = spacing[1:] * np.array(data.shape[1:])
    if (extent < MIN_EXTENT_MM).any():
        raise GeometryError(
            f"the image covers {extent[0]:.0f} × {extent[1]:.0f} mm (AP × SI); at least "
            f"{MIN_EXTENT_MM[0]:.0f} × {MIN_EXTENT_MM[1]:.0f} mm is needed to hold a disc "
            "between two vertebral bodies")
    return SagittalFrame(data, spacing, volume, ornt, wrapped)


def check_hint(frame: SagittalFrame, hint_world: np.ndarray) -> np.ndarray:
    """Frame index of a hint point given in scanner mm; refuse one outside the image."""
    hint_world = np.asarray(hint_world, float)
    if hint_world.shape != (3,) or not np.isfinite(hint_world).all():
        raise ParameterError(f"a hint point is three finite numbers (x, y, z mm), got "
                             f"{hint_world.tolist()}")
    index = frame.voxel_of(hint_world)
    if ((index < -0.5) | (index > np.array(frame.data.shape) - 0.5)).any():
        raise ParameterError(
            f"the hint point {hint_world.tolist()} mm lies outside the image (voxel "
            f"{np.round(index, 1).tolist()} of shape {list(frame.data.shape)})")
    return index
