"""Atomic writes: an output appears complete under its final name, or not at all."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..errors import OutputExistsError

__all__ = [
    "atomic_path",
    "check_writable",
    "file_sha256",
    "write_all_or_nothing",
    "write_bytes_atomic",
    "write_text_atomic",
]


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


def write_all_or_nothing(
    files: dict[Path, bytes],
    *,
    overwrite: bool = False,
    protected: Iterable[str | os.PathLike[str] | None] = (),
) -> list[Path]:
    """Write several files so that either all of them appear or none does.

    Every target is checked first (:func:`check_writable`); all are written to temporary files
    beside their targets, and renamed only once every write has succeeded. On failure the
    temporary files are removed and no target is touched.

    Parameters
    ----------
    files : dict of Path to bytes
        Targets and their content.
    overwrite : bool
        Allow replacing existing files that are not protected.
    protected : iterable of path-like
        Inputs that must never be overwritten.

    Returns
    -------
    list of Path
        The written files.
    """
    protected = list(protected)
    targets = [check_writable(p, overwrite=overwrite, protected=protected) for p in files]
    staged: list[tuple[Path, Path]] = []
    try:
        for target, payload in zip(targets, files.values(), strict=True):
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
            with os.fdopen(fd, "wb") as fh:
                fh.write(payload)
            os.chmod(tmp, 0o644)
            staged.append((Path(tmp), target))
        for tmp, target in staged:
            os.replace(tmp, target)
    except BaseException:
        for tmp, _ in staged:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        raise
    return targets


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file, or of every file in a folder (sorted by name), for provenance."""
    path = Path(path)
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for f in files:
        with f.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()
