"""Tissue properties of the phantom and how disc degeneration changes them.

Each tissue has proton density (PD, relative to CSF = 1), T1 and T2 (ms) and an apparent
diffusion coefficient (mm²/s). A disc's state is a continuous *severity* s in [1, 8] on the
modified Pfirrmann (Griffith) scale; nucleus properties, height loss, nucleus/annulus
transition width and the intranuclear cleft are interpolated linearly between the anchor
values of each integer grade below, and the truth grade is ``round(s)``.

Anchor values (see ../shared/REFERENCE.md):

* Nucleus T2 follows the Pfirrmann series of REFERENCE.md §3 (I 210, II 129, III 84, IV 51 ms)
  through the Griffith→Pfirrmann correspondence of :func:`pfirrmann_from_griffith`.
* PD and T2 are chosen so that on the T2-weighted FSE contrast (TR 4000 ms, TE 100 ms) the nucleus
  signal obeys Griffith's definitions: grade 1 ≈ CSF, grade 2 between presacral fat and CSF,
  grade 3 below fat but above the annulus, grade 4 slightly above the outer annulus, grades 5–8
  equal to the outer annulus (tested in tests/phantom/test_tissue.py).
* Height loss: 0 up to grade 5, then 15 %, 45 %, 75 % at grades 6, 7, 8, so that the grade
  boundaries 6.5 and 7.5 fall on Griffith's 30 % and 60 %.
* Nucleus ADC from 2.2 to 1.2 ×10⁻³ mm²/s (Kealey 2005: 2.27 normal, 2.06 degenerated).

The T2 of fat is its apparent T2 on fast/multi-echo spin echo (J-coupling lengthens it), not its
intrinsic T2. These are phantom values for testing, not normative data.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..errors import ParameterError

__all__ = [
    "AIR",
    "ANNULUS",
    "BACKGROUND",
    "BONE_MARROW",
    "CARTILAGE",
    "CLEFT",
    "CORTEX",
    "CSF",
    "DEFAULT_CONTRAST",
    "FAT",
    "FATTY_MARROW",
    "GRIFFITH_ANCHORS",
    "MARROWS",
    "RED_MARROW",
    "ContrastModel",
    "DiscTissue",
    "Tissue",
    "disc_tissue",
    "bright_annulus_contrast",
    "t2w_contrast",
    "griffith_grade",
    "pfirrmann_from_griffith",
]


@dataclass(frozen=True)
class Tissue:
    """MR properties of one tissue.

    Parameters
    ----------
    name : str
    pd : float
        Proton density relative to CSF (= 1).
    t1_ms, t2_ms : float
        Relaxation times, ms.
    adc_mm2_s : float
        Apparent (mean) diffusion coefficient, mm²/s.
    anisotropy : float
        Axially symmetric diffusion: ``λ∥ = MD·(1 + 2a)`` along the fibre axis,
        ``λ⊥ = MD·(1 − a)`` across it, so the mean diffusivity stays ``adc_mm2_s``. 0 is
        isotropic.
    """

    name: str
    pd: float
    t1_ms: float
    t2_ms: float
    adc_mm2_s: float
    anisotropy: float = 0.0


AIR = Tissue("air", 0.0, 1.0, 1.0, 0.0)
BACKGROUND = Tissue("muscle", 0.75, 1000.0, 35.0, 1.5e-3)
BONE_MARROW = Tissue("vertebral marrow", 0.85, 550.0, 80.0, 0.45e-3)
#: The range of marrow on T2-weighted fast spin echo (TE 100 ms, relative signal): young red
#: (haematopoietic) marrow, dark (≈ 0.14, between a degenerated and a grade-3 nucleus), and
#: fatty marrow of older adults, bright (≈ 0.44, above a healthy nucleus; fat's apparent T2 is
#: long on FSE). :data:`BONE_MARROW` (≈ 0.24) lies between. Every one is brighter than the
#: annulus (≈ 0.075), as on real images.
RED_MARROW = Tissue("red marrow", 0.75, 700.0, 60.0, 0.5e-3)
FATTY_MARROW = Tissue("fatty marrow", 0.95, 400.0, 130.0, 0.3e-3)
MARROWS = {"red": RED_MARROW, "mixed": BONE_MARROW, "fatty": FATTY_MARROW}
#: The cortical (bony) endplate: a thin layer of compact bone with almost no mobile water,
#: dark on every MR contrast, between marrow and disc.
CORTEX = Tissue("cortical endplate", 0.05, 1000.0, 5.0, 0.05e-3)
#: The cartilaginous endplate: a layer of hyaline cartilage, part of the disc, between the
#: nucleus or annulus and the bony endplate; its short T2 makes it dark on T2-weighted images,
#: about as dark as the annulus, so a healthy nucleus is bounded by a dark line of cartilage
#: and cortex together.
CARTILAGE = Tissue("cartilage endplate", 0.70, 1000.0, 40.0, 1.0e-3)
CSF = Tissue("csf", 1.0, 4000.0, 2000.0, 3.0e-3)
FAT = Tissue("presacral fat", 0.9, 350.0, 110.0, 0.1e-3)
#: Annulus fibres run circumferentially; in the anterior and posterior annulus of the
#: mid-sagittal slices, where regions are measured, that is left-right (the body x axis).
ANNULUS = Tissue("annulus", 0.70, 900.0, 45.0, 1.25e-3, anisotropy=0.25)
CLEFT = Tissue("intranuclear cleft", 0.75, 1000.0, 60.0, 1.5e-3)

#: Per Griffith grade 1–8: nucleus PD, T1 (ms), T2 (ms), ADC (mm²/s), height loss (fraction),
#: nucleus/annulus transition width (mm), intranuclear cleft thickness (mm).
GRIFFITH_ANCHORS = np.array(
    [
        # pd,  t1,    t2,    adc,     loss, blur, cleft
        [1.00, 1300.0, 210.0, 2.20e-3, 0.00, 0.3, 0.0],
        [0.92, 1200.0, 140.0, 2.05e-3, 0.00, 0.3, 1.0],
        [0.86, 1100.0, 100.0, 1.90e-3, 0.00, 0.5, 1.0],
        [0.80, 1000.0, 62.0, 1.70e-3, 0.00, 1.5, 0.0],
        [0.72, 950.0, 48.0, 1.50e-3, 0.00, 2.0, 0.0],
        [0.70, 900.0, 46.0, 1.40e-3, 0.15, 2.0, 0.0],
        [0.68, 900.0, 44.0, 1.30e-3, 0.45, 2.0, 0.0],
        [0.66, 900.0, 42.0, 1.20e-3, 0.75, 2.0, 0.0],
    ]
)


@dataclass(frozen=True)
class DiscTissue:
    """Nucleus properties and shape modifiers of one disc at a given severity."""

    nucleus: Tissue
    height_loss: float
    transition_mm: float
    cleft_mm: float


def _check_severity(severity: float) -> float:
    s = float(severity)
    if not 1.0 <= s <= 8.0:
        raise ParameterError(f"severity {severity!r} outside the Griffith range [1, 8]")
    return s


def griffith_grade(severity: float) -> int:
    """Modified Pfirrmann (Griffith) grade 1–8 of a continuous severity (rounded half up)."""
    return int(np.floor(_check_severity(severity) + 0.5))


def pfirrmann_from_griffith(grade: int) -> int:
    """Approximate Pfirrmann grade (1–5) of a Griffith grade (1–8), for phantom truth.

    1→I, 2→II, 3–4→III, 5–7→IV, 8→V: Griffith 3–4 have intermediate nucleus signal with an
    indistinct or fading nucleus/annulus border (Pfirrmann III), 5–7 are hypointense with
    normal to moderately decreased height (IV), 8 is collapsed (V).
    """
    table = {1: 1, 2: 2, 3: 3, 4: 3, 5: 4, 6: 4, 7: 4, 8: 5}
    if grade not in table:
        raise ParameterError(f"Griffith grade {grade!r} outside 1–8")
    return table[grade]


def disc_tissue(severity: float, anchors: np.ndarray | None = None) -> DiscTissue:
    """Nucleus properties, height loss, transition width and cleft at a continuous severity.

    ``anchors`` is an (8, 7) table laid out as :data:`GRIFFITH_ANCHORS` (the default).
    """
    s = _check_severity(severity)
    table = GRIFFITH_ANCHORS if anchors is None else np.asarray(anchors, dtype=np.float64)
    grades = np.arange(1, 9, dtype=np.float64)
    pd, t1, t2, adc, loss, blur, cleft = (
        float(np.interp(s, grades, table[:, k])) for k in range(7)
    )
    return DiscTissue(Tissue("nucleus", pd, t1, t2, adc), loss, blur, cleft)


@dataclass(frozen=True)
class ContrastModel:
    """The tissues that set a disc's grade on T2w: nucleus by grade, annulus, presacral fat.

    Groups model the T2w contrast of the disc differently (the outer annulus at 0.1–0.4 of
    CSF, presacral fat at 0.6–0.9, the nucleus of each grade between them), and so do
    scanners and sequences. A grading method that holds only on one model is tuned to it;
    :func:`t2w_contrast` builds others from the signal ratios they state.

    Parameters
    ----------
    griffith_anchors : tuple of 8 tuples of 7 floats
        Per Griffith grade 1–8, as :data:`GRIFFITH_ANCHORS`: nucleus PD, T1 (ms), T2 (ms),
        ADC (mm²/s), height loss (fraction), nucleus/annulus transition (mm), cleft (mm).
    annulus, fat : Tissue
        The annulus and the presacral (and epidural, subcutaneous) fat.
    """

    griffith_anchors: tuple[tuple[float, ...], ...] = tuple(
        tuple(float(v) for v in row) for row in GRIFFITH_ANCHORS)
    annulus: Tissue = ANNULUS
    fat: Tissue = FAT

    def __post_init__(self) -> None:
        table = np.asarray(self.griffith_anchors, dtype=np.float64)
        if table.shape != (8, 7) or not np.all(np.isfinite(table)):
            raise ParameterError(f"griffith_anchors must be 8 rows (grades 1-8) of 7 finite "
                                 f"values (pd, t1, t2, adc, loss, transition, cleft), got "
                                 f"shape {table.shape}")
        if np.any(table[:, :3] <= 0) or np.any((table[:, 4] < 0) | (table[:, 4] >= 1)):
            raise ParameterError("griffith_anchors: pd, t1 and t2 must be > 0 and the height "
                                 "loss in [0, 1)")

    def disc_tissue(self, severity: float) -> DiscTissue:
        """Nucleus properties and shape modifiers of one disc at a continuous severity."""
        return disc_tissue(severity, np.asarray(self.griffith_anchors))


#: The phantom's own model (the tissues above): on T2 FSE (TR 4000 ms, TE 100 ms) the nucleus
#: is 0.99, 0.72, 0.51, 0.26, 0.15 of CSF for grades 1-5, the annulus 0.125, fat 0.60.
DEFAULT_CONTRAST = ContrastModel()


def _fse(pd: float, t1: float, t2: float, tr: float, te: float) -> float:
    return pd * (1.0 - np.exp(-tr / t1)) * np.exp(-te / t2)


def _t2_for(tissue_pd: float, t1: float, ratio: float, what: str, tr: float, te: float
            ) -> float:
    """T2 (ms) that gives a tissue ``ratio`` × CSF's T2 FSE signal, its PD and T1 kept."""
    target = ratio * _fse(CSF.pd, CSF.t1_ms, CSF.t2_ms, tr, te)
    top = tissue_pd * (1.0 - np.exp(-tr / t1))
    if not 0 < target < top:
        raise ParameterError(f"{what}: a signal {ratio:g} of CSF's is out of reach with "
                             f"proton density {tissue_pd:g} (at most "
                             f"{top / _fse(CSF.pd, CSF.t1_ms, CSF.t2_ms, tr, te):.3g})")
    return float(-te / np.log(target / top))


