"""Reader grades and agreement: between readers, and between the assist and each reader.

Reader grades come as a TSV with columns ``participant_id``, ``session``, ``level``,
``reader``, ``scale`` (``griffith`` or ``pfirrmann``) and ``grade`` (1-8, I-V or 1-5, and
Griffith's double notation ``4/7``, taken as its height grade, the more severe, for the
statistics). Agreement between two sets of grades of the same discs:

* exact and within-one-grade agreement;
* Cohen's κ, unweighted, linear and quadratic (statsmodels
  :func:`~statsmodels.stats.inter_rater.cohens_kappa`), with 95 % intervals from a bootstrap
  over participants (the discs of one participant are not independent);
* the confusion matrix.

With more than two readers the consensus is the median grade of the readers (the lower of
the two middle grades when their number is even).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..errors import DatasetError, ParameterError
from ..io.bidsname import bids_id

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["AGREEMENT_KEYS", "READER_COLUMNS", "Agreement", "agreement", "agreement_table",
           "consensus", "grade_value", "read_reader_grades"]

#: Columns of a reader grades file.
READER_COLUMNS = ("participant_id", "session", "level", "reader", "scale", "grade")
_ROMAN = {"I": 1, "II": 2, "III": 3, "IV": 4, "V": 5}
_RANGE = {"griffith": 8, "pfirrmann": 5}


def grade_value(grade, scale: str) -> int:
    """Ordinal value of a grade: ``"4/7"`` → 7, ``"III"`` → 3, ``2`` → 2.

    Raises
    ------
    ParameterError
        A grade that is not one of the scale's, or an unknown scale.
    """
    if scale not in _RANGE:
        raise ParameterError(f"grade scale {scale!r}; expected griffith or pfirrmann")
    text = str(grade).strip()
    if scale == "griffith" and "/" in text:
        text = text.split("/")[-1]
    value = _ROMAN.get(text.upper()) if scale == "pfirrmann" and not text.isdigit() else None
    if value is None:
        try:
            value = int(float(text))
        except ValueError:
            value = 0
    if not 1 <= value <= _RANGE[scale]:
        raise ParameterError(f"grade {grade!r} outside {scale} 1-{_RANGE[scale]}")
    return value


def read_reader_grades(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Reader grades from a TSV file, with an integer ``value`` column added.

    Raises
    ------
    DatasetError
        A missing column, an unknown scale or a grade outside its scale (the row is named).
    """
    import pandas as pd

    try:
        table = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    except (OSError, ValueError) as exc:
        raise DatasetError(f"reader grades {path}: {exc}; expected a TSV file with columns "
                           f"{', '.join(READER_COLUMNS)}") from exc
    missing = [c for c in READER_COLUMNS if c not in table.columns]
    if missing:
        raise DatasetError(f"reader grades {path}: no column {', '.join(missing)}; expected "
                           f"{', '.join(READER_COLUMNS)}")
    table["scale"] = table["scale"].str.strip().str.lower()
    values = []
    for i, row in enumerate(table.itertuples(), start=2):
        if row.scale not in _RANGE:
            raise DatasetError(f"reader grades {path}, line {i}: scale {row.scale!r}; expected "
                               "griffith or pfirrmann")
        try:
            values.append(grade_value(row.grade, row.scale))
        except ParameterError as exc:
            raise DatasetError(f"reader grades {path}, line {i}: {exc}") from exc
    table["value"] = values
    return table


