"""``discmri report``: the trial report of a ``discmri run`` output folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from ._common import add_command, words


def _cmd_report(args: argparse.Namespace) -> int:
    from ..report.make import make_report

    written = make_report(Path(args.out), endpoints=args.endpoints, levels=args.levels,
                          baseline=args.baseline, control=args.control, holm=args.holm,
                          formats=args.format)
    print("wrote " + ", ".join(str(p) for p in written))
    return 0


def add_report_arguments(p: argparse.ArgumentParser) -> None:
    """The report's options (shared with ``discmri run``)."""
    p.add_argument("--endpoints", type=words, default=None,
                   help="columns reported, comma-separated [dhi_mean_height, height_mean_mm, "
                        "np_t2_ms, np_adc_mm2_s: those with values]")
    p.add_argument("--levels", choices=["treated", "all"], default="treated",
                   help="discs analysed [treated]")
    p.add_argument("--baseline", help="baseline session label [the visit at 0 months]")
    p.add_argument("--control", help="control arm [one named sham, placebo, control …]")
    p.add_argument("--holm", action="store_true",
                   help="Holm-adjusted p-values across endpoints for the primary comparisons")


def add_parser(sub) -> None:
    """Register ``report``."""
    p = add_command(
        sub, "report", help="trial report of a discmri run: tables, tests, figures",
        description="Write report.html (self-contained), stats.tsv and report.json next to "
                    "discs.tsv in OUT: endpoints per arm and visit, change from baseline, "
                    "between-arm comparisons (two-arm layout) or each patient's trajectory "
                    "(small studies), mixed models, grade shifts.",
        examples=["report results", "report results --levels all --endpoints "
                  "dhi_mean_height,np_t2_ms --holm", "report results --format html,pdf"])
    p.add_argument("out", help="output folder of discmri run (holds discs.tsv)")
    add_report_arguments(p)
    p.add_argument("--format", type=words, default=("html",),
                   help="html and/or pdf (pdf needs Chromium) [html]")
    p.set_defaults(func=_cmd_report)
