"""Status codes of voxel-wise fits, shared by T2 and ADC maps."""

from types import MappingProxyType

__all__ = [
    "FAILED",
    "LOW_SIGNAL",
    "MASKED",
    "NOT_CONVERGED",
    "OK",
    "OUT_OF_BOUNDS",
    "STATUS",
    "status_counts",
]

OK, MASKED, LOW_SIGNAL, OUT_OF_BOUNDS, NOT_CONVERGED, FAILED = range(6)

#: Code → reason. Every voxel whose code is not 0 is NaN in the fitted maps (never 0).
STATUS = MappingProxyType({
    OK: "ok",
    MASKED: "outside mask",
    LOW_SIGNAL: "too little signal",
    OUT_OF_BOUNDS: "outside bounds",
    NOT_CONVERGED: "did not converge",
    FAILED: "fit failed (non-finite result)",
})


def status_counts(status) -> dict[str, int]:
    """Number of voxels per status reason in a status map."""
    import numpy as np

    codes, counts = np.unique(status, return_counts=True)
    return {STATUS[int(c)]: int(n) for c, n in zip(codes, counts, strict=True)}
