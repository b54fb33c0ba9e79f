"""Reader grades and agreement statistics (issue 12)."""

import numpy as np
import pandas as pd
import pytest

from discmri.errors import DatasetError, ParameterError
from discmri.grading import (
    agreement,
    agreement_table,
    consensus,
    grade_value,
    read_reader_grades,
)


def test_grade_values_of_both_scales():
    assert grade_value("4/7", "griffith") == 7  # the height grade of a collapsed disc
    assert grade_value("III", "pfirrmann") == grade_value(3, "pfirrmann") == 3
    for bad, scale in (("9", "griffith"), ("VI", "pfirrmann"), ("x", "griffith"),
                       ("3", "oswestry")):
        with pytest.raises(ParameterError, match="griffith|pfirrmann|outside"):
            grade_value(bad, scale)


def test_kappa_of_a_published_example_and_weights_reward_near_misses():
    # Cohen's kappa of the 2 x 2 example on its Wikipedia page: 20/5/10/15 -> 0.4
    a = np.array([1] * 25 + [2] * 25)
    b = np.array([1] * 20 + [2] * 5 + [1] * 10 + [2] * 15)
    got = agreement(a, b, np.arange(50) % 10, scale="pfirrmann")
    assert got.kappa == pytest.approx(0.4) and got.exact == pytest.approx(0.7)
    # ordinal grades off by one now and then: weighted kappas above the unweighted one
    rng = np.random.default_rng(0)
    truth = rng.integers(1, 9, 300)
    reader = np.clip(truth + rng.choice([-1, 0, 0, 0, 1], 300), 1, 8)
    got = agreement(truth, reader, np.arange(300) // 5, scale="griffith")
    assert got.within_one == 1.0 and got.kappa < got.kappa_linear < got.kappa_quadratic
    for name in ("kappa", "kappa_linear", "kappa_quadratic"):
        low, high = got.ci[name]
        assert low < getattr(got, name) < high
    assert got.confusion.to_numpy().sum() == 300 and got.confusion.shape == (8, 8)


def test_the_bootstrap_resamples_participants_not_discs():
    # Ten participants whose five discs a reader grades all right or all wrong (one grade
    # up): resampling participants sees the clustering, resampling discs would not.
    truth = np.tile([2, 3, 4, 5, 6], 10)
    reader = truth + np.repeat(np.arange(10) % 2, 5)
    who = np.repeat(np.arange(10), 5)
    clustered = agreement(truth, reader, who, scale="griffith", n_boot=500)
    independent = agreement(truth, reader, np.arange(50), scale="griffith", n_boot=500)
    def width(result):
        low, high = result.ci["kappa"]
        return high - low

    assert width(clustered) > 1.5 * width(independent)


def test_consensus_is_the_median_reader():
    grades = pd.DataFrame({"participant_id": ["sub-01"] * 5, "session": ["ses-1"] * 5,
                           "level": ["L4-L5"] * 3 + ["L5-S1"] * 2,
                           "scale": ["griffith"] * 5, "value": [3, 5, 4, 2, 3]})
    got = consensus(grades).set_index("level")
    assert got.loc["L4-L5", "value"] == 4 and got.loc["L5-S1", "value"] == 2
    assert got.loc["L4-L5", "readers"] == 3


def test_reader_files_are_checked_line_by_line(tmp_path):
    path = tmp_path / "grades.tsv"
    path.write_text("participant_id\tsession\tlevel\treader\tscale\tgrade\n"
                    "01\tbaseline\tL4-L5\tA\tgriffith\t4/7\n"
                    "01\tbaseline\tL4-L5\tA\tPfirrmann\tIV\n", encoding="utf-8")
    table = read_reader_grades(path)
    assert table.value.tolist() == [7, 4] and set(table.scale) == {"griffith", "pfirrmann"}
    path.write_text("participant_id\tsession\tlevel\treader\tscale\tgrade\n"
                    "01\tbaseline\tL4-L5\tA\tgriffith\t9\n", encoding="utf-8")
    with pytest.raises(DatasetError, match="line 2.*outside griffith"):
        read_reader_grades(path)
    path.write_text("participant_id\tlevel\tgrade\n01\tL4-L5\t3\n", encoding="utf-8")
    with pytest.raises(DatasetError, match="no column session, reader, scale"):
        read_reader_grades(path)


def test_agreement_table_pairs_the_assist_readers_and_consensus():
    rng = np.random.default_rng(3)
    rows, discs = [], []
    for p in range(12):
        for level, true in zip(("L3-L4", "L4-L5", "L5-S1"), rng.integers(1, 9, 3),
                               strict=True):
            discs.append({"participant_id": f"sub-{p:02d}", "session": "ses-0", "level": level,
                          "griffith": str(true), "pfirrmann": ""})
            for reader in ("A", "B", "C"):
                noisy = int(np.clip(true + rng.choice([-1, 0, 0, 1]), 1, 8))
                rows.append({"participant_id": f"{p:02d}", "session": "0", "level": level,
                             "reader": reader, "scale": "griffith", "grade": str(noisy),
                             "value": noisy})
    table, confusion = agreement_table(pd.DataFrame(discs), pd.DataFrame(rows), n_boot=200)
    pairs = list(zip(table["first"], table["second"], strict=True))
    assert pairs == [("discmri", "A"), ("discmri", "B"), ("discmri", "C"),
                     ("discmri", "consensus"), ("A", "B"), ("A", "C"), ("B", "C")]
    assert (table.n_discs == 36).all() and (table.n_participants == 12).all()
    # the consensus of three noisy readers is closer to the truth than any one of them
    assist = table.set_index("second").loc[["A", "B", "C", "consensus"]]
    assert assist.loc["consensus", "exact"] >= assist.loc[["A", "B", "C"], "exact"].max()
    assert len(confusion) == len(table)
