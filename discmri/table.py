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
from typing import TYPE_CHECKING

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
    "add_change_from_baseline",
    "column_sidecar",
    "disc_columns",
    "read_discs",
]

#: Identifier columns of ``discs.tsv``, in order.
ID_COLUMNS: dict[str, tuple[str, str]] = {
    "participant_id": ("", "participant, sub-<label>"),
    "session": ("", "session, ses-<label> (n/a in a dataset without sessions)"),
    "arm": ("", "treatment arm (participants.tsv 'group')"),
    "months": ("months", "time since injection (baseline 0), from sub-<label>_sessions.tsv"),
    "treated": ("", "true when the level is one of the participant's treated levels"),
}

#: Unit and description of every column of one image's disc table (:func:`discmri.measure`).
MEASUREMENT_COLUMNS: dict[str, tuple[str, str]] = {
    "level": ("", "disc level, cranial-caudal vertebrae"),
    "height_anterior_mm": ("mm", "disc height between the endplate edges along the endplate "
                                 "normal, anterior position (10 % of the depth); the edges "
                                 "are the marrow boundaries (edges marrow: dark endplate "
                                 "lines count as disc) or the bony endplates (edges "
                                 "endplate: each endplate's marrow boundary moved to the "
                                 "centre of its dark line, where cartilage meets bone), see "
                                 "Parameters"),
    "height_middle_mm": ("mm", "disc height between the endplate edges, middle position"),
    "height_posterior_mm": ("mm", "disc height between the endplate edges, posterior "
                                  "position (90 % of the depth)"),
    "height_mean_mm": ("mm", "mean of the three disc heights"),
    "ap_depth_mm": ("mm", "disc AP depth at mid-height, mid-sagittal plane"),
    "area_mm2": ("mm2", "mid-sagittal disc area"),
    "central_area_mm2": ("mm2", "mid-sagittal area of the central 80 % of the depth"),
    "volume_mm3": ("mm3", "disc volume from the label map (NaN when cut by the image edge)"),
    "wedge_angle_deg": ("deg", "angle between the endplates, positive when taller anteriorly"),
    "vb_cranial_height_anterior_mm": ("mm", "vertebral body above: anterior height"),
    "vb_cranial_height_middle_mm": ("mm", "vertebral body above: middle height"),
    "vb_cranial_height_posterior_mm": ("mm", "vertebral body above: posterior height"),
    "vb_caudal_height_anterior_mm": ("mm", "vertebral body below: anterior height"),
    "vb_caudal_height_middle_mm": ("mm", "vertebral body below: middle height"),
    "vb_caudal_height_posterior_mm": ("mm", "vertebral body below: posterior height"),
    "vb_cranial_depth_mm": ("mm", "vertebral body above: AP depth"),
    "vb_caudal_depth_mm": ("mm", "vertebral body below: AP depth"),
    "vb_cranial_area_mm2": ("mm2", "vertebral body above: mid-sagittal area"),
    "vb_caudal_area_mm2": ("mm2", "vertebral body below: mid-sagittal area"),
    "dhi_mean_height": ("1", "mean disc height / mean middle height of adjacent bodies"),
    "dhi_masuda": ("1", "2(Ha+Hm+Hp) / (sum of the adjacent bodies' Ha+Hm+Hp)"),
    "dhi_farfan": ("1", "(Ha+Hp) / disc depth"),
    "dhi_area": ("1", "central-80 % disc area/width over adjacent body area/depth"),
    "height_width_ratio": ("1", "mean disc height / disc depth"),
    "dhi_note": ("", "how the DHI was computed where it differs (L5-S1)"),
    "np_t2_ms": ("ms", "median T2 in the nucleus region (segments 2-4), an intranuclear cleft "
                 "included"),
    "af_anterior_t2_ms": ("ms", "median T2 in the anterior annulus (segment 1)"),
    "af_posterior_t2_ms": ("ms", "median T2 in the posterior annulus (segment 5)"),
    "np_adc_mm2_s": ("mm2/s", "median ADC in the nucleus region"),
    "af_adc_mm2_s": ("mm2/s", "median ADC in the annulus (segments 1 and 5)"),
    "status": ("", "empty when measured; the reason when not"),
    "notes": ("", "what limited a measurement that was made"),
}

