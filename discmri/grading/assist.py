"""Grade suggestions for every disc of a measured T2w image: the assist's table."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..table import GRADE_COLUMNS, columns_from
from .criteria import THRESHOLDS, Thresholds, griffith, pfirrmann
from .features import FEATURE_UNITS, disc_features

if TYPE_CHECKING:
    import pandas as pd

    from ..measure import Measurement
    from ..volume import Volume

__all__ = ["DISCS_COLUMNS", "GRADE_UNITS", "suggest_grades"]

#: The columns of ``discs.tsv`` (:data:`discmri.table.GRADE_COLUMNS`) and the assist's
#: table column each comes from (declared there).
DISCS_COLUMNS = columns_from("grade")

#: Unit and description of the grade columns.
GRADE_UNITS: dict[str, tuple[str, str]] = {
    **{ours: GRADE_COLUMNS[theirs] for theirs, ours in DISCS_COLUMNS.items()},
    **FEATURE_UNITS,
}


def suggest_grades(measurement: Measurement, t2w: Volume, *,
                   thresholds: Thresholds = THRESHOLDS) -> pd.DataFrame:
    """Griffith and Pfirrmann suggestions with their evidence, one row per measured disc.

    Parameters
    ----------
    measurement : Measurement
        :func:`discmri.measure` of ``t2w``.
    t2w : Volume
        T2-weighted image.
    thresholds : Thresholds
        Grade boundaries (:data:`~discmri.grading.criteria.THRESHOLDS`, or a site's from
        :func:`~discmri.grading.criteria.load_thresholds`).

    Returns
    -------
    pandas.DataFrame
        Columns ``level`` and :data:`GRADE_UNITS`. The suggestions assist a reader; they do
        not replace one.
    """
    import pandas as pd

    # discs the thresholds call hypointense are not height references
    features = disc_features(measurement, t2w, hypointense_ratio=thresholds.af_mild,
                             normative_dhi=thresholds.normative_dhi)
    rows = []
    for row in features.to_dict("records"):
        g, p = griffith(row, thresholds), pfirrmann(row, thresholds)
        rows.append({"level": row["level"], "griffith": g.grade, "pfirrmann": p.grade,
                     "confidence": g.confidence, "runner_up": g.runner_up,
                     "evidence": "; ".join(g.evidence), **{k: row[k] for k in FEATURE_UNITS}})
    return pd.DataFrame(rows).reindex(columns=["level", *GRADE_UNITS])
