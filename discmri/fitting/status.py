"""Status codes of voxel-wise fits, shared by T2 and ADC maps."""

from types import MappingProxyType

__all__ = [
    "FAILED",
    "LOW_SIGNAL",
    "MASKED",
    "NOT_CONVERGED",
    "NOT_IDENTIFIABLE",
    "OK",
    "OUT_OF_BOUNDS",
    "STATUS",
    "classify",
    "only_ok",
    "status_counts",
]

OK, MASKED, LOW_SIGNAL, OUT_OF_BOUNDS, NOT_CONVERGED, FAILED, NOT_IDENTIFIABLE = range(7)

#: Code → reason. Every voxel whose code is not 0 is NaN in the fitted maps (never 0).
STATUS = MappingProxyType({
    OK: "ok",
    MASKED: "outside mask",
    LOW_SIGNAL: "too little signal",
    OUT_OF_BOUNDS: "outside bounds",
    NOT_CONVERGED: "did not converge",
    FAILED: "fit failed (non-finite result)",
    NOT_IDENTIFIABLE: "not identifiable (standard error larger than the value)",
})


def status_counts(status) -> dict[str, int]:
    """Number of voxels per status reason in a status map."""
    import numpy as np

    codes, counts = np.unique(status, return_counts=True)
    return {STATUS[int(c)]: int(n) for c, n in zip(codes, counts, strict=True)}


def classify(*, low_signal, failed, out_of_bounds, not_converged, not_identifiable=None):
    """Status code per voxel from boolean conditions, by precedence.

    Too little signal outranks a failed (non-finite) fit, which outranks a model that the
    data cannot identify, which outranks a result outside bounds, which outranks
    non-convergence; voxels with none of them are ``OK``.

    Returns
    -------
    (n,) uint8 ndarray
    """
    import numpy as np

    status = np.full(np.shape(low_signal), OK, np.uint8)
    status[np.asarray(not_converged, bool)] = NOT_CONVERGED
    status[np.asarray(out_of_bounds, bool)] = OUT_OF_BOUNDS
    if not_identifiable is not None:
        status[np.asarray(not_identifiable, bool)] = NOT_IDENTIFIABLE
    status[np.asarray(failed, bool)] = FAILED
    status[np.asarray(low_signal, bool)] = LOW_SIGNAL
    return status


def only_ok(status, maps):
    """The maps with NaN wherever ``status`` is not ``OK`` (never 0), and the status itself."""
    import numpy as np

    good = status == OK
    out = {key: np.where(good, value, np.nan) for key, value in maps.items()}
    out["status"] = status
    return out
