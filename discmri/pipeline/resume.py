"""Resuming a run: a session whose inputs and options are unchanged is read back, not redone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from ..table import (
    MEASURED,
    read_discs,
)
from .options import RunOptions
from .session import SessionResult, session_folder

if TYPE_CHECKING:
    import pandas as pd

    from ..io.bids import Session

__all__ = ["as_written", "resumable"]


def resumable(session: Session, out: Path, options: RunOptions,
               hashes: dict[str, str]) -> SessionResult | None:
    """The finished result of an earlier run of this session, if inputs and settings match."""
    folder = out / session_folder(session)
    record_path = folder / f"{session.key}_discs.json"
    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    run = record.get("Run", {})
    if run.get("digest") != options.digest or run.get("inputs") != hashes:
        return None
    try:
        table = read_discs(folder / f"{session.key}_discs.tsv")
    except (OSError, ValueError):
        return None
    measured = int((table["status"] == MEASURED).sum()) if "status" in table else 0
    files = tuple(str(p.relative_to(out)) for p in sorted(folder.rglob(f"{session.key}_*"))
                  if p.is_file())
    return SessionResult(participant=session.participant, session=session.session,
                         status="resumed", table=table, skipped=tuple(record.get("Skipped", [])),
                         error="; ".join(record.get("Unusable", [])),
                         problems=tuple(session.problems), files=files, inputs=hashes,
                         levels=(measured, len(table)), arm=session.arm, months=session.months)


def as_written(table: pd.DataFrame) -> pd.DataFrame:
    """The table with the values a reader of its TSV gets.

    So that a fresh run and a resumed one build ``discs.tsv`` (and its changes from baseline)
    from the same numbers.
    """
    from ..io.tables import table_bytes

    return read_discs(table_bytes(table))