def consensus(grades: pd.DataFrame) -> pd.DataFrame:
    """Median grade of the readers per disc and scale (the lower middle one when even).

    Parameters
    ----------
    grades : pandas.DataFrame
        :func:`read_reader_grades` output.

    Returns
    -------
    pandas.DataFrame
        ``participant_id``, ``session``, ``level``, ``scale``, ``value``, ``readers``.
    """
    keys = ["participant_id", "session", "level", "scale"]

    def lower_median(v):
        s = np.sort(np.asarray(v))
        return int(s[(len(s) - 1) // 2])

    out = grades.groupby(keys, sort=False)["value"].agg([lower_median, "size"]).reset_index()
    return out.rename(columns={"lower_median": "value", "size": "readers"})


@dataclass(frozen=True)
class Agreement:
    """Agreement of two sets of grades of the same discs.

    Attributes
    ----------
    n_discs, n_participants : int
    exact, within_one : float
        Shares of discs graded the same, and within one grade.
    kappa, kappa_linear, kappa_quadratic : float
        Cohen's κ, unweighted and weighted.
    ci : dict of str to (float, float)
        95 % participant-bootstrap intervals of each κ (NaN with fewer than 3 participants).
    confusion : pandas.DataFrame
        Counts, first set's grades in rows, second's in columns.
    """

    n_discs: int
    n_participants: int
    exact: float
    within_one: float
    kappa: float
    kappa_linear: float
    kappa_quadratic: float
    ci: dict[str, tuple[float, float]]
    confusion: pd.DataFrame

    def row(self) -> dict[str, float]:
        """The numbers as one table row."""
        out = {"n_discs": self.n_discs, "n_participants": self.n_participants,
               "exact": self.exact, "within_one": self.within_one}
        for name in ("kappa", "kappa_linear", "kappa_quadratic"):
            out[name] = getattr(self, name)
            out[f"{name}_ci_low"], out[f"{name}_ci_high"] = self.ci[name]
        return out


def _kappas(a: np.ndarray, b: np.ndarray, k: int) -> tuple[float, float, float]:
    from statsmodels.stats.inter_rater import cohens_kappa

    table = np.zeros((k, k))
    np.add.at(table, (a - 1, b - 1), 1)
    out = []
    for wt in (None, "linear", "quadratic"):
        with np.errstate(invalid="ignore", divide="ignore"):
            res = cohens_kappa(table, wt=wt, return_results=False)
        out.append(float(res))
    return tuple(out)  # type: ignore[return-value]


def agreement(first, second, participants, *, scale: str, n_boot: int = 1000,
              seed: int = 0) -> Agreement:
    """Agreement of two graders on the same discs.

    Parameters
    ----------
    first, second : sequence of int
        Ordinal grades of each disc (:func:`grade_value`).
    participants : sequence
        The participant of each disc (the bootstrap resamples participants).
    scale : {"griffith", "pfirrmann"}
    n_boot : int
        Bootstrap resamples.
    seed : int
        Seed of the bootstrap (results are reproducible).

    Returns
    -------
    Agreement
    """
    import pandas as pd

    a, b = np.asarray(first, int), np.asarray(second, int)
    who = np.asarray(participants)
    if not (len(a) == len(b) == len(who)) or len(a) == 0:
        raise ParameterError("agreement needs the same number (> 0) of grades from both "
                             "graders and participants")
    k = _RANGE[scale]
    kappas = _kappas(a, b, k)
    names = np.unique(who)
    ci = {n: (math.nan, math.nan) for n in ("kappa", "kappa_linear", "kappa_quadratic")}
    if len(names) >= 3 and n_boot > 0:
        rng = np.random.default_rng(seed)
        rows = {n: np.flatnonzero(who == n) for n in names}
        boot = []
        for _ in range(n_boot):
            pick = np.concatenate([rows[n] for n in rng.choice(names, len(names))])
            boot.append(_kappas(a[pick], b[pick], k))
        boot = np.asarray(boot)
        for j, name in enumerate(ci):
            finite = boot[:, j][np.isfinite(boot[:, j])]
            if finite.size:
                ci[name] = (float(np.quantile(finite, 0.025)), float(np.quantile(finite, 0.975)))
    labels = list(range(1, k + 1))
    confusion = pd.crosstab(pd.Categorical(a, labels), pd.Categorical(b, labels),
                            dropna=False)
    return Agreement(len(a), len(names), float(np.mean(a == b)),
                     float(np.mean(np.abs(a - b) <= 1)), *kappas, ci, confusion)


#: Columns of ``agreement.tsv`` besides the numbers of :meth:`Agreement.row`.
AGREEMENT_KEYS = ("scale", "first", "second")


def agreement_table(discs: pd.DataFrame, readers: pd.DataFrame, *, n_boot: int = 1000,
                    seed: int = 0) -> tuple[pd.DataFrame, dict[str, list[list[int]]]]:
    """Agreement of the assist with every reader and of the readers with each other.

    Parameters
    ----------
    discs : pandas.DataFrame
        ``discs.tsv`` of a run (``participant_id``, ``session``, ``level``, ``griffith``,
        ``pfirrmann``).
    readers : pandas.DataFrame
        :func:`read_reader_grades` output (``sub-``/``ses-`` prefixes may be left out).

    Returns
    -------
    table : pandas.DataFrame
        One row per scale and pair of graders (``discmri``, each reader, and ``consensus``
        of the readers when there are two or more): :data:`AGREEMENT_KEYS` and the numbers
        of :meth:`Agreement.row`.
    confusion : dict
        ``"scale: first vs second"`` → confusion matrix (first's grades in rows).
    """
    import pandas as pd

    keys = ["participant_id", "session", "level"]
    readers = readers.copy()
    readers["participant_id"] = readers["participant_id"].map(lambda v: bids_id(v, "sub-"))
    readers["session"] = readers["session"].map(lambda v: bids_id(v, "ses-"))
    rows, matrices = [], {}
    for scale, column in (("griffith", "griffith"), ("pfirrmann", "pfirrmann")):
        given = readers[readers.scale == scale]
        if given.empty:
            continue
        graders: dict[str, pd.Series] = {}
        ours = discs[[*keys, column]].copy()
        ours = ours[ours[column].astype(str).str.len() > 0]
        if not ours.empty:
            graders["discmri"] = ours.set_index(keys)[column].map(
                lambda g, s=scale: grade_value(g, s))
        for name, part in given.groupby("reader", sort=True):
            graders[str(name)] = part.set_index(keys)["value"]
        names = [n for n in graders if n != "discmri"]
        if len(names) >= 2:
            graders["consensus"] = consensus(given).set_index(keys)["value"]
        pairs = [("discmri", n) for n in [*names, "consensus"] if "discmri" in graders
                 and n in graders]
        pairs += [(x, y) for i, x in enumerate(names) for y in names[i + 1:]]
        for first, second in pairs:
            both = pd.concat([graders[first].rename("a"), graders[second].rename("b")],
                             axis=1, join="inner").dropna()
            if both.empty:
                continue
            result = agreement(both.a.astype(int), both.b.astype(int),
                               both.index.get_level_values("participant_id"), scale=scale,
                               n_boot=n_boot, seed=seed)
            rows.append({"scale": scale, "first": first, "second": second, **result.row()})
            matrices[f"{scale}: {first} vs {second}"] = result.confusion.to_numpy().tolist()
    columns = [*AGREEMENT_KEYS, "n_discs", "n_participants", "exact", "within_one"]
    for name in ("kappa", "kappa_linear", "kappa_quadratic"):
        columns += [name, f"{name}_ci_low", f"{name}_ci_high"]
    return pd.DataFrame(rows, columns=columns), matrices
