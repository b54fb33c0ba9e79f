"""Vectorized fits of exponential decays ``S(t) = A·exp(−R·t) [+ C]`` over many voxels at once.

Shared by relaxometry (t = echo time, R = 1/T2) and diffusion (t = b-value, R = ADC). Every
function takes a 2-D array of shape (n_voxels, n_measurements) and works on all rows together;
there is no loop over voxels.
"""

from __future__ import annotations

import numpy as np

from ..errors import ParameterError

__all__ = ["loglinear", "loglinear_iterated", "varpro_newton"]


def loglinear(
    signal: np.ndarray,
    t: np.ndarray,
    *,
    weighted: bool = True,
    floor: float | np.ndarray = 0.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weighted log-linear least squares for ``S = A·exp(−R·t)``, closed form.

    Fits ``log S = log A − R·t``. Measurements at or below ``floor`` get zero weight. With
    ``weighted``, each measurement is weighted by ``S²``, the inverse variance of ``log S`` for
    Gaussian noise of equal variance (Veraart et al. 2013); otherwise equal weights.

    Parameters
    ----------
    signal : (n, m) ndarray
        Measurements (float32 is kept float32).
    t : (m,) ndarray
        Times (echo times, ms; or b-values, s/mm²).
    weighted : bool
    floor : float or (n,) ndarray
        Measurements ``<= floor`` are excluded.

    Returns
    -------
    amplitude, rate : (n,) float64 ndarray
    n_used : (n,) int ndarray
        Number of measurements with non-zero weight (fewer than 2: the fit is undefined, NaN).

    References
    ----------
    .. [1] Veraart J, et al. Weighted linear least squares estimation of diffusion MRI
       parameters: strengths, limitations, and pitfalls. NeuroImage 2013;81:335-346.
       doi:10.1016/j.neuroimage.2013.05.028
    """
    s = np.asarray(signal)
    dtype = np.float32 if s.dtype == np.float32 else np.float64
    t = np.asarray(t, dtype=np.float64)
    floor_arr = np.asarray(floor, dtype=dtype)
    if floor_arr.ndim == 1:
        floor_arr = floor_arr[:, None]
    ok = s > floor_arr
    if ok.all():  # the common case: no masking passes
        safe = s.astype(dtype, copy=False)
        n_used = np.full(len(s), s.shape[1])
    else:
        safe = np.where(ok, s, 1).astype(dtype, copy=False)
        n_used = np.count_nonzero(ok, axis=1)
    if weighted:
        w = safe * safe if n_used.min() == s.shape[1] else safe * safe * ok
    else:
        w = np.ones_like(safe) * ok
    y = np.log(safe)
    tc = t - t.mean()  # centring keeps the normal equations well conditioned
    basis = np.stack([np.ones_like(tc), tc, tc * tc], axis=1).astype(dtype)
    sw, st, stt = (w @ basis).astype(np.float64).T
    y *= w
    sy, sty = (y @ basis[:, :2]).astype(np.float64).T
    det = sw * stt - st * st
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = (sw * sty - st * sy) / det
        intercept = (stt * sy - st * sty) / det
        good = (n_used >= 2) & (det > 1e-12 * sw * sw * max(float((tc * tc).max()), 1e-30))
        rate = np.where(good, -slope, np.nan)
        amplitude = np.where(good, np.exp(intercept - slope * t.mean()), np.nan)
    return amplitude, rate, n_used


def _g_derivatives(s, idx, r, basis, neg_t, m, offset, mean_s, dtype):
    """First and second derivatives of g(R) = a²/b (the projected fit) for rows ``idx``."""
    e = np.multiply.outer(r.astype(dtype), neg_t)
    np.exp(e, out=e)
    se = s[idx] * e
    a0, a1, a2 = (se @ basis).astype(np.float64).T
    np.multiply(e, e, out=se)
    b0, b1, b2 = (se @ basis).astype(np.float64).T
    if offset:
        e0, e1, e2 = (e @ basis).astype(np.float64).T
        ms = mean_s[idx]
        a, da, dda = a0 - ms * e0, -a1 + ms * e1, a2 - ms * e2
        b = b0 - e0 * e0 / m
        db = -2 * b1 + 2 * e0 * e1 / m
        ddb = 4 * b2 - 2 * (e1 * e1 + e0 * e2) / m
    else:
        a, da, dda, b, db, ddb = a0, -a1, a2, b0, -2 * b1, 4 * b2
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        g1 = 2 * a * da / b - a * a * db / b**2
        g2 = (2 * (da * da + a * dda) / b - 4 * a * da * db / b**2 - a * a * ddb / b**2
              + 2 * a * a * db * db / b**3)
    return g1, g2


def varpro_newton(
    signal: np.ndarray,
    t: np.ndarray,
    rate0: np.ndarray,
    *,
    offset: bool = False,
    rate_bounds: tuple[float, float] = (1e-6, 1e6),
    iterations: int = 60,
    rtol: float = 1e-5,
    weights: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Nonlinear least squares for ``S = A·exp(−R·t) [+ C]`` by variable projection.

    For a given rate R the best amplitude (and offset) are linear, so the residual sum of
    squares depends on R alone: minimizing it maximizes ``g(R) = a(R)² / b(R)``, where
    ``a = Σ S·e``, ``b = Σ e²``, ``e = exp(−R·t)`` (with an offset: the same with S and e
    centred on their means over t). ``g`` has closed-form first and second derivatives, so all
    voxels take Newton steps together, in ``u = log R``, inside a bracket that always holds a
    maximum: it starts as ``rate_bounds`` and shrinks to the side where ``dg/du`` says the
    maximum lies. A Newton step that leaves the bracket, or where g is not concave, is
    replaced by bisection (in ``u``), so every voxel converges, to an interior maximum or to a
    bound, within about ``log2(log(hi/lo)/rtol)`` iterations at worst (≈ 20 for the defaults
    of the T2 fit) and in 3–6 where Newton works.

    Parameters
    ----------
    signal : (n, m) ndarray
    t : (m,) ndarray
    rate0 : (n,) ndarray
        Starting rates (e.g. from :func:`loglinear`); NaN starts are replaced by the median of
        the finite ones.
    offset : bool
        Fit the constant C too.
    rate_bounds : (float, float)
    iterations : int
        Upper limit of iterations (enough for bisection to reach ``rtol`` from the bounds).
    rtol : float
        Convergence: relative change of R below this.
    weights : (m,) ndarray, optional
        Weight of each measurement in the sum of squares (its inverse noise variance, e.g. the
        number of measurements averaged into it); equal weights when omitted. Not with
        ``offset``.

    Returns
    -------
    amplitude, rate, offset : (n,) float64 ndarray
        ``offset`` is zeros when not fitted.
    converged : (n,) bool ndarray

    References
    ----------
    .. [1] Golub G, Pereyra V. Separable nonlinear least squares: the variable projection
       method and its applications. Inverse Problems 2003;19:R1-R26.
       doi:10.1088/0266-5611/19/2/201
    .. [2] Press WH, et al. Numerical Recipes, 3rd ed., §9.4 (Newton with bisection,
       ``rtsafe``). Cambridge University Press 2007.
    """
    s = np.asarray(signal)
    dtype = np.float32 if s.dtype == np.float32 else np.float64
    t64 = np.asarray(t, dtype=np.float64)
    m = len(t64)
    lo, hi = rate_bounds
    rate = np.asarray(rate0, dtype=np.float64).copy()
    bad = ~np.isfinite(rate)
    if bad.any():
        fill = np.nanmedian(rate) if (~bad).any() else np.sqrt(lo * hi)
        rate[bad] = fill
    rate = np.clip(rate, lo, hi)
    u = np.log(rate)
    u_lo = np.full(len(u), np.log(lo))
    u_hi = np.full(len(u), np.log(hi))
    w = np.ones(m) if weights is None else np.asarray(weights, dtype=np.float64)
    if weights is not None and offset:
        raise ParameterError("weights are not supported with offset=True")
    basis = (np.stack([np.ones(m), t64, t64 * t64], axis=1) * w[:, None]).astype(dtype)
    neg_t = (-t64).astype(dtype)
    mean_s = s.mean(axis=1, dtype=np.float64) if offset else None
    active = np.ones(len(u), bool)
    converged = np.zeros(len(u), bool)
    tol = np.log1p(rtol)
    for _ in range(iterations):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        uk = u[idx]
        r = np.exp(uk)
        g1, g2 = _g_derivatives(s, idx, r, basis, neg_t, m, offset, mean_s, dtype)
        gu = g1 * r  # dg/du
        guu = g2 * r * r + gu  # d²g/du²
        up = gu > 0  # the maximum lies at larger u
        lo_k = np.where(up, uk, u_lo[idx])
        hi_k = np.where(up, u_hi[idx], uk)
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = uk - gu / guu
        inside = (guu < 0) & np.isfinite(newton) & (newton > lo_k) & (newton < hi_k)
        new = np.where(inside, np.clip(newton, uk - 1.0, uk + 1.0), 0.5 * (lo_k + hi_k))
        new = np.where(np.isfinite(gu), new, uk)  # a degenerate row stays (it is not finite)
        done = (np.abs(new - uk) <= tol) | (hi_k - lo_k <= tol) | ~np.isfinite(gu)
        u[idx], u_lo[idx], u_hi[idx] = new, lo_k, hi_k
        converged[idx[done]] = True
        active[idx[done]] = False
    # a maximum found within the tolerance of a bound is at that bound (reported as such)
    u = np.where(u <= np.log(lo) + tol, np.log(lo), np.where(u >= np.log(hi) - tol,
                                                            np.log(hi), u))
    rate = np.clip(np.exp(u), lo, hi)
    # final linear parameters at the final rate
    e = np.exp(np.multiply.outer(rate, -t64))
    if offset:
        ec = e - e.mean(axis=1, keepdims=True)
        sc = s - s.mean(axis=1, keepdims=True, dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            amp = (sc * ec).sum(axis=1) / (ec * ec).sum(axis=1)
        off = s.mean(axis=1, dtype=np.float64) - amp * e.mean(axis=1)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            amp = (s * e * w).sum(axis=1) / (e * e * w).sum(axis=1)
        off = np.zeros_like(amp)
    return amp, rate, off, converged


def loglinear_iterated(
    signal: np.ndarray,
    t: np.ndarray,
    *,
    iterations: int = 2,
    counts: np.ndarray | None = None,
    log_signal: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Log-linear fit of ``S = A·exp(−R·t)``: OLS, then weighted by predicted ``n·Ŝ²``.

    The weights of each pass are the squared prediction of the previous one (times the number
    of averaged measurements ``counts``), the iteratively reweighted scheme recommended by
    Veraart et al. (2013) over weights from the noisy data. ``iterations=0`` is plain OLS.
    Measurements ``<= 0`` are left out. Works measurement-major internally, which is fast for
    few measurements (e.g. three b-value shells).

    Parameters
    ----------
    signal : (n, m) ndarray
    t : (m,) ndarray
    iterations : int
    counts : (m,) ndarray, optional
        Measurements averaged into each column (weights scale with them).
    log_signal : (n, m) ndarray, optional
        ``log(signal)`` if already known.

    Returns
    -------
    amplitude, rate : (n,) float64 ndarray
    n_used : (n,) int ndarray
    """
    s = np.asarray(signal)
    dtype = np.float32 if s.dtype == np.float32 else np.float64
    t = np.asarray(t, dtype=np.float64)
    ok = (s > 0).T.astype(dtype)  # (m, n)
    if log_signal is None:
        with np.errstate(divide="ignore"):
            log_signal = np.log(s)
    y = np.ascontiguousarray(np.where(ok > 0, np.asarray(log_signal, dtype).T, 0))
    m = len(t)
    n_used = (np.ones(m, dtype) @ ok).astype(int)
    tc = t - t.mean()
    basis = np.stack([np.ones_like(tc), tc, tc * tc]).astype(dtype)  # (3, m)
    scale = (np.ones(m) if counts is None else np.asarray(counts, float)).astype(dtype)
    w = ok
    good = n_used >= 2
    for it in range(iterations + 1):
        # sums in the data's precision: with t centred the 2x2 system is well conditioned
        sw, st, stt = basis @ w
        sy, sty = basis[:2] @ (w * y)
        det = sw * stt - st * st
        with np.errstate(divide="ignore", invalid="ignore"):
            slope = (sw * sty - st * sy) / det
            intercept = (stt * sy - st * sty) / det  # log amplitude at the mean t
        good = (n_used >= 2) & np.isfinite(slope) & np.isfinite(intercept)
        if it < iterations:  # log Ŝ² = 2·(intercept + slope·tc), scaled per voxel
            logw = np.multiply.outer((2 * tc).astype(dtype), np.where(good, slope, 0))
            logw -= np.abs(logw).max(axis=0)  # keep exp in range; weights are relative
            logw = logw.astype(dtype, copy=False)
            with np.errstate(over="ignore"):
                w = np.exp(logw, out=logw)
            w *= scale[:, None]
            w *= ok
    slope, intercept = slope.astype(np.float64), intercept.astype(np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        rate = np.where(good, -slope, np.nan)
        amp = np.where(good, np.exp(intercept - slope * t.mean()), np.nan)
    return amp, rate, n_used
