"""Exceptions raised by discmri for bad input.

Every input error is a :class:`DiscMRIError`, which is also a :class:`ValueError`, so callers
that already catch ``ValueError`` keep working. Messages name the file (when there is one), the
offending value and what was expected. The command line prints them on one line and exits 2.

Only input errors are ``DiscMRIError``: a bug raises whatever Python raises, is never caught as
bad input, and shows its traceback (the CLI exits 1; a dataset run records it against the
session and goes on).
"""

from __future__ import annotations

__all__ = [
    "AcquisitionError",
    "DatasetError",
    "DiscMRIError",
    "GeometryError",
    "ImageFormatError",
    "InputNotFoundError",
    "MapError",
    "MeasurementError",
    "OutputError",
    "OutputExistsError",
    "ParameterError",
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


class ParameterError(DiscMRIError):
    """An option has a value outside what it accepts (a method name, a range, a count)."""


class MapError(DiscMRIError):
    """A parameter map cannot be what it claims.

    Wrong units, an image instead of a map, no finite values, or not over the discs.
    """


class MeasurementError(DiscMRIError):
    """One structure (a disc, a vertebral body) cannot be measured on this image; the others can."""


class OutputError(DiscMRIError, OSError):
    """An output cannot be written where asked (folder not writable, a file in the way)."""
