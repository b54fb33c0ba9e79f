"""Calibration of the grade thresholds to a site's readers, by ordinal regression.

Each Griffith boundary is a threshold on one feature (:mod:`~discmri.grading.criteria`), so
the boundaries fall into groups that share a feature and order its grades:

========== ===================== ======================== ===================================
group      discs (reader grade)  feature                  boundaries, low to high feature
========== ===================== ======================== ===================================
annulus    all                   log np_outer_af_ratio    5-8 | 4 (``af_mild``),
                                                          4 | 1-3 (``af_hyperintense``)
csf        1-3                   log np_csf_ratio         3 | 2 (``csf_fat_equivalent``),
                                                          2 | 1 (``csf_equal``)
fat        2-3                   log np_fat_ratio         3 | 2 (``fat_above``)
height     5-8                   height_loss_pct          5 | 6 (``loss_some``), 6 | 7
                                                          (``loss_moderate``), 7 | 8
                                                          (``loss_collapsed``)
========== ===================== ======================== ===================================

A reader who sees a feature with some scatter grades a disc as a probit ordinal model of it:
P(grade ≤ k) = Φ(c_k − β·x). Its maximum-likelihood fit (statsmodels
:class:`~statsmodels.miscmodels.ordinal_model.OrderedModel`) puts each boundary where the
reader is equally likely to call either grade, x = c_k / β; β says how sharply the reader
separates them (1/β is the reader's scatter in feature units). Every reader's grade of a disc
is one observation. A group whose grades are not all present with :data:`MIN_PER_GRADE`
observations, or whose fit does not rise with the feature, keeps the thresholds given, and the
calibration says why. The double notation's ``collapse_with_signal`` and ``cleft`` are not
Griffith boundaries and stay as given.

The fit is cross-validated by participant: the thresholds fitted without a participant's
discs grade them, and the agreement of those grades with the readers' consensus is what a
new participant of the site can expect.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ParameterError
from .agreement import Agreement, _bids, agreement, consensus, grade_value
from .criteria import THRESHOLDS, Thresholds, griffith

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["GROUPS", "MIN_PER_GRADE", "Calibration", "calibrate", "fit_thresholds",
           "reader_signal_height"]

#: Fewest observations (reader grades) of every grade of a group for it to be fitted.
MIN_PER_GRADE = 3

#: The groups of boundaries: name → (feature, log scale, reader signal grades used, the
#: categories from low to high feature as tuples of Griffith grades, threshold names).
GROUPS: dict[str, tuple[str, bool, tuple[int, ...], tuple[tuple[int, ...], ...],
                        tuple[str, ...]]] = {
    "annulus": ("np_outer_af_ratio", True, (1, 2, 3, 4, 5),
                ((5,), (4,), (1, 2, 3)), ("af_mild", "af_hyperintense")),
    "csf": ("np_csf_ratio", True, (1, 2, 3), ((3,), (2,), (1,)),
            ("csf_fat_equivalent", "csf_equal")),
    "fat": ("np_fat_ratio", True, (2, 3), ((3,), (2,)), ("fat_above",)),
    "height": ("height_loss_pct", False, (5,), ((5,), (6,), (7,), (8,)),
               ("loss_some", "loss_moderate", "loss_collapsed")),
}

_KEYS = ["participant_id", "session", "level"]


def reader_signal_height(grade) -> tuple[int, int]:
    """The signal grade (1-5, 5 hypointense) and height grade (5 normal, 6-8) of a grade.

    Griffith grades: ``"3"`` → (3, 5), ``"7"`` → (5, 7), ``"4/7"`` → (4, 7).

    Raises
    ------
    ParameterError
        Not a Griffith grade.
    """
    text = str(grade).strip()
    if "/" in text:
        first, second = text.split("/", 1)
        signal, height = grade_value(first, "griffith"), grade_value(second, "griffith")
        if signal > 4 or height < 6:
            raise ParameterError(f"Griffith grade {grade!r}: expected a preserved signal grade "
                                 "1-4 over a height grade 6-8, as in '4/7'")
        return signal, height
    value = grade_value(text, "griffith")
    return (value, 5) if value <= 4 else (5, value)


def _fit_group(name: str, rows: pd.DataFrame) -> dict[str, Any]:
    """Fit one group's boundaries (see :data:`GROUPS`); ``thresholds`` empty when kept."""
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    feature, log, signals, categories, names = GROUPS[name]
    grade = rows["height"] if name == "height" else rows["signal"]
    use = rows["signal"].isin(signals).to_numpy().copy()
    x = rows[feature].to_numpy(float)
    if log:
        with np.errstate(divide="ignore", invalid="ignore"):
            x = np.log(np.where(x > 0, x, np.nan))
    use &= np.isfinite(x)
    code = np.full(len(rows), -1)
    for k, members in enumerate(categories):
        code[grade.isin(members).to_numpy()] = k
    use &= code >= 0
    counts = [int(np.sum(use & (code == k))) for k in range(len(categories))]
    out: dict[str, Any] = {"group": name, "feature": feature, "n": int(use.sum()),
                           "counts": {"|".join(map(str, m)): c
                                      for m, c in zip(categories, counts, strict=True)},
                           "thresholds": {}, "beta": math.nan, "converged": False,
                           "kept": ""}
    few = [("/".join(map(str, m)), c) for m, c in zip(categories, counts, strict=True)
           if c < MIN_PER_GRADE]
    if few:
        out["kept"] = ("too few reader grades: " + ", ".join(f"grade {m}: {c}" for m, c in few)
                       + f" (at least {MIN_PER_GRADE} each)")
        return out
    x, y = x[use], code[use]
    centre, spread = float(np.mean(x)), float(np.std(x)) or 1.0
    z = ((x - centre) / spread)[:, None]
    model = OrderedModel(y, z, distr="probit")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # separated grades: β grows, c/β stays in the gap
        fit = model.fit(method="bfgs", disp=False, maxiter=2000)
    beta = float(fit.params[0])
    cuts = np.asarray(model.transform_threshold_params(fit.params))[1:-1]
    out["beta"] = beta / spread  # per unit of the (log) feature
    out["converged"] = bool(fit.mle_retvals.get("converged", False))
    if not (np.isfinite(beta) and beta > 0 and np.all(np.isfinite(cuts))):
        out["kept"] = "the readers' grades do not rise with the feature (fit β ≤ 0)"
        return out
    values = centre + spread * cuts / beta
    if log:
        values = np.exp(values)
    out["thresholds"] = {n: float(v) for n, v in zip(names, values, strict=True)}
    return out


