"""The disc table's columns: names, units and descriptions, defined once.

``discs.tsv`` — one row per participant × session × disc level — is built from these columns
by :mod:`discmri.pipeline`; ``discmri measure`` writes the measurement columns alone. Later
layers (grading, report) add their columns here, so that every table and sidecar that discmri
writes describes a column the same way.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, NamedTuple

from .errors import DatasetError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "CHANGE_SOURCES",
    "ID_COLUMNS",
    "GRADE_COLUMNS",
    "GRADE_EVIDENCE_COLUMNS",
    "MEASUREMENT_COLUMNS",
    "REGION_COLUMNS",
    "SESSION_COLUMNS",
    "TEXT_COLUMNS",
    "MEASURED",
    "NOT_MEASURED",
    "Column",
    "add_change_from_baseline",
    "column_sidecar",
    "columns_from",
    "disc_columns",
    "RETEST",
    "is_retest",
    "measured",
    "read_discs",
    "read_sessions",
]

class Column(NamedTuple):
    """One column of a table discmri writes.

    Indexing keeps the old pair: ``column[0]`` is the unit, ``column[1]`` the description.

    Attributes
    ----------
    unit : str
        Unit as the BIDS sidecar gives it (``""`` for text, ``"1"`` for a ratio).
    description : str
        What the column holds.
    kind : {"number", "text", "flag"}
        ``text`` columns are ``n/a`` in the file when there is nothing to say, read back as
        ``""``; ``number`` ones are ``n/a`` when missing, read back as NaN.
    source : str
        The part of discmri that fills the column: ``id`` (the dataset), ``measure``
        (:func:`discmri.measure`), ``t2`` and ``adc`` (regions of a map), ``grade`` and
        ``evidence`` (:func:`discmri.grading.suggest_grades`), ``run`` (the runner).
    field : str
        The name the source gives the value when it differs from the column's: the region of
        a map (``np``), the grading table's column (``confidence``).
    """

    unit: str
    description: str
    kind: str = "number"
    source: str = "measure"
    field: str = ""

    def sidecar(self) -> dict[str, str]:
        """The column's BIDS sidecar entry."""
        return {"Units": self.unit, "Description": self.description}


#: Identifier columns of ``discs.tsv``, in order.
ID_COLUMNS: dict[str, Column] = {
    "participant_id": Column("", "participant, sub-<label>", kind="text", source="id"),
    "session": Column(
        "", "session, ses-<label> (n/a in a dataset without sessions)", kind="text", source="id"
    ),
    "arm": Column("", "treatment arm (participants.tsv 'group')", kind="text", source="id"),
    "months": Column(
        "months", "time since injection (baseline 0), from sub-<label>_sessions.tsv", source="id"
    ),
    "treated": Column(
        "",
        "true when the level is one of the participant's treated levels",
        kind="flag",
        source="id",
    ),
}

