"""T2 maps from multi-echo spin-echo data: ``fit_t2`` and its result, ``T2Fit``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..acquisition import validate_echo_times
from ..errors import AcquisitionError, ParameterError
from ..fitting import estimate_noise_sigma, fit_in_chunks, loglinear, varpro_newton
from ..fitting.inputs import check_magnitude, check_mask
from ..fitting.quality import fit_quality
from ..fitting.rician import bessel_ratio, magnitude_ml
from ..fitting.status import MASKED, STATUS, classify, only_ok, status_counts
from .dictionary import EPGDictionary

__all__ = ["METHODS", "STATUS", "T2Fit", "fit_t2"]

#: Methods accepted by :func:`fit_t2`.
METHODS = ("auto", "loglinear", "nlls", "offset", "epg")



@dataclass(frozen=True, eq=False)
class T2Fit:
    """Result of :func:`fit_t2`. Maps have the spatial shape of the input signal.

    Attributes
    ----------
    t2 : ndarray
        T2, ms (float32; NaN where ``status != 0``).
    m0 : ndarray
        Signal at TE = 0 (apparent proton density, signal units).
    rmse : ndarray
        Root-mean-square residual of the magnitude over the echoes, signal units.
    r2 : ndarray
        Coefficient of determination of the magnitude fit.
    status : ndarray
        uint8 codes, see :data:`STATUS`.
    offset : ndarray or None
        Constant C of the ``offset`` model.
    b1 : ndarray or None
        Fitted (or given) B1 of the ``epg`` model.
    method : str
        The method used (``auto`` resolved).
    echo_times_ms : tuple of float
    noise_sigma : float or None
        σ used for the noise-floor correction, if any.
    coils : int
        Receive channels of the root-sum-of-squares magnitude the correction assumed (1:
        Rician); the noise floor of the expected squared magnitude is ``2·coils·σ²``.
    parameters : dict
        Everything else that determined the fit (bounds, refocusing angle, T1 …).
    """

    t2: np.ndarray
    m0: np.ndarray
    rmse: np.ndarray
    r2: np.ndarray
    status: np.ndarray
    method: str
    echo_times_ms: tuple[float, ...]
    offset: np.ndarray | None = None
    b1: np.ndarray | None = None
    noise_sigma: float | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    coils: int = 1

    def predict(self, echo_times_ms: np.ndarray | None = None) -> np.ndarray:
        """Model magnitude at the given echo times (the fitted ones by default).

        For noise-floor-corrected fits this is ``sqrt(A² + 2·N·σ²)`` with N the receive
        channels (:attr:`coils`), the root of the expected squared magnitude, which is what
        the power-domain fit matches.

        Returns
        -------
        (..., n_echoes) float32 ndarray
        """
        te = np.asarray(self.echo_times_ms if echo_times_ms is None else echo_times_ms, float)
        if self.method == "epg":
            from .epg import cpmg_echo_train

            spacing = self.echo_times_ms[0]
            if not np.allclose(te, spacing * np.arange(1, len(te) + 1)):
                raise AcquisitionError("EPG prediction needs echo times k × the echo spacing")
            t2 = np.where(np.isfinite(self.t2), self.t2, 100.0)
            b1 = np.where(np.isfinite(self.b1), self.b1, 1.0)
            amp = self.m0[..., None] * cpmg_echo_train(
                t2, b1, echo_spacing_ms=spacing, n_echoes=len(te),
                t1_ms=self.parameters["t1_ms"], refocusing_deg=self.parameters["refocusing_deg"])
        else:
            amp = self.m0[..., None] * np.exp(-te / self.t2[..., None])
            if self.offset is not None:
                amp = amp + self.offset[..., None]
        if self.noise_sigma is not None:
            amp = np.sqrt(amp**2 + 2 * self.coils * self.noise_sigma**2)
        return amp.astype(np.float32)

    def reasons(self) -> dict[str, int]:
        """Number of voxels per status reason."""
        return status_counts(self.status)


def _check_inputs(signal, echo_times_ms, mask, method):
    if method not in METHODS:
        raise ParameterError(f"method {method!r} unknown; expected one of {METHODS}")
    s = check_magnitude(signal, axis_name="echoes")
    te = validate_echo_times(echo_times_ms, n_echoes=s.shape[-1])
    needed = 3 if method in ("offset", "epg") else 2
    if len(te) < needed:
        raise AcquisitionError(
            f"method {method!r} fits {needed} parameters and needs at least {needed} echoes, got "
            f"{len(te)}")
    return s, te, check_mask(mask, s.shape[:-1])


def _offset_unidentifiable(amp, rate, te, rmse) -> np.ndarray:
    """Offset fits whose T2 has a standard error larger than itself.

    With ``S = A·exp(−R·TE) + C`` the decay must bend visibly within the echo train: a train
    that sees only a straight line (T2 long against the train, or low SNR) is fitted as well
    by any long T2 with a matching offset. The standard error of R follows from the Fisher
    information ``JᵀJ / σ²`` of (A, R, C) at the fit, with σ estimated from the residuals
    (m − 3 degrees of freedom).
    """
    t = np.asarray(te, np.float64)
    e = np.exp(-np.outer(np.asarray(rate, np.float64), t))
    a = np.asarray(amp, np.float64)
    m = len(t)
    f_aa, f_ac = (e * e).sum(1), e.sum(1)
    f_ar, f_rc = -a * (t * e * e).sum(1), -a * (t * e).sum(1)
    f_rr, f_cc = a * a * (t * t * e * e).sum(1), float(m)
    det = (f_aa * (f_rr * f_cc - f_rc * f_rc) - f_ar * (f_ar * f_cc - f_rc * f_ac)
           + f_ac * (f_ar * f_rc - f_rr * f_ac))
    sigma2 = np.asarray(rmse, np.float64) ** 2 * m / max(m - 3, 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        var_r = sigma2 * (f_aa * f_cc - f_ac * f_ac) / det
        relative = np.sqrt(var_r) / rate
    return ~(relative <= 1.0)  # NaN (a singular information) counts as not identifiable


def fit_t2(
    signal: np.ndarray,
    echo_times_ms: np.ndarray,
    *,
    mask: np.ndarray | None = None,
    method: str = "auto",
    noise_sigma: float | str | None = None,
    b1: np.ndarray | float | None = None,
    refocusing_deg: float = 180.0,
    coils: int = 1,
    t1_ms: float = 1000.0,
    t2_bounds_ms: tuple[float, float] = (1.0, 3000.0),
    dictionary: EPGDictionary | None = None,
    chunk_size: int = 16384,
    threads: int = 1,
    progress: bool = False,
) -> T2Fit:
    r"""Fit T2 maps to multi-echo spin-echo magnitude data, all voxels at once.

    Models (TE in ms):

    * ``loglinear`` — :math:`\log S = \log M_0 - TE/T_2`, weighted least squares with weights
      :math:`S^2`, closed form.
    * ``nlls`` — :math:`S = M_0 e^{-TE/T_2}`, nonlinear least squares by variable projection
      (M0 eliminated, safeguarded Newton on 1/T2, log-linear start).
    * ``offset`` — :math:`S = M_0 e^{-TE/T_2} + C`; the constant absorbs a noise floor.
    * ``epg`` — the CPMG echo train of an extended phase graph with refocusing angle
      ``refocusing_deg × B1`` (stimulated echoes), matched to a T2 × B1 dictionary; B1 is
      fitted, or fixed by ``b1``.
    * ``auto`` — ``nlls``.

    Noise floor: magnitude data are Rician, so late echoes sit on a floor that biases T2 upward
    at low SNR. With ``noise_sigma``, ``nlls`` maximizes the Rician (noncentral-χ for
    ``coils`` > 1) likelihood (:func:`~discmri.fitting.rician.magnitude_ml`), unbiased and at
    the Cramér–Rao bound, starting from the log-linear fit of :math:`\sqrt{M^2 - 2\sigma^2}`;
    ``epg`` and
    ``loglinear`` fit the squared magnitude minus its noise expectation,
    :math:`M^2 - 2\sigma^2`, whose expectation is the squared noise-free signal (Gudbjartsson &
    Patz 1995; Miller & Joseph 1993): unbiased, but less precise. The floor is modelled, not
    truncated. ``loglinear`` then works on :math:`\sqrt{M^2 - 2\sigma^2}` and
    leaves out echoes where :math:`M^2 - 2\sigma^2 < \sigma^2`. ``offset`` ignores σ.

    Parameters
    ----------
    signal : (..., n_echoes) ndarray
        Magnitude images, echoes last.
    echo_times_ms : (n_echoes,) array_like
        Echo times in ms (values that look like seconds are refused).
    mask : (...) bool ndarray, optional
        Voxels to fit; others get status "outside mask".
    method : {"auto", "loglinear", "nlls", "offset", "epg"}
    noise_sigma : float, "auto" or None
        Gaussian noise SD per channel (signal units) for the noise-floor correction; "auto"
        estimates it from the background (:func:`~discmri.fitting.estimate_noise_sigma`);
        None: no correction.
    b1 : float or (...) ndarray, optional
        Known B1 (``epg`` only); fitted when None.
    refocusing_deg : float
        Nominal refocusing angle (``epg``).
    coils : int
        With ``noise_sigma``: 1 for Rician magnitudes (one channel, or an adaptive / SENSE
        combination); N for a root-sum-of-squares combination of N channels (noncentral χ
        with 2N degrees of freedom).
    t1_ms : float
        T1 assumed by ``epg`` (stimulated echoes; weak influence).
    t2_bounds_ms : (float, float)
        Fits outside are NaN with status "T2 outside bounds".
    dictionary : EPGDictionary, optional
        A dictionary built for these echo times (``epg``); by default the one of this
        protocol, built on first use and kept for the process
        (:meth:`EPGDictionary.cached`).
    chunk_size : int
        Voxels per chunk (bounds memory; ~16 k is fastest).
    threads : int
        Threads over chunks.
    progress : bool
        Show a progress bar.

    Returns
    -------
    T2Fit

    Raises
    ------
    AcquisitionError
        Echo times not matching the echoes, not increasing, in seconds, too few for the model,
        or not k × spacing for ``epg``.
    ImageFormatError
        NaN, negative or all-zero signal.
    GeometryError
        Mask of the wrong shape.

    References
    ----------
    .. [1] Gudbjartsson H, Patz S. The Rician distribution of noisy MRI data. Magn Reson Med
       1995;34:910-914. doi:10.1002/mrm.1910340618
    .. [2] Miller AJ, Joseph PM. The use of power images to perform quantitative analysis on
       low SNR MR images. Magn Reson Imaging 1993;11:1051-1056.
       doi:10.1016/0730-725X(93)90225-3
    .. [3] Lebel RM, Wilman AH. Transverse relaxometry with stimulated echo compensation. Magn
       Reson Med 2010;64:1005-1014. doi:10.1002/mrm.22487

    Examples
    --------
    >>> te = np.arange(1, 17) * 10.0
    >>> signal = 1000 * np.exp(-te / np.array([[40.0], [120.0]]))
    >>> fit = fit_t2(signal, te, method="nlls")
    >>> np.round(fit.t2, 3)
    array([ 40., 120.], dtype=float32)
    """
    s, te, m = _check_inputs(signal, echo_times_ms, mask, method)
    if int(coils) != coils or coils < 1:
        raise ParameterError(f"coils {coils}: expected a whole number of receive channels >= 1")
    method = "nlls" if method == "auto" else method
    spatial = s.shape[:-1]
    flat = s.reshape(-1, s.shape[-1])
    n = flat.shape[0]
    sigma: float | None
    if isinstance(noise_sigma, str):
        if noise_sigma != "auto":
            raise ParameterError(f"noise_sigma {noise_sigma}: expected a number, 'auto' or None")
        sigma = estimate_noise_sigma(s)
    elif noise_sigma is None:
        sigma = None
    else:
        sigma = float(noise_sigma)
        if not np.isfinite(sigma) or sigma <= 0:
            raise ParameterError(f"noise_sigma {noise_sigma:g} must be a positive number")
    if method == "offset":
        sigma = None
    b1_flat = None
    if b1 is not None:
        if method != "epg":
            raise ParameterError("b1 is used by method='epg' only")
        b1_flat = np.broadcast_to(np.asarray(b1, dtype=np.float64), spatial).reshape(-1)
    if method == "epg":
        if dictionary is None:
            dictionary = EPGDictionary.cached(te, t1_ms=float(t1_ms),
                                              refocusing_deg=float(refocusing_deg))
        elif not np.allclose(dictionary.echo_times_ms, te):
            raise AcquisitionError("the EPG dictionary was built for other echo times")
        t1_ms, refocusing_deg = dictionary.t1_ms, dictionary.refocusing_deg
    lo, hi = t2_bounds_ms
    rate_bounds = (1.0 / hi, 1.0 / lo)

    outputs = {name: np.full(n, np.nan, np.float32) for name in ("t2", "m0", "rmse", "r2")}
    outputs["status"] = np.full(n, MASKED, np.uint8)
    if method == "offset":
        outputs["offset"] = np.full(n, np.nan, np.float32)
    if method == "epg":
        outputs["b1"] = np.full(n, np.nan, np.float32)
    select = m.reshape(-1)
    design = np.stack([np.ones_like(te), -te]).astype(np.float32)  # (2, n_echoes)
    first_needed = 3.0 * sigma if sigma is not None else 0.0

    def fit_chunk(rows: np.ndarray, index: np.ndarray) -> dict[str, np.ndarray]:
        k = len(rows)
        offset = None
        b1_out = None
        converged = np.ones(k, bool)
        # E[M²] = S² + 2Nσ² for N channels (Rician: N = 1)
        floor2 = np.float32(2 * coils * sigma**2) if sigma is not None else None
        power = rows * rows - floor2 if sigma is not None else None
        # noise-floor-corrected magnitude (log-linear fits and NLLS starts), echoes ≤ floor out
        magnitude = np.sqrt(np.maximum(power, 0)) if power is not None else rows
        floor = sigma if sigma is not None else 0.0
        if method == "loglinear":
            amp, rate, used = loglinear(magnitude, te, floor=floor)
            enough = used >= 2
        elif method in ("nlls", "offset"):
            amp0, rate0, used = loglinear(magnitude, te, floor=floor)
            enough = used >= (3 if method == "offset" else 2)
            if power is not None:
                # the likelihood from the log-linear fit of sqrt(M² − 2σ²), whose square has
                # the squared signal as its expectation (as close a start as the nonlinear
                # fit of M² − 2σ², for a quarter of the time)
                amp, rate, converged = magnitude_ml(rows, te, amp0, rate0, sigma, coils=coils,
                                                    rate_bounds=rate_bounds)
            else:
                amp, rate, fitted_offset, converged = varpro_newton(
                    rows, te, rate0, offset=method == "offset", rate_bounds=rate_bounds)
                offset = fitted_offset if method == "offset" else None
        else:  # epg
            b1_rows = None if b1_flat is None else b1_flat[index]
            matched = dictionary.match(power if power is not None else rows,
                                       power=power is not None, b1=b1_rows)
            if power is not None:
                # the likelihood, by majorize-minimize steps: match the pseudo-data
                # M·r(M·S/σ²) (Varadarajan & Haldar 2015); the first step does nearly all
                model = np.sqrt(np.maximum(matched["prediction"], 0))
                for _ in range(2):
                    pseudo = rows * bessel_ratio(
                        rows * model.astype(np.float32) * np.float32(1 / sigma**2), coils)
                    matched = dictionary.match(pseudo, b1=b1_rows)
                    model = matched["prediction"]
            amp, rate, b1_out = matched["m0"], 1.0 / matched["t2"], matched["b1"]
            enough = np.ones(k, bool)
            edge = matched["edge"]
        t2 = 1.0 / rate
        # Model magnitude, residuals and R² in float32, in place (this costs more than the
        # log-linear fit itself if done carelessly).
        if method == "epg":
            pred = matched["prediction"].astype(np.float32)
            if power is not None:  # the expected magnitude, about sqrt(S² + 2Nσ²)
                np.square(pred, out=pred)
                pred += floor2
                np.sqrt(pred, out=pred)
        else:
            with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
                # exponent log(A) − R·TE for all voxels as one small matrix product
                coef = np.stack([np.log(amp), rate], axis=1).astype(np.float32)
                pred = coef @ design
                np.exp(pred, out=pred)
                if offset is not None:
                    pred += offset.astype(np.float32)[:, None]
                if sigma is not None:
                    np.square(pred, out=pred)
                    pred += floor2
                    np.sqrt(pred, out=pred)
        np.subtract(rows, pred, out=pred)
        rmse, r2 = fit_quality(rows, pred)
        if method == "epg":
            out_of_bounds = edge | (t2 < lo) | (t2 > hi)
        else:
            out_of_bounds = (rate <= rate_bounds[0] * (1 + 1e-9)) | (
                rate >= rate_bounds[1] * (1 - 1e-9))
        flat = None
        if method == "offset":
            flat = _offset_unidentifiable(amp, rate, te, rmse)
        status = classify(low_signal=~enough | (rows[:, 0] <= first_needed),
                          failed=~(np.isfinite(t2) & np.isfinite(amp)),
                          out_of_bounds=out_of_bounds, not_converged=~converged,
                          not_identifiable=flat)
        maps = {"t2": t2, "m0": amp, "rmse": rmse, "r2": r2}
        if offset is not None:
            maps["offset"] = offset
        if b1_out is not None:
            maps["b1"] = b1_out
        return only_ok(status, maps)

    fit_in_chunks(flat, select, fit_chunk, outputs, chunk_size=chunk_size,
                  threads=max(1, int(threads)), progress=progress, description=f"T2 ({method})")
    maps = {k: v.reshape(spatial) for k, v in outputs.items()}
    params = {"t2_bounds_ms": tuple(t2_bounds_ms), "noise_floor": sigma is not None}
    if sigma is not None:
        params["noise_model"] = ("rician likelihood" if coils == 1 else
                                 f"noncentral chi likelihood, {int(coils)} channels")
        if method == "loglinear":
            params["noise_model"] = "power (M^2 - 2 N sigma^2)"
    if method == "epg":
        params.update(t1_ms=t1_ms, refocusing_deg=refocusing_deg, b1_fixed=b1 is not None)
    return T2Fit(
        t2=maps["t2"], m0=maps["m0"], rmse=maps["rmse"], r2=maps["r2"], status=maps["status"],
        method=method, echo_times_ms=tuple(float(t) for t in te), offset=maps.get("offset"),
        b1=maps.get("b1"), noise_sigma=sigma, parameters=params, coils=int(coils),
    )


