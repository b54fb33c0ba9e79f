"""The dataset runner: process_session and run_dataset on phantom datasets with known truth."""

import json
import pickle
import shutil
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from discmri.cli import main
from discmri.errors import DatasetError, OutputError, OutputExistsError, ParameterError
from discmri.grading import Thresholds
from discmri.io import find_sessions
from discmri.pipeline import RunOptions, SessionResult, process_session, run_dataset
from discmri.table import CHANGE_SOURCES, disc_columns

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"
TRUTH = SAMPLE / "derivatives" / "truth"


def read_tsv(path):
    return pd.read_csv(path, sep="\t", na_values=["n/a"], keep_default_na=False)


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    """sub-01 (three visits) and sub-04 (baseline only, sham, L5-S1 treated, no label map:
    segmented), serial."""
    out = tmp_path_factory.mktemp("run") / "out"
    discs = run_dataset(SAMPLE, out, only=["sub-01", "04"])
    return out, discs


def test_discs_table_has_one_row_per_session_and_level_and_the_schema(sample_run):
    out, discs = sample_run
    written = read_tsv(out / "discs.tsv")
    assert list(written.columns) == list(disc_columns())
    # four sessions, seven disc levels each; segmenting sub-04 also finds the part of a disc
    # above T11 at the top of its image, listed with why it was not measured
    assert len(written) == 4 * 7 + 1
    edge = written[written.status != "measured"]
    assert list(edge.level) == ["T10-T11"] and list(edge.participant_id) == ["sub-04"]
    assert (edge.status == "not measured").all()
    assert edge.notes.str.contains("edge of the image").all()
    keys = written[["participant_id", "session", "level"]]
    assert not keys.duplicated().any()
    assert set(written.participant_id) == {"sub-01", "sub-04"}
    # arm, months and treated levels come from participants.tsv and the sessions files
    parts = read_tsv(SAMPLE / "participants.tsv").set_index("participant_id")
    for row in written.itertuples():
        assert row.arm == parts.loc[row.participant_id, "group"]
        assert row.treated == (row.level in parts.loc[row.participant_id,
                                                      "treated_levels"].split(";"))
    assert sorted(written.months.unique()) == [0, 3, 6]
    # one missing-value convention, as BIDS: no cell of either table is empty
    for name in ("discs.tsv", "sessions.tsv"):
        raw = pd.read_csv(out / name, sep="\t", dtype=str, keep_default_na=False)
        assert not (raw == "").any().any(), name
    raw = pd.read_csv(out / "discs.tsv", sep="\t", dtype=str, keep_default_na=False)
    assert set(raw.status) == {"measured", "not measured"}
    assert (raw.dhi_note == "n/a").sum() == 4 * 6 + 1  # all but L5-S1; and the unmeasured disc
    sidecar = json.loads((out / "discs.json").read_text(encoding="utf-8"))
    assert sidecar["height_middle_mm"]["Units"] == "mm"
    assert sidecar["np_t2_ms_change_pct"]["Units"] == "%"
    assert sidecar["Parameters"]["dhi"] == list(RunOptions().dhi)
    # the returned table is the written one
    assert discs.shape == written.shape


def test_rows_agree_with_the_truth_tables(sample_run):
    _, discs = sample_run
    truth = read_tsv(TRUTH / "discs.tsv").rename(columns={"participant": "participant_id"})
    got = discs.merge(truth, on=["participant_id", "session", "level"], suffixes=("", "_true"))
    assert len(got) == (discs.status == "measured").sum() == 28  # all but the disc cut by the image
    for col in ("height_anterior_mm", "height_middle_mm", "height_posterior_mm"):
        err = (got[col] - got[f"{col}_true"]).abs()
        assert err.median() < 0.15 and err.max() < 0.6  # 1 mm in-plane, measured 0.05 / 0.4
    for col in ("dhi_mean_height", "dhi_masuda", "dhi_farfan", "dhi_area"):
        assert (got[col] / got[f"{col}_true"] - 1).abs().median() < 0.02
    clear = got.cleft_mm == 0
    assert ((got.np_t2_ms / got.np_t2_ms_true - 1)[clear].abs() < 0.05).all()
    # every disc, clefts included, against the truth of the same quantity (the region median
    # of the T2 truth map): measured 1.7 % median, 7.2 % at most over the sample, where the
    # nucleus tissue's T2 is 12 % median and 35 % at most away
    like = (got.np_t2_ms / got.np_region_t2_ms - 1).abs()
    assert like.median() < 0.03 and like.max() < 0.10
    # NP ADC on the sample's 2 mm DWI grid is pulled down by partial volume with the annulus
    # and the cleft (measured over the whole sample: -3 % median without a cleft, at most
    # -9 %; -6 % with one, at most -12 %); a wrong grid or unit would be far off
    adc_err = got.np_adc_mm2_s / got.np_adc_mm2_s_true - 1
    assert adc_err[clear].abs().median() < 0.05 and adc_err[clear].abs().max() < 0.10
    assert adc_err.abs().max() < 0.14
    # grade suggestions (issue 12): the sample's grades 1-7, measured all exact but for a
    # disc near a boundary; within one grade everywhere
    griffith = got.griffith.astype(str).str.split("/").str[-1].astype(int)
    assert (abs(griffith - got.grade_griffith) <= 1).all()
    assert (griffith == got.grade_griffith).mean() >= 0.8
    assert got.grade_evidence.str.contains("np_outer_af_ratio").all()
    assert (got.status == "measured").all()


