"""The report's files: stats.tsv and report.json equal a recomputation from discs.tsv, and the
page works in a real browser (headless Chromium)."""

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from discmri.cli import main
from discmri.phantom.trial import TrialEffect, trial_table

ACTIVE = TrialEffect(dhi_pct=10.0, t2_ms=15.0, improve={3.0: 0.5})


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """A two-arm trial of 12 per arm written as a run's discs.tsv, reported by the CLI."""
    out = tmp_path_factory.mktemp("run")
    table = trial_table({"MSC": ACTIVE, "sham": TrialEffect()}, 12, seed=5, dropout=0.1)
    table.to_csv(out / "discs.tsv", sep="\t", index=False, na_rep="n/a")
    assert main(["report", str(out), "--endpoints", "dhi_mean_height,np_t2_ms"]) == 0
    return out, pd.read_csv(out / "discs.tsv", sep="\t", na_values=["n/a"],
                            keep_default_na=False, dtype={"griffith": str})


def test_the_pages_numbers_equal_a_recomputation_from_discs_tsv(written):
    out, discs = written
    record = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert record["Layout"] == "two-arm" and record["Control"] == "sham"
    treated = discs[discs.treated]
    for row in record["Tables"]["summary"]:
        part = treated[(treated.arm == row["arm"]) & (treated.months == row["months"])]
        values = part[row["endpoint"]]
        assert row["n_discs"] == len(values)
        assert row["n_participants"] == part.participant_id.nunique()
        assert row["mean"] == pytest.approx(values.mean(), rel=1e-9)
        assert row["sd"] == pytest.approx(values.std(), rel=1e-9)
        assert row["median"] == pytest.approx(values.median(), rel=1e-9)
    # the within-arm change: each participant's mean change over discs at both visits
    base = treated[treated.months == 0].set_index(["participant_id", "level"])
    for row in record["Tables"]["within"]:
        visit = treated[(treated.arm == row["arm"]) & (treated.months == row["months"])]
        visit = visit.set_index(["participant_id", "level"])
        change = (visit[row["endpoint"]] - base[row["endpoint"]]).dropna()
        per = change.groupby(level="participant_id").mean()
        assert row["n_participants"] == len(per)
        assert row["mean_change"] == pytest.approx(per.mean(), rel=1e-9)
    # stats.tsv holds the same tests
    table = pd.read_csv(out / "stats.tsv", sep="\t", na_values=["n/a"], keep_default_na=False)
    between = table[table.section == "between arms"]
    assert len(between) == 4 and set(between.test) == {"Welch t"}
    mixed = table[table.section == "mixed model"]
    assert set(mixed.endpoint) == {"dhi_mean_height", "np_t2_ms"}
    assert record["Software"]["statsmodels"] and record["Models"]["np_t2_ms"]["converged"]


def test_the_page_is_self_contained(written):
    out, _ = written
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "http://" not in page and "https://" not in page  # opens offline
    assert page.count("data:image/png;base64,") == 5  # 2 endpoints × 2 figures + grades
    assert "Between arms (MSC minus sham)" in page


def test_the_pages_tables_have_readable_headers_with_units(written):
    """Issue 24: headers were raw column names without units."""
    out, _ = written
    page = (out / "report.html").read_text(encoding="utf-8")
    for header in ("<th>unit</th>", "<th>n participants</th>", "<th>95 % CI low</th>",
                   "<th>mean change (%)</th>", "<th>p</th>"):
        assert header in page, header
    assert "<th>p_value</th>" not in page and "<th>ci_low</th>" not in page
    # the unit stands beside its endpoint: T2 in ms, DHI a ratio (no unit)
    assert "<td>np_t2_ms</td>\n      <td>ms</td>" in page
    assert "<td>dhi_mean_height</td>\n      <td></td>" in page
    # the two-arm layout keeps the t test with the signed-rank test beside it
    record = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert all("p_wilcoxon" in r for r in record["Tables"]["within"])


def _chromium():
    import os

    browser = shutil.which("chromium")
    driver = shutil.which("chromedriver")
    if not (browser and driver):
        if os.environ.get("CI") or os.environ.get("DISCMRI_REQUIRE_BROWSER"):
            pytest.fail("chromium and chromedriver are needed (.ci/run installs them)")
        pytest.skip("chromium and chromium-driver are not installed (.ci/run installs them)")
    return browser, driver


def test_the_page_loads_in_headless_chromium_with_every_figure_decoded(written, tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    browser, driver_path = _chromium()
    out, _ = written
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1280,2000", f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        driver.get((out / "report.html").resolve().as_uri())
        assert driver.title == "Trial report: imaging endpoints"
        sizes = driver.execute_script(
            "return Array.from(document.images).map(i => [i.complete, i.naturalWidth, "
            "i.naturalHeight]);")
        assert len(sizes) == 5
        assert all(done and w > 100 and h > 100 for done, w, h in sizes), sizes
        tables = driver.execute_script("return document.querySelectorAll('table').length;")
        assert tables >= 8
        errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        assert not errors, errors
        shot = tmp_path / "page.png"
        assert driver.save_screenshot(str(shot))
    finally:
        driver.quit()
    from matplotlib.image import imread

    pixels = imread(shot)[..., :3]
    assert pixels.shape[0] > 500 and pixels.std() > 0.05  # not blank
    assert (pixels.mean(axis=2) < 0.5).mean() > 0.01  # text and plots drawn


def test_report_errors_are_one_line_and_write_nothing(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "discs.tsv: not found" in err and err.count("\n") == 1
    one = trial_table({"A": TrialEffect()}, 3, seed=0)
    one[one.months == 0].to_csv(tmp_path / "discs.tsv", sep="\t", index=False)
    assert main(["report", str(tmp_path)]) == 2
    assert "follow-up" in capsys.readouterr().err
    assert not (tmp_path / "report.html").exists() and not (tmp_path / "stats.tsv").exists()
    assert main(["report", str(tmp_path), "--format", "docx"]) == 2
    assert "html and/or pdf" in capsys.readouterr().err


def test_a_pdf_without_chromium_is_refused_before_anything_is_written(tmp_path, capsys,
                                                                      monkeypatch):
    import discmri.report.make as make

    trial_table({"A": TrialEffect()}, 3, seed=0).to_csv(tmp_path / "discs.tsv", sep="\t",
                                                         index=False)
    monkeypatch.setattr(make.shutil, "which", lambda name: None)
    assert main(["report", str(tmp_path), "--format", "html,pdf"]) == 2
    err = capsys.readouterr().err
    assert "Chromium" in err and "--format pdf" in err and err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["discs.tsv"]


def test_numbers_in_report_json_are_finite_or_null(written):
    out, _ = written
    text = (out / "report.json").read_text(encoding="utf-8")
    assert "NaN" not in text and "Infinity" not in text
    record = json.loads(text)
    values = [v for rows in record["Tables"].values() for r in rows for v in r.values()
              if isinstance(v, float)]
    assert values and np.isfinite(values).all()


def test_the_page_prints_to_pdf_with_chromium(written):
    _chromium()
    out, _ = written
    assert main(["report", str(out), "--endpoints", "np_t2_ms", "--format", "html,pdf"]) == 0
    pdf = (out / "report.pdf").read_bytes()
    assert pdf[:5] == b"%PDF-" and len(pdf) > 20_000
