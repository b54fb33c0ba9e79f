"""Grading assist: Pfirrmann and modified Pfirrmann (Griffith) suggestions with evidence."""

from .assist import GRADE_UNITS, suggest_grades
from .criteria import THRESHOLDS, Suggestion, Thresholds, griffith, load_thresholds, pfirrmann
from .features import FEATURE_UNITS, disc_features

__all__ = ["FEATURE_UNITS", "GRADE_UNITS", "THRESHOLDS", "Suggestion", "Thresholds",
           "disc_features", "griffith", "load_thresholds", "pfirrmann", "suggest_grades"]
