"""The one adapter between SimpleITK images and discmri's (data, affine) convention.

SimpleITK stores geometry in LPS (DICOM) coordinates and returns arrays in z-y-x order;
nibabel and discmri use RAS+ coordinates and x-y-z arrays. Every conversion goes through
:func:`sitk_to_array` and :func:`array_to_sitk`, which are exact inverses.
"""

from __future__ import annotations

import numpy as np
import SimpleITK as sitk

from ..errors import GeometryError, ImageFormatError

__all__ = ["LPS_TO_RAS", "array_to_sitk", "sitk_to_array"]

#: Flip of the first two world axes; its own inverse.
LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])


def sitk_to_array(image: sitk.Image) -> tuple[np.ndarray, np.ndarray]:
    """Convert a 3-D SimpleITK image to an x-y-z array and a RAS+ affine.

    Parameters
    ----------
    image : SimpleITK.Image
        3-D image, scalar or vector pixels (vector components become the last axis).

    Returns
    -------
    data : (X, Y, Z) or (X, Y, Z, C) ndarray
        Voxel values in x-y-z order.
    affine : (4, 4) ndarray
        Voxel-to-world transform, RAS+ mm.
    """
    if image.GetDimension() != 3:
        raise ImageFormatError(f"expected a 3-D SimpleITK image, got {image.GetDimension()}-D")
    arr = sitk.GetArrayFromImage(image)  # (z, y, x[, c])
    data = np.transpose(arr, (2, 1, 0) + tuple(range(3, arr.ndim)))
    direction = np.array(image.GetDirection(), dtype=np.float64).reshape(3, 3)
    spacing = np.array(image.GetSpacing(), dtype=np.float64)
    lps = np.eye(4)
    lps[:3, :3] = direction * spacing[None, :]
    lps[:3, 3] = image.GetOrigin()
    return data, LPS_TO_RAS @ lps


def array_to_sitk(data: np.ndarray, affine: np.ndarray) -> sitk.Image:
    """Convert an x-y-z array and RAS+ affine to a 3-D SimpleITK image.

    Parameters
    ----------
    data : (X, Y, Z) ndarray
        Voxel values.
    affine : (4, 4) ndarray
        Voxel-to-world transform, RAS+ mm. Must be a rotation times positive scaling (no shear),
        which is what SimpleITK can represent.

    Returns
    -------
    SimpleITK.Image
    """
    data = np.asarray(data)
    if data.ndim != 3:
        raise ImageFormatError(f"expected a 3-D array, got shape {data.shape}")
    lps = LPS_TO_RAS @ np.asarray(affine, dtype=np.float64)
    spacing = np.linalg.norm(lps[:3, :3], axis=0)
    direction = lps[:3, :3] / spacing[None, :]
    if not np.allclose(direction.T @ direction, np.eye(3), atol=1e-5):
        raise GeometryError("affine has shear; SimpleITK needs orthogonal voxel axes")
    image = sitk.GetImageFromArray(np.ascontiguousarray(np.transpose(data, (2, 1, 0))))
    image.SetSpacing(tuple(float(s) for s in spacing))
    image.SetDirection(tuple(float(d) for d in direction.ravel()))
    image.SetOrigin(tuple(float(o) for o in lps[:3, 3]))
    return image
