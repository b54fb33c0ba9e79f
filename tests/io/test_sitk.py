import nibabel as nib
import numpy as np
import pytest
import SimpleITK as sitk

from discmri.errors import DiscMRIError
from discmri.io import array_to_sitk, sitk_to_array
from discmri.phantom.grid import rotation_matrix


def oblique_affine():
    rot = rotation_matrix((1, 0.3, -0.2), 25.0) @ np.diag([-1.0, 1.0, 1.0])  # LAS-like, oblique
    aff = np.eye(4)
    aff[:3, :3] = rot @ np.diag([0.6, 0.7, 4.0])
    aff[:3, 3] = [-10.0, 20.0, 5.0]
    return aff


def test_round_trip_is_exact(rng):
    data = rng.normal(size=(5, 6, 7)).astype(np.float32)
    back, aff = sitk_to_array(array_to_sitk(data, oblique_affine()))
    np.testing.assert_array_equal(back, data)
    np.testing.assert_allclose(aff, oblique_affine(), atol=1e-9)


def test_agrees_with_nibabel_on_the_same_file(tmp_path, rng):
    """SimpleITK reading a NIfTI and nibabel reading it give the same voxels at the same
    RAS positions through the adapter — the conventions, not only the round trip."""
    data = rng.normal(size=(5, 6, 7)).astype(np.float32)
    path = tmp_path / "x.nii.gz"
    nib.save(nib.Nifti1Image(data, oblique_affine()), path)
    arr, aff = sitk_to_array(sitk.ReadImage(str(path)))
    np.testing.assert_array_equal(arr, data)
    np.testing.assert_allclose(aff, nib.load(path).affine, atol=1e-5)


def test_index_to_point_matches_affine(rng):
    image = array_to_sitk(np.zeros((5, 6, 7), np.float32), oblique_affine())
    ijk = (1, 2, 3)
    lps = np.array(image.TransformIndexToPhysicalPoint(ijk))
    ras = oblique_affine() @ np.array([*ijk, 1.0])
    np.testing.assert_allclose(lps * [-1, -1, 1], ras[:3], atol=1e-9)


def test_shear_is_rejected():
    aff = np.eye(4)
    aff[0, 1] = 0.5
    with pytest.raises(DiscMRIError, match="shear"):
        array_to_sitk(np.zeros((2, 2, 2)), aff)