#: Unit and description of every column of one image's disc table (:func:`discmri.measure`).
MEASUREMENT_COLUMNS: dict[str, Column] = {
    "level": Column("", "disc level, cranial-caudal vertebrae", kind="text"),
    "height_anterior_mm": Column(
        "mm",
        "disc height between the endplate edges along the endplate "
        "normal, anterior position (10 % of the depth); the edges "
        "are the marrow boundaries (edges marrow: dark endplate "
        "lines count as disc) or the bony endplates (edges "
        "endplate: each endplate's marrow boundary moved to the "
        "centre of its dark line, where cartilage meets bone), see "
        "Parameters",
    ),
    "height_middle_mm": Column("mm", "disc height between the endplate edges, middle position"),
    "height_posterior_mm": Column(
        "mm", "disc height between the endplate edges, posterior position (90 % of the depth)"
    ),
    "height_mean_mm": Column("mm", "mean of the three disc heights"),
    "ap_depth_mm": Column("mm", "disc AP depth at mid-height, mid-sagittal plane"),
    "area_mm2": Column("mm2", "mid-sagittal disc area"),
    "central_area_mm2": Column("mm2", "mid-sagittal area of the central 80 % of the depth"),
    "volume_mm3": Column("mm3", "disc volume from the label map (NaN when cut by the image edge)"),
    "wedge_angle_deg": Column(
        "deg", "angle between the endplates, positive when taller anteriorly"
    ),
    "vb_cranial_height_anterior_mm": Column("mm", "vertebral body above: anterior height"),
    "vb_cranial_height_middle_mm": Column("mm", "vertebral body above: middle height"),
    "vb_cranial_height_posterior_mm": Column("mm", "vertebral body above: posterior height"),
    "vb_caudal_height_anterior_mm": Column("mm", "vertebral body below: anterior height"),
    "vb_caudal_height_middle_mm": Column("mm", "vertebral body below: middle height"),
    "vb_caudal_height_posterior_mm": Column("mm", "vertebral body below: posterior height"),
    "vb_cranial_depth_mm": Column("mm", "vertebral body above: AP depth"),
    "vb_caudal_depth_mm": Column("mm", "vertebral body below: AP depth"),
    "vb_cranial_area_mm2": Column("mm2", "vertebral body above: mid-sagittal area"),
    "vb_caudal_area_mm2": Column("mm2", "vertebral body below: mid-sagittal area"),
    "dhi_mean_height": Column("1", "mean disc height / mean middle height of adjacent bodies"),
    "dhi_masuda": Column("1", "2(Ha+Hm+Hp) / (sum of the adjacent bodies' Ha+Hm+Hp)"),
    "dhi_farfan": Column("1", "(Ha+Hp) / disc depth"),
    "dhi_area": Column("1", "central-80 % disc area/width over adjacent body area/depth"),
    "height_width_ratio": Column("1", "mean disc height / disc depth"),
    "dhi_note": Column("", "how the DHI was computed where it differs (L5-S1)", kind="text"),
    "np_t2_ms": Column(
        "ms",
        "median T2 in the nucleus region (segments 2-4), an intranuclear cleft included",
        source="t2",
        field="np",
    ),
    "af_anterior_t2_ms": Column(
        "ms", "median T2 in the anterior annulus (segment 1)", source="t2", field="af_anterior"
    ),
    "af_posterior_t2_ms": Column(
        "ms", "median T2 in the posterior annulus (segment 5)", source="t2", field="af_posterior"
    ),
    "np_adc_mm2_s": Column("mm2/s", "median ADC in the nucleus region", source="adc", field="np"),
    "af_adc_mm2_s": Column(
        "mm2/s", "median ADC in the annulus (segments 1 and 5)", source="adc", field="af"
    ),
    "status": Column("", "measured, or not measured (the notes say why)", kind="text"),
    "notes": Column(
        "", "why a disc was not measured, or what limited a measurement that was made", kind="text"
    ),
}

#: Grade suggestions of ``discs.tsv`` (discmri.grading; ``discmri measure`` has none).
GRADE_COLUMNS: dict[str, Column] = {
    "griffith": Column(
        "",
        "suggested modified Pfirrmann (Griffith) grade, 1-8 ('a/b': collapsed "
        "with preserved signal); an assist, not a reader's grade",
        kind="text",
        source="grade",
    ),
    "pfirrmann": Column("", "suggested Pfirrmann grade, I-V", kind="text", source="grade"),
    "grade_confidence": Column(
        "1",
        "probability that the decisive features lie on the measured side of their thresholds",
        source="grade",
        field="confidence",
    ),
    "grade_runner_up": Column(
        "",
        "the Griffith grade across the nearest decisive threshold",
        kind="text",
        source="grade",
        field="runner_up",
    ),
    "grade_evidence": Column(
        "",
        "each comparison behind the Griffith suggestion",
        kind="text",
        source="grade",
        field="evidence",
    ),
}

#: The grading evidence of ``discs.tsv`` (:func:`discmri.grading.disc_features`), which
#: ``discmri grade --calibrate`` fits a site's thresholds to.
GRADE_EVIDENCE_COLUMNS: dict[str, Column] = {
    "np_csf_ratio": Column(
        "1", "nucleus over CSF at the same level (T2w upper quartiles)", source="evidence"
    ),
    "np_csf_ratio_se": Column("1", "standard error of np_csf_ratio", source="evidence"),
    "csf_reference": Column(
        "",
        "where the CSF signal comes from: the canal label, or the image "
        "behind the disc when the map has no canal label",
        kind="text",
        source="evidence",
    ),
    "np_fat_ratio": Column(
        "1", "nucleus over presacral fat, through the CSF next to each", source="evidence"
    ),
    "np_fat_ratio_se": Column("1", "standard error of np_fat_ratio", source="evidence"),
    "np_outer_af_ratio": Column("1", "nucleus over outer annulus", source="evidence"),
    "np_outer_af_ratio_se": Column("1", "standard error of np_outer_af_ratio", source="evidence"),
    "np_inhomogeneity": Column(
        "1", "interquartile range over median of the nucleus region", source="evidence"
    ),
    "cleft_depth": Column(
        "1",
        "depth of a dark horizontal band in the middle of the nucleus, as a "
        "fraction of the nucleus above and below it (0: none)",
        source="evidence",
    ),
    "reference_dhi": Column("1", "mean-height DHI expected for the disc", source="evidence"),
    "height_loss_pct": Column("%", "height loss against the expected DHI", source="evidence"),
    "height_reference": Column(
        "", "where the expected DHI comes from", kind="text", source="evidence"
    ),
}

