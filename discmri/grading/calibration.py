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
from ..io.bidsname import bids_id
from .agreement import Agreement, agreement, consensus, grade_value
from .criteria import THRESHOLDS, Thresholds, griffith, pfirrmann

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["GROUPS", "MIN_PER_GRADE", "PFIRRMANN_GROUPS", "Calibration", "calibrate",
           "fit_thresholds", "reader_signal_height"]

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

#: The groups of Pfirrmann boundaries (same layout as :data:`GROUPS`, grades 1-5 for I-V).
#: Pfirrmann III holds two kinds of disc (grey with normal height; bright below presacral
#: fat's level) and IV two (hypointense; grey with height decreased), so each group keeps the
#: discs whose grade its feature decides: the annulus group splits IV from III-I on the discs
#: of normal height (``height_loss_pct`` below ``loss_some``), which leaves ``af_hyperintense``
#: as given; the CSF group orders III, II and I among the discs without a cleft (a banded
#: nucleus is II whatever its signal), and the fat group splits III from II where a fat
#: region was measured (a nucleus above presacral fat is bright, II or I); the height group
#: splits V from IV.
PFIRRMANN_GROUPS: dict[str, tuple[str, bool, tuple[int, ...], tuple[tuple[int, ...], ...],
                                  tuple[str, ...]]] = {
    "annulus": ("np_outer_af_ratio", True, (1, 2, 3, 4), ((4,), (1, 2, 3)), ("af_mild",)),
    "csf": ("np_csf_ratio", True, (1, 2, 3), ((3,), (2,), (1,)),
            ("csf_fat_equivalent", "csf_equal")),
    "fat": ("np_fat_ratio", True, (2, 3), ((3,), (2,)), ("fat_above",)),
    "height": ("height_loss_pct", False, (4, 5), ((4,), (5,)), ("loss_collapsed",)),
}

_GROUPS = {"griffith": GROUPS, "pfirrmann": PFIRRMANN_GROUPS}


def _groups(scale: str):
    """The groups of boundaries of a scale, or a ParameterError naming the choices."""
    if scale not in _GROUPS:
        raise ParameterError(f"scale must be 'griffith' or 'pfirrmann', got {scale!r}")
    return _GROUPS[scale]

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


def _fit_group(name: str, rows: pd.DataFrame, groups=None) -> dict[str, Any]:
    """Fit one group's boundaries (see :data:`GROUPS`); ``thresholds`` empty when kept."""
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    feature, log, signals, categories, names = (groups or GROUPS)[name]
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


def _rows(features: pd.DataFrame, readers: pd.DataFrame, scale: str = "griffith"
          ) -> pd.DataFrame:
    """Reader grades of one scale joined with the features of their discs.

    ``signal`` and ``height`` hold the Griffith signal and height grades
    (:func:`reader_signal_height`), or both the Pfirrmann grade (1-5).
    """
    given = readers[readers["scale"] == scale].copy()
    if given.empty:
        raise ParameterError(f"calibration needs {scale} reader grades; the readers' table "
                             "has none (scale column)")
    for frame in (given, features):
        frame["participant_id"] = frame["participant_id"].map(lambda v: bids_id(v, "sub-"))
        frame["session"] = frame["session"].fillna("").map(lambda v: bids_id(v, "ses-"))
    if scale == "griffith":
        parts = given["grade"].map(reader_signal_height)
        given["signal"] = [p[0] for p in parts]
        given["height"] = [p[1] for p in parts]
    else:
        given["signal"] = given["height"] = given["grade"].map(
            lambda g: grade_value(g, "pfirrmann"))
    needed = {g[0] for g in _groups(scale).values()} | ({"cleft_depth"}
                                                          if scale == "pfirrmann" else set())
    missing = [c for c in (*_KEYS, *sorted(needed)) if c not in features]
    if missing:
        raise ParameterError(f"calibration features: no column {', '.join(missing)}; expected "
                             "discs.tsv of a discmri run or discmri grade's table with "
                             "participant_id and session")
    return given.merge(features, on=_KEYS, how="inner")


