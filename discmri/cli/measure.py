"""``discmri measure``: disc heights, DHI and regional T2 / ADC of one image."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import ParameterError
from ._common import (
    add_command,
    add_edges_argument,
    add_image_arguments,
    floats,
    words,
)


def _cmd_measure(args: argparse.Namespace) -> int:
    from ..io import load_volume
    from ..io.atomic import ensure_folder
    from ..io.tables import write_table
    from ..measure import measure
    from ..qc import disc_qc_figures
    from ..table import MEASURED
    from ._common import check_outputs, scheme_inputs

    out = Path(args.out)
    if out.suffix != ".tsv":
        raise ParameterError(f"--out {out}: expected a .tsv file name")
    inputs = [Path(p) for p in (args.t2w, args.labels, args.t2map, args.adcmap) if p]
    inputs += scheme_inputs(args.scheme)
    check_outputs([out, out.with_suffix(".json")], inputs, args.overwrite)
    qc = out.with_name(out.stem + "_qc") if args.qc else None
    if qc is not None:
        from ..plotting import require_matplotlib

        require_matplotlib()  # fail before the work when matplotlib is missing
        ensure_folder(qc, what="--qc folder")
    t2w = load_volume(args.t2w)
    labels = load_volume(args.labels)
    t2map = load_volume(args.t2map, allow_nonfinite=True) if args.t2map else None
    adcmap = load_volume(args.adcmap, allow_nonfinite=True) if args.adcmap else None
    result = measure(t2w, labels, scheme=args.scheme, t2map=t2map, adcmap=adcmap,
                     dhi=args.dhi, positions=args.positions,
                     parasagittal_mm=args.parasagittal_mm, edges=args.edges)
    figures: dict[Path, bytes] = {}
    if qc is not None:
        figures = {qc / f"{out.stem}_{level}.png": png
                   for level, png in disc_qc_figures(result, t2w).items()}
    write_table(result.table, out, result.sidecar(), inputs=inputs, extra=figures,
                overwrite=args.overwrite)
    measured = int((result.table["status"] == MEASURED).sum())
    print(f"{measured} of {len(result.table)} disc levels measured "
          f"(labels: {result.levels.scheme}{', detected' if result.levels.detected else ''})")
    for row in result.table.itertuples():
        if row.status != MEASURED:
            print(f"  {row.level}: {row.status}: {row.notes}")
    for problem in result.levels.problems:
        print(f"  label map: {problem}")
    print(f"wrote {out}, {out.with_suffix('.json').name}"
          + (f" and {len(figures)} QC figures in {qc}" if figures else ""))
    return 0


def add_parser(sub) -> None:
    """Register ``measure``."""
    p = add_command(
        sub, "measure", help="disc heights, DHI and regional T2/ADC per disc level",
        description="Measure every disc of a T2w image and its label map: heights (mm, "
                    "sub-voxel), DHI by named formulas, and with maps the nucleus and annulus "
                    "T2 and ADC; one row per disc level in a TSV with a JSON sidecar of units.",
        examples=["measure --t2w sub-01_T2w.nii.gz --labels sub-01_dseg.nii.gz --out "
                  "discs.tsv",
                  "measure --t2w t2w.nii.gz --labels dseg.nii.gz --t2map fit_T2map.nii.gz "
                  "--edges endplate --qc --out discs.tsv"])
    add_image_arguments(p)
    p.add_argument("--t2map", help="T2 map (ms), any grid (e.g. from 'discmri t2map')")
    p.add_argument("--adcmap", help="ADC map (mm²/s), any grid (e.g. from 'discmri adcmap')")
    p.add_argument("--dhi", type=words, default=("mean_height", "masuda", "farfan", "area",
                                                  "height_width"),
                   help="DHI formulas, comma-separated: mean_height, masuda, farfan, area, "
                        "height_width [all]")
    p.add_argument("--positions", type=floats, default=(0.1, 0.5, 0.9),
                   help="anterior, middle, posterior height positions as fractions of the "
                        "depth from anterior [0.1,0.5,0.9]")
    p.add_argument("--parasagittal-mm", type=float, default=0.0, metavar="MM",
                   help="heights from the mean of the mid-sagittal plane and the planes MM to "
                        "either side (e.g. one slice thickness; for noisy images) [0: "
                        "mid-sagittal only]")
    add_edges_argument(p)
    p.add_argument("--qc", action="store_true",
                   help="also write QC figures beside the output: one PNG per disc in the "
                        "folder OUT_qc/ (OUT without .tsv; needs matplotlib)")
    p.add_argument("--out", required=True, help="output table, .tsv (+ .json sidecar)")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    p.set_defaults(func=_cmd_measure)
