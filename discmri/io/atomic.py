"""Atomic writes: an output appears complete under its final name, or not at all."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..errors import OutputError, OutputExistsError

__all__ = [
    "atomic_path",
    "check_writable",
    "ensure_folder",
    "file_sha256",
    "sources",
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
        raise OutputExistsError(f"{target}: file exists; not replaced without overwrite=True")
    if target.is_dir():
        raise OutputError(f"{target}: is a folder; expected a file name")
    return target


def ensure_folder(folder: str | os.PathLike[str], *, what: str = "output folder") -> Path:
    """Create ``folder`` (and its parents) and check that files can be written in it.

    Done before any work, so that a run does not fit maps for an hour and then fail to save
    them. The check writes and removes a hidden empty file.

    Parameters
    ----------
    folder : path-like
    what : str
        Name of the folder in the message (e.g. ``"--out"``).

    Returns
    -------
    Path

    Raises
    ------
    OutputError
        If a file stands where the folder (or one of its parents) should be, or the folder
        cannot be created or written to.
    """
    folder = Path(folder)
    for parent in (folder, *folder.parents):
        if parent.exists() and not parent.is_dir():
            raise OutputError(f"{what} {folder}: {parent} is a file, expected a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".discmri-write-check.")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise OutputError(f"{what} {folder}: cannot write there ({exc.strerror or exc})") from exc
    return folder


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

    Every target is checked first (:func:`check_writable`); all are written to hidden temporary
    files beside their targets, and renamed only once every write has succeeded. Files being
    replaced are first moved aside, so that a failure part-way through the renames puts every
    target back as it was. On any failure no temporary file is left behind.

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

    Raises
    ------
    OutputExistsError
        If a target exists (without ``overwrite``) or is a protected input.
    OutputError
        If a target cannot be written (its folder cannot be made or written to, disk full).
    """
    protected = list(protected)
    targets = [check_writable(p, overwrite=overwrite, protected=protected) for p in files]
    staged: list[tuple[Path, Path]] = []  # (temporary file, target)
    moved: list[tuple[Path, Path]] = []  # (target, its old content moved aside)
    done: list[Path] = []
    try:
        for target, payload in zip(targets, files.values(), strict=True):
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
            staged.append((Path(tmp), target))
            with os.fdopen(fd, "wb") as fh:
                fh.write(payload)
            os.chmod(tmp, 0o644)
        for target in targets:
            if target.exists():
                fd, aside = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.old.")
                os.close(fd)
                os.replace(target, aside)
                moved.append((target, Path(aside)))
        for tmp, target in staged:
            os.replace(tmp, target)
            done.append(target)
    except BaseException as exc:
        for target in done:
            with contextlib.suppress(OSError):
                target.unlink()
        for target, aside in moved:
            with contextlib.suppress(OSError):
                os.replace(aside, target)
        for tmp, _ in staged:
            with contextlib.suppress(OSError):
                tmp.unlink()
        if isinstance(exc, OSError) and not isinstance(exc, OutputExistsError):
            raise OutputError(f"{exc.filename or targets[0].parent}: cannot write "
                              f"({exc.strerror or exc}); nothing was written") from exc
        raise
    for _, aside in moved:
        with contextlib.suppress(OSError):
            aside.unlink()
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


def sources(
    inputs: Iterable[str | os.PathLike[str]],
    hashes: dict[str, str] | None = None,
) -> list[dict[str, str]]:
    """Provenance entries ``{"path", "sha256"}`` of input files (hashes reused when given)."""
    hashes = hashes or {}
    return [{"path": str(p), "sha256": hashes.get(str(p)) or file_sha256(p)} for p in inputs]
