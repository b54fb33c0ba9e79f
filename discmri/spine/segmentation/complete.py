"""Completing a partial label map from the image: the structures it lacks, named after it.

A map with discs only (vertebrae left out, as some tools and hand tracings give) gains the
vertebral bodies; a map with vertebrae only gains the discs; either gains the canal when it
has none. Every given label is kept as it is; the segmenter's structures fill only voxels the
map leaves at 0, and its levels are named after the map's own (each body and disc the map
overlaps votes for the count), so the two agree by construction.
"""

from __future__ import annotations

import numpy as np

from ...errors import ParameterError
from ...volume import Volume
from ..labels import convert_labels, detect_scheme
from ..levels import NATIVE_CANAL, NATIVE_PRESACRAL_FAT
from .segment import Segmentation, segment_spine

__all__ = ["complete_labels"]


def _kinds(native: np.ndarray) -> dict[str, bool]:
    values = np.unique(native)
    return {"bodies": bool(((values > 0) & (values < 100)).any()),
            "discs": bool(((values >= 100) & (values < 300)).any()),
            "canal": bool((values == NATIVE_CANAL).any()),
            "fat": bool((values == NATIVE_PRESACRAL_FAT).any())}


def complete_labels(volume: Volume, partial: Volume, *, scheme: str = "auto") -> Segmentation:
    """Add to a partial label map the structures it lacks, segmented from the T2w image.

    Parameters
    ----------
    volume : Volume
        The sagittal T2-weighted image.
    partial : Volume
        A label map on the image's grid, in any known scheme.
    scheme : str
        Its scheme (``"auto"`` detects it).

    Returns
    -------
    Segmentation
        Native labels: the given structures unchanged, the added ones from
        :func:`segment_spine`; the sidecar lists what was added.

    Raises
    ------
    ParameterError
        The map is on another grid, is empty, or already has bodies, discs and canal.
    """
    if partial.spatial_shape != volume.spatial_shape or not np.allclose(
            partial.affine, volume.affine, atol=1e-3):
        raise ParameterError(
            f"the label map ({partial.spatial_shape}) is not on the T2w image's grid "
            f"({volume.spatial_shape}); resample it first")
    data = np.rint(np.asarray(partial.data)).astype(np.int32)
    values = [int(v) for v in np.unique(data) if v]
    if not values:
        raise ParameterError("the label map is empty: nothing to complete (segment instead)")
    source = detect_scheme(values, data)[0] if scheme == "auto" else scheme
    native, _ = convert_labels(data, source, "native")
    have = _kinds(native)
    missing = [k for k in ("bodies", "discs", "canal") if not have[k]]
    if not missing:
        raise ParameterError("the label map already has vertebral bodies, discs and the "
                             "canal: nothing to complete")
    seg = segment_spine(volume, reference=native)
    found = np.asarray(seg.labels.data).astype(np.int32)
    add = np.zeros(found.shape, bool)
    if "bodies" in missing:
        add |= (found > 0) & (found < 100)
    if "discs" in missing:
        add |= (found >= 100) & (found < 300)
    if "canal" in missing:
        add |= found == NATIVE_CANAL
    out = native.astype(np.int16)
    put = add & (out == 0)
    out[put] = found[put]
    name = getattr(source, "name", source)
    sidecar = {**seg.sidecar, "completed": {"given_scheme": name, "added": missing,
                                             "kept": [k for k in have if have[k]]}}
    return Segmentation(volume.with_data(out, LabelScheme="native"), seg.levels, sidecar)
