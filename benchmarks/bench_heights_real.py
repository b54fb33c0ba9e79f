"""Disc heights on real scans: against the labels' own geometry, and under repositioning.

Reads ../shared/data/real-lumbar (not shipped; see its README). For every labelled case:

* **Against the labels' geometry.** With the manual labels, each disc's anterior / middle /
  posterior height (10 / 50 / 90 % of the depth) by the three edge modes: ``endplate`` (the
  bony endplate: each endplate's marrow boundary moved to the centre of its dark line),
  ``marrow`` (the marrow boundary, the
  default: a dark endplate line counts as disc) and ``labels`` (the label boundaries alone:
  on vb2 the gap between the manual vertebral bodies; on ivd the manual disc masks, which stop
  short of the endplates). Per case and level the differences to ``labels``, the share of
  profiles that fell back to the labels, then medians and 90th percentiles per set.
* **Under repositioning.** Each scan is placed twice as two visits of the same person would
  be: rotated about the left–right and anterior–posterior axes through its centre (2–4°) and
  shifted by a fraction of a voxel, resampled by SimpleITK (image B-spline, labels nearest
  neighbour) onto its own grid. Per mode the differences of the middle height and of the
  mean-height DHI between the two visits, their SD, SEM = SD/√2 and the minimal detectable
  change MDC95 = 1.96·√2·SEM (the issue's formula with SD in place of SEM is also printed).

Run: python benchmarks/bench_heights_real.py [--cases vb2-02,ivd-20] [--no-reposition]
"""

from __future__ import annotations

import argparse
import math
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from discmri.io import load_volume
from discmri.io.sitk import array_to_sitk, sitk_to_array
from discmri.measure import measure
from discmri.unwrap import unwrap_8bit

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "real-lumbar"
MODES = ("endplate", "marrow", "labels")
POSITIONS = ("anterior", "middle", "posterior")


def cases(names: list[str] | None) -> list[str]:
    found = sorted(p.name for p in DATA.iterdir()
                   if p.is_dir() and (p / f"{p.name}_labels.nii.gz").is_file())
    return [c for c in found if names is None or c in names]


def load(case: str):
    t2w = load_volume(DATA / case / f"{case}_T2w.nii.gz")
    labels = load_volume(DATA / case / f"{case}_labels.nii.gz")
    return t2w, labels


def run_modes(t2w, labels) -> dict[str, object]:
    out = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for mode in MODES:
            out[mode] = measure(t2w, labels, scheme="native", edges=mode)
    return out


def against_labels(names: list[str]) -> None:
    rows = []
    for case in names:
        t2w, labels = load(case)
        tick = time.perf_counter()
        res = run_modes(t2w, labels)
        seconds = (time.perf_counter() - tick) / len(MODES)
        ref = res["labels"].table.set_index("level")
        for mode in ("endplate", "marrow"):
            table = res[mode].table.set_index("level")
            for level in table.index:
                if {table.loc[level, "status"], ref.loc[level, "status"]} != {"measured"}:
                    continue
                disc = res[mode].morphometry.discs[level]
                row = {"case": case, "set": case.split("-")[0], "level": level, "mode": mode,
                       "reference_mm": ref.loc[level, "height_middle_mm"],
                       "fallback": float(np.mean(disc.from_labels)), "seconds": seconds}
                for pos in POSITIONS:
                    col = f"height_{pos}_mm"
                    row[pos] = table.loc[level, col] - ref.loc[level, col]
                rows.append(row)
        print(f"{case}: measured in {seconds:.1f} s per mode", flush=True)
    df = pd.DataFrame(rows)
    pd.set_option("display.width", 160)
    print("\nHeight minus the labels' own height (mm), per case and level; fallback = share of "
          "profiles from the labels")
    wide = df.pivot_table(index=["case", "level"], columns="mode",
                          values=["middle", "fallback"]).round(2)
    print(wide.to_string())
    print("\nPer set (vb2: gaps between manual bodies; ivd: manual disc masks)")
    for (kind, mode), g in df.groupby(["set", "mode"]):
        per_disc = g.fallback
        print(f"  {kind:4s} {mode:8s} n={len(g):2d}  middle: median {g.middle.median():+.2f}, "
              f"p90 |d| {g.middle.abs().quantile(0.9):.2f};  anterior p90 |d| "
              f"{g.anterior.abs().quantile(0.9):.2f}, posterior p90 |d| "
              f"{g.posterior.abs().quantile(0.9):.2f};  fallback median {per_disc.median():.2f}")


