"""``discmri grade`` on the sample data."""

import json
from pathlib import Path

import pandas as pd
import pytest

from discmri.cli import main

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"
SUB = "sub-01/ses-baseline"
STEM = "sub-01_ses-baseline"


def grade_args(out, *extra):
    return ["grade", "--t2w", str(SAMPLE / SUB / "anat" / f"{STEM}_T2w.nii.gz"),
            "--labels", str(SAMPLE / "derivatives/labels" / SUB / "anat" / f"{STEM}_dseg.nii.gz"),
            "--out", str(out), *extra]


def test_grade_writes_suggestions_with_evidence_and_units(tmp_path, capsys):
    out = tmp_path / "grades.tsv"
    assert main(grade_args(out)) == 0
    printed = capsys.readouterr().out
    assert "Griffith" in printed and "wrote" in printed
    table = pd.read_csv(out, sep="\t", keep_default_na=False, na_values="n/a")
    truth = pd.read_csv(SAMPLE / "derivatives/truth" / SUB / f"{STEM}_discs.tsv", sep="\t")
    assert table.level.tolist() == truth.level.tolist()
    # the sample's discs: grades 1-7, one of them near a grade boundary
    got = table.griffith.astype(str).str.split("/").str[-1].astype(int)
    assert (abs(got - truth.grade_griffith) <= 1).all()
    assert (got == truth.grade_griffith).mean() >= 5 / 7
    assert table.evidence.str.len().gt(0).all()
    sidecar = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    assert sidecar["height_loss_pct"]["Units"] == "%"
    assert sidecar["Thresholds"]["af_mild"] == 1.5 and len(sidecar["Sources"]) == 2


def test_grade_uses_a_thresholds_file_and_refuses_a_bad_one(tmp_path, capsys):
    strict = tmp_path / "site.json"
    strict.write_text(json.dumps({"af_hyperintense": 50.0, "csf_equal": 5.0, "fat_above": 50.0,
                                  "csf_fat_equivalent": 4.0}), encoding="utf-8")
    out = tmp_path / "grades.tsv"
    assert main(grade_args(out, "--thresholds", str(strict))) == 0
    table = pd.read_csv(out, sep="\t", keep_default_na=False, na_values="n/a")
    # nothing is "as bright as CSF", "above fat" or "hyperintense to the annulus" any more:
    # grades 4 and up
    assert table.griffith.astype(str).str.split("/").str[0].astype(int).min() >= 4
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"af_mild": "high"}), encoding="utf-8")
    other = tmp_path / "other.tsv"
    capsys.readouterr()
    assert main(grade_args(other, "--thresholds", str(bad))) == 2
    err = capsys.readouterr().err
    assert err.startswith("discmri: error:") and "thresholds" in err and err.count("\n") == 1
    assert not other.exists() and not other.with_suffix(".json").exists()


def test_grade_with_maps_and_reader_grades_of_the_image(tmp_path, capsys):
    """--t2map adds the nucleus T2 as supporting evidence; --readers writes the agreement."""
    import nibabel as nib
    import numpy as np

    t2w = nib.load(SAMPLE / SUB / "anat" / f"{STEM}_T2w.nii.gz")
    t2map = tmp_path / "t2map.nii.gz"
    nib.save(nib.Nifti1Image(np.full(t2w.shape, 84.0, np.float32), t2w.affine), t2map)
    truth = pd.read_csv(SAMPLE / "derivatives/truth" / SUB / f"{STEM}_discs.tsv", sep="\t")
    readers = tmp_path / "readers.tsv"
    lines = ["participant_id\tsession\tlevel\treader\tscale\tgrade"]
    lines += [f"01\tbaseline\t{r.level}\tR1\tgriffith\t{r.grade_griffith}"
              for r in truth.itertuples()]
    readers.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "grades.tsv"
    assert main(grade_args(out, "--t2map", str(t2map), "--readers", str(readers),
                           "--qc")) == 0
    assert (tmp_path / "grades_qc.png").read_bytes()[:4] == b"\x89PNG"
    table = pd.read_csv(out, sep="\t", keep_default_na=False, na_values="n/a")
    assert np.allclose(table.np_t2_ms, 84.0)
    assert table.evidence.str.contains("np_t2_ms 84 ms, most like Pfirrmann III").all()
    agree = pd.read_csv(tmp_path / "grades_agreement.tsv", sep="\t")
    row = agree[(agree["first"] == "discmri") & (agree["second"] == "R1")].iloc[0]
    assert row.n_discs == len(truth) and row.n_participants == 1
    got = table.griffith.astype(str).str.split("/").str[-1].astype(int)
    assert row.exact == pytest.approx((got == truth.grade_griffith).mean())
    assert "discmri vs R1" in capsys.readouterr().out


def test_reader_grades_of_several_images_need_a_bids_name(tmp_path, capsys):
    readers = tmp_path / "readers.tsv"
    readers.write_text("participant_id\tsession\tlevel\treader\tscale\tgrade\n"
                       "02\tbaseline\tL4-L5\tR1\tgriffith\t3\n"
                       "03\tbaseline\tL4-L5\tR1\tgriffith\t3\n", encoding="utf-8")
    out = tmp_path / "grades.tsv"
    assert main(grade_args(out, "--readers", str(readers))) == 2
    err = capsys.readouterr().err
    assert "sub-X_ses-Y" in err and err.count("\n") == 1
    assert not out.exists()


