import gzip

import nibabel as nib
import numpy as np
import pytest

from discmri.errors import ImageFormatError, InputNotFoundError, OutputExistsError
from discmri.io import Volume, load_volume, save_volume


def affine():
    aff = np.diag([0.6, 0.7, 4.0, 1.0])
    aff[:3, 3] = [-30, 12, 7]
    return aff


def test_round_trip_keeps_data_geometry_and_header(tmp_path, rng):
    data = rng.normal(size=(5, 6, 7)).astype(np.float32)
    img = nib.Nifti1Image(data, affine())
    img.header["descrip"] = b"source header"
    src = tmp_path / "in.nii.gz"
    nib.save(img, src)
    vol = load_volume(src)
    assert vol.source == str(src)
    np.testing.assert_array_equal(vol.data, data)
    np.testing.assert_allclose(vol.affine, affine())
    out = save_volume(vol, tmp_path / "out.nii.gz")
    back = nib.load(out)
    assert back.get_data_dtype() == np.float32
    np.testing.assert_array_equal(back.get_fdata(dtype=np.float32), data)
    np.testing.assert_allclose(back.affine, affine())
    assert back.header.get_xyzt_units()[0] == "mm"
    assert back.header["descrip"].tobytes().rstrip(b"\0") == b"source header"


def test_scaled_integer_images_are_read_as_scaled_floats(tmp_path):
    raw = np.arange(8, dtype=np.int16).reshape(2, 2, 2)
    img = nib.Nifti1Image(raw, np.eye(4))
    img.header.set_slope_inter(0.5, 10.0)
    nib.save(img, tmp_path / "s.nii")
    vol = load_volume(tmp_path / "s.nii")
    np.testing.assert_allclose(vol.data, raw * 0.5 + 10.0)


def test_description_and_integer_output(tmp_path):
    vol = Volume(np.array([[[1.4, 2.6]]]), np.eye(4))
    path = save_volume(vol, tmp_path / "lab.nii.gz", dtype=np.int16, description="T2 (ms)")
    img = nib.load(path)
    assert img.get_data_dtype() == np.int16
    np.testing.assert_array_equal(np.asarray(img.dataobj), [[[1, 3]]])
    assert img.header["descrip"].tobytes().rstrip(b"\0") == b"T2 (ms)"


def test_integer_output_refuses_values_out_of_range(tmp_path):
    vol = Volume(np.full((2, 2, 2), 1e6), np.eye(4))
    with pytest.raises(ImageFormatError, match="outside the range"):
        save_volume(vol, tmp_path / "x.nii.gz", dtype=np.int16)
    assert list(tmp_path.iterdir()) == []


def test_gzip_output_is_deterministic(tmp_path, rng):
    vol = Volume(rng.normal(size=(4, 4, 4)), affine())
    a = save_volume(vol, tmp_path / "a.nii.gz").read_bytes()
    b = save_volume(vol, tmp_path / "b.nii.gz").read_bytes()
    assert a == b
    assert gzip.decompress(a)[:4] == (348).to_bytes(4, "little")  # a NIfTI-1 header inside


def test_never_overwrites_by_default_and_never_the_source(tmp_path):
    path = tmp_path / "v.nii.gz"
    save_volume(Volume(np.zeros((2, 2, 2)), np.eye(4)), path)
    before = path.read_bytes()
    with pytest.raises(OutputExistsError, match="exists"):
        save_volume(Volume(np.ones((2, 2, 2)), np.eye(4)), path)
    loaded = load_volume(path)
    with pytest.raises(OutputExistsError, match="input"):
        save_volume(loaded, path, overwrite=True)
    assert path.read_bytes() == before
    save_volume(Volume(np.ones((2, 2, 2)), np.eye(4)), path, overwrite=True)
    assert load_volume(path).data.max() == 1


def test_failed_write_leaves_nothing(tmp_path, monkeypatch):
    vol = Volume(np.zeros((2, 2, 2)), np.eye(4))

    def boom(self, *a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(nib.Nifti1Image, "to_bytes", boom)
    with pytest.raises(OSError, match="disk full"):
        save_volume(vol, tmp_path / "v.nii.gz")
    assert list(tmp_path.iterdir()) == []


def test_output_name_must_be_nifti(tmp_path):
    with pytest.raises(ImageFormatError, match=r"\.nii"):
        save_volume(Volume(np.zeros((2, 2, 2)), np.eye(4)), tmp_path / "v.mha")


# --- bad input ---------------------------------------------------------------------------


def test_missing_file(tmp_path):
    with pytest.raises(InputNotFoundError, match="no such file"):
        load_volume(tmp_path / "absent.nii.gz")


def test_not_an_image(tmp_path):
    path = tmp_path / "notes.nii.gz"
    path.write_text("hello")
    with pytest.raises(ImageFormatError, match="notes.nii.gz"):
        load_volume(path)


def test_unsupported_extension(tmp_path):
    path = tmp_path / "img.png"
    path.write_bytes(b"\x89PNG")
    with pytest.raises(ImageFormatError, match="NIfTI"):
        load_volume(path)


def test_truncated_gzip(tmp_path, rng):
    path = tmp_path / "full.nii.gz"
    nib.save(nib.Nifti1Image(rng.normal(size=(20, 20, 20)).astype(np.float32), np.eye(4)), path)
    cut = tmp_path / "cut.nii.gz"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ImageFormatError, match="cut.nii.gz.*truncated"):
        load_volume(cut)


def test_two_dimensional_image(tmp_path):
    path = tmp_path / "slice.nii"
    nib.save(nib.Nifti1Image(np.zeros((8, 8), np.float32), np.eye(4)), path)
    with pytest.raises(ImageFormatError, match=r"slice.nii: image is 2-D .*expected a 3-D"):
        load_volume(path)


def test_trailing_singleton_dimensions_are_dropped(tmp_path):
    path = tmp_path / "five.nii"
    nib.save(nib.Nifti1Image(np.zeros((3, 3, 3, 1, 1), np.float32), np.eye(4)), path)
    assert load_volume(path).shape == (3, 3, 3)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_voxels(tmp_path, bad):
    data = np.zeros((3, 3, 3), np.float32)
    data[1, 1, 1] = bad
    path = tmp_path / "nan.nii.gz"
    nib.save(nib.Nifti1Image(data, np.eye(4)), path)
    with pytest.raises(ImageFormatError, match="1 voxel values are NaN or infinite"):
        load_volume(path)
    assert np.isnan(load_volume(path, allow_nonfinite=True).data).sum() == (bad != bad)


def test_sidecar_is_attached(tmp_path):
    path = tmp_path / "sub-01_T2w.nii.gz"
    nib.save(nib.Nifti1Image(np.zeros((2, 2, 2), np.float32), np.eye(4)), path)
    (tmp_path / "sub-01_T2w.json").write_text('{"EchoTime": 0.1}')
    assert load_volume(path).meta["sidecar"] == {"EchoTime": 0.1}
