"""Griffith and Pfirrmann decisions on hand-made evidence: the criteria, not the phantom."""

import json
import math

import numpy as np
import pytest

from discmri.errors import ParameterError
from discmri.grading import THRESHOLDS, Thresholds, griffith, load_thresholds, pfirrmann


def evidence(csf, fat, af, loss=0.0, cleft=0.0, inhomogeneity=0.1, se=0.01):
    return {"np_csf_ratio": csf, "np_csf_ratio_se": se, "np_fat_ratio": fat,
            "np_fat_ratio_se": se, "np_outer_af_ratio": af, "np_outer_af_ratio_se": se,
            "height_loss_pct": loss, "height_reference": "test", "cleft_depth": cleft,
            "np_inhomogeneity": inhomogeneity}


@pytest.mark.parametrize(("row", "grade", "pf"), [
    (evidence(1.0, 1.7, 7.0), "1", "I"),             # = CSF
    (evidence(0.7, 1.2, 5.0, cleft=0.5), "2", "II"),  # between fat and CSF, cleft
    (evidence(0.5, 0.8, 3.5), "3", "III"),           # below fat, bright against the annulus
    (evidence(0.25, 0.4, 2.0), "4", "III"),          # slightly above the annulus
    (evidence(0.15, 0.25, 1.1), "5", "IV"),          # = annulus, normal height
    (evidence(0.15, 0.25, 1.1, loss=20), "6", "IV"),
    (evidence(0.15, 0.25, 1.1, loss=45), "7", "IV"),
    (evidence(0.15, 0.25, 1.1, loss=70), "8", "V"),
    (evidence(0.5, 0.8, 3.5, loss=45), "3/7", "III"),  # collapsed, signal preserved
])
def test_each_grade_follows_its_criteria(row, grade, pf):
    g = griffith(row)
    assert g.grade == grade
    assert pfirrmann(row).grade == pf
    assert g.evidence and all(isinstance(e, str) for e in g.evidence)


@pytest.mark.parametrize(("row", "grade", "pf"), [
    # another contrast model: the outer annulus at 0.39 of CSF, not 0.13 (NP/AF 2.58 < 2.6)
    (evidence(1.0, 1.25, 2.58), "1", "I"),
    (evidence(1.0, 1.25, 2.58, cleft=0.5), "1", "II"),  # banded: Pfirrmann II, still = CSF
    # below CSF the annulus still decides as before
    (evidence(0.5, 0.8, 2.58), "4", "III"),
])
def test_a_nucleus_as_bright_as_csf_is_not_graded_by_the_annulus(row, grade, pf):
    g, p = griffith(row), pfirrmann(row)
    assert (g.grade, p.grade) == (grade, pf)
    if row["np_csf_ratio"] >= THRESHOLDS.csf_equal:
        assert any("as bright as CSF" in e for e in g.evidence + p.evidence)


def test_evidence_names_each_feature_threshold_and_side():
    g = griffith(evidence(0.5, 0.8, 3.5))
    text = "; ".join(g.evidence)
    assert "np_outer_af_ratio 3.50 ≥ 2.6" in text
    assert "np_fat_ratio 0.80 < 1: not above presacral fat" in text


def test_confidence_and_runner_up_come_from_the_nearest_threshold():
    near = griffith(evidence(0.5, 0.99, 3.5, se=0.02))  # half a standard error below fat
    far = griffith(evidence(0.5, 0.60, 3.5, se=0.02))
    assert near.grade == far.grade == "3"
    assert near.runner_up == "2" and 0.5 < near.confidence < 0.8
    assert far.confidence > 0.99
    hypo = griffith(evidence(0.15, 0.25, 1.1, loss=31))
    assert hypo.grade == "7" and hypo.runner_up == "6"


def test_without_a_fat_region_csf_stands_in_and_missing_evidence_gives_no_grade():
    row = evidence(0.7, math.nan, 5.0)
    g = griffith(row)
    assert g.grade == "2" and any("no fat region" in e for e in g.evidence)
    # neither CSF nor fat: the bright grades are not told apart, and the confidence says so
    blind = griffith(evidence(math.nan, math.nan, 5.0))
    assert blind.grade == "3" and blind.confidence == 0.5 and blind.runner_up == "2"
    none = griffith({"np_outer_af_ratio": math.nan})
    assert none.grade == "" and math.isnan(none.confidence)


