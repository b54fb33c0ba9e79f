"""The ``discmri`` command line.

One ``main(argv=None) -> int`` with a sub-command per job. Input errors print one line
``discmri: error: …`` and exit 2; unexpected failures print a traceback and exit 1.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from ._version import __version__
from .errors import DiscMRIError

__all__ = ["main"]


def _floats(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from exc


def _cmd_sample_data(args: argparse.Namespace) -> int:
    from .phantom.cohort import make_cohort

    cohort = make_cohort(
        args.out,
        participants=args.participants,
        seed=args.seed,
        visits_months=args.visits,
        dropout=args.dropout,
    )
    n_sessions = cohort.truth[["participant", "session"]].drop_duplicates().shape[0]
    print(f"wrote {args.participants} participants, {n_sessions} sessions to {cohort.root}")
    return 0


def _describe_volume(path: Path) -> list[str]:
    from .io import load_volume

    vol = load_volume(path, allow_nonfinite=True)
    lines = [
        f"{path}",
        f"  shape        {' x '.join(str(s) for s in vol.shape)}",
        f"  spacing      {' x '.join(f'{s:.4g}' for s in vol.spacing)} mm",
        f"  orientation  {vol.orientation}",
    ]
    te = vol.meta.get("echo_times_ms")
    if te is None and "sidecar" in vol.meta and "EchoTime" in vol.meta["sidecar"]:
        from .io import echo_times_from_sidecar

        te = echo_times_from_sidecar(vol.meta["sidecar"], source=path)
    if te is not None:
        lines.append(f"  echo time(s) {', '.join(f'{t:g}' for t in te)} ms")
    if path.is_file():
        from .io.acquisition import read_bvals, sibling

        bval = sibling(path, ".bval")
        if bval.is_file():
            n = vol.shape[3] if len(vol.shape) > 3 else 1
            bvals = read_bvals(bval, n_volumes=n)
            lines.append(f"  b-values     {', '.join(f'{b:g}' for b in bvals)} s/mm²")
    return lines


def _describe_dataset(root: Path) -> list[str]:
    from .io import find_sessions

    sessions = find_sessions(root)
    participants = sorted({s.participant for s in sessions})
    lines = [f"{root}: {len(participants)} participants, {len(sessions)} sessions"]
    header = f"  {'participant':<13}{'session':<15}{'arm':<8}{'months':>7}  {'treated':<18}lacks"
    lines.append(header)
    for s in sessions:
        months = "n/a" if s.months is None else f"{s.months:g}"
        lacks = ", ".join(s.missing) or "-"
        lines.append(
            f"  {'sub-' + s.participant:<13}{('ses-' + s.session) if s.session else '-':<15}"
            f"{s.arm or 'n/a':<8}{months:>7}  {';'.join(s.treated_levels) or '-':<18}{lacks}"
        )
        for problem in s.problems:
            lines.append(f"      problem: {problem}")
    return lines


def _cmd_info(args: argparse.Namespace) -> int:
    from .errors import InputNotFoundError

    path = Path(args.path)
    if not path.exists():
        raise InputNotFoundError(f"{path}: no such file or folder")
    is_dataset = path.is_dir() and (
        (path / "participants.tsv").is_file()
        or (path / "dataset_description.json").is_file()
        or any(path.glob("sub-*"))
    )
    lines = _describe_dataset(path) if is_dataset else _describe_volume(path)
    print("\n".join(lines))
    return 0


def _noise(text: str) -> float | str:
    if text == "auto":
        return text
    try:
        return float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a number or 'auto', got {text!r}") from exc


def _check_outputs(names, inputs, overwrite: bool) -> None:
    """Refuse before any work if an output exists or would replace an input."""
    from .io.atomic import check_writable

    for path in names.values():
        check_writable(path, overwrite=overwrite, protected=inputs)


def _load_mask(path, reference):
    """Boolean mask from an image on the reference's grid (None without a path)."""
    if not path:
        return None
    from .io import check_same_grid, load_volume

    mask = load_volume(path)
    check_same_grid(reference, mask, what="mask")
    return mask.data > 0


def _cmd_t2map(args: argparse.Namespace) -> int:
    from .io import check_same_grid, load_mese, load_volume
    from .relaxometry import fit_t2, t2_output_names, write_t2_maps

    inputs = [*args.inputs, *([args.mask] if args.mask else []), *([args.b1] if args.b1 else [])]
    _check_outputs(t2_output_names(args.out, args.method), inputs, args.overwrite)
    mese = load_mese(args.inputs, echo_times_ms=args.echo_times)
    mask = _load_mask(args.mask, mese)
    b1 = None
    if args.b1:
        b1_vol = load_volume(args.b1)
        check_same_grid(mese, b1_vol, what="B1 map")
        b1 = b1_vol.data
    fit = fit_t2(mese.data, mese.meta["echo_times_ms"], mask=mask, method=args.method,
                 noise_sigma=args.noise_sigma, b1=b1, refocusing_deg=args.refocusing,
                 threads=args.threads, progress=sys.stderr.isatty())
    written = write_t2_maps(fit, mese, args.out, inputs=inputs, overwrite=args.overwrite)
    counts = ", ".join(f"{n} {reason}" for reason, n in fit.reasons().items())
    print(f"T2 ({fit.method}): {counts}")
    print(f"wrote {written['t2']} and {len(written) - 1} more files")
    return 0


