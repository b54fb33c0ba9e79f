"""Assemble a trial report from ``discs.tsv`` (and ``sessions.tsv``): tables, tests, figures."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from ..errors import ParameterError
from ..table import is_retest, measured
from . import stats
from .result import DEFAULT_ENDPOINTS, SMALL_STUDY, Report

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["DEFAULT_ENDPOINTS", "SMALL_STUDY", "Report", "build_report", "check_report_options"]


def _cohort(discs: pd.DataFrame, sessions: pd.DataFrame | None) -> pd.DataFrame:
    import pandas as pd

    rows = []
    for (arm, months), part in discs.groupby(["arm", "months"], sort=True):
        rows.append({"arm": arm, "months": months,
                     "participants": int(part.participant_id.nunique()),
                     "discs": len(part), "treated_discs": int(part.treated.astype(bool).sum())})
    table = pd.DataFrame(rows)
    if sessions is not None and len(sessions):
        for col, status in (("partial", "partial"), ("failed", "failed"),
                            ("skipped", "skipped")):
            counts = sessions[sessions.status == status].groupby(["arm", "months"]).size()
            table[col] = [int(counts.get((r.arm, r.months), 0)) for r in table.itertuples()]
        # missing: participants of the arm with no session at that visit at all (a failed or
        # skipped session is counted there, not here again; a partial one was measured)
        expected = sessions.groupby("arm").participant_id.nunique()
        table["missing"] = [int(expected.get(r.arm, 0)) - r.participants - r.failed - r.skipped
                            for r in table.itertuples()]
    return table


def _precision(discs: pd.DataFrame, endpoints: list[str], selected: pd.DataFrame,
               base: float) -> tuple[pd.DataFrame, str]:
    """Each endpoint's repeatability and the difference this study could detect; or why not.

    From retest sessions (``ses-…retest``) only: a control arm's change over months mixes
    the measurement's spread with real change, so it is left to ``discmri plan``.
    """
    import pandas as pd

    from ..planning import detectable_effect, repeatability

    rep = repeatability(discs, endpoints)
    if rep.empty:
        return pd.DataFrame(), (
            "The dataset has no retest sessions (a second scan of the same "
            "participants days apart, labelled ses-<label>retest), so the endpoints' "
            "repeatability and the smallest difference this study could detect are not known "
            "here; discmri plan computes them from a dataset that has them.")
    follow = selected[selected.months > base].groupby("arm").participant_id.nunique()
    n = int(follow.min()) if len(follow) else 0
    rows = rep[rep.level == "all"].copy()
    rows["n_per_arm"] = n
    rows["detectable_difference"] = [
        detectable_effect(n, np.sqrt(2) * r.within_sd) if n >= 2 and r.within_sd > 0
        else np.nan for r in rows.itertuples()]
    columns = ["endpoint", "n_pairs", "participants", "within_sd", "cv_pct", "icc21",
               "icc21_low", "icc21_high", "mdc95", "n_per_arm", "detectable_difference"]
    return rows[columns].reset_index(drop=True), (
        "Repeatability from the retest sessions (pairs of scans days "
        "apart; they are not analysed as visits). MDC95 is the smallest change of one disc "
        "beyond measurement noise; the detectable difference is the smallest difference "
        "between arms in mean change that a two-sample t-test on this study's smallest arm "
        "at follow-up would detect with 80 % power at α 0.05 if measurement noise were the "
        "only spread — a lower bound, since biology between visits adds to it "
        "(discmri plan).")


def _select_levels(discs: pd.DataFrame, levels: str) -> pd.DataFrame:
    if levels == "treated":
        return discs[discs.treated.astype(bool)]
    if levels == "all":
        return discs
    raise ParameterError(f"levels {levels!r}: expected 'treated' or 'all'")


def check_report_options(*, columns: Sequence[str], arms: Sequence[str | None],
                         sessions: Sequence[str | None], endpoints: Sequence[str] | None = None,
                         control: str | None = None, baseline: str | None = None) -> None:
    """Refuse, before a run, report options that cannot work with the dataset.

    Parameters
    ----------
    columns : sequence of str
        Numeric columns the run's ``discs.tsv`` will have (endpoints may be any of them).
    arms, sessions : sequence of str or None
        The dataset's arms (``group`` of participants.tsv) and session labels, one per session.
    endpoints, control, baseline
        As :func:`build_report` takes them.

    Raises
    ------
    ParameterError
        An endpoint that is not a numeric column, a control arm the dataset does not have, a
        baseline session it does not have; the option's name and the choices are given.
    """
    unknown = [e for e in endpoints or () if e not in columns]
    if unknown:
        raise ParameterError(f"--endpoints {', '.join(unknown)}: not numeric columns of "
                             f"discs.tsv; expected some of {', '.join(columns)}")
    named = sorted({str(a) for a in arms if a})
    if control is not None and control not in named:
        raise ParameterError(f"--control {control}: not an arm of the dataset; expected one of "
                             f"{', '.join(named) or '(none: participants.tsv has no group)'}")
    labels = sorted({str(v) for v in sessions if v})
    if baseline is not None and baseline.removeprefix("ses-") not in labels:
        raise ParameterError(f"--baseline {baseline}: not a session of the dataset; expected "
                             "one of " + (', '.join(f"ses-{v}" for v in labels)
                                          or "(none: the dataset has no session folders)"))


def build_report(discs: pd.DataFrame, sessions: pd.DataFrame | None = None, *,
                 endpoints: Sequence[str] | None = None, levels: str = "treated",
                 baseline: str | None = None, control: str | None = None,
                 holm: bool = False, figures: bool = True) -> Report:
    """Build the trial report of a ``discs.tsv`` table.

    Parameters
    ----------
    discs : pandas.DataFrame
        ``discs.tsv`` of ``discmri run`` (``participant_id``, ``session``, ``arm``,
        ``months``, ``treated``, ``level``, endpoints, ``griffith``, ``status``).
    sessions : pandas.DataFrame, optional
        ``sessions.tsv`` of the run (missing, failed and skipped sessions in the cohort table).
    endpoints : sequence of str, optional
        Columns reported (default :data:`DEFAULT_ENDPOINTS` that have values).
    levels : {"treated", "all"}
        Discs analysed: the participants' treated levels, or every level.
    baseline : str, optional
        Session label of the baseline visit (``ses-`` optional); by default the visit at
        0 months, else the earliest visit in the table.
    control : str, optional
        Control arm of a two-arm trial (default: one named sham, placebo, control …).
    holm : bool
        Add Holm-adjusted p-values across endpoints to the primary comparisons.
    figures : bool
        Draw the figures (needs matplotlib).

    Returns
    -------
    Report

    Raises
    ------
    ParameterError
        Missing columns, an unknown endpoint or arm, no baseline visit, no follow-up.
    """
    import pandas as pd

    need = ["participant_id", "arm", "months", "treated", "level"]
    missing = [c for c in need if c not in discs]
    if missing:
        raise ParameterError(f"discs table: no column {', '.join(missing)}; expected "
                             "discs.tsv of discmri run")
    data = discs.copy()
    data["months"] = pd.to_numeric(data.months, errors="coerce")
    if not np.isfinite(data.months).any():
        raise ParameterError("the table has no visit times (months): a report of change needs "
                             "them; each participant's sub-<label>_sessions.tsv gives them "
                             "(session_id, months)")
    data = data[np.isfinite(data.months)]
    retest = is_retest(data.session) if "session" in data else pd.Series(False,
                                                                          index=data.index)
    rescans, data = data[retest], data[~retest]
    data = measured(data)
    if data.empty:
        raise ParameterError("the table has no measured disc (every row has a status saying "
                             "why it was not measured)")
    data["months"] = data.months.astype(float)
    data["arm"] = data.arm.fillna("").astype(str).replace("", "(no arm)")
    data["treated"] = data.treated.map(lambda v: str(v).lower() in ("true", "1")).astype(bool)
    notes: list[str] = []
    if baseline is not None:
        label = baseline if baseline.startswith("ses-") else f"ses-{baseline}"
        at = data.loc[data.session == label, "months"].unique()
        if len(at) != 1:
            raise ParameterError(f"baseline session {label}: not in the table (or at several "
                                 f"times); sessions are {sorted(data.session.unique())}")
        base = float(at[0])
    else:
        base = 0.0 if (data.months == 0).any() else float(data.months.min())
    if not (data.months > base).any():
        raise ParameterError("the table has no follow-up visit after the baseline; a report "
                             "of change needs at least two visits")
    chosen = list(endpoints) if endpoints else [
        e for e in DEFAULT_ENDPOINTS if e in data and np.isfinite(
            pd.to_numeric(data[e], errors="coerce")).any()]
    unknown = [e for e in chosen if e not in data]
    if unknown:
        raise ParameterError(f"endpoints {', '.join(unknown)}: not columns of the table")
    absent = [f"{e}: no values in the table (not reported)" for e in DEFAULT_ENDPOINTS
              if not endpoints and e not in chosen]
    selected = _select_levels(data, levels)
    if selected.empty:
        raise ParameterError(f"no discs at the {levels} levels")
    arms = sorted(selected.arm.unique(), key=str)
    per_arm = selected[selected.months == base].groupby("arm").participant_id.nunique()
    small = len(arms) != 2 or int(per_arm.min()) < SMALL_STUDY
    layout = "small" if small else "two-arm"
    ctrl = act = None
    if len(arms) == 2:
        ctrl = stats.control_arm(arms, control)
        act = next(a for a in arms if a != ctrl)
    if small:
        why = ("one arm" if len(arms) == 1 else f"{len(arms)} arms" if len(arms) > 2
               else f"fewer than {SMALL_STUDY} participants in an arm "
                    f"({', '.join(f'{a}: {n}' for a, n in per_arm.items())})")
        notes.append(f"Small-study layout ({why}): each patient's trajectory, within-arm "
                     "change with exact Wilcoxon signed-rank tests, and no between-arm test "
                     "(with so few participants it has little power, and its p-value would "
                     "invite more reading than it bears).")
    notes.append(f"Discs analysed: {'treated levels' if levels == 'treated' else 'all levels'};"
                 f" baseline at {base:g} months. Tests of change use each participant's mean "
                 "over their discs (discs within a participant are not independent); the "
                 "mixed model uses every disc with a random intercept per participant.")
    if len(chosen) > 1:
        notes.append("Several endpoints are tested: each p-value is for its endpoint alone; "
                     "the tests are exploratory" + (" (Holm-adjusted p-values beside the "
                                                    "primary comparisons)" if holm else "")
                     + ".")
    notes += absent
    tables: dict[str, list[pd.DataFrame]] = {k: [] for k in (
        "summary", "completers", "within", "between", "mixed", "treated_vs_untreated",
        "trajectories")}
    models = {}
    for e in chosen:
        selected_e = selected.assign(**{e: pd.to_numeric(selected[e], errors="coerce")})
        tables["summary"].append(stats.summary(selected_e, e))
        tables["completers"].append(stats.completer_means(selected_e, e))
        changes = stats.participant_changes(selected_e, e, base)
        tables["within"].append(stats.within_arm(changes, e, exact=small))
        if not small:
            tables["between"].append(stats.between_arms(changes, e, act, ctrl))
        terms, info = stats.mixed_model(selected_e, e, None if small else ctrl, base)
        tables["mixed"].append(terms)
        models[e] = info
        if not info.get("converged", False):
            notes.append(f"{e}: the mixed model did not converge to a trustworthy optimum "
                         f"({'; '.join(info.get('warnings', [])) or 'no message'}); its "
                         "estimates are shown, marked, and should not be relied on.")
        both = data.assign(**{e: pd.to_numeric(data[e], errors="coerce")})
        tables["treated_vs_untreated"].append(stats.treated_vs_untreated(both, e, base,
                                                                          exact=small))
        if small:
            tables["trajectories"].append(
                stats.change_from_baseline(selected_e, e, base).assign(endpoint=e))
    out = {k: (pd.concat([t for t in v if len(t)], ignore_index=True)
               if any(len(t) for t in v) else pd.DataFrame()) for k, v in tables.items()}
    primary = "within" if small else "between"
    if holm and len(out[primary]):
        out[primary]["p_holm"] = np.nan
        for idx in out[primary].groupby("months").groups.values():
            out[primary].loc[idx, "p_holm"] = stats.holm(out[primary].loc[idx, "p_value"])
    if "griffith" in data:
        # the small-study layout has no between-arm test anywhere, grades included
        counts, tests = stats.grade_shifts(selected, "griffith", base,
                                           None if small else act, None if small else ctrl)
        out["grade_counts"], out["grade_tests"] = counts, tests
        out["grade_distribution"] = stats.grade_distribution(selected, "griffith")
    out["precision"], precision = _precision(pd.concat([data, rescans]), chosen, selected,
                                             base)
    out["cohort"] = _cohort(data, sessions)
    out["treated_levels"] = stats.treated_levels(data)
    if sessions is not None:
        error = (sessions["error"].map(lambda v: v if isinstance(v, str) else "")
                 if "error" in sessions else "")
        out["sessions"] = sessions[~sessions.status.isin(["done", "resumed"])
                                   | (error != "")].reset_index(drop=True)
    report = Report(layout=layout, arms=arms, control=ctrl, active=act, endpoints=chosen,
                    tables=out, models=models, notes=notes,
                    settings={"levels": levels, "baseline_months": base, "holm": holm,
                              "small_study_below": SMALL_STUDY, "precision": precision})
    if figures:
        from .figures import report_figures

        report.figures = report_figures(report, selected)
    return report

