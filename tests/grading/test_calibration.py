"""Calibration of the grade thresholds to simulated readers whose boundaries are known."""

import json
from dataclasses import asdict

import pytest

from discmri.errors import ParameterError
from discmri.grading import THRESHOLDS, agreement, calibrate, load_thresholds
from discmri.grading.calibration import MIN_PER_GRADE, reader_signal_height
from discmri.phantom import READER_THRESHOLDS, feature_cohort, reader_grades

RATIOS = ("csf_equal", "fat_above", "af_hyperintense", "af_mild")
LOSSES = ("loss_some", "loss_moderate", "loss_collapsed")


@pytest.fixture(scope="module")
def site():
    """40 participants, 200 discs, two readers who see every feature with 10 % (ratios) or
    5 points (height loss) of scatter: inter-reader κ about 0.7."""
    features = feature_cohort(40, seed=3)
    readers = reader_grades(features, 2, seed=103)
    return features, readers, calibrate(features, readers, n_boot=200)


def test_the_simulated_readers_agree_as_real_readers_do(site):
    _, readers, _ = site
    readers = readers.assign(value=readers.grade.astype(int))
    one, two = (readers[readers.reader == r] for r in ("reader1", "reader2"))
    a = agreement(one.value, two.value, one.participant_id, scale="griffith", n_boot=0)
    assert 0.6 <= a.kappa <= 0.8  # REFERENCE.md §3: inter-rater κ ≈ 0.6-0.8


def test_calibration_recovers_the_readers_thresholds(site):
    """Measured over 10 cohorts: ratios within 5 %, losses within 2.8 points. Every default
    lies outside these tolerances, so returning the defaults fails."""
    _, _, result = site
    t = result.thresholds
    for name in RATIOS:
        assert getattr(t, name) == pytest.approx(READER_THRESHOLDS[name], rel=0.07), name
        assert abs(getattr(THRESHOLDS, name) / READER_THRESHOLDS[name] - 1) > 0.07
    for name in LOSSES:
        assert getattr(t, name) == pytest.approx(READER_THRESHOLDS[name], abs=4.0), name
        assert abs(getattr(THRESHOLDS, name) - READER_THRESHOLDS[name]) > 4.0
    # fat's level on the CSF scale: fat_above × fat/CSF (0.6 in the cohort)
    assert t.csf_fat_equivalent == pytest.approx(READER_THRESHOLDS["fat_above"] * 0.6, rel=0.07)
    # not Griffith boundaries: kept
    assert (t.cleft, t.collapse_with_signal) == (THRESHOLDS.cleft,
                                                 THRESHOLDS.collapse_with_signal)
    assert all(f["converged"] and not f["kept"] for f in result.fits)
    assert all(f["beta"] > 0 for f in result.fits)


def test_cross_validated_agreement_beats_the_defaults_on_this_site(site):
    _, _, result = site
    cv, before = result.cross_validated, result.default
    assert cv.n_participants == before.n_participants == 40
    assert cv.n_discs == 200 and result.folds == 5
    assert cv.exact >= 0.7 and cv.exact > before.exact + 0.03
    assert cv.kappa_quadratic > 0.9
    low, high = cv.ci["kappa_quadratic"]
    assert low < cv.kappa_quadratic < high


def test_the_thresholds_file_round_trips_and_grades_with_the_site(site, tmp_path):
    _, _, result = site
    path = tmp_path / "site.json"
    path.write_text(json.dumps(result.to_json()), encoding="utf-8")
    assert load_thresholds(path) == result.thresholds
    record = json.loads(path.read_text(encoding="utf-8"))
    assert {f["group"] for f in record["Fits"]} == {"annulus", "csf", "fat", "height"}
    assert record["CrossValidated"]["n_discs"] == 200


def test_a_group_with_too_few_grades_keeps_its_thresholds_and_says_why():
    features = feature_cohort(30, seed=1)
    readers = reader_grades(features, 1, seed=2)
    # almost no grade 8: the height group cannot place loss_collapsed
    eights = readers.index[readers.grade == "8"]
    readers = readers.drop(eights[MIN_PER_GRADE - 1:])
    result = calibrate(features, readers, n_boot=0)
    height = next(f for f in result.fits if f["group"] == "height")
    assert "grade 8" in height["kept"] and not height["thresholds"]
    assert (result.thresholds.loss_some, result.thresholds.loss_collapsed) == (
        THRESHOLDS.loss_some, THRESHOLDS.loss_collapsed)
    annulus = next(f for f in result.fits if f["group"] == "annulus")
    assert annulus["thresholds"] and not annulus["kept"]


