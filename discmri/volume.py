"""The :class:`Volume` container: voxel data plus the geometry that places it in the scanner."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
from nibabel.orientations import aff2axcodes

from .errors import GeometryError, ImageFormatError
from .geometry import voxel_spacing

__all__ = ["Volume", "voxel_spacing"]


@dataclass(frozen=True, eq=False)
class Volume:
    """An image volume in scanner space.

    Parameters
    ----------
    data : (X, Y, Z) or (X, Y, Z, N) ndarray
        Voxel values, converted to float32, in the array order nibabel gives (x-y-z, then echoes
        or diffusion volumes).
    affine : (4, 4) ndarray
        Voxel-to-world transform in RAS+ millimetres.
    meta : mapping, optional
        Everything else known about the volume. Keys used by discmri: ``"source"`` (path it was
        read from), ``"header"`` (the nibabel header, kept so saving preserves it),
        ``"sidecar"`` (BIDS JSON dict), ``"echo_times_ms"`` (tuple of float),
        ``"bvals"`` ((N,) s/mm²), ``"bvecs"`` ((N, 3) unit vectors).

    Notes
    -----
    The volume is immutable: ``data`` is made read-only so that no processing step can alter
    what was loaded. Voxel spacing is derived from the affine, never stored separately.
    """

    data: np.ndarray
    affine: np.ndarray
    meta: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        data = np.asarray(self.data)
        if data.dtype != np.float32:
            data = data.astype(np.float32)
        elif data.flags.writeable:
            data = data.copy()
        data.flags.writeable = False
        affine = np.array(self.affine, dtype=np.float64)
        if affine.shape != (4, 4):
            raise GeometryError(f"affine must be a 4x4 matrix, got shape {affine.shape}")
        if data.ndim not in (3, 4):
            raise ImageFormatError(
                f"data must be 3-D or 4-D (x, y, z[, n]), got shape {data.shape}")
        affine.flags.writeable = False
        object.__setattr__(self, "data", data)
        object.__setattr__(self, "affine", affine)
        object.__setattr__(self, "meta", MappingProxyType(dict(self.meta)))

    def __reduce__(self):
        # MappingProxyType does not pickle: rebuild from plain parts (for worker processes)
        return (Volume, (np.array(self.data), np.array(self.affine), dict(self.meta)))

    @property
    def shape(self) -> tuple[int, ...]:
        """Array shape, spatial axes first."""
        return tuple(self.data.shape)

    @property
    def spatial_shape(self) -> tuple[int, int, int]:
        """Shape of the three spatial axes."""
        return tuple(self.data.shape[:3])  # type: ignore[return-value]

    @property
    def spacing(self) -> tuple[float, float, float]:
        """Voxel size in mm along the three array axes (from the affine)."""
        return voxel_spacing(self.affine)

    @property
    def orientation(self) -> str:
        """Anatomical direction of increasing index per axis, e.g. ``"RAS"`` or ``"ASR"``."""
        return "".join(aff2axcodes(self.affine))

    @property
    def source(self) -> str | None:
        """Path the volume was read from, if any."""
        src = self.meta.get("source")
        return None if src is None else str(src)

    def with_data(self, data: np.ndarray, **meta: Any) -> Volume:
        """Return a new volume on the same grid with other data (e.g. a fitted map).

        Parameters
        ----------
        data : (X, Y, Z[, N]) ndarray
            New voxel values; the first three dimensions must match this volume.
        **meta
            Metadata entries to add or replace. ``source`` is dropped: the new volume was not
            read from a file.

        Returns
        -------
        Volume
        """
        data = np.asarray(data)
        if data.shape[:3] != self.spatial_shape:
            raise GeometryError(
                f"new data has spatial shape {data.shape[:3]}, expected {self.spatial_shape}"
            )
        merged = {k: v for k, v in self.meta.items() if k != "source"}
        merged.update(meta)
        return Volume(data, self.affine, merged)

    def __repr__(self) -> str:
        sp = "×".join(f"{s:.3g}" for s in self.spacing)
        return f"Volume(shape={self.shape}, spacing={sp} mm, orientation={self.orientation})"
