"""``discmri grade``: Pfirrmann and Griffith grade suggestions with their evidence."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from pathlib import Path

from ..errors import ParameterError
from ._common import add_image_arguments


def _cmd_grade(args: argparse.Namespace) -> int:
    from ..grading import GRADE_UNITS, THRESHOLDS, load_thresholds, suggest_grades
    from ..io import load_volume
    from ..io.tables import write_table
    from ..measure import measure
    from ._common import check_outputs, scheme_inputs

    out = Path(args.out)
    if out.suffix != ".tsv":
        raise ParameterError(f"--out {out}: expected a .tsv file name")
    inputs = [Path(p) for p in (args.t2w, args.labels, args.thresholds) if p]
    inputs += scheme_inputs(args.scheme)
    check_outputs([out, out.with_suffix(".json")], inputs, args.overwrite)
    thresholds = load_thresholds(args.thresholds) if args.thresholds else THRESHOLDS
    t2w = load_volume(args.t2w)
    labels = load_volume(args.labels)
    result = measure(t2w, labels, scheme=args.scheme)
    grades = suggest_grades(result, t2w, thresholds=thresholds)
    sidecar = {**{c: {"Units": u, "Description": d} for c, (u, d) in GRADE_UNITS.items()},
               "Thresholds": asdict(thresholds), "LabelScheme": result.levels.scheme,
               "Note": "suggestions to assist a reader, not a reader's grades"}
    write_table(grades, out, sidecar, inputs=inputs, overwrite=args.overwrite)
    for row in grades.itertuples():
        print(f"{row.level}: Griffith {row.griffith or 'n/a'} (runner-up {row.runner_up or '-'}, "
              f"confidence {row.confidence:.2f}), Pfirrmann {row.pfirrmann or 'n/a'}")
    print(f"wrote {out}, {out.with_suffix('.json').name}")
    return 0


def add_parser(sub) -> None:
    """Register ``grade``."""
    p = sub.add_parser("grade", help="Pfirrmann and modified Pfirrmann (Griffith) grade "
                                     "suggestions with their evidence")
    add_image_arguments(p)
    p.add_argument("--thresholds", help="JSON file of grade thresholds (names of "
                                        "discmri.grading.Thresholds) [the documented defaults]")
    p.add_argument("--out", required=True, help="output table, .tsv (+ .json sidecar)")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    p.set_defaults(func=_cmd_grade)