def test_change_from_baseline_equals_a_recomputation(sample_run):
    _, discs = sample_run
    base = discs[discs.months == 0].set_index(["participant_id", "level"])
    for col in CHANGE_SOURCES:
        ref = base[col].reindex(pd.MultiIndex.from_frame(discs[["participant_id", "level"]]))
        expect = discs[col].to_numpy() - ref.to_numpy()
        np.testing.assert_allclose(discs[f"{col}_change"], expect, rtol=1e-9, atol=1e-12)
        pct = 100 * expect / ref.abs().to_numpy()
        np.testing.assert_allclose(discs[f"{col}_change_pct"], pct, rtol=1e-9, atol=1e-9)
    at_base = discs[(discs.months == 0) & (discs.status == "measured")]
    assert (at_base[[f"{c}_change" for c in CHANGE_SOURCES]] == 0).all().all()
    # the phantom's MSC arm gains height at the treated levels: the change shows it
    truth = read_tsv(TRUTH / "discs.tsv")
    gain = truth[(truth.participant == "sub-01") & (truth.session == "ses-month6")]
    gain = gain.set_index("level").height_gain_mm
    m6 = discs[(discs.participant_id == "sub-01") & (discs.session == "ses-month6")]
    m6 = m6.set_index("level")
    treated = m6.index[m6.treated]
    assert (gain[treated] > 0.5).all()
    assert (m6.loc[treated, "height_middle_mm_change"] > 0.5 * gain[treated]).all()


def test_sessions_run_and_provenance_files(sample_run):
    out, _ = sample_run
    sessions = read_tsv(out / "sessions.tsv")
    assert len(sessions) == 4 and (sessions.status == "done").all()
    levels = sessions.set_index("participant_id").levels
    assert (levels.drop("sub-04") == "7/7").all() and levels["sub-04"] == "7/8"
    assert (sessions.seconds > 0).all()
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert run["GeneratedBy"]["Name"] == "discmri" and run["Sessions"] == {"done": 4}
    inputs = run["Inputs"]["sub-01/ses-baseline"]  # BIDS ids, as every other file
    assert len(inputs) == 2 + 8 + 3  # T2w, labels, 8 echoes, dwi + bval + bvec
    assert all(len(h) == 64 for h in inputs.values())
    # issue 24: the tables that define discs.tsv are hashed too, and the stack's versions kept
    tables = {Path(p).name: h for p, h in run["Tables"].items()}
    assert "participants.tsv" in tables and "sub-01_sessions.tsv" in tables
    from discmri.io.atomic import file_sha256

    assert tables["participants.tsv"] == file_sha256(SAMPLE / "participants.tsv")
    assert set(run["Software"]) >= {"discmri", "numpy", "scipy", "nibabel", "SimpleITK",
                                    "scikit-image", "pandas", "statsmodels"}
    assert "not installed" not in run["Software"].values()
    desc = json.loads((out / "dataset_description.json").read_text(encoding="utf-8"))
    assert desc["DatasetType"] == "derivative" and desc["GeneratedBy"][0]["Name"] == "discmri"
    folder = out / "sub-01" / "ses-baseline"
    for name in ("T2map.nii.gz", "T2map.json", "ADC.nii.gz", "ADC.json", "discs.tsv",
                 "discs.json", "regions.tsv"):
        assert (folder / f"sub-01_ses-baseline_{name}").is_file()
    record = json.loads((folder / "sub-01_ses-baseline_discs.json").read_text(encoding="utf-8"))
    assert record["Run"]["inputs"] == inputs
    assert not list(out.rglob(".*"))  # no temporary file or lock left behind