def test_thresholds_file(tmp_path):
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"af_mild": 1.8, "loss_some": 15}), encoding="utf-8")
    t = load_thresholds(path)
    assert t.af_mild == 1.8 and t.loss_some == 15 and t.csf_equal == THRESHOLDS.csf_equal
    assert griffith(evidence(0.2, 0.3, 1.7), t).grade == "5"
    assert griffith(evidence(0.2, 0.3, 1.7)).grade == "4"
    assert isinstance(t, Thresholds)
    for bad, message in (({"nonsense": 1}, "unknown names"), ({"af_mild": "x"}, "numbers"),
                         ({"af_mild": 3.0}, "out of order"),
                         ({"normative_dhi": 0.0}, "normative_dhi")):
        path.write_text(json.dumps(bad), encoding="utf-8")
        with pytest.raises(ParameterError, match=message):
            load_thresholds(path)
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(ParameterError, match="JSON"):
        load_thresholds(path)


def test_the_normative_dhi_stands_in_only_without_a_bright_disc():
    from discmri.grading.features import _reference_dhi

    names = ["L3-L4", "L4-L5", "L5-S1"]
    dhi = np.array([0.30, 0.33, 0.20])
    # no bright disc: the site's normative DHI, and the reference says so
    ref, how = _reference_dhi(names, dhi, np.zeros(3, bool), normative=0.4)
    assert np.allclose(ref, 0.4) and all("normative DHI 0.4" in h for h in how)
    # two bright discs: the other discs' trend, whatever the normative value, read for the
    # disc above S1 at the level above it (0.33), not extrapolated past L4-L5 (0.36)
    ref, how = _reference_dhi(names, dhi, np.array([True, True, False]), normative=0.4)
    assert ref[2] == pytest.approx(0.33, rel=0.005) and how[2].startswith("trend of L3-L4, "
                                                                          "L4-L5")
    # one other bright disc: along the normal rise of about 10 % a level, not its flat value
    assert ref[0] == pytest.approx(0.33 / 1.105, rel=0.005)
    assert ref[1] == pytest.approx(0.30 * 1.105, rel=0.005)


def test_the_height_reference_is_not_pulled_by_a_degenerated_neighbour():
    from discmri.grading.features import LEVEL_SLOPE, _reference_dhi

    names = ["T12-L1", "L1-L2", "L2-L3", "L3-L4", "L4-L5", "L5-S1"]
    trend = 0.25 * np.exp(LEVEL_SLOPE * np.arange(6))
    dhi = trend.copy()
    dhi[5] = trend[4]  # a normal L5-S1: as tall as L4-L5
    dhi[2] *= 0.7  # L2-L3 has lost 30 % of its height, its nucleus still bright
    ref, _ = _reference_dhi(names, dhi, np.ones(6, bool))
    # Theil-Sen through the others: the trend itself at every normal disc (least squares
    # through them would put L3-L4 2 % low and L5-S1 2 % high), and L2-L3's loss is 30 %
    normal = [0, 1, 3, 4, 5]
    assert np.allclose(ref[normal], dhi[normal], rtol=0.005), ref / dhi
    assert 100 * (1 - dhi[2] / ref[2]) == pytest.approx(30.0, abs=1.0)


