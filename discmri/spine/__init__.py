"""Spine anatomy: level names, label schemes, disc levels from label maps, and regions."""

from .labels import DiscLevel, SpineLevels, convert_labels, detect_scheme, read_levels
from .levels import (
    NATIVE_CANAL,
    NATIVE_PRESACRAL_FAT,
    NATIVE_VERTEBRA,
    disc_name,
    native_disc_labels,
    native_label_table,
)
from .roi import (
    DISC_REGIONS,
    SpineRegions,
    disc_regions,
    region_stats,
    resample_labels,
    spine_regions,
)
from .schemes import SCHEMES, LabelScheme, load_scheme, scheme_from_mapping

__all__ = [
    "DISC_REGIONS",
    "SCHEMES",
    "SpineRegions",
    "disc_regions",
    "region_stats",
    "resample_labels",
    "spine_regions",
    "DiscLevel",
    "LabelScheme",
    "SpineLevels",
    "convert_labels",
    "detect_scheme",
    "load_scheme",
    "read_levels",
    "scheme_from_mapping",
    "NATIVE_CANAL",
    "NATIVE_PRESACRAL_FAT",
    "NATIVE_VERTEBRA",
    "disc_name",
    "native_disc_labels",
    "native_label_table",
]
