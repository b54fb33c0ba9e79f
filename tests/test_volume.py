import numpy as np
import pytest

from discmri.errors import DiscMRIError
from discmri.volume import Volume, voxel_spacing


def oblique_affine():
    rot = np.array([[0.0, 0.0, 1.0], [np.cos(0.3), -np.sin(0.3), 0.0],
                    [np.sin(0.3), np.cos(0.3), 0.0]])
    aff = np.eye(4)
    aff[:3, :3] = rot @ np.diag([0.6, 0.7, 4.0])
    aff[:3, 3] = [-10.0, 20.0, 5.0]
    return aff


def test_spacing_comes_from_the_affine():
    vol = Volume(np.zeros((4, 5, 6)), oblique_affine())
    assert vol.spacing == pytest.approx((0.6, 0.7, 4.0))
    assert voxel_spacing(oblique_affine()) == pytest.approx((0.6, 0.7, 4.0))


def test_data_is_float32_read_only_and_a_copy():
    src = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    vol = Volume(src, np.eye(4))
    assert vol.data.dtype == np.float32
    assert not vol.data.flags.writeable
    src[0, 0, 0] = 99  # the caller's array stays the caller's
    assert vol.data[0, 0, 0] == 0
    with pytest.raises(ValueError):
        vol.data[0, 0, 0] = 1


def test_integer_data_is_converted():
    vol = Volume(np.ones((2, 2, 2), dtype=np.int16), np.eye(4))
    assert vol.data.dtype == np.float32


@pytest.mark.parametrize("shape", [(4, 4), (2, 2, 2, 2, 2)])
def test_rank_is_checked(shape):
    with pytest.raises(DiscMRIError, match="3-D or 4-D"):
        Volume(np.zeros(shape), np.eye(4))


def test_affine_shape_is_checked():
    with pytest.raises(DiscMRIError, match="4x4"):
        Volume(np.zeros((2, 2, 2)), np.eye(3))


def test_with_data_keeps_grid_and_drops_source():
    vol = Volume(np.zeros((2, 3, 4)), oblique_affine(), {"source": "a.nii", "x": 1})
    new = vol.with_data(np.ones((2, 3, 4)), units="ms")
    assert np.array_equal(new.affine, vol.affine)
    assert new.source is None and new.meta["x"] == 1 and new.meta["units"] == "ms"
    with pytest.raises(DiscMRIError, match="spatial shape"):
        vol.with_data(np.ones((3, 3, 4)))


def test_orientation_codes():
    assert Volume(np.zeros((2, 2, 2)), np.eye(4)).orientation == "RAS"
    assert Volume(np.zeros((2, 2, 2)), np.diag([-1.0, -1.0, 1.0, 1.0])).orientation == "LPS"


def test_check_same_grid_names_what_differs():
    from discmri.errors import GeometryError
    from discmri.io import check_same_grid

    image = Volume(np.zeros((4, 5, 6)), oblique_affine(), {"source": "t2w.nii.gz"})
    check_same_grid(image, Volume(np.zeros((4, 5, 6)), oblique_affine()))
    with pytest.raises(GeometryError, match=r"labels.nii.gz: label map has shape \(4, 5, 5\), "
                                            r"expected \(4, 5, 6\) as in t2w.nii.gz"):
        check_same_grid(image, Volume(np.zeros((4, 5, 5)), oblique_affine(),
                                      {"source": "labels.nii.gz"}))
    shifted = oblique_affine()
    shifted[0, 3] += 2.0
    with pytest.raises(GeometryError, match="affine differs from t2w.nii.gz by up to 2 mm"):
        check_same_grid(image, Volume(np.zeros((4, 5, 6)), shifted))


def test_volumes_pickle_for_worker_processes():
    import pickle

    vol = Volume(np.arange(24.0).reshape(2, 3, 4), oblique_affine(),
                 {"source": "a.nii.gz", "echo_times_ms": (10.0, 20.0)})
    back = pickle.loads(pickle.dumps(vol))
    assert np.array_equal(back.data, vol.data) and np.array_equal(back.affine, vol.affine)
    assert dict(back.meta) == dict(vol.meta) and not back.data.flags.writeable
