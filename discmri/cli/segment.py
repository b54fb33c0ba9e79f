"""``discmri segment``: vertebral bodies, discs and canal from a sagittal T2w image."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import ParameterError
from ._common import add_command, floats


def _cmd_segment(args: argparse.Namespace) -> int:
    import numpy as np

    from ..io import load_volume
    from ..io.atomic import write_all_or_nothing
    from ..io.labelmap import label_map_files, label_paths
    from ..spine.segmentation import complete_labels, segment_spine
    from ._common import check_outputs

    try:
        image_path, sidecar_path = label_paths(args.out)
    except ParameterError as exc:
        raise ParameterError(f"--out {exc}") from None
    inputs = [Path(args.t2w)] + ([Path(args.labels)] if args.labels else [])
    qc = sidecar_path.with_name(sidecar_path.stem + "_qc.png") if args.qc else None
    outputs = [image_path, sidecar_path] + ([qc] if qc else [])
    check_outputs(outputs, inputs, args.overwrite)
    if qc:
        from ..plotting import require_matplotlib

        require_matplotlib()  # fail before the work when matplotlib is missing
    hint = None
    if args.hint_l5s1 is not None:
        if len(args.hint_l5s1) != 3:
            raise ParameterError(f"--hint-l5s1 takes X,Y,Z in scanner mm, got "
                                 f"{len(args.hint_l5s1)} numbers")
        hint = np.array(args.hint_l5s1, float)
    t2w = load_volume(args.t2w)
    if args.labels:
        if hint is not None or args.level_range:
            raise ParameterError("--labels names the levels itself; leave out --hint-l5s1 "
                                 "and --level-range")
        result = complete_labels(t2w, load_volume(args.labels), scheme=args.scheme)
    else:
        result = segment_spine(t2w, hint_l5s1=hint, levels=args.level_range)
    files = label_map_files(result.labels, result.sidecar, image_path, source=str(args.t2w))
    if qc:
        from ..qc import segmentation_figure

        files[qc] = segmentation_figure(
            t2w, result.labels, title=f"{Path(args.t2w).name}: {', '.join(result.levels)}")
    write_all_or_nothing(files, overwrite=args.overwrite, protected=inputs)
    lv = result.sidecar["levels"]
    print(f"{len(result.levels)} discs labelled: {', '.join(result.levels)} "
          f"(levels by {lv['method']}, confidence {lv['confidence']:.2f})")
    print(f"  {lv['why']}")
    if "completed" in result.sidecar:
        done = result.sidecar["completed"]
        print(f"  kept the given {', '.join(done['kept'])}; added {', '.join(done['added'])}")
    print(f"wrote {image_path} and {sidecar_path.name}" + (f" and {qc.name}" if qc else ""))
    return 0


def add_parser(sub) -> None:
    """Register ``segment``."""
    p = add_command(
        sub, "segment", help="label vertebral bodies, discs and the canal of a sagittal T2w "
                             "image (classical, offline)",
        description="Label the vertebral bodies, discs, canal and presacral fat of a sagittal "
                    "T2w image in discmri's native scheme, levels counted from the sacrum (or "
                    "from a hint, or a level range when no sacrum is in view), or complete a "
                    "partial label map. An assist: check the QC figure.",
        examples=["segment --t2w sub-01_T2w.nii.gz --out sub-01_dseg.nii.gz --qc",
                  "segment --t2w neck.nii.gz --level-range C5-C6..C6-C7 --out dseg.nii.gz",
                  "segment --t2w t2w.nii.gz --labels discs.nii.gz --out dseg.nii.gz"])
    p.add_argument("--t2w", required=True, help="sagittal T2-weighted image (NIfTI or DICOM)")
    p.add_argument("--out", required=True,
                   help="label map to write, .nii.gz (native scheme; + .json sidecar)")
    p.add_argument("--hint-l5s1", type=floats, metavar="X,Y,Z",
                   help="a point in the L5-S1 disc, scanner mm (RAS): count levels from it")
    p.add_argument("--level-range", metavar="FIRST..LAST",
                   help="the discs between two bodies in view, e.g. T12-L1..L5-S1 or "
                        "C5-C6..C6-C7 (when no sacrum is in view)")
    p.add_argument("--labels", metavar="PARTIAL",
                   help="a partial label map to complete (discs only → adds the bodies; "
                        "vertebrae only → adds the discs), kept as given and naming the levels")
    p.add_argument("--scheme", default="auto",
                   help="label scheme of --labels: auto, native, spineps, totalspineseg, "
                        "spider or a JSON mapping [auto]")
    p.add_argument("--qc", action="store_true",
                   help="also write a QC figure beside the output, OUT_qc.png (OUT without "
                        ".nii.gz): the mid-sagittal slice with the outlines (needs matplotlib)")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    p.set_defaults(func=_cmd_segment)