@pytest.mark.parametrize("missing", ["n/a", ""])  # as discmri writes it, as a spreadsheet does
def test_calibrate_writes_a_thresholds_file_that_grade_then_uses(tmp_path, capsys, missing):
    from discmri.phantom.readers import READER_THRESHOLDS, feature_cohort, reader_grades

    features = feature_cohort(30, seed=2)
    features.loc[0, "np_fat_ratio"] = float("nan")  # a disc without presacral fat in view
    discs = tmp_path / "discs.tsv"
    features.to_csv(discs, sep="\t", index=False, na_rep=missing)
    assert f"\t{missing}\t" in discs.read_text(encoding="utf-8")
    readers = tmp_path / "grades.tsv"
    reader_grades(features, 2, seed=12).to_csv(readers, sep="\t", index=False)
    site = tmp_path / "site.json"
    assert main(["grade", "--calibrate", str(readers), "--discs", str(discs),
                 "--out", str(site)]) == 0
    printed = capsys.readouterr().out
    assert "cross-validated: exact" in printed and "default: exact" in printed
    record = json.loads(site.read_text(encoding="utf-8"))
    assert record["Thresholds"]["af_mild"] == pytest.approx(READER_THRESHOLDS["af_mild"],
                                                            rel=0.1)
    assert record["CrossValidated"]["n_participants"] == 30
    out = tmp_path / "graded.tsv"
    assert main(grade_args(out, "--thresholds", str(site))) == 0
    sidecar = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))
    assert sidecar["Thresholds"] == record["Thresholds"]


@pytest.mark.parametrize("extra, expected", [
    (["--t2w", "x.nii.gz"], "no image"),
    ([], "--discs"),
])
def test_calibrate_refuses_an_image_or_no_discs(tmp_path, capsys, extra, expected):
    readers = tmp_path / "grades.tsv"
    readers.write_text("participant_id\tsession\tlevel\treader\tscale\tgrade\n", encoding="utf-8")
    site = tmp_path / "site.json"
    assert main(["grade", "--calibrate", str(readers), *extra, "--out", str(site)]) == 2
    err = capsys.readouterr().err
    assert expected in err and err.count("\n") == 1
    assert not site.exists()


def test_grade_without_an_image_says_what_is_missing(tmp_path, capsys):
    assert main(["grade", "--out", str(tmp_path / "g.tsv")]) == 2
    err = capsys.readouterr().err
    assert "--t2w and --labels missing" in err


def test_calibrate_names_a_cell_that_is_not_a_number(tmp_path, capsys):
    from discmri.phantom.readers import feature_cohort, reader_grades

    features = feature_cohort(5, seed=2)
    readers = tmp_path / "grades.tsv"
    reader_grades(features, 1, seed=12).to_csv(readers, sep="\t", index=False)
    features["np_csf_ratio"] = features["np_csf_ratio"].astype(object)
    features.loc[2, "np_csf_ratio"] = "0,85"  # a decimal comma
    discs = tmp_path / "discs.tsv"
    features.to_csv(discs, sep="\t", index=False, na_rep="n/a")
    site = tmp_path / "site.json"
    assert main(["grade", "--calibrate", str(readers), "--discs", str(discs),
                 "--out", str(site)]) == 2
    err = capsys.readouterr().err
    assert "line 4, column 'np_csf_ratio': '0,85' is not a number" in err
    assert err.count("\n") == 1 and not site.exists()


def test_calibrate_fits_pfirrmann_readers_and_says_so(tmp_path, capsys):
    from discmri.phantom.readers import READER_THRESHOLDS, feature_cohort, reader_grades

    features = feature_cohort(30, seed=2)
    discs = tmp_path / "discs.tsv"
    features.to_csv(discs, sep="\t", index=False, na_rep="n/a")
    readers = tmp_path / "grades.tsv"
    reader_grades(features, 2, seed=12, scale="pfirrmann").to_csv(readers, sep="\t",
                                                                  index=False)
    site = tmp_path / "site.json"
    assert main(["grade", "--calibrate", str(readers), "--discs", str(discs),
                 "--out", str(site)]) == 0
    assert "calibrated to 300 pfirrmann reader grades" in capsys.readouterr().out
    record = json.loads(site.read_text(encoding="utf-8"))
    assert record["Scale"] == "pfirrmann"
    assert record["Thresholds"]["af_mild"] == pytest.approx(READER_THRESHOLDS["af_mild"],
                                                            rel=0.1)
    # asked for a scale the readers did not use: one line naming it, nothing written
    other = tmp_path / "other.json"
    assert main(["grade", "--calibrate", str(readers), "--discs", str(discs), "--scale",
                 "griffith", "--out", str(other)]) == 2
    err = capsys.readouterr().err
    assert "griffith reader grades" in err and err.count("\n") == 1 and not other.exists()
    # --scale grades nothing on its own
    assert main(grade_args(tmp_path / "g.tsv", "--scale", "pfirrmann")) == 2
    assert "only with --calibrate" in capsys.readouterr().err
