"""ADC fitting benchmark: voxels/s per method, accuracy against truth, and a per-voxel baseline.

Prints, on this machine, in one run: voxels/s of ols, wls, nlls (b = 0, 400, 800 s/mm², three
directions each, 1 M voxels, float32) and of ivim (b = 0, 50, 100, 200, 400, 600, 800), with
1 and 2 threads, beside a per-voxel ``numpy.polyfit`` of the log trace signal (what ukat does)
timed on a subset in the same process; median bias and median |ΔADC|/ADC against the truth,
and the Cramér-Rao expectation of the latter.

Also: each method's speed with the other core busy (another process spinning) beside the quiet
figure; its median error over the Cramér-Rao expectation; and, when dipy is installed (the
``bench`` or ``test`` extra), dipy's tensor fits (WLS, NLLS) on the same voxels with six
directions per shell (a tensor needs six), their mean diffusivity against discmri's trace ADC.

Run: python benchmarks/bench_adc.py [--quick]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _load import other_core_busy

from discmri.diffusion import fit_adc

B = np.array([0.0, 400, 400, 400, 800, 800, 800])
B_IVIM = np.array([0.0, 50, 100, 200, 400, 600, 800])


def rician(clean, sigma, rng):
    return np.hypot(clean + rng.normal(0, sigma, clean.shape),
                    rng.normal(0, sigma, clean.shape)).astype(np.float32)


def polyfit_rate(s: np.ndarray) -> float:
    t0 = time.perf_counter()
    for row in s.astype(np.float64):
        trace = np.array([row[0], np.exp(np.log(row[1:4]).mean()), np.exp(np.log(row[4:]).mean())])
        np.polyfit(np.array([0.0, 400.0, 800.0]), np.log(trace), 1, w=trace)
    return len(s) / (time.perf_counter() - t0)


def crlb_median(adc: np.ndarray, snr: float) -> float:
    out = []
    for a in adc[:200]:
        e = np.exp(-B * a)
        j = np.stack([e, -B * e], 1) * snr
        out.append(0.674 * np.sqrt(np.linalg.inv(j.T @ j)[1, 1]) / a)
    return float(np.median(out))


def best_time(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def dipy_comparison(rng: np.random.Generator, n: int) -> None:
    """dipy's tensor fits beside discmri on b = 0 + 6 directions × 2 shells (if installed)."""
    try:
        from dipy.core.gradients import gradient_table
        from dipy.reconst.dti import TensorModel
    except ImportError:
        print("dipy not installed: pip install 'discmri[bench]' for the peer comparison")
        return
    dirs = np.array([[1, 1, 0], [1, -1, 0], [1, 0, 1], [1, 0, -1], [0, 1, 1], [0, 1, -1.0]])
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    b = np.r_[0.0, np.full(6, 400.0), np.full(6, 800.0)]
    g = np.r_[[[0, 0, 0]], dirs, dirs]
    adc = rng.uniform(0.5e-3, 3.0e-3, n)
    s = rician(1000 * np.exp(-np.outer(adc, b)), 20.0, rng)
    gtab = gradient_table(b, bvecs=g)
    print(f"peer: {n} voxels, b = 0 + 6 directions at 400 and 800 s/mm², SNR 50")
    for name, fn in (("discmri wls", lambda: fit_adc(s, b, bvecs=g).adc),
                     ("discmri nlls", lambda: fit_adc(s, b, bvecs=g, method="nlls").adc),
                     ("dipy tensor WLS", lambda: TensorModel(gtab, fit_method="WLS").fit(
                         s.astype(np.float64)).md),
                     ("dipy tensor NLLS", lambda: TensorModel(gtab, fit_method="NLLS").fit(
                         s[: n // 10].astype(np.float64)).md)):
        t0 = time.perf_counter()
        md = fn()
        dt = time.perf_counter() - t0
        err = md / adc[: len(md)] - 1
        print(f"  {name:<18}{len(md) / dt:>12,.0f} voxels/s   bias {100 * np.nanmedian(err):+.2f} %"
              f"   med|err| {100 * np.nanmedian(np.abs(err)):.2f} %")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    n = 200_000 if args.quick else 1_000_000
    adc = rng.uniform(0.5e-3, 3.0e-3, n)
    s = rician(1000 * np.exp(-np.outer(adc, B)), 20.0, rng)  # SNR 50
    baseline = polyfit_rate(s[:2000])
    print(f"volume: {n} voxels, b = 0/400x3/800x3 s/mm², float32, SNR 50, ADC 0.5-3.0e-3 mm²/s")
    print(f"baseline numpy.polyfit per voxel (weighted, trace): {baseline:,.0f} voxels/s")
    bound = crlb_median(adc, 50)
    print(f"{'method':<8}{'threads':>8}{'voxels/s':>12}{'busy':>12}{'x baseline':>12}"
          f"{'bias %':>9}{'med|err| %':>12}{'/ bound':>9}")
    for method in ("ols", "wls", "nlls"):
        fit = fit_adc(s, B, method=method)
        err = fit.adc / adc - 1
        med = np.nanmedian(np.abs(err))
        for threads in (1, 2):
            dt = best_time(lambda m=method, th=threads: fit_adc(s, B, method=m, threads=th))
            busy = ""
            if threads == 1:
                with other_core_busy():
                    busy = f"{n / best_time(lambda m=method: fit_adc(s, B, method=m)):,.0f}"
            print(f"{method:<8}{threads:>8}{n / dt:>12,.0f}{busy:>12}{n / dt / baseline:>12,.0f}"
                  f"{100 * np.nanmedian(err):>+9.2f}{100 * med:>12.2f}{med / bound:>9.3f}")
    print(f"(Cramér-Rao expectation of med|err|: {100 * bound:.2f} %)")
    dipy_comparison(rng, n // 5)
    d = rng.uniform(0.8e-3, 2.0e-3, n // 5)
    f = rng.uniform(0.0, 0.1, n // 5)
    clean = 1000 * ((1 - f)[:, None] * np.exp(-np.outer(d, B_IVIM))
                    + f[:, None] * np.exp(-np.outer(np.full_like(d, 20e-3), B_IVIM)))
    si = rician(clean, 10.0, rng)
    fit = fit_adc(si, B_IVIM, method="ivim")
    err = fit.adc / d - 1
    for threads in (1, 2):
        dt = best_time(lambda th=threads: fit_adc(si, B_IVIM, method="ivim", threads=th))
        print(f"{'ivim':<8}{threads:>8}{len(d) / dt:>12,.0f}{'':>12}{'':>12}"
              f"{100 * np.nanmedian(err):>+9.2f}{100 * np.nanmedian(np.abs(err)):>12.2f}"
              f"   (D; f <= 0.1, SNR 100; f error median "
              f"{np.nanmedian(np.abs(fit.f - f)):.3f})")


if __name__ == "__main__":
    main()