def test_same_rows_as_the_three_commands_by_hand(sample_run, tmp_path, capsys):
    out, discs = sample_run
    sub, stem = SAMPLE / "sub-01" / "ses-baseline", "sub-01_ses-baseline"
    echoes = sorted(str(p) for p in (sub / "anat").glob(f"{stem}_echo-*_MESE.nii.gz"))
    assert main(["t2map", *echoes, "--out", str(tmp_path / "t2")]) == 0
    assert main(["adcmap", str(sub / "dwi" / f"{stem}_dwi.nii.gz"),
                 "--out", str(tmp_path / "adc")]) == 0
    labels = SAMPLE / "derivatives/labels/sub-01/ses-baseline/anat" / f"{stem}_dseg.nii.gz"
    assert main(["measure", "--t2w", str(sub / "anat" / f"{stem}_T2w.nii.gz"), "--labels",
                 str(labels), "--t2map", str(tmp_path / "t2_T2map.nii.gz"), "--adcmap",
                 str(tmp_path / "adc_ADC.nii.gz"), "--out", str(tmp_path / "m.tsv")]) == 0
    by_hand = read_tsv(tmp_path / "m.tsv").set_index("level")
    row = discs[(discs.participant_id == "sub-01") & (discs.session == "ses-baseline")]
    row = row.set_index("level")
    numeric = by_hand.select_dtypes("number").columns
    pd.testing.assert_frame_equal(row[numeric], by_hand[numeric], check_dtype=False,
                                  check_index_type=False)
    # and the maps are the same bytes as the t2map command's (same fit, same header)
    import nibabel as nib

    a = nib.load(out / "sub-01/ses-baseline/sub-01_ses-baseline_T2map.nii.gz").get_fdata()
    b = nib.load(tmp_path / "t2_T2map.nii.gz").get_fdata()
    np.testing.assert_array_equal(a, b)


def test_session_results_are_small_and_pickle():
    session = find_sessions(SAMPLE)[0]
    result = process_session(session)
    blob = pickle.dumps(result)
    assert len(blob) < 1_000_000  # statistics and tables only; was 23 MB of masks
    back = pickle.loads(blob)
    assert isinstance(back, SessionResult) and back.status == "done"
    pd.testing.assert_frame_equal(back.table, result.table)
    assert back.levels == (7, 7) and not back.files  # nothing written without out
    assert set(back.stats.parameter) == {"t2", "adc"}
    # the session itself travels to workers too
    assert pickle.loads(pickle.dumps(session)) == session


def test_missing_parts_are_skipped_and_said(cohort_root, tmp_path):
    ds = tmp_path / "ds"
    shutil.copytree(cohort_root, ds)
    shutil.rmtree(ds / "sub-01" / "ses-month6" / "dwi")
    for f in (ds / "sub-02" / "ses-baseline" / "anat").glob("*_MESE.*"):
        f.unlink()
    shutil.rmtree(ds / "derivatives" / "labels" / "sub-03" / "ses-month6")
    # no label map and an image without a spine: segmenting it fails
    shutil.rmtree(ds / "derivatives" / "labels" / "sub-03" / "ses-baseline")
    t2w = ds / "sub-03" / "ses-baseline" / "anat" / "sub-03_ses-baseline_T2w.nii.gz"
    img = nib.load(t2w)
    noise = np.random.default_rng(0).normal(100, 10, img.shape).astype(np.int16)
    nib.save(nib.Nifti1Image(noise, img.affine, img.header), t2w)
    discs = run_dataset(ds, tmp_path / "out", options=RunOptions(t2=True, adc=True))
    sessions = discs.attrs["sessions"].set_index(["participant_id", "session"])
    assert sessions.loc[("sub-01", "ses-month6"), "status"] == "done"
    assert sessions.loc[("sub-01", "ses-month6"), "skipped"] == "ADC: no DWI series"
    assert sessions.loc[("sub-02", "ses-baseline"), "skipped"] == "T2: no MESE series"
    # no label map: the session is segmented from its T2w image and measured; where the
    # image shows no spine, the session fails, saying why
    assert sessions.loc[("sub-03", "ses-month6"), "status"] == "done"
    assert sessions.loc[("sub-03", "ses-baseline"), "status"] == "failed"
    error = sessions.loc[("sub-03", "ses-baseline"), "error"]
    assert "no label map, and segmenting the T2w image failed" in error
    # the same columns whatever maps a session had; what it lacked is n/a
    rows = discs.set_index(["participant_id", "session"])
    assert rows.loc[("sub-01", "ses-month6"), "np_adc_mm2_s"].isna().all()
    assert rows.loc[("sub-01", "ses-month6"), "np_t2_ms"].notna().all()
    assert rows.loc[("sub-02", "ses-baseline"), "np_t2_ms"].isna().all()
    assert ("sub-03", "ses-baseline") not in rows.index
    segmented = rows.loc[("sub-03", "ses-month6")].set_index("level")
    assert {"L1-L2", "L4-L5", "L5-S1"} <= set(segmented.index)
    assert segmented.loc["L4-L5", "height_middle_mm"] > 5
    # no baseline T2 for sub-02: its later T2 changes are n/a, its height changes are not
    later = rows.loc[("sub-02", "ses-month6")]
    assert later.np_t2_ms_change.isna().all() and later.height_middle_mm_change.notna().all()
    # without segmentation, such a session is skipped, as before
    again = run_dataset(ds, tmp_path / "out2", options=RunOptions(t2=False, adc=False,
                                                                  segment=False))
    sessions = again.attrs["sessions"].set_index(["participant_id", "session"])
    for ses in ("ses-baseline", "ses-month6"):
        assert sessions.loc[("sub-03", ses), "status"] == "skipped"
        assert "no label map" in sessions.loc[("sub-03", ses), "skipped"]


