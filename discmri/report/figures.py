"""Figures of a trial report (matplotlib, object-oriented API; PNG bytes)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..plotting import new_figure, png_bytes
from ..table import disc_columns

if TYPE_CHECKING:
    import pandas as pd

    from .result import Report

__all__ = ["report_figures"]

_COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple")


def _label(endpoint: str) -> str:
    unit = disc_columns().get(endpoint, ("", ""))[0]
    return f"{endpoint} ({unit})" if unit and unit != "1" else endpoint


def _png(fig) -> bytes:
    return png_bytes(fig, bbox_inches="tight")


def _figure(width: float, height: float):
    return new_figure(width, height, extra="report")


def _spaghetti(report: Report, discs: pd.DataFrame, endpoint: str) -> bytes:
    """Each participant's mean over the analysed discs against time, and the arms' means.

    Every participant's visits are drawn as points (a participant seen once is a point), their
    visits joined by a thin line. The arms' means are the completers' (the report's
    ``completers`` table: participants with a value at every visit), with 95 % t intervals
    from 3 of them: a mean over whoever came to each visit moves when a participant drops
    out, though nobody changed.
    """
    per = (discs.groupby(["arm", "participant_id", "months"])[endpoint].mean()
           .reset_index().dropna())
    means = report.tables["completers"]
    means = means[means.endpoint == endpoint]
    fig = _figure(6.4, 3.8)
    ax = fig.add_subplot(1, 1, 1)
    for k, arm in enumerate(report.arms):
        colour = _COLOURS[k % len(_COLOURS)]
        for _, one in per[per.arm == arm].groupby("participant_id"):
            ax.plot(one.months, one[endpoint], color=colour, alpha=0.35, lw=0.8, marker="o",
                    ms=3)
        rows = means[means.arm == arm]
        if not len(rows):
            ax.plot([], [], color=colour, lw=0.8, marker="o", ms=3,
                    label=f"{arm}: each participant (no completer for a mean)")
            continue
        half = (rows.ci_high - rows["mean"]).to_numpy(float)
        drawn = bool(np.isfinite(half).any())
        n = int(rows.n_completers.iat[0])
        ax.errorbar(rows.months + 0.08 * k, rows["mean"], yerr=np.nan_to_num(half),
                    color=colour, lw=2, capsize=4 if drawn else 0, marker="o",
                    label=f"{arm}: {'mean ± 95 % CI' if drawn else 'mean'} of {n} "
                          f"completer{'s' if n != 1 else ''}")
    ax.set_xlabel("months since injection")
    ax.set_ylabel(_label(endpoint))
    ax.set_title(f"{endpoint}: each participant (thin) and each arm's completers' mean",
                 fontsize=10)
    ax.legend(fontsize=8)
    return _png(fig)


def _change(report: Report, endpoint: str) -> bytes:
    within = report.tables["within"]
    part = within[within.endpoint == endpoint]
    fig = _figure(6.4, 3.4)
    ax = fig.add_subplot(1, 1, 1)
    for k, arm in enumerate(report.arms):
        rows = part[part.arm == arm]
        # no interval with fewer than three participants (as in the trajectories)
        few = (rows.n_participants < 3).to_numpy()
        err = np.nan_to_num(np.vstack([np.where(few, np.nan, rows.mean_change - rows.ci_low),
                                       np.where(few, np.nan, rows.ci_high - rows.mean_change)]))
        drawn = bool(np.any(~few & np.isfinite(rows.ci_low.to_numpy(float))))
        shown = "mean ± 95 % CI" if drawn else "mean; no interval below 3 participants"
        ax.errorbar(rows.months + 0.1 * k, rows.mean_change, yerr=err, marker="o",
                    capsize=4 if drawn else 0, color=_COLOURS[k % len(_COLOURS)],
                    label=f"{arm} ({shown})")
    ax.axhline(0.0, color="grey", lw=0.8)
    ax.set_xlabel("months since injection")
    ax.set_ylabel(f"change in {_label(endpoint)}")
    ax.set_title(f"{endpoint}: change from baseline by arm", fontsize=10)
    ax.legend(fontsize=8)
    return _png(fig)


def _grades(report: Report) -> bytes | None:
    counts = report.tables.get("grade_counts")
    if counts is None or not len(counts):
        return None
    fig = _figure(6.4, 3.2)
    ax = fig.add_subplot(1, 1, 1)
    labels, bottom = [], np.zeros(len(counts))
    for kind, colour in (("improved", "tab:green"), ("unchanged", "lightgrey"),
                         ("worsened", "tab:red")):
        share = counts[kind] / counts.n_discs.where(counts.n_discs > 0, np.nan)
        ax.bar(np.arange(len(counts)), share, bottom=bottom, color=colour, label=kind)
        bottom += share.fillna(0).to_numpy()
    labels = [f"{r.arm}\n{r.months:g} mo" for r in counts.itertuples()]
    ax.set_xticks(np.arange(len(counts)), labels, fontsize=8)
    ax.set_ylabel("share of discs")
    ax.set_title("Griffith grade change from baseline (≥ 1 grade)", fontsize=10)
    ax.legend(fontsize=8, loc="upper right")
    return _png(fig)


def report_figures(report: Report, discs: pd.DataFrame) -> dict[str, bytes]:
    """The report's figures by name.

    ``spaghetti_<endpoint>``, ``change_<endpoint>`` and ``grade_shifts``.
    """
    out = {}
    for endpoint in report.endpoints:
        values = discs.assign(**{endpoint: discs[endpoint].astype(float)})
        out[f"spaghetti_{endpoint}"] = _spaghetti(report, values, endpoint)
        out[f"change_{endpoint}"] = _change(report, endpoint)
    grades = _grades(report)
    if grades is not None:
        out["grade_shifts"] = grades
    return out
