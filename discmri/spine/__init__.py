"""Spine anatomy: level names and label schemes (ROIs and segmentation come with later issues)."""

from .levels import (
    NATIVE_CANAL,
    NATIVE_PRESACRAL_FAT,
    NATIVE_VERTEBRA,
    disc_name,
    native_disc_labels,
    native_label_table,
)

__all__ = [
    "NATIVE_CANAL",
    "NATIVE_PRESACRAL_FAT",
    "NATIVE_VERTEBRA",
    "disc_name",
    "native_disc_labels",
    "native_label_table",
]
