"""The files of a trial plan: ``plan.tsv``, ``repeatability.tsv``, ``plan.json``, ``plan.html``."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._version import __version__
from ..errors import DiscMRIError

if TYPE_CHECKING:
    import pandas as pd

    from .plan import Plan

__all__ = ["METHODS", "bland_altman_figure", "plan_files", "plan_json"]

#: What the plan's numbers are, for the page and plan.json.
METHODS = (
    "Repeatability from pairs of measurements of the same disc (retest sessions, "
    "ses-…retest, days apart): within-subject SD wSD = √(Σd²/2n) (the SEM), CV = wSD / mean, "
    "Bland–Altman bias and limits of agreement bias ± 1.96·SD(d) (Bland & Altman 1986), "
    "ICC(2,1) (absolute agreement) and ICC(3,1) (consistency) from the two-way ANOVA with "
    "F-based intervals (Shrout & Fleiss 1979; McGraw & Wong 1996), and the minimal "
    "detectable change MDC95 = 1.96·√2·SEM (Weir 2005).",
    "Variance components between visits from a linear mixed model of the control arm "
    "(statsmodels MixedLM, REML): a random intercept per participant and variance components "
    "for the disc and the visit within the participant; the residual is the disc × visit "
    "part.",
    "Sample size for a two-arm trial analysed by a two-sample t-test of each participant's "
    "change from baseline to the last visit: the SD of a change is √(2·visit² + "
    "2·residual²/discs); n per arm is the smallest with the wanted power under the noncentral "
    "t distribution (the normal approximation 2·(z₁₋α/₂ + z_power)²·SD²/δ² beside it), "
    "divided by 1 − dropout. The simulated power draws whole trials (participants, discs, "
    "visits, monotone dropout) from the components and counts rejections.",
)

_TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Trial plan</title>
<style>{{ style | safe }}</style></head><body>
<h1>Trial plan: precision and power</h1>
<p>Made by discmri {{ version }} from <code>{{ source }}</code>. {{ settings }}</p>
{% for note in notes %}<p class="note">{{ note }}</p>{% endfor %}
<h2 id="repeatability">Repeatability</h2>
{{ repeatability | safe }}
{% for fig in figures %}<figure><img alt="{{ fig.caption }}"
src="data:image/png;base64,{{ fig.data }}"><figcaption>{{ fig.caption }}</figcaption>
</figure>{% endfor %}
<h2 id="plan">Sample size and power</h2>
{{ plan | safe }}
<h2>Methods</h2>
{% for paragraph in methods %}<p>{{ paragraph }}</p>{% endfor %}
</body></html>
"""


def bland_altman_figure(pairs: pd.DataFrame, endpoint: str) -> bytes:
    """PNG of a Bland–Altman plot: second − first against their mean, bias and limits."""
    from ..plotting import new_figure, png_bytes

    first, second = pairs["first"].to_numpy(float), pairs["second"].to_numpy(float)
    mean, diff = (first + second) / 2, second - first
    bias, sd = float(diff.mean()), float(diff.std(ddof=1))
    fig = new_figure(5.5, 3.6, extra="report")
    ax = fig.add_subplot()
    ax.scatter(mean, diff, s=12, color="tab:blue", alpha=0.7)
    for y, style in ((bias, "-"), (bias - 1.96 * sd, "--"), (bias + 1.96 * sd, "--")):
        ax.axhline(y, color="tab:red", linestyle=style, linewidth=1)
    ax.set_xlabel(f"mean of the two scans ({endpoint})")
    ax.set_ylabel("retest − test")
    ax.set_title(f"{endpoint}: bias {bias:.3g}, limits ± {1.96 * sd:.3g} "
                 f"({len(diff)} discs)", fontsize=9)
    fig.tight_layout()
    return png_bytes(fig)


#: Columns of the page's tables and their headers (the TSV files keep every column).
_REPEATABILITY = {"endpoint": "endpoint", "source": "pairs from", "level": "level",
                  "n_pairs": "n discs (pairs)",
                  "mean": "mean", "bias": "bias", "loa_low": "limit of agreement low",
                  "loa_high": "limit of agreement high", "within_sd": "within-subject SD (SEM)",
                  "cv_pct": "CV (%)", "icc21": "ICC(2,1)", "icc21_low": "95 % CI low",
                  "icc21_high": "95 % CI high", "icc31": "ICC(3,1)", "mdc95": "MDC95"}
_PLAN = {"endpoint": "endpoint", "effect": "effect asked", "effect_abs": "effect",
         "source": "precision from", "change_sd": "SD of a change", "mdc95": "MDC95",
         "n_per_arm": "n per arm", "n_per_arm_normal": "n per arm (normal approx.)",
         "power": "power", "simulated_power": "simulated power",
         "closed_form_power": "closed-form power",
         "detectable_effect": "detectable effect (at that n)"}


def _shown(table: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    """The columns of ``table`` that the page shows, under their headers."""
    keep = [c for c in columns if c in table]
    return table[keep].rename(columns=columns)


def _settings(plan: Plan) -> str:
    s = plan.settings
    goal = (f"power {s['power']:g}" if s.get("power") is not None
            else f"{s['n']} participants per arm")
    return (f"Goal: {goal}; two-sided α {s['alpha']:g}; dropout {s['dropout']:g}; visits "
            f"{', '.join(f'{v:g}' for v in s['visits'])} months; {s['levels']} disc(s) per "
            f"participant; {s['n_sim']} simulated trials per row. Analysis: {s['analysis']}.")


def plan_json(plan: Plan, source: str = "") -> dict[str, Any]:
    """The plan as JSON-ready data (NaN as null)."""
    from ..io.tables import json_records

    return {"GeneratedBy": [{"Name": "discmri", "Version": __version__}], "Source": source,
            "Settings": plan.settings, "Notes": plan.notes, "Methods": list(METHODS),
            "Repeatability": json_records(plan.repeatability), "Plan": json_records(plan.table)}


def plan_files(plan: Plan, out: str | os.PathLike[str], *, source: str = "",
               html: bool = True) -> dict[Path, bytes]:
    """The plan's files by path (nothing is written): tables, JSON and, with ``html``, a page.

    Raises
    ------
    DiscMRIError
        ``html`` without matplotlib or Jinja2 (the ``report`` extra).
    """
    from ..io.tables import table_bytes

    out = Path(out)
    files = {out / "plan.tsv": table_bytes(plan.table),
             out / "repeatability.tsv": table_bytes(plan.repeatability),
             out / "plan.json": (json.dumps(plan_json(plan, source), indent=2, default=str)
                                 + "\n").encode("utf-8")}
    if not html:
        return files
    try:
        import jinja2
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise DiscMRIError('the plan page needs Jinja2: pip install "discmri[report]"') from exc
    from ..report.write import PAGE_STYLE, html_table

    figures = [{"data": base64.b64encode(bland_altman_figure(pairs, endpoint)).decode("ascii"),
                "caption": f"Bland–Altman plot of {endpoint}: retest against test, each disc "
                           "a point; bias (solid) and 95 % limits of agreement (dashed)."}
               for endpoint, pairs in plan.pairs.items() if len(pairs) >= 2]
    page = jinja2.Environment(autoescape=True).from_string(_TEMPLATE).render(
        style=PAGE_STYLE, version=__version__, source=source, settings=_settings(plan),
        notes=plan.notes,
        repeatability=html_table(_shown(plan.repeatability, _REPEATABILITY),
                                 empty="no retest sessions"),
        figures=figures, plan=html_table(_shown(plan.table, _PLAN)), methods=METHODS)
    files[out / "plan.html"] = page.encode("utf-8")
    return files
