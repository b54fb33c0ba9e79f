"""Atomic writes: an output appears complete under its final name, or not at all."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..errors import OutputExistsError

__all__ = ["atomic_path", "check_writable", "write_bytes_atomic", "write_text_atomic"]


def check_writable(
    target: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    protected: Iterable[str | os.PathLike[str] | None] = (),
) -> Path:
    """Check that ``target`` may be written, before any work is done.

    Parameters
    ----------
    target : path-like
        File about to be written.
    overwrite : bool, optional
        Allow replacing an existing file that is not protected.
    protected : iterable of path-like
        Input files that must never be overwritten, whatever ``overwrite`` says.

    Returns
    -------
    Path
        ``target`` as a path.

    Raises
    ------
    OutputExistsError
        If ``target`` is one of the protected inputs, or exists and ``overwrite`` is false.
    """
    target = Path(target)
    resolved = target.resolve()
    for p in protected:
        if p is not None and Path(p).resolve() == resolved:
            raise OutputExistsError(f"{target}: refusing to overwrite an input file")
    if target.exists() and not overwrite:
        raise OutputExistsError(f"{target}: file exists; pass overwrite=True to replace it")
    return target


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` on success.

    The temporary file keeps ``target``'s full suffix (``.nii.gz`` stays ``.nii.gz``) so that
    writers which look at the extension behave the same. On any exception the temporary file is
    removed and ``target`` is left as it was.

    Parameters
    ----------
    target : path-like
        Final file name. Its folder must exist.

    Yields
    ------
    Path
        Where to write.
    """
    target = Path(target)
    suffix = "".join(target.suffixes[-2:]) if target.name.endswith(".nii.gz") else target.suffix
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=suffix)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o644)  # mkstemp creates 0600; outputs are ordinary files
        os.replace(tmp_path, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp_path.unlink()
        raise


def write_bytes_atomic(target: str | os.PathLike[str], payload: bytes) -> Path:
    """Write ``payload`` to ``target`` atomically and return the path."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(payload)
    return Path(target)


def write_text_atomic(target: str | os.PathLike[str], text: str) -> Path:
    """Write UTF-8 ``text`` to ``target`` atomically (newlines are written as they are)."""
    return write_bytes_atomic(target, text.encode("utf-8"))
