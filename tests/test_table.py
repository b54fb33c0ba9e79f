"""The disc table's columns and change from baseline."""

import math

import numpy as np
import pandas as pd

from discmri.table import (
    CHANGE_SOURCES,
    MEASUREMENT_COLUMNS,
    add_change_from_baseline,
    column_sidecar,
    disc_columns,
)


def test_columns_are_defined_once_with_units():
    columns = disc_columns()
    assert list(columns)[:6] == ["participant_id", "session", "arm", "months", "treated",
                                 "level"]
    for c in CHANGE_SOURCES:
        assert columns[f"{c}_change"][0] == MEASUREMENT_COLUMNS[c][0]
        assert columns[f"{c}_change_pct"][0] == "%"
    fewer = disc_columns(["farfan"])
    assert "dhi_farfan_change" in fewer and "dhi_masuda" not in fewer
    assert "dhi_masuda_change_pct" not in fewer and "height_middle_mm_change" in fewer
    side = column_sidecar(["np_t2_ms", "unknown"])
    assert side == {"np_t2_ms": {"Units": "ms",
                                 "Description": MEASUREMENT_COLUMNS["np_t2_ms"][1]}}


def test_change_from_baseline_cases():
    table = pd.DataFrame({
        "participant_id": ["sub-1"] * 4 + ["sub-2"] * 2 + ["sub-3"],
        "months": [0, 0, 6, 6, 3, 9, np.nan],
        "level": ["L4-L5", "L5-S1", "L4-L5", "L5-S1", "L4-L5", "L4-L5", "L4-L5"],
        "height_middle_mm": [10.0, 8.0, 11.0, np.nan, 9.0, 8.1, 7.0],
        "np_t2_ms": [0.0, 50.0, 5.0, 55.0, 80.0, 88.0, 70.0],
    })
    out = add_change_from_baseline(table)
    assert out["height_middle_mm_change"].tolist()[:3] == [0.0, 0.0, 1.0]
    assert math.isnan(out["height_middle_mm_change"][3])  # not measured at follow-up
    assert out["height_middle_mm_change_pct"][2] == 10.0
    assert math.isnan(out["np_t2_ms_change_pct"][2])  # baseline 0: no percentage
    assert out["np_t2_ms_change"][2] == 5.0
    # sub-2's first visit is at 3 months: it is the baseline
    assert out["height_middle_mm_change"][5] == np.float64(8.1) - 9.0
    assert math.isnan(out["height_middle_mm_change"][6])  # months unknown: no baseline
    assert "dhi_masuda_change" not in out  # only the columns present
    pd.testing.assert_frame_equal(out[table.columns], table)  # the input is kept as it was


def test_a_missing_baseline_visit_does_not_make_the_next_one_the_baseline():
    table = pd.DataFrame({"participant_id": ["sub-1", "sub-1", "sub-2"], "months": [0, 6, 6],
                          "level": ["L4-L5"] * 3, "height_middle_mm": [10.0, 10.5, 9.0]})
    out = add_change_from_baseline(table, {"sub-1": 0.0, "sub-2": 0.0})
    assert out.height_middle_mm_change.tolist()[:2] == [0.0, 0.5]
    assert math.isnan(out.height_middle_mm_change[2])  # sub-2's baseline failed: no change
    assert add_change_from_baseline(table).height_middle_mm_change[2] == 0.0  # the default


def test_read_discs_takes_empty_number_cells_as_missing_and_keeps_text_columns(tmp_path):
    from discmri.table import read_discs

    path = tmp_path / "discs.tsv"
    path.write_text("participant_id\tsession\tlevel\theight_middle_mm\tnp_t2_ms\tnotes\tcomment\n"
                    "sub-01\tses-0\tL4-L5\t9.5\t\t\tfine\n"
                    "sub-01\tses-0\tL5-S1\tn/a\t101.5\tsome note\t\n", encoding="utf-8")
    table = read_discs(path)
    assert table.height_middle_mm.dtype == float and table.np_t2_ms.dtype == float
    assert math.isnan(table.height_middle_mm[1]) and math.isnan(table.np_t2_ms[0])
    assert table.np_t2_ms[1] == 101.5 and table.height_middle_mm[0] == 9.5
    assert table.notes.tolist() == ["", "some note"]
    assert table.comment[0] == "fine"  # a column of the user's, kept as text


def test_every_disc_column_has_one_declaration_that_its_filler_reads():
    """measure, the grade assist and the runner fill the columns the table declares."""
    from discmri.grading.assist import DISCS_COLUMNS, GRADE_UNITS
    from discmri.regions.checks import MAP_KINDS
    from discmri.table import TEXT_COLUMNS, columns_from

    columns = disc_columns()
    assert columns_from("t2") == {"np_t2_ms": "np", "af_anterior_t2_ms": "af_anterior",
                                  "af_posterior_t2_ms": "af_posterior"}
    assert columns_from("adc") == {"np_adc_mm2_s": "np", "af_adc_mm2_s": "af"}
    assert set(columns_from("t2")) | set(columns_from("adc")) <= set(columns)
    assert {v.source for v in columns.values()} == {"id", "measure", *MAP_KINDS, "grade",
                                                    "evidence", "run"}
    # every grade and evidence column is a column of the assist's own table
    assert set(DISCS_COLUMNS.values()) | set(columns_from("evidence")) <= set(GRADE_UNITS)
    assert {"status", "notes", "griffith", "csf_reference"} <= set(TEXT_COLUMNS)
    assert not {"np_t2_ms", "grade_confidence", "treated"} & set(TEXT_COLUMNS)
    assert columns["np_t2_ms"][0] == "ms" and columns["np_t2_ms"].sidecar()["Units"] == "ms"


def test_a_disc_table_of_an_earlier_discmri_is_read_in_todays_terms():
    """Its status was empty for a measured disc and the reason for one that was not."""
    from discmri.table import read_discs

    old = (b"participant_id\tlevel\theight_middle_mm\tstatus\tnotes\n"
           b"sub-01\tL4-L5\t9.5\t\tlow SNR\n"
           b"sub-01\tL5-S1\tn/a\tcut by the image edge\t\n"
           b"sub-01\tL3-L4\tn/a\ttoo small\tlabel noise\n")
    table = read_discs(old)
    assert table.status.tolist() == ["measured", "not measured", "not measured"]
    assert table.notes.tolist() == ["low SNR", "cut by the image edge",
                                    "too small; label noise"]
    new = old.replace(b"\t\tlow", b"\tmeasured\tlow")
    assert read_discs(new).status[0] == "measured"


def test_tables_are_written_with_n_a_for_every_missing_cell():
    import pandas as pd

    from discmri.io.tables import table_bytes
    from discmri.table import read_discs

    table = pd.DataFrame({"level": ["L4-L5", "L5-S1"], "height_middle_mm": [9.5, math.nan],
                          "status": ["measured", "not measured"], "notes": ["", "cut"],
                          "dhi_note": [None, "  "]})
    text = table_bytes(table).decode()
    assert text.splitlines()[1:] == ["L4-L5\t9.5\tmeasured\tn/a\tn/a",
                                     "L5-S1\tn/a\tnot measured\tcut\tn/a"]
    back = read_discs(text.encode())
    assert back.notes.tolist() == ["", "cut"] and back.dhi_note.tolist() == ["", ""]
    assert table.notes[0] == ""  # the caller's table is not changed
