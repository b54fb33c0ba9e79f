"""Regions of interest per disc level, on any grid: NP / AF segments, CSF, presacral fat.

Disc regions are defined in the disc's measured frame (:mod:`discmri.morphometry`), not from
the labels of the target grid, so the same regions fall on the T2w, MESE and DWI grids:

* the disc between its measured endplates and AP margins is split into five equal AP segments:
  ``segment_1`` (anterior annulus), ``segment_2``–``segment_4`` (nucleus, the central 60 %),
  ``segment_5`` (posterior annulus) (REFERENCE.md §4);
* ``np`` is segments 2–4 within the central ``np_height_fraction`` (60 %) of the local disc
  height, away from the inner annulus lamellae and cartilage endplates that line the nucleus
  above and below; ``af_anterior`` is segment 1, ``af_posterior`` segment 5, ``af`` both;
* ``outer_annulus`` is the outer half of segments 1 and 5 (the outer 10 % of the depth at each
  end), the reference of the modified Pfirrmann (Griffith) grades;
* only the central sagittal slices count (voxel centres within ``central_mm`` of the disc's
  mid-sagittal plane), and every region is eroded: a voxel is kept only if its centre lies at
  least half its in-plane diagonal plus ``erosion_mm`` inside the endplates and the AP margins,
  so no kept voxel shares volume with bone or the canal.

Reference regions need labels, resampled to the target grid by nearest neighbour:
``csf`` — the canal posterior to the disc, between the planes of its endplates, eroded by one
voxel in-plane; ``presacral_fat`` — a presacral fat label (native scheme), eroded likewise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from scipy import ndimage

from ..morphometry.sampling import lr_axis, sample_world, voxel_to_world, world_to_voxel

if TYPE_CHECKING:
    import pandas as pd

    from ..morphometry.measure import SpineMorphometry
    from ..morphometry.segment import SegmentGeometry
    from .schemes import LabelScheme

__all__ = [
    "DISC_REGIONS",
    "SpineRegions",
    "disc_regions",
    "region_stats",
    "resample_labels",
    "spine_regions",
]

#: Names of the per-disc regions, in order.
DISC_REGIONS = ("segment_1", "segment_2", "segment_3", "segment_4", "segment_5", "np",
                "af_anterior", "af_posterior", "af", "outer_annulus")


@dataclass(frozen=True)
class SpineRegions:
    """Boolean masks on one grid, per disc level and region.

    Attributes
    ----------
    shape : tuple of int
        Spatial shape of the grid.
    affine : (4, 4) ndarray
    masks : dict of (level, region) to ndarray of bool
        Per disc level (``"L4-L5"``); the presacral fat, tied to no disc, has level ``""``.
    notes : tuple of str
        Regions that could not be made and why.
    """

    shape: tuple[int, int, int]
    affine: np.ndarray
    masks: dict[tuple[str, str], np.ndarray]
    notes: tuple[str, ...] = field(default=())

    def get(self, level: str, region: str) -> np.ndarray:
        """Mask of ``region`` at ``level`` (all False when absent)."""
        return self.masks.get((level, region), np.zeros(self.shape, bool))


def _voxel_centres(shape: tuple[int, ...], affine: np.ndarray) -> np.ndarray:
    ijk = np.stack(np.meshgrid(*(np.arange(n) for n in shape), indexing="ij"), axis=-1)
    return voxel_to_world(affine, ijk)


def _in_plane_margin(affine: np.ndarray, lr: int) -> float:
    spacing = np.linalg.norm(np.asarray(affine)[:3, :3], axis=0)
    in_plane = np.delete(spacing, lr)
    return 0.5 * float(np.hypot(*in_plane))


def _surfaces(geometry: SegmentGeometry, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper endplate positions at AP coordinates ``p`` (ends held)."""
    out = []
    for edge in (geometry.lower, geometry.upper):
        ok = np.isfinite(edge)
        out.append(np.interp(p, geometry.p[ok], edge[ok]))
    return out[0], out[1]


def disc_regions(
    geometry: SegmentGeometry,
    shape: tuple[int, int, int],
    affine: np.ndarray,
    *,
    central_mm: float = 5.0,
    erosion_mm: float = 0.5,
    np_height_fraction: float = 0.6,
) -> dict[str, np.ndarray]:
    """Five-segment layout and NP / AF / outer annulus masks of one disc on a grid.

    Parameters
    ----------
    geometry : SegmentGeometry
        The measured disc.
    shape : tuple of int
        Spatial shape of the target grid.
    affine : (4, 4) ndarray
        Its voxel-to-world affine.
    central_mm : float
        Half-width of the central sagittal slab, mm; the slice nearest the mid-sagittal plane
        is always included.
    erosion_mm : float
        Extra margin from endplates and AP margins beyond half the in-plane voxel diagonal.
    np_height_fraction : float
        Share of the local disc height (centred between the endplates) that the nucleus region
        may take.

    Returns
    -------
    dict of str to (X, Y, Z) bool ndarray
        Keys :data:`DISC_REGIONS`.
    """
    lr = lr_axis(affine)
    margin = _in_plane_margin(affine, lr) + erosion_mm
    box = _box(geometry, shape, affine, central_mm)
    out = {name: np.zeros(shape, bool) for name in DISC_REGIONS}
    if box is None:
        return out
    local = _regions_in_box(geometry, _voxel_centres_box(box, affine), margin, central_mm,
                            np_height_fraction)
    for name, mask in local.items():
        out[name][box] = mask
    return out


