"""Sample size and power: the closed form against textbook values and against simulation."""

import math

import pytest

from discmri.errors import ParameterError
from discmri.planning import (
    VarianceComponents,
    detectable_effect,
    n_per_arm,
    n_per_arm_normal,
    power_two_arm,
    simulate_power,
)


def test_the_worked_example_of_the_issue():
    """Nucleus T2 with ICC 0.62 and between-person SD 22.5 ms: measurement SD
    22.5·√0.38 = 13.9 ms, MDC95 38 ms; a 10 ms difference needs ≈ 60 per arm, with a 5 ms
    measurement SD ≈ 8 (REFERENCE.md §9, the normal approximation)."""
    sd_m = 22.5 * math.sqrt(1 - 0.62)
    assert sd_m == pytest.approx(13.9, abs=0.05)
    assert 1.96 * math.sqrt(2) * sd_m == pytest.approx(38.4, abs=0.1)
    change = VarianceComponents(participant=22.5 * math.sqrt(0.62), residual=sd_m).change_sd()
    assert n_per_arm_normal(10, change) == pytest.approx(60.4, abs=0.1)
    # the t-test needs a little more than the normal approximation says
    assert n_per_arm(10, change) == 62
    assert n_per_arm_normal(10, 5 * math.sqrt(2)) == pytest.approx(7.85, abs=0.01)
    assert n_per_arm(10, 5 * math.sqrt(2)) == 9


def test_power_of_a_textbook_t_test():
    """Cohen's d = 0.5 with 64 per arm gives 80 % power at α 0.05 (Cohen 1988, Table 2.4.1)."""
    assert power_two_arm(64, 0.5, 1.0) == pytest.approx(0.80, abs=0.005)
    assert n_per_arm(0.5, 1.0) == 64
    assert power_two_arm(64, -0.5, 1.0) == power_two_arm(64, 0.5, 1.0)


def test_the_detectable_effect_inverts_the_power():
    for n in (5, 26, 120):
        d = detectable_effect(n, 7.0)
        assert power_two_arm(n, d, 7.0) == pytest.approx(0.8, abs=1e-6)
    assert detectable_effect(26, 7.0) > detectable_effect(60, 7.0)


def test_dropout_enrols_more():
    assert n_per_arm(10, 19.6, dropout=0.2) == math.ceil(n_per_arm(10, 19.6) / 0.8)


@pytest.mark.parametrize(("components", "effect", "n", "visits", "levels"), [
    (VarianceComponents(20, residual=13.9), 10.0, 62, (0, 6), 1),
    (VarianceComponents(20, residual=13.9), 5.0, 40, (0, 6), 1),
    (VarianceComponents(0.03, 0.03, 0.004, 0.01), 0.012, 20, (0, 3, 6), 2),
])
def test_simulated_power_agrees_with_the_closed_form(components, effect, n, visits, levels):
    """The issue's target: within ±5 points where a closed form exists (no dropout)."""
    sim = simulate_power(components, effect, n, visits=visits, levels=levels, n_sim=4000,
                         seed=1)
    closed = power_two_arm(n, effect, components.change_sd(levels))
    assert sim["closed_form"] == pytest.approx(closed)
    assert abs(sim["power"] - closed) < 0.05  # measured within 1.5 points
    assert sim["completers"] == n


def test_large_trials_are_simulated_in_blocks_with_the_same_answer():
    c = VarianceComponents(10, residual=8)
    sim = simulate_power(c, 1.2, 600, levels=2, n_sim=1500, seed=4)  # 4 blocks of trials
    assert abs(sim["power"] - power_two_arm(600, 1.2, c.change_sd(2))) < 0.05


def test_simulated_power_under_no_effect_is_the_level():
    sim = simulate_power(VarianceComponents(5, residual=3), 1e-12, 30, n_sim=4000, seed=3)
    assert sim["power"] == pytest.approx(0.05, abs=0.015)


def test_dropout_and_discs_enter_the_simulation():
    c = VarianceComponents(10, 5, 2, 6)
    full = simulate_power(c, 4.0, 30, visits=(0, 3, 6), levels=1, n_sim=3000, seed=2)
    lost = simulate_power(c, 4.0, 30, visits=(0, 3, 6), levels=1, dropout=0.2, n_sim=3000,
                          seed=2)
    assert lost["completers"] == pytest.approx(30 * 0.8 ** 2, rel=0.03)
    assert lost["power"] < full["power"] - 0.05
    more = simulate_power(c, 4.0, 30, visits=(0, 3, 6), levels=3, n_sim=3000, seed=2)
    assert more["power"] > full["power"] + 0.05  # averaging discs shrinks the residual part


def test_bad_values_are_refused():
    with pytest.raises(ParameterError, match="non-zero"):
        n_per_arm(0.0, 1.0)
    with pytest.raises(ParameterError, match="SD"):
        power_two_arm(10, 1.0, 0.0)
    with pytest.raises(ParameterError, match="dropout"):
        n_per_arm(1.0, 1.0, dropout=1.0)
    with pytest.raises(ParameterError, match="SDs"):
        VarianceComponents(-1.0)
    with pytest.raises(ParameterError, match="n ≥ 2"):
        simulate_power(VarianceComponents(1, residual=1), 1.0, 1)
