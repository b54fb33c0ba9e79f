"""QC figure of a segmentation: the mid-sagittal slice with every label's outline and name."""

from __future__ import annotations

import numpy as np

from ..plotting import new_figure, png_bytes
from ..spine.labels import next_vertebra
from ..spine.levels import NATIVE_CANAL, NATIVE_PRESACRAL_FAT, NATIVE_VERTEBRA
from ..spine.segmentation.sagittal import sagittal_frame
from ..volume import Volume

__all__ = ["segmentation_figure"]


def _disc_text(cranial: int, lab: np.ndarray, names: dict[int, str]) -> str:
    """Name of the disc below vertebra ``cranial``, as the tables name it."""
    up = names.get(cranial)
    if up is None or up == "S1":
        return "?"
    present = {names[v] for v in np.unique(lab) if 0 < v < 100 and v in names}
    return f"{up}-{next_vertebra(up, present)}"


def segmentation_figure(image: Volume, labels: Volume, *, title: str | None = None,
                        slice_index: int | None = None) -> bytes:
    """PNG of a sagittal slice with the outlines of the bodies, discs, canal and fat.

    Parameters
    ----------
    image : Volume
        The T2-weighted image.
    labels : Volume
        A native label map on its grid (e.g. :attr:`Segmentation.labels`).
    title : str, optional
    slice_index : int, optional
        Slice in the RAS frame (left→right); the one with the most labelled voxels when
        omitted.

    Returns
    -------
    bytes
        A PNG image (needs matplotlib).
    """
    frame = sagittal_frame(image)
    lab = frame.from_input(np.rint(np.asarray(labels.data)).astype(np.int32))
    if slice_index is None:
        slice_index = int(np.argmax(((lab > 0) & (lab < 300)).sum(axis=(1, 2))))
    data, sl = frame.data[slice_index], lab[slice_index]
    dy, dz = frame.spacing[1:]
    extent = (0, data.shape[0] * dy, 0, data.shape[1] * dz)
    fig = new_figure(5, 5 * data.shape[1] * dz / max(data.shape[0] * dy, 1e-6) + 0.4)
    ax = fig.add_subplot()
    hi = float(np.percentile(data, 99.5)) or 1.0
    ax.imshow(data.T, origin="lower", cmap="gray", vmin=0, vmax=hi, extent=extent)
    names = {v: k for k, v in NATIVE_VERTEBRA.items()}
    for key in np.unique(sl):
        if not key:
            continue
        mask = (sl == key).T.astype(float)
        colour = ("#ffd21f" if key < 100 else "#35d0ff" if key < 300
                  else "#ff5ad1" if key == NATIVE_CANAL else "#8cff5a")
        ax.contour(mask, levels=[0.5], colors=[colour], linewidths=0.9,
                   extent=(0, data.shape[0] * dy, 0, data.shape[1] * dz))
        if key >= 300 and key not in (NATIVE_CANAL, NATIVE_PRESACRAL_FAT):
            continue
        ys, zs = np.nonzero(sl == key)
        if key < 100:
            text = names.get(int(key), str(key))
        elif key < 300:
            text = _disc_text(int(key) % 100, lab, names)
        else:
            continue
        ax.text(ys.max() * dy + 2, zs.mean() * dz, text, color=colour, fontsize=7,
                va="center")
    ax.set_xlabel("posterior → anterior, mm")
    ax.set_ylabel("inferior → superior, mm")
    ax.set_title(title or f"segmentation, slice {slice_index}", fontsize=9)
    return png_bytes(fig, dpi=110, bbox_inches="tight")
