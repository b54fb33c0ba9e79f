"""Sub-voxel geometry of one disc or vertebral body from an image and its label map.

The method, for a structure (disc or vertebral body) with labelled neighbours above and below:

1. **Frame.** Start from a frame (principal axes of the structure's voxels in 3-D, or the
   endplate normals of the adjacent discs); its origin lies in the mid-sagittal plane of the
   structure (through the centroid of its voxels, normal to its own left-right axis), not in a
   slice of the volume.
2. **AP margins.** Along the AP axis, on five lines within ±1 mm of the mid-surface, the
   anterior and posterior margins are where the linearly interpolated label mask crosses 0.5
   (averaged over the lines); the depth is their distance.
3. **Edge profiles.** Lines parallel to the endplate normal, every ``line_step_mm`` across the
   depth, sample the image (trilinear) in the mid-sagittal plane. On each line the label
   boundary is a first guide; the edge found in the image alone (the first gradient peak
   coming from the marrow, :func:`~discmri.morphometry.edges.first_edges`) replaces it where
   the two differ by more than half a voxel; the edge is then the half-level crossing between
   the bone plateau (1.0–3.5 mm, at least 1–3 voxels, into the vertebral body) and the disc
   plateau (0.3–1.2 mm, at least 0.75–1.5 voxels, into the disc; capped at the rims' annulus
   level where a dark layer lies between the marrow and a bright nucleus), with contrast
   judged against the image's noise (:mod:`discmri.morphometry.edges`; docs/morphometry.rst).
   With ``edges="endplate"`` each endplate's edges are then moved towards the disc by the
   median distance from them to the centre of the dark endplate line where one is seen.
   Where the image does not resolve the endplate (a bright nucleus within a voxel of it: the
   profile never reaches the disc plateau) the edge is interpolated from the resolved edges
   around it; lines without enough contrast use the label boundary.
4. **Refine.** Quadratics fitted to the upper and lower edges give the endplate slopes at the
   centre; the frame is turned to their bisector (the endplate normal) and re-centred, and
   steps 2–4 are repeated until the frame moves less than 0.005° and 0.005 mm (at most
   ``passes`` times), so the result does not depend on the starting frame. The angle between
   the two slopes is the wedge angle.
5. **Measures.** Heights at fractions of the depth from the anterior margin are local linear
   fits of the per-line heights within ±``window_mm`` (default: 2 mm or three voxels); the
   mid-sagittal area integrates the per-line heights over the depth (trapezoids); the volume
   counts labelled voxels.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage
from scipy.integrate import trapezoid

from ..errors import MeasurementError, ParameterError
from ..geometry import sample_world, voxel_to_world
from .edges import (
    band_levels,
    band_mask,
    endplate_line_edges,
    first_edges,
    half_level_edges,
    label_edges,
    robust_sd,
)
from .frame import Frame

__all__ = ["StructureGeometry", "measure_structure"]

#: Bands where the plateaus are read: (near, far) distance from the label boundary, in mm
#: and in in-plane voxels; the larger applies. The disc band must clear the edge voxel's
#: interpolation ramp yet stay in the annulus next to the endplate.
BONE_BAND = ((1.0, 3.5), (1.0, 3.0))
DISC_BAND = ((0.3, 1.2), (0.75, 1.5))
#: Where the disc is read beyond a dark endplate line (mm, in-plane voxels; the larger applies).
DISC_FAR_BAND = ((1.5, 3.0), (2.5, 4.0))


_TURN_TOL = math.radians(0.005)

#: Ways to place the endplate edges (docs/morphometry.rst): the marrow boundary (default: the
#: half level between marrow and disc, which counts a dark endplate line as disc), the bony
#: endplate (each endplate's marrow boundary moved to the centre of its dark line), or the
#: label boundaries alone.
EDGE_MODES = ("marrow", "endplate", "labels")


def edge_mode(edges: str) -> str:
    """The edge mode ``edges`` names, one of :data:`EDGE_MODES`.

    ``"intensity"``, the earlier name of the marrow boundary, is ``"marrow"``; anything else
    raises :class:`~discmri.errors.ParameterError` naming the choices.
    """
    edges = "marrow" if edges == "intensity" else edges
    if edges not in EDGE_MODES:
        raise ParameterError(f"edges must be one of {', '.join(map(repr, EDGE_MODES))}, "
                             f"got {edges!r}")
    return edges


def _band(band, voxel_mm: float) -> tuple[float, float]:
    (near_mm, far_mm), (near_vox, far_vox) = band
    return max(near_mm, near_vox * voxel_mm), max(far_mm, far_vox * voxel_mm)


@dataclass(frozen=True)
class StructureGeometry:
    """Measured geometry of one disc or vertebral body (mm, mm², mm³, degrees).

    Attributes
    ----------
    name, kind : str
        ``"L4-L5"``/``"disc"`` or ``"L4"``/``"vertebra"``.
    frame : Frame
        Final frame: ``si`` is the endplate-normal (bisector) direction and the origin lies in
        the mid-sagittal plane.
    p : (L,) ndarray
        AP coordinates of the profile lines.
    lower, upper : (L,) ndarray
        Edge positions along ``si`` per line (NaN where not found).
    from_labels : (L,) bool ndarray
        Lines with an edge from the label boundary (too little image contrast).
    interpolated : (L,) bool ndarray
        Lines with an edge the image did not resolve (a bright nucleus within a voxel of the
        endplate), interpolated from the resolved edges around it.
    anterior, posterior : float
        AP coordinates of the margins.
    positions : tuple of float
        Fractions of the depth (from anterior) of ``heights``.
    heights : tuple of float
        Heights at ``positions``.
    wedge_deg : float
        Angle between the endplates, positive when the structure is taller anteriorly.
    area_mm2, central_area_mm2 : float
        Mid-sagittal area, of the whole depth and of its central 80 %.
    volume_mm3 : float
        Labelled volume (NaN when the structure touches the edge of the image).
    normal_lower, normal_upper : (3,) ndarray
        World unit normals (pointing cranially) of the lower and upper endplates.
    window_mm : float
        Half-width of the local fit that gives each height.
    notes : tuple of str
        What limited the measurement.
    line_shift_mm : (lower, upper) float
        ``edges="endplate"``: distance (mm) from the marrow boundary to the dark endplate
        line's centre measured on each endplate (NaN where too few profiles show the line).
    """

    name: str
    kind: str
    frame: Frame
    p: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    from_labels: np.ndarray
    interpolated: np.ndarray
    anterior: float
    posterior: float
    positions: tuple[float, ...]
    heights: tuple[float, ...]
    wedge_deg: float
    area_mm2: float
    central_area_mm2: float
    volume_mm3: float
    normal_lower: np.ndarray
    normal_upper: np.ndarray
    window_mm: float = 2.0
    notes: tuple[str, ...] = field(default=())
    line_shift_mm: tuple[float, float] = (math.nan, math.nan)

    @property
    def depth(self) -> float:
        """AP depth, mm."""
        return self.anterior - self.posterior

    @property
    def height_lines(self) -> np.ndarray:
        """Per-line heights, mm."""
        return self.upper - self.lower

    def position_p(self, fraction: float) -> float:
        """AP coordinate of a fraction of the depth from the anterior margin."""
        return self.anterior - fraction * self.depth

    def height_at(self, fraction: float, window_mm: float | None = None) -> float:
        """Height at a fraction of the depth from the anterior margin (local linear fit)."""
        window = self.window_mm if window_mm is None else window_mm
        return _local_linear(self.p, self.height_lines, self.position_p(fraction), window)


def _local_linear(x: np.ndarray, y: np.ndarray, at: float, half: float) -> float:
    ok = np.isfinite(y) & (np.abs(x - at) <= half)
    if ok.sum() < 3:
        return math.nan
    coef = np.polyfit(x[ok] - at, y[ok], 1)
    return float(coef[-1])


def _robust_quadratic(x: np.ndarray, y: np.ndarray) -> np.ndarray | None:
    """Quadratic coefficients (highest first), refitted once without > 3·MAD outliers."""
    ok = np.isfinite(y)
    if ok.sum() < 6:
        return None
    coef = np.polyfit(x[ok], y[ok], 2)
    res = y - np.polyval(coef, x)
    keep = ok & (np.abs(res) <= 3 * robust_sd(res[ok]) + 1e-6)
    if keep.sum() >= 6:
        coef = np.polyfit(x[keep], y[keep], 2)
    return coef


def _integrate(p: np.ndarray, h: np.ndarray, lo: float, hi: float) -> float:
    """∫ h dp over [lo, hi] from line samples (gaps interpolated, ends held constant)."""
    ok = np.isfinite(h)
    if ok.sum() < 2:
        return math.nan
    grid = np.concatenate([[lo], p[(p > lo) & (p < hi)], [hi]])
    vals = np.interp(grid, p[ok], h[ok])
    return float(trapezoid(vals, grid))


#: Codes of the structure map: the structure, its neighbours across the upper and lower edges.
_INSIDE, _ABOVE, _BELOW = 1, 2, 3


@dataclass
class _Context:
    image: np.ndarray
    mask: np.ndarray  # float32 mask of the structure
    codes: np.ndarray  # uint8: _INSIDE, _ABOVE, _BELOW, 0 elsewhere
    affine: np.ndarray
    has_above: bool  # False: anything but the structure counts as the neighbour above
    has_below: bool
    kind: str
    in_plane_mm: float
    edges: str = "marrow"
    line_step_mm: float = 0.25
    parasagittal_mm: float = 0.0
    line_shift_mm: float | None = None  # where neither endplate shows the dark line

    def lines(self, half_width_mm: float) -> int:
        """Odd number of neighbouring profile lines spanning ±``half_width_mm``."""
        return 2 * max(0, int(round(half_width_mm / self.line_step_mm))) + 1


def _margins(ctx: _Context, frame: Frame, half_depth: float, half_height: float):
    step = 0.1
    p = np.arange(-half_depth - 6.0, half_depth + 6.0 + step / 2, step)
    # Near the mid-surface only: a wedged disc may be a few mm high at its posterior margin.
    offsets = np.linspace(-1.0, 1.0, 5) * min(1.0, 0.3 * half_height)
    pts = frame.to_world(p[None, :], offsets[:, None])
    m = sample_world(ctx.mask, ctx.affine, pts, outside=0.0)
    ant = label_edges(m, p, +1)
    post = label_edges(m, p, -1)
    return float(np.nanmean(ant)), float(np.nanmean(post))


def _neighbour(codes: np.ndarray, code: int, given: bool) -> np.ndarray:
    if not given:  # anything but the structure itself, inside the image
        return (codes != _INSIDE) & (codes >= 0)
    return codes == code


def _edges(ctx: _Context, frame: Frame, p: np.ndarray, rim: np.ndarray, half_height: float):
    step = 0.1
    voxel = ctx.in_plane_mm
    reach_mm = max(1.0, 1.75 * voxel)  # label boundary errors searched past: a voxel and more
    q = np.arange(-half_height - 6.0 - reach_mm, half_height + 6.0 + reach_mm + step / 2, step)
    pts = frame.to_world(p[:, None], q[None, :])
    prof = sample_world(ctx.image, ctx.affine, pts)
    if ctx.parasagittal_mm > 0:  # the mean of the mid-sagittal and two parasagittal planes
        planes = [prof] + [sample_world(ctx.image, ctx.affine,
                                        frame.to_world(p[:, None], q[None, :], x))
                           for x in (-ctx.parasagittal_mm, ctx.parasagittal_mm)]
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # lines outside every plane
            prof = np.where(np.isfinite(prof), np.nanmean(np.stack(planes), axis=0), np.nan)
    inside_interp = sample_world(ctx.mask, ctx.affine, pts, outside=0.0)
    codes = sample_world(ctx.codes, ctx.affine, pts, order=0, outside=-1)
    ins = codes == _INSIDE
    bone_in = ctx.kind == "vertebra"
    search = max(0.5, 0.8 * ctx.in_plane_mm)
    smooth = ctx.lines(0.75)
    # averaged over ±2 mm along the endplate (a smooth surface) to find each edge coarsely
    across = _across_lines(prof, ctx.lines(2.0))
    # the contrast test (±0.25 mm of lines) and the endplate line (±0.5 mm)
    near = _across_lines(prof, ctx.lines(0.25))
    if ctx.edges == "endplate":
        wide = _across_lines(prof, ctx.lines(0.5))
    far_bone = (max(1.0, voxel) + reach_mm, max(3.5, 3.0 * voxel) + reach_mm)
    out, guides, lines, to_disc = {}, {}, {}, {}
    for side, direction, code, given in (("upper", +1, _ABOVE, ctx.has_above),
                                         ("lower", -1, _BELOW, ctx.has_below)):
        guide = label_edges(inside_interp, q, direction)
        guides[side] = guide
        if ctx.edges == "labels":
            out[side] = np.full(len(p), np.nan)
            continue
        to_bone = -direction if bone_in else direction
        is_bone = ins if bone_in else _neighbour(codes, code, given)
        # Labels are a guide, not the edge: a segmenter's boundary may be a voxel or more off.
        # The edge is first found in the image alone (the first gradient peak coming from
        # the marrow, whichever its sign), and replaces the label boundary where the two
        # differ by more than half a voxel.
        marrow_band = band_mask(q, guide, to_bone, far_bone) & is_bone
        marrow = band_levels(prof, q, guide, to_bone, far_bone, valid=is_bone, smooth=smooth)
        coarse = first_edges(across, q, guide, to_bone, marrow, search_mm=reach_mm,
                             smooth_mm=0.6 * voxel, noise_band=marrow_band)
        # The edge found must have marrow behind it: where the image between it and the
        # marrow departs from the marrow level the other way (a dark layer about a voxel thin
        # before a bright nucleus, whose edge with the marrow was too faint to find), the
        # peak is the nucleus's, and the label boundary is kept.
        noise = _line_noise(across, marrow_band, marrow)
        k = np.clip(np.searchsorted(q, coarse - to_bone * voxel), 0, q.size - 1)
        sign = np.sign(across[np.arange(len(p)), k] - marrow)
        behind = (band_mask(q, coarse, to_bone, (0.6 * voxel, far_bone[0]))
                  & np.isfinite(across))
        dev = np.where(behind, sign[:, None] * (across - marrow[:, None]), np.inf)
        both = np.min(dev, axis=1) < -3.0 * noise
        moved = (np.abs(coarse - guide) > 0.5 * voxel) & ~both
        guide = np.where(moved, coarse, guide)
        bone, disc_band = _band(BONE_BAND, voxel), _band(DISC_BAND, voxel)
        near_in, near_out = (bone, disc_band) if bone_in else (disc_band, bone)
        # the disc side is whatever is not the bone (labels may be short of the edge)
        inner = band_levels(prof, q, guide, -direction, near_in,
                            valid=ins if bone_in else ~is_bone, smooth=smooth)
        outer = band_levels(prof, q, guide, direction, near_out,
                            valid=is_bone if not bone_in else ~ins, smooth=smooth)
        disc = outer if bone_in else inner
        # noise SD of the profiles averaged over ±0.25 mm of lines, on this image's marrow
        near_noise = _line_noise(near, marrow_band, marrow)
        if ctx.edges in ("marrow", "endplate"):
            # Where a dark layer (cartilage, annulus) lies between the marrow and a bright
            # nucleus a millimetre further in, the disc plateau is lifted by the nucleus; there
            # it is not allowed above the annulus level at the rims. Only there: a disc whose
            # profile (averaged over ±2 mm of lines) never comes below the marrow next to the
            # bone (a nucleus meeting the bone) keeps its own plateau.
            rim_level = np.nanmedian(disc[rim]) if np.isfinite(disc[rim]).any() else np.nan
            if np.isfinite(rim_level):
                dark = _dark_layer(across, q, guide, -to_bone, (-reach_mm, disc_band[1]),
                                   marrow - 3.0 * noise)
                disc = np.where(dark, np.fmin(disc, rim_level), disc)
        inner, outer = (inner, disc) if bone_in else (disc, outer)
        edge = half_level_edges(prof, q, guide, inner, outer, search_mm=search,
                                min_contrast=0.0)
        # enough contrast: the plateaus differ by three noise SDs of the profiles
        weak = np.abs(inner - outer) < 3.0 * near_noise
        # Where the annulus between endplate and a bright nucleus is thinner than a voxel the
        # profile never reaches the disc plateau, and no half-level crossing marks the edge:
        # the profile must come within a quarter of the contrast of the plateau.
        bone_level = inner if bone_in else outer
        reach = _reach(prof, q, guide, direction if bone_in else -direction,
                       disc_band[1], bone_level, disc, ctx.lines(0.5))
        unresolved = np.abs(reach - disc) > 0.25 * np.abs(bone_level - disc)
        edge = np.where(weak | unresolved, np.nan, edge)
        if ctx.edges == "endplate":
            # A dark endplate line between marrow and disc: at 0.5-1 mm the cartilaginous
            # endplate (disc) and the cortical bone blur into one line, and the bony
            # endplate between them is taken at the line's centre (_line_centres carries it
            # along the endplate)
            disc_far = band_levels(prof, q, guide, -to_bone, _band(DISC_FAR_BAND, voxel),
                                   valid=ins if not bone_in else ~ins, smooth=smooth)
            _, line, _ = endplate_line_edges(wide, q, guide, to_bone, bone_level, disc_far,
                                             _line_noise(wide, marrow_band, marrow),
                                             search_mm=reach_mm,
                                             reach_mm=max(2.5, 2.5 * voxel),
                                             voxel_mm=voxel)
            lines[side] = line
        out[side] = edge
        to_disc[side] = -to_bone
    shifts = {"lower": math.nan, "upper": math.nan}
    if ctx.edges == "endplate":
        out, shifts = _line_centres(out, lines, to_disc, ctx.line_shift_mm)
    return (out["lower"], out["upper"], guides["lower"], guides["upper"],
            (shifts["lower"], shifts["upper"]))


#: Fewest lines of an endplate on which the dark line and the marrow boundary are both found
#: for their distance to be taken from that endplate (else from the other one).
MIN_LINE_PROFILES = 8


def _line_centres(marrow: dict, line: dict, to_disc: dict,
                  default: float | None) -> tuple[dict, dict]:
    """Endplate edges at the dark line's centre, placed by the marrow boundary.

    The line's centre (:func:`~discmri.morphometry.edges.endplate_line_edges`) is the bony
    endplate, but seen only next to a disc brighter than the line, and noisier than the marrow
    boundary. The marrow boundary is found along the whole endplate and lies a fixed distance
    (the cortex, blurred) from it: each endplate's edges are its marrow boundary moved towards
    the disc by the median distance to the line's centre over the profiles where both were
    found; with too few of those, by the other endplate's distance; with none, by
    ``default`` (mm; None: not at all).

    Returns
    -------
    edges : dict
        Per side, the edges.
    shifts : dict
        Per side, the distance measured on that endplate (mm; NaN: too few profiles).
    """
    shift = {}
    for side in marrow:
        both = np.isfinite(marrow[side]) & np.isfinite(line[side])
        shift[side] = math.nan
        if both.sum() >= MIN_LINE_PROFILES:
            d = to_disc[side] * (line[side][both] - marrow[side][both])
            shift[side] = max(0.0, float(np.median(d)))
    out = {}
    for side, edge in marrow.items():
        other = [v for k, v in shift.items() if k != side and math.isfinite(v)]
        d = shift[side] if math.isfinite(shift[side]) else (
            other[0] if other else (default or 0.0))
        moved = edge + to_disc[side] * d
        out[side] = np.where(np.isfinite(moved), moved, line[side])
    return out, shift


def _across_lines(prof: np.ndarray, lines: int) -> np.ndarray:
    """Profiles averaged over ``lines`` neighbouring lines; NaN where the profile is NaN."""
    out = ndimage.uniform_filter1d(np.nan_to_num(prof), lines, axis=0, mode="nearest")
    out[~np.isfinite(prof)] = np.nan
    return out


def _dark_layer(prof: np.ndarray, q: np.ndarray, guide: np.ndarray, to_disc: int,
                band: tuple[float, float], below: np.ndarray) -> np.ndarray:
    """Lines whose profile comes under ``below`` within ``band`` of the guide.

    ``band`` is in mm from the guide, positive into the disc; the guide may be a voxel off,
    so the band starts on the bone's side.
    """
    band = band_mask(q, guide, to_disc, band) & np.isfinite(prof)
    low = np.min(np.where(band, prof, np.inf), axis=1)
    return np.isfinite(low) & (low < below)


def _line_noise(prof: np.ndarray, band: np.ndarray, level: np.ndarray) -> float:
    """Robust SD of the profiles about their plateau over a band of flat marrow."""
    res = (prof - level[:, None])[band & np.isfinite(prof) & np.isfinite(level)[:, None]]
    if res.size < 10:
        return 0.0
    return robust_sd(res)


def _fill(p: np.ndarray, edge: np.ndarray, guide: np.ndarray, window: float = 8.0):
    """Fill unresolved edges from the resolved ones around them, else from the labels.

    An endplate is a smooth surface: where the image does not resolve it on some lines (a
    bright nucleus closer to it than a voxel), a local quadratic through the resolved edges
    within ±``window`` mm on both sides gives it; without enough of those, the label boundary.

    Returns
    -------
    edge, interpolated, from_labels : ndarray
    """
    out = edge.copy()
    interpolated = np.zeros(len(p), bool)
    from_labels = np.zeros(len(p), bool)
    ok = np.isfinite(edge)
    for i in np.flatnonzero(~ok & np.isfinite(guide)):
        near = ok & (np.abs(p - p[i]) <= window)
        coef = None
        if (p[near] < p[i]).sum() >= 3 and (p[near] > p[i]).sum() >= 3:
            coef = _robust_quadratic(p[near] - p[i], edge[near])
        if coef is not None:
            out[i] = coef[-1]
            interpolated[i] = True
        else:
            out[i] = guide[i]
            from_labels[i] = True
    return out, interpolated, from_labels


def _reach(prof, q, guide, direction, far, bone_level, disc_level, lines):
    """Profile value closest to the disc plateau within ``far`` mm into the disc, per line.

    Profiles are first averaged over ``lines`` neighbouring lines to keep noise from faking a
    deep enough dip.
    """
    smooth = ndimage.uniform_filter1d(prof, lines, axis=0, mode="nearest")
    band = band_mask(q, guide, direction, (0.0, far))
    toward = np.sign(disc_level - bone_level)[:, None]  # +1: the disc is brighter
    vals = np.where(band, toward * smooth, -np.inf)
    best = np.max(vals, axis=1)
    return np.where(np.isfinite(best), toward[:, 0] * best, np.nan)


def measure_structure(
    image: np.ndarray,
    labels: np.ndarray,
    affine: np.ndarray,
    *,
    name: str,
    kind: str,
    inside: Sequence[int],
    above: Sequence[int] | None,
    below: Sequence[int] | None,
    frame: Frame,
    positions: Sequence[float] = (0.1, 0.5, 0.9),
    line_step_mm: float = 0.25,
    window_mm: float | None = None,
    passes: int = 8,
    margin_mm: float = 0.5,
    edges: str = "marrow",
    masks: tuple[np.ndarray, np.ndarray | None, np.ndarray | None] | None = None,
    parasagittal_mm: float = 0.0,
    line_shift_mm: float | None = None,
) -> StructureGeometry:
    """Measure one disc or vertebral body (see the module description for the method).

    Parameters
    ----------
    image : (X, Y, Z) ndarray
        Image with contrast between disc and bone (T2-weighted).
    labels : (X, Y, Z) integer ndarray
        Label map on the same grid.
    affine : (4, 4) ndarray
        Voxel-to-world affine (mm).
    name : str
    kind : {"disc", "vertebra"}
    inside : sequence of int
        Labels of the structure.
    above, below : sequence of int or None
        Labels of the neighbours across the upper and lower edges (None: anything else).
    frame : Frame
        Starting frame, origin at the structure's centre in its mid-sagittal plane.
    positions : sequence of float
        Fractions of the depth from the anterior margin at which heights are reported.
    line_step_mm : float
        Spacing of the profile lines across the depth.
    window_mm : float, optional
        Half-width of the local fit giving the height at a position; by default the larger of
        2 mm and three in-plane voxels (about four independent voxel columns per height).
    passes : int
        Most frame refinements.
    margin_mm : float
        Lines closer than this to the AP margins are not measured.
    edges : {"marrow", "endplate", "labels"}
        Where the endplate edges are placed, all found in the T2w image but ``"labels"``: the
        marrow boundary (default; the half level between marrow and disc, which counts a
        dark endplate line as disc: on real scans about 1.2 mm taller than ``"endplate"``),
        the bony endplate (the cartilaginous endplate and the cortex blur into one dark line,
        whose centre is taken: each endplate's marrow boundary moved towards the disc by its
        median distance to that centre where the line is seen; see ``line_shift_mm``), or
        the label boundaries alone. ``"intensity"``, the earlier name, means
        ``"marrow"``. docs/morphometry.rst, *What the edge is*.
    masks : (inside, above, below) boolean arrays, optional
        The structure and its neighbours as masks, instead of ``inside``/``above``/``below``
        label values (e.g. a vertebral body with its endplates, without its posterior
        elements); ``above``/``below`` may be None.
    parasagittal_mm : float
        0 (default): edges from the mid-sagittal plane. Otherwise from the mean of the
        profiles in it and in the two planes this far (mm) to either side — the "three
        central slices" of many MRI disc-height studies: more data where the image is noisy
        (up to three times; less when the planes share slices), for a height averaged over
        that width (on a disc domed left-right, slightly below the mid-sagittal one).
    line_shift_mm : float, optional
        ``edges="endplate"``: the distance (mm) from the marrow boundary to the dark line's
        centre to use where neither endplate of this structure shows the line (a disc as dark
        as the line); :func:`~discmri.morphometry.measure_spine` passes the median over the
        image's other endplates. None: those edges stay at the marrow boundary.

    Returns
    -------
    StructureGeometry
    """
    if kind not in ("disc", "vertebra"):
        raise ParameterError(f"kind must be 'disc' or 'vertebra', got {kind!r}")
    edges = edge_mode(edges)
    if not (math.isfinite(parasagittal_mm) and parasagittal_mm >= 0):
        raise ParameterError(f"parasagittal_mm must be a distance ≥ 0 mm, got {parasagittal_mm}")
    if line_shift_mm is not None and not (math.isfinite(line_shift_mm) and line_shift_mm >= 0):
        raise ParameterError("line_shift_mm must be None or a distance ≥ 0 mm (marrow boundary "
                             f"to the endplate line's centre), got {line_shift_mm}")
    if masks is None:
        masks = (np.isin(labels, list(inside)),
                 None if above is None else np.isin(labels, list(above)),
                 None if below is None else np.isin(labels, list(below)))
    mask, above_mask, below_mask = masks
    codes = np.zeros(np.shape(labels), np.uint8)
    for code, m in ((_ABOVE, above_mask), (_BELOW, below_mask), (_INSIDE, mask)):
        if m is not None:
            codes[m] = code
    spacing = np.linalg.norm(np.asarray(affine)[:3, :3], axis=0)
    ctx = _Context(image, mask.astype(np.float32), codes, affine, above_mask is not None,
                   below_mask is not None, kind, float(np.sort(spacing)[:2].mean()), edges,
                   float(line_step_mm), float(parasagittal_mm), line_shift_mm)
    ijk = np.argwhere(mask)
    pts = voxel_to_world(affine, ijk)
    notes: list[str] = []
    touches = bool(((ijk == 0) | (ijk == np.array(mask.shape) - 1)).any())
    volume = math.nan if touches else float(mask.sum() * np.prod(spacing))
    if touches and kind == "disc":
        notes.append("volume not measured: the disc reaches the edge of the image")
    window_mm = max(2.0, 3.0 * ctx.in_plane_mm) if window_mm is None else float(window_mm)
    if len(pts) == 0:
        raise MeasurementError(f"{name}: no voxels in its label mask")
    p0, q0, _ = frame.to_local(pts)
    extent = (float(np.ptp(p0)) + ctx.in_plane_mm, float(np.ptp(q0)) + ctx.in_plane_mm)
    if extent[0] < 4 * ctx.in_plane_mm or extent[1] < 2 * ctx.in_plane_mm:
        raise MeasurementError(f"{name}: {len(pts)} voxels spanning {extent[0]:.1f} × "
                         f"{extent[1]:.1f} mm (AP × SI) in its sagittal plane; too small to "
                         "measure")
    half_depth = float(np.abs(p0).max()) + 1.0
    half_height = float(np.abs(q0).max()) + 1.0
    wedge = math.nan
    slopes = (math.nan, math.nan)
    for k in range(passes):
        anterior, posterior = _margins(ctx, frame, half_depth, half_height)
        if not (np.isfinite(anterior) and np.isfinite(posterior)):
            raise MeasurementError(f"{name}: no anterior or posterior margin found in its "
                             "mid-sagittal plane")
        p = np.arange(posterior + margin_mm, anterior - margin_mm + 1e-9, line_step_mm)
        centre = 0.5 * (anterior + posterior)
        depth = anterior - posterior
        rim = np.abs(p - centre) >= 0.35 * depth
        lower, upper, guide_low, guide_up, line_shift = _edges(ctx, frame, p, rim, half_height)
        lower, interp_low, labels_low = _fill(p, lower, guide_low)
        upper, interp_up, labels_up = _fill(p, upper, guide_up)
        from_labels, interpolated = labels_low | labels_up, interp_low | interp_up
        central = np.abs(p - centre) <= 0.4 * depth
        fit_up = _robust_quadratic(p[central] - centre, upper[central])
        fit_low = _robust_quadratic(p[central] - centre, lower[central])
        if fit_up is None or fit_low is None:
            raise MeasurementError(f"{name}: too few endplate edges found to orient it")
        b_up, b_low = math.atan(fit_up[1]), math.atan(fit_low[1])
        wedge = math.degrees(b_up - b_low)
        slopes = (b_low, b_up)
        turn, mid_q = 0.5 * (b_up + b_low), 0.5 * (fit_up[2] + fit_low[2])
        if k == passes - 1 or (abs(turn) < _TURN_TOL and abs(mid_q) < 0.005
                               and abs(centre) < 0.005):
            break
        frame = frame.rotated(turn, frame.to_world(centre, mid_q))
    heights = tuple(_local_linear(p, upper - lower, anterior - f * depth, window_mm)
                    for f in positions)
    used = np.zeros(len(p), bool)
    for f in positions:
        used |= np.abs(p - (anterior - f * depth)) <= window_mm
    if from_labels[used].any() and edges != "labels":
        share = from_labels[used].mean()
        notes.append(f"{name}: {100 * share:.0f} % of the profiles at the reported heights had "
                     "too little contrast; label boundaries used there")
    if interpolated[used].mean() > 0.5:
        notes.append(f"{name}: endplate not resolved by the image on "
                     f"{100 * interpolated[used].mean():.0f} % of the profiles at the reported "
                     "heights (nucleus within a voxel of it); interpolated from the profiles "
                     "around")
    if edges == "endplate" and not np.isfinite(line_shift).any():
        notes.append(f"{name}: no dark endplate line seen at either endplate; " + (
            "edges at the marrow boundary" if line_shift_mm is None else
            f"edges {line_shift_mm:.2f} mm from the marrow boundary, the median distance to "
            "the line's centre at the image's other endplates"))
    h = upper - lower
    area = _integrate(p, h, posterior, anterior)
    central_area = _integrate(p, h, posterior + 0.1 * depth, anterior - 0.1 * depth)

    def normal(beta: float) -> np.ndarray:
        return -math.sin(beta) * frame.ap + math.cos(beta) * frame.si

    return StructureGeometry(
        name=name, kind=kind, frame=frame, p=p, lower=lower, upper=upper,
        from_labels=from_labels, interpolated=interpolated, anterior=anterior, posterior=posterior,
        positions=tuple(float(f) for f in positions), heights=heights, wedge_deg=wedge,
        area_mm2=area, central_area_mm2=central_area, volume_mm3=volume,
        normal_lower=normal(slopes[0]), normal_upper=normal(slopes[1]), window_mm=window_mm,
        notes=tuple(notes), line_shift_mm=(float(line_shift[0]), float(line_shift[1])),
    )