#: Grade suggestions of ``discs.tsv`` (discmri.grading; ``discmri measure`` has none).
GRADE_COLUMNS: dict[str, tuple[str, str]] = {
    "griffith": ("", "suggested modified Pfirrmann (Griffith) grade, 1-8 ('a/b': collapsed "
                     "with preserved signal); an assist, not a reader's grade"),
    "pfirrmann": ("", "suggested Pfirrmann grade, I-V"),
    "grade_confidence": ("1", "probability that the decisive features lie on the measured side "
                              "of their thresholds"),
    "grade_runner_up": ("", "the Griffith grade across the nearest decisive threshold"),
    "grade_evidence": ("", "each comparison behind the Griffith suggestion"),
}

#: The grading evidence of ``discs.tsv`` (:func:`discmri.grading.disc_features`), which
#: ``discmri grade --calibrate`` fits a site's thresholds to.
GRADE_EVIDENCE_COLUMNS: dict[str, tuple[str, str]] = {
    "np_csf_ratio": ("1", "nucleus over CSF at the same level (T2w upper quartiles)"),
    "np_csf_ratio_se": ("1", "standard error of np_csf_ratio"),
    "csf_reference": ("", "where the CSF signal comes from: the canal label, or the image "
                          "behind the disc when the map has no canal label"),
    "np_fat_ratio": ("1", "nucleus over presacral fat, through the CSF next to each"),
    "np_fat_ratio_se": ("1", "standard error of np_fat_ratio"),
    "np_outer_af_ratio": ("1", "nucleus over outer annulus"),
    "np_outer_af_ratio_se": ("1", "standard error of np_outer_af_ratio"),
    "np_inhomogeneity": ("1", "interquartile range over median of the nucleus region"),
    "cleft_depth": ("1", "depth of a dark horizontal band in the middle of the nucleus, as a "
                         "fraction of the nucleus above and below it (0: none)"),
    "reference_dhi": ("1", "mean-height DHI expected for the disc"),
    "height_loss_pct": ("%", "height loss against the expected DHI"),
    "height_reference": ("", "where the expected DHI comes from"),
}

#: Columns whose change from the participant's baseline is reported (absolute and %).
CHANGE_SOURCES: tuple[str, ...] = (
    "height_anterior_mm", "height_middle_mm", "height_posterior_mm", "height_mean_mm",
    "dhi_mean_height", "dhi_masuda", "dhi_farfan", "dhi_area", "height_width_ratio",
    "np_t2_ms", "af_anterior_t2_ms", "af_posterior_t2_ms", "np_adc_mm2_s", "af_adc_mm2_s",
)

#: Columns of a session's ``_regions.tsv`` (region statistics of each map).
REGION_COLUMNS: dict[str, tuple[str, str]] = {
    "parameter": ("", "map: t2 (values in ms) or adc (values in mm2/s)"),
    "level": ("", "disc level (empty for a region tied to no disc: presacral fat)"),
    "region": ("", "segment_1 … segment_5, np, af_anterior, af_posterior, af, outer_annulus, "
                   "csf, presacral_fat"),
    "n": ("voxels", "voxels with a finite value in the region"),
    "mean": ("parameter", "mean of the map in the region"),
    "median": ("parameter", "median of the map in the region"),
    "sd": ("parameter", "sample standard deviation (ddof 1)"),
    "n_excluded": ("voxels", "voxels of the region where the map is NaN (failed fits)"),
}

#: Columns of ``sessions.tsv``.
SESSION_COLUMNS: dict[str, tuple[str, str]] = {
    "participant_id": ("", "participant, sub-<label>"),
    "session": ("", "session, ses-<label>"),
    "arm": ("", "treatment arm"),
    "months": ("months", "time since injection"),
    "status": ("", "done, resumed (unchanged since a finished run), skipped, failed or "
                   "interrupted"),
    "levels": ("", "disc levels measured / in the label map"),
    "skipped": ("", "parts not done and why, '; '-separated"),
    "problems": ("", "what is wrong with the session's files (from the dataset walk)"),
    "error": ("", "why the session failed (one line)"),
    "seconds": ("s", "wall time of the session"),
    "seconds_load": ("s", "reading the T2w image and label map, hashing the inputs"),
    "seconds_t2": ("s", "reading the MESE series and fitting the T2 map"),
    "seconds_adc": ("s", "reading the DWI series and fitting the ADC map"),
    "seconds_measure": ("s", "morphometry, regions and region statistics"),
    "seconds_write": ("s", "writing the session's files (maps, table, figures)"),
}


