"""Trial report: imaging endpoints per arm and visit, change from baseline, tests, figures."""

from .build import (
    DEFAULT_ENDPOINTS,
    SMALL_STUDY,
    Report,
    build_report,
    check_report_options,
)
from .make import make_report
from .write import report_files, stats_table, write_report

__all__ = ["DEFAULT_ENDPOINTS", "SMALL_STUDY", "Report", "build_report",
           "check_report_options", "make_report", "report_files", "stats_table",
           "write_report"]
