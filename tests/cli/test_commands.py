import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
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
    import discmri.cli.info as cli

    def boom(args):
        raise RuntimeError("bug")

    monkeypatch.setattr(cli, "_cmd_info", boom)
    assert main(["info", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "RuntimeError: bug" in err and "internal error" in err


# --- t2map ---------------------------------------------------------------------------------


def test_t2map_writes_maps_with_provenance(cohort_root, tmp_path, capsys):
    import json

    import nibabel as nib

    anat = cohort_root / "sub-01" / "ses-baseline" / "anat"
    echoes = sorted(anat.glob("*_MESE.nii.gz"), key=lambda p: int(p.name.split("echo-")[1][0]))
    prefix = tmp_path / "out" / "sub-01"
    assert main(["t2map", *map(str, echoes), "--out", str(prefix), "--noise-sigma", "auto",
                 "--threads", "2"]) == 0
    assert "ok" in capsys.readouterr().out
    t2 = nib.load(f"{prefix}_T2map.nii.gz")
    ref = nib.load(echoes[0])
    np.testing.assert_allclose(t2.affine, ref.affine)
    assert t2.shape == ref.shape and t2.get_data_dtype() == np.float32
    side = json.loads((tmp_path / "out" / "sub-01_T2map.json").read_text())
    assert side["Units"] == "ms" and side["Method"] == "nlls"
    assert len(side["Sources"]) == len(echoes) and len(side["Sources"][0]["sha256"]) == 64
    truth = nib.load(cohort_root / "derivatives/truth/sub-01/ses-baseline"
                     / "sub-01_ses-baseline_desc-truth_T2map.nii.gz").get_fdata()
    labels = nib.load(cohort_root / "derivatives/truth/sub-01/ses-baseline"
                      / "sub-01_ses-baseline_space-MESE_dseg.nii.gz").get_fdata()
    fitted = t2.get_fdata()
    nucleus = (labels >= 200) & (labels < 300) & np.isfinite(fitted)
    assert np.median(np.abs(fitted[nucleus] / truth[nucleus] - 1)) < 0.2  # 2 mm, 6 echoes
    for name in ("M0map", "desc-rmse_T2map", "desc-r2_T2map", "desc-status_T2map"):
        assert (tmp_path / "out" / f"sub-01_{name}.nii.gz").is_file()
    # a second run refuses to overwrite, and writes nothing
    before = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert main(["t2map", *map(str, echoes), "--out", str(prefix)]) == 2
    assert "exists" in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == before


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--echo-times", "0.012,0.024,0.036,0.048,0.06,0.072"], "look like seconds"),
        (["--echo-times", "12,24,36"], "3 echo times given for 6 echoes"),
        (["--method", "epg", "--echo-times", "12,24,36,48,60,75"], "k × echo spacing"),
    ],
)
def test_t2map_bad_input_writes_nothing(cohort_root, tmp_path, capsys, extra, message):
    anat = cohort_root / "sub-02" / "ses-month6" / "anat"
    echoes = sorted(anat.glob("*_MESE.nii.gz"), key=lambda p: int(p.name.split("echo-")[1][0]))
    assert main(["t2map", *map(str, echoes), "--out", str(tmp_path / "x"), *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("discmri: error:") and message in err
    assert list(tmp_path.iterdir()) == []


def test_t2map_mask_must_match(cohort_root, tmp_path, capsys):
    anat = cohort_root / "sub-02" / "ses-month6" / "anat"
    echoes = sorted(anat.glob("*_MESE.nii.gz"))
    t2w = anat / "sub-02_ses-month6_T2w.nii.gz"  # another grid
    assert main(["t2map", *map(str, echoes), "--out", str(tmp_path / "x"), "--mask",
                 str(t2w)]) == 2
    assert "mask" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


# --- adcmap --------------------------------------------------------------------------------


def test_adcmap_writes_maps_on_the_sample_grid(cohort_root, tmp_path, capsys):
    import json

    import nibabel as nib

    dwi = cohort_root / "sub-03" / "ses-baseline" / "dwi" / "sub-03_ses-baseline_dwi.nii.gz"
    prefix = tmp_path / "adc" / "sub-03"
    assert main(["adcmap", str(dwi), "--out", str(prefix), "--b-range", "0,1000"]) == 0
    assert "b = 0, 400, 800" in capsys.readouterr().out
    adc = nib.load(f"{prefix}_ADC.nii.gz")
    np.testing.assert_allclose(adc.affine, nib.load(dwi).affine)
    side = json.loads((tmp_path / "adc" / "sub-03_ADC.json").read_text())
    assert side["Units"] == "mm2/s" and len(side["Sources"]) == 3  # dwi, bval, bvec
    truth = nib.load(cohort_root / "derivatives/truth/sub-03/ses-baseline"
                     / "sub-03_ses-baseline_desc-truth_ADC.nii.gz").get_fdata()
    values = adc.get_fdata()
    csf = (truth > 2.9e-3) & np.isfinite(values)
    assert np.median(values[csf]) == pytest.approx(3.0e-3, rel=0.1)
    for name in ("S0map", "desc-rmse_ADC", "desc-r2_ADC", "desc-status_ADC"):
        assert (tmp_path / "adc" / f"sub-03_{name}.nii.gz").is_file()


@pytest.mark.parametrize(
    ("extra", "message"),
    [(["--b-range", "300,500"], "only 1 distinct b-value"),
     (["--b-range", "5"], "LOW,HIGH"),
     (["--method", "ivim"], "IVIM needs")],
)
def test_adcmap_bad_input_writes_nothing(cohort_root, tmp_path, capsys, extra, message):
    dwi = cohort_root / "sub-03" / "ses-baseline" / "dwi" / "sub-03_ses-baseline_dwi.nii.gz"
    assert main(["adcmap", str(dwi), "--out", str(tmp_path / "x"), *extra]) == 2
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_adcmap_wrong_bval_file(cohort_root, tmp_path, capsys):
    dwi = cohort_root / "sub-03" / "ses-baseline" / "dwi" / "sub-03_ses-baseline_dwi.nii.gz"
    bval = tmp_path / "short.bval"
    bval.write_text("0 400 800\n")
    assert main(["adcmap", str(dwi), "--bval", str(bval), "--out", str(tmp_path / "x")]) == 2
    assert "3 b-values for 7 diffusion volumes" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["short.bval"]


SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"
SUB = "sub-01/ses-baseline"
STEM = "sub-01_ses-baseline"


def measure_args(out, **extra):
    args = ["measure", "--t2w", str(SAMPLE / SUB / "anat" / f"{STEM}_T2w.nii.gz"),
            "--labels", str(SAMPLE / "derivatives/labels" / SUB / "anat" / f"{STEM}_dseg.nii.gz"),
            "--out", str(out)]
    for key, value in extra.items():
        args += [f"--{key.replace('_', '-')}", str(value)]
    return args


@pytest.mark.slow
def test_measure_on_the_sample_data_agrees_with_its_truth(tmp_path, capsys):
    # Issue #5: `discmri measure` works on the sample data and agrees with its truth.
    echoes = sorted(str(p) for p in (SAMPLE / SUB / "anat").glob(f"{STEM}_echo-*_MESE.nii.gz"))
    assert main(["t2map", *echoes, "--out", str(tmp_path / "t2")]) == 0
    dwi = SAMPLE / SUB / "dwi" / f"{STEM}_dwi.nii.gz"
    assert main(["adcmap", str(dwi), "--out", str(tmp_path / "adc")]) == 0
    out = tmp_path / "discs.tsv"
    args = measure_args(out, t2map=tmp_path / "t2_T2map.nii.gz",
                        adcmap=tmp_path / "adc_ADC.nii.gz") + ["--qc"]
    capsys.readouterr()
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "7 of 7 disc levels measured" in printed
    table = pd.read_csv(out, sep="\t", na_values="n/a", keep_default_na=False)
    truth = pd.read_csv(SAMPLE / "derivatives/truth" / SUB / f"{STEM}_discs.tsv", sep="\t")
    table, truth = table.set_index("level"), truth.set_index("level")
    assert table.index.tolist() == truth.index.tolist()
    for col in ("height_anterior_mm", "height_middle_mm", "height_posterior_mm"):
        assert (table[col] - truth[col]).abs().median() < 0.15  # 1 mm voxels, SNR 80
        assert (table[col] - truth[col]).abs().max() < 0.5
    for col in ("dhi_mean_height", "dhi_masuda", "dhi_farfan", "dhi_area"):
        assert ((table[col] / truth[col] - 1).abs()).median() < 0.02
    clear = truth.cleft_mm == 0
    assert ((table.np_t2_ms / truth.np_t2_ms - 1)[clear].abs() < 0.05).all()
    assert (table.status == "measured").all()
    sidecar = json.loads(out.with_suffix(".json").read_text())
    assert sidecar["height_middle_mm"]["Units"] == "mm"
    assert len(sidecar["Sources"]) == 4 and all(len(s["sha256"]) == 64
                                                for s in sidecar["Sources"])
    assert sidecar["Parameters"]["scheme"] == "native"
    pngs = sorted((tmp_path / "discs_qc").glob("*.png"))  # --qc: OUT_qc/ beside the table
    assert len(pngs) == 7 and all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in pngs)


def test_measure_refuses_to_overwrite_and_checks_the_grid(tmp_path, capsys):
    out = tmp_path / "discs.tsv"
    out.write_text("keep me")
    assert main(measure_args(out)) == 2
    assert "exists" in capsys.readouterr().err and out.read_text() == "keep me"
    other = tmp_path / "other.tsv"
    mese_labels = SAMPLE / "derivatives/truth" / SUB / f"{STEM}_space-MESE_dseg.nii.gz"
    args = measure_args(other)
    args[args.index("--labels") + 1] = str(mese_labels)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("discmri: error:") and "shape" in err and err.count("\n") == 1
    assert not other.exists() and not other.with_suffix(".json").exists()
    assert main(measure_args(tmp_path / "table.csv")) == 2
    assert "expected a .tsv" in capsys.readouterr().err
    assert main([*measure_args(other), "--dhi", "mean_height,nonsense"]) == 2
    assert "unknown DHI formula" in capsys.readouterr().err
    assert main([*measure_args(other), "--parasagittal-mm", "-4"]) == 2
    assert "parasagittal" in capsys.readouterr().err
    assert not other.exists()


def test_measure_reads_other_schemes_and_json_mappings(tmp_path, capsys):
    from discmri.spine import convert_labels

    labels_path = SAMPLE / "derivatives/labels" / SUB / "anat" / f"{STEM}_dseg.nii.gz"
    img = nib.load(labels_path)
    tss, _ = convert_labels(np.asarray(img.dataobj).astype(np.int16), "native", "totalspineseg")
    tss_path = tmp_path / "tss_dseg.nii.gz"
    nib.save(nib.Nifti1Image(tss, img.affine), tss_path)
    mapping = tmp_path / "scheme.json"
    lumbar = {f"L{i}": 40 + i for i in range(1, 6)}
    discs = {"T12-L1": 91, **{f"L{i}-L{i + 1}": 91 + i for i in range(1, 5)}, "L5-S1": 100}
    mapping.write_text(json.dumps({"vertebrae": {"T11": 31, "T12": 32, **lumbar, "S1": 50},
                                   "discs": {"T11-T12": 82, **discs}, "canal": [2]}))
    # scheme.tsv's sidecar would be scheme.json, the mapping itself: refused, nothing lost
    clash = measure_args(tmp_path / "scheme.tsv", scheme=mapping)
    clash[clash.index("--labels") + 1] = str(tss_path)
    assert main(clash) == 2 and "refusing to overwrite an input" in capsys.readouterr().err
    assert "discs" in json.loads(mapping.read_text())
    tables = {}
    for scheme in ("native", "totalspineseg", str(mapping)):
        out = tmp_path / f"out-{Path(scheme).stem}.tsv"
        args = measure_args(out, scheme=scheme)
        if scheme != "native":
            args[args.index("--labels") + 1] = str(tss_path)
        assert main(args) == 0, capsys.readouterr().err
        tables[scheme] = pd.read_csv(out, sep="\t", na_values="n/a", keep_default_na=False)
    printed = capsys.readouterr().out
    assert "labels: totalspineseg" in printed and "labels: scheme)" in printed
    cols = ["height_anterior_mm", "height_middle_mm", "height_posterior_mm", "dhi_mean_height"]
    for scheme in ("totalspineseg", str(mapping)):
        assert tables[scheme].level.tolist() == tables["native"].level.tolist()
        assert np.allclose(tables[scheme][cols], tables["native"][cols])


def test_edges_choices_are_the_library_modes(capsys):
    from discmri.cli._common import EDGE_MODES as CLI_MODES
    from discmri.morphometry import EDGE_MODES

    assert CLI_MODES == EDGE_MODES
    assert main(["measure", "--t2w", "x.nii.gz", "--labels", "y.nii.gz", "--out", "o.tsv",
                 "--edges", "halfway"]) == 2
    assert "invalid choice: 'halfway'" in capsys.readouterr().err


def _commands():
    import argparse

    from discmri.cli import _parser

    sub = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices


def test_every_command_has_a_description_and_an_example(capsys):
    """Issue 24: help that teaches."""
    commands = _commands()
    assert set(commands) == {"run", "report", "plan", "info", "sample-data", "t2map",
                             "adcmap", "measure", "grade", "segment"}
    for name in commands:
        assert main([name, "--help"]) == 0
        text = capsys.readouterr().out
        description = commands[name].description or ""
        assert len(description) > 60, name
        assert "examples:" in text and f"  discmri {name} " in text, (name, text[-300:])


def test_an_option_name_means_one_thing_across_commands():
    """Issue 24: --qc is always the flag 'also write QC figures beside the outputs',
    --thresholds always a grade thresholds file, --levels always which discs a report
    analyses (treated or all); a segmentation's disc range is --level-range."""
    seen: dict[str, list[tuple[str, object]]] = {}
    for name, parser in _commands().items():
        for action in parser._actions:
            for option in action.option_strings:
                seen.setdefault(option, []).append((name, action))
    assert {n for n, _ in seen["--qc"]} == {"run", "measure", "grade", "segment"}
    assert all(a.nargs == 0 and a.const is True for _, a in seen["--qc"])
    assert all("QC figure" in a.help for _, a in seen["--qc"])
    assert {n for n, _ in seen["--thresholds"]} == {"run", "grade"}
    assert all("grade thresholds" in a.help for _, a in seen["--thresholds"])
    assert "--grade-thresholds" not in seen
    assert all(tuple(a.choices) == ("treated", "all") for _, a in seen["--levels"])
    assert {n for n, _ in seen["--level-range"]} == {"segment"}
