import numpy as np
import pytest

from discmri.morphometry import dhi_farfan, dhi_masuda, dhi_mean_height
from discmri.phantom.analytic import SpineGeometry
from discmri.phantom.anatomy import DiscState, default_anatomy
from discmri.phantom.tissue import disc_tissue
from discmri.phantom.truth import L5S1_NOTE, truth_table


@pytest.fixture(scope="module")
def table():
    states = {"L1-L2": DiscState(2.2), "L3-L4": DiscState(5.8), "L4-L5": DiscState(6.9),
              "L5-S1": DiscState(7.7)}
    return truth_table(SpineGeometry(default_anatomy().with_states(states))).set_index("level")


def test_levels_and_l5s1_handling(table):
    assert list(table.index) == ["T11-T12", "T12-L1", "L1-L2", "L2-L3", "L3-L4", "L4-L5",
                                 "L5-S1"]
    assert table.loc["L5-S1", "dhi_note"] == L5S1_NOTE
    assert (table.drop(index="L5-S1")["dhi_note"] == "").all()
    row = table.loc["L5-S1"]
    assert row.dhi_mean_height == pytest.approx(row.height_mean_mm /
                                                row.vb_cranial_height_middle_mm)


def test_dhi_columns_follow_their_formulas(table):
    r = table.loc["L3-L4"]
    h = (r.height_anterior_mm, r.height_middle_mm, r.height_posterior_mm)
    up = (r.vb_cranial_height_anterior_mm, r.vb_cranial_height_middle_mm,
          r.vb_cranial_height_posterior_mm)
    low = (r.vb_caudal_height_anterior_mm, r.vb_caudal_height_middle_mm,
           r.vb_caudal_height_posterior_mm)
    assert r.dhi_mean_height == pytest.approx(float(dhi_mean_height(*h, up[1], low[1])))
    assert r.dhi_masuda == pytest.approx(float(dhi_masuda(h, up, low)))
    assert r.dhi_farfan == pytest.approx(float(dhi_farfan(h[0], h[2], r.ap_depth_mm)))
    assert r.height_mean_mm == pytest.approx(np.mean(h))
    assert 0.25 < r.dhi_mean_height < 0.6  # typical MRI DHI


def test_grades_agree_with_height_loss_bands(table):
    """Griffith: grades up to 5 normal height, 6 < 30 %, 7 30-60 %, 8 > 60 % loss."""
    bands = {6: (0.0, 0.30), 7: (0.30, 0.60), 8: (0.60, 1.0)}
    for _, r in table.iterrows():
        lo, hi = bands.get(r.grade_griffith, (-1e-12, 1e-12))
        assert lo <= r.height_loss_fraction <= hi
        assert r.height_loss_fraction == pytest.approx(disc_tissue(r.severity).height_loss)


def test_values_are_in_typical_ranges(table):
    assert table.height_mean_mm.between(2.5, 14).all()
    assert table.vb_cranial_height_middle_mm.between(20, 32).all()
    assert table.loc["L5-S1", "height_anterior_mm"] > table.loc["L5-S1", "height_posterior_mm"]
    assert table.loc["L1-L2", "cleft_mm"] > 0
    assert table.loc["L1-L2", "np_t2_mean_ms"] < table.loc["L1-L2", "np_t2_ms"]
    assert table.grade_pfirrmann.between(1, 5).all()


def test_height_gain_adds_to_every_height():
    base = truth_table(SpineGeometry(default_anatomy())).set_index("level")
    grown = truth_table(SpineGeometry(default_anatomy().with_states(
        {"L4-L5": DiscState(1.0, 0.5)}))).set_index("level")
    for col in ("height_anterior_mm", "height_middle_mm", "height_posterior_mm"):
        assert grown.loc["L4-L5", col] - base.loc["L4-L5", col] == pytest.approx(0.5)
    assert grown.loc["L4-L5", "dhi_mean_height"] > base.loc["L4-L5", "dhi_mean_height"]
    assert grown.loc["L3-L4", "height_mean_mm"] == pytest.approx(base.loc["L3-L4",
                                                                          "height_mean_mm"])


def test_the_truth_computes_itself_and_agrees_with_the_measurement_formulas():
    """Issue 11: the phantom's truth is its own: it imports no measurement code (morphometry,
    regions, measure, grading), and its own statement of the DHI formulas and height positions
    agrees with the measurement's on the same numbers."""
    import ast
    from pathlib import Path

    import discmri.phantom as phantom
    from discmri.morphometry import HEIGHT_POSITIONS, dhi
    from discmri.phantom import truth as truth_module

    for path in Path(phantom.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                parts = node.module.split(".")
                if node.level >= 2 or parts[0] == "discmri":  # outside the phantom
                    top = parts[0] if node.level else parts[1]
                    assert top not in {"morphometry", "regions", "measure", "grading"}, path.name
    assert phantom.HEIGHT_POSITIONS == HEIGHT_POSITIONS
    cranial, caudal = ((27.0, 25.5, 26.5), 1040.0, 36.0), ((28.0, 26.0, 27.5), 1100.0, 38.0)
    for low in (caudal, None):
        ours = truth_module._dhi((12.0, 11.0, 8.5), 37.0, 350.0, cranial, low)
        for formula, column in dhi.DHI_COLUMNS.items():
            theirs = dhi.disc_height_index(formula, (12.0, 11.0, 8.5), 37.0, 350.0, cranial, low)
            assert ours[column] == pytest.approx(theirs, rel=1e-12), column
    assert truth_module.L5S1_NOTE == dhi.L5S1_NOTE
