import json

import nibabel as nib
import numpy as np
import pytest

from discmri.errors import AcquisitionError, GeometryError, ImageFormatError, InputNotFoundError
from discmri.io import (
    bvecs_to_world,
    echo_times_from_sidecar,
    load_dwi,
    load_mese,
    read_bvals,
    read_bvecs,
    validate_echo_times,
    world_to_bvecs,
)
from discmri.phantom.grid import rotation_matrix


def test_valid_echo_times_pass():
    np.testing.assert_array_equal(validate_echo_times([10, 20, 30], n_echoes=3), [10, 20, 30])


@pytest.mark.parametrize(
    ("te", "n", "message"),
    [
        ([10, 20, 30], 4, "3 echo times given for 4 echoes"),
        ([10, 30, 20], None, "not strictly increasing"),
        ([10, 10, 20], None, "not strictly increasing"),
        ([0.01, 0.02, 0.03], None, "look like seconds"),
        ([-10, 10], None, "finite and positive"),
        ([[10, 20]], None, "1-D"),
    ],
)
def test_bad_echo_times(te, n, message):
    with pytest.raises(AcquisitionError, match=message):
        validate_echo_times(te, n_echoes=n, source="x.json")


def test_sidecar_echo_time_is_converted_from_seconds():
    assert echo_times_from_sidecar({"EchoTime": 0.012}) == [pytest.approx(12.0)]
    assert echo_times_from_sidecar({"EchoTime": [0.01, 0.02]}) == pytest.approx([10.0, 20.0])


def test_sidecar_echo_time_in_ms_is_reported():
    with pytest.raises(AcquisitionError, match="a.json: EchoTime 12 looks like milliseconds"):
        echo_times_from_sidecar({"EchoTime": 12}, source="a.json")
    with pytest.raises(AcquisitionError, match="no EchoTime"):
        echo_times_from_sidecar({}, source="a.json")


def write_nifti(path, data, affine=None):
    nib.save(nib.Nifti1Image(np.asarray(data, np.float32), np.eye(4) if affine is None
                             else affine), path)


def test_load_mese_from_per_echo_files_with_sidecars(tmp_path, rng):
    files = []
    for k, te in enumerate([0.01, 0.02, 0.03], start=1):
        f = tmp_path / f"sub-01_echo-{k}_MESE.nii.gz"
        write_nifti(f, rng.random((3, 3, 2)) + k)
        (tmp_path / f"sub-01_echo-{k}_MESE.json").write_text(json.dumps({"EchoTime": te}))
        files.append(f)
    vol = load_mese(files)
    assert vol.shape == (3, 3, 2, 3)
    assert vol.meta["echo_times_ms"] == pytest.approx((10.0, 20.0, 30.0))
    assert vol.data[..., 2].min() >= 3


def test_load_mese_4d_with_explicit_echo_times(tmp_path, rng):
    f = tmp_path / "mese.nii.gz"
    write_nifti(f, rng.random((2, 2, 2, 4)))
    assert load_mese(f, echo_times_ms=[10, 20, 30, 40]).meta["echo_times_ms"] == (10, 20, 30, 40)
    with pytest.raises(AcquisitionError, match="echo times unknown"):
        load_mese(f)
    with pytest.raises(AcquisitionError, match="3 echo times given for 4 echoes"):
        load_mese(f, echo_times_ms=[10, 20, 30])
    with pytest.raises(AcquisitionError, match="look like seconds"):
        load_mese(f, echo_times_ms=[0.01, 0.02, 0.03, 0.04])


def test_load_mese_rejects_mismatched_echo_grids(tmp_path, rng):
    a, b = tmp_path / "a.nii.gz", tmp_path / "b.nii.gz"
    write_nifti(a, rng.random((3, 3, 2)))
    write_nifti(b, rng.random((3, 3, 3)))
    with pytest.raises(GeometryError, match="shape"):
        load_mese([a, b], echo_times_ms=[10, 20])


def test_load_mese_single_3d_file_is_an_error(tmp_path, rng):
    f = tmp_path / "one.nii.gz"
    write_nifti(f, rng.random((3, 3, 2)))
    with pytest.raises(ImageFormatError, match="must be 4-D"):
        load_mese(f, echo_times_ms=[10])


def write_dwi(tmp_path, rng, bval_text, bvec_text, n=4):
    f = tmp_path / "dwi.nii.gz"
    write_nifti(f, rng.random((2, 2, 2, n)))
    (tmp_path / "dwi.bval").write_text(bval_text)
    (tmp_path / "dwi.bvec").write_text(bvec_text)
    return f


