"""``discmri grade``: Pfirrmann and Griffith grade suggestions with their evidence.

Two modes: grade one image (``--t2w``, ``--labels``), optionally against reader grades of it;
or calibrate the thresholds to a site's readers (``--calibrate READERS.tsv --discs
DISCS.tsv``), writing a thresholds file that ``--thresholds`` then uses.
"""

from __future__ import annotations

import argparse
import json
import re
from dataclasses import asdict
from pathlib import Path

from ..errors import ParameterError
from ._common import add_command, add_image_arguments, check_outputs


def _image_readers(readers, t2w: Path):
    """The reader grades of one image and its participant and session.

    All of them when they are of one participant and session, else those named by the T2w
    file's ``sub-``/``ses-`` entities.
    """
    from ..io.bidsname import bids_id

    ids = readers[["participant_id", "session"]].astype(str)
    ids = ids.assign(participant_id=ids.participant_id.map(lambda v: bids_id(v, "sub-")),
                     session=ids.session.map(lambda v: bids_id(v, "ses-")))
    pairs = ids.drop_duplicates()
    if len(pairs) == 1:
        return readers, pairs.iloc[0].tolist()
    sub = re.search(r"(sub-[A-Za-z0-9]+)", t2w.name)
    ses = re.search(r"(ses-[A-Za-z0-9]+)", t2w.name)
    want = [sub.group(1) if sub else "", ses.group(1) if ses else ""]
    keep = (ids.participant_id == want[0]) & (ids.session == want[1])
    if not sub or not keep.any():
        raise ParameterError(f"--readers: grades of {len(pairs)} participants/sessions and "
                             f"none matches the T2w file name {t2w.name}; expected one "
                             "participant and session, or a BIDS file name (sub-X_ses-Y)")
    return readers[keep.to_numpy()], want


def _grade_image(args: argparse.Namespace) -> int:
    from ..grading import (
        GRADE_UNITS,
        THRESHOLDS,
        agreement_table,
        load_thresholds,
        read_reader_grades,
        suggest_grades,
    )
    from ..io import load_volume
    from ..io.tables import write_table
    from ..measure import measure
    from ._common import scheme_inputs

    missing = [f"--{n}" for n in ("t2w", "labels") if not getattr(args, n)]
    if missing:
        raise ParameterError(f"{' and '.join(missing)} missing; expected a T2w image and its "
                             "label map (or --calibrate READERS.tsv --discs DISCS.tsv)")
    if args.scale:
        raise ParameterError("--scale: only with --calibrate (an image is graded on both "
                             "scales)")
    out = Path(args.out)
    if out.suffix != ".tsv":
        raise ParameterError(f"--out {out}: expected a .tsv file name")
    inputs = [Path(p) for p in (args.t2w, args.labels, args.t2map, args.adcmap,
                                args.thresholds, args.readers) if p]
    inputs += scheme_inputs(args.scheme)
    outputs = [out, out.with_suffix(".json")]
    figure_out = out.with_name(out.stem + "_qc.png")
    if args.qc:
        from ..plotting import require_matplotlib

        require_matplotlib()  # fail before the work when matplotlib is missing
        outputs.append(figure_out)
    agreement_out = out.with_name(out.stem + "_agreement.tsv")
    if args.readers:
        outputs += [agreement_out, agreement_out.with_suffix(".json")]
    check_outputs(outputs, inputs, args.overwrite)
    thresholds = load_thresholds(args.thresholds) if args.thresholds else THRESHOLDS
    readers, who = None, ["", ""]
    if args.readers:  # checked before the work
        readers, who = _image_readers(read_reader_grades(args.readers), Path(args.t2w))
    t2w = load_volume(args.t2w)
    labels = load_volume(args.labels)
    t2map = load_volume(args.t2map, allow_nonfinite=True) if args.t2map else None
    adcmap = load_volume(args.adcmap, allow_nonfinite=True) if args.adcmap else None
    result = measure(t2w, labels, scheme=args.scheme, t2map=t2map, adcmap=adcmap)
    grades = suggest_grades(result, t2w, thresholds=thresholds)
    sidecar = {**{c: {"Units": v[0], "Description": v[1]} for c, v in GRADE_UNITS.items()},
               "Thresholds": asdict(thresholds), "LabelScheme": result.levels.scheme,
               "Note": "suggestions to assist a reader, not a reader's grades"}
    extra = {}
    if args.qc:
        from ..qc import grade_figure

        extra[figure_out] = grade_figure(result, t2w, grades)
    write_table(grades, out, sidecar, inputs=inputs, overwrite=args.overwrite, extra=extra)
    for row in grades.itertuples():
        print(f"{row.level}: Griffith {row.griffith or 'n/a'} (runner-up {row.runner_up or '-'}, "
              f"confidence {row.confidence:.2f}), Pfirrmann {row.pfirrmann or 'n/a'}")
    print(f"wrote {out}, {out.with_suffix('.json').name}"
          + (f", {figure_out.name}" if args.qc else ""))
    if readers is not None:
        discs = grades.assign(participant_id=who[0], session=who[1])
        table, confusion = agreement_table(discs, readers.assign(participant_id=who[0],
                                                                 session=who[1]))
        write_table(table, agreement_out,
                    {"Confusion": confusion, "Readers": str(args.readers),
                     "Description": "agreement of the suggestions with each reader of this "
                                    "image (one participant: no κ intervals)"},
                    inputs=inputs, overwrite=args.overwrite)
        for row in table.itertuples():
            print(f"{row.scale}: {row.first} vs {row.second}: exact {row.exact:.2f}, within "
                  f"one {row.within_one:.2f} ({row.n_discs} discs)")
        print(f"wrote {agreement_out}, {agreement_out.with_suffix('.json').name}")
    return 0


