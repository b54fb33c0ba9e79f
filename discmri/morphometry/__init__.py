"""Disc and vertebral body morphometry: sub-voxel heights, depth, area, wedge angle and DHI."""

from .dhi import (
    DHI_COLUMNS,
    DHI_FORMULAS,
    L5S1_NOTE,
    dhi_area,
    dhi_farfan,
    dhi_masuda,
    dhi_mean_height,
    disc_height_index,
    height_width_ratio,
)
from .frame import Frame, frame_from_points
from .spine_morphometry import HEIGHT_POSITIONS, SpineMorphometry, measure_spine
from .structure import EDGE_MODES, StructureGeometry, measure_structure

__all__ = [
    "DHI_COLUMNS",
    "DHI_FORMULAS",
    "EDGE_MODES",
    "L5S1_NOTE",
    "disc_height_index",
    "HEIGHT_POSITIONS",
    "Frame",
    "StructureGeometry",
    "SpineMorphometry",
    "dhi_area",
    "dhi_farfan",
    "dhi_masuda",
    "dhi_mean_height",
    "frame_from_points",
    "height_width_ratio",
    "measure_structure",
    "measure_spine",
]
