"""ADC maps from diffusion-weighted images: ``fit_adc`` and its result, ``ADCFit``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..acquisition import B0_MAX, validate_bvals, validate_bvecs
from ..errors import AcquisitionError, ParameterError
from ..fitting import fit_in_chunks, loglinear, loglinear_iterated, varpro_newton
from ..fitting.inputs import check_magnitude, check_mask
from ..fitting.quality import fit_quality
from ..fitting.status import MASKED, STATUS, classify, only_ok, status_counts
from .shells import Shells, group_shells

__all__ = ["METHODS", "STATUS", "ADCFit", "fit_adc"]

#: Methods accepted by :func:`fit_adc`.
METHODS = ("ols", "wls", "nlls", "ivim")


@dataclass(frozen=True, eq=False)
class ADCFit:
    """Result of :func:`fit_adc`. Maps have the spatial shape of the input signal.

    Attributes
    ----------
    adc : ndarray
        Apparent diffusion coefficient (trace), mm²/s, float32; NaN where ``status != 0``. For
        ``ivim`` it is the tissue diffusion coefficient D.
    s0 : ndarray
        Signal at b = 0 of the fitted model (signal units).
    rmse, r2 : ndarray
        Residual of the shell signals against the model, and R².
    status : ndarray
        uint8 codes, see :data:`STATUS`.
    f, d_star : ndarray or None
        IVIM perfusion fraction and pseudo-diffusion coefficient (mm²/s), ``ivim`` only.
    method : str
    bvals : tuple of float
        Shell b-values fitted (s/mm²).
    parameters : dict
    """

    adc: np.ndarray
    s0: np.ndarray
    rmse: np.ndarray
    r2: np.ndarray
    status: np.ndarray
    method: str
    bvals: tuple[float, ...]
    f: np.ndarray | None = None
    d_star: np.ndarray | None = None
    parameters: dict[str, Any] = field(default_factory=dict)

    def predict(self, bvals: np.ndarray | None = None) -> np.ndarray:
        """Model (trace) signal at the given b-values (the fitted shells by default)."""
        b = np.asarray(self.bvals if bvals is None else bvals, dtype=np.float64)
        out = self.s0[..., None] * np.exp(-b * self.adc[..., None])
        if self.f is not None:
            tissue = (1 - self.f[..., None]) * out
            out = tissue + self.f[..., None] * self.s0[..., None] * np.exp(
                -b * self.d_star[..., None])
        return out.astype(np.float32)

    def reasons(self) -> dict[str, int]:
        """Number of voxels per status reason."""
        return status_counts(self.status)


def _check(signal, bvals, bvecs, mask, method, b_range, ivim_threshold, tolerance):
    if method not in METHODS:
        raise ParameterError(f"method {method!r} unknown; expected one of {METHODS}")
    s = np.asarray(signal)
    b = validate_bvals(bvals, n_volumes=s.shape[-1] if s.ndim else None)
    if bvecs is not None:
        validate_bvecs(bvecs, b)  # NaN directions on b = 0 volumes are accepted
    s = check_magnitude(s, axis_name="volumes")
    shells = group_shells(b, tolerance=tolerance)
    lo, hi = (-np.inf, np.inf) if b_range is None else (float(b_range[0]), float(b_range[1]))
    if lo > hi:
        raise ParameterError(f"b_range {lo:g}, {hi:g}: low is above high; expected (low, "
                             "high) in s/mm²")
    fitted = np.flatnonzero((shells.bvals >= lo) & (shells.bvals <= hi))
    if method == "ivim":
        fitted = np.arange(len(shells.bvals))
        high = shells.bvals >= ivim_threshold
        low = (shells.bvals < ivim_threshold) & (shells.bvals > B0_MAX)
        if high.sum() < 2 or not low.any() or not shells.has_b0:
            raise AcquisitionError(
                f"IVIM needs b = 0, at least one b below {ivim_threshold:g} and two at or above "
                f"it; got shells {np.round(shells.bvals).tolist()}")
    if len(fitted) < 2:
        raise AcquisitionError(
            f"only {len(fitted)} distinct b-value in the fit ({np.round(shells.bvals[fitted])}"
            f" of shells {np.round(shells.bvals).tolist()}); an ADC needs at least two")
    return s, b, shells, fitted, check_mask(mask, s.shape[:-1])


def fit_adc(
    signal: np.ndarray,
    bvals: np.ndarray,
    *,
    bvecs: np.ndarray | None = None,
    mask: np.ndarray | None = None,
    method: str = "wls",
    b_range: tuple[float, float] | None = None,
    ivim_threshold: float = 200.0,
    shell_tolerance: float = 25.0,
    wls_iterations: int = 2,
    adc_bounds: tuple[float, float] = (1e-6, 1e-2),
    chunk_size: int = 32768,
    threads: int = 1,
    progress: bool = False,
) -> ADCFit:
    r"""Fit ADC maps to diffusion-weighted magnitude images, all voxels at once.

    b-values are grouped into shells (scanner rounding such as 795/800/805 is one shell,
    within ``shell_tolerance``). The b = 0 volumes are averaged; the volumes of each other
    shell are combined by their geometric mean, the trace-weighted signal
    :math:`S_0 e^{-b\,\mathrm{MD}}`, so the ADC is the mean diffusivity whatever the tissue's
    anisotropy. Then, per voxel, :math:`S(b) = S_0 e^{-b\,ADC}` is fitted over the shells in
    ``b_range``:

    * ``ols`` — log-linear least squares, equal weights.
    * ``wls`` — log-linear weighted least squares with weights :math:`n_k \hat S_k^2`
      (predicted signal squared times the volumes in the shell), starting from ``ols`` and
      iterated ``wls_iterations`` times (Veraart et al. 2013).
    * ``nlls`` — nonlinear least squares by variable projection, from ``wls``.
    * ``ivim`` — segmented intravoxel incoherent motion (Le Bihan et al. 1988): D by ``wls``
      over shells with b ≥ ``ivim_threshold``; the perfusion fraction
      :math:`f = 1 - S_{int}/S(0)` from the intercept; D* by nonlinear least squares of the
      low-b excess :math:`S(b) - S_{int} e^{-bD} = f S_0 e^{-b D^*}`. ``b_range`` is not used.

    Parameters
    ----------
    signal : (..., n_volumes) ndarray
        Magnitude images, volumes last.
    bvals : (n_volumes,) array_like
        s/mm² (values above 10⁵ are refused as s/m²).
    bvecs : (n_volumes, 3) ndarray, optional
        Checked (unit length for b > 0) when given; the trace does not need them.
    mask : (...) bool ndarray, optional
    method : {"ols", "wls", "nlls", "ivim"}
    b_range : (float, float), optional
        Shells fitted, e.g. ``(200, 1000)`` to avoid perfusion at low b.
    ivim_threshold : float
        b (s/mm²) above which perfusion is neglected (``ivim``).
    shell_tolerance : float
        Largest b-value gap within a shell, s/mm².
    wls_iterations : int
    adc_bounds : (float, float)
        mm²/s; fits outside are NaN with status "outside bounds".
    chunk_size, threads, progress
        As for :func:`discmri.relaxometry.fit_t2`.

    Returns
    -------
    ADCFit

    Raises
    ------
    AcquisitionError
        b-value count not matching the volumes, negative or s/m² b-values, b-vectors not unit
        or of the wrong shape, no b = 0, fewer than two b-values in the fit.
    ImageFormatError
        NaN, negative or all-zero signal.
    GeometryError
        Mask of the wrong shape.

    References
    ----------
    .. [1] Veraart J, et al. NeuroImage 2013;81:335-346. doi:10.1016/j.neuroimage.2013.05.028
    .. [2] Le Bihan D, et al. Separation of diffusion and perfusion in intravoxel incoherent
       motion MR imaging. Radiology 1988;168:497-505. doi:10.1148/radiology.168.2.3393671

    Examples
    --------
    >>> b = np.array([0, 400, 400, 400, 800, 800, 800.0])
    >>> fit = fit_adc(1000 * np.exp(-b * 1.7e-3)[None, :], b)
    >>> round(float(fit.adc[0]) * 1e3, 6)
    1.7
    """
    s, b, shells, fitted, m = _check(signal, bvals, bvecs, mask, method, b_range,
                                     ivim_threshold, shell_tolerance)
    spatial = s.shape[:-1]
    flat = s.reshape(-1, s.shape[-1])
    n = flat.shape[0]
    shell_b = shells.bvals
    counts = shells.counts.astype(np.float64)
    outputs = {k: np.full(n, np.nan, np.float32) for k in ("adc", "s0", "rmse", "r2")}
    outputs["status"] = np.full(n, MASKED, np.uint8)
    if method == "ivim":
        outputs["f"] = np.full(n, np.nan, np.float32)
        outputs["d_star"] = np.full(n, np.nan, np.float32)
    reducer = _Reducer(shells)

    def wls(y: np.ndarray, logy: np.ndarray, bk: np.ndarray, ck: np.ndarray):
        return loglinear_iterated(y, bk, counts=ck, log_signal=logy,
                                  iterations=0 if method == "ols" else wls_iterations)

    def fit_chunk(rows: np.ndarray, index: np.ndarray) -> dict[str, np.ndarray]:
        k = len(rows)
        y_all, log_all = reducer(rows)
        y, bk, ck = y_all[:, fitted], shell_b[fitted], counts[fitted]
        converged = np.ones(k, bool)
        result: dict[str, np.ndarray] = {}
        if method == "ivim":
            high = fitted[shell_b[fitted] >= ivim_threshold]
            amp, rate, used = wls(y_all[:, high], log_all[:, high], shell_b[high], counts[high])
            enough = used >= 2
            s_b0 = y_all[:, 0].astype(np.float64)
            with np.errstate(divide="ignore", invalid="ignore"):
                f = 1.0 - amp / s_b0
            low = np.flatnonzero(shell_b < ivim_threshold)
            excess = y_all[:, low] - amp[:, None] * np.exp(-np.outer(rate, shell_b[low]))
            _, dstar0, _ = loglinear(np.maximum(excess, 0), shell_b[low])
            dstar0 = np.where(np.isfinite(dstar0), np.maximum(dstar0, 2 * rate), 10 * rate)
            famp, dstar, _, _ = varpro_newton(excess, shell_b[low], dstar0,
                                              rate_bounds=(adc_bounds[1], 1.0))
            pred = (amp[:, None] * np.exp(-np.outer(rate, bk))
                    + famp[:, None] * np.exp(-np.outer(dstar, bk)))
            s0 = amp + famp
            good_ivim = (f >= 0) & (f < 1) & np.isfinite(dstar)
            result["f"] = np.where(good_ivim, f, np.nan)
            result["d_star"] = np.where(good_ivim, dstar, np.nan)
        else:
            amp, rate, used = wls(y, log_all[:, fitted], bk, ck)
            enough = used >= 2
            if method == "nlls":
                # each shell signal averages ck volumes: weight its squared residual by ck,
                # as a fit to every volume would (unweighted shells lose precision)
                amp, rate, _, converged = varpro_newton(
                    y, bk, rate, rate_bounds=(adc_bounds[0] / 10, adc_bounds[1] * 10),
                    weights=ck)
            s0 = amp
            with np.errstate(divide="ignore", invalid="ignore"):
                coef = np.stack([np.log(amp), rate], 1).astype(np.float32)
            pred = coef @ np.stack([np.ones_like(bk), -bk]).astype(np.float32)
            np.exp(pred, out=pred)
        rmse, r2 = fit_quality(y, y - pred)
        status = classify(low_signal=~enough | (y_all[:, 0] <= 0),
                          failed=~(np.isfinite(rate) & np.isfinite(s0)),
                          out_of_bounds=(rate <= adc_bounds[0]) | (rate >= adc_bounds[1]),
                          not_converged=~converged)
        result.update(adc=rate, s0=s0, rmse=rmse, r2=r2)
        return only_ok(status, result)

    fit_in_chunks(flat, m.reshape(-1), fit_chunk, outputs, chunk_size=chunk_size,
                  threads=max(1, int(threads)), progress=progress, description=f"ADC ({method})")
    maps = {key: v.reshape(spatial) for key, v in outputs.items()}
    return ADCFit(
        adc=maps["adc"], s0=maps["s0"], rmse=maps["rmse"], r2=maps["r2"], status=maps["status"],
        method=method, bvals=tuple(float(v) for v in shell_b[fitted]), f=maps.get("f"),
        d_star=maps.get("d_star"),
        parameters={"b_range": b_range, "shells": [float(v) for v in shell_b],
                    "volumes_per_shell": shells.counts.tolist(), "adc_bounds": adc_bounds,
                    "wls_iterations": wls_iterations, "ivim_threshold": ivim_threshold,
                    "s0_extrapolated": bool(shell_b[fitted].min() > B0_MAX)},
    )


class _Reducer:
    """Shell reduction as matrix products (fast on short measurement axes)."""

    def __init__(self, shells: Shells) -> None:
        n, k = len(shells.index), len(shells.bvals)
        self.mean = np.zeros((n, k), np.float32)
        self.mean[np.arange(n), shells.index] = 1.0 / shells.counts[shells.index]
        self.geometric = np.ones(k, bool)
        if shells.has_b0:
            self.geometric[0] = False
        self.geometric &= shells.counts > 1

    def __call__(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Shell signals and their logarithms, (n, k) each."""
        out = rows @ self.mean  # arithmetic means
        with np.errstate(divide="ignore", invalid="ignore"):
            logs = np.log(out)
            if self.geometric.any():
                geo = np.log(np.maximum(rows, 0)) @ self.mean
                logs[:, self.geometric] = geo[:, self.geometric]
                out[:, self.geometric] = np.exp(geo[:, self.geometric])
        return out, logs
