"""ADC fitting benchmark: voxels/s per method, accuracy against truth, and a per-voxel baseline.

Prints, on this machine, in one run: voxels/s of ols, wls, nlls (b = 0, 400, 800 s/mm², three
directions each, 1 M voxels, float32) and of ivim (b = 0, 50, 100, 200, 400, 600, 800), with
1 and 2 threads, beside a per-voxel ``numpy.polyfit`` of the log trace signal (what ukat does)
timed on a subset in the same process; median bias and median |ΔADC|/ADC against the truth,
and the Cramér-Rao expectation of the latter.

Run: python benchmarks/bench_adc.py [--quick]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

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
    print(f"{'method':<8}{'threads':>8}{'voxels/s (median of 3)':>24}{'x baseline':>12}"
          f"{'bias %':>9}{'med|err| %':>12}")
    for method in ("ols", "wls", "nlls"):
        fit = fit_adc(s, B, method=method)
        err = fit.adc / adc - 1
        for threads in (1, 2):
            dt = best_time(lambda m=method, th=threads: fit_adc(s, B, method=m, threads=th))
            print(f"{method:<8}{threads:>8}{n / dt:>24,.0f}{n / dt / baseline:>12,.0f}"
                  f"{100 * np.nanmedian(err):>+9.2f}{100 * np.nanmedian(np.abs(err)):>12.2f}")
    print(f"(Cramér-Rao expectation of med|err|: {100 * crlb_median(adc, 50):.2f} %)")
    d = rng.uniform(0.8e-3, 2.0e-3, n // 5)
    f = rng.uniform(0.0, 0.1, n // 5)
    clean = 1000 * ((1 - f)[:, None] * np.exp(-np.outer(d, B_IVIM))
                    + f[:, None] * np.exp(-np.outer(np.full_like(d, 20e-3), B_IVIM)))
    si = rician(clean, 10.0, rng)
    fit = fit_adc(si, B_IVIM, method="ivim")
    err = fit.adc / d - 1
    for threads in (1, 2):
        dt = best_time(lambda th=threads: fit_adc(si, B_IVIM, method="ivim", threads=th))
        print(f"{'ivim':<8}{threads:>8}{len(d) / dt:>24,.0f}{'':>12}"
              f"{100 * np.nanmedian(err):>+9.2f}{100 * np.nanmedian(np.abs(err)):>12.2f}"
              f"   (D; f <= 0.1, SNR 100; f error median "
              f"{np.nanmedian(np.abs(fit.f - f)):.3f})")


if __name__ == "__main__":
    main()
