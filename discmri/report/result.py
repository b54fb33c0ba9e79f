"""What a trial report holds (:class:`Report`) and the constants that shape it.

Its own module, so that the parts that fill it (:mod:`.build`), draw it (:mod:`.figures`) and
write it (:mod:`.write`) each import it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DEFAULT_ENDPOINTS", "SMALL_STUDY", "Report"]

#: Endpoints reported by default (those the trials used), when the table has values for them.
DEFAULT_ENDPOINTS = ("dhi_mean_height", "height_mean_mm", "np_t2_ms", "np_adc_mm2_s")

#: Fewer participants than this in an arm: the small-study layout (per-patient trajectories,
#: exact within-arm tests, no between-arm test).
SMALL_STUDY = 10


@dataclass
class Report:
    """A trial report: every table and figure of the page, and how they were made.

    Attributes
    ----------
    layout : {"two-arm", "small"}
        ``"two-arm"``: two arms of at least :data:`SMALL_STUDY` participants (between-arm
        tests and mixed models with arm × visit); ``"small"``: one arm or fewer participants
        (per-patient trajectories and exact within-arm tests).
    arms : list of str
    control, active : str or None
        The control and active arm of a two-arm trial.
    endpoints : list of str
    tables : dict of str to pandas.DataFrame
        ``cohort``, ``treated_levels``, ``summary``, ``within``, ``between``, ``mixed``,
        ``grade_distribution``, ``grade_counts``, ``grade_tests``, ``treated_vs_untreated``,
        ``trajectories``, ``sessions``, ``precision`` (repeatability from retest sessions and
        the difference this study could detect; empty without them).
    models : dict of str to dict
        Per endpoint: the mixed model's formula, convergence and warnings.
    figures : dict of str to bytes
        PNG figures by name.
    notes : list of str
        What the reader of the page needs to know (layout, exploratory tests, skipped
        endpoints).
    settings : dict
        Levels, baseline, Holm correction; ``precision``: what the precision table is, or
        what the dataset lacks for one.
    """

    layout: str
    arms: list[str]
    control: str | None
    active: str | None
    endpoints: list[str]
    tables: dict[str, pd.DataFrame]
    models: dict[str, dict[str, Any]]
    figures: dict[str, bytes] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
