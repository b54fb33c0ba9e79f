import hashlib
import json

import numpy as np
import pytest

import discmri
from discmri.errors import DiscMRIError
from discmri.io import find_sessions, read_tsv
from discmri.phantom import cohort as cohort_module
from discmri.phantom.cohort import make_cohort
from discmri.phantom.session import Protocol

TINY = Protocol(slab_mm=8.0, t2w_voxel_mm=(4.0, 3.0, 3.0), mese_voxel_mm=(4.0, 4.0, 4.0),
                echo_times_ms=(10.0, 30.0, 60.0), dwi_voxel_mm=(4.0, 5.0, 5.0), scale=400.0)


def digest(root):
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def test_layout_and_tables(cohort_root):
    desc = json.loads((cohort_root / "dataset_description.json").read_text())
    assert desc["GeneratedBy"][0]["Version"] == discmri.__version__
    assert desc["GeneratedBy"][0]["Parameters"]["seed"] == 3
    rows = read_tsv(cohort_root / "participants.tsv")
    assert [r["group"] for r in rows] == ["MSC", "sham", "MSC"]
    assert read_tsv(cohort_root / "sub-01" / "sub-01_sessions.tsv") == [
        {"session_id": "ses-baseline", "months": "0"}, {"session_id": "ses-month6", "months": "6"}]
    truth = read_tsv(cohort_root / "derivatives" / "truth" / "discs.tsv")
    assert len(truth) == 3 * 2 * 7
    lut = read_tsv(cohort_root / "derivatives" / "labels" / "dseg.tsv")
    assert {"index": "223", "name": "L4-L5 nucleus"} in lut
    for f in ("_desc-truth_T2map.nii.gz", "_desc-truth_ADC.nii.gz", "_space-MESE_dseg.nii.gz",
              "_discs.tsv", "_phantom.json"):
        assert (cohort_root / "derivatives/truth/sub-02/ses-month6" / f"sub-02_ses-month6{f}"
                ).is_file()


def test_treatment_effect_is_in_the_truth(cohort_root):
    import pandas as pd

    t = pd.read_csv(cohort_root / "derivatives/truth/discs.tsv", sep="\t")
    treated = t[t.treated]
    wide = treated.pivot_table(index=["participant", "level", "arm"], columns="months",
                               values="height_mean_mm").reset_index()
    change = wide[6.0] - wide[0.0]
    assert (change[wide.arm == "MSC"] > 0.2).all()  # MSC: +0.6 mm ± 30 %
    assert (change[wide.arm == "sham"].abs() < 0.05).all()
    untreated = t[~t.treated].pivot_table(index=["participant", "level"], columns="months",
                                          values="height_mean_mm")
    assert (untreated[6.0] - untreated[0.0]).abs().max() < 0.05


def test_same_seed_same_bytes_and_larger_cohorts_extend(tmp_path):
    a = make_cohort(tmp_path / "a", participants=1, seed=11, visits_months=(0, 3),
                    protocol=TINY, dropout=0.0)
    b = make_cohort(tmp_path / "b", participants=1, seed=11, visits_months=(0, 3),
                    protocol=TINY, dropout=0.0)
    c = make_cohort(tmp_path / "c", participants=2, seed=11, visits_months=(0, 3),
                    protocol=TINY, dropout=0.0)
    assert digest(a.root) == digest(b.root)
    da, dc = digest(a.root), digest(c.root)
    sub01 = {k: v for k, v in da.items() if "sub-01" in k}
    assert len(sub01) > 20 and all(dc[k] == v for k, v in sub01.items())
    d = make_cohort(tmp_path / "d", participants=1, seed=12, visits_months=(0, 3),
                    protocol=TINY, dropout=0.0)
    assert digest(d.root) != da


def test_dropout_is_monotone(tmp_path):
    coh = make_cohort(tmp_path / "ds", participants=4, seed=5, visits_months=(0, 3, 6),
                      dropout=0.5, protocol=TINY)  # seen: 2, 2, 1 and 3 visits
    for _, group in coh.truth.groupby("participant"):
        months = sorted(group.months.unique())
        assert months == [0.0, 3.0, 6.0][: len(months)]
    assert coh.truth.groupby("participant").months.nunique().min() < 3
    assert len(find_sessions(coh.root)) == coh.truth[["participant", "session"]].drop_duplicates(
    ).shape[0]


def test_refuses_a_non_empty_target(tmp_path):
    target = tmp_path / "ds"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    with pytest.raises(discmri.errors.OutputExistsError, match="not an empty folder"):
        make_cohort(target, participants=1, protocol=TINY)
    assert [p.name for p in target.iterdir()] == ["keep.txt"]


def test_failure_leaves_nothing(tmp_path, monkeypatch):
    calls = []
    real = cohort_module.simulate_session

    def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("simulated crash")
        return real(*args, **kwargs)

    monkeypatch.setattr(cohort_module, "simulate_session", flaky)
    with pytest.raises(RuntimeError, match="simulated crash"):
        make_cohort(tmp_path / "ds", participants=1, visits_months=(0, 3), protocol=TINY)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"participants": 0}, "participants"), ({"visits_months": (3, 6)}, "start at 0"),
     ({"dropout": 1.0}, "dropout"), ({"arms": ()}, "arm"), ({"unlabelled": -1}, "unlabelled"),
     ({"unlabelled": 1.5}, "unlabelled"), ({"retest": -1}, "retest"),
     ({"retest": True}, "retest")],
)
def test_bad_parameters(tmp_path, kwargs, message):
    with pytest.raises(DiscMRIError, match=message):
        make_cohort(tmp_path / "ds", protocol=TINY, **kwargs)
    assert not (tmp_path / "ds").exists()


def test_mese_files_reload_with_their_echo_times(cohort_root):
    from discmri.io import load_mese

    s = find_sessions(cohort_root)[0]
    vol = load_mese(s.mese)
    assert vol.meta["echo_times_ms"] == pytest.approx(s.echo_times_ms)
    assert np.all(vol.data[..., 0] >= vol.data[..., -1] - 200)  # decays (up to noise)


def test_unlabelled_sessions_keep_their_labels_in_the_truth(tmp_path):
    coh = make_cohort(tmp_path / "ds", participants=2, seed=4, visits_months=(0, 3),
                      protocol=TINY, dropout=0.0, unlabelled=1)
    sessions = find_sessions(coh.root)
    lacking = [(s.participant, s.session) for s in sessions if "labels" in s.missing]
    assert lacking == [("02", "month3")]  # the last session written
    assert all(s.labels is not None for s in sessions if s.session != "month3"
               or s.participant != "02")
    truth = coh.root / "derivatives/truth/sub-02/ses-month3/sub-02_ses-month3_dseg.nii.gz"
    assert truth.is_file() and truth.with_name(truth.name.replace(".nii.gz", ".json")).is_file()
    assert not (coh.root / "derivatives/labels/sub-02/ses-month3").exists()
    assert "Without a label map" in (coh.root / "README").read_text()
    assert "sub-02_ses-month3" in (coh.root / "README").read_text()
