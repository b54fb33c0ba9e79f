"""Options of a dataset run (:class:`RunOptions`): what to fit and measure, and how."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from .._version import __version__
from ..errors import ParameterError
from ..morphometry.dhi import DHI_FORMULAS
from ..morphometry.structure import edge_mode

if TYPE_CHECKING:

    from ..grading.criteria import Thresholds

__all__ = ["RunOptions"]


@dataclass(frozen=True)
class RunOptions:
    """Settings of a dataset run (what each session is processed with).

    Attributes
    ----------
    t2, adc : bool
        Fit the T2 map (from a MESE series) and the ADC map (from a DWI series) when the
        session has them.
    t2_method : str
        :func:`discmri.fit_t2` method (``"auto"``, ``"loglinear"``, ``"nlls"``, ``"offset"``,
        ``"epg"``).
    noise_sigma : float, "auto" or None
        Noise-floor correction of the T2 fit.
    coils : int
        With ``noise_sigma``: channels of a root-sum-of-squares combination (1: Rician).
    adc_method : str
        :func:`discmri.fit_adc` method (``"ols"``, ``"wls"``, ``"nlls"``, ``"ivim"``).
    b_range : (float, float) or None
        Shells fitted for the ADC, s/mm².
    dhi : tuple of str
        DHI formulas reported.
    positions : tuple of 3 float
        Height positions, fractions of the depth from anterior.
    edges : {"marrow", "endplate", "labels"}
        Where the endplate edges are placed (:data:`~discmri.morphometry.EDGE_MODES`, as in
        :func:`~discmri.morphometry.measure_structure`; default the marrow boundary).
    parasagittal_mm : float
        0: heights in the mid-sagittal plane; otherwise the mean of it and the planes this far
        (mm) to either side (:func:`discmri.measure`).
    central_mm, erosion_mm : float
        Region settings (:func:`discmri.regions.disc_regions`).
    qc : bool
        Write one QC figure per disc and one of the grade suggestions (needs matplotlib).
    grade_thresholds : discmri.grading.Thresholds or None
        Boundaries of the grade suggestions (a site's, from ``discmri grade --calibrate``);
        None: the documented defaults.
    segment : bool
        Segment sessions that have a T2-weighted image but no label map
        (:func:`discmri.spine.segmentation.segment_spine`), and write the labels beside the
        session's tables (and, with ``qc``, ``qc/<key>_segmentation.png``); False skips
        them.
    threads : int
        Threads inside each fit (results do not depend on it).
    """

    t2: bool = True
    adc: bool = True
    t2_method: str = "auto"
    noise_sigma: float | str | None = None
    coils: int = 1
    adc_method: str = "wls"
    b_range: tuple[float, float] | None = None
    dhi: tuple[str, ...] = DHI_FORMULAS
    positions: tuple[float, ...] = (0.1, 0.5, 0.9)
    edges: str = "marrow"
    parasagittal_mm: float = 0.0
    central_mm: float = 5.0
    erosion_mm: float = 0.5
    qc: bool = False
    grade_thresholds: Thresholds | None = None
    segment: bool = True
    threads: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "dhi", tuple(self.dhi))
        object.__setattr__(self, "positions", tuple(float(p) for p in self.positions))
        if self.b_range is not None:
            object.__setattr__(self, "b_range", tuple(float(b) for b in self.b_range))
        from ..diffusion.adc import METHODS as ADC_METHODS
        from ..relaxometry.t2 import METHODS as T2_METHODS

        if self.t2_method not in T2_METHODS:
            raise ParameterError(f"T2 method {self.t2_method!r} unknown; expected one of "
                                 f"{', '.join(T2_METHODS)}")
        if self.adc_method not in ADC_METHODS:
            raise ParameterError(f"ADC method {self.adc_method!r} unknown; expected one of "
                                 f"{', '.join(ADC_METHODS)}")
        bad = [f for f in self.dhi if f not in DHI_FORMULAS]
        if bad or not self.dhi:
            raise ParameterError(f"DHI formulas {', '.join(bad) or '(none)'} unknown; expected "
                                 f"some of {', '.join(DHI_FORMULAS)}")
        if len(self.positions) != 3 or not all(0 < p < 1 for p in self.positions):
            raise ParameterError(f"height positions {', '.join(f'{p:g}' for p in self.positions)}"
                                 ": expected three fractions of the depth in (0, 1)")
        edge_mode(self.edges)  # raises naming the choices
        if not (math.isfinite(self.parasagittal_mm) and self.parasagittal_mm >= 0):
            raise ParameterError(f"parasagittal distance {self.parasagittal_mm} mm: expected "
                                 "0 (the mid-sagittal plane only) or more")
        if self.threads < 1:
            raise ParameterError(f"threads {self.threads}: expected 1 or more")
        from ..grading.criteria import Thresholds

        if self.grade_thresholds is not None and not isinstance(self.grade_thresholds,
                                                                Thresholds):
            raise ParameterError(f"grade thresholds {self.grade_thresholds!r}: expected a "
                                 "discmri.grading.Thresholds (load_thresholds) or None")
        if self.coils < 1:
            raise ParameterError(f"coils {self.coils}: expected 1 or more receive channels")
        if isinstance(self.noise_sigma, str) and self.noise_sigma != "auto":
            raise ParameterError(f"noise_sigma {self.noise_sigma!r}: expected a number or "
                                 "'auto'")
        if self.noise_sigma is not None and not isinstance(self.noise_sigma, str) and not (
                math.isfinite(self.noise_sigma) and self.noise_sigma > 0):
            raise ParameterError(f"noise_sigma {self.noise_sigma:g}: expected the noise SD of "
                                 "the MESE images, a positive number in their units, or "
                                 "'auto'")
        if self.b_range is not None and not (
                len(self.b_range) == 2 and all(math.isfinite(b) for b in self.b_range)
                and 0 <= self.b_range[0] < self.b_range[1]):
            raise ParameterError(f"b_range {','.join(f'{b:g}' for b in self.b_range)}: "
                                 "expected LOW,HIGH in s/mm² with 0 <= LOW < HIGH")

    def parameters(self) -> dict[str, Any]:
        """The settings as JSON-ready values."""
        out = asdict(self)
        out["dhi"], out["positions"] = list(self.dhi), list(self.positions)
        out["b_range"] = None if self.b_range is None else list(self.b_range)
        return out

    @property
    def digest(self) -> str:
        """SHA-256 of what changes results: the settings (less threads) and discmri's version."""
        settings = {k: v for k, v in self.parameters().items() if k != "threads"}
        text = json.dumps({"settings": settings, "version": __version__}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()