def test_the_height_reference_weighs_the_persons_own_rise_against_the_normal_one():
    from discmri.grading.features import LEVEL_SLOPE, _reference_dhi

    names = ["T12-L1", "L1-L2", "L2-L3", "L3-L4", "L4-L5"]
    flat = 0.30 * np.exp(0.03 * np.arange(5))  # a person whose discs rise 3 % a level
    ref, how = _reference_dhi(names, flat, np.ones(5, bool))
    # the line lies between the person's own (exact here) and the normal rise's: four
    # references over three or four levels set about half of the slope (measured: 3 % off
    # next to the middle, 7.5-8 % at the ends, where the normal rise alone is 16-19 % off)
    normal_only, _ = _reference_dhi(names, flat, np.ones(5, bool), slope_sd=0.0)
    own, _ = _reference_dhi(names, flat, np.ones(5, bool), slope_sd=np.inf)
    assert np.allclose(own, flat, rtol=1e-9)
    assert np.all(np.abs(ref / flat - 1) <= 0.5 * np.abs(normal_only / flat - 1) + 1e-12), (
        ref / flat)
    assert np.allclose(ref[1:4], flat[1:4], rtol=0.035) and "% own slope" in how[0]
    # two noisy references next to each other, far from the disc: the normal rise carries
    # the line, not the slope between them (here +30 % a level, which would put T12-L1 at
    # half its height)
    few = np.array([0.0, 0.0, 0.0, 0.30, 0.39])
    ref, _ = _reference_dhi(names, np.where(few > 0, few, 0.3), few > 0)
    expected = np.sqrt(0.30 * 0.39 * np.exp(-LEVEL_SLOPE)) * np.exp(-LEVEL_SLOPE * 3.5)
    assert ref[0] == pytest.approx(expected, rel=0.05)


def test_the_height_reference_follows_the_levels_not_the_rows():
    from discmri.grading.features import LEVEL_SLOPE, _reference_dhi

    # L2-L3 was not measured: L3-L4 is two levels below L1-L2, not one
    names = ["L1-L2", "L3-L4", "L4-L5"]
    dhi = 0.27 * np.exp(LEVEL_SLOPE * np.array([0, 2, 3]))
    ref, _ = _reference_dhi(names, dhi, np.ones(3, bool), positions=[0, 2, 3])
    assert np.allclose(ref, dhi, rtol=1e-9)
    ref, _ = _reference_dhi(names, dhi, np.ones(3, bool))  # read as rows: L1-L2 is 9 % high
    assert ref[0] / dhi[0] > 1.05


@pytest.mark.parametrize(("adc", "says"), [
    (2.06e-3, "does not tell normal from degenerated"),  # the degenerated mean: ratio 0.76
    (2.27e-3, "does not tell normal from degenerated"),  # the normal mean: ratio 0.9
    (1.7e-3, "does not tell normal from degenerated"),   # our phantom's grade 4: ratio 0.67
    (3.5e-3, "favours a normal disc"),                   # ratio 9.3
])
def test_the_adc_line_states_what_it_can_tell(adc, says):
    from discmri.grading.criteria import adc_likelihood_ratio, supporting_evidence

    (line,) = supporting_evidence({"np_adc_mm2_s": adc})
    ratio = adc_likelihood_ratio(adc)
    assert says in line and f"likelihood ratio normal : degenerated {ratio:.2f}" in line
    # the ratio of the two normal densities, computed here from their formula
    (mn, sn), (md, sd) = (2.27e-3, 0.58e-3), (2.06e-3, 0.47e-3)
    dens = [np.exp(-0.5 * ((adc - m) / s) ** 2) / s for m, s in ((mn, sn), (md, sd))]
    assert adc_likelihood_ratio(adc) == pytest.approx(dens[0] / dens[1], rel=1e-9)


def test_the_scales_agree_where_their_criteria_coincide():
    # Griffith 1 (uniformly hyperintense, = CSF) without a cleft is Pfirrmann I, however
    # spread the nucleus region's values (uniform bright nuclei read 0.23-0.50 in the sample)
    for spread in (0.1, 0.5):
        row = evidence(1.0, 1.7, 7.0, inhomogeneity=spread)
        assert (griffith(row).grade, pfirrmann(row).grade) == ("1", "I")
    # a cleft makes it Pfirrmann II (horizontal bands), and the evidence says so
    p = pfirrmann(evidence(1.0, 1.7, 7.0, cleft=0.5))
    assert p.grade == "II" and any("banded" in e for e in p.evidence)


def test_a_threshold_file_of_an_earlier_version_still_loads(tmp_path):
    path = tmp_path / "old.json"
    path.write_text(json.dumps({"af_mild": 1.6, "inhomogeneous": 0.35}), encoding="utf-8")
    with pytest.warns(UserWarning, match="'inhomogeneous' is no longer used"):
        t = load_thresholds(path)
    assert t.af_mild == 1.6