def _box(geometry: SegmentGeometry, shape, affine, central_mm: float, posterior_mm: float = 0):
    """Index box of the grid holding the disc's central slab (None when outside the grid)."""
    lo = np.nanmin(geometry.lower) - 1.0
    hi = np.nanmax(geometry.upper) + 1.0
    p = np.array([geometry.posterior - 1.0 - posterior_mm, geometry.anterior + 1.0])
    spacing = np.linalg.norm(np.asarray(affine)[:3, :3], axis=0)
    half_x = central_mm + spacing.max()
    corners = geometry.frame.to_world(
        *np.meshgrid(p, np.array([lo, hi]), np.array([-half_x, half_x]), indexing="ij"))
    ijk = world_to_voxel(affine, corners.reshape(-1, 3))
    start = np.maximum(np.floor(ijk.min(axis=0)).astype(int) - 1, 0)
    stop = np.minimum(np.ceil(ijk.max(axis=0)).astype(int) + 2, np.array(shape))
    if np.any(stop <= start):
        return None
    return tuple(slice(a, b) for a, b in zip(start, stop, strict=True))


def _voxel_centres_box(box, affine) -> np.ndarray:
    ijk = np.stack(np.meshgrid(*(np.arange(s.start, s.stop) for s in box), indexing="ij"),
                   axis=-1)
    return voxel_to_world(affine, ijk)


def _regions_in_box(geometry, centres, margin, central_mm, np_height_fraction):
    p, q, x = geometry.frame.to_local(centres)
    nearest = np.abs(x).min()
    central = np.abs(x) <= max(central_mm, nearest + 1e-6)
    depth = geometry.depth
    inside_ap = (p >= geometry.posterior + margin) & (p <= geometry.anterior - margin)
    cand = central & inside_ap
    low, up = np.full(p.shape, np.nan), np.full(p.shape, np.nan)
    low[cand], up[cand] = _surfaces(geometry, p[cand])
    with np.errstate(invalid="ignore"):
        disc = cand & (q >= low + margin) & (q <= up - margin)
    frac = (geometry.anterior - p) / depth  # 0 anterior … 1 posterior
    seg = np.clip(np.floor(frac * 5).astype(np.int64), 0, 4) + 1
    out = {f"segment_{k}": disc & (seg == k) for k in range(1, 6)}
    with np.errstate(invalid="ignore"):
        central_height = np.abs(q - 0.5 * (low + up)) <= 0.5 * np_height_fraction * (up - low)
    out["np"] = (out["segment_2"] | out["segment_3"] | out["segment_4"]) & central_height
    out["af_anterior"] = out["segment_1"]
    out["af_posterior"] = out["segment_5"]
    out["af"] = out["segment_1"] | out["segment_5"]
    out["outer_annulus"] = disc & ((frac <= 0.1) | (frac >= 0.9))
    return out


def resample_labels(
    labels: np.ndarray,
    affine: np.ndarray,
    shape: tuple[int, int, int],
    target_affine: np.ndarray,
) -> np.ndarray:
    """Labels at the voxel centres of another grid (nearest neighbour, world coordinates).

    Returns
    -------
    (X, Y, Z) int32 ndarray
        0 outside the source grid.
    """
    centres = _voxel_centres(shape, target_affine)
    return sample_world(labels, affine, centres, order=0, outside=0).astype(np.int32)


def _erode_in_plane(mask: np.ndarray, lr: int) -> np.ndarray:
    structure = np.zeros((3, 3, 3), bool)
    structure[1, 1, 1] = True
    for axis in range(3):
        if axis != lr:
            idx = [1, 1, 1]
            for k in (0, 2):
                idx[axis] = k
                structure[tuple(idx)] = True
    return ndimage.binary_erosion(mask, structure=structure)


