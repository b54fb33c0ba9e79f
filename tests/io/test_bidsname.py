import json

from discmri.io import parse_bids_name, read_sidecar
from discmri.io.bidsname import sidecar_files


def test_parse_bids_name():
    name = parse_bids_name("sub-01_ses-baseline_echo-3_MESE.nii.gz")
    assert name.entities == (("sub", "01"), ("ses", "baseline"), ("echo", "3"))
    assert name.suffix == "MESE" and name.extension == ".nii.gz"
    assert name.get("echo") == "3" and name.get("run") is None
    assert parse_bids_name("notbids.nii.gz") is not None  # a bare suffix is a valid name
    assert parse_bids_name("sub01_T2w.nii.gz") is None  # entity without key-value
    assert parse_bids_name("sub-_T2w.nii.gz") is None  # empty value


def test_sidecar_inheritance_nearest_wins(tmp_path):
    (tmp_path / "dataset_description.json").write_text("{}")
    anat = tmp_path / "sub-01" / "ses-a" / "anat"
    anat.mkdir(parents=True)
    data = anat / "sub-01_ses-a_echo-2_MESE.nii.gz"
    data.write_bytes(b"")
    (tmp_path / "echo-2_MESE.json").write_text(json.dumps({"EchoTime": 0.02, "Field": 1.5}))
    (tmp_path / "echo-1_MESE.json").write_text(json.dumps({"EchoTime": 0.01}))  # other echo
    (tmp_path / "T2w.json").write_text(json.dumps({"EchoTime": 0.1}))  # other suffix
    (tmp_path / "sub-01" / "sub-01_MESE.json").write_text(json.dumps({"Field": 3.0}))
    (anat / "sub-01_ses-a_echo-2_MESE.json").write_text(json.dumps({"EchoTime": 0.025}))
    files = [p.name for p in sidecar_files(data)]
    assert files == ["echo-2_MESE.json", "sub-01_MESE.json", "sub-01_ses-a_echo-2_MESE.json"]
    assert read_sidecar(data) == {"EchoTime": 0.025, "Field": 3.0}
