"""Modified Pfirrmann (Griffith) and Pfirrmann grades from the evidence, with the reasons.

The criteria (../shared/REFERENCE.md §3):

Griffith et al. 2007 (Spine 32:E708), eight grades, from the signal of the nucleus (and inner
annulus) against CSF, presacral fat and the outer annulus, and from the height:

1. uniformly hyperintense, equal to CSF;
2. hyperintense, above presacral fat and below CSF, with or without an intranuclear cleft;
3. hyperintense, below presacral fat;
4. mildly hyperintense, slightly above the outer annulus;
5. hypointense, equal to the outer annulus, normal height;
6.–8. hypointense with < 30 %, 30–60 %, > 60 % height loss.

A collapsed disc whose signal is preserved is written with both grades (``"4/7"``).

Pfirrmann et al. 2001 (Spine 26:1873), five grades: I homogeneous, bright, = CSF; II
inhomogeneous (horizontal bands), bright; III grey, NP/AF distinction unclear, height normal to
slightly decreased; IV grey to black, distinction lost, height normal to moderately decreased;
V black, collapsed.

The thresholds (:data:`THRESHOLDS`) turn the words into numbers. Where the criterion names a
reference ("equal to CSF", "above presacral fat") the threshold sits between that reference
and the next grade's; where it does not ("mildly hyperintense"), it is set from the T2w
signal ratios that nucleus T2 by grade gives (grade means of 210, 129, 84, 51 ms for
Pfirrmann I-IV, REFERENCE.md §4; annulus T2 37-62 ms) at a T2w echo time of about 100 ms, and
checked on the phantom, whose tissues are stated in :mod:`discmri.phantom.tissue` and which
this module does not import. A site's readers may see the boundaries elsewhere: the table is
replaceable (``--thresholds F``).
"""

from __future__ import annotations

import json
import math
import os
import warnings
from dataclasses import asdict, dataclass, fields
from typing import Any

from ..errors import ParameterError
from .features import NORMATIVE_DHI

__all__ = ["ADC_INFORMATIVE_RATIO", "ADC_NORMAL_DEGENERATED", "RETIRED_THRESHOLDS",
           "T2_BY_PFIRRMANN", "THRESHOLDS", "Suggestion", "Thresholds", "adc_likelihood_ratio",
           "griffith", "load_thresholds", "pfirrmann", "supporting_evidence"]


@dataclass(frozen=True)
class Thresholds:
    """Boundaries between grades (ratios are nucleus over reference; heights in %).

    Attributes
    ----------
    csf_equal : float
        ``np_csf_ratio`` at or above it: equal to CSF (grade 1). CSF and a healthy nucleus
        (T2 ≈ 200 ms, proton density ≈ 1) give about 1.0 on T2w; grade 2 nuclei (T2 ≈ 130 ms)
        about 0.7.
    fat_above : float
        ``np_fat_ratio`` at or above it: above presacral fat (grade 2); below: grade 3 or more.
    csf_fat_equivalent : float
        Without a presacral fat region, the ``np_csf_ratio`` standing in for
        ``fat_above`` (fat is about 0.6 of CSF on T2 FSE).
    af_hyperintense : float
        ``np_outer_af_ratio`` at or above it: hyperintense (grades 1-3); below: at most
        mildly hyperintense (4). A grade 3 nucleus (T2 ≈ 90 ms) is about 3 times the annulus
        (T2 ≈ 45 ms) at TE 100 ms; a grade 4 nucleus (T2 ≈ 60 ms) about 2 times.
    af_mild : float
        ``np_outer_af_ratio`` at or above it: mildly hyperintense (4); below: hypointense,
        equal to the outer annulus (5-8).
    loss_some, loss_moderate, loss_collapsed : float
        Height loss (%) from which a disc has lost height (6, "< 30 %"; below it the height is
        normal within measurement and biological spread), 30-60 % (7) and > 60 % (8).
    collapse_with_signal : float
        Height loss (%) from which a disc whose signal is preserved (grades 1-4) gets the
        double notation (e.g. ``"4/7"``): 30 % plus the spread of the height-loss estimate
        (about ±10 % where the expected height comes from the level trend of other discs).
    cleft : float
        ``cleft_depth`` from which an intranuclear cleft is reported (Griffith 2) and a
        nucleus is banded (Pfirrmann II rather than I).
    normative_dhi : float
        Expected mean-height DHI of a disc when no other disc of the spine has a bright
        nucleus to serve as reference: typical disc height 7-13 mm over vertebral body height
        25-30 mm (REFERENCE.md §2), 10 / 27.5 mm. One value for every level: the reference
        gives no level-specific MRI norm; a site with its own sets it here.
    """

    csf_equal: float = 0.85
    fat_above: float = 1.0
    csf_fat_equivalent: float = 0.6
    af_hyperintense: float = 2.6
    af_mild: float = 1.5
    loss_some: float = 10.0
    loss_moderate: float = 30.0
    loss_collapsed: float = 60.0
    collapse_with_signal: float = 40.0
    cleft: float = 0.3
    normative_dhi: float = NORMATIVE_DHI


