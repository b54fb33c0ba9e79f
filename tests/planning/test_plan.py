"""plan_trial and ``discmri plan`` on simulated trials with retest sessions of known truth."""

import json

import pandas as pd
import pytest

from discmri.cli import main
from discmri.errors import ParameterError
from discmri.io.tables import table_bytes
from discmri.phantom import TrialEffect, trial_table
from discmri.phantom.trial import SPREADS, retest_truth
from discmri.planning import Effect, parse_effect, plan_trial


@pytest.fixture(scope="module")
def cohort():
    """40 participants, two arms, three visits, every participant scanned twice at baseline."""
    return trial_table({"MSC": TrialEffect(dhi_pct=5, t2_ms=10), "sham": TrialEffect()}, 20,
                       retest=True, seed=11)


def test_effects_are_read_in_the_columns_unit_or_in_percent():
    assert parse_effect("np_t2_ms=+10") == Effect("np_t2_ms", 10.0, False)
    assert parse_effect("dhi_mean_height=+5%") == Effect("dhi_mean_height", 5.0, True)
    assert parse_effect("dhi_mean_height=-2.5%").absolute(0.4) == pytest.approx(-0.01)
    for bad in ("np_t2_ms", "np_t2_ms=ten", "=5", "np_t2_ms=0"):
        with pytest.raises(ParameterError, match="effect"):
            parse_effect(bad)


def test_the_plan_recovers_the_cohorts_precision_and_sizes_the_trial(cohort):
    plan = plan_trial(cohort, [parse_effect("np_t2_ms=+10"),
                               parse_effect("dhi_mean_height=+5%")], control="sham",
                      n_sim=1000)
    t2 = plan.table[plan.table.endpoint == "np_t2_ms"].set_index("source")
    retest = t2[t2.index.str.startswith("test-retest")].iloc[0]
    truth = retest_truth("np_t2_ms")
    assert retest.sd_residual == pytest.approx(truth["within_sd"], rel=0.15)
    assert retest.mdc95 == pytest.approx(truth["mdc95"], rel=0.15)
    # the control arm's visits: disc × visit SD √(visit² + measurement²) of the simulation
    model = t2[t2.index.str.startswith("mixed model")].iloc[0]
    visit, measurement = SPREADS["np_t2_ms"][2:]
    assert model.sd_residual == pytest.approx((visit ** 2 + measurement ** 2) ** 0.5, rel=0.25)
    for row in plan.table.itertuples():
        assert row.n_per_arm >= 2
        assert abs(row.simulated_power - row.closed_form_power) < 0.05
        assert row.simulated_power >= 0.75  # the size found gives the power asked (± MC)
    dhi = plan.table[plan.table.endpoint == "dhi_mean_height"].iloc[0]
    assert dhi.effect_abs == pytest.approx(0.05 * dhi.baseline_mean)
    assert set(plan.pairs) == {"np_t2_ms", "dhi_mean_height"}


def test_a_given_size_gets_its_power_and_detectable_effect(cohort):
    plan = plan_trial(cohort, [parse_effect("np_t2_ms=+10")], power=None, n=26, n_sim=500)
    row = plan.table.iloc[0]
    assert row.n_per_arm == 26 and 0 < row.power <= 1 and row.detectable_effect > 0
    assert "n_per_arm_normal" not in plan.table


def test_without_retest_sessions_or_a_followed_control_the_plan_says_what_it_lacks():
    baseline = trial_table({"sham": TrialEffect()}, 10, seed=1)
    baseline = baseline[baseline.months == 0]
    plan = plan_trial(baseline, [parse_effect("np_t2_ms=+10")], n_sim=100)
    assert plan.table.source.iloc[0].startswith("none")
    assert any("no retest sessions" in n for n in plan.notes)
    assert any("fewer than 6" in n for n in plan.notes)


def test_options_that_cannot_work_are_refused(cohort):
    with pytest.raises(ParameterError, match="one of them"):
        plan_trial(cohort, [parse_effect("np_t2_ms=+10")], power=0.8, n=20)
    with pytest.raises(ParameterError, match="not a numeric column"):
        plan_trial(cohort, [parse_effect("bogus=+1")])
    with pytest.raises(ParameterError, match="no effect"):
        plan_trial(cohort, [])
    with pytest.raises(ParameterError, match="no column session"):
        plan_trial(cohort.drop(columns="session"), [parse_effect("np_t2_ms=+10")])


def test_discmri_plan_writes_the_tables_the_json_and_the_page(cohort, tmp_path, capsys):
    discs = tmp_path / "discs.tsv"
    discs.write_bytes(table_bytes(cohort))
    assert main(["plan", str(discs), "--effect", "dhi_mean_height=+5%", "--effect",
                 "np_t2_ms=+10", "--power", "0.8", "--simulations", "500"]) == 0
    printed = capsys.readouterr().out
    assert "np_t2_ms (np_t2_ms=+10):" in printed and "per arm" in printed
    plan = pd.read_csv(tmp_path / "plan.tsv", sep="\t")
    assert len(plan) == 4 and (plan.n_per_arm >= 2).all()
    rep = pd.read_csv(tmp_path / "repeatability.tsv", sep="\t")
    assert {"icc21", "icc31", "mdc95", "loa_low"} <= set(rep.columns)
    record = json.loads((tmp_path / "plan.json").read_text(encoding="utf-8"))
    assert record["Settings"]["power"] == 0.8 and len(record["Plan"]) == 4
    page = (tmp_path / "plan.html").read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") == 2  # a Bland-Altman plot per endpoint
    assert "MDC95" in page or "mdc95" in page


@pytest.mark.parametrize(("args", "message"), [
    (["--effect", "np_t2_ms"], "COLUMN=NUMBER"),
    (["--effect", "np_t2_ms=+10", "--power", "0.8", "--n", "20"], "give one"),
    (["--effect", "bogus=+10"], "not a numeric column"),
    (["--effect", "np_t2_ms=+10", "--control", "placebo"], "not among the arms"),
    ([], "--effect"),
])
def test_bad_plan_options_exit_2_and_write_nothing(cohort, tmp_path, capsys, args, message):
    discs = tmp_path / "discs.tsv"
    discs.write_bytes(table_bytes(cohort))
    assert main(["plan", str(discs), "--simulations", "50", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["discs.tsv"]


def test_a_control_arm_adds_its_visit_to_visit_repeatability(cohort):
    plan = plan_trial(cohort, [parse_effect("np_t2_ms=+10")], control="sham", n_sim=100)
    sources = set(plan.repeatability.source)
    assert sources == {"test-retest sessions",
                       "control arm sham, baseline to first follow-up"}
    between = plan.repeatability[plan.repeatability.source.str.startswith("control")]
    assert set(between.n_pairs) == {20, 100}  # 20 sham participants × 5 levels, pooled 100
    # the plan's measurement-only row still comes from the retest pairs
    assert plan.table.source.str.startswith("test-retest").sum() == 1


def test_arms_are_not_pooled_for_the_spread_between_visits(cohort):
    """A treatment's effect would pass for visit-to-visit spread."""
    from discmri.planning import components_from_trial

    components, notes = components_from_trial(cohort, "np_t2_ms")
    assert components is None and "name the control arm" in notes[0]
    sham, _ = components_from_trial(cohort, "np_t2_ms", "sham")
    assert sham is not None and sham.source.startswith("mixed model of the control arm sham")
