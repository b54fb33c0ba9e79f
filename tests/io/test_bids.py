import shutil

import nibabel as nib
import numpy as np
import pytest

from discmri.errors import DatasetError, InputNotFoundError
from discmri.io import find_sessions


def test_every_session_is_found_with_its_parts(cohort_root):
    sessions = find_sessions(cohort_root)
    assert [(s.participant, s.session) for s in sessions] == [
        (p, s) for p in ("01", "02", "03") for s in ("baseline", "month6")
    ]
    for s in sessions:
        assert s.missing == () and s.problems == ()
        assert s.t2w.name == f"{s.key}_T2w.nii.gz"
        assert [f.name for f in s.mese] == [f"{s.key}_echo-{k}_MESE.nii.gz" for k in range(1, 7)]
        assert s.echo_times_ms == pytest.approx((12, 24, 36, 48, 60, 72))
        assert s.dwi.name == f"{s.key}_dwi.nii.gz" and s.bval.is_file() and s.bvec.is_file()
        assert s.labels.is_file() and s.label_scheme == "native"
        assert s.months == (0.0 if s.session == "baseline" else 6.0)
    assert [s.arm for s in sessions[::2]] == ["MSC", "sham", "MSC"]
    assert all(t in ("L3-L4", "L4-L5", "L5-S1") for s in sessions for t in s.treated_levels)


@pytest.fixture
def copy(cohort_root, tmp_path):
    dst = tmp_path / "ds"
    shutil.copytree(cohort_root, dst)
    return dst


def test_missing_pieces_are_reported_per_session(copy):
    ses = copy / "sub-02" / "ses-month6"
    shutil.rmtree(ses / "dwi")
    (ses / "anat" / "sub-02_ses-month6_T2w.nii.gz").unlink()
    (ses / "anat" / "sub-02_ses-month6_echo-3_MESE.json").unlink()
    (copy / "derivatives/labels/sub-01/ses-baseline/anat/sub-01_ses-baseline_dseg.nii.gz").unlink()
    found = {(s.participant, s.session): s for s in find_sessions(copy)}
    assert len(found) == 6
    bad = found["02", "month6"]
    assert bad.missing == ("T2w", "DWI")
    assert bad.echo_times_ms is None
    assert any("no EchoTime" in p for p in bad.problems)
    assert found["01", "baseline"].missing == ("labels",)
    assert found["01", "month6"].missing == ()


def test_label_grid_mismatch_is_reported(copy):
    lab = copy / "derivatives/labels/sub-03/ses-baseline/anat/sub-03_ses-baseline_dseg.nii.gz"
    img = nib.load(lab)
    nib.save(nib.Nifti1Image(np.asarray(img.dataobj)[:, :-1], img.affine), lab)
    s = {(s.participant, s.session): s for s in find_sessions(copy)}["03", "baseline"]
    assert any("does not match T2w" in p for p in s.problems)


def test_unlisted_participant_and_bad_months(copy):
    (copy / "sub-02" / "sub-02_sessions.tsv").write_text(
        "session_id\tmonths\nses-baseline\tsoon\nses-month6\t6\n")
    shutil.copytree(copy / "sub-03", copy / "sub-09")
    found = {(s.participant, s.session): s for s in find_sessions(copy)}
    assert "participant not listed in participants.tsv" in found["09", "baseline"].problems
    assert found["02", "baseline"].months is None
    assert any("'soon' is not a number" in p for p in found["02", "baseline"].problems)


def test_empty_folder_is_an_error(tmp_path):
    with pytest.raises(DatasetError, match="no participant folders"):
        find_sessions(tmp_path)


def test_missing_root(tmp_path):
    with pytest.raises(InputNotFoundError):
        find_sessions(tmp_path / "nope")


def test_dataset_without_session_folders(tmp_path, rng):
    anat = tmp_path / "sub-01" / "anat"
    anat.mkdir(parents=True)
    nib.save(nib.Nifti1Image(rng.random((2, 2, 2)).astype(np.float32), np.eye(4)),
             anat / "sub-01_T2w.nii.gz")
    (s,) = find_sessions(tmp_path)
    assert s.session is None and s.key == "sub-01" and s.t2w is not None
    assert s.missing == ("MESE", "DWI", "labels")


def test_participants_file_and_hand_written_levels(copy, tmp_path):
    arms = tmp_path / "arms.tsv"
    arms.write_text("participant_id\tgroup\ttreated_levels\n"
                    "sub-01\tA\tl4/l5; L5–S1\nsub-02\tB\tn/a\nsub-03\tA\t\n", encoding="utf-8")
    found = {(s.participant, s.session): s for s in find_sessions(copy, participants=arms)}
    assert found["01", "baseline"].arm == "A"
    assert found["01", "baseline"].treated_levels == ("L4-L5", "L5-S1")
    assert found["02", "month6"].treated_levels == ()
    with pytest.raises(InputNotFoundError, match="participants file"):
        find_sessions(copy, participants=tmp_path / "missing.tsv")
    bad = tmp_path / "bad.tsv"
    bad.write_text("id\tgroup\nsub-01\tA\n", encoding="utf-8")
    with pytest.raises(DatasetError, match="participant_id"):
        find_sessions(copy, participants=bad)