#: The default thresholds (see :class:`Thresholds` for where each comes from).
THRESHOLDS = Thresholds()

#: Names that threshold files of earlier versions may hold, and why they are ignored.
RETIRED_THRESHOLDS = {
    "inhomogeneous": "Pfirrmann I and II are told apart by the cleft alone since issue 23"}


def load_thresholds(path: str | os.PathLike[str]) -> Thresholds:
    """Thresholds from a JSON file.

    Either ``{name: value}`` (names of :class:`Thresholds`) or ``{"Thresholds": {name:
    value}, ...}`` (what ``discmri grade --calibrate`` writes).

    Raises
    ------
    ParameterError
        Unknown names, values that are not numbers, or boundaries out of order.
    """
    try:
        with open(path, encoding="utf-8") as f:
            raw: dict[str, Any] = json.load(f)
    except (OSError, ValueError) as exc:
        raise ParameterError(f"thresholds file {path}: {exc}; expected a JSON object of "
                             "threshold names and numbers") from exc
    if isinstance(raw, dict) and isinstance(raw.get("Thresholds"), dict):
        raw = raw["Thresholds"]  # a calibration's file: the thresholds and their record
    known = {f.name for f in fields(Thresholds)}
    retired = sorted(set(raw) & set(RETIRED_THRESHOLDS)) if isinstance(raw, dict) else []
    for name in retired:
        warnings.warn(f"thresholds file {path}: {name!r} is no longer used "
                      f"({RETIRED_THRESHOLDS[name]}); ignored", UserWarning, stacklevel=2)
        raw = {k: v for k, v in raw.items() if k != name}
    bad = sorted(set(raw) - known)
    if bad or not isinstance(raw, dict):
        raise ParameterError(f"thresholds file {path}: unknown names {', '.join(bad)}; "
                             f"expected some of {', '.join(sorted(known))}")
    try:
        values = {k: float(v) for k, v in raw.items()}
    except (TypeError, ValueError) as exc:
        raise ParameterError(f"thresholds file {path}: {exc}; expected numbers") from exc
    t = Thresholds(**{**asdict(THRESHOLDS), **values})
    if not (t.af_mild < t.af_hyperintense and t.loss_some < t.loss_moderate
            < t.loss_collapsed):
        raise ParameterError(f"thresholds file {path}: boundaries out of order; expected "
                             "af_mild < af_hyperintense and loss_some < loss_moderate < "
                             "loss_collapsed")
    if not 0 < t.normative_dhi < 2:
        raise ParameterError(f"thresholds file {path}: normative_dhi {t.normative_dhi}; "
                             "expected a DHI between 0 and 2")
    return t


@dataclass(frozen=True)
class Suggestion:
    """A suggested grade with its evidence.

    Attributes
    ----------
    grade : str
        ``"1"`` … ``"8"``, or ``"4/7"`` for a collapsed disc with preserved signal (Griffith);
        ``"I"`` … ``"V"`` (Pfirrmann). Empty when the evidence is missing.
    runner_up : str
        The grade across the decisive boundary nearest the evidence.
    confidence : float
        Probability that the decisive features fall on the side they were measured on, from
        their standard errors (the margin to the nearest threshold in standard errors, z,
        as Φ(z)); 0.5 at a boundary or where a decisive feature is missing (e.g. no CSF
        region), near 1 far from every boundary.
    evidence : tuple of str
        Each comparison made: the feature, its value, the threshold and which way it fell.
    """

    grade: str
    runner_up: str
    confidence: float
    evidence: tuple[str, ...]


def _phi(z: float) -> float:
    return 0.5 * (1.0 + math.erf(z / math.sqrt(2.0)))


