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

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from scipy import ndimage

from ..geometry import lr_axis, sample_world, voxel_centres, world_to_voxel

if TYPE_CHECKING:
    from ..morphometry.spine_morphometry import SpineMorphometry
    from ..morphometry.structure import StructureGeometry
    from ..spine.schemes import LabelScheme

__all__ = [
    "DISC_REGIONS",
    "Region",
    "SpineRegions",
    "disc_regions",
    "resample_labels",
    "spine_regions",
]

#: Names of the per-disc regions, in order.
DISC_REGIONS = ("segment_1", "segment_2", "segment_3", "segment_4", "segment_5", "np",
                "af_anterior", "af_posterior", "af", "outer_annulus")


@dataclass(frozen=True)
class Region:
    """A boolean mask stored compactly: the index box that holds it and the mask inside it.

    Attributes
    ----------
    box : tuple of 3 slice
        Index box of the grid (start, stop per axis).
    mask : ndarray of bool
        The mask inside ``box`` (shape of the box).
    """

    box: tuple[slice, slice, slice]
    mask: np.ndarray

    @classmethod
    def from_mask(cls, mask: np.ndarray) -> Region:
        """The tightest box around a full-grid mask (an empty box when the mask is empty)."""
        idx = np.argwhere(mask)
        if idx.size == 0:
            return cls((slice(0, 0),) * 3, np.zeros((0, 0, 0), bool))
        lo, hi = idx.min(axis=0), idx.max(axis=0) + 1
        box = tuple(slice(int(a), int(b)) for a, b in zip(lo, hi, strict=True))
        return cls(box, np.ascontiguousarray(mask[box]))  # type: ignore[arg-type]

    def __reduce__(self):
        # pickled as packed bits: a worker's regions travel at an eighth of their array size
        return (_unpack_region, (self.box, self.mask.shape, np.packbits(self.mask, axis=None)))

    @property
    def size(self) -> int:
        """Number of voxels in the region."""
        return int(self.mask.sum())

    def values(self, data: np.ndarray) -> np.ndarray:
        """The voxels of ``data`` (a full-grid array) in the region."""
        return np.asarray(data)[self.box][self.mask]

    def full(self, shape: tuple[int, int, int]) -> np.ndarray:
        """The mask on the whole grid."""
        out = np.zeros(shape, bool)
        out[self.box] = self.mask
        return out


def _unpack_region(box, shape, bits) -> Region:
    count = int(np.prod(shape))
    mask = np.unpackbits(bits, count=count).astype(bool).reshape(shape)
    return Region(box, mask)


@dataclass(frozen=True)
class SpineRegions:
    """Regions on one grid, per disc level and region, stored compactly (a box and a mask).

    Attributes
    ----------
    shape : tuple of int
        Spatial shape of the grid.
    affine : (4, 4) ndarray
    regions : dict of (level, region) to Region
        Per disc level (``"L4-L5"``); the presacral fat, tied to no disc, has level ``""``.
    notes : tuple of str
        Regions that could not be made and why.

    Notes
    -----
    Only the box around each region is kept, so a session's regions weigh kilobytes, not a
    full-grid boolean array each; :meth:`get` gives the full-grid mask when one is needed.
    """

    shape: tuple[int, int, int]
    affine: np.ndarray
    regions: dict[tuple[str, str], Region]
    notes: tuple[str, ...] = field(default=())

    def get(self, level: str, region: str) -> np.ndarray:
        """Full-grid mask of ``region`` at ``level`` (all False when absent)."""
        found = self.regions.get((level, region))
        return np.zeros(self.shape, bool) if found is None else found.full(self.shape)

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self.regions)

    def __len__(self) -> int:
        return len(self.regions)


def _in_plane_margin(affine: np.ndarray, lr: int) -> float:
    spacing = np.linalg.norm(np.asarray(affine)[:3, :3], axis=0)
    in_plane = np.delete(spacing, lr)
    return 0.5 * float(np.hypot(*in_plane))


def _surfaces(geometry: StructureGeometry, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper endplate positions at AP coordinates ``p`` (ends held)."""
    out = []
    for edge in (geometry.lower, geometry.upper):
        ok = np.isfinite(edge)
        out.append(np.interp(p, geometry.p[ok], edge[ok]))
    return out[0], out[1]


def disc_regions(
    geometry: StructureGeometry,
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
    geometry : StructureGeometry
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
    dict of str to Region
        Keys :data:`DISC_REGIONS`; each region is held as the disc's index box and the mask
        inside it (empty when the disc lies outside the grid).
    """
    lr = lr_axis(affine)
    margin = _in_plane_margin(affine, lr) + erosion_mm
    box = _box(geometry, shape, affine, central_mm)
    if box is None:
        empty = Region((slice(0, 0),) * 3, np.zeros((0, 0, 0), bool))
        return {name: empty for name in DISC_REGIONS}
    local = _regions_in_box(geometry, voxel_centres(shape, affine, box), margin, central_mm,
                            np_height_fraction)
    return {name: Region(box, local[name]) for name in DISC_REGIONS}


def _box(geometry: StructureGeometry, shape, affine, central_mm: float, posterior_mm: float = 0):
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
    centres = voxel_centres(shape, target_affine)
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
    regions: dict[tuple[str, str], Region] = {}
    names = list(morphometry.discs) if levels is None else list(levels)
    for name in names:
        geometry = morphometry.discs.get(name)
        if geometry is None:
            continue
        for region, found in disc_regions(geometry, shape, affine, central_mm=central_mm,
                                          erosion_mm=erosion_mm).items():
            regions[(name, region)] = found
        if canal is None or not canal.any():
            continue
        box = _box(geometry, shape, affine, central_mm, posterior_mm=40.0)
        if box is None:
            regions[(name, "csf")] = Region((slice(0, 0),) * 3, np.zeros((0, 0, 0), bool))
            continue
        p, q, x = geometry.frame.to_local(voxel_centres(shape, affine, box))
        low, up = _surfaces(geometry, np.full(1, geometry.posterior))
        central = np.abs(x) <= max(central_mm, np.abs(x).min() + 1e-6)
        regions[(name, "csf")] = Region(box, canal[box] & central & (p < geometry.posterior)
                                        & (q >= low[0] + margin) & (q <= up[0] - margin))
    if canal is None or not canal.any():
        notes.append("no canal label: no CSF reference regions")
    if fat is not None and fat.any():
        regions[("", "presacral_fat")] = Region.from_mask(fat & _central_of(fat, lr))
    else:
        notes.append("no presacral fat label: no presacral fat reference region")
    return SpineRegions(shape, affine, regions, tuple(notes))


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