#: Columns whose change from the participant's baseline is reported (absolute and %).
CHANGE_SOURCES: tuple[str, ...] = (
    "height_anterior_mm",
    "height_middle_mm",
    "height_posterior_mm",
    "height_mean_mm",
    "dhi_mean_height",
    "dhi_masuda",
    "dhi_farfan",
    "dhi_area",
    "height_width_ratio",
    "np_t2_ms",
    "af_anterior_t2_ms",
    "af_posterior_t2_ms",
    "np_adc_mm2_s",
    "af_adc_mm2_s",
)

#: Columns of a session's ``_regions.tsv`` (region statistics of each map).
REGION_COLUMNS: dict[str, Column] = {
    "parameter": Column("", "map: t2 (values in ms) or adc (values in mm2/s)", kind="text"),
    "level": Column(
        "", "disc level (empty for a region tied to no disc: presacral fat)", kind="text"
    ),
    "region": Column(
        "",
        "segment_1 … segment_5, np, af_anterior, af_posterior, af, outer_annulus, "
        "csf, presacral_fat",
        kind="text",
    ),
    "n": Column("voxels", "voxels with a finite value in the region"),
    "mean": Column("parameter", "mean of the map in the region"),
    "median": Column("parameter", "median of the map in the region"),
    "sd": Column("parameter", "sample standard deviation (ddof 1)"),
    "n_excluded": Column("voxels", "voxels of the region where the map is NaN (failed fits)"),
}

#: Columns of ``sessions.tsv``.
SESSION_COLUMNS: dict[str, Column] = {
    "participant_id": Column("", "participant, sub-<label>", kind="text", source="run"),
    "session": Column("", "session, ses-<label>", kind="text", source="run"),
    "arm": Column("", "treatment arm", kind="text", source="run"),
    "months": Column("months", "time since injection", source="run"),
    "status": Column(
        "",
        "done, resumed (unchanged since a finished run), skipped, failed or interrupted",
        kind="text",
        source="run",
    ),
    "levels": Column("", "disc levels measured / in the label map", kind="text", source="run"),
    "skipped": Column("", "parts not done and why, '; '-separated", kind="text", source="run"),
    "problems": Column(
        "",
        "what is wrong with the session's files (from the dataset walk)",
        kind="text",
        source="run",
    ),
    "error": Column("", "why the session failed (one line)", kind="text", source="run"),
    "seconds": Column("s", "wall time of the session", source="run"),
    "seconds_load": Column(
        "s", "reading the T2w image and label map, hashing the inputs", source="run"
    ),
    "seconds_t2": Column("s", "reading the MESE series and fitting the T2 map", source="run"),
    "seconds_adc": Column("s", "reading the DWI series and fitting the ADC map", source="run"),
    "seconds_measure": Column("s", "morphometry, regions and region statistics", source="run"),
    "seconds_write": Column(
        "s", "writing the session's files (maps, table, figures)", source="run"
    ),
}


def _change_columns() -> dict[str, Column]:
    out = {}
    for c in CHANGE_SOURCES:
        unit, description = MEASUREMENT_COLUMNS[c][:2]
        out[f"{c}_change"] = Column(unit, f"change from the participant's baseline: "
                                          f"{description}", source="run")
        out[f"{c}_change_pct"] = Column("%", f"change from baseline in % of baseline: "
                                             f"{description}", source="run")
    return out