def fit_thresholds(rows: pd.DataFrame, base: Thresholds = THRESHOLDS,
                   scale: str = "griffith") -> tuple[Thresholds, list[dict[str, Any]]]:
    """Thresholds fitted to reader grades joined with features; the rest from ``base``.

    Every group of :data:`GROUPS` (Griffith) or :data:`PFIRRMANN_GROUPS` is fitted on its
    own; a Pfirrmann group on the discs whose grade its feature decides (see there, with
    ``base``'s ``loss_some`` and ``cleft``).

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
    groups = _groups(scale)
    if scale == "griffith":
        fits = [_fit_group(name, rows) for name in groups]
    else:
        loss = rows["height_loss_pct"].to_numpy(float)
        cleft = rows["cleft_depth"].to_numpy(float)
        keep = {"annulus": ~(loss >= base.loss_some), "csf": ~(cleft >= base.cleft),
                "fat": ~(cleft >= base.cleft), "height": np.ones(len(rows), bool)}
        fits = [_fit_group(name, rows[keep[name]], groups) for name in groups]
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
        consensus (on the scale fitted; Griffith's double notation counts as its height
        grade).
    default : Agreement
        The thresholds given (the defaults) against the same consensus.
    folds : int
        Participant folds of the cross-validation.
    n_reader_grades, n_unmatched : int
        Reader grades used, and those without a measured disc (left out).
    scale : {"griffith", "pfirrmann"}
        The readers' scale that was fitted.
    """

    thresholds: Thresholds
    fits: list[dict[str, Any]]
    cross_validated: Agreement
    default: Agreement
    folds: int
    n_reader_grades: int
    n_unmatched: int
    scale: str = "griffith"

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
                "Scale": self.scale,
                "Method": "probit ordinal regression per group of boundaries (statsmodels "
                          "OrderedModel); agreement against the readers' consensus, "
                          "cross-validated by participant"}


def _grades(table: pd.DataFrame, thresholds: Thresholds, scale: str = "griffith"
            ) -> np.ndarray:
    judge = griffith if scale == "griffith" else pfirrmann
    return np.array([grade_value(g, scale) if (g := judge(r, thresholds).grade) else 0
                     for r in table.to_dict("records")])


def calibrate(features: pd.DataFrame, readers: pd.DataFrame, *,
              base: Thresholds = THRESHOLDS, folds: int = 5, seed: int = 0,
              n_boot: int = 1000, scale: str | None = None) -> Calibration:
    """Fit the grade thresholds to a site's reader grades, cross-validated by participant.

    Parameters
    ----------
    features : pandas.DataFrame
        One row per disc: ``participant_id``, ``session``, ``level`` and the grading
        features (``discs.tsv`` of ``discmri run`` holds them).
    readers : pandas.DataFrame
        Reader grades (:func:`~discmri.grading.agreement.read_reader_grades`); those of
        ``scale`` are used.
    base : Thresholds
        Thresholds kept for what cannot be fitted, and compared with.
    folds : int
        Participant folds (at most the number of participants; leave-one-out when equal).
    seed : int
        Seed of the fold assignment and of the bootstrap intervals.
    n_boot : int
        Bootstrap resamples of the agreement intervals.
    scale : {"griffith", "pfirrmann"}, optional
        The readers' scale to fit (Pfirrmann: :data:`PFIRRMANN_GROUPS`); by default Griffith
        when the readers gave Griffith grades, else Pfirrmann.

    Returns
    -------
    Calibration

    Raises
    ------
    ParameterError
        No reader grades of the scale, features without the needed columns, no reader grade
        of a measured disc, fewer than 2 participants or 2 folds.
    """
    if folds < 2:
        raise ParameterError(f"folds={folds}; expected 2 or more participant folds")
    if scale is None:
        scale = "pfirrmann" if not (readers["scale"] == "griffith").any() and (
            readers["scale"] == "pfirrmann").any() else "griffith"
    _groups(scale)  # a scale it does not know is refused before the readers are read
    rows = _rows(features.copy(), readers, scale)
    n_given = int((readers["scale"] == scale).sum())
    if rows.empty:
        raise ParameterError("calibration: no reader grade is of a measured disc; expected "
                             "participant_id, session and level to match the features")
    thresholds, fits = fit_thresholds(rows, base, scale)
    names = np.unique(rows["participant_id"])
    if len(names) < 2:
        raise ParameterError("calibration needs reader grades of at least 2 participants "
                             "to cross-validate")
    k = int(min(folds, len(names)))
    order = np.random.default_rng(seed).permutation(names)
    fold_of = {n: i % k for i, n in enumerate(order)}
    given = rows.copy()
    given["value"] = given["grade"].map(lambda g: grade_value(g, scale))
    truth = consensus(given.assign(scale=scale)[[*_KEYS, "scale", "value"]])
    discs = truth[_KEYS].merge(rows.drop_duplicates(_KEYS), on=_KEYS, how="left")
    predicted = np.zeros(len(discs), int)
    for f in range(k):
        test = discs["participant_id"].map(fold_of).to_numpy() == f
        train = rows["participant_id"].map(fold_of).to_numpy() != f
        fold_thresholds, _ = fit_thresholds(rows[train], base, scale)
        predicted[test] = _grades(discs[test], fold_thresholds, scale)
    graded = predicted > 0
    default = _grades(discs, base, scale)
    who = discs["participant_id"].to_numpy()
    expected = truth["value"].to_numpy(int)
    cv = agreement(predicted[graded], expected[graded], who[graded], scale=scale,
                   n_boot=n_boot, seed=seed)
    ok = default > 0
    before = agreement(default[ok], expected[ok], who[ok], scale=scale, n_boot=n_boot,
                       seed=seed)
    n_used = len(rows)
    return Calibration(thresholds, fits, cv, before, k, n_used, n_given - n_used, scale)
