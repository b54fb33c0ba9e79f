"""Write tables as BIDS-style TSV files with a JSON sidecar, all or nothing."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._version import __version__
from ..errors import ParameterError
from .atomic import sources, write_all_or_nothing

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["json_records", "json_value", "table_bytes", "table_files", "write_table"]


def json_value(value: Any) -> Any:
    """A value as JSON writes it: NaN and infinities as null, NumPy scalars as Python ones."""
    import math

    import numpy as np

    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(float(value)) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def json_records(table: pd.DataFrame) -> list[dict[str, Any]]:
    """A table's rows as JSON-ready dicts (:func:`json_value` of every cell)."""
    return [{k: json_value(v) for k, v in row.items()} for row in table.to_dict("records")]


def table_bytes(table: pd.DataFrame) -> bytes:
    """A table as TSV bytes: tab-separated, 6 significant digits, ``n/a`` for every missing value.

    Missing is a NaN or None, and an empty text cell (nothing to say): BIDS has one
    convention for both.
    """
    text = table.select_dtypes(include=["object", "string"]).columns
    if len(text):
        table = table.copy()
        for column in text:
            table[column] = table[column].mask(table[column].astype(str).str.strip() == "")
    return table.to_csv(sep="\t", index=False, na_rep="n/a", float_format="%.6g",
                        lineterminator="\n").encode("utf-8")


def table_files(
    table: pd.DataFrame,
    path: str | os.PathLike[str],
    sidecar: Mapping[str, Any],
    *,
    inputs: Sequence[str | os.PathLike[str]] = (),
    hashes: dict[str, str] | None = None,
) -> dict[Path, bytes]:
    """The bytes of a ``.tsv`` table and its ``.json`` sidecar, by path (nothing is written).

    ``GeneratedBy`` (discmri version) and ``Sources`` (path and SHA-256 of every input; reused
    from ``hashes`` when given) are added to the sidecar.
    """
    path = Path(path)
    if path.suffix != ".tsv":
        raise ParameterError(f"{path}: expected a .tsv output file")
    content = {**sidecar, "GeneratedBy": [{"Name": "discmri", "Version": __version__}],
               "Sources": sources(inputs, hashes)}
    return {path: table_bytes(table),
            path.with_suffix(".json"): (json.dumps(content, indent=2, default=str)
                                        + "\n").encode("utf-8")}


def write_table(
    table: pd.DataFrame,
    path: str | os.PathLike[str],
    sidecar: Mapping[str, Any],
    *,
    inputs: Sequence[str | os.PathLike[str]] = (),
    extra: Mapping[Path, bytes] | None = None,
    overwrite: bool = False,
) -> list[Path]:
    """Write ``table`` to a ``.tsv`` file and its ``.json`` sidecar, atomically together.

    Parameters
    ----------
    table : pandas.DataFrame
    path : path-like
        Output ``.tsv`` file.
    sidecar : mapping
        Sidecar content (column descriptions, parameters); ``GeneratedBy`` (discmri version)
        and ``Sources`` (path and SHA-256 of every input) are added.
    inputs : sequence of path-like
        Input files, hashed and never overwritten.
    extra : mapping of Path to bytes, optional
        Further files written in the same all-or-nothing step (figures).
    overwrite : bool
        Replace existing outputs.

    Returns
    -------
    list of Path
        Written files, the table first.
    """
    files = table_files(table, path, sidecar, inputs=inputs)
    files.update(extra or {})
    return write_all_or_nothing(files, overwrite=overwrite, protected=inputs)
