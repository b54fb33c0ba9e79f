import numpy as np
import pytest
import SimpleITK as sitk

from discmri.errors import ImageFormatError, InputNotFoundError
from discmri.io import array_to_sitk, load_mese, load_volume
from discmri.phantom.grid import rotation_matrix


def write_series(folder, volumes, affine, echo_times=None, series_uid="1.2.826.0.1.3680043.2.1"):
    """Write 3-D int16 volumes as one DICOM series, one file per slice and echo."""
    folder.mkdir(parents=True, exist_ok=True)
    writer = sitk.ImageFileWriter()
    writer.KeepOriginalImageUIDOn()
    n = 0
    for e, vol in enumerate(volumes):
        image = array_to_sitk(vol.astype(np.int16), affine)
        direction = image.GetDirection()
        for k in range(image.GetDepth()):
            sl = image[:, :, k]
            pos = image.TransformIndexToPhysicalPoint((0, 0, k))
            tags = {
                "0008|0060": "MR",
                "0020|000e": series_uid,
                "0020|000d": "1.2.826.0.1.3680043.2.2",
                "0008|0018": f"1.2.826.0.1.3680043.2.3.{n}",
                "0020|0013": str(n + 1),
                "0020|0032": "\\".join(f"{p:.6f}" for p in pos),
                "0020|0037": "\\".join(f"{d:.6f}" for d in (direction[0], direction[3],
                                                           direction[6], direction[1],
                                                           direction[4], direction[7])),
                "0018|0050": f"{image.GetSpacing()[2]:.4f}",
                "0008|103e": "T2 MAP MESE",
                "0018|0080": "2000",
            }
            if echo_times is not None:
                tags["0018|0081"] = f"{echo_times[e]:g}"
            for key, value in tags.items():
                sl.SetMetaData(key, value)
            writer.SetFileName(str(folder / f"im{n:04d}.dcm"))
            writer.Execute(sl)
            n += 1


def sagittal_affine():
    aff = np.eye(4)
    aff[:3, :3] = rotation_matrix((1, 0, 0), 12.0) @ np.diag([4.0, 0.8, 0.8])
    aff[:3, 3] = [-8.0, -40.0, -60.0]
    return aff


def test_single_echo_series(tmp_path, rng):
    data = rng.integers(0, 1000, size=(4, 6, 5))
    write_series(tmp_path / "dcm", [data], sagittal_affine(), echo_times=[100.0])
    vol = load_volume(tmp_path / "dcm")
    np.testing.assert_array_equal(vol.data, data)
    np.testing.assert_allclose(vol.affine, sagittal_affine(), atol=1e-4)
    assert vol.meta["echo_times_ms"] == (100.0,)
    assert vol.meta["repetition_time_ms"] == 2000.0
    assert vol.meta["series_description"] == "T2 MAP MESE"


def test_multi_echo_series_is_split_by_echo_time(tmp_path, rng):
    echoes = [rng.integers(0, 1000, size=(3, 5, 4)) for _ in range(4)]
    te = [40.0, 10.0, 30.0, 20.0]  # written out of order
    write_series(tmp_path / "mese", echoes, sagittal_affine(), echo_times=te)
    vol = load_mese(tmp_path / "mese")
    assert vol.shape == (3, 5, 4, 4)
    assert vol.meta["echo_times_ms"] == (10.0, 20.0, 30.0, 40.0)
    for k, t in enumerate(sorted(te)):
        np.testing.assert_array_equal(vol.data[..., k], echoes[te.index(t)])
    np.testing.assert_allclose(vol.affine, sagittal_affine(), atol=1e-4)


def test_missing_folder(tmp_path):
    with pytest.raises(InputNotFoundError):
        load_volume(tmp_path / "nothing")


def test_folder_without_dicom(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("no images")
    with pytest.raises(ImageFormatError, match="no DICOM series"):
        load_volume(tmp_path / "empty")


def test_several_series_need_a_choice(tmp_path, rng):
    data = rng.integers(0, 100, size=(2, 3, 3))
    write_series(tmp_path / "two", [data], sagittal_affine(), series_uid="1.2.3.1")
    (tmp_path / "two" / "a").mkdir()
    for f in sorted((tmp_path / "two").glob("*.dcm")):
        f.rename(tmp_path / "two" / "a" / f.name)
    write_series(tmp_path / "two", [data], sagittal_affine(), series_uid="1.2.3.2")
    for f in (tmp_path / "two" / "a").glob("*.dcm"):
        f.rename(tmp_path / "two" / f"b{f.name}")
    with pytest.raises(ImageFormatError, match="2 DICOM series"):
        load_volume(tmp_path / "two")


def test_a_missing_slice_is_an_error_and_itk_stays_quiet(tmp_path, rng, capfd):
    data = rng.integers(0, 1000, size=(6, 6, 5))
    write_series(tmp_path / "dcm", [data], sagittal_affine(), echo_times=[100.0])
    (tmp_path / "dcm" / "im0002.dcm").unlink()
    with pytest.raises(ImageFormatError, match="not evenly spaced.*missing"):
        load_volume(tmp_path / "dcm")
    assert "WARNING" not in capfd.readouterr().err  # nothing from ITK on standard error


def test_itk_warnings_are_kept_off_standard_error(tmp_path, rng, capfd):
    from discmri.io.dicom import _quiet_itk

    write_series(tmp_path / "dcm", [rng.integers(0, 1000, size=(6, 6, 5))], sagittal_affine())
    (tmp_path / "dcm" / "im0002.dcm").unlink()
    files = sorted(str(p) for p in (tmp_path / "dcm").glob("*.dcm"))

    def read():
        reader = sitk.ImageSeriesReader()
        reader.SetFileNames(files)
        reader.Execute()

    read()
    assert "Non uniform sampling" in capfd.readouterr().err  # ITK does warn here …
    with _quiet_itk():
        read()
    assert capfd.readouterr().err == ""  # … but not while discmri reads
    read()
    assert "Non uniform sampling" in capfd.readouterr().err  # and the setting is restored