def private_copy(cohort_root, tmp_path):
    ds = tmp_path / "ds"
    shutil.copytree(cohort_root, ds)
    return ds


def test_resume_skips_unchanged_sessions_and_redoes_a_changed_one(cohort_root, tmp_path):
    ds = private_copy(cohort_root, tmp_path)
    out = tmp_path / "out"
    only = ["sub-01", "sub-02"]
    first = run_dataset(ds, out, only=only)
    assert (first.attrs["sessions"].status == "done").all()
    with pytest.raises(OutputExistsError, match="earlier run"):
        run_dataset(ds, out, only=only)  # neither resume nor overwrite: refuse, change nothing
    stamp = {p: p.stat().st_mtime_ns for p in out.rglob("sub-*/**/*") if p.is_file()}
    again = run_dataset(ds, out, resume=True, only=only)
    assert (again.attrs["sessions"].status == "resumed").all()
    assert {p: p.stat().st_mtime_ns for p in stamp} == stamp  # nothing rewritten
    pd.testing.assert_frame_equal(again, first)
    # change one input: that session alone is redone
    t2w = ds / "sub-02/ses-month6/anat/sub-02_ses-month6_T2w.json"
    t2w.write_text(t2w.read_text(encoding="utf-8").replace("}", ', "Note": "re-exported"}'))
    mese = next((ds / "sub-02/ses-month6/anat").glob("*_echo-1_MESE.nii.gz"))
    mese.write_bytes(mese.read_bytes())  # same content: not a change
    image = ds / "sub-02/ses-month6/anat/sub-02_ses-month6_T2w.nii.gz"
    import nibabel as nib

    img = nib.load(image)
    nib.save(nib.Nifti1Image(np.asanyarray(img.dataobj) * 1.0, img.affine, img.header),
             image)  # rewritten: its bytes differ
    third = run_dataset(ds, out, resume=True, only=only)
    status = third.attrs["sessions"].set_index(["participant_id", "session"]).status
    assert status[("sub-02", "ses-month6")] == "done"
    assert (status.drop(("sub-02", "ses-month6")) == "resumed").all()
    # other settings: everything is redone
    fourth = run_dataset(ds, out, resume=True, only=only,
                         options=RunOptions(dhi=("farfan",), t2=False))
    assert (fourth.attrs["sessions"].status == "done").all()
    assert "dhi_masuda" not in fourth.columns and "dhi_farfan" in fourth.columns


def test_a_killed_session_is_redone_and_leaves_nothing_partial(cohort_root, tmp_path):
    ds = private_copy(cohort_root, tmp_path)
    out = tmp_path / "out"
    run_dataset(ds, out, only=["sub-01"])
    # as a run killed while writing sub-01's files would leave it: no record, stray temp file
    folder = out / "sub-01" / "ses-baseline"
    (folder / "sub-01_ses-baseline_discs.json").unlink()
    (folder / ".sub-01_ses-baseline_T2map.nii.gz.abc123").write_bytes(b"partial")
    again = run_dataset(ds, out, resume=True, only=["sub-01"])
    status = again.attrs["sessions"].set_index(["participant_id", "session"]).status
    assert status[("sub-01", "ses-baseline")] == "done"
    assert (status.drop(("sub-01", "ses-baseline")) == "resumed").all()
    assert not list(out.rglob(".*"))


