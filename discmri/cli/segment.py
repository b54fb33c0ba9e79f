"""``discmri segment``: vertebral bodies, discs and canal from a sagittal T2w image."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import ParameterError
from ._common import floats


def _cmd_segment(args: argparse.Namespace) -> int:
    import numpy as np

    from ..io import load_volume
    from ..io.atomic import write_all_or_nothing
    from ..spine.segmentation import complete_labels, label_paths, segment_spine
    from ._common import check_outputs

    try:
        image_path, sidecar_path = label_paths(args.out)
    except ParameterError as exc:
        raise ParameterError(f"--out {exc}") from None
    inputs = [Path(args.t2w)] + ([Path(args.labels)] if args.labels else [])
    outputs = [image_path, sidecar_path] + ([Path(args.qc)] if args.qc else [])
    check_outputs(outputs, inputs, args.overwrite)
    if args.qc:
        if not str(args.qc).endswith(".png"):
            raise ParameterError(f"--qc {args.qc}: expected a .png file name")
        from ..morphometry.qc import _matplotlib

        _matplotlib()  # fail before the work when matplotlib is missing
    hint = None
    if args.hint_l5s1 is not None:
        if len(args.hint_l5s1) != 3:
            raise ParameterError(f"--hint-l5s1 takes X,Y,Z in scanner mm, got "
                                 f"{len(args.hint_l5s1)} numbers")
        hint = np.array(args.hint_l5s1, float)
    t2w = load_volume(args.t2w)
    if args.labels:
        if hint is not None or args.levels:
            raise ParameterError("--labels names the levels itself; leave out --hint-l5s1 "
                                 "and --levels")
        result = complete_labels(t2w, load_volume(args.labels), scheme=args.scheme)
    else:
        result = segment_spine(t2w, hint_l5s1=hint, levels=args.levels)
    files = result.files(image_path, source=str(args.t2w))
    if args.qc:
        from ..spine.segmentation.qc import segmentation_figure

        files[Path(args.qc)] = segmentation_figure(
            t2w, result.labels, title=f"{Path(args.t2w).name}: {', '.join(result.levels)}")
    write_all_or_nothing(files, overwrite=args.overwrite, protected=inputs)
    lv = result.sidecar["levels"]
    print(f"{len(result.levels)} discs labelled: {', '.join(result.levels)} "
          f"(levels by {lv['method']}, confidence {lv['confidence']:.2f})")
    print(f"  {lv['why']}")
    if "completed" in result.sidecar:
        done = result.sidecar["completed"]
        print(f"  kept the given {', '.join(done['kept'])}; added {', '.join(done['added'])}")
    print(f"wrote {image_path} and {sidecar_path.name}" + (f" and {args.qc}" if args.qc else ""))
    return 0


def add_parser(sub) -> None:
    """Register ``segment``."""
    p = sub.add_parser("segment", help="label vertebral bodies, discs and the canal of a "
                                       "sagittal T2w image (classical, offline)")
    p.add_argument("--t2w", required=True, help="sagittal T2-weighted image (NIfTI or DICOM)")
    p.add_argument("--out", required=True,
                   help="label map to write, .nii.gz (native scheme; + .json sidecar)")
    p.add_argument("--hint-l5s1", type=floats, metavar="X,Y,Z",
                   help="a point in the L5-S1 disc, scanner mm (RAS): count levels from it")
    p.add_argument("--levels", metavar="FIRST..LAST",
                   help="the discs between two bodies in view, e.g. T12-L1..L5-S1 or "
                        "C5-C6..C6-C7 (when no sacrum is in view)")
    p.add_argument("--labels", metavar="PARTIAL",
                   help="a partial label map to complete (discs only → adds the bodies; "
                        "vertebrae only → adds the discs), kept as given and naming the levels")
    p.add_argument("--scheme", default="auto",
                   help="label scheme of --labels: auto, native, spineps, totalspineseg, "
                        "spider or a JSON mapping [auto]")
    p.add_argument("--qc", metavar="PNG",
                   help="write a QC figure: the mid-sagittal slice with the outlines "
                        "(needs matplotlib)")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    p.set_defaults(func=_cmd_segment)
