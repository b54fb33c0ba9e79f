"""Voxelization of the phantom with partial volume: labels and tissue fractions per voxel."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy import ndimage

from ..spine.levels import native_label_table
from .analytic import TISSUE_AIR, SpineGeometry
from .grid import Grid, Pose
from .tissue import Tissue

__all__ = ["Mixture", "render"]


@dataclass(frozen=True, eq=False)
class Mixture:
    """Tissue composition of every voxel of a grid.

    Attributes
    ----------
    grid : Grid
    labels : (X, Y, Z) int16 ndarray
        Native label of the majority of each voxel's sub-samples.
    fractions : scipy.sparse.csr_matrix, (n_voxels, n_tissues)
        Volume fraction of each tissue per voxel (rows sum to 1), voxels in C order.
    tissues : tuple of Tissue
        Column order of ``fractions``.
    """

    grid: Grid
    labels: np.ndarray
    fractions: sp.csr_matrix
    tissues: tuple[Tissue, ...]

    def combine(self, per_tissue: np.ndarray) -> np.ndarray:
        """Partial-volume sum of per-tissue values: ``fractions @ per_tissue`` on the grid.

        Parameters
        ----------
        per_tissue : (n_tissues,) or (n_tissues, m) ndarray

        Returns
        -------
        (X, Y, Z) or (X, Y, Z, m) float32 ndarray
        """
        per_tissue = np.asarray(per_tissue, dtype=np.float64)
        out = self.fractions @ per_tissue
        return np.asarray(out, dtype=np.float32).reshape(self.grid.shape + per_tissue.shape[1:])

    def parameter_map(self, name: str) -> np.ndarray:
        """Fraction-weighted mean of a tissue parameter over the non-air part of each voxel.

        Parameters
        ----------
        name : {"t2_ms", "t1_ms", "adc_mm2_s", "pd"}

        Returns
        -------
        (X, Y, Z) float32 ndarray
            NaN in voxels that hold only air.
        """
        values = np.array([getattr(t, name) for t in self.tissues], dtype=np.float64)
        tissue = np.ones(len(self.tissues))
        tissue[TISSUE_AIR] = 0.0
        values[TISSUE_AIR] = 0.0
        weight = self.combine(tissue).astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = self.combine(values) / weight
        return np.where(weight > 1e-6, out, np.nan).astype(np.float32)


def _offsets(spacing: tuple[float, float, float], step_mm: float | Sequence[float],
             max_per_axis: int):
    steps = np.broadcast_to(np.asarray(step_mm, dtype=np.float64), (3,))
    counts = [min(max_per_axis, max(1, math.ceil(s / st))) for s, st in zip(spacing, steps,
                                                                          strict=True)]
    axes = [(np.arange(n) + 0.5) / n - 0.5 for n in counts]
    return np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, 3)


def render(
    geometry: SpineGeometry,
    grid: Grid,
    pose: Pose | None = None,
    *,
    subsample_mm: float | Sequence[float] = 0.5,
    max_per_axis: int = 8,
    chunk: int = 1 << 18,
) -> Mixture:
    """Voxelize the phantom on a grid, with partial volume.

    Each voxel centre is classified first. Voxels whose 3×3×3 neighbourhood holds more than one
    tissue or label, and every voxel touching a disc, are then sampled on a regular sub-grid of
    about ``subsample_mm`` spacing (at most ``max_per_axis`` samples per axis): their tissue
    fractions are the share of sub-samples (weighted by the nucleus/annulus transition), their
    label the most frequent sub-sample label (ties go to the label at the voxel centre).

    Parameters
    ----------
    geometry : SpineGeometry
    grid : Grid
        Acquisition grid in scanner space.
    pose : Pose, optional
        Placement of the body in the scanner (identity by default).
    subsample_mm : float or sequence of 3 floats
        Target spacing of the sub-samples, mm, for all grid axes or per axis. Edges are placed
        to within about ±spacing/(2n) with n sub-samples along an axis, so images used to test
        sub-voxel measurements need a fine step in-plane.
    max_per_axis : int
        Cap on sub-samples per voxel axis.
    chunk : int
        Points classified at once (bounds memory).

    Returns
    -------
    Mixture
    """
    pose = Pose.identity() if pose is None else pose
    n_tissue = len(geometry.tissues)
    nvox = grid.size
    centre_label = np.empty(nvox, np.int16)
    ca = np.empty(nvox, np.int16)
    cb = np.empty(nvox, np.int16)
    cw = np.empty(nvox, np.float32)
    for start in range(0, nvox, chunk):
        idx = np.arange(start, min(nvox, start + chunk))
        body = pose.to_body(grid.points(idx))
        centre_label[idx], ca[idx], cb[idx], cw[idx] = geometry.classify(body)
    key = (centre_label.astype(np.int32) * 64 + ca).reshape(grid.shape)
    edge = ndimage.maximum_filter(key, size=3) != ndimage.minimum_filter(key, size=3)
    lab3 = centre_label.reshape(grid.shape)
    edge |= ndimage.binary_dilation((lab3 >= 100) & (lab3 < 300), iterations=1)
    edge_idx = np.flatnonzero(edge)

    labels = centre_label.copy()
    inner = np.ones(nvox, bool)
    inner[edge_idx] = False
    rows = [np.flatnonzero(inner)] * 2
    cols = [ca[inner], cb[inner]]
    vals = [cw[inner], 1.0 - cw[inner]]

    offsets = _offsets(grid.spacing, subsample_mm, max_per_axis)
    m = len(offsets)
    label_values = np.unique(np.concatenate([[0], geometry_label_values(geometry)]))
    per_block = max(1, chunk // m)
    for start in range(0, len(edge_idx), per_block):
        block = edge_idx[start:start + per_block]
        nb = len(block)
        body = pose.to_body(grid.points(block, offsets).reshape(-1, 3))
        lab, ta, tb, w = geometry.classify(body)
        local = np.repeat(np.arange(nb), m)
        votes = np.bincount(local * len(label_values) + np.searchsorted(label_values, lab),
                            minlength=nb * len(label_values)).reshape(nb, -1).astype(np.float64)
        # Ties (common with an even number of sub-samples) go to the voxel-centre label, which
        # is unbiased; argmax alone would favour the lowest label value.
        votes[np.arange(nb), np.searchsorted(label_values, centre_label[block])] += 0.5
        labels[block] = label_values[np.argmax(votes, axis=1)]
        frac = np.bincount(local * n_tissue + ta, weights=w, minlength=nb * n_tissue)
        frac += np.bincount(local * n_tissue + tb, weights=1.0 - w, minlength=nb * n_tissue)
        frac = frac.reshape(nb, n_tissue) / m
        r, c = np.nonzero(frac)
        rows.append(block[r])
        cols.append(c)
        vals.append(frac[r, c])
    row = np.concatenate(rows)
    col = np.concatenate(cols).astype(np.int32)
    val = np.concatenate(vals).astype(np.float64)
    keep = val > 0
    fractions = sp.csr_matrix((val[keep], (row[keep], col[keep])), shape=(nvox, n_tissue))
    fractions.sum_duplicates()
    return Mixture(grid, labels.reshape(grid.shape), fractions, geometry.tissues)


def geometry_label_values(geometry: SpineGeometry) -> np.ndarray:
    """All native label integers the geometry can produce (sorted)."""
    return np.array(sorted(v for v, _ in native_label_table(
        tuple(v.name for v in geometry.vertebrae))), dtype=np.int16)