def test_a_corrupt_file_fails_its_session_alone(cohort_root, tmp_path):
    ds = private_copy(cohort_root, tmp_path)
    bad = ds / "sub-02/ses-baseline/anat/sub-02_ses-baseline_T2w.nii.gz"
    bad.write_bytes(bad.read_bytes()[:500])  # truncated
    discs = run_dataset(ds, tmp_path / "out", only=["sub-01", "sub-02"],
                        options=RunOptions(t2=False, adc=False))
    sessions = discs.attrs["sessions"].set_index(["participant_id", "session"])
    row = sessions.loc[("sub-02", "ses-baseline")]
    assert row.status == "failed"
    assert "sub-02_ses-baseline_T2w.nii.gz" in row.error and "\n" not in row.error
    assert (sessions.drop(("sub-02", "ses-baseline")).status == "done").all()
    assert ("sub-02", "ses-baseline") not in set(zip(discs.participant_id, discs.session,
                                                     strict=True))
    assert not (tmp_path / "out/sub-02/ses-baseline").exists()  # nothing partial
    # sub-02's baseline failed: its month-6 visit is not taken as the baseline
    later = discs[(discs.participant_id == "sub-02") & (discs.session == "ses-month6")]
    assert len(later) and later.height_middle_mm_change.isna().all()
    assert bad.stat().st_size == 500  # the input is untouched


def test_a_bad_series_costs_its_map_not_the_session(cohort_root, tmp_path):
    """Issue 24: a bad DWI table or a broken MESE echo leaves the T2w measurements and
    grades; the session is "partial", the map's columns n/a, the reason in sessions.tsv."""
    ds = private_copy(cohort_root, tmp_path)
    dwi = ds / "sub-01/ses-baseline/dwi/sub-01_ses-baseline_dwi.bval"
    dwi.write_text("0 1000\n", encoding="utf-8")  # 2 b-values for more volumes
    echo = ds / "sub-01/ses-month6/anat/sub-01_ses-month6_echo-3_MESE.nii.gz"
    echo.write_bytes(b"not nifti")
    discs = run_dataset(ds, tmp_path / "out", only=["sub-01"])
    sessions = discs.attrs["sessions"].set_index("session")
    assert sessions.loc["ses-baseline", "status"] == "partial"
    assert sessions.loc["ses-baseline", "error"].startswith("ADC not fitted: ")
    assert "b-value" in sessions.loc["ses-baseline", "error"]
    assert sessions.loc["ses-month6", "status"] == "partial"
    assert sessions.loc["ses-month6", "error"].startswith("T2 not fitted: ")
    by = discs.set_index("session")
    base, later = by.loc["ses-baseline"], by.loc["ses-month6"]
    # the T2w measurements and grades are kept; only the failed map's columns are n/a
    for rows in (base, later):
        assert rows.height_middle_mm.notna().all() and (rows.griffith != "").all()
    assert base.np_adc_mm2_s.isna().all() and base.np_t2_ms.notna().all()
    assert later.np_t2_ms.isna().all() and later.np_adc_mm2_s.notna().all()
    written = pd.read_csv(tmp_path / "out/sessions.tsv", sep="\t", keep_default_na=False)
    assert sorted(written.status) == ["partial", "partial"]
    # resumed, the session keeps its reason
    again = run_dataset(ds, tmp_path / "out", only=["sub-01"], resume=True)
    rows = again.attrs["sessions"].set_index("session")
    assert (rows.status == "resumed").all()
    assert rows.loc["ses-baseline", "error"].startswith("ADC not fitted: ")


def test_a_bug_fails_its_session_with_the_traceback(cohort_root, tmp_path, monkeypatch):
    import discmri.measure as measure_module

    real = measure_module.measure

    def buggy(t2w, labels, **kwargs):
        if "sub-03" in str(t2w.source):
            raise ZeroDivisionError("a bug")
        return real(t2w, labels, **kwargs)

    monkeypatch.setattr(measure_module, "measure", buggy)
    out = tmp_path / "out"
    discs = run_dataset(cohort_root, out, only=["sub-01", "sub-03"],
                        options=RunOptions(t2=False, adc=False))
    sessions = discs.attrs["sessions"].set_index("participant_id")
    assert (sessions.loc["sub-03", "status"] == "failed").all()
    assert sessions.loc["sub-03", "error"].str.contains("ZeroDivisionError").all()
    assert (sessions.loc["sub-01", "status"] == "done").all()
    log = (out / "run.log").read_text(encoding="utf-8")
    assert "Traceback" in log and "buggy" in log


