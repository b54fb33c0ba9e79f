"""Dataset runner speed: seconds per session, against the shell loop of the three commands.

Prints, on this machine:

1. the shipped sample data (10 sessions): ``discmri run`` serial (1 worker) and with 2
   workers, beside the naive baseline — a shell loop of ``discmri t2map``, ``discmri adcmap``
   and ``discmri measure`` per session (each a new process that loads its inputs again and
   reads the maps back), timed in the same run; the ratio loop / run;
2. where a session's time goes (load, T2 fit, ADC fit, measure, write), from sessions.tsv;
3. a larger cohort (``discmri sample-data --participants N``, default 40) end to end with 2
   workers: generation time, run time, sessions per minute (target: the run under 4 minutes).

Usage: python benchmarks/bench_pipeline.py [--participants 40] [--no-cohort]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"
DISCMRI = [sys.executable, "-m", "discmri.cli"]


def run(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def shell_loop(dataset: Path, out: Path) -> float:
    """The three commands per session, as a user's shell loop would run them."""
    from discmri.io import find_sessions

    out.mkdir(parents=True)
    start = time.perf_counter()
    for s in find_sessions(dataset):
        prefix = out / s.key
        run([*DISCMRI, "t2map", *map(str, s.mese), "--out", f"{prefix}_t2"])
        run([*DISCMRI, "adcmap", str(s.dwi), "--out", f"{prefix}_adc"])
        run([*DISCMRI, "measure", "--t2w", str(s.t2w), "--labels", str(s.labels),
             "--t2map", f"{prefix}_t2_T2map.nii.gz", "--adcmap", f"{prefix}_adc_ADC.nii.gz",
             "--out", f"{prefix}_discs.tsv"])
    return time.perf_counter() - start


def breakdown(out: Path) -> str:
    sessions = pd.read_csv(out / "sessions.tsv", sep="\t", na_values=["n/a"])
    parts = ["load", "t2", "adc", "measure", "write"]
    means = {p: sessions[f"seconds_{p}"].mean() for p in parts}
    total = sessions["seconds"].mean()
    return ", ".join(f"{p} {means[p]:.2f} s ({100 * means[p] / total:.0f} %)" for p in parts) \
        + f"; session {total:.2f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=40)
    parser.add_argument("--no-cohort", action="store_true", help="skip the large cohort")
    args = parser.parse_args()
    print(f"discmri dataset runner benchmark, {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        n = 10
        serial = run([*DISCMRI, "run", str(SAMPLE), str(tmp / "serial"), "--workers", "1"])
        pooled = run([*DISCMRI, "run", str(SAMPLE), str(tmp / "pool"), "--workers", "2"])
        loop = shell_loop(SAMPLE, tmp / "loop")
        same = (tmp / "serial/discs.tsv").read_bytes() == (tmp / "pool/discs.tsv").read_bytes()
        print(f"\nsample data, {n} sessions (whole command, start-up included):")
        print(f"  discmri run, 1 worker : {serial:6.1f} s  ({serial / n:.2f} s/session)")
        print(f"  discmri run, 2 workers: {pooled:6.1f} s  ({pooled / n:.2f} s/session)")
        print(f"  shell loop of t2map + adcmap + measure: {loop:6.1f} s  "
              f"({loop / n:.2f} s/session)")
        print(f"  ratio loop / run: {loop / serial:.1f}x (1 worker), "
              f"{loop / pooled:.1f}x (2 workers)")
        print(f"  serial and 2-worker discs.tsv identical: {same}")
        print(f"  where a session's time goes (1 worker): {breakdown(tmp / 'serial')}")
        if args.no_cohort:
            return
        cohort = tmp / "cohort"
        made = run([*DISCMRI, "sample-data", str(cohort), "--participants",
                    str(args.participants)])
        from discmri.io import find_sessions

        n_sessions = len(find_sessions(cohort))
        took = run([*DISCMRI, "run", str(cohort), str(tmp / "cohort_out"), "--workers", "2"])
        print(f"\ncohort of {args.participants} participants, {n_sessions} sessions:")
        print(f"  generated in {made:.1f} s (not part of the run)")
        print(f"  discmri run, 2 workers: {took:.1f} s = {took / 60:.2f} min "
              f"({took / n_sessions:.2f} s/session, {60 * n_sessions / took:.0f} sessions/min;"
              f" target under 4 min)")
        print(f"  where a session's time goes: {breakdown(tmp / 'cohort_out')}")
        shutil.rmtree(cohort)


if __name__ == "__main__":
    main()
