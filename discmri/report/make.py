"""The report of a run's output folder, from its tables to its files: ``discmri report``.

:func:`make_report` reads ``discs.tsv`` and ``sessions.tsv``, builds the report
(:func:`~discmri.report.build_report`) and writes it (:func:`~discmri.report.write_report`),
with a PDF from headless Chromium when asked; a caller of :func:`discmri.run_dataset` gets
the same report as the command line.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from ..errors import DiscMRIError, ParameterError

__all__ = ["FORMATS", "make_report", "page_extras_missing"]

#: Page formats of :func:`make_report`.
FORMATS = ("html", "pdf")


def _read(reader, path: Path, what: str):
    """A table of a run as written, by ``reader`` (read_discs, read_sessions)."""
    try:
        return reader(path)
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


def make_report(out: str | os.PathLike[str], *, endpoints: Sequence[str] | None = None,
                levels: str = "treated", baseline: str | None = None,
                control: str | None = None, holm: bool = False,
                formats: Sequence[str] = ("html",)) -> list[Path]:
    """Build and write the report of the run in ``out``: what ``discmri report`` does.

    Parameters
    ----------
    out : path-like
        Output folder of :func:`discmri.run_dataset` (holds ``discs.tsv`` and
        ``sessions.tsv``).
    endpoints, levels, baseline, control, holm
        As :func:`~discmri.report.build_report` takes them.
    formats : sequence of {"html", "pdf"}
        Pages to write besides ``stats.tsv`` and ``report.json`` (none: those two only).
        ``pdf`` prints the page with headless Chromium, which is looked for first.

    Returns
    -------
    list of Path
        The files written.

    Raises
    ------
    ParameterError
        An unknown format, no Chromium for ``pdf``, no ``discs.tsv`` in ``out``, a table that
        cannot be read, or an option the table cannot satisfy.
    DiscMRIError
        The page is asked for and matplotlib or Jinja2 is missing (the ``report`` extra).
    """
    from ..table import read_discs, read_sessions
    from .build import build_report
    from .write import write_report

    out = Path(out)

    bad = [f for f in formats if f not in FORMATS]
    if bad:
        raise ParameterError(f"--format {', '.join(bad)}: expected html and/or pdf")
    browser = _browser() if "pdf" in formats else ""  # before anything is built or written
    discs_path = out / "discs.tsv"
    if not discs_path.is_file():
        raise ParameterError(f"{discs_path}: not found; expected the output folder of "
                             "discmri run")
    discs = _read(read_discs, discs_path, "disc table")
    sessions = _read(read_sessions, out / "sessions.tsv", "sessions table") if (
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