def test_refusals_before_any_work(cohort_root, tmp_path):
    with pytest.raises(OutputError, match="inside the dataset"):
        run_dataset(cohort_root, cohort_root / "sub-01" / "out")
    with pytest.raises(OutputError, match="inside the dataset"):
        run_dataset(cohort_root, cohort_root / "derivatives" / "labels")
    with pytest.raises(OutputError, match="holds the dataset"):
        run_dataset(cohort_root, cohort_root.parent)
    blocker = tmp_path / "a"
    blocker.write_text("a file", encoding="utf-8")
    with pytest.raises(OutputError, match="is a file"):
        run_dataset(cohort_root, blocker / "b")
    with pytest.raises(OutputError, match="cannot write"):
        run_dataset(cohort_root, "/proc/discmri-test-out")
    with pytest.raises(DatasetError, match="sub-99"):
        run_dataset(cohort_root, tmp_path / "o", only=["sub-99"])
    with pytest.raises(ParameterError, match="DHI"):
        RunOptions(dhi=("bogus",))
    with pytest.raises(ParameterError, match="parasagittal"):
        RunOptions(parasagittal_mm=float("nan"))
    with pytest.raises(ParameterError, match="grade thresholds"):
        RunOptions(grade_thresholds={"af_mild": 2.0})
    for sigma in (-1.0, 0.0, float("nan"), float("inf")):
        with pytest.raises(ParameterError, match="noise_sigma"):
            RunOptions(noise_sigma=sigma)
    for b_range in ((800.0, 0.0), (-50.0, 800.0), (0.0, float("nan"))):
        with pytest.raises(ParameterError, match="b_range"):
            RunOptions(b_range=b_range)
    with pytest.raises(ParameterError, match="resume and overwrite"):
        run_dataset(cohort_root, tmp_path / "o", resume=True, overwrite=True)
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())
    assert not list(cohort_root.rglob(".discmri*"))


def test_a_second_run_into_the_same_folder_is_refused(cohort_root, tmp_path):
    import os
    import socket

    out = tmp_path / "out"
    out.mkdir()
    lock = out / ".discmri-run.lock"
    lock.write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                "since": "now"}))
    with pytest.raises(OutputError, match=f"pid {os.getpid()}"):
        run_dataset(cohort_root, out, only=["sub-01"])
    assert lock.exists()  # the holder's lock is left alone
    # a lock whose process is gone is stale: the run takes it over and removes it at the end
    lock.write_text(json.dumps({"pid": 2**22 + 12345, "host": socket.gethostname()}))
    run_dataset(cohort_root, out, only=["sub-01"])
    assert not lock.exists()


def test_participants_file_replaces_the_datasets(cohort_root, tmp_path):
    unblinded = tmp_path / "arms.tsv"
    unblinded.write_text("participant_id\tgroup\ttreated_levels\n"
                         "sub-01\tA\tL1-L2\nsub-02\tB\tn/a\nsub-03\tA\tL1-L2;L2-L3\n",
                         encoding="utf-8")
    discs = run_dataset(cohort_root, tmp_path / "out", participants=unblinded,
                        options=RunOptions(t2=False, adc=False))
    arms = discs.groupby("participant_id").arm.first().to_dict()
    assert arms == {"sub-01": "A", "sub-02": "B", "sub-03": "A"}
    treated = discs[discs.treated]
    assert set(zip(treated.participant_id, treated.level, strict=True)) == {
        ("sub-01", "L1-L2"), ("sub-03", "L1-L2"), ("sub-03", "L2-L3")}
    assert discs.np_t2_ms.isna().all()


@pytest.mark.slow
def test_serial_process_pool_and_dask_give_identical_tables(cohort_root, tmp_path):
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    distributed = pytest.importorskip("distributed")
    serial = run_dataset(cohort_root, tmp_path / "serial")
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        pooled = run_dataset(cohort_root, tmp_path / "pool", executor=pool)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        dasked = run_dataset(cohort_root, tmp_path / "dask", executor=client.get_executor())
    pd.testing.assert_frame_equal(pooled, serial)
    pd.testing.assert_frame_equal(dasked, serial)
    for name in ("discs.tsv", "sub-02/ses-month6/sub-02_ses-month6_T2map.nii.gz"):
        blob = (tmp_path / "serial" / name).read_bytes()
        assert (tmp_path / "pool" / name).read_bytes() == blob
        assert (tmp_path / "dask" / name).read_bytes() == blob


