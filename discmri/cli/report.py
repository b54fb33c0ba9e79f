"""``discmri report``: the trial report of a ``discmri run`` output folder."""

from __future__ import annotations

import argparse
import shutil
import subprocess
from pathlib import Path

from ..errors import DiscMRIError, ParameterError
from ._common import add_command, words

FORMATS = ("html", "pdf")


def _read(path: Path, what: str):
    """A table of a run (discs.tsv, sessions.tsv) as written."""
    from ..table import read_discs, read_sessions

    try:
        return (read_sessions if path.name == "sessions.tsv" else read_discs)(path)
    except (OSError, ValueError) as exc:
        raise ParameterError(f"{path}: {exc}; expected the {what} of a discmri run") from exc


def _browser() -> str:
    """Headless Chromium for ``--format pdf`` (Debian package ``chromium``), or an error."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        raise ParameterError("--format pdf prints the page with Chromium, which is not "
                             "installed; install it (e.g. apt-get install chromium) or print "
                             "report.html from a browser")
    return browser


def _pdf(html: Path, pdf: Path, browser: str) -> None:
    """Print the page to PDF with headless Chromium (:func:`_browser`)."""
    subprocess.run([browser, "--headless", "--disable-gpu", "--no-sandbox",
                    f"--print-to-pdf={pdf}", "--no-pdf-header-footer", html.resolve().as_uri()],
                   check=True, capture_output=True, timeout=120)


def page_extras_missing() -> list[str]:
    """The packages of the ``report`` extra that are not installed."""
    import importlib.util

    return [name for name, module in (("matplotlib", "matplotlib"), ("Jinja2", "jinja2"))
            if importlib.util.find_spec(module) is None]


def make_report(out: Path, *, endpoints=None, levels: str = "treated",
                baseline: str | None = None, control: str | None = None, holm: bool = False,
                formats=("html",)) -> list[Path]:
    """Build and write the report of the run in ``out``; the files written.

    ``formats`` empty: ``stats.tsv`` and ``report.json`` only.
    """
    from ..report import build_report, write_report

    bad = [f for f in formats if f not in FORMATS]
    if bad:
        raise ParameterError(f"--format {', '.join(bad)}: expected html and/or pdf")
    browser = _browser() if "pdf" in formats else ""  # before anything is built or written
    discs_path = out / "discs.tsv"
    if not discs_path.is_file():
        raise ParameterError(f"{discs_path}: not found; expected the output folder of "
                             "discmri run")
    discs = _read(discs_path, "disc table")
    sessions = _read(out / "sessions.tsv", "sessions table") if (
        out / "sessions.tsv").is_file() else None
    html = "html" in formats or "pdf" in formats
    if html and page_extras_missing():
        raise DiscMRIError(f"the report page needs {' and '.join(page_extras_missing())}: "
                           'pip install "discmri[report]"')
    report = build_report(discs, sessions, endpoints=endpoints, levels=levels,
                          baseline=baseline, control=control, holm=holm, figures=html)
    written = write_report(report, out, source=str(discs_path), html=html)
    if "pdf" in formats:
        _pdf(out / "report.html", out / "report.pdf", browser)
        written.append(out / "report.pdf")
    return written


def _cmd_report(args: argparse.Namespace) -> int:
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
