"""``discmri info``: describe a volume or a BIDS dataset."""

from __future__ import annotations

import argparse
from pathlib import Path

from ._common import add_command


def _describe_volume(path: Path) -> list[str]:
    from ..io import load_volume

    vol = load_volume(path, allow_nonfinite=True)
    lines = [
        f"{path}",
        f"  shape        {' x '.join(str(s) for s in vol.shape)}",
        f"  spacing      {' x '.join(f'{s:.4g}' for s in vol.spacing)} mm",
        f"  orientation  {vol.orientation}",
    ]
    te = vol.meta.get("echo_times_ms")
    if te is None and "sidecar" in vol.meta and "EchoTime" in vol.meta["sidecar"]:
        from ..io import echo_times_from_sidecar

        te = echo_times_from_sidecar(vol.meta["sidecar"], source=path)
    if te is not None:
        lines.append(f"  echo time(s) {', '.join(f'{t:g}' for t in te)} ms")
    if path.is_file():
        from ..io.acquisition_files import read_bvals, sibling

        bval = sibling(path, ".bval")
        if bval.is_file():
            n = vol.shape[3] if len(vol.shape) > 3 else 1
            bvals = read_bvals(bval, n_volumes=n)
            lines.append(f"  b-values     {', '.join(f'{b:g}' for b in bvals)} s/mm²")
    return lines


def _describe_dataset(root: Path) -> list[str]:
    from ..io import find_sessions

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
    from ..errors import InputNotFoundError

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


def add_parser(sub) -> None:
    """Register ``info``."""
    p = add_command(
        sub, "info", help="describe a volume (NIfTI or DICOM folder) or a BIDS dataset",
        description="Print a volume's grid, orientation and value range, or a dataset's "
                    "participants, sessions and what each holds, with the problems found.",
        examples=["info sub-01_T2w.nii.gz", "info sample_data"])
    p.add_argument("path", help="NIfTI file, DICOM series folder or BIDS dataset folder")
    p.set_defaults(func=_cmd_info)
