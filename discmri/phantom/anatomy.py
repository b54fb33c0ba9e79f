"""Anatomy parameters of the phantom spine, per level, and their seeded randomization.

The spine is built in a *body frame* (mm): x left→right, y posterior→anterior, z
inferior→superior, the mid-sagittal plane at x = 0. Vertebral bodies and discs are wedge-shaped
segments stacked from S1 upwards; lordosis comes from the wedge angles. Default values are
typical adult lumbar dimensions (REFERENCE.md §2: disc heights 7–13 mm rising caudally,
vertebral body heights 25–30 mm).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np

from ..errors import ParameterError
from ..spine.levels import disc_name
from .tissue import BONE_MARROW, DEFAULT_CONTRAST, ContrastModel, Tissue

__all__ = ["DiscShape", "DiscState", "SpineAnatomy", "VertebraShape", "default_anatomy",
           "random_anatomy"]


@dataclass(frozen=True)
class VertebraShape:
    """A vertebral body: a wedge segment with a super-elliptic cross-section.

    Parameters
    ----------
    name : str
        ``"L4"`` etc.
    height_mm : float
        Height between the rim planes of its endplates at the AP centre, mm.
    wedge_deg : float
        Angle between its endplate planes, positive when taller anteriorly.
    depth_mm, width_mm : float
        AP depth and lateral width, mm.
    """

    name: str
    height_mm: float
    wedge_deg: float
    depth_mm: float
    width_mm: float


@dataclass(frozen=True)
class DiscShape:
    """A disc in its healthy state.

    Parameters
    ----------
    name : str
        ``"L4-L5"`` etc.
    height_mm : float
        Height between the rim planes at the AP centre, mm (concavities add to it).
    wedge_deg : float
        Angle between the two endplate planes (lordosis), positive when taller anteriorly.
    concavity_cranial_mm, concavity_caudal_mm : float
        Depth of the central concavity of the endplate above / below, mm.
    """

    name: str
    height_mm: float
    wedge_deg: float
    concavity_cranial_mm: float = 0.8
    concavity_caudal_mm: float = 0.8


@dataclass(frozen=True)
class DiscState:
    """Degeneration and treatment state of a disc at one visit.

    Parameters
    ----------
    severity : float
        Continuous modified Pfirrmann (Griffith) severity in [1, 8].
    height_gain_mm : float
        Height added on top of the severity-driven height (treatment effect; negative for
        the load of the day), mm.
    np_t2_scale : float
        Nucleus T2 relative to the severity's (the time of day: water pressed out under load
        lowers it by evening).
    """

    severity: float = 1.0
    height_gain_mm: float = 0.0
    np_t2_scale: float = 1.0


@dataclass(frozen=True)
class SpineAnatomy:
    """Everything that shapes one participant's spine.

    Parameters
    ----------
    vertebrae : tuple of VertebraShape
        Cranial to caudal, ending with S1.
    discs : tuple of DiscShape
        Cranial to caudal, one between each pair of consecutive vertebrae.
    sacral_slope_deg : float
        Angle of the S1 superior endplate to the horizontal (body frame).
    canal_ap_mm, canal_lr_mm : float
        Diameters of the spinal canal.
    canal_gap_mm : float
        Gap between the posterior disc/body margin and the canal.
    back_mm : float
        Soft tissue behind the canal before air.
    nucleus_ap, nucleus_lr, nucleus_si : float
        Nucleus semi-axes as fractions of disc depth/2, width/2 and local height/2; for the
        lens, ``nucleus_si`` is the share of the height between the cartilage layers that it
        fills over its centre.
    nucleus_offset : float
        AP offset of the nucleus centre as a fraction of disc depth (negative = posterior).
    footprint_exponent : float
        Super-ellipse exponent of body and disc cross-sections (2 = ellipse).
    marrow : Tissue
        Vertebral marrow (:data:`~discmri.phantom.tissue.MARROWS`: red, mixed or fatty).
    cortex_mm : float
        Thickness of the cortical endplates (dark bone between marrow and disc), mm; part of
        the vertebral bodies, so the discs and their heights do not change with it. 0: none.
    cartilage_mm : float
        Thickness of the cartilaginous endplates, dark hyaline cartilage that is the disc's
        outer layer against each body, mm; part of the disc (its height counts them). 0: none.
    nucleus_shape : {"ellipsoid", "lens"}
        An ellipsoid inside the disc, with annulus between it and the bone (the default), or
        a flattened lens that meets the cartilage over its centre, as a real nucleus does.
        :meth:`with_endplate_layers` draws the junction as scans show it.
    surroundings : bool
        Add the unlabelled tissues around the column that a real sagittal T2w shows
        (REFERENCE.md §7): posterior elements (pedicles, laminae, spinous processes) and the
        sacrum below S1 in marrow, epidural fat behind the thecal sac, and a layer of
        subcutaneous fat under the skin. On by default, as every real scan shows them; turn
        it off only to isolate the column (a test of one structure in an empty field).
    subcutaneous_fat_mm : float
        Thickness of the subcutaneous fat when ``surroundings`` is on, mm.
    contrast : ContrastModel
        Nucleus by grade, annulus and fat (:func:`~discmri.phantom.tissue.t2w_contrast`
        states another group's model).
    """

    vertebrae: tuple[VertebraShape, ...]
    discs: tuple[DiscShape, ...]
    sacral_slope_deg: float = 40.0
    canal_ap_mm: float = 15.0
    canal_lr_mm: float = 22.0
    canal_gap_mm: float = 2.0
    back_mm: float = 55.0
    nucleus_ap: float = 0.56
    nucleus_lr: float = 0.56
    nucleus_si: float = 0.7
    nucleus_offset: float = -0.04
    footprint_exponent: float = 2.5
    states: Mapping[str, DiscState] = field(default_factory=dict)
    marrow: Tissue = BONE_MARROW
    cortex_mm: float = 0.0
    cartilage_mm: float = 0.0
    nucleus_shape: str = "ellipsoid"
    surroundings: bool = True
    subcutaneous_fat_mm: float = 15.0
    contrast: ContrastModel = DEFAULT_CONTRAST

    def __post_init__(self) -> None:
        names = [v.name for v in self.vertebrae]
        if len(self.discs) != len(names) - 1:
            raise ParameterError(f"{len(self.discs)} discs for {len(names)} vertebrae")
        for disc, up, low in zip(self.discs, names[:-1], names[1:], strict=True):
            if disc.name != disc_name(up, low):
                raise ParameterError(f"disc {disc.name!r} between {up} and {low}")
        if self.nucleus_shape not in ("ellipsoid", "lens"):
            raise ParameterError(f"nucleus_shape must be 'ellipsoid' or 'lens', got "
                                 f"{self.nucleus_shape!r}")
        if not 0 < self.nucleus_si <= 1:
            raise ParameterError(f"nucleus_si must lie in (0, 1], got {self.nucleus_si}")
        if self.cortex_mm < 0 or self.cartilage_mm < 0:
            raise ParameterError(f"cortex_mm and cartilage_mm must be >= 0, got "
                                 f"{self.cortex_mm} and {self.cartilage_mm}")
        unknown = set(self.states) - {d.name for d in self.discs}
        if unknown:
            raise ParameterError(f"states for unknown discs {sorted(unknown)}")

    @property
    def disc_names(self) -> tuple[str, ...]:
        """Disc levels, cranial to caudal."""
        return tuple(d.name for d in self.discs)

    def state(self, disc: str) -> DiscState:
        """State of a disc (healthy when not set)."""
        return self.states.get(disc, DiscState())

    def with_states(self, states: Mapping[str, DiscState]) -> SpineAnatomy:
        """The same anatomy with other disc states (e.g. at another visit)."""
        return replace(self, states=dict(states))

    def with_endplate_layers(self, cortex_mm: float = 0.4,
                             cartilage_mm: float = 0.6) -> SpineAnatomy:
        """The same anatomy with the disc–bone junction drawn as real scans show it.

        A signal-free bony endplate (default 0.4 mm: the mid-sagittal lumbar endplate is
        about 0.35 mm thin and porous, Silva et al., Spine 1994), a dark cartilaginous
        endplate (default 0.6 mm, Roberts et al., Spine 1989; 0.3–1 mm on MRI, thinnest
        centrally, DeLucca et al., J Orthop Res 2016) and a lens-shaped nucleus that fills
        the height between the cartilage layers over its centre. The truth stays the disc
        height between the bony endplates; no image at 0.5–1 mm resolves the two layers.
        """
        return replace(self, cortex_mm=cortex_mm, cartilage_mm=cartilage_mm,
                       nucleus_shape="lens", nucleus_si=1.0)


# Per-level defaults: (height, wedge, depth, width) for bodies; (height, wedge) for the disc
# below each body.
_VB = {
    "T11": (24.0, -3.0, 30.0, 40.0),
    "T12": (25.0, -3.0, 31.0, 42.0),
    "L1": (26.0, -2.0, 33.0, 44.0),
    "L2": (27.0, -1.0, 34.0, 46.0),
    "L3": (27.5, 0.0, 35.0, 48.0),
    "L4": (27.5, 1.0, 35.0, 50.0),
    "L5": (27.0, 4.0, 35.0, 50.0),
    "L6": (27.0, 3.0, 35.0, 50.0),
    "S1": (30.0, 0.0, 36.0, 48.0),
}
_DISC_BELOW = {
    "T11": (6.0, 0.0),
    "T12": (7.0, 2.0),
    "L1": (8.0, 4.0),
    "L2": (9.0, 6.0),
    "L3": (10.0, 8.0),
    "L4": (11.0, 10.0),
    "L5": (10.5, 14.0),
    "L6": (10.0, 13.0),
}


def default_anatomy(*, lumbar_vertebrae: int = 5) -> SpineAnatomy:
    """A typical adult spine from T11 to S1.

    Parameters
    ----------
    lumbar_vertebrae : {5, 6}
        6 adds a transitional L6 (lumbarised S1), for testing level detection.
    """
    if lumbar_vertebrae not in (5, 6):
        raise ParameterError(f"lumbar_vertebrae must be 5 or 6, got {lumbar_vertebrae}")
    names = ["T11", "T12", *(f"L{i}" for i in range(1, lumbar_vertebrae + 1)), "S1"]
    if lumbar_vertebrae == 6:  # the last lumbar disc carries the lumbosacral wedge
        below = {**_DISC_BELOW, "L5": _DISC_BELOW["L4"], "L6": _DISC_BELOW["L5"]}
    else:
        below = _DISC_BELOW
    vertebrae = tuple(VertebraShape(n, *_VB[n]) for n in names)
    discs = tuple(
        DiscShape(disc_name(up, low), *below[up])
        for up, low in zip(names[:-1], names[1:], strict=True)
    )
    return SpineAnatomy(vertebrae, discs)


def random_anatomy(
    rng: np.random.Generator, *, lumbar_vertebrae: int = 5, variability: float = 1.0,
    disc_heights: Mapping[str, float] | None = None, disc_height_sd: float = 0.08,
    contrast: ContrastModel = DEFAULT_CONTRAST,
) -> SpineAnatomy:
    """A plausible individual spine, randomized around :func:`default_anatomy`.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness (seed it for reproducibility).
    lumbar_vertebrae : {5, 6}
    variability : float
        Scale of all random deviations (0 gives the default anatomy).
    disc_heights : mapping of str to float, optional
        Healthy disc heights by level, mm, in place of the default trend (7 mm at T12-L1
        rising 1 mm a level to 11 mm at L4-L5, 10.5 mm at L5-S1); levels not given keep it.
    disc_height_sd : float
        Relative SD of each disc's height about its level's value (before ``variability``).
    contrast : ContrastModel
        The tissues' T2w contrast (:func:`~discmri.phantom.tissue.t2w_contrast`).

    Notes
    -----
    Overall size varies by a common factor (SD 5 %); each body height by SD 0.6 mm; each disc
    height by ``disc_height_sd`` (8 %); wedge angles by SD 1.5°; sacral slope by SD 5°; canal
    size by SD 8 %.
    """
    base = default_anatomy(lumbar_vertebrae=lumbar_vertebrae)
    heights = dict(disc_heights or {})
    unknown = set(heights) - set(base.disc_names)
    if unknown:
        raise ParameterError(f"disc_heights for unknown levels {sorted(unknown)}; expected "
                             f"some of {', '.join(base.disc_names)}")
    if any(not h > 0 for h in heights.values()) or not disc_height_sd >= 0:
        raise ParameterError("disc_heights must be > 0 mm and disc_height_sd >= 0")
    v = float(variability)
    size = 1.0 + v * 0.05 * rng.standard_normal()
    vertebrae = tuple(
        replace(
            vb,
            height_mm=vb.height_mm * size + v * 0.6 * rng.standard_normal(),
            wedge_deg=vb.wedge_deg + v * 1.0 * rng.standard_normal(),
            depth_mm=vb.depth_mm * size,
            width_mm=vb.width_mm * size,
        )
        for vb in base.vertebrae
    )
    discs = tuple(
        replace(
            d,
            height_mm=heights.get(d.name, d.height_mm) * size
            * (1.0 + v * disc_height_sd * rng.standard_normal()),
            wedge_deg=d.wedge_deg + v * 1.5 * rng.standard_normal(),
        )
        for d in base.discs
    )
    canal = 1.0 + v * 0.08 * rng.standard_normal()
    return replace(
        base,
        vertebrae=vertebrae,
        discs=discs,
        sacral_slope_deg=base.sacral_slope_deg + v * 5.0 * rng.standard_normal(),
        canal_ap_mm=base.canal_ap_mm * canal,
        canal_lr_mm=base.canal_lr_mm * canal,
        contrast=contrast,
    )
