"""Segmentation assist: Dice, levels, heights and time on phantoms, and the SPINEPS sample.

Run: python benchmarks/bench_segmentation.py [--quick]
Prints, per phantom: levels found vs truth, body and disc Dice (median, min), mean disc
height difference against the same measurement with the true labels, and seconds.
"""

from __future__ import annotations

import sys
import time
from dataclasses import replace

import numpy as np

from discmri.measure import measure
from discmri.phantom.anatomy import DiscState, random_anatomy
from discmri.phantom.grid import Pose
from discmri.phantom.session import Protocol, simulate_session
from discmri.spine.segmentation import segment_spine


def dice(truth, found, key):
    t = (truth == key) | (truth == key + 100) if 100 <= key < 200 else truth == key
    f = found == key
    return 2 * float((t & f).sum()) / max(1.0, float(t.sum() + f.sum()))


def main(quick: bool) -> None:
    cases = [
        (11, {"L4-L5": DiscState(6.5), "L5-S1": DiscState(7.6), "L2-L3": DiscState(2.0)}, 1.0),
        (12, {"L3-L4": DiscState(5.5), "L5-S1": DiscState(3.0)}, 1.0),
        (13, {"L1-L2": DiscState(1.0), "L4-L5": DiscState(5.0)}, 0.6),
        (14, {"L5-S1": DiscState(6.0)}, 0.8),
    ]
    if quick:
        cases = cases[:2]
    for seed, states, inplane in cases:
        protocol = Protocol(slab_mm=32.0, t2w_voxel_mm=(4.0, inplane, inplane),
                            mese_voxel_mm=None, dwi_voxel_mm=None, bias=0.2,
                            t2w_subsample_mm=(1.0, 0.25, 0.25), si_margin_mm=35.0, t2w_snr=25.0)
        anatomy = replace(random_anatomy(np.random.default_rng(seed)).with_states(states),
                          surroundings=True)
        sim = simulate_session(anatomy, rng=np.random.default_rng(seed), protocol=protocol,
                               pose=Pose.sagittal(4.0))
        tick = time.perf_counter()
        try:
            seg = segment_spine(sim.t2w)
        except ValueError as exc:
            print(f"seed {seed}: failed: {exc}")
            continue
        seconds = time.perf_counter() - tick
        truth, found = sim.labels.data.astype(int), seg.labels.data.astype(int)
        keys = [int(k) for k in np.unique(found) if 0 < k < 200]
        bodies = [dice(truth, found, k) for k in keys if k < 100]
        discs = [dice(truth, found, k) for k in keys if k >= 100]
        ok = seg.levels == tuple(sim.truth.level)
        a = measure(sim.t2w, sim.labels).table.set_index("level")
        b = measure(sim.t2w, seg.labels).table.set_index("level")
        common = a.index.intersection(b.index)
        dh = (b.height_mean_mm - a.height_mean_mm).loc[common].abs()
        print(f"seed {seed} ({sim.t2w.shape}, {inplane} mm): levels "
              f"{'correct' if ok else f'WRONG {seg.levels}'}; body Dice median "
              f"{np.median(bodies):.3f} min {min(bodies):.3f}; disc Dice median "
              f"{np.median(discs):.3f} min {min(discs):.3f}; |Δ mean height| median "
              f"{dh.median():.2f} mm max {dh.max():.2f} mm; {seconds:.1f} s")


if __name__ == "__main__":
    main("--quick" in sys.argv)