def test_readers_whose_grades_fall_with_a_feature_keep_it_and_say_why():
    features = feature_cohort(30, seed=4)
    readers = reader_grades(features, 1, seed=5)
    inverted = features.assign(np_outer_af_ratio=1.0 / features.np_outer_af_ratio)
    result = calibrate(inverted, readers, n_boot=0)
    annulus = next(f for f in result.fits if f["group"] == "annulus")
    assert "do not rise" in annulus["kept"]
    assert result.thresholds.af_mild == THRESHOLDS.af_mild


def test_reader_grades_split_into_signal_and_height():
    assert reader_signal_height("3") == (3, 5)
    assert reader_signal_height("7") == (5, 7)
    assert reader_signal_height("4/7") == (4, 7)
    with pytest.raises(ParameterError, match="4/7"):
        reader_signal_height("6/7")


def test_bad_calibration_input_is_refused_with_what_was_expected():
    features = feature_cohort(5, seed=0)
    readers = reader_grades(features, 1, seed=0)
    with pytest.raises(ParameterError, match="needs griffith reader grades"):
        calibrate(features, readers.iloc[:0])  # no reader grades at all
    with pytest.raises(ParameterError, match="np_csf_ratio"):
        calibrate(features.drop(columns="np_csf_ratio"), readers)
    with pytest.raises(ParameterError, match="no reader grade is of a measured disc"):
        calibrate(features, readers.assign(level="T1-T2"))
    with pytest.raises(ParameterError, match="folds"):
        calibrate(features, readers, folds=1)
    one = features[features.participant_id == "sub-01"]
    with pytest.raises(ParameterError, match="2 participants"):
        calibrate(one, readers)


def test_ids_with_or_without_bids_prefixes_match():
    features = feature_cohort(12, seed=6)
    readers = reader_grades(features, 1, seed=6)
    bare = readers.assign(participant_id=readers.participant_id.str.removeprefix("sub-"),
                          session=readers.session.str.removeprefix("ses-"))
    a = calibrate(features, readers, n_boot=0)
    b = calibrate(features, bare, n_boot=0)
    assert asdict(a.thresholds) == asdict(b.thresholds)
    assert a.n_reader_grades == b.n_reader_grades == len(readers) and b.n_unmatched == 0


def test_pfirrmann_readers_are_calibrated_on_their_own_criteria():
    """Readers grading Pfirrmann (I-V) with the site's boundaries. Measured: af_mild 1.90
    (reader 1.9), csf_equal 0.80 (0.78), csf_fat_equivalent 0.69 (fat's level 0.66),
    fat_above 1.18 (1.1; the III side holds grey discs too), loss_collapsed 52.4 (55);
    af_hyperintense is kept (Pfirrmann III mixes grey discs with bright ones below fat, so no
    group decides it). The defaults lie outside the tolerances of af_mild, csf_equal and
    loss_collapsed."""
    features = feature_cohort(40, seed=3)
    readers = reader_grades(features, 2, seed=103, scale="pfirrmann")
    assert set(readers.grade) == {"I", "II", "III", "IV", "V"}
    result = calibrate(features, readers, n_boot=0)  # the scale the readers used
    assert result.scale == "pfirrmann" and result.to_json()["Scale"] == "pfirrmann"
    t = result.thresholds
    for name, tol in (("af_mild", 0.07), ("csf_equal", 0.07)):
        assert getattr(t, name) == pytest.approx(READER_THRESHOLDS[name], rel=tol), name
        assert abs(getattr(THRESHOLDS, name) / READER_THRESHOLDS[name] - 1) > tol
    assert t.csf_fat_equivalent == pytest.approx(READER_THRESHOLDS["fat_above"] * 0.6, rel=0.1)
    assert t.loss_collapsed == pytest.approx(READER_THRESHOLDS["loss_collapsed"], abs=4.0)
    assert abs(THRESHOLDS.loss_collapsed - READER_THRESHOLDS["loss_collapsed"]) > 4.0
    assert t.af_hyperintense == THRESHOLDS.af_hyperintense
    assert t.fat_above == pytest.approx(READER_THRESHOLDS["fat_above"], rel=0.1)
    assert {f["group"] for f in result.fits} == {"annulus", "csf", "fat", "height"}
    # measured: cross-validated exact 0.87 against the defaults' 0.83
    assert result.cross_validated.exact >= result.default.exact
    assert result.cross_validated.n_discs == 200


def test_a_scale_the_readers_did_not_use_is_refused():
    features = feature_cohort(5, seed=3)
    readers = reader_grades(features, 1, seed=1, scale="pfirrmann")
    with pytest.raises(ParameterError, match="griffith reader grades"):
        calibrate(features, readers, scale="griffith")
    with pytest.raises(ParameterError, match="scale must be"):
        calibrate(features, readers, scale="ordinal")
    from discmri.grading.calibration import fit_thresholds

    with pytest.raises(ParameterError, match="scale must be"):
        fit_thresholds(features, scale="Pfirrmann")
