"""``discmri segment``: vertebral bodies, discs and canal from a sagittal T2w image."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..errors import ParameterError
from ._common import floats


def _label_outputs(out: Path) -> tuple[Path, Path]:
    name = out.name
    for ext in (".nii.gz", ".nii"):
        if name.endswith(ext):
            return out, out.with_name(name[: -len(ext)] + ".json")
    raise ParameterError(f"--out {out}: expected a .nii.gz or .nii file name")


def _cmd_segment(args: argparse.Namespace) -> int:
    import numpy as np

    from ..io import load_volume
    from ..io.atomic import write_all_or_nothing
    from ..io.nifti import nifti_bytes
    from ..spine.segmentation import segment_spine
    from ._common import check_outputs

    image_path, sidecar_path = _label_outputs(Path(args.out))
    check_outputs([image_path, sidecar_path], [Path(args.t2w)], args.overwrite)
    hint = None
    if args.hint_l5s1 is not None:
        if len(args.hint_l5s1) != 3:
            raise ParameterError(f"--hint-l5s1 takes X,Y,Z in scanner mm, got "
                                 f"{len(args.hint_l5s1)} numbers")
        hint = np.array(args.hint_l5s1, float)
    t2w = load_volume(args.t2w)
    result = segment_spine(t2w, hint_l5s1=hint, levels=args.levels)
    sidecar = {**result.sidecar, "source": str(args.t2w)}
    write_all_or_nothing(
        {image_path: nifti_bytes(result.labels, image_path, dtype=np.int16,
                                 description="discmri segment"),
         sidecar_path: (json.dumps(sidecar, indent=2) + "\n").encode("utf-8")},
        overwrite=args.overwrite, protected=[args.t2w])
    lv = result.sidecar["levels"]
    print(f"{len(result.levels)} discs labelled: {', '.join(result.levels)} "
          f"(levels by {lv['method']}, confidence {lv['confidence']:.2f})")
    print(f"  {lv['why']}")
    print(f"wrote {image_path} and {sidecar_path.name}")
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
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    p.set_defaults(func=_cmd_segment)