def _range(text: str) -> tuple[float, float]:
    values = _floats(text)
    if len(values) != 2:
        raise argparse.ArgumentTypeError(f"expected LOW,HIGH, got {text!r}")
    return values[0], values[1]


def _cmd_adcmap(args: argparse.Namespace) -> int:
    from .diffusion import adc_output_names, fit_adc, write_adc_maps
    from .io import load_dwi
    from .io.acquisition import sibling

    bval = args.bval or sibling(args.dwi, ".bval")
    bvec = args.bvec or sibling(args.dwi, ".bvec")
    inputs = [args.dwi, bval, bvec, *([args.mask] if args.mask else [])]
    _check_outputs(adc_output_names(args.out, args.method), inputs, args.overwrite)
    dwi = load_dwi(args.dwi, bval=bval, bvec=bvec)
    mask = _load_mask(args.mask, dwi)
    fit = fit_adc(dwi.data, dwi.meta["bvals"], bvecs=dwi.meta["bvecs"], mask=mask,
                  method=args.method, b_range=args.b_range, threads=args.threads,
                  progress=sys.stderr.isatty())
    written = write_adc_maps(fit, dwi, args.out, inputs=inputs, overwrite=args.overwrite)
    counts = ", ".join(f"{n} {reason}" for reason, n in fit.reasons().items())
    print(f"ADC ({fit.method}, b = {', '.join(f'{b:g}' for b in fit.bvals)} s/mm²): {counts}")
    print(f"wrote {written['adc']} and {len(written) - 1} more files")
    return 0


def _words(text: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in text.split(",") if v.strip())


