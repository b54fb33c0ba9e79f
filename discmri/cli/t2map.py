"""``discmri t2map``: fit a T2 map to a multi-echo spin-echo series."""

from __future__ import annotations

import argparse
import sys

from ._common import add_command, check_outputs, floats, load_mask, noise


def _cmd_t2map(args: argparse.Namespace) -> int:
    from ..geometry import check_same_grid
    from ..io import load_mese, load_volume
    from ..io.fitmaps import t2_output_names, write_t2_maps
    from ..relaxometry import fit_t2

    inputs = [*args.inputs, *([args.mask] if args.mask else []), *([args.b1] if args.b1 else [])]
    check_outputs(t2_output_names(args.out, args.method), inputs, args.overwrite)
    mese = load_mese(args.inputs, echo_times_ms=args.echo_times)
    mask = load_mask(args.mask, mese)
    b1 = None
    if args.b1:
        b1_vol = load_volume(args.b1)
        check_same_grid(mese, b1_vol, what="B1 map")
        b1 = b1_vol.data
    fit = fit_t2(mese.data, mese.meta["echo_times_ms"], mask=mask, method=args.method,
                 noise_sigma=args.noise_sigma, coils=args.coils, b1=b1,
                 refocusing_deg=args.refocusing,
                 threads=args.threads, progress=sys.stderr.isatty())
    written = write_t2_maps(fit, mese, args.out, inputs=inputs, overwrite=args.overwrite)
    counts = ", ".join(f"{n} {reason}" for reason, n in fit.reasons().items())
    print(f"T2 ({fit.method}): {counts}")
    print(f"wrote {written['t2']} and {len(written) - 1} more files")
    return 0


def add_parser(sub) -> None:
    """Register ``t2map``."""
    p = add_command(
        sub, "t2map", help="fit a T2 map to a multi-echo spin-echo series",
        description="Fit T2 (ms) voxel by voxel to a multi-echo spin-echo series (one 4-D "
                    "file, a DICOM folder or one file per echo); write PREFIX_T2map.nii.gz, "
                    "PREFIX_M0.nii.gz and a JSON sidecar with the model and the fit quality.",
        examples=["t2map sub-01_MESE.nii.gz --out sub-01",
                  "t2map echo1.nii.gz echo2.nii.gz echo3.nii.gz --echo-times 10,20,30 "
                  "--noise-sigma auto --out fit"])
    p.add_argument("inputs", nargs="+", help="one 4-D file / DICOM folder, or one file per echo")
    p.add_argument("--out", required=True, help="output prefix (PREFIX_T2map.nii.gz, …)")
    p.add_argument("--echo-times", type=floats, default=None,
                   help="echo times in ms, comma-separated (default: from sidecars/DICOM)")
    p.add_argument("--mask", help="fit only where this image is > 0 (same grid)")
    p.add_argument("--method", default="auto", choices=["auto", "loglinear", "nlls", "offset",
                                                         "epg"], help="model [auto = nlls]")
    p.add_argument("--noise-sigma", type=noise, default=None,
                   help="noise SD for the noise-floor correction, or 'auto' [none]")
    p.add_argument("--coils", type=int, default=1,
                   help="with --noise-sigma: receive channels of a root-sum-of-squares "
                        "combination (noncentral chi); 1 for Rician data [1]")
    p.add_argument("--b1", help="B1 map (same grid) to fix B1 in the epg model")
    p.add_argument("--refocusing", type=float, default=180.0,
                   help="nominal refocusing angle, degrees (epg) [180]")
    p.add_argument("--threads", type=int, default=1, help="threads [1]")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    p.set_defaults(func=_cmd_t2map)