def _calibrate(args: argparse.Namespace) -> int:
    from ..grading import THRESHOLDS, load_thresholds, read_reader_grades
    from ..grading.calibration import calibrate
    from ..io.atomic import write_all_or_nothing
    from ..table import read_discs

    given = [f"--{n}" for n in ("t2w", "labels", "t2map", "adcmap", "readers", "qc")
             if getattr(args, n)]
    if given or not args.discs:
        raise ParameterError("--calibrate: expected --discs DISCS.tsv (from discmri run) and "
                             f"no image; got {', '.join(given) or 'no --discs'}")
    out = Path(args.out)
    if out.suffix != ".json":
        raise ParameterError(f"--out {out}: expected a .json thresholds file name")
    inputs = [Path(p) for p in (args.calibrate, args.discs, args.thresholds) if p]
    check_outputs([out], inputs, args.overwrite)
    base = load_thresholds(args.thresholds) if args.thresholds else THRESHOLDS
    readers = read_reader_grades(args.calibrate)
    try:
        discs = read_discs(args.discs)
    except (OSError, ValueError) as exc:
        raise ParameterError(f"--discs {args.discs}: {exc}; expected discs.tsv of a discmri "
                             "run") from exc
    result = calibrate(discs, readers, base=base, folds=args.folds, scale=args.scale)
    from .._version import __version__

    record = {**result.to_json(), "Readers": str(args.calibrate), "Discs": str(args.discs),
              "GeneratedBy": [{"Name": "discmri", "Version": __version__}]}
    write_all_or_nothing({out: (json.dumps(record, indent=2) + "\n").encode("utf-8")},
                         overwrite=args.overwrite)
    print(f"calibrated to {result.n_reader_grades} {result.scale} reader grades")
    for fit in result.fits:
        fitted = ", ".join(f"{k} {v:.3g}" for k, v in fit["thresholds"].items())
        print(f"{fit['group']}: {fitted or 'kept: ' + fit['kept']} (n {fit['n']})")
    for name, a in (("cross-validated", result.cross_validated), ("default", result.default)):
        print(f"{name}: exact {a.exact:.2f}, within one {a.within_one:.2f}, quadratic kappa "
              f"{a.kappa_quadratic:.2f} [{a.ci['kappa_quadratic'][0]:.2f}, "
              f"{a.ci['kappa_quadratic'][1]:.2f}] ({a.n_discs} discs, {a.n_participants} "
              "participants)")
    print(f"wrote {out}")
    return 0


def _cmd_grade(args: argparse.Namespace) -> int:
    return _calibrate(args) if args.calibrate else _grade_image(args)


def add_parser(sub) -> None:
    """Register ``grade``."""
    p = add_command(
        sub, "grade", help="Pfirrmann and modified Pfirrmann (Griffith) grade suggestions with "
                           "their evidence, or calibration of the thresholds to a site's "
                           "readers",
        description="Suggest each disc's Griffith and Pfirrmann grade from a T2w image and its "
                    "label map, with the evidence and a confidence, to assist a reader; or, "
                    "with --calibrate, fit the grade thresholds to a site's reader grades "
                    "(cross-validated by participant) and write them for --thresholds.",
        examples=["grade --t2w sub-01_T2w.nii.gz --labels sub-01_dseg.nii.gz --qc "
                  "--out grades.tsv",
                  "grade --calibrate readers.tsv --discs results/discs.tsv --out site.json",
                  "run sample_data results --thresholds site.json"])
    add_image_arguments(p, required=False)
    p.add_argument("--t2map", help="T2 map (ms), any grid: nucleus T2 as supporting evidence")
    p.add_argument("--adcmap", help="ADC map (mm²/s), any grid: nucleus ADC as supporting "
                                    "evidence")
    p.add_argument("--readers", help="reader grades of this image (TSV: participant_id, "
                                     "session, level, reader, scale, grade): writes "
                                     "OUT_agreement.tsv")
    p.add_argument("--qc", action="store_true",
                   help="also write a QC figure beside the output, OUT_qc.png: each disc with "
                        "the regions compared and its suggestion (needs matplotlib)")
    p.add_argument("--thresholds", help="JSON file of grade thresholds (names of "
                                        "discmri.grading.Thresholds, or a --calibrate output) "
                                        "[the documented defaults]")
    p.add_argument("--calibrate", metavar="READERS.tsv",
                   help="fit the thresholds to these reader grades and write them to --out "
                        "(.json); needs --discs")
    p.add_argument("--scale", choices=("griffith", "pfirrmann"),
                   help="with --calibrate: the readers' scale to fit [Griffith when the "
                        "readers gave Griffith grades, else Pfirrmann]")
    p.add_argument("--discs", help="with --calibrate: discs.tsv of a discmri run of the "
                                   "readers' images (its grading evidence columns)")
    p.add_argument("--folds", type=int, default=5,
                   help="with --calibrate: participant folds of the cross-validation [5]")
    p.add_argument("--out", required=True, help="output table, .tsv (+ .json sidecar); with "
                                                "--calibrate a thresholds file, .json")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    p.set_defaults(func=_cmd_grade)
