import nibabel as nib
import numpy as np
import pytest

import discmri
from discmri.cli import main


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"discmri {discmri.__version__}"


def test_no_command_is_a_usage_error(capsys):
    assert main([]) == 2


def test_info_on_a_dataset_lists_every_session(cohort_root, capsys):
    assert main(["info", str(cohort_root)]) == 0
    out = capsys.readouterr().out
    assert "3 participants, 6 sessions" in out
    for sub in ("sub-01", "sub-02", "sub-03"):
        assert out.count(sub) == 2
    assert "ses-month6" in out and "MSC" in out and "sham" in out


def test_info_shows_what_sessions_lack(cohort_root, tmp_path, capsys):
    import shutil

    ds = tmp_path / "ds"
    shutil.copytree(cohort_root, ds)
    shutil.rmtree(ds / "sub-01" / "ses-month6" / "dwi")
    assert main(["info", str(ds)]) == 0
    line = next(ln for ln in capsys.readouterr().out.splitlines()
                if "sub-01" in ln and "month6" in ln)
    assert line.rstrip().endswith("DWI")


def test_info_on_a_volume(cohort_root, capsys):
    f = next((cohort_root / "sub-01" / "ses-baseline" / "anat").glob("*echo-2_MESE.nii.gz"))
    assert main(["info", str(f)]) == 0
    out = capsys.readouterr().out
    assert "spacing      4 x 2 x 2 mm" in out and "echo time(s) 24 ms" in out
    dwi = next((cohort_root / "sub-01" / "ses-baseline" / "dwi").glob("*.nii.gz"))
    assert main(["info", str(dwi)]) == 0
    assert "b-values     0, 400, 400, 400, 800, 800, 800" in capsys.readouterr().out


@pytest.mark.parametrize("make", ["missing", "garbage", "truncated", "empty_dir"])
def test_input_errors_are_one_line_and_exit_2(tmp_path, capsys, make):
    path = tmp_path / "x.nii.gz"
    if make == "garbage":
        path.write_text("not an image")
    elif make == "truncated":
        nib.save(nib.Nifti1Image(np.ones((30, 30, 30), np.float32), np.eye(4)), path)
        path.write_bytes(path.read_bytes()[:200])
    elif make == "empty_dir":
        path = tmp_path / "empty"
        path.mkdir()
        (path / "dataset_description.json").write_text("{}")
    assert main(["info", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("discmri: error: ") and err.count("\n") == 1
    assert "Traceback" not in err and str(path) in err


def test_sample_data_refuses_existing_output(tmp_path, capsys):
    (tmp_path / "ds").mkdir()
    (tmp_path / "ds" / "x").write_text("keep")
    assert main(["sample-data", str(tmp_path / "ds")]) == 2
    assert "not an empty folder" in capsys.readouterr().err
    assert (tmp_path / "ds" / "x").read_text() == "keep"


def test_sample_data_bad_options(tmp_path, capsys):
    assert main(["sample-data", str(tmp_path / "ds"), "--participants", "0"]) == 2
    assert "participants" in capsys.readouterr().err
    assert main(["sample-data", str(tmp_path / "ds"), "--visits", "3,x"]) == 2
    assert not (tmp_path / "ds").exists()


def test_unexpected_failures_exit_1_with_a_traceback(monkeypatch, tmp_path, capsys):
    import discmri.cli as cli

    def boom(args):
        raise RuntimeError("bug")

    monkeypatch.setattr(cli, "_cmd_info", boom)
    assert main(["info", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "RuntimeError: bug" in err and "internal error" in err
