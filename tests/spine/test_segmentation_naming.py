"""Naming the levels from the end of the thecal sac (discmri.spine.segmentation.naming)."""

from __future__ import annotations

from discmri.spine.segmentation.column import ColumnSegment
from discmri.spine.segmentation.naming import name_levels


def _column() -> list[ColumnSegment]:
    """Sacrum 0-60 mm, then five lumbar discs (10 mm, centres 65, 105, 145, 185, 225)
    between bodies of 30 mm, caudal first."""
    segs = [ColumnSegment("body", 0.0, 60.0, 1.0)]
    for lo in range(60, 260, 40):
        segs.append(ColumnSegment("disc", lo, lo + 10.0, 1.4, contrast=0.5))
        segs.append(ColumnSegment("body", lo + 10.0, lo + 40.0, 1.0))
    return segs


def _l5s1(names) -> float:
    discs = [s for s in _column() if s.kind == "disc"]
    return discs[names.discs.index("L5-S1")].centre


def test_the_sac_end_names_the_disc_above_it_l5s1():
    names = name_levels(_column(), sac_end=40.0)  # S1-S2: L5-S1 25 mm above
    assert names.method == "sacrum" and names.confidence == 0.9
    assert _l5s1(names) == 65.0 and names.discs[-1] == "L1-L2"
    assert names.sac_end == 40.0


def test_a_sac_dimmed_above_its_end_is_counted_from_the_lower_end():
    # the longest run of CSF ends at 125 mm (a stenosis at L3-L4 dims the sac below it):
    # counted from there, L5-S1 would be two levels up, with full discs below the "end"
    alone = name_levels(_column(), sac_end=125.0)
    assert _l5s1(alone) == 145.0 and alone.confidence == 0.5
    assert "where the sacrum should be" in alone.why
    # the run of CSF below, ending at 40 mm, leaves no disc below it: taken, and said
    names = name_levels(_column(), sac_end=125.0, lower_ends=(40.0,))
    assert _l5s1(names) == 65.0 and names.confidence == 0.7
    assert names.sac_end == 40.0
    assert "dims 85 mm higher" in names.why
    # a lower end too close under its lowest disc (10 mm, under the 15 mm of S1) is not
    # taken: the contradicted count stays, flagged
    kept = name_levels(_column(), sac_end=125.0, lower_ends=(55.0,))
    assert _l5s1(kept) == 145.0 and kept.confidence == 0.5 and kept.sac_end == 125.0
