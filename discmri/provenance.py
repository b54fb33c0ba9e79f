"""What a result was made with: the versions of discmri and of the scientific stack."""

from __future__ import annotations

from importlib import metadata

from ._version import __version__

__all__ = ["STACK", "software_versions"]

#: Distributions whose versions can change discmri's numbers (fits, resampling, statistics).
STACK = ("numpy", "scipy", "nibabel", "SimpleITK", "scikit-image", "pandas", "statsmodels")


def software_versions() -> dict[str, str]:
    """``{"discmri": ..., "numpy": ..., ...}``: installed versions, "not installed" if absent."""
    out = {"discmri": __version__}
    for name in STACK:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out