def _change_columns() -> dict[str, tuple[str, str]]:
    out = {}
    for c in CHANGE_SOURCES:
        unit, description = MEASUREMENT_COLUMNS[c]
        out[f"{c}_change"] = (unit, f"change from the participant's baseline: {description}")
        out[f"{c}_change_pct"] = ("%", f"change from baseline in % of baseline: {description}")
    return out


def disc_columns(
    dhi: Sequence[str] | None = None, *, change: bool = True
) -> dict[str, tuple[str, str]]:
    """Every column of ``discs.tsv`` with its unit and description, in order.

    Parameters
    ----------
    dhi : sequence of str, optional
        DHI formulas reported (all by default); the others' columns are left out.
    change : bool
        Include the change-from-baseline columns (a session's own table has none).

    Returns
    -------
    dict of str to (unit, description)
        Identifiers, measurements, grade suggestions, status and notes, then change from
        baseline. The same set whatever maps a
        session has (missing values are n/a).
    """
    from .morphometry.dhi import DHI_COLUMNS

    dropped = set() if dhi is None else {col for f, col in DHI_COLUMNS.items() if f not in dhi}
    measured = {c: v for c, v in MEASUREMENT_COLUMNS.items() if c not in ("status", "notes")}
    columns = {**ID_COLUMNS, **measured, **GRADE_COLUMNS, **GRADE_EVIDENCE_COLUMNS,
               "status": MEASUREMENT_COLUMNS["status"], "notes": MEASUREMENT_COLUMNS["notes"],
               **(_change_columns() if change else {})}
    return {c: v for c, v in columns.items()
            if c not in dropped and c.removesuffix("_pct").removesuffix("_change") not in dropped}


#: Text columns of a disc table (empty, not n/a, when there is nothing to say).
TEXT_COLUMNS = ("status", "notes", "dhi_note", "griffith", "pfirrmann", "grade_runner_up",
                "grade_evidence", "csf_reference", "height_reference")


def read_discs(source: str | os.PathLike[str] | bytes) -> pd.DataFrame:
    """A disc table (``discs.tsv``, or a session's) as written, read back.

    ``n/a`` is missing, and so is an empty cell of a number column (as a spreadsheet writes
    it); the identifiers and the text columns (:data:`TEXT_COLUMNS`) stay strings, the text
    ones empty rather than missing. Columns discmri does not know keep their text unless
    every value is a number.

    Raises
    ------
    DatasetError
        A column of numbers (:func:`disc_columns`) holds something else: the line (counting
        the header as line 1), the column and the value are named.
    """
    import io

    import pandas as pd

    handle = io.BytesIO(source) if isinstance(source, bytes) else source
    names = ("participant_id", "session", "arm", "level", *TEXT_COLUMNS)
    table = pd.read_csv(handle, sep="\t", na_values=["n/a"], keep_default_na=False,
                        dtype=dict.fromkeys(names, object))
    numbers = set(disc_columns()) - set(names)
    for column in table.columns:
        kind = table[column].dtype
        if column in names or pd.api.types.is_numeric_dtype(kind) or \
                pd.api.types.is_bool_dtype(kind):
            continue
        text = table[column].astype(str).str.strip()
        given = table[column].notna() & (text != "")
        value = pd.to_numeric(text.where(given), errors="coerce")
        bad = given & value.isna()
        if bad.any():
            if column not in numbers:
                continue  # a text column of the user's
            i = int(bad.to_numpy().argmax())
            raise DatasetError(f"line {i + 2}, column {column!r}: {table[column].iloc[i]!r} "
                               "is not a number (expected a number, n/a or an empty cell)")
        table[column] = value
    for text in TEXT_COLUMNS:
        if text in table:
            table[text] = table[text].fillna("")
    return table


def column_sidecar(columns: Sequence[str]) -> dict[str, dict[str, str]]:
    """BIDS sidecar entries (``Units``, ``Description``) of the named columns."""
    known = {**REGION_COLUMNS, **disc_columns(), **SESSION_COLUMNS}
    return {c: {"Units": known[c][0], "Description": known[c][1]} for c in columns if c in known}


def add_change_from_baseline(
    table: pd.DataFrame,
    baseline_months: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Add change from each participant's baseline per level (absolute and % of baseline).

    The baseline of a participant is their visit at ``baseline_months`` (by default the
    smallest ``months`` in the table, 0 in a trial); rows of participants whose baseline is
    unknown (no months) or whose level was not measured at baseline get NaN. Baseline rows
    get 0.

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
