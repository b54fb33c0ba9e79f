"""``discmri run`` ends with the trial report; ``discmri report`` redoes it with options."""

import json
from pathlib import Path

import pandas as pd
from markupsafe import escape

from discmri.cli import main

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"


def test_run_on_the_sample_data_ends_with_the_small_study_report(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", str(SAMPLE), str(out), "--no-t2", "--no-adc", "--workers", "1"]) == 0
    printed = capsys.readouterr().out
    assert "wrote the trial report: stats.tsv, report.json, report.html" in printed
    record = json.loads((out / "report.json").read_text(encoding="utf-8"))
    # four participants, two per arm: the small-study layout, each patient's trajectory
    assert record["Layout"] == "small" and record["Arms"] == ["MSC", "sham"]
    assert "fewer than 10 participants" in record["Notes"][0]
    assert not record["Tables"]["between"]
    patients = {r["participant_id"] for r in record["Tables"]["trajectories"]}
    assert patients == {"sub-01", "sub-02", "sub-03", "sub-04"}
    # without maps the endpoints with values are the heights, and the notes say so
    assert record["Endpoints"] == ["dhi_mean_height", "height_mean_mm"]
    assert any(n.startswith("np_t2_ms: no values") for n in record["Notes"])
    # the cohort table counts the sessions of the sample (sub-04 has its baseline only)
    cohort = pd.DataFrame(record["Tables"]["cohort"]).set_index(["arm", "months"])
    assert cohort.loc[("sham", 0.0), "participants"] == 2
    assert cohort.loc[("sham", 6.0), "missing"] == 1
    # issue 24: the page says what was done. The time model of a small study pools the arms
    # and says so, with its formula; no between-arm test anywhere, grades included; counts
    # say what they count; no test where n cannot reach p < 0.05, and why
    page = (out / "report.html").read_text(encoding="utf-8")
    methods = " ".join(record["Methods"])
    for endpoint, model in record["Models"].items():
        assert model["pooled"] and model["formula"] == "value ~ C(visit, Treatment('0'))"
        assert f"{endpoint}: linear mixed model" in methods and model["formula"] in methods
        assert "pooled time model" in methods and "not a comparison of arms" in methods
        # disc × visit values and distinct discs (the sample's treated levels)
        assert model["n_observations"] > model["n_discs"] == 8
    assert "interaction" not in methods and "arm, visit and" not in methods
    assert "Mann-Whitney" not in page and "between the arms with" not in page
    assert all("against none" in r["comparison"] for r in record["Tables"]["grade_tests"])
    for row in record["Tables"]["within"] + record["Tables"]["grade_tests"]:
        n = row.get("n_participants", row.get("n"))
        assert n < 6 and row["p_value"] is None and f"n = {n}" in row["note"]
    for paragraph in record["Methods"]:
        assert str(escape(paragraph)) in page
    # redone with options: all levels, Holm, the baseline named
    assert main(["report", str(out), "--levels", "all", "--holm", "--baseline",
                 "baseline"]) == 0
    again = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert again["Settings"]["levels"] == "all" and again["Settings"]["holm"] is True
    assert all("p_holm" in r for r in again["Tables"]["within"])


def test_run_says_why_there_is_no_report_and_no_report_skips_it(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", str(SAMPLE), str(out), "--only", "sub-04", "--no-t2", "--no-adc",
                 "--workers", "1"]) == 0
    assert "no trial report: the table has no follow-up visit" in capsys.readouterr().out
    assert not (out / "report.html").exists()
    other = tmp_path / "other"
    assert main(["run", str(SAMPLE), str(other), "--only", "sub-01", "--no-t2", "--no-adc",
                 "--workers", "1", "--no-report"]) == 0
    assert "trial report" not in capsys.readouterr().out
    assert not (other / "report.json").exists()


def test_the_page_links_the_qc_figures_of_a_run_with_qc(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", str(SAMPLE), str(out), "--only", "sub-01", "--no-t2", "--no-adc",
                 "--workers", "1", "--qc"]) == 0
    page = (out / "report.html").read_text(encoding="utf-8")
    link = 'href="sub-01/ses-month3/qc/sub-01_ses-month3_L4-L5.png"'
    assert link in page and (out / "sub-01/ses-month3/qc/sub-01_ses-month3_L4-L5.png").is_file()
    assert 'href="sub-01/ses-baseline/qc/sub-01_ses-baseline_grades.png"' in page


def test_without_the_report_extra_the_run_writes_the_tables_and_says_so(tmp_path, capsys,
                                                                        monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "jinja2" else real(name, *a))
    out = tmp_path / "out"
    assert main(["run", str(SAMPLE), str(out), "--only", "sub-01", "--no-t2", "--no-adc",
                 "--workers", "1"]) == 0
    printed = capsys.readouterr().out
    assert "wrote the trial report: stats.tsv, report.json" in printed
    assert 'report.html needs Jinja2: pip install "discmri[report]"' in printed
    assert (out / "report.json").is_file() and not (out / "report.html").exists()
    assert main(["report", str(out)]) == 2
    assert "needs Jinja2" in capsys.readouterr().err
