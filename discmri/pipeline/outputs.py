"""The run's own files: discs.tsv, sessions.tsv, run.json, run.log and the dataset description."""

from __future__ import annotations

import json
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .._version import __version__
from ..provenance import software_versions
from ..table import (
    SESSION_COLUMNS,
    TEXT_COLUMNS,
    add_change_from_baseline,
    column_sidecar,
    disc_columns,
)
from .resume import as_written

__all__ = ["READER_GRADES", "reader_grades", "write_run"]


#: Where a dataset keeps its readers' grades (discmri.grading.read_reader_grades).
READER_GRADES = Path("derivatives") / "readers" / "grades.tsv"


def reader_grades(root: Path):
    """The dataset's reader grades, or None (:data:`READER_GRADES`)."""
    path = root / READER_GRADES
    if not path.is_file():
        return None
    from ..grading import read_reader_grades

    return read_reader_grades(path)


def _table_hashes(root: Path, participants) -> dict[str, str]:
    """SHA-256 of the dataset's tables by path.

    participants.tsv (or the file given instead), each participant's sessions.tsv and the
    readers' grades.
    """
    from ..io.atomic import file_sha256

    paths = [Path(participants) if participants is not None else root / "participants.tsv",
             *sorted(root.glob("sub-*/sub-*_sessions.tsv")), root / READER_GRADES]
    return {str(p): file_sha256(p) for p in paths if p.is_file()}


def write_run(root, out, sessions, results, options, started, t0, participants, readers=None):
    """Write the run's top-level files from the sessions' results, all or nothing.

    ``discs.tsv`` (change from baseline added), ``sessions.tsv``, ``run.json`` (options,
    software, the hashes of the tables that define the run), ``run.log`` and
    ``dataset_description.json``; returns the disc table as written.
    """
    import pandas as pd

    from ..io.atomic import write_all_or_nothing
    from ..io.tables import table_bytes

    columns = disc_columns(options.dhi)
    tables = [r.table if r.status == "resumed" else as_written(r.table)
              for r in results if r.table is not None and len(r.table)]
    discs = (pd.concat(tables, ignore_index=True) if tables
             else pd.DataFrame(columns=list(disc_columns(options.dhi, change=False))))
    # each participant's baseline is their first visit in the dataset, processed or not
    first: dict[str, float] = {}
    for s in sessions:
        if s.months is not None:
            key = f"sub-{s.participant}"
            first[key] = min(first.get(key, s.months), s.months)
    discs = add_change_from_baseline(discs, first).reindex(columns=list(columns))
    for text in TEXT_COLUMNS:
        discs[text] = discs[text].fillna("")
    discs["treated"] = discs["treated"].astype("boolean")
    session_rows = pd.DataFrame([r.row() for r in results], columns=list(SESSION_COLUMNS))
    finished = datetime.now(timezone.utc)
    parameters = options.parameters()
    counts = session_rows["status"].value_counts().to_dict()
    run = {
        "GeneratedBy": {"Name": "discmri", "Version": __version__},
        "Software": software_versions(),
        "Dataset": str(root.resolve()),
        "ParticipantsFile": None if participants is None else str(participants),
        # the tables that define discs.tsv beside the images: arms, treated levels, visit
        # times, reader grades
        "Tables": _table_hashes(root, participants),
        "Parameters": parameters, "ParametersDigest": options.digest,
        "Started": started.isoformat(timespec="seconds"),
        "Finished": finished.isoformat(timespec="seconds"),
        "Seconds": round(time.perf_counter() - t0, 3),
        "Sessions": {k: int(v) for k, v in counts.items()},
        "Inputs": {f"sub-{r.participant}" + (f"/ses-{r.session}" if r.session else ""):
                   r.inputs for r in results if r.inputs},
    }
    description = {
        "Name": "discmri disc measurements", "BIDSVersion": "1.9.0",
        "DatasetType": "derivative",
        "GeneratedBy": [{"Name": "discmri", "Version": __version__}],
        "SourceDatasets": [{"URL": root.resolve().as_uri()}],
    }
    log = [f"discmri {__version__} run of {root} into {out}, {started.isoformat()}"]
    for r in results:
        line = f"sub-{r.participant}" + (f"/ses-{r.session}" if r.session else "")
        log.append(f"{line}: {r.status}" + (f": {r.error}" if r.error else "")
                   + (f" (skipped: {'; '.join(r.skipped)})" if r.skipped else ""))
        if r.traceback:
            log.append(r.traceback.rstrip())
    sidecar = {**column_sidecar(list(discs.columns)), "Parameters": parameters,
               "GeneratedBy": [{"Name": "discmri", "Version": __version__}]}

    def text(obj: Any) -> bytes:
        return (json.dumps(obj, indent=2, default=str) + "\n").encode("utf-8")

    files = {
        out / "discs.tsv": table_bytes(discs),
        out / "discs.json": text(sidecar),
        out / "sessions.tsv": table_bytes(session_rows),
        out / "sessions.json": text(column_sidecar(list(session_rows.columns))),
        out / "run.log": ("\n".join(log) + "\n").encode("utf-8"),
        out / "dataset_description.json": text(description),
        out / "run.json": text(run),
    }
    if readers is not None:
        from ..grading import agreement_table

        agree, confusion = agreement_table(discs, readers)
        files[out / "agreement.tsv"] = table_bytes(agree)
        files[out / "agreement.json"] = text({
            "Readers": str(root / READER_GRADES), "Confusion": confusion,
            "Description": "agreement of the grading assist (discmri) with each reader, of "
                           "the readers with each other and with their consensus (median); "
                           "kappa from statsmodels, 95 % intervals from 1000 bootstrap "
                           "resamples of participants",
            "GeneratedBy": [{"Name": "discmri", "Version": __version__}]})
    write_all_or_nothing(files, overwrite=True)
    discs.attrs["sessions"] = session_rows
    return discs