def _rows(features: pd.DataFrame, readers: pd.DataFrame) -> pd.DataFrame:
    """Griffith reader grades joined with the features of their discs."""
    given = readers[readers["scale"] == "griffith"].copy()
    if given.empty:
        raise ParameterError("calibration needs Griffith (modified Pfirrmann) reader grades; "
                             "the readers' table has none (scale column)")
    for frame in (given, features):
        frame["participant_id"] = frame["participant_id"].map(lambda v: _bids(v, "sub-"))
        frame["session"] = frame["session"].fillna("").map(lambda v: _bids(v, "ses-"))
    parts = given["grade"].map(reader_signal_height)
    given["signal"] = [p[0] for p in parts]
    given["height"] = [p[1] for p in parts]
    missing = [c for c in (*_KEYS, *(g[0] for g in GROUPS.values())) if c not in features]
    if missing:
        raise ParameterError(f"calibration features: no column {', '.join(missing)}; expected "
                             "discs.tsv of a discmri run or discmri grade's table with "
                             "participant_id and session")
    return given.merge(features, on=_KEYS, how="inner")


def fit_thresholds(rows: pd.DataFrame, base: Thresholds = THRESHOLDS
                   ) -> tuple[Thresholds, list[dict[str, Any]]]:
    """Thresholds fitted to reader grades joined with features; the rest from ``base``.

    Every group of :data:`GROUPS` is fitted on its own.

    Parameters
    ----------
    rows : pandas.DataFrame
        One row per reader grade: ``signal`` and ``height`` (:func:`reader_signal_height`)
        and the feature columns.
    base : Thresholds
        Thresholds kept where a group cannot be fitted.

    Returns
    -------
    thresholds : Thresholds
    fits : list of dict
        Per group: feature, n, counts per grade, β (per feature unit: the reader's
        sharpness), convergence, the fitted thresholds, and why a group was kept.
    """
    fits = [_fit_group(name, rows) for name in GROUPS]
    fitted = {k: v for f in fits for k, v in f["thresholds"].items()}
    t = replace(base, **fitted)
    if not (t.af_mild < t.af_hyperintense and t.loss_some < t.loss_moderate
            < t.loss_collapsed and t.csf_fat_equivalent < t.csf_equal):
        raise ParameterError("calibration gave thresholds out of order; check the reader "
                             f"grades ({asdict(t)})")
    return t, fits