def t2w_contrast(np_csf, *, af_csf: float, fat_csf: float, loss=None,
                 tr_ms: float = 4000.0, te_ms: float = 100.0) -> ContrastModel:
    """A contrast model stated as T2w signal ratios to CSF, as another group would state it.

    Each tissue keeps the proton density and T1 of :data:`DEFAULT_CONTRAST`; its T2 is set so
    that its T2 fast-spin-echo signal (``PD·(1 − e^(−TR/T1))·e^(−TE/T2)``) is the given
    fraction of CSF's.

    Parameters
    ----------
    np_csf : sequence of 8 floats
        Nucleus over CSF for Griffith grades 1–8.
    af_csf, fat_csf : float
        Annulus and presacral fat over CSF.
    loss : sequence of 8 floats, optional
        Height loss (fraction) per grade; the default model's when not given.
    tr_ms, te_ms : float
        The T2w sequence the ratios hold for, ms.

    Returns
    -------
    ContrastModel

    Examples
    --------
    >>> model = t2w_contrast([1.0, 0.9, 0.66, 0.45, 0.34, 0.34, 0.34, 0.34],
    ...                      af_csf=0.33, fat_csf=0.8)
    >>> round(model.annulus.t2_ms)
    80
    """
    ratios = np.asarray(np_csf, dtype=np.float64)
    if ratios.shape != (8,):
        raise ParameterError(f"np_csf must give 8 values (Griffith grades 1-8), got "
                             f"{ratios.shape}")
    table = GRIFFITH_ANCHORS.copy()
    if loss is not None:
        losses = np.asarray(loss, dtype=np.float64)
        if losses.shape != (8,):
            raise ParameterError(f"loss must give 8 values (Griffith grades 1-8), got "
                                 f"{losses.shape}")
        table[:, 4] = losses
    for g in range(8):
        table[g, 2] = _t2_for(table[g, 0], table[g, 1], float(ratios[g]),
                              f"nucleus of grade {g + 1}", tr_ms, te_ms)
    annulus = replace(ANNULUS, t2_ms=_t2_for(ANNULUS.pd, ANNULUS.t1_ms, af_csf, "annulus",
                                             tr_ms, te_ms))
    fat = replace(FAT, t2_ms=_t2_for(FAT.pd, FAT.t1_ms, fat_csf, "fat", tr_ms, te_ms))
    return ContrastModel(tuple(tuple(float(v) for v in row) for row in table), annulus, fat)


def bright_annulus_contrast() -> ContrastModel:
    """Another group's contrast model: a brighter annulus and fat, grades closer together.

    Nucleus 1.0, 0.9, 0.66, 0.45, 0.34 of CSF for Griffith grades 1-5 (and 6-8), outer annulus
    0.33, presacral fat 0.8; height loss 18, 45 and 72 % at grades 6, 7 and 8 (the model of
    issue 23, against the phantom's 0.125 and 0.60). A nucleus of grade 4 is 1.36 times the
    annulus here, against 2.1 in :data:`DEFAULT_CONTRAST`.
    """
    return t2w_contrast([1.0, 0.9, 0.66, 0.45, 0.34, 0.34, 0.34, 0.34], af_csf=0.33,
                        fat_csf=0.8, loss=[0, 0, 0, 0, 0, 0.18, 0.45, 0.72])
