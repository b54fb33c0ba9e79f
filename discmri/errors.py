"""Exceptions raised by discmri for bad input.

Every input error is a :class:`DiscMRIError`, which is also a :class:`ValueError`, so callers
that already catch ``ValueError`` keep working. Messages name the file (when there is one), the
offending value and what was expected. The command line prints them on one line and exits 2.
"""

from __future__ import annotations

__all__ = [
    "AcquisitionError",
    "DatasetError",
    "DiscMRIError",
    "GeometryError",
    "ImageFormatError",
    "InputNotFoundError",
    "OutputExistsError",
]


class DiscMRIError(ValueError):
    """Base class for errors caused by bad input to discmri."""


class InputNotFoundError(DiscMRIError, FileNotFoundError):
    """An input file or folder does not exist."""


class ImageFormatError(DiscMRIError):
    """A file is not a readable image, or its content is unusable (truncated, NaN, wrong rank)."""


class AcquisitionError(DiscMRIError):
    """Acquisition parameters (echo times, b-values, b-vectors) are missing or inconsistent."""


class GeometryError(DiscMRIError):
    """Two images that must share a voxel grid do not (shape or affine)."""


class DatasetError(DiscMRIError):
    """A dataset folder is empty or not laid out as expected."""


class OutputExistsError(DiscMRIError, FileExistsError):
    """An output would overwrite an existing file or one of the inputs."""
