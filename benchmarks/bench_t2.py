"""T2 fitting benchmark: speed (voxels/s) per method, accuracy against truth, peak memory.

Prints, on this machine, in one run:
* voxels/s of loglinear, nlls, offset, nlls with the noise-floor correction and epg on a
  1 M-voxel × 16-echo float32 volume (1 and 2 threads), beside a naive per-voxel
  scipy.optimize.curve_fit baseline timed on a subset, and the speed-up over it;
* median bias and median |ΔT2|/T2 per method at SNR 50 against the truth, and the
  Cramér-Rao expectation of the latter for an efficient mono-exponential estimator;
* peak memory of an nlls fit of a 512×512×20 × 16-echo volume (in a subprocess) against
  the target of 3 × the input size + 300 MB.

Also: each method's speed with the other core busy (another process spinning) beside the quiet
figure, the ratio of its median error to the Cramér-Rao bound on the same data, and the
noise-floor (Rician likelihood) fit over SNR 10-50.

Run: python benchmarks/bench_t2.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import numpy as np
from _load import other_core_busy
from scipy.optimize import curve_fit

from discmri.fitting.rician import fisher_weight
from discmri.relaxometry import EPGDictionary, cpmg_echo_train, fit_t2

TE = 10.0 * np.arange(1, 17)


def make_data(n: int, rng: np.random.Generator, *, snr: float = 50.0, epg: bool = False):
    t2 = rng.uniform(20, 250, n)
    if epg:
        b1 = rng.uniform(0.7, 1.0, n)
        clean = 1000 * cpmg_echo_train(t2, b1, echo_spacing_ms=10.0, n_echoes=16)
    else:
        clean = 1000 * np.exp(-TE[None, :] / t2[:, None])
    sigma = 1000 / snr
    noisy = np.hypot(clean + rng.normal(0, sigma, clean.shape), rng.normal(0, sigma, clean.shape))
    return noisy.astype(np.float32), t2, sigma


def crlb_median(t2: np.ndarray, snr: float, *, rician: bool = False,
                offset: bool = False) -> float:
    """0.674 × the Cramér-Rao SD of T2/T2 (median over voxels): Gaussian noise, or Rician
    magnitudes (each echo weighted by its Fisher information), or the offset model."""
    out = []
    for v in t2[:300]:
        e = np.exp(-TE / v)
        cols = [e, -TE * e] + ([np.ones_like(e)] if offset else [])
        j = np.stack(cols, 1) * snr
        w = fisher_weight(snr * e) if rician else np.ones_like(e)
        out.append(0.674 * np.sqrt(np.linalg.inv((j * w[:, None]).T @ j)[1, 1]) * v)
    return float(np.median(out))


def curve_fit_rate(s: np.ndarray) -> float:
    t0 = time.perf_counter()
    for row in s:
        curve_fit(lambda t, a, r: a * np.exp(-r * t), TE, row.astype(float),
                  p0=(float(row[0]) * 1.1, 0.02), maxfev=2000)
    return len(s) / (time.perf_counter() - t0)


def timed(fn, repeat: int = 2) -> tuple[float, object]:
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def memory_child(shape: tuple[int, ...]) -> None:
    """Peak RSS of the fit, from /proc (ru_maxrss would inherit the parent's peak)."""
    base = _status_kb("VmRSS")
    rng = np.random.default_rng(1)
    data = np.empty(shape, np.float32)
    flat = data.reshape(-1, shape[-1])
    for i in range(0, len(flat), 1 << 18):
        t2 = rng.uniform(20, 250, min(1 << 18, len(flat) - i))
        flat[i:i + len(t2)] = 1000 * np.exp(-TE[None, :] / t2[:, None]) + rng.normal(
            0, 20, (len(t2), 16))
    np.abs(data, out=data)
    before = _status_kb("VmRSS")
    with open("/proc/self/clear_refs", "w") as fh:  # reset the peak (VmHWM) to now
        fh.write("5")
    fit_t2(data, TE, method="nlls", threads=2)
    peak = _status_kb("VmHWM")
    print(json.dumps({"base_kb": base, "after_input_kb": before, "peak_kb": peak,
                      "input_mb": data.nbytes / 2**20}))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="smaller volume, skip memory")
    parser.add_argument("--memory-child", nargs="*", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory_child(tuple(args.memory_child))
        return
    rng = np.random.default_rng(0)
    n = 200_000 if args.quick else 1_000_000
    data, t2, sigma = make_data(n, rng)
    baseline = curve_fit_rate(data[:300])
    print(f"volume: {n} voxels x 16 echoes (10-160 ms), float32, SNR 50; T2 20-250 ms")
    print(f"baseline scipy.optimize.curve_fit, one voxel at a time: {baseline:,.0f} voxels/s")
    print("speeds with the other core idle and, for 1 thread, busy with another process; "
          "bound: 0.674 x Cramér-Rao SD (Gaussian; Rician for +sigma; 3 parameters for offset)")
    print(f"{'method':<14}{'thr':>4}{'voxels/s':>12}{'busy':>12}{'x baseline':>11}{'bias %':>8}"
          f"{'med|err| %':>11}{'bound %':>9}{'ratio':>7}{'ok %':>7}")
    dictionary = EPGDictionary.build(TE)
    bounds = {"loglinear": crlb_median(t2, 50), "nlls": crlb_median(t2, 50),
              "offset": crlb_median(t2, 50, offset=True),
              "nlls+sigma": crlb_median(t2, 50, rician=True)}
    cases = [("loglinear", {}), ("nlls", {}), ("offset", {}),
             ("nlls+sigma", {"noise_sigma": sigma})]
    for name, extra in cases:
        method = name.split("+")[0]
        for threads in (1, 2):
            dt, fit = timed(lambda m=method, e=extra, th=threads: fit_t2(
                data, TE, method=m, threads=th, **e))
            busy = ""
            if threads == 1:
                with other_core_busy():
                    dt_busy, _ = timed(lambda m=method, e=extra: fit_t2(data, TE, method=m,
                                                                        **e))
                busy = f"{n / dt_busy:,.0f}"
            ok = fit.status == 0
            err = fit.t2[ok] / t2[ok] - 1
            med = np.median(np.abs(err))
            print(f"{name:<14}{threads:>4}{n / dt:>12,.0f}{busy:>12}{n / dt / baseline:>11,.0f}"
                  f"{100 * np.median(err):>+8.2f}{100 * med:>11.2f}{100 * bounds[name]:>9.2f}"
                  f"{med / bounds[name]:>7.3f}{100 * ok.mean():>7.1f}")
    print("noise-floor fit (nlls + sigma, Rician likelihood) over SNR, 1 thread:")
    for snr in (10, 20, 50):
        sd, st2, ssig = make_data(n // 5, rng, snr=snr)
        dt, fit = timed(lambda d=sd, sg=ssig: fit_t2(d, TE, noise_sigma=sg, threads=1))
        dt_plain, plain = timed(lambda d=sd: fit_t2(d, TE, threads=1))
        ok = fit.status == 0
        err, perr = fit.t2[ok] / st2[ok] - 1, plain.t2 / st2 - 1
        bound = crlb_median(st2, snr, rician=True)
        print(f"  SNR {snr:>3}: {len(sd) / dt:>10,.0f} voxels/s = {dt_plain / dt:.2f} x nlls "
              f"without sigma; bias {100 * np.median(err):+.2f} %"
              f" (without sigma {100 * np.nanmedian(perr):+.2f} %); med|err| "
              f"{100 * np.median(np.abs(err)):.2f} % = {np.median(np.abs(err)) / bound:.3f} x "
              "the Rician bound")
    epg_n = n // 5
    edata, et2, _ = make_data(epg_n, rng, epg=True)
    for threads in (1, 2):
        dt, fit = timed(lambda th=threads: fit_t2(edata, TE, method="epg", dictionary=dictionary,
                                                  threads=th))
        err = fit.t2 / et2 - 1
        print(f"{'epg (B1 .7-1)':<16}{threads:>8}{epg_n / dt:>14,.0f}"
              f"{epg_n / dt / baseline:>12,.0f}{100 * np.nanmedian(err):>+9.2f}"
              f"{100 * np.nanmedian(np.abs(err)):>12.2f}")
    mono = fit_t2(edata, TE, method="nlls")
    err = mono.t2 / et2 - 1
    print(f"{'nlls on EPG data':<16}{'':>8}{'':>14}{'':>12}{100 * np.nanmedian(err):>+9.2f}"
          f"{100 * np.nanmedian(np.abs(err)):>12.2f}")
    t0 = time.perf_counter()
    EPGDictionary.build(TE)
    built = time.perf_counter() - t0
    t0 = time.perf_counter()
    EPGDictionary.cached(TE, t1_ms=1000.0, refocusing_deg=180.0)
    EPGDictionary.cached(TE, t1_ms=1000.0, refocusing_deg=180.0)
    print(f"EPG dictionary (161 B1 x 400 T2 x 16 echoes) built in {built:.2f} s; fit_t2 builds "
          f"it once per process (two cached look-ups, the first building: "
          f"{time.perf_counter() - t0:.2f} s)")
    if not args.quick:
        shape = (512, 512, 20, 16)
        out = subprocess.run([sys.executable, __file__, "--memory-child", *map(str, shape)],
                             capture_output=True, text=True, check=True)
        mem = json.loads(out.stdout)
        used = (mem["peak_kb"] - mem["base_kb"]) / 1024
        target = 3 * mem["input_mb"] + 300
        print(f"peak memory, nlls (2 threads) on {'x'.join(map(str, shape))} float32 "
              f"({mem['input_mb']:.0f} MB input): {used:.0f} MB above the interpreter, input "
              f"included (fit alone {(mem['peak_kb'] - mem['after_input_kb']) / 1024:.0f} MB); "
              f"target < {target:.0f} MB")


if __name__ == "__main__":
    main()