def test_a_lost_worker_fails_its_session_and_the_run_goes_on(cohort_root, tmp_path):
    from concurrent.futures import Executor, Future
    from concurrent.futures.process import BrokenProcessPool

    from discmri.pipeline.run import _run_one

    class LosesSub02(Executor):
        """Runs sessions in this process, but 'loses the worker' of sub-02's."""

        def submit(self, fn, /, *args, **kwargs):
            future = Future()
            if args[0].participant == "02":
                future.set_exception(BrokenProcessPool("a worker died abruptly"))
            else:
                future.set_result(fn(*args, **kwargs))
            return future

    assert _run_one is not None
    discs = run_dataset(cohort_root, tmp_path / "out", executor=LosesSub02(),
                        options=RunOptions(t2=False, adc=False), only=["sub-01", "sub-02"])
    sessions = discs.attrs["sessions"].set_index("participant_id")
    assert (sessions.loc["sub-02", "status"] == "failed").all()
    assert sessions.loc["sub-02", "error"].str.contains("worker failed: BrokenProcessPool").all()
    assert (sessions.loc["sub-01", "status"] == "done").all()


def test_qc_figures_per_disc_and_stale_files_are_removed_when_redone(tmp_path):
    out = tmp_path / "out"
    plain = RunOptions(t2=False, adc=False)
    run_dataset(SAMPLE, out, only=["sub-04"], options=RunOptions(t2=False, adc=False, qc=True))
    pngs = sorted((out / "sub-04/ses-baseline/qc").glob("*.png"))
    # sub-04 has no label map: its segmentation is drawn too
    assert [p.name for p in pngs] == sorted(f"sub-04_ses-baseline_{lv}.png" for lv in (
        "T11-T12", "T12-L1", "L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1", "grades",
        "segmentation"))
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)
    run_dataset(SAMPLE, out, only=["sub-04"], options=plain, overwrite=True)
    assert not (out / "sub-04/ses-baseline/qc").exists()  # not this run's
    record = json.loads((out / "sub-04/ses-baseline/sub-04_ses-baseline_discs.json")
                        .read_text(encoding="utf-8"))
    assert record["Parameters"]["qc"] is False
    assert "T2: not asked for" in record["Skipped"]