class _Judge:
    """Comparisons with thresholds, remembered as evidence with their margins."""

    def __init__(self, features):
        self.f = features
        self.evidence: list[str] = []
        self.margins: list[tuple[float, str]] = []  # (z, grade on the other side)

    def above(self, name: str, threshold: float, label: str, yes_grade: str,
              no_grade: str) -> bool | None:
        """Whether a feature reaches a threshold.

        ``yes_grade`` / ``no_grade``: the grade each answer leads to (for the runner-up).
        """
        value = float(self.f.get(name, math.nan))
        if not math.isfinite(value):
            # not judged: taken as "no", and either answer is as likely
            self.margins.append((0.0, yes_grade))
            self.evidence.append(f"{name} n/a: {label} not judged")
            return None
        yes = value >= threshold
        se = float(self.f.get(f"{name}_se", math.nan))
        z = abs(value - threshold) / se if math.isfinite(se) and se > 0 else math.inf
        self.margins.append((z, no_grade if yes else yes_grade))
        self.evidence.append(f"{name} {value:.2f} {'≥' if yes else '<'} {threshold:g}: "
                             f"{'' if yes else 'not '}{label}")
        return yes

    def loss(self, t: Thresholds, decisive: bool = True) -> tuple[int, str]:
        """Height grade (5 normal, 6, 7, 8) from the height loss.

        ``decisive`` False: the height only adds the second grade of a collapsed disc with
        preserved signal, and its margin does not set the confidence.
        """
        loss = float(self.f.get("height_loss_pct", math.nan))
        ref = self.f.get("height_reference", "")
        if not math.isfinite(loss):
            self.evidence.append("height_loss_pct n/a: height taken as normal")
            return 5, ""
        bounds = [(t.loss_collapsed, 8), (t.loss_moderate, 7), (t.loss_some, 6)]
        grade = next((g for b, g in bounds if loss >= b), 5)
        edges = [t.loss_some, t.loss_moderate, t.loss_collapsed]
        nearest = min(edges, key=lambda b: abs(loss - b))
        other = {t.loss_some: (5, 6), t.loss_moderate: (6, 7), t.loss_collapsed: (7, 8)}[nearest]
        runner = other[1] if grade == other[0] else other[0]
        # a height loss of a few per cent is within the spread of the reference
        if decisive:
            self.margins.append((abs(loss - nearest) / 5.0, str(runner)))
        self.evidence.append(f"height_loss_pct {loss:.0f} % (reference {ref}): "
                             + {5: "normal height", 6: f"< {t.loss_moderate:g} % loss",
                                7: f"{t.loss_moderate:g}-{t.loss_collapsed:g} % loss",
                                8: f"> {t.loss_collapsed:g} % loss"}[grade])
        return grade, str(runner)

    def result(self, grade: str) -> Suggestion:
        source = str(self.f.get("csf_reference", "") or "")
        if source.startswith("image"):
            self.evidence.append(f"csf_signal from the {source} (the map has no canal label)")
        self.evidence.extend(supporting_evidence(self.f))
        if not self.margins:
            return Suggestion(grade, "", math.nan, tuple(self.evidence))
        # the smallest margin; of equal ones the last judged, the nearest to the grade given
        k = min(range(len(self.margins)), key=lambda i: (self.margins[i][0], -i))
        z, runner = self.margins[k]
        return Suggestion(grade, runner, _phi(z), tuple(self.evidence))


#: Nucleus T2 (ms, mean and SD) by Pfirrmann grade I-IV in a 479-disc series at 1.5 T
#: (REFERENCE.md §4); supporting evidence only, as T2 depends on the protocol.
T2_BY_PFIRRMANN: dict[str, tuple[float, float]] = {
    "I": (210.0, 32.0), "II": (129.0, 19.0), "III": (84.0, 10.0), "IV": (51.0, 9.0)}

#: Nucleus ADC (mm²/s, mean and SD) of normal and degenerated discs, Kealey et al. 2005
#: (REFERENCE.md §5); the two overlap widely.
ADC_NORMAL_DEGENERATED: tuple[tuple[float, float], tuple[float, float]] = (
    (2.27e-3, 0.58e-3), (2.06e-3, 0.47e-3))