def spine_regions(
    morphometry: SpineMorphometry,
    labels: np.ndarray,
    labels_affine: np.ndarray,
    scheme: LabelScheme,
    *,
    shape: tuple[int, int, int] | None = None,
    affine: np.ndarray | None = None,
    levels: Sequence[str] | None = None,
    central_mm: float = 5.0,
    erosion_mm: float = 0.5,
) -> SpineRegions:
    """All regions of every measured disc on a target grid (the labels' grid by default).

    Parameters
    ----------
    morphometry : SpineMorphometry
        Measured discs (:func:`discmri.morphometry.measure_spine`).
    labels : (X, Y, Z) integer ndarray
        The label map the discs were measured on.
    labels_affine : (4, 4) ndarray
    scheme : LabelScheme
        Its scheme (for the canal and presacral fat labels).
    shape, affine : optional
        Target grid (e.g. the T2 or ADC map's).
    levels : sequence of str, optional
        Disc levels to include (all measured discs by default).
    central_mm, erosion_mm : float
        See :func:`disc_regions`.

    Returns
    -------
    SpineRegions
    """
    shape = tuple(np.asarray(labels).shape) if shape is None else tuple(shape)
    affine = np.asarray(labels_affine if affine is None else affine, float)
    same = shape == np.asarray(labels).shape and np.allclose(affine, labels_affine, atol=1e-3)
    lab = (np.asarray(labels).astype(np.int32) if same
           else resample_labels(labels, labels_affine, shape, affine))
    lr = lr_axis(affine)
    margin = _in_plane_margin(affine, lr) + erosion_mm
    notes: list[str] = []
    canal = _erode_in_plane(np.isin(lab, list(scheme.canal)), lr) if scheme.canal else None
    fat_values = [v for v, n in scheme.other.items() if n == "presacral fat"]
    fat = _erode_in_plane(np.isin(lab, fat_values), lr) if fat_values else None
    masks: dict[tuple[str, str], np.ndarray] = {}
    names = list(morphometry.discs) if levels is None else list(levels)
    for name in names:
        geometry = morphometry.discs.get(name)
        if geometry is None:
            continue
        for region, mask in disc_regions(geometry, shape, affine, central_mm=central_mm,
                                         erosion_mm=erosion_mm).items():
            masks[(name, region)] = mask
        if canal is None or not canal.any():
            continue
        csf = np.zeros(shape, bool)
        box = _box(geometry, shape, affine, central_mm, posterior_mm=40.0)
        if box is not None:
            p, q, x = geometry.frame.to_local(_voxel_centres_box(box, affine))
            low, up = _surfaces(geometry, np.full(1, geometry.posterior))
            central = np.abs(x) <= max(central_mm, np.abs(x).min() + 1e-6)
            csf[box] = (canal[box] & central & (p < geometry.posterior)
                        & (q >= low[0] + margin) & (q <= up[0] - margin))
        masks[(name, "csf")] = csf
    if canal is None or not canal.any():
        notes.append("no canal label: no CSF reference regions")
    if fat is not None and fat.any():
        masks[("", "presacral_fat")] = fat & _central_of(fat, lr)
    else:
        notes.append("no presacral fat label: no presacral fat reference region")
    return SpineRegions(shape, affine, masks, tuple(notes))


def _central_of(mask: np.ndarray, lr: int) -> np.ndarray:
    """Slices (along LR) within one slice of the mask's central slice."""
    counts = mask.sum(axis=tuple(a for a in range(3) if a != lr))
    idx = np.flatnonzero(counts)
    centre = int(round(float(np.average(idx, weights=counts[idx]))))
    keep = np.zeros(mask.shape[lr], bool)
    keep[max(0, centre - 1):centre + 2] = True
    shape = [1, 1, 1]
    shape[lr] = -1
    return np.broadcast_to(keep.reshape(shape), mask.shape)


def region_stats(
    values: np.ndarray,
    regions: SpineRegions | Mapping[tuple[str, str], np.ndarray],
) -> pd.DataFrame:
    """Mean, median, SD and voxel count of a map in every region.

    Parameters
    ----------
    values : (X, Y, Z) ndarray
        A parameter map (T2 ms, ADC mm²/s …) on the regions' grid. NaN voxels (failed fits)
        are left out and not counted.
    regions : SpineRegions or mapping of (level, region) to mask

    Returns
    -------
    pandas.DataFrame
        Columns ``level``, ``region``, ``n``, ``mean``, ``median``, ``sd`` (sample SD,
        ``ddof=1``), ``n_excluded`` (NaN voxels in the region). Empty regions give NaN.
    """
    import pandas as pd

    masks = regions.masks if isinstance(regions, SpineRegions) else regions
    data = np.asarray(values, dtype=np.float64)
    rows = []
    for (level, region), mask in masks.items():
        if mask.shape != data.shape:
            raise ValueError(f"map has shape {data.shape} but region {level} {region} has "
                             f"{mask.shape}; expected the regions made on the map's grid")
        v = data[mask]
        ok = np.isfinite(v)
        v = v[ok]
        n = int(v.size)
        rows.append({
            "level": level, "region": region, "n": n,
            "mean": float(v.mean()) if n else np.nan,
            "median": float(np.median(v)) if n else np.nan,
            "sd": float(v.std(ddof=1)) if n > 1 else np.nan,
            "n_excluded": int((~ok).sum()),
        })
    return pd.DataFrame(rows, columns=["level", "region", "n", "mean", "median", "sd",
                                       "n_excluded"])
