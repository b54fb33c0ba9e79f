"""Grading assist: Pfirrmann and modified Pfirrmann (Griffith) suggestions with evidence."""

from .agreement import (
    Agreement,
    agreement,
    agreement_table,
    consensus,
    grade_value,
    read_reader_grades,
)
from .assist import GRADE_UNITS, suggest_grades
from .calibration import Calibration, calibrate
from .criteria import THRESHOLDS, Suggestion, Thresholds, griffith, load_thresholds, pfirrmann
from .features import FEATURE_UNITS, disc_features

__all__ = ["FEATURE_UNITS", "GRADE_UNITS", "THRESHOLDS", "Agreement", "Calibration",
           "Suggestion", "Thresholds", "agreement", "agreement_table", "calibrate",
           "consensus", "disc_features",
           "grade_value", "griffith", "load_thresholds", "pfirrmann", "read_reader_grades",
           "suggest_grades"]