def _cmd_measure(args: argparse.Namespace) -> int:
    from .io import load_volume
    from .io.atomic import check_writable
    from .io.tables import write_table
    from .measure import measure

    out = Path(args.out)
    if out.suffix != ".tsv":
        raise DiscMRIError(f"--out {out}: expected a .tsv file name")
    inputs = [Path(p) for p in (args.t2w, args.labels, args.t2map, args.adcmap) if p]
    if args.scheme not in ("auto", "native", "totalspineseg", "spineps", "spider"):
        inputs.append(Path(args.scheme))
    for target in (out, out.with_suffix(".json")):
        check_writable(target, overwrite=args.overwrite, protected=inputs)
    if args.qc is not None:
        from .morphometry.qc import _matplotlib

        _matplotlib()  # fail before the work when matplotlib is missing
    t2w = load_volume(args.t2w)
    labels = load_volume(args.labels)
    t2map = load_volume(args.t2map, allow_nonfinite=True) if args.t2map else None
    adcmap = load_volume(args.adcmap, allow_nonfinite=True) if args.adcmap else None
    result = measure(t2w, labels, scheme=args.scheme, t2map=t2map, adcmap=adcmap,
                     dhi=args.dhi, positions=args.positions)
    figures: dict[Path, bytes] = {}
    if args.qc is not None:
        from .morphometry.qc import disc_figure

        morph = result.morphometry
        for name, disc in morph.discs.items():
            row = result.table.set_index("level").loc[name]
            title = (f"{name}: heights {row.height_anterior_mm:.2f} / {row.height_middle_mm:.2f}"
                     f" / {row.height_posterior_mm:.2f} mm, depth {row.ap_depth_mm:.1f} mm")
            near = {k: v for k, v in morph.vertebrae.items()
                    if k in name.split("-")}
            figures[Path(args.qc) / f"{out.stem}_{name}.png"] = disc_figure(
                t2w.data, t2w.affine, disc, vertebrae=near, title=title)
    sidecar = {**result.units, "Parameters": result.parameters,
               "Levels": list(result.levels.levels),
               "LabelScheme": result.levels.scheme}
    write_table(result.table, out, sidecar, inputs=inputs, extra=figures,
                overwrite=args.overwrite)
    measured = int((result.table["status"] == "").sum())
    print(f"{measured} of {len(result.table)} disc levels measured "
          f"(labels: {result.levels.scheme}{', detected' if result.levels.detected else ''})")
    for row in result.table.itertuples():
        if row.status:
            print(f"  {row.level}: not measured: {row.status}")
    for problem in result.levels.problems:
        print(f"  label map: {problem}")
    print(f"wrote {out}, {out.with_suffix('.json').name}"
          + (f" and {len(figures)} QC figures in {args.qc}" if figures else ""))
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="discmri",
        description="Lumbar intervertebral disc measurements on MRI.",
    )
    parser.add_argument("--version", action="version", version=f"discmri {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("info", help="describe a volume (NIfTI or DICOM folder) or a BIDS dataset")
    p.add_argument("path", help="NIfTI file, DICOM series folder or BIDS dataset folder")
    p.set_defaults(func=_cmd_info)

    p = sub.add_parser(
        "sample-data",
        help="write a synthetic trial dataset (the shipped sample_data/ with the defaults)",
    )
    p.add_argument("out", type=Path, help="new dataset folder (must not exist)")
    p.add_argument("--participants", type=int, default=4, help="number of participants [4]")
    p.add_argument("--seed", type=int, default=0, help="random seed [0]")
    p.add_argument("--visits", type=_floats, default=(0.0, 3.0, 6.0),
                   help="visit times in months since injection [0,3,6]")
    p.add_argument("--dropout", type=float, default=0.1,
                   help="probability of missing each follow-up visit [0.1]")
    p.set_defaults(func=_cmd_sample_data)

    p = sub.add_parser("t2map", help="fit a T2 map to a multi-echo spin-echo series")
    p.add_argument("inputs", nargs="+", help="one 4-D file / DICOM folder, or one file per echo")
    p.add_argument("--out", required=True, help="output prefix (PREFIX_T2map.nii.gz, …)")
    p.add_argument("--echo-times", type=_floats, default=None,
                   help="echo times in ms, comma-separated (default: from sidecars/DICOM)")
    p.add_argument("--mask", help="fit only where this image is > 0 (same grid)")
    p.add_argument("--method", default="auto", choices=["auto", "loglinear", "nlls", "offset",
                                                         "epg"], help="model [auto = nlls]")
    p.add_argument("--noise-sigma", type=_noise, default=None,
                   help="noise SD for the noise-floor correction, or 'auto' [none]")
    p.add_argument("--b1", help="B1 map (same grid) to fix B1 in the epg model")
    p.add_argument("--refocusing", type=float, default=180.0,
                   help="nominal refocusing angle, degrees (epg) [180]")
    p.add_argument("--threads", type=int, default=1, help="threads [1]")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    p.set_defaults(func=_cmd_t2map)

    p = sub.add_parser("adcmap", help="fit an ADC map to a diffusion-weighted series")
    p.add_argument("dwi", help="4-D diffusion-weighted NIfTI file")
    p.add_argument("--bval", help="FSL .bval file (default: beside the image)")
    p.add_argument("--bvec", help="FSL .bvec file (default: beside the image)")
    p.add_argument("--out", required=True, help="output prefix (PREFIX_ADC.nii.gz, …)")
    p.add_argument("--mask", help="fit only where this image is > 0 (same grid)")
    p.add_argument("--method", default="wls", choices=["ols", "wls", "nlls", "ivim"],
                   help="model [wls]")
    p.add_argument("--b-range", type=_range, default=None,
                   help="fit shells with LOW <= b <= HIGH, s/mm² (e.g. 200,1000)")
    p.add_argument("--threads", type=int, default=1, help="threads [1]")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    p.set_defaults(func=_cmd_adcmap)

    p = sub.add_parser("measure", help="disc heights, DHI and regional T2/ADC per disc level")
    p.add_argument("--t2w", required=True, help="T2-weighted image (sagittal)")
    p.add_argument("--labels", required=True, help="label map on the T2w grid")
    p.add_argument("--scheme", default="auto",
                   help="label scheme: auto, native, totalspineseg, spineps, spider or a JSON "
                        "mapping file [auto]")
    p.add_argument("--t2map", help="T2 map (ms), any grid (e.g. from 'discmri t2map')")
    p.add_argument("--adcmap", help="ADC map (mm²/s), any grid (e.g. from 'discmri adcmap')")
    p.add_argument("--dhi", type=_words, default=("mean_height", "masuda", "farfan", "area",
                                                  "height_width"),
                   help="DHI formulas, comma-separated: mean_height, masuda, farfan, area, "
                        "height_width [all]")
    p.add_argument("--positions", type=_floats, default=(0.1, 0.5, 0.9),
                   help="anterior, middle, posterior height positions as fractions of the "
                        "depth from anterior [0.1,0.5,0.9]")
    p.add_argument("--qc", help="folder for one QC figure per disc (PNG; needs matplotlib)")
    p.add_argument("--out", required=True, help="output table, .tsv (+ .json sidecar)")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    p.set_defaults(func=_cmd_measure)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``discmri`` command line.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name (``sys.argv[1:]`` by default).

    Returns
    -------
    int
        0 on success, 2 for bad input or usage, 1 for unexpected failures.
    """
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help/--version exit 0, usage errors exit 2
        return int(exc.code or 0)
    try:
        return int(args.func(args))
    except DiscMRIError as exc:
        print(f"discmri: error: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:  # parameter errors from the library (e.g. make_cohort)
        print(f"discmri: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("discmri: interrupted", file=sys.stderr)
        return 130
    except Exception:  # a bug, not bad input: keep the traceback for the report
        traceback.print_exc()
        print("discmri: internal error (the traceback above helps a bug report)", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