def reposition(volume, labels, angles_deg, shift_vox, seed):
    """The scan and its labels as a second visit: rigid motion, resampled on its own grid."""
    import SimpleITK as sitk

    data = volume.data if volume.data.dtype.kind == "f" else unwrap_8bit(volume.data)[0]
    image = array_to_sitk(np.asarray(data, np.float32), volume.affine)
    lab = array_to_sitk(np.asarray(labels.data, np.int16), labels.affine)
    size = np.array(image.GetSize())
    centre = image.TransformContinuousIndexToPhysicalPoint(((size - 1) / 2.0).tolist())
    transform = sitk.Euler3DTransform()
    transform.SetCenter(centre)
    rng = np.random.default_rng(seed)
    signs = rng.choice([-1.0, 1.0], size=2)
    # volume axes: 0 inferior, 1 posterior, 2 left-right; rotate about LR and AP world axes
    transform.SetRotation(0.0, math.radians(signs[0] * angles_deg[0]),
                          math.radians(signs[1] * angles_deg[1]))
    spacing = np.array(image.GetSpacing())
    transform.SetTranslation((rng.uniform(-1, 1, 3) * shift_vox * spacing).tolist())
    moved = sitk.Resample(image, image, transform, sitk.sitkBSpline, 0.0, sitk.sitkFloat32)
    moved_lab = sitk.Resample(lab, lab, transform, sitk.sitkNearestNeighbor, 0)
    data_m, affine = sitk_to_array(moved)
    lab_m, _ = sitk_to_array(moved_lab)
    return volume.with_data(np.clip(data_m, 0, None)), labels.with_data(lab_m.astype(np.int16))


def repositioning(names: list[str]) -> None:
    print("\nRepositioning: two visits per scan (2-4° about two axes, a fraction of a voxel "
          "of shift), differences per level")
    rows = []
    for k, case in enumerate(names):
        t2w, labels = load(case)
        visits = []
        for v, (angles, shift) in enumerate((((0.5, 0.5), 0.25), ((3.0, 2.5), 0.5))):
            img, lab = reposition(t2w, labels, angles, shift, seed=100 * k + v)
            visits.append(run_modes(img, lab))
        for mode in MODES:
            a = visits[0][mode].table.set_index("level")
            b = visits[1][mode].table.set_index("level")
            for level in a.index.intersection(b.index):
                if {a.loc[level, "status"], b.loc[level, "status"]} != {"measured"}:
                    continue
                rows.append({"case": case, "level": level, "mode": mode,
                             "d_middle": b.loc[level, "height_middle_mm"]
                             - a.loc[level, "height_middle_mm"],
                             "d_dhi_pct": 100 * (b.loc[level, "dhi_mean_height"]
                                                 / a.loc[level, "dhi_mean_height"] - 1)})
        print(f"  {case} done", flush=True)
    df = pd.DataFrame(rows)
    print(df.pivot_table(index=["case", "level"], columns="mode",
                         values="d_middle").round(2).to_string())
    for mode, g in df.groupby("mode"):
        sd = g.d_middle.std(ddof=1)
        sd_dhi = g.d_dhi_pct.std(ddof=1)
        print(f"  {mode:8s} n={len(g):2d}  middle height: SD of differences {sd:.3f} mm, "
              f"SEM {sd / math.sqrt(2):.3f}, MDC95 {1.96 * sd:.2f} mm "
              f"(1.96·√2·SD: {1.96 * math.sqrt(2) * sd:.2f});  DHI: SD {sd_dhi:.2f} %, "
              f"MDC95 {1.96 * sd_dhi:.1f} %")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", help="comma-separated case names (default: all labelled)")
    parser.add_argument("--no-reposition", action="store_true")
    args = parser.parse_args()
    if not DATA.is_dir():
        raise SystemExit(f"{DATA}: not found (the real scans are not shipped; see "
                         "../shared/data/README.md)")
    names = cases(args.cases.split(",") if args.cases else None)
    against_labels(names)
    if not args.no_reposition:
        repositioning(names)


if __name__ == "__main__":
    main()
