"""Heights where the disc meets the bone as on real scans, by voxel size and edge mode.

The phantom with the junction drawn (``SpineAnatomy.with_endplate_layers()``: a 0.4 mm
signal-free cortex, part of the body; a 0.6 mm dark cartilage endplate, part of the disc; a
nucleus that meets it) at 0.6 and 1 mm in-plane voxels (4 mm slices, SNR 30). The truth is
the disc height between the bony endplates (the phantom's geometry, not measured from
voxels). Per voxel size and edge mode: the signed errors of the anterior / middle / posterior
heights (10 / 50 / 90 % of the depth), their median and range, per disc with ``--per-disc``.

The 1 mm figure is the one to hold against the real scans, which are 1 mm
(benchmarks/bench_heights_real.py: vb2 gaps between manual bodies).

Run: python benchmarks/bench_junction.py [--seeds 3,4] [--per-disc]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from discmri.measure import measure
from discmri.phantom import Protocol, random_anatomy, simulate_session

HEIGHTS = ["height_anterior_mm", "height_middle_mm", "height_posterior_mm"]
MODES = ("endplate", "marrow")


def errors(seed: int, voxel_mm: float) -> pd.DataFrame:
    """Signed height errors (mm) of one spine, one row per disc and mode."""
    rng = np.random.default_rng(seed)
    anatomy = random_anatomy(rng).with_endplate_layers()
    sim = simulate_session(anatomy, rng=rng, protocol=Protocol(
        t2w_snr=30.0, t2w_voxel_mm=(4.0, voxel_mm, voxel_mm), mese_voxel_mm=None,
        dwi_voxel_mm=None))
    truth = sim.truth.set_index("level")
    rows = []
    for mode in MODES:
        table = measure(sim.t2w, sim.labels, edges=mode).table.set_index("level")
        err = (table[HEIGHTS] - truth[HEIGHTS]).reset_index()
        err.insert(0, "mode", mode)
        rows.append(err)
    out = pd.concat(rows, ignore_index=True)
    out.insert(0, "voxel_mm", voxel_mm)
    out.insert(0, "seed", seed)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="3,4", help="phantom seeds, comma-separated")
    ap.add_argument("--per-disc", action="store_true", help="print every disc's errors")
    args = ap.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    t0 = time.perf_counter()
    table = pd.concat([errors(seed, voxel) for voxel in (0.6, 1.0) for seed in seeds],
                      ignore_index=True)
    if args.per_disc:
        print(table.round(2).to_string(index=False))
    print(f"\nSigned height errors against the bony endplates, mm ({len(seeds)} spines, "
          f"{table.level.nunique()} levels each; {time.perf_counter() - t0:.0f} s)")
    for (voxel, mode), group in table.groupby(["voxel_mm", "mode"], sort=True):
        parts = []
        for col in HEIGHTS:
            v = group[col].to_numpy()
            parts.append(f"{col.split('_')[1]} {np.median(v):+.2f} "
                         f"[{v.min():+.2f}, {v.max():+.2f}]")
        print(f"  {voxel:.1f} mm  {mode:8s}  " + ";  ".join(parts))


if __name__ == "__main__":
    main()