def disc_columns(
    dhi: Sequence[str] | None = None, *, change: bool = True
) -> dict[str, Column]:
    """Every column of ``discs.tsv`` with its unit, description and source, in order.

    This is the one declaration of the disc table: :func:`discmri.measure` fills the
    ``measure``, ``t2`` and ``adc`` columns, the grade assist the ``grade`` and ``evidence``
    ones, the runner the rest, and the report reads units from here.

    Parameters
    ----------
    dhi : sequence of str, optional
        DHI formulas reported (all by default); the others' columns are left out.
    change : bool
        Include the change-from-baseline columns (a session's own table has none).

    Returns
    -------
    dict of str to Column
        Identifiers, measurements, grade suggestions, status and notes, then change from
        baseline. The same set whatever maps a session has (missing values are n/a).
    """
    from .morphometry.dhi import DHI_COLUMNS

    dropped = set() if dhi is None else {col for f, col in DHI_COLUMNS.items() if f not in dhi}
    measured = {c: v for c, v in MEASUREMENT_COLUMNS.items() if c not in ("status", "notes")}
    columns = {**ID_COLUMNS, **measured, **GRADE_COLUMNS, **GRADE_EVIDENCE_COLUMNS,
               "status": MEASUREMENT_COLUMNS["status"], "notes": MEASUREMENT_COLUMNS["notes"],
               **(_change_columns() if change else {})}
    return {c: v for c, v in columns.items()
            if c not in dropped and c.removesuffix("_pct").removesuffix("_change") not in dropped}


def columns_from(source: str) -> dict[str, str]:
    """The disc table's columns that ``source`` fills, with the name it gives each value.

    ``columns_from("t2")`` maps ``np_t2_ms`` to the region ``np``; ``columns_from("grade")``
    maps ``grade_confidence`` to the assist's ``confidence``.
    """
    return {c: v.field or c for c, v in disc_columns().items() if v.source == source}


#: ``status`` of a measured disc (a disc that was not is :data:`NOT_MEASURED`).
MEASURED = "measured"
NOT_MEASURED = "not measured"

#: Text columns of a disc table: ``n/a`` in the file when there is nothing to say, ``""`` in
#: memory.
TEXT_COLUMNS = tuple(c for part in (MEASUREMENT_COLUMNS, GRADE_COLUMNS, GRADE_EVIDENCE_COLUMNS)
                     for c, v in part.items() if v.kind == "text")


def _read_tsv(source, text: Sequence[str], numbers: set[str]) -> pd.DataFrame:
    """A TSV table discmri wrote, read back.

    ``text`` columns stay strings (``n/a`` → ``""``), the others are numbers where they hold
    numbers; a column of ``numbers`` holding text is an error.
    """
    import io

    import pandas as pd

    handle = io.BytesIO(source) if isinstance(source, bytes) else source
    table = pd.read_csv(handle, sep="\t", na_values=["n/a"], keep_default_na=False,
                        dtype=dict.fromkeys(text, object))
    for column in table.columns:
        kind = table[column].dtype
        if column in text or pd.api.types.is_numeric_dtype(kind) or \
                pd.api.types.is_bool_dtype(kind):
            continue
        values = table[column].astype(str).str.strip()
        given = table[column].notna() & (values != "")
        value = pd.to_numeric(values.where(given), errors="coerce")
        bad = given & value.isna()
        if bad.any():
            if column not in numbers:
                continue  # a text column of the user's
            i = int(bad.to_numpy().argmax())
            raise DatasetError(f"line {i + 2}, column {column!r}: {table[column].iloc[i]!r} "
                               "is not a number (expected a number, n/a or an empty cell)")
        table[column] = value
    for column in text:
        if column in table:
            table[column] = table[column].fillna("")
    return table


def read_discs(source: str | os.PathLike[str] | bytes) -> pd.DataFrame:
    """A disc table (``discs.tsv``, or a session's) as written, read back.

    ``n/a`` is missing, and so is an empty cell of a number column (as a spreadsheet writes
    it); the identifiers and the text columns (:data:`TEXT_COLUMNS`) stay strings, the text
    ones ``""`` rather than missing. Columns discmri does not know keep their text unless
    every value is a number. A table of an earlier discmri, whose ``status`` was empty for a
    measured disc and the reason for one that was not, is read in today's terms
    (:data:`MEASURED`, or :data:`NOT_MEASURED` with the reason first in ``notes``).

    Raises
    ------
    DatasetError
        A column of numbers (:func:`disc_columns`) holds something else: the line (counting
        the header as line 1), the column and the value are named.
    """
    text = ("participant_id", "session", "arm", "level", *TEXT_COLUMNS)
    table = _read_tsv(source, text, set(disc_columns()) - set(text))
    if "status" in table:
        status = table["status"].str.strip()
        old = ~status.isin([MEASURED, NOT_MEASURED])
        if old.any():
            reason = status.where(old & (status != ""), "")
            if "notes" in table:
                notes = table["notes"]
                reason = reason.where((reason == "") | (notes == ""), reason + "; ") + notes
            table["notes"] = reason
            table["status"] = (status.mask(old & (status == ""), MEASURED)
                               .mask(old & (status != ""), NOT_MEASURED))
    return table


