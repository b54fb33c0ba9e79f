"""The ``discmri`` command line.

One ``main(argv=None) -> int`` with a sub-command per job, each in its own module and each a
thin layer over the library. Input errors print one line ``discmri: error: …`` and exit 2;
unexpected failures (bugs) print a traceback and exit 1.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence

from .._version import __version__
from ..errors import DiscMRIError

__all__ = ["main"]

#: How the library's keyword arguments read on the command line.
_CLI_WORDS = (("overwrite=True", "--overwrite"), ("resume=True", "--resume"),
              ("noise_sigma", "--noise-sigma"), ("b_range", "--b-range"),
              ("series_uid", "a series UID"))


def _cli_message(exc: DiscMRIError) -> str:
    text = " ".join(str(exc).split())
    for python, option in _CLI_WORDS:
        text = text.replace(python, option)
    return text


def _parser() -> argparse.ArgumentParser:
    from . import adcmap, grade, info, measure, plan, report, run, sample_data, segment, t2map

    parser = argparse.ArgumentParser(
        prog="discmri",
        description="Lumbar intervertebral disc measurements on MRI.",
    )
    parser.add_argument("--version", action="version", version=f"discmri {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for module in (run, report, plan, info, sample_data, t2map, adcmap, measure, grade,
                   segment):
        module.add_parser(sub)
    return parser


def _quiet_stdout() -> None:
    """After a broken pipe: send what is still printed nowhere (as ``head`` wants)."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # stdout replaced (e.g. in tests)
        pass


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``discmri`` command line.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name (``sys.argv[1:]`` by default).

    Returns
    -------
    int
        0 on success, 2 for bad input or usage, 1 for unexpected failures (and for a dataset
        run in which a session failed), 130 when interrupted.
    """
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help/--version exit 0, usage errors exit 2
        return int(exc.code or 0)
    try:
        code = int(args.func(args))
        sys.stdout.flush()
        return code
    except DiscMRIError as exc:
        print(f"discmri: error: {_cli_message(exc)}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading
        _quiet_stdout()
        print("discmri: error: standard output was closed before all was printed",
              file=sys.stderr)
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