def supporting_evidence(features) -> list[str]:
    """What the nucleus T2 and ADC (when measured) say, beside the grade, not deciding it.

    The T2 is placed against the Pfirrmann grade means of :data:`T2_BY_PFIRRMANN` (the most
    likely grade under their normal spreads); the ADC against normal and degenerated discs'
    means (:data:`ADC_NORMAL_DEGENERATED`).
    """
    out = []
    t2 = float(features.get("np_t2_ms", math.nan))
    if math.isfinite(t2) and t2 > 0:
        def loglik(m: float, s: float) -> float:
            return -0.5 * ((t2 - m) / s) ** 2 - math.log(s)

        like = max(T2_BY_PFIRRMANN, key=lambda g: loglik(*T2_BY_PFIRRMANN[g]))
        m, s = T2_BY_PFIRRMANN[like]
        out.append(f"supporting: np_t2_ms {t2:.0f} ms, most like Pfirrmann {like} "
                   f"({m:.0f} ± {s:.0f} ms in a 1.5 T series; protocol-dependent)")
    adc = float(features.get("np_adc_mm2_s", math.nan))
    if math.isfinite(adc) and adc > 0:
        ratio = adc_likelihood_ratio(adc)
        (mn, sn), (md, sd) = ADC_NORMAL_DEGENERATED
        says = ("favours a normal disc" if ratio >= ADC_INFORMATIVE_RATIO else
                "favours a degenerated disc" if ratio <= 1 / ADC_INFORMATIVE_RATIO else
                "does not tell normal from degenerated")
        out.append(f"supporting: np_adc_mm2_s {adc * 1e3:.2f}e-3, likelihood ratio normal : "
                   f"degenerated {ratio:.2f}, {says} (normal {mn * 1e3:.2f} ± {sn * 1e3:.2f}, "
                   f"degenerated {md * 1e3:.2f} ± {sd * 1e3:.2f} e-3 mm2/s; "
                   "protocol-dependent)")
    return out


#: Likelihood ratio from which the nucleus ADC is said to favour one side (3: "substantial"
#: on Jeffreys' scale); between 1/3 and 3 it is said not to tell them apart.
ADC_INFORMATIVE_RATIO = 3.0


def adc_likelihood_ratio(adc: float) -> float:
    """Likelihood of a nucleus ADC (mm²/s) among normal over among degenerated discs.

    Normal densities with the means and SDs of :data:`ADC_NORMAL_DEGENERATED`. The two groups
    are 0.4 SD apart and the normal one is wider, so the ratio stays between 0.67 and 1.9
    from 0.8e-3 to 2.8e-3 mm²/s and passes 3 only above about 3.05e-3 mm²/s: the ADC alone
    says little about one disc.
    """
    (mn, sn), (md, sd) = ADC_NORMAL_DEGENERATED
    log_ratio = (-0.5 * ((adc - mn) / sn) ** 2 - math.log(sn)
                 + 0.5 * ((adc - md) / sd) ** 2 + math.log(sd))
    return math.exp(log_ratio)


def _banded(features, t: Thresholds, j: _Judge) -> bool:
    """Whether a bright nucleus shows Pfirrmann II's horizontal band (an intranuclear cleft).

    Pfirrmann I and II differ by homogeneity, and the band is what the image shows of it.
    ``np_inhomogeneity`` is not used: the nucleus region's spread holds its border with the
    annulus, so that uniform nuclei read 0.23-0.50 when bright and 0.21 when dark (the sample
    data), and ten of its Griffith 1 discs (uniformly hyperintense) were called Pfirrmann II.
    """
    cleft = float(features.get("cleft_depth", math.nan))
    banded = math.isfinite(cleft) and cleft >= t.cleft
    if banded:
        j.evidence.append(f"cleft_depth {cleft:.2f} ≥ {t.cleft:g}: banded nucleus")
    return banded


def _as_bright_as_csf(features, t: Thresholds) -> bool:
    """Whether the nucleus reaches CSF's signal (``np_csf_ratio`` ≥ ``csf_equal``)."""
    value = float(features.get("np_csf_ratio", math.nan))
    return math.isfinite(value) and value >= t.csf_equal


def _above_fat(features, t: Thresholds) -> bool:
    """Whether the nucleus is above presacral fat (without a fat region, fat's CSF level)."""
    fat = float(features.get("np_fat_ratio", math.nan))
    if math.isfinite(fat):
        return fat >= t.fat_above
    csf = float(features.get("np_csf_ratio", math.nan))
    return math.isfinite(csf) and csf >= t.csf_fat_equivalent


def _judge_fat(features, t: Thresholds, j: _Judge, yes: str, no: str) -> bool:
    """:func:`_above_fat`, recorded as evidence with its margin (``yes``/``no``: the grades)."""
    if math.isfinite(float(features.get("np_fat_ratio", math.nan))):
        return j.above("np_fat_ratio", t.fat_above, "above presacral fat", yes, no)
    return j.above("np_csf_ratio", t.csf_fat_equivalent, "above the level of presacral fat "
                   "(no fat region: against CSF)", yes, no)


