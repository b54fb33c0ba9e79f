"""``discmri grade`` on the sample data."""

import json
from pathlib import Path

import pandas as pd

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
    strict.write_text(json.dumps({"af_hyperintense": 50.0}), encoding="utf-8")
    out = tmp_path / "grades.tsv"
    assert main(grade_args(out, "--thresholds", str(strict))) == 0
    table = pd.read_csv(out, sep="\t", keep_default_na=False, na_values="n/a")
    # nothing is "hyperintense to the annulus" any more: grades 4 and up only
    assert table.griffith.astype(str).str.split("/").str[0].astype(int).min() >= 4
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"af_mild": "high"}), encoding="utf-8")
    other = tmp_path / "other.tsv"
    capsys.readouterr()
    assert main(grade_args(other, "--thresholds", str(bad))) == 2
    err = capsys.readouterr().err
    assert err.startswith("discmri: error:") and "thresholds" in err and err.count("\n") == 1
    assert not other.exists() and not other.with_suffix(".json").exists()
