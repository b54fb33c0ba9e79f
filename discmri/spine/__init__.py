"""Spine anatomy: level names, label schemes and disc levels from label maps."""

from .labels import DiscLevel, SpineLevels, convert_labels, detect_scheme, read_levels
from .levels import (
    NATIVE_CANAL,
    NATIVE_PRESACRAL_FAT,
    NATIVE_VERTEBRA,
    disc_name,
    native_disc_labels,
    native_label_table,
)
from .schemes import SCHEMES, LabelScheme, load_scheme, scheme_from_mapping

__all__ = [
    "SCHEMES",
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
