"""Figures of a trial report (matplotlib, object-oriented API; PNG bytes)."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import numpy as np

from ..table import disc_columns

if TYPE_CHECKING:
    import pandas as pd

    from .build import Report

__all__ = ["report_figures"]

_COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple")


def _label(endpoint: str) -> str:
    unit = disc_columns().get(endpoint, ("", ""))[0]
    return f"{endpoint} ({unit})" if unit and unit != "1" else endpoint


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    return buf.getvalue()


def _figure(width: float, height: float):
    from ..morphometry.qc import _matplotlib

    figure_cls, canvas_cls = _matplotlib()
    fig = figure_cls(figsize=(width, height), dpi=100)
    canvas_cls(fig)
    return fig


def _spaghetti(report: Report, discs: pd.DataFrame, endpoint: str) -> bytes:
    """Each participant's mean over the analysed discs against time, and the arms' means.

    The arms' means are drawn with their 95 % t intervals.
    """
    from scipy import stats

    per = (discs.groupby(["arm", "participant_id", "months"])[endpoint].mean()
           .reset_index().dropna())
    fig = _figure(6.4, 3.8)
    ax = fig.add_subplot(1, 1, 1)
    for k, arm in enumerate(report.arms):
        colour = _COLOURS[k % len(_COLOURS)]
        part = per[per.arm == arm]
        for _, one in part.groupby("participant_id"):
            ax.plot(one.months, one[endpoint], color=colour, alpha=0.3, lw=0.8)
        agg = part.groupby("months")[endpoint].agg(["mean", "std", "count"])
        # an interval from one or two participants says nothing: the mean alone then
        half = np.where(agg["count"] >= 3, stats.t.ppf(0.975, np.maximum(agg["count"] - 1, 1))
                        * agg["std"] / np.sqrt(agg["count"]), np.nan)
        shown = "mean ± 95 % CI" if np.isfinite(half).any() else "mean"
        ax.errorbar(agg.index + 0.08 * k, agg["mean"], yerr=np.nan_to_num(half), color=colour,
                    lw=2, capsize=4 if np.isfinite(half).any() else 0, marker="o",
                    label=f"{arm} ({shown})")
    ax.set_xlabel("months since injection")
    ax.set_ylabel(_label(endpoint))
    ax.set_title(f"{endpoint}: each participant (thin) and each arm's mean", fontsize=10)
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
        ax.errorbar(rows.months + 0.1 * k, rows.mean_change, yerr=err, marker="o", capsize=4,
                    color=_COLOURS[k % len(_COLOURS)], label=f"{arm} (mean ± 95 % CI)")
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