@dataclass(frozen=True)
class Calibration:
    """Thresholds fitted to a site's readers and how well they do on new participants.

    Attributes
    ----------
    thresholds : Thresholds
        Fitted to all the reader grades (what ``--thresholds`` then uses).
    fits : list of dict
        Per group of boundaries (:func:`fit_thresholds`).
    cross_validated : Agreement
        Grades from thresholds fitted without each participant, against the readers'
        consensus (Griffith, the height grade for a double notation).
    default : Agreement
        The thresholds given (the defaults) against the same consensus.
    folds : int
        Participant folds of the cross-validation.
    n_reader_grades, n_unmatched : int
        Griffith reader grades used, and those without a measured disc (left out).
    """

    thresholds: Thresholds
    fits: list[dict[str, Any]]
    cross_validated: Agreement
    default: Agreement
    folds: int
    n_reader_grades: int
    n_unmatched: int

    def to_json(self) -> dict[str, Any]:
        """A thresholds file with the calibration's record.

        ``Thresholds`` is what :func:`~discmri.grading.criteria.load_thresholds` reads.
        """
        from ..io.tables import json_value

        def numbers(a: Agreement) -> dict[str, Any]:
            row = {k: json_value(v) for k, v in a.row().items()}
            return {**row, "confusion": a.confusion.to_numpy().tolist()}

        fits = [{k: json_value(v) for k, v in f.items()} for f in self.fits]
        return {"Thresholds": asdict(self.thresholds), "Fits": fits,
                "CrossValidated": numbers(self.cross_validated),
                "Default": numbers(self.default), "Folds": self.folds,
                "ReaderGrades": self.n_reader_grades, "Unmatched": self.n_unmatched,
                "Method": "probit ordinal regression per group of boundaries (statsmodels "
                          "OrderedModel); agreement against the readers' consensus, "
                          "cross-validated by participant"}


def _grades(table: pd.DataFrame, thresholds: Thresholds) -> np.ndarray:
    return np.array([grade_value(g, "griffith") if (g := griffith(r, thresholds).grade) else 0
                     for r in table.to_dict("records")])


def calibrate(features: pd.DataFrame, readers: pd.DataFrame, *,
              base: Thresholds = THRESHOLDS, folds: int = 5, seed: int = 0,
              n_boot: int = 1000) -> Calibration:
    """Fit the grade thresholds to a site's reader grades, cross-validated by participant.

    Parameters
    ----------
    features : pandas.DataFrame
        One row per disc: ``participant_id``, ``session``, ``level`` and the grading
        features (``discs.tsv`` of ``discmri run`` holds them).
    readers : pandas.DataFrame
        Reader grades (:func:`~discmri.grading.agreement.read_reader_grades`); the Griffith
        ones are used.
    base : Thresholds
        Thresholds kept for what cannot be fitted, and compared with.
    folds : int
        Participant folds (at most the number of participants; leave-one-out when equal).
    seed : int
        Seed of the fold assignment and of the bootstrap intervals.
    n_boot : int
        Bootstrap resamples of the agreement intervals.

    Returns
    -------
    Calibration

    Raises
    ------
    ParameterError
        No Griffith reader grades, features without the needed columns, no reader grade
        of a measured disc, fewer than 2 participants or 2 folds.
    """
    if folds < 2:
        raise ParameterError(f"folds={folds}; expected 2 or more participant folds")
    rows = _rows(features.copy(), readers)
    n_given = int((readers["scale"] == "griffith").sum())
    if rows.empty:
        raise ParameterError("calibration: no reader grade is of a measured disc; expected "
                             "participant_id, session and level to match the features")
    thresholds, fits = fit_thresholds(rows, base)
    names = np.unique(rows["participant_id"])
    if len(names) < 2:
        raise ParameterError("calibration needs reader grades of at least 2 participants "
                             "to cross-validate")
    k = int(min(folds, len(names)))
    order = np.random.default_rng(seed).permutation(names)
    fold_of = {n: i % k for i, n in enumerate(order)}
    given = rows.copy()
    given["value"] = given["grade"].map(lambda g: grade_value(g, "griffith"))
    truth = consensus(given.assign(scale="griffith")[[*_KEYS, "scale", "value"]])
    discs = truth[_KEYS].merge(rows.drop_duplicates(_KEYS), on=_KEYS, how="left")
    predicted = np.zeros(len(discs), int)
    for f in range(k):
        test = discs["participant_id"].map(fold_of).to_numpy() == f
        train = rows["participant_id"].map(fold_of).to_numpy() != f
        fold_thresholds, _ = fit_thresholds(rows[train], base)
        predicted[test] = _grades(discs[test], fold_thresholds)
    graded = predicted > 0
    default = _grades(discs, base)
    who = discs["participant_id"].to_numpy()
    expected = truth["value"].to_numpy(int)
    cv = agreement(predicted[graded], expected[graded], who[graded], scale="griffith",
                   n_boot=n_boot, seed=seed)
    ok = default > 0
    before = agreement(default[ok], expected[ok], who[ok], scale="griffith", n_boot=n_boot,
                       seed=seed)
    n_used = len(rows)
    return Calibration(thresholds, fits, cv, before, k, n_used, n_given - n_used)
