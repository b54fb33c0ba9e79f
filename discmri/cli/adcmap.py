"""``discmri adcmap``: fit an ADC map to a diffusion-weighted series."""

from __future__ import annotations

import argparse
import sys

from ._common import add_command, check_outputs, load_mask, value_range


def _cmd_adcmap(args: argparse.Namespace) -> int:
    from ..diffusion import fit_adc
    from ..io import load_dwi
    from ..io.acquisition_files import sibling
    from ..io.fitmaps import adc_output_names, write_adc_maps

    bval = args.bval or sibling(args.dwi, ".bval")
    bvec = args.bvec or sibling(args.dwi, ".bvec")
    inputs = [args.dwi, bval, bvec, *([args.mask] if args.mask else [])]
    check_outputs(adc_output_names(args.out, args.method), inputs, args.overwrite)
    dwi = load_dwi(args.dwi, bval=bval, bvec=bvec)
    mask = load_mask(args.mask, dwi)
    fit = fit_adc(dwi.data, dwi.meta["bvals"], bvecs=dwi.meta["bvecs"], mask=mask,
                  method=args.method, b_range=args.b_range, threads=args.threads,
                  progress=sys.stderr.isatty())
    written = write_adc_maps(fit, dwi, args.out, inputs=inputs, overwrite=args.overwrite)
    counts = ", ".join(f"{n} {reason}" for reason, n in fit.reasons().items())
    print(f"ADC ({fit.method}, b = {', '.join(f'{b:g}' for b in fit.bvals)} s/mm²): {counts}")
    print(f"wrote {written['adc']} and {len(written) - 1} more files")
    return 0


def add_parser(sub) -> None:
    """Register ``adcmap``."""
    p = add_command(
        sub, "adcmap", help="fit an ADC map to a diffusion-weighted series",
        description="Fit the apparent diffusion coefficient (mm²/s) voxel by voxel to a 4-D "
                    "diffusion-weighted series and its FSL .bval/.bvec tables; write "
                    "PREFIX_ADC.nii.gz, PREFIX_S0.nii.gz and a JSON sidecar.",
        examples=["adcmap sub-01_dwi.nii.gz --out sub-01",
                  "adcmap dwi.nii.gz --bval dwi.bval --bvec dwi.bvec --b-range 200,1000 "
                  "--method nlls --out fit"])
    p.add_argument("dwi", help="4-D diffusion-weighted NIfTI file")
    p.add_argument("--bval", help="FSL .bval file (default: beside the image)")
    p.add_argument("--bvec", help="FSL .bvec file (default: beside the image)")
    p.add_argument("--out", required=True, help="output prefix (PREFIX_ADC.nii.gz, …)")
    p.add_argument("--mask", help="fit only where this image is > 0 (same grid)")
    p.add_argument("--method", default="wls", choices=["ols", "wls", "nlls", "ivim"],
                   help="model [wls]")
    p.add_argument("--b-range", type=value_range, default=None,
                   help="fit shells with LOW <= b <= HIGH, s/mm² (e.g. 200,1000)")
    p.add_argument("--threads", type=int, default=1, help="threads [1]")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    p.set_defaults(func=_cmd_adcmap)
