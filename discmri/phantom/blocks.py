"""A second, deliberately different phantom: blocks with flat endplates and set intensities.

The main phantom (:mod:`discmri.phantom.analytic`, :mod:`discmri.phantom.contrasts`) draws its
images from tissue relaxation times, curved endplates and an optional cortical line. A method
tuned on it can pass every test and still lean on how that phantom was made. This one is made
another way, as another group's phantom would be: vertebral bodies of one intensity, discs of
three concentric elliptic rings (nucleus, inner and outer annulus) that meet the bodies across
flat, parallel endplates, with or without a dark cortical layer, intensities given directly as
fractions of CSF, and thick sagittal slices. Partial volume is exact along the spine's axis
(flat endplates: the overlap of each voxel with each slab) and supersampled in the sagittal
cross-section. Its truth (each disc's thickness between the bony endplates) comes from the
parameters alone, not from any code under test.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ..errors import ParameterError
from ..spine.levels import NATIVE_CANAL, NATIVE_VERTEBRA, disc_name, native_disc_labels
from ..volume import Volume

__all__ = ["BlockSpine", "block_spine"]

_VERTEBRAE = ("T12", "L1", "L2", "L3", "L4", "L5")


@dataclass(frozen=True)
class BlockSpine:
    """A block phantom and its truth.

    Attributes
    ----------
    t2w : Volume
        The image (CSF = 1 before noise), axes LR, AP (anterior +), SI (cranial +).
    labels : Volume
        Native-scheme labels (vertebral bodies, annulus and nucleus of each disc, canal),
        by voxel centre, then grown or shrunk as asked.
    heights : dict of str to float
        Each disc's thickness between the bony endplates, mm (flat, parallel endplates: the
        same at every position).
    noise_sd : float
        Standard deviation of the added Gaussian noise (CSF units).
    """

    t2w: Volume
    labels: Volume
    heights: dict[str, float] = field(default_factory=dict)
    noise_sd: float = 0.0


def _overlap(lo: np.ndarray, hi: np.ndarray, a: float, b: float) -> np.ndarray:
    """Fraction of each interval [lo, hi] inside [a, b]."""
    return np.clip(np.minimum(hi, b) - np.maximum(lo, a), 0.0, None) / (hi - lo)


def block_spine(
    *,
    rng: np.random.Generator,
    voxel_mm: tuple[float, float, float] = (4.0, 0.6, 0.6),
    disc_heights_mm: Sequence[float] = (8.0, 9.5, 10.5, 11.5, 11.0),
    body_height_mm: float = 26.0,
    depth_mm: float = 34.0,
    width_mm: float = 44.0,
    body: float = 0.55,
    background: float = 0.25,
    nucleus: float = 1.0,
    inner_annulus: float = 0.6,
    outer_annulus: float = 0.33,
    cortex: float = 0.05,
    cortex_mm: float = 0.0,
    snr: float = 30.0,
    label_shift_voxels: int = 0,
    supersample: int = 6,
) -> BlockSpine:
    """Make a block phantom of the lumbar column (T12 to L5, five discs).

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of the noise (and of the sub-voxel placement of the column).
    voxel_mm : (LR, AP, SI) float
        Voxel size; the default is 4 mm sagittal slices of 0.6 × 0.6 mm.
    disc_heights_mm : sequence of 5 float
        Thickness of each disc between the bony endplates, T12-L1 to L4-L5.
    body_height_mm, depth_mm, width_mm : float
        Vertebral body height, and the AP depth and LR width of bodies and discs.
    body, background, nucleus, inner_annulus, outer_annulus, cortex : float
        Intensities as fractions of CSF. The nucleus fills the inner 50 % of the disc's
        depth and width, the inner annulus up to 75 %, the outer annulus the rest.
    cortex_mm : float
        Thickness of a dark cortical layer (``cortex``) on each endplate, part of the body
        (the disc's thickness does not change with it). 0: none.
    snr : float
        CSF signal over the noise SD.
    label_shift_voxels : int
        Grow (+) or shrink (−) every disc label by this many voxels at each endplate, as a
        segmenter's boundary may be off.
    supersample : int
        Subsamples per voxel edge in the sagittal cross-section (AP × LR).

    Returns
    -------
    BlockSpine
    """
    heights = [float(h) for h in disc_heights_mm]
    if len(heights) != len(_VERTEBRAE) - 1 or min(heights) <= 0:
        raise ParameterError(f"disc_heights_mm must be {len(_VERTEBRAE) - 1} positive "
                             f"thicknesses, got {disc_heights_mm!r}")
    if snr <= 0 or cortex_mm < 0 or min(voxel_mm) <= 0:
        raise ParameterError("snr and voxel sizes must be positive and cortex_mm >= 0")
    vx = np.asarray(voxel_mm, float)
    # slabs along SI, caudal (L5) first: (kind, name, z0, z1)
    slabs: list[tuple[str, str, float, float]] = []
    z = 20.0 + float(rng.uniform(0, vx[2]))
    for i, v in enumerate(_VERTEBRAE[::-1]):
        slabs.append(("body", v, z, z + body_height_mm))
        z += body_height_mm
        if i < len(heights):
            upper = _VERTEBRAE[::-1][i + 1]
            slabs.append(("disc", disc_name(upper, v), z, z + heights[::-1][i]))
            z += heights[::-1][i]
    extent = np.array([width_mm + 16.0, depth_mm + 60.0, z + 20.0])
    shape = np.ceil(extent / vx).astype(int)
    centre_lr = 0.5 * shape[0] * vx[0] + float(rng.uniform(-0.5, 0.5) * vx[0])
    centre_ap = 20.0 + 0.5 * depth_mm + 32.0  # canal behind, 20 mm of background in front
    # cross-section fractions by supersampling (LR × AP)
    s = supersample
    sub = (np.arange(s) + 0.5) / s
    lr = ((np.arange(shape[0])[:, None] + sub[None, :]) * vx[0]).ravel() - centre_lr
    ap = ((np.arange(shape[1])[:, None] + sub[None, :]) * vx[1]).ravel() - centre_ap

    def ellipse(scale: float) -> np.ndarray:
        r = (lr[:, None] / (0.5 * width_mm * scale)) ** 2 + (ap[None, :] / (0.5 * depth_mm
                                                                            * scale)) ** 2
        inside = (r <= 1.0).astype(float)
        return inside.reshape(shape[0], s, shape[1], s).mean(axis=(1, 3))

    whole, inner, core = ellipse(1.0), ellipse(0.75), ellipse(0.5)
    canal_ap = ((ap >= 0.5 * depth_mm + 2.0) & (ap <= 0.5 * depth_mm + 17.0)).astype(float)
    canal_lr = (np.abs(lr) <= 11.0).astype(float)
    canal = (canal_lr.reshape(shape[0], s).mean(1)[:, None]
             * canal_ap.reshape(shape[1], s).mean(1)[None, :])
    z_lo = np.arange(shape[2]) * vx[2]
    z_hi = z_lo + vx[2]
    image = np.full(tuple(shape), background, float)
    image += (1.0 - background) * canal[:, :, None] * _overlap(z_lo, z_hi, slabs[0][2],
                                                               slabs[-1][3])[None, None, :]
    for kind, _, z0, z1 in slabs:
        if kind == "body":
            f = _overlap(z_lo, z_hi, z0, z1)
            image += (body - background) * whole[:, :, None] * f[None, None, :]
            if cortex_mm > 0:
                for a, b in ((z0, z0 + cortex_mm), (z1 - cortex_mm, z1)):
                    c = _overlap(z_lo, z_hi, a, b)
                    image += (cortex - body) * whole[:, :, None] * c[None, None, :]
        else:
            f = _overlap(z_lo, z_hi, z0, z1)[None, None, :]
            rings = (outer_annulus * (whole - inner) + inner_annulus * (inner - core)
                     + nucleus * core)
            image += (rings[:, :, None] - background * whole[:, :, None]) * f
    sd = 1.0 / snr
    image = image + sd * rng.standard_normal(image.shape)
    labels = np.zeros(tuple(shape), np.int16)
    zc = 0.5 * (z_lo + z_hi)
    shift = label_shift_voxels * vx[2]
    for kind, name, z0, z1 in slabs:
        if kind == "body":
            rows = (zc >= z0) & (zc < z1)
            labels[(whole >= 0.5)[:, :, None] & rows[None, None, :]] = NATIVE_VERTEBRA[name]
    for kind, name, z0, z1 in slabs:
        if kind == "disc":
            rows = (zc >= z0 - shift) & (zc < z1 + shift)
            af, np_ = native_disc_labels(name.split("-")[0])
            labels[(whole >= 0.5)[:, :, None] & rows[None, None, :]] = af
            labels[(core >= 0.5)[:, :, None] & rows[None, None, :]] = np_
    rows = (zc >= slabs[0][2]) & (zc < slabs[-1][3])
    labels[(canal >= 0.5)[:, :, None] & rows[None, None, :] & (labels == 0)] = NATIVE_CANAL
    affine = np.diag([*vx, 1.0])
    truth = {name: z1 - z0 for kind, name, z0, z1 in slabs if kind == "disc"}
    return BlockSpine(Volume(image.astype(np.float32), affine),
                      Volume(labels, affine), truth, sd)
