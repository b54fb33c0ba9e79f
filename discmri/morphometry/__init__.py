"""Disc and vertebral body morphometry: DHI formulas (sub-voxel heights come with issue #5)."""

from .dhi import (
    DHI_FORMULAS,
    dhi_area,
    dhi_farfan,
    dhi_masuda,
    dhi_mean_height,
    height_width_ratio,
)

__all__ = [
    "DHI_FORMULAS",
    "dhi_area",
    "dhi_farfan",
    "dhi_masuda",
    "dhi_mean_height",
    "height_width_ratio",
]