GOOD_BVEC = "0 1 0 0\n0 0 1 0\n0 0 0 1\n"


def test_load_dwi_reads_siblings(tmp_path, rng):
    vol = load_dwi(write_dwi(tmp_path, rng, "0 800 800 800\n", GOOD_BVEC))
    np.testing.assert_array_equal(vol.meta["bvals"], [0, 800, 800, 800])
    np.testing.assert_array_equal(vol.meta["bvecs"][1], [1, 0, 0])


def test_nan_or_zero_directions_at_b0_are_read_as_zero(tmp_path, rng):
    vol = load_dwi(write_dwi(tmp_path, rng, "5 800 800 800\n",
                             "nan 1 0 0\nnan 0 1 0\nnan 0 0 1\n"))
    np.testing.assert_array_equal(vol.meta["bvecs"][0], [0, 0, 0])
    np.testing.assert_array_equal(vol.meta["bvecs"][1:], np.eye(3))


@pytest.mark.parametrize(
    ("bval", "bvec", "message"),
    [
        ("0 800 800\n", GOOD_BVEC, "3 b-values for 4 diffusion volumes"),
        ("0 800 800 800\n", "0 1 0 0\n0 0 1 0\n", "has 2 rows"),
        ("0 800 800 800\n", "0 1 0\n0 0 1\n0 0 0\n", "shape"),
        ("0 800 800 800\n", "0 2 0 0\n0 0 1 0\n0 0 0 1\n", "length 2.000"),
        ("0 800 800 800\n", "nan 1 nan 0\nnan 0 nan 0\nnan 0 nan 1\n", "volume 2 .*b = 800"),
        ("0 8e8 8e8 8e8\n", GOOD_BVEC, "looks like s/m²"),
        ("0 -800 800 800\n", GOOD_BVEC, ">= 0"),
        ("0 a 800 800\n", GOOD_BVEC, "not a table of numbers"),
    ],
)
def test_bad_gradient_tables(tmp_path, rng, bval, bvec, message):
    with pytest.raises(AcquisitionError, match=message):
        load_dwi(write_dwi(tmp_path, rng, bval, bvec))


def test_missing_bval(tmp_path, rng):
    f = tmp_path / "dwi.nii.gz"
    write_nifti(f, rng.random((2, 2, 2, 3)))
    with pytest.raises(InputNotFoundError, match="dwi.bval"):
        load_dwi(f)


def test_read_bvals_accepts_a_column(tmp_path):
    (tmp_path / "b.bval").write_text("0\n500\n1000\n")
    np.testing.assert_array_equal(read_bvals(tmp_path / "b.bval"), [0, 500, 1000])
    (tmp_path / "b.bvec").write_text("0 1 0\n0 0 1\n0 0 0\n")
    assert read_bvecs(tmp_path / "b.bvec", np.array([0, 500, 1000])).shape == (3, 3)


@pytest.mark.parametrize("flip", [False, True])
def test_bvec_world_conversion_round_trips_and_follows_fsl(flip):
    aff = np.eye(4)
    aff[:3, :3] = rotation_matrix((0, 1, 1), 30) @ np.diag([2.0, 2.0, 4.0])
    if flip:
        aff[:3, 0] *= -1  # radiological (left-handed) storage
    world = np.array([[1.0, 0, 0], [0, 1, 0], [0, 0.6, 0.8]])
    fsl = world_to_bvecs(world, aff)
    np.testing.assert_allclose(bvecs_to_world(fsl, aff), world, atol=1e-12)
    # FSL convention: for a left-handed (radiological) affine, bvecs are in voxel axes as is.
    if flip:
        axes = aff[:3, :3] / np.linalg.norm(aff[:3, :3], axis=0)
        np.testing.assert_allclose(fsl, world @ axes, atol=1e-12)


def test_load_mese_orders_bids_echo_files_by_echo_number(tmp_path, rng):
    files = []
    for k in range(1, 12):
        f = tmp_path / f"sub-01_echo-{k}_MESE.nii.gz"
        write_nifti(f, np.full((2, 2, 2), 1000.0 * np.exp(-k / 5)))
        (tmp_path / f"sub-01_echo-{k}_MESE.json").write_text(json.dumps({"EchoTime": k / 100}))
        files.append(f)
    shuffled = sorted(files, key=lambda p: p.name)  # echo-1, echo-10, echo-11, echo-2, …
    vol = load_mese(shuffled)
    assert vol.meta["echo_times_ms"] == pytest.approx(tuple(10.0 * k for k in range(1, 12)))
    assert np.all(np.diff(vol.data[0, 0, 0]) < 0)