def _bright_by_reference(features, t: Thresholds, j: _Judge) -> bool:
    """Whether CSF or presacral fat settle that the nucleus is hyperintense.

    Griffith's grades 1 and 2 are defined by those references ("equal to CSF", "above
    presacral fat"), and fat is brighter than the outer annulus on every T2w contrast; the
    annulus's own signal varies between scanners, sequences and contrast models (0.1-0.4 of
    CSF), so where the references decide, the nucleus-to-annulus ratio does not overrule
    them (a nucleus above fat with NP/annulus 2.2 is grade 2, not 4).
    """
    if _as_bright_as_csf(features, t):
        j.evidence.append("np_outer_af_ratio not decisive: the nucleus is as bright as CSF")
        return True
    if _above_fat(features, t):
        j.evidence.append("np_outer_af_ratio not decisive: the nucleus is above presacral "
                          "fat" + ("" if math.isfinite(float(features.get(
                              "np_fat_ratio", math.nan))) else "'s level (against CSF)"))
        return True
    return False


def griffith(features, thresholds: Thresholds = THRESHOLDS) -> Suggestion:
    """Modified Pfirrmann (Griffith) grade of one disc from its features.

    Parameters
    ----------
    features : mapping
        A row of :func:`~discmri.grading.features.disc_features`.
    thresholds : Thresholds

    Returns
    -------
    Suggestion
    """
    t = thresholds
    j = _Judge(features)
    if not math.isfinite(float(features.get("np_outer_af_ratio", math.nan))):
        j.evidence.append("np_outer_af_ratio n/a: no grade")
        return Suggestion("", "", math.nan, tuple(j.evidence))
    if _bright_by_reference(features, t, j):
        bright = True
    else:
        bright = j.above("np_outer_af_ratio", t.af_hyperintense, "hyperintense to the "
                         "outer annulus", "3", "4")
    if bright:
        equal_csf = j.above("np_csf_ratio", t.csf_equal, "equal to CSF", "1", "2")
        if equal_csf:
            signal = 1
        else:
            signal = 2 if _judge_fat(features, t, j, "2", "3") else 3
        cleft = float(features.get("cleft_depth", math.nan))
        if signal == 2 and math.isfinite(cleft) and cleft >= t.cleft:
            j.evidence.append(f"cleft_depth {cleft:.2f} ≥ {t.cleft:g}: intranuclear cleft")
    else:
        mild = j.above("np_outer_af_ratio", t.af_mild, "mildly hyperintense (above the outer "
                       "annulus)", "4", "5")
        signal = 4 if mild else 5
    height, _ = j.loss(t, decisive=signal >= 5)
    loss = float(features.get("height_loss_pct", math.nan))
    if signal <= 4 and height >= 7 and loss >= t.collapse_with_signal:
        # collapsed (beyond collapse_with_signal) with preserved signal: double notation
        return j.result(f"{signal}/{height}")
    grade = signal if signal < 5 else height
    return j.result(str(grade))


def pfirrmann(features, thresholds: Thresholds = THRESHOLDS) -> Suggestion:
    """Pfirrmann grade (I-V) of one disc from the same features, by its own criteria.

    I: bright (= CSF) and homogeneous; II: bright but banded (a cleft), or below CSF; III: grey
    (hyperintense to the annulus but not to CSF's level, or mildly so with normal height);
    IV: hypointense or mildly hyperintense with height lost; V: collapsed (> 60 % loss).
    """
    t = thresholds
    j = _Judge(features)
    if not math.isfinite(float(features.get("np_outer_af_ratio", math.nan))):
        j.evidence.append("np_outer_af_ratio n/a: no grade")
        return Suggestion("", "", math.nan, tuple(j.evidence))
    loss = float(features.get("height_loss_pct", math.nan))
    if math.isfinite(loss) and loss >= t.loss_collapsed:
        j.above("height_loss_pct", t.loss_collapsed, "collapsed", "V", "IV")
        return j.result("V")
    if not _bright_by_reference(features, t, j):
        # I and II are defined by CSF and fat ("hyperintense, isointense with CSF"), whatever
        # the annulus's own signal
        if not j.above("np_outer_af_ratio", t.af_mild, "above the outer annulus", "III",
                       "IV"):
            return j.result("IV")
        if not j.above("np_outer_af_ratio", t.af_hyperintense, "bright", "II", "III"):
            lost = math.isfinite(loss) and loss >= t.loss_some
            j.evidence.append(f"height_loss_pct {loss:.0f} %: "
                              + ("height lost" if lost else "height normal"))
            return j.result("IV" if lost else "III")
        # hyperintense to the annulus, but below presacral fat (its level): III
        _judge_fat(features, t, j, "II", "III")
        return j.result("III")
    banded = _banded(features, t, j)
    if j.above("np_csf_ratio", t.csf_equal, "equal to CSF", "I", "II") and not banded:
        return j.result("I")
    return j.result("II")