def measured(discs: pd.DataFrame) -> pd.DataFrame:
    """The rows of a disc table whose disc was measured (all rows when it has no status)."""
    if "status" not in discs:
        return discs
    return discs[discs["status"].astype(str) == MEASURED]


def read_sessions(source: str | os.PathLike[str] | bytes) -> pd.DataFrame:
    """A run's ``sessions.tsv`` as written, read back (text ``""`` where the file says n/a).

    Raises
    ------
    DatasetError
        A column of numbers (:data:`SESSION_COLUMNS`) holds something else.
    """
    text = tuple(c for c, v in SESSION_COLUMNS.items() if v.kind == "text")
    return _read_tsv(source, text, set(SESSION_COLUMNS) - set(text))


def column_sidecar(columns: Sequence[str]) -> dict[str, dict[str, str]]:
    """BIDS sidecar entries (``Units``, ``Description``) of the named columns."""
    known = {**REGION_COLUMNS, **disc_columns(), **SESSION_COLUMNS}
    return {c: known[c].sidecar() for c in columns if c in known}


#: A session whose label ends with this is a second scan of the participant's session at the
#: same ``months``, days apart (``ses-retest``, ``ses-baselineretest``): a measure of
#: repeatability, not a visit (:mod:`discmri.planning`).
RETEST = "retest"


def is_retest(sessions: pd.Series) -> pd.Series:
    """Which of the session labels are retests (:data:`RETEST`), as a boolean Series."""
    return sessions.astype(str).str.strip().str.lower().str.endswith(RETEST)


def add_change_from_baseline(
    table: pd.DataFrame,
    baseline_months: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Add change from each participant's baseline per level (absolute and % of baseline).

    The baseline of a participant is their visit at ``baseline_months`` (by default the
    smallest ``months`` in the table, 0 in a trial); rows of participants whose baseline is
    unknown (no months) or whose level was not measured at baseline get NaN. Baseline rows
    get 0; a retest scan of the baseline (``ses-…retest``) gets its difference from it.

    Parameters
    ----------
    table : pandas.DataFrame
        Columns ``participant_id``, ``months``, ``level`` and any of :data:`CHANGE_SOURCES`.
    baseline_months : mapping of str to float, optional
        Months of each participant's baseline visit, by ``participant_id``. Give it from the
        dataset's sessions when some may be missing from the table (a failed baseline
        session must not make the next visit the baseline).

    Returns
    -------
    pandas.DataFrame
        A new table with ``<column>_change`` and ``<column>_change_pct`` after the others.
    """
    import numpy as np
    import pandas as pd

    out = table.copy()
    sources = [c for c in CHANGE_SOURCES if c in out.columns]
    months = pd.to_numeric(out["months"], errors="coerce")
    if baseline_months is None:
        first = months.groupby(out["participant_id"]).transform("min")
    else:
        first = pd.to_numeric(out["participant_id"].map(dict(baseline_months)), errors="coerce")
    is_base = months.notna() & (months == first)
    if "session" in out:  # a retest scan (ses-…retest) is never the baseline it repeats
        is_base &= ~is_retest(out["session"])
    base = out.loc[is_base, ["participant_id", "level", *sources]]
    base = base.drop_duplicates(["participant_id", "level"]).set_index(["participant_id",
                                                                        "level"])
    keys = pd.MultiIndex.from_frame(out[["participant_id", "level"]])
    new = {}
    for c in sources:
        ref = base[c].reindex(keys).to_numpy(dtype=float)
        value = pd.to_numeric(out[c], errors="coerce").to_numpy(dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            new[f"{c}_change"] = value - ref
            new[f"{c}_change_pct"] = np.where(ref != 0, 100.0 * (value - ref) / np.abs(ref),
                                              math.nan)
    return pd.concat([out, pd.DataFrame(new, index=out.index)], axis=1)
