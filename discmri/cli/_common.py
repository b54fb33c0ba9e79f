"""Argument types and helpers shared by the commands."""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

__all__ = ["add_command", "add_image_arguments", "check_outputs", "floats", "load_mask",
           "noise", "scheme_inputs", "value_range", "words"]


#: ``--edges`` choices: :data:`discmri.morphometry.EDGE_MODES`, written out so that building
#: the parser imports no numerical module (tests/cli/test_commands.py checks they agree).
EDGE_MODES = ("marrow", "endplate", "labels")


def add_edges_argument(p: argparse.ArgumentParser) -> None:
    """Add ``--edges``."""
    p.add_argument("--edges", choices=EDGE_MODES, default=EDGE_MODES[0],
                   help="where endplate edges are placed: the marrow boundary [marrow], the "
                        "bony endplate (the marrow boundary moved to the centre of the dark "
                        "endplate line), or the label boundaries")


def add_command(sub, name: str, *, help: str, description: str,
                examples: Iterable[str]) -> argparse.ArgumentParser:
    """A sub-command whose ``--help`` says what it does and shows how it is run.

    ``examples``: command lines (without the leading ``discmri``), printed under the options.
    """
    lines = "\n".join(f"  discmri {e}" for e in examples)
    return sub.add_parser(name, help=help, description=description,
                          epilog=f"examples:\n{lines}",
                          formatter_class=argparse.RawDescriptionHelpFormatter)


def floats(text: str) -> tuple[float, ...]:
    """``"1,2.5"`` → ``(1.0, 2.5)``."""
    try:
        return tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from exc


def words(text: str) -> tuple[str, ...]:
    """``"a, b"`` → ``("a", "b")``."""
    return tuple(v.strip() for v in text.split(",") if v.strip())


def noise(text: str) -> float | str:
    """A noise SD or ``"auto"``."""
    if text == "auto":
        return text
    try:
        return float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a number or 'auto', got {text!r}") from exc


def value_range(text: str) -> tuple[float, float]:
    """``"LOW,HIGH"`` → ``(low, high)``."""
    values = floats(text)
    if len(values) != 2:
        raise argparse.ArgumentTypeError(f"expected LOW,HIGH, got {text!r}")
    return values[0], values[1]


def check_outputs(names: Mapping[str, Path] | Iterable[Path], inputs, overwrite: bool) -> None:
    """Refuse, before any work, outputs that exist, would replace an input, or cannot be written.

    A folder that is a file, or that is not writable, is refused too.
    """
    from ..io.atomic import check_writable, ensure_folder

    paths = [Path(p) for p in (names.values() if isinstance(names, Mapping) else names)]
    for folder in dict.fromkeys(p.parent for p in paths):  # one write check per folder
        ensure_folder(folder, what=f"folder of {next(p for p in paths if p.parent == folder)}")
    for path in paths:
        check_writable(path, overwrite=overwrite, protected=inputs)


def load_mask(path: str | os.PathLike[str] | None, reference):
    """Boolean mask from an image on the reference's grid (None without a path)."""
    if not path:
        return None
    from ..geometry import check_same_grid
    from ..io import load_volume

    mask = load_volume(path)
    check_same_grid(reference, mask, what="mask")
    return mask.data > 0


def add_image_arguments(p: argparse.ArgumentParser, *, required: bool = True) -> None:
    """``--t2w``, ``--labels`` and ``--scheme``: a T2w image and its label map."""
    p.add_argument("--t2w", required=required, help="T2-weighted image (sagittal)")
    p.add_argument("--labels", required=required, help="label map on the T2w grid")
    p.add_argument("--scheme", default="auto",
                   help="label scheme: auto, native, totalspineseg, spineps, spider or a JSON "
                        "mapping file [auto]")


def scheme_inputs(scheme: str) -> list[Path]:
    """The inputs a ``--scheme`` value adds: none for ``auto`` or a built-in scheme.

    A mapping file is an input: hashed in the sidecar and never overwritten.
    """
    from ..spine.schemes import SCHEMES

    return [] if scheme == "auto" or scheme in SCHEMES else [Path(scheme)]
