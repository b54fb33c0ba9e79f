"""``discmri run`` and the command line's write-side errors, as a user meets them."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from discmri.cli import main
from discmri.table import read_discs

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"


def one_line_error(capsys, *needles):
    err = capsys.readouterr().err.strip()
    assert err.startswith("discmri: error: ") and "\n" not in err, err
    assert "Traceback" not in err and "np.float" not in err
    for needle in needles:
        assert needle in err, err
    return err


def test_run_on_sample_data_prints_progress_and_a_summary(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", str(SAMPLE), str(out), "--only", "sub-04", "--workers", "1"]) == 0
    captured = capsys.readouterr()
    # not a terminal: one line per session on stderr, then the summary on stdout
    # sub-04 has no label map: segmented, seven levels and the part of a disc at the top
    # of the image, which is listed but cannot be measured
    assert "[1/1] sub-04 ses-baseline: done, 7/8 levels" in captured.err
    assert "1 sessions in" in captured.out
    assert "1 done (0 resumed), 0 partial, 0 skipped, 0 failed" in captured.out
    assert f"wrote 8 disc rows to {out / 'discs.tsv'}" in captured.out
    table = pd.read_csv(out / "discs.tsv", sep="\t", na_values=["n/a"], keep_default_na=False)
    assert len(table) == 8 and table.treated.sum() == 3  # sub-04 was treated at three levels
    assert main(["run", str(SAMPLE), str(out), "--only", "sub-04", "--workers", "1"]) == 2
    one_line_error(capsys, "holds an earlier run", "--resume", "--overwrite")
    # the segmented session is resumed from the earlier run, not segmented again
    assert main(["run", str(SAMPLE), str(out), "--only", "sub-04", "--resume"]) == 0
    assert "1 done (1 resumed)" in capsys.readouterr().out


def test_grade_thresholds_of_a_site_drive_the_runs_suggestions(tmp_path, capsys):
    strict = tmp_path / "site.json"
    strict.write_text(json.dumps({"Thresholds": {"af_hyperintense": 50.0, "af_mild": 40.0,
                                                 "csf_equal": 5.0, "fat_above": 50.0,
                                                 "csf_fat_equivalent": 4.0}}), encoding="utf-8")
    out = tmp_path / "out"
    assert main(["run", str(SAMPLE), str(out), "--only", "sub-04", "--workers", "1",
                 "--no-t2", "--no-adc", "--thresholds", str(strict)]) == 0
    table = read_discs(out / "discs.tsv")  # griffith stays text beside n/a
    # nothing is as bright as CSF, above fat or above the outer annulus under these thresholds:
    # hypointense grades only
    graded = table[table.status == "measured"]  # not the disc cut by the top of the image
    assert graded.griffith.astype(str).str.split("/").str[0].astype(int).min() >= 5
    run = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert run["Parameters"]["grade_thresholds"]["af_mild"] == 40.0
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"af_mild": 90.0}), encoding="utf-8")
    capsys.readouterr()
    assert main(["run", str(SAMPLE), str(tmp_path / "o2"), "--thresholds", str(bad)]) == 2
    one_line_error(capsys, "out of order")
    assert not (tmp_path / "o2").exists()


def test_a_failed_session_sets_the_exit_code(cohort_root, tmp_path, capsys):
    ds = tmp_path / "ds"
    shutil.copytree(cohort_root, ds)
    (ds / "sub-01/ses-month6/anat/sub-01_ses-month6_T2w.nii.gz").write_bytes(b"not nifti")
    code = main(["run", str(ds), str(tmp_path / "out"), "--only", "sub-01", "--workers", "2",
                 "--no-t2", "--no-adc"])
    out = capsys.readouterr().out
    assert code == 1
    assert "1 done (0 resumed), 0 partial, 0 skipped, 1 failed" in out
    assert "sub-01 ses-month6: failed: " in out and "not a readable NIfTI" in out


def test_unreachable_scheduler_is_a_one_line_error_before_any_work(tmp_path, capsys):
    pytest.importorskip("distributed")
    out = tmp_path / "out"
    code = main(["run", str(SAMPLE), str(out), "--scheduler", "tcp://127.0.0.1:9"])
    assert code == 2
    one_line_error(capsys, "--scheduler tcp://127.0.0.1:9", "cannot reach")
    assert not out.exists()


@pytest.mark.parametrize("where, needle", [
    ("inside", "inside the dataset"),
    ("file", "is a file"),
    ("proc", "cannot write there"),
])
def test_run_output_folder_errors(tmp_path, capsys, where, needle):
    out = {"inside": SAMPLE / "sub-01" / "results",
           "file": tmp_path / "a" / "b",
           "proc": Path("/proc/discmri-test")}[where]
    if where == "file":
        (tmp_path / "a").write_text("a file", encoding="utf-8")
    assert main(["run", str(SAMPLE), str(out), "--workers", "1"]) == 2
    one_line_error(capsys, needle)
    assert not (SAMPLE / "sub-01" / "results").exists()


def test_write_side_errors_of_the_single_image_commands(tmp_path, capsys):
    sub, stem = SAMPLE / "sub-01" / "ses-baseline", "sub-01_ses-baseline"
    echoes = sorted(str(p) for p in (sub / "anat").glob(f"{stem}_echo-*_MESE.nii.gz"))
    blocker = tmp_path / "a"
    blocker.write_text("a file", encoding="utf-8")
    assert main(["t2map", *echoes, "--out", str(blocker / "b")]) == 2
    one_line_error(capsys, "is a file")
    assert main(["t2map", *echoes, "--out", "/proc/discmri-test/t2"]) == 2
    one_line_error(capsys, "cannot write there")
    t2w = str(sub / "anat" / f"{stem}_T2w.nii.gz")
    labels = str(SAMPLE / "derivatives/labels/sub-01/ses-baseline/anat" / f"{stem}_dseg.nii.gz")
    # --qc writes its figures into OUT_qc/ beside the table: a file there blocks it
    (tmp_path / "m_qc").write_text("a file", encoding="utf-8")
    assert main(["measure", "--t2w", t2w, "--labels", labels, "--qc",
                 "--out", str(tmp_path / "m.tsv")]) == 2
    one_line_error(capsys, "--qc folder", "m_qc", "is a file")
    assert not (tmp_path / "m.tsv").exists()
    existing = tmp_path / "t2_T2map.nii.gz"
    existing.write_bytes(b"keep")
    assert main(["t2map", *echoes, "--out", str(tmp_path / "t2")]) == 2
    one_line_error(capsys, "file exists", "--overwrite")
    assert existing.read_bytes() == b"keep"
    assert main(["t2map", *echoes, "--out", str(tmp_path / "n"), "--noise-sigma", "-1"]) == 2
    one_line_error(capsys, "--noise-sigma -1")
    assert not list(tmp_path.glob("n_*")) and not list(tmp_path.glob(".*"))


def test_output_piped_into_head_is_not_a_traceback(tmp_path):
    cmd = f"{sys.executable} -m discmri.cli info {SAMPLE} | head -1"
    done = subprocess.run(["bash", "-c", f"set -o pipefail; {cmd}"], capture_output=True,
                          text=True, timeout=120)
    assert done.stdout.count("\n") == 1 and "4 participants" in done.stdout
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr


@pytest.mark.slow
def test_sigterm_keeps_finished_sessions_and_resume_finishes(cohort_root, tmp_path):
    out = tmp_path / "out"
    args = [sys.executable, "-m", "discmri.cli", "run", str(cohort_root), str(out),
            "--workers", "1", "--no-t2", "--no-adc"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stderr.readline, "")),
                              daemon=True)
    reader.start()
    deadline = time.monotonic() + 120
    # stop once the first session is reported done (one line per session off a terminal)
    while (not any(": done" in line for line in lines) and time.monotonic() < deadline
           and proc.poll() is None):
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=120)
    reader.join(timeout=10)
    proc.stderr.close()
    err = "".join(lines)
    assert proc.returncode == 130, err
    assert "--resume" in err
    sessions = pd.read_csv(out / "sessions.tsv", sep="\t", na_values=["n/a"],
                           keep_default_na=False)
    assert "interrupted" in set(sessions.status) and "done" in set(sessions.status)
    finished = sessions[sessions.status == "done"]
    for row in finished.itertuples():  # every session reported done is complete
        folder = out / row.participant_id / row.session
        record = json.loads((folder / f"{row.participant_id}_{row.session}_discs.json")
                            .read_text(encoding="utf-8"))
        assert record["Run"]["inputs"]
    assert not (out / ".discmri-run.lock").exists()
    assert not list(out.rglob(".*"))
    done = subprocess.run([*args, "--resume"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    resumed = int(re.search(r"6 done \((\d+) resumed\)", done.stdout).group(1))
    assert len(finished) <= resumed < 6  # a session may have finished as the signal came
    if os.name == "posix":
        assert not list(out.rglob(".*"))


def test_workers_times_threads_may_not_exceed_the_cpus(tmp_path, capsys):
    from discmri.cli.run import _cores

    too_many = str(_cores() + 1)
    assert main(["run", str(SAMPLE), str(tmp_path / "o"), "--workers", too_many]) == 2
    one_line_error(capsys, "--workers", "CPUs")
    assert main(["run", str(SAMPLE), str(tmp_path / "o"), "--workers", "1", "--threads",
                 too_many]) == 2
    one_line_error(capsys, "--threads")
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(("options", "needles"), [
    (["--noise-sigma", "-1"], ["--noise-sigma", "-1", "positive"]),
    (["--noise-sigma", "nan"], ["--noise-sigma", "nan"]),
    (["--b-range", "800,0"], ["--b-range", "800,0", "LOW < HIGH"]),
    (["--resume", "--overwrite"], ["--resume and --overwrite"]),
    (["--endpoints", "foo_mm"], ["--endpoints foo_mm", "np_t2_ms"]),
    (["--control", "placebo"], ["--control placebo", "MSC", "sham"]),
    (["--baseline", "ses-nope"], ["--baseline ses-nope", "ses-baseline"]),
])
def test_run_options_that_cannot_work_stop_it_before_any_work(tmp_path, capsys, options,
                                                              needles):
    """Issue 24 / 25: found before the first session, exit 2, nothing written."""
    out = tmp_path / "out"
    assert main(["run", str(SAMPLE), str(out), "--workers", "1", *options]) == 2
    one_line_error(capsys, *needles)
    assert not out.exists()
