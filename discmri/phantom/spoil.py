"""Label maps as a segmenter or a reader would make them: the phantom's exact labels, spoiled.

The phantom's own label map is cut from its exact geometry, so it is nearly perfect. Real maps
come from segmenters and readers: a voxel too wide or too narrow, jagged or smoothed edges, a
missed edge slice. Measuring with such maps, while the truth stays that of the geometry, shows
whether a method finds the edges in the image or copies them from the labels.

Maps are on the phantom's sagittal grids (axis 0 left-right; axes 1 and 2 in-plane) with the
native scheme (vertebral bodies below 100, disc annulus 100–199 and nucleus 200–299).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from ..errors import ParameterError

__all__ = ["SPOILS", "spoil_labels"]

#: What :func:`spoil_labels` can do to a label map.
SPOILS = ("grow", "shrink", "jagged", "smooth", "drop_edge_slice")


def _discs(labels: np.ndarray) -> np.ndarray:
    return (labels >= 100) & (labels < 300)


def _vertebrae(labels: np.ndarray) -> np.ndarray:
    return (labels > 0) & (labels < 100)


def _nearest(labels: np.ndarray, source: np.ndarray, where: np.ndarray) -> np.ndarray:
    """The label of the nearest ``source`` voxel, at every voxel of ``where``."""
    _, index = ndimage.distance_transform_edt(~source, return_indices=True)
    return np.asarray(labels)[tuple(i[where] for i in index)]


def spoil_labels(
    labels: np.ndarray,
    spoil: str,
    *,
    voxels: int = 1,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """A copy of a native label map with its discs spoiled as a segmenter would.

    Parameters
    ----------
    labels : (X, Y, Z) integer ndarray
        Native label map on a sagittal grid.
    spoil : {"grow", "shrink", "jagged", "smooth", "drop_edge_slice"}
        ``grow``: every disc label dilated in-plane by ``voxels`` (a 3×3 footprint per voxel)
        into the vertebral bodies, which lose those voxels. ``shrink``: every disc eroded
        in-plane by ``voxels``; the freed voxels become unlabelled. ``jagged``: each in-plane
        boundary voxel between a disc and a body goes to the other side with probability 0.3
        (``rng``). ``smooth``: the discs' mask blurred in-plane (Gaussian, SD 1.5 voxels)
        and re-thresholded at one half, rounding their corners. ``drop_edge_slice``: each disc
        loses its outermost left and right slices.
    voxels : int
        Width of ``grow`` and ``shrink``, voxels.
    rng : numpy.random.Generator, optional
        Needed for ``jagged``.

    Returns
    -------
    (X, Y, Z) ndarray
        Same dtype as ``labels``.
    """
    if spoil not in SPOILS:
        raise ParameterError(f"unknown spoil {spoil!r}; expected one of {SPOILS}")
    out = np.array(labels, copy=True)
    disc = _discs(out)
    in_plane = np.zeros((1, 3, 3), bool)
    in_plane[0] = True
    if spoil == "grow":
        grown = ndimage.binary_dilation(disc, in_plane, iterations=voxels)
        new = grown & _vertebrae(out)
        out[new] = _nearest(labels, disc, new)
    elif spoil == "shrink":
        kept = ndimage.binary_erosion(disc, in_plane, iterations=voxels)
        out[disc & ~kept] = 0
    elif spoil == "jagged":
        if rng is None:
            raise ParameterError("spoil 'jagged' needs rng")
        vert = _vertebrae(out)
        disc_edge = disc & ndimage.binary_dilation(vert, in_plane)
        vert_edge = vert & ndimage.binary_dilation(disc, in_plane)
        to_vert = disc_edge & (rng.random(out.shape) < 0.3)
        to_disc = vert_edge & (rng.random(out.shape) < 0.3)
        out[to_disc] = _nearest(labels, disc, to_disc)
        out[to_vert] = _nearest(labels, vert, to_vert)
    elif spoil == "smooth":
        blurred = ndimage.gaussian_filter(disc.astype(np.float32), (0, 1.5, 1.5)) >= 0.5
        new = blurred & ~disc & (out < 100)
        out[new] = _nearest(labels, disc, new)
        out[disc & ~blurred] = 0
    else:  # drop_edge_slice
        for value in np.unique(out[disc]):
            mask = out == value
            xs = np.flatnonzero(mask.any(axis=(1, 2)))
            if len(xs) > 2:
                out[xs[[0, -1]]] = np.where(mask[xs[[0, -1]]], 0, out[xs[[0, -1]]])
    return out
