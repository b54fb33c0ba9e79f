"""BIDS file names and JSON sidecars (with the BIDS inheritance principle)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ImageFormatError

__all__ = ["BIDSName", "bids_id", "parse_bids_name", "read_json", "read_sidecar",
           "sidecar_files"]

_EXTENSIONS = (".nii.gz", ".nii", ".json", ".bval", ".bvec", ".tsv")


@dataclass(frozen=True)
class BIDSName:
    """The parts of a BIDS file name ``key-value_key-value_suffix.ext``.

    Parameters
    ----------
    entities : tuple of (str, str)
        Key-value pairs in file-name order.
    suffix : str
        Last underscore-separated part (``T2w``, ``MESE``, ``dwi``, ``dseg`` …).
    extension : str
        File extension including the dot (``.nii.gz`` counts as one).
    """

    entities: tuple[tuple[str, str], ...]
    suffix: str
    extension: str

    def get(self, key: str) -> str | None:
        """Value of entity ``key``, or None."""
        return dict(self.entities).get(key)


def bids_id(value: str, prefix: str) -> str:
    """A participant or session label as BIDS writes it: ``01`` → ``sub-01`` (``prefix``).

    Empty stays empty; a value that has the prefix already is kept.
    """
    value = str(value)
    return value if not value or value.startswith(prefix) else prefix + value


def parse_bids_name(name: str | os.PathLike[str]) -> BIDSName | None:
    """Split a BIDS file name into entities, suffix and extension.

    Returns None when the name is not of BIDS form.
    """
    base = Path(name).name
    ext = next((e for e in _EXTENSIONS if base.lower().endswith(e)), Path(base).suffix)
    stem = base[: len(base) - len(ext)] if ext else base
    parts = stem.split("_")
    if not parts or not parts[-1] or "-" in parts[-1]:
        return None
    entities = []
    for part in parts[:-1]:
        key, sep, value = part.partition("-")
        if not sep or not key or not value:
            return None
        entities.append((key, value))
    return BIDSName(tuple(entities), parts[-1], ext)


def read_json(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a JSON object, with an error naming the file when it is not one."""
    path = Path(path)
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ImageFormatError(f"{path}: not a readable JSON file ({exc})") from exc
    if not isinstance(value, dict):
        raise ImageFormatError(f"{path}: expected a JSON object, got {type(value).__name__}")
    return value


def sidecar_files(
    path: str | os.PathLike[str], *, root: str | os.PathLike[str] | None = None
) -> list[Path]:
    """JSON sidecars that apply to a data file, farthest first.

    Follows the BIDS inheritance principle: a JSON file applies when it lies in the data file's
    folder or a parent folder up to the dataset root, has the same suffix, and its entities are
    a subset of the data file's. Nearer files override farther ones.

    Parameters
    ----------
    path : path-like
        The data file.
    root : path-like, optional
        Dataset root; by default the nearest parent holding ``dataset_description.json``, or the
        data file's own folder when there is none.
    """
    path = Path(path)
    name = parse_bids_name(path)
    if name is None:
        plain = path.with_name(path.name[: -len(".nii.gz")] + ".json") if path.name.endswith(
            ".nii.gz"
        ) else path.with_suffix(".json")
        return [plain] if plain.is_file() else []
    wanted = set(name.entities)
    folders = []
    folder = path.parent
    stop = Path(root).resolve() if root is not None else None
    while True:
        folders.append(folder)
        if stop is not None:
            if folder.resolve() == stop or folder.parent == folder:
                break
        elif (folder / "dataset_description.json").is_file() or folder.parent == folder:
            break
        folder = folder.parent
        if stop is None and len(folders) > 4:
            folders = folders[:1]  # no dataset root found: only the file's own folder
            break
    found = []
    for folder in reversed(folders):
        matches = []
        for candidate in folder.glob(f"*{name.suffix}.json"):
            cname = parse_bids_name(candidate)
            if cname and cname.suffix == name.suffix and set(cname.entities) <= wanted:
                matches.append((len(cname.entities), candidate))
        found.extend(c for _, c in sorted(matches))
    return found


def read_sidecar(
    path: str | os.PathLike[str], *, root: str | os.PathLike[str] | None = None
) -> dict[str, Any]:
    """Merged JSON metadata for a data file (BIDS inheritance; nearer files win)."""
    merged: dict[str, Any] = {}
    for sidecar in sidecar_files(path, root=root):
        merged.update(read_json(sidecar))
    return merged
