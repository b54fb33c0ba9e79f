"""Write a trial report: ``report.html`` (self-contained), ``stats.tsv`` and ``report.json``."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._version import __version__
from ..errors import DiscMRIError
from ..io.tables import json_records, json_value
from ..provenance import software_versions
from ..table import disc_columns
from . import stats

if TYPE_CHECKING:
    import pandas as pd

    from .result import Report

__all__ = ["methods", "qc_figures", "render_html", "report_files", "stats_table",
           "write_report"]

#: Columns of ``stats.tsv``: every test and estimate of the report, one per row.
STATS_COLUMNS = ("section", "endpoint", "arm", "months", "comparison", "n_participants",
                 "n_discs", "estimate", "ci_low", "ci_high", "test", "p_value", "p_holm")

#: The style of discmri's pages (the trial report, the trial plan).
PAGE_STYLE = """
body { font-family: sans-serif; margin: 2em auto; max-width: 70em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.85em; }
th, td { border: 1px solid #ccc; padding: 0.2em 0.5em; text-align: right; }
th { background: #f0f0f0; } td:first-child, th:first-child { text-align: left; }
.note { background: #fffbe6; border-left: 4px solid #e6c200; padding: 0.5em 1em; }
img { max-width: 100%; } figure { margin: 1em 0; } figcaption { font-size: 0.85em; }
"""

_TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{{ title }}</title>
<style>{{ style | safe }}</style></head><body>
<h1>{{ title }}</h1>
<p>Made by discmri {{ version }} from <code>{{ source }}</code>; layout: <b>{{ layout }}</b>.
Every number on this page is in <code>report.json</code> and <code>stats.tsv</code>.</p>
{% for note in notes %}<p class="note">{{ note }}</p>{% endfor %}
{% for section in sections %}
<h2 id="{{ section.id }}">{{ section.title }}</h2>
{% if section.text %}<p>{{ section.text }}</p>{% endif %}
{% for table in section.tables %}{{ table | safe }}{% endfor %}
{% for fig in section.figures %}<figure>
<img alt="{{ fig.caption }}" src="data:image/png;base64,{{ fig.data }}">
<figcaption>{{ fig.caption }}</figcaption></figure>{% endfor %}
{% endfor %}
<h2>Methods</h2>
{% for paragraph in methods %}<p>{{ paragraph }}</p>{% endfor %}
<p>Software: {% for k, v in software.items() %}{{ k }} {{ v }}
{%- if not loop.last %}, {% endif %}{% endfor %}.</p>
</body></html>
"""


def stats_table(report: Report) -> pd.DataFrame:
    """Every estimate and test of the report, one row each (:data:`STATS_COLUMNS`)."""
    import pandas as pd

    rows = []
    t = report.tables
    for r in json_records(t.get("within", pd.DataFrame())):
        rows.append({"section": "change from baseline", "endpoint": r["endpoint"],
                     "arm": r["arm"], "months": r["months"], "comparison": "within arm",
                     "n_participants": r["n_participants"], "n_discs": r["n_discs"],
                     "estimate": r["mean_change"], "ci_low": r["ci_low"],
                     "ci_high": r["ci_high"], "test": r["test"], "p_value": r["p_value"],
                     "p_holm": r.get("p_holm")})
    for r in json_records(t.get("between", pd.DataFrame())):
        rows.append({"section": "between arms", "endpoint": r["endpoint"],
                     "arm": f"{r['active']} - {r['control']}", "months": r["months"],
                     "comparison": "difference in mean change",
                     "n_participants": r["n_active"] + r["n_control"], "n_discs": None,
                     "estimate": r["difference"], "ci_low": r["ci_low"],
                     "ci_high": r["ci_high"], "test": r["test"], "p_value": r["p_value"],
                     "p_holm": r.get("p_holm")})
    for r in json_records(t.get("mixed", pd.DataFrame())):
        info = report.models.get(r["endpoint"], {})
        rows.append({"section": "mixed model", "endpoint": r["endpoint"], "arm": None,
                     "months": None, "comparison": r["term"],
                     "n_participants": info.get("n_participants"),
                     "n_discs": info.get("n_discs"), "estimate": r["estimate"],
                     "ci_low": r["ci_low"], "ci_high": r["ci_high"],
                     "test": "MixedLM (REML" + (", arms pooled" if info.get("pooled") else "")
                     + (")" if info.get("converged") else "; not converged)"),
                     "p_value": r["p_value"], "p_holm": None})
    for r in json_records(t.get("treated_vs_untreated", pd.DataFrame())):
        rows.append({"section": "treated vs untreated", "endpoint": r["endpoint"],
                     "arm": r["arm"], "months": r["months"],
                     "comparison": "treated minus untreated change",
                     "n_participants": r["n_participants"], "n_discs": None,
                     "estimate": r["difference"], "ci_low": r["ci_low"],
                     "ci_high": r["ci_high"], "test": r["test"], "p_value": r["p_value"],
                     "p_holm": None})
    for r in json_records(t.get("grade_tests", pd.DataFrame())):
        rows.append({"section": "grade shifts", "endpoint": "griffith", "arm": None,
                     "months": r["months"], "comparison": r["comparison"],
                     "n_participants": r["n"], "n_discs": None, "estimate": r["statistic"],
                     "ci_low": None, "ci_high": None, "test": r["test"],
                     "p_value": r["p_value"], "p_holm": None})
    return pd.DataFrame(rows, columns=list(STATS_COLUMNS))


def report_json(report: Report, source: str = "") -> dict[str, Any]:
    """Everything the page shows, machine-readable."""
    return {"Source": source, "Layout": report.layout, "Arms": report.arms,
            "Control": report.control, "Active": report.active,
            "Endpoints": report.endpoints, "Settings": report.settings,
            "Notes": report.notes, "Methods": methods(report),
            "Tables": {k: json_records(v) for k, v in report.tables.items()},
            "Models": {k: {kk: json_value(vv) for kk, vv in v.items()}
                       for k, v in report.models.items()},
            "Software": software_versions()}


def _convergence(info: dict[str, Any]) -> str:
    """How a mixed model's fit ended, with statsmodels' warnings (Methods and page alike)."""
    warned = "; ".join(info.get("warnings", []))
    if info.get("converged"):
        return "converged" + (f" (warning: {warned})" if warned else "")
    return (f"did not converge to a trustworthy optimum ({warned or 'no message'}): do not "
            "rely on its estimates")


def methods(report: Report) -> list[str]:
    """The Methods paragraph, from the layout, tests and models this report ran."""
    small = report.layout == "small"
    out = [
        "Per arm and visit the discs' values are summarised (n discs and participants, mean ± "
        "SD, median [IQR]). Change from baseline is computed per participant as the mean over "
        "their discs measured at both visits, since discs of one participant are not "
        "independent; its mean has a 95 % t interval (from 3 participants: none is drawn or "
        "reported for fewer)."]
    if small:
        out.append(
            "Small-study layout: within each arm the change is tested with the exact Wilcoxon "
            f"signed-rank test, reported only where it can reach p < {stats.ALPHA:g} (6 "
            "participants or more; below that the table says why there is no test). There is "
            "no between-arm test.")
    else:
        out.append(
            "Within each arm the change is tested with a one-sample t test (the signed-rank "
            "test beside it); between the arms "
            f"({report.active} minus {report.control}) with Welch's t test (Mann-Whitney U "
            "beside it).")
    for endpoint, info in report.models.items():
        out.append(
            f"{endpoint}: linear mixed model (statsmodels MixedLM, {info.get('method', 'REML')})"
            f" {info.get('formula', '')} with a random intercept per participant and a "
            f"variance component per disc within the participant, on "
            f"{info.get('n_observations', 'n/a')} disc × visit values of "
            f"{info.get('n_discs', 'n/a')} discs in {info.get('n_participants', 'n/a')} "
            f"participants — a {info.get('model', '')}; {_convergence(info)}.")
    grades = ("Grade shifts count discs one grade or more better or worse than at baseline; "
              "each arm's participants' mean shifts are tested against none with the exact "
              "signed-rank test (with the same minimum n)")
    out.append(grades + ("." if small else ", and between the arms with the Mann-Whitney U "
                         "test."))
    out.append("Assumptions: t tests and the mixed model assume roughly normal participant-"
               "level changes and residuals; the rank tests do not. Several endpoints make the "
               "tests exploratory unless one was named primary beforehand.")
    return out


#: Page headers of the report's columns (the JSON and TSV keep the column names).
HEADERS = {"n_discs": "n discs", "n_participants": "n participants", "n_completers":
           "n completers", "n_active": "n active", "n_control": "n control",
           "n_observations": "n disc × visit values", "months": "months", "mean": "mean",
           "sd": "SD", "q1": "Q1", "q3": "Q3", "ci_low": "95 % CI low",
           "ci_high": "95 % CI high", "mean_change": "mean change",
           "mean_change_pct": "mean change (%)", "ci_low_pct": "95 % CI low (%)",
           "ci_high_pct": "95 % CI high (%)", "median_change": "median change",
           "p_value": "p", "p_wilcoxon": "p (signed-rank)", "p_mannwhitney": "p (Mann-Whitney)",
           "p_holm": "p (Holm)", "participant_id": "participant", "change_pct": "change (%)",
           "within_sd": "within-subject SD (SEM)", "cv_pct": "CV (%)", "icc21": "ICC(2,1)",
           "icc21_low": "ICC 95 % CI low", "icc21_high": "ICC 95 % CI high",
           "mdc95": "MDC95", "n_pairs": "n discs (pairs)", "n_per_arm": "n per arm",
           "detectable_difference": "detectable difference (80 % power)"}


def html_table(table: pd.DataFrame, columns: list[str] | None = None,
                empty: str = "none") -> str:
    """A table of the page, with readable headers.

    A unit column stands beside an endpoint column: the endpoints of one table have
    different units (mm, ms, mm²/s, a ratio).
    """
    if table is None or not len(table):
        return f"<p><i>{empty}</i></p>"
    shown = (table[columns] if columns else table).copy()
    if "endpoint" in shown and "unit" not in shown:
        units = {c: v.unit for c, v in disc_columns().items() if v.unit not in ("", "1")}
        shown.insert(list(shown.columns).index("endpoint") + 1, "unit",
                     shown["endpoint"].map(lambda e: units.get(str(e), "")))
    shown = shown.rename(columns=lambda c: HEADERS.get(c, str(c).replace("_", " ")))
    return shown.to_html(index=False, na_rep="n/a", float_format=lambda v: f"{v:.4g}",
                         border=0)


def qc_figures(out: str | os.PathLike[str]) -> dict[tuple[str, str, str], str]:
    """QC figures of a run (``discmri run --qc``) by (participant, session, level).

    Paths are relative to ``out``; level ``"grades"`` is a session's grading figure.
    """
    out = Path(out)
    found = {}
    for png in sorted(out.glob("sub-*/**/qc/*.png")):
        parts = png.relative_to(out).parts
        participant = parts[0]
        session = parts[1] if len(parts) > 2 and parts[1].startswith("ses-") else ""
        key = f"{participant}_{session}_" if session else f"{participant}_"
        if png.stem.startswith(key):
            found[(participant, session, png.stem[len(key):])] = png.relative_to(out).as_posix()
    return found


def _with_links(table: pd.DataFrame, qc: dict[tuple[str, str, str], str]) -> str:
    """The trajectory table with a link to each disc's QC figure, where there is one."""
    from html import escape

    if table is None or not len(table) or not qc:
        return html_table(table)
    shown = table.copy()
    shown["qc"] = [f'<a href="{escape(qc[k])}">figure</a>' if (k := (
        str(r.participant_id), str(r.session or ""), str(r.level))) in qc else ""
                   for r in shown.itertuples()]
    for column in shown.columns:
        if shown[column].dtype == object and column != "qc":
            shown[column] = shown[column].map(lambda v: escape(str(v)))
    return shown.to_html(index=False, na_rep="n/a", float_format=lambda v: f"{v:.4g}",
                         border=0, escape=False)


def render_html(report: Report, source: str = "",
                qc: dict[tuple[str, str, str], str] | None = None) -> str:
    """The self-contained page (figures embedded as data URIs; no network).

    ``qc``: QC figures of the run by (participant, session, level) (:func:`qc_figures`),
    linked from the trajectory table and listed per session.
    """
    try:
        import jinja2
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise DiscMRIError('the HTML report needs Jinja2: pip install "discmri[report]"') \
            from exc
    t = report.tables

    def figs(prefix: str) -> list[dict[str, str]]:
        return [{"data": base64.b64encode(png).decode("ascii"),
                 "caption": name.replace("_", " ", 1)}
                for name, png in report.figures.items() if name.startswith(prefix)]

    sections = [
        {"id": "cohort", "title": "Cohort",
         "tables": [html_table(t.get("cohort")),
                    html_table(t.get("sessions"), empty="No session failed or was skipped."
                                if t.get("sessions") is not None else ""),
                    "<p>Participants treated at each level:</p>",
                    html_table(t.get("treated_levels"))],
         "text": "Participants and discs per arm and visit; sessions that failed or were "
                 "skipped are listed with the reason.", "figures": []},
        {"id": "summary", "title": "Endpoints per arm and visit",
         "tables": [html_table(t.get("summary")),
                    "<p>Means of the completers (participants measured at every visit), which "
                    "a dropout does not move:</p>", html_table(t.get("completers"))],
         "text": "Every disc measured at each visit, whoever came (n says how many).",
         "figures": figs("spaghetti")},
        {"id": "change", "title": "Change from baseline",
         "tables": [html_table(t.get("within"))], "text": "", "figures": figs("change")},
    ]
    if report.layout == "two-arm":
        sections.append({"id": "between", "title": f"Between arms ({report.active} minus "
                                                   f"{report.control})",
                         "tables": [html_table(t.get("between"))], "text": "",
                         "figures": []})
    else:
        sections.append({"id": "patients", "title": "Each patient's trajectory",
                         "tables": [_with_links(t.get("trajectories"), qc or {})],
                         "text": "Value and change from baseline of every analysed disc.",
                         "figures": []})
    sections += [
        {"id": "mixed", "title": "Mixed models", "tables": [html_table(t.get("mixed"))],
         "text": " ".join(
             f"{e}: {m['formula']} — {m.get('model', '')}; {_convergence(m)}."
             for e, m in report.models.items()), "figures": []},
        {"id": "grades", "title": "Grade shifts (Griffith)",
         "tables": [html_table(t.get("grade_distribution")),
                    html_table(t.get("grade_counts")), html_table(t.get("grade_tests"))],
         "text": "", "figures": figs("grade")},
        {"id": "treated", "title": "Treated against untreated levels",
         "tables": [html_table(t.get("treated_vs_untreated"))], "text": "", "figures": []},
        {"id": "precision", "title": "Precision and power",
         "tables": [html_table(t.get("precision"), empty="Not known from this dataset: it "
                               "has no retest sessions (ses-<label>retest).")],
         "text": report.settings.get("precision", ""), "figures": []},
    ]
    if qc:
        from html import escape

        sessions: dict[tuple[str, str], list[str]] = {}
        for (participant, session, level), path in sorted(qc.items()):
            sessions.setdefault((participant, session), []).append(
                f'<a href="{escape(path)}">{escape(level)}</a>')
        rows = "".join(f"<tr><td>{escape(p)}</td><td>{escape(s)}</td><td>{' '.join(links)}"
                       "</td></tr>" for (p, s), links in sessions.items())
        sections.append({"id": "qc", "title": "Disc QC figures",
                         "text": "Each disc's mid-sagittal plane with its measured edges, "
                                 "heights and regions, and each session's grading figure "
                                 "(files of discmri run --qc, next to this page).",
                         "tables": ["<table><tr><th>participant</th><th>session</th>"
                                    f"<th>figures</th></tr>{rows}</table>"], "figures": []})
    template = jinja2.Environment(autoescape=True).from_string(_TEMPLATE)
    return template.render(title="Trial report: imaging endpoints", style=PAGE_STYLE,
                           version=__version__, source=source, layout=report.layout,
                           notes=report.notes,
                           sections=sections, methods=methods(report), software=software_versions())


def report_files(report: Report, out: str | os.PathLike[str], *, source: str = "",
                 html: bool = True) -> dict[Path, bytes]:
    """The report's files by path (written together by :func:`write_report`)."""
    from ..io.tables import table_bytes

    out = Path(out)
    files = {out / "stats.tsv": table_bytes(stats_table(report)),
             out / "report.json": (json.dumps(report_json(report, source), indent=2)
                                   + "\n").encode("utf-8")}
    if html:
        files[out / "report.html"] = render_html(report, source,
                                                 qc_figures(out)).encode("utf-8")
    return files


def write_report(report: Report, out: str | os.PathLike[str], *, source: str = "",
                 html: bool = True, overwrite: bool = True) -> list[Path]:
    """Write ``report.html``, ``stats.tsv`` and ``report.json`` into ``out``, all or none."""
    from ..io.atomic import write_all_or_nothing

    files = report_files(report, out, source=source, html=html)
    write_all_or_nothing(files, overwrite=overwrite)
    return list(files)