def test_reader_grades_in_the_dataset_give_an_agreement_table(cohort_root, tmp_path):
    """Issue 12: derivatives/readers/grades.tsv → agreement.tsv (assist against each reader,
    readers with each other); a bad file stops the run before any work."""
    ds = private_copy(cohort_root, tmp_path)
    truth = pd.read_csv(ds / "derivatives/truth/discs.tsv", sep="\t", dtype={"session": str})
    rng = np.random.default_rng(0)
    rows = []
    for r in truth.itertuples():
        for reader in ("R1", "R2"):
            grade = int(np.clip(r.grade_griffith + rng.choice([-1, 0, 0, 0, 1]), 1, 8))
            rows.append(f"{r.participant}\t{r.session}\t{r.level}\t{reader}\tgriffith\t{grade}")
    readers = ds / "derivatives/readers/grades.tsv"
    readers.parent.mkdir(parents=True)
    readers.write_text("participant_id\tsession\tlevel\treader\tscale\tgrade\n"
                       + "\n".join(rows) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    run_dataset(ds, out, options=RunOptions(t2=False, adc=False))
    table = read_tsv(out / "agreement.tsv").set_index(["first", "second"])
    assert set(table.index) == {("discmri", "R1"), ("discmri", "R2"),
                                ("discmri", "consensus"), ("R1", "R2")}
    assert (table.n_participants == 3).all()
    assert table.loc[("discmri", "R1"), "within_one"] >= 0.9
    assert table.loc[("discmri", "R1"), "kappa_quadratic"] > 0.8
    side = json.loads((out / "agreement.json").read_text(encoding="utf-8"))
    assert "griffith: discmri vs R1" in side["Confusion"]
    # the run's discs.tsv holds the evidence that calibration fits a site's thresholds to;
    # this small cohort has too few discs of some grades, and the record says which
    discs = read_tsv(out / "discs.tsv")
    assert discs.np_outer_af_ratio.notna().all() and discs.height_reference.str.len().gt(0).all()
    site = tmp_path / "site.json"
    assert main(["grade", "--calibrate", str(readers), "--discs", str(out / "discs.tsv"),
                 "--out", str(site)]) == 0
    record = json.loads(site.read_text(encoding="utf-8"))
    assert record["ReaderGrades"] == 2 * len(truth) and record["Unmatched"] == 0
    assert any("too few reader grades" in f["kept"] for f in record["Fits"])
    # a site's thresholds drive the run's suggestions
    strict = Thresholds(af_hyperintense=50.0, af_mild=40.0, csf_equal=5.0, fat_above=50.0,
                        csf_fat_equivalent=4.0)
    again = run_dataset(ds, tmp_path / "strict", only=["01"],
                        options=RunOptions(t2=False, adc=False, grade_thresholds=strict))
    assert (again.griffith.astype(str).str.split("/").str[0].astype(int) >= 5).all()
    readers.write_text("participant_id\tsession\tlevel\treader\tscale\tgrade\n"
                       "01\tbaseline\tL4-L5\tR1\tgriffith\t12\n", encoding="utf-8")
    with pytest.raises(DatasetError, match="line 2"):
        run_dataset(ds, tmp_path / "again", options=RunOptions(t2=False, adc=False))
    assert not (tmp_path / "again").exists()


def test_a_grading_failure_keeps_the_measurements(monkeypatch):
    import discmri.grading.assist as assist
    from discmri.errors import ParameterError
    from discmri.pipeline.run import _run_one

    def refused(*args, **kwargs):
        raise ParameterError("no evidence")

    monkeypatch.setattr(assist, "suggest_grades", refused)
    session = find_sessions(SAMPLE)[0]
    result = process_session(session, options=RunOptions(t2=False, adc=False))
    assert result.status == "done"
    assert any("grade suggestions: ParameterError: no evidence" in s for s in result.skipped)
    assert result.table.height_middle_mm.notna().all()
    assert (result.table.griffith == "").all()

    # issue 25: a bug in grading is not an input problem: it fails the session with its
    # traceback, as every bug does, instead of becoming a "skipped" note
    def bug(*args, **kwargs):
        raise KeyError("level")

    monkeypatch.setattr(assist, "suggest_grades", bug)
    failed = _run_one(session, RunOptions(t2=False, adc=False), None, None)
    assert failed.status == "failed" and "internal error: KeyError" in failed.error
    assert "suggest_grades" in failed.traceback or "bug" in failed.traceback


def test_sessions_finished_before_an_interrupt_are_listed_as_done(cohort_root, tmp_path,
                                                                  monkeypatch):
    """Issue 24: after Ctrl-C, sessions.tsv listed sessions a worker had finished (their files
    written) as interrupted, because their results had not been collected yet."""
    from concurrent.futures import ThreadPoolExecutor, wait

    import discmri.pipeline.run as pipeline_run

    def interrupted_after_all_finish(futures):
        wait(list(futures))  # every worker has finished and written its session
        raise KeyboardInterrupt
        yield  # pragma: no cover - a generator, as as_completed is

    monkeypatch.setattr(pipeline_run, "as_completed", interrupted_after_all_finish)
    out = tmp_path / "out"
    with ThreadPoolExecutor(2) as pool, pytest.raises(KeyboardInterrupt):
        run_dataset(cohort_root, out, executor=pool, only=["sub-01"],
                    options=RunOptions(t2=False, adc=False))
    sessions = pd.read_csv(out / "sessions.tsv", sep="\t", keep_default_na=False)
    assert len(sessions) == 2 and (sessions.status == "done").all(), sessions.status.tolist()
    assert len(pd.read_csv(out / "discs.tsv", sep="\t")) > 0


def test_segmentation_hints_of_the_dataset_reach_a_runs_segmentation(tmp_path):
    """Issue 24: a session without a label map takes its hint point or level range from
    derivatives/labels/hints.tsv; a bad hints file stops the run before any work."""
    ds = tmp_path / "ds"
    shutil.copytree(SAMPLE, ds)
    hints = ds / "derivatives/labels/hints.tsv"
    head = "participant_id\tsession\thint_l5s1\tlevel_range\n"
    # sub-04's image shows nine discs beside a body: a range of four cannot name them, and
    # the failure says the range came from the hints file
    hints.write_text(head + "sub-04\tses-baseline\tn/a\tL2-L3..L5-S1\n", encoding="utf-8")
    discs = run_dataset(ds, tmp_path / "out", only=["sub-04"],
                        options=RunOptions(t2=False, adc=False))
    row = discs.attrs["sessions"].iloc[0]
    assert row.status == "failed"
    assert "level_range L2-L3..L5-S1 from derivatives/labels/hints.tsv" in row.error
    assert "the range names 4 discs" in row.error
    for bad, needle in (("sub-09\tses-baseline\tn/a\tL1-L2..L5-S1\n", "not a session"),
                        ("sub-04\tses-baseline\t1,2\tn/a\n", "hint_l5s1 '1,2'"),
                        ("sub-04\tses-baseline\tn/a\tL1-L2\n", "level_range 'L1-L2'"),
                        ("sub-04\tses-baseline\tn/a\tn/a\n", "neither")):
        hints.write_text(head + bad, encoding="utf-8")
        with pytest.raises(DatasetError, match=needle) as info:
            run_dataset(ds, tmp_path / "refused", only=["sub-04"])
        assert "hints.tsv, line 2" in str(info.value)
        assert not (tmp_path / "refused").exists()
