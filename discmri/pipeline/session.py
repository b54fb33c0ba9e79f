"""One session: its images → maps, measurements, grade suggestions and its files."""

from __future__ import annotations

import contextlib
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import DiscMRIError
from ..table import (
    GRADE_COLUMNS,
    GRADE_EVIDENCE_COLUMNS,
    MEASURED,
    TEXT_COLUMNS,
    column_sidecar,
    columns_from,
    disc_columns,
)
from .options import RunOptions

if TYPE_CHECKING:
    import pandas as pd

    from ..io.bids import Session

__all__ = ["SessionResult", "input_hashes", "process_session", "session_files", "session_folder"]


@dataclass(frozen=True)
class SessionResult:
    """What one session gave: its disc rows and how it went.

    Small enough to send between processes: tables and timings, no images or masks.

    Attributes
    ----------
    participant, session : str, str or None
        Labels without ``sub-`` / ``ses-``.
    status : str
        ``"done"``, ``"partial"`` (measured, but a T2 or ADC series could not be used: its
        columns are n/a and ``error`` says why), ``"resumed"`` (unchanged since a finished
        run; read back; ``error`` keeps a partial session's reasons), ``"skipped"`` (nothing
        to measure), ``"failed"`` or ``"interrupted"``.
    table : pandas.DataFrame or None
        One row per disc level: identifier and measurement columns (:mod:`discmri.table`).
    stats : pandas.DataFrame or None
        Region statistics of every map (``parameter``, ``level``, ``region``, n, mean …).
    skipped : tuple of str
        Parts not done and why (``"T2: no MESE series"``).
    problems : tuple of str
        What the dataset walk found wrong with the session's files.
    error : str
        Why the session failed (one line), else empty.
    traceback : str
        The traceback of a failure that was not an input error (a bug), else empty.
    timings : dict of str to float
        Seconds spent loading, fitting, measuring and writing, and in all.
    files : tuple of str
        Files written, relative to the output folder.
    inputs : dict of str to str
        SHA-256 of every input file by path.
    levels : tuple of int
        Disc levels measured and in the label map.
    arm, months
        From the dataset.
    """

    participant: str
    session: str | None
    status: str
    table: pd.DataFrame | None = None
    stats: pd.DataFrame | None = None
    skipped: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()
    error: str = ""
    traceback: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    files: tuple[str, ...] = ()
    inputs: dict[str, str] = field(default_factory=dict)
    levels: tuple[int, int] = (0, 0)
    arm: str | None = None
    months: float | None = None

    def row(self) -> dict[str, Any]:
        """The session's row of ``sessions.tsv``."""
        t = self.timings
        return {
            "participant_id": f"sub-{self.participant}",
            "session": f"ses-{self.session}" if self.session else None,
            "arm": self.arm, "months": self.months, "status": self.status,
            "levels": f"{self.levels[0]}/{self.levels[1]}" if self.levels[1] else None,
            "skipped": "; ".join(self.skipped), "problems": "; ".join(self.problems),
            "error": self.error, "seconds": t.get("total"),
            **{f"seconds_{k}": t.get(k) for k in ("load", "t2", "adc", "measure", "write")},
        }


def session_folder(session: Session) -> Path:
    """Where a session's outputs go in the run's folder: ``sub-<p>[/ses-<s>]``."""
    parts = [f"sub-{session.participant}"] + ([f"ses-{session.session}"] if session.session
                                              else [])
    return Path(*parts)


def session_files(session: Session) -> list[Path]:
    """Every input file of a session (what its record hashes)."""
    found = [session.t2w, session.labels, *session.mese, session.dwi, session.bval,
             session.bvec, session.hints]
    return [Path(p) for p in found if p is not None]


def input_hashes(session: Session) -> dict[str, str]:
    """SHA-256 of every input file of the session, by path."""
    from ..io.atomic import file_sha256

    return {str(p): file_sha256(p) for p in session_files(session)}


def _ids(session: Session) -> dict[str, Any]:
    return {"participant_id": f"sub-{session.participant}",
            "session": f"ses-{session.session}" if session.session else None,
            "arm": session.arm, "months": session.months}


def process_session(
    session: Session,
    *,
    options: RunOptions | None = None,
    out: str | os.PathLike[str] | None = None,
    hashes: dict[str, str] | None = None,
) -> SessionResult:
    """Fit the maps and measure every disc level of one session.

    Parameters
    ----------
    session : Session
        From :func:`discmri.io.find_sessions`.
    options : RunOptions, optional
        Settings (the defaults when omitted).
    out : path-like, optional
        Output folder of the run: the session's files go to ``out/sub-<p>/ses-<s>/``, all or
        nothing, replacing that session's earlier files. Nothing is written when omitted.
    hashes : dict of str to str, optional
        SHA-256 of the session's inputs when the caller has them already.

    Returns
    -------
    SessionResult
        ``"skipped"`` (with the reason) when the session has no T2-weighted image or no label
        map; else ``"done"``, with what was left out (no MESE, no DWI) in ``skipped``, or
        ``"partial"`` when a MESE or DWI series could not be used (a bad file, sidecar or
        gradient table): the T2w measurements and grades are kept, that map's columns are
        n/a, and ``error`` says why.

    Raises
    ------
    DiscMRIError
        Bad input: an unreadable or inconsistent file, a label map off the T2w grid.
    """
    from ..grading.assist import suggest_grades
    from ..grading.criteria import THRESHOLDS
    from ..io import load_volume
    from ..measure import measure

    options = options or RunOptions()
    start = time.perf_counter()
    timings: dict[str, float] = {}
    base = {"participant": session.participant, "session": session.session,
            "problems": tuple(session.problems), "arm": session.arm, "months": session.months}
    lacking = [what for what, value in (("T2w image", session.t2w),
                                        ("label map", session.labels)) if value is None]
    segmenting = lacking == ["label map"] and options.segment
    if lacking and not segmenting:
        reason = f"measurement: no {' and no '.join(lacking)}"
        timings["total"] = time.perf_counter() - start
        return SessionResult(status="skipped", skipped=(reason,), timings=timings, **base)

    tick = time.perf_counter()
    inputs = dict(hashes) if hashes else input_hashes(session)
    t2w = load_volume(session.t2w)
    labels = None if segmenting else load_volume(session.labels)
    timings["load"] = time.perf_counter() - tick
    skipped: list[str] = []
    unusable: list[str] = []  # series that could not be used, and why
    files: dict[Path, bytes] = {}
    folder = None if out is None else Path(out) / session_folder(session)
    prefix = None if folder is None else folder / session.key
    scheme = _scheme(session)
    if labels is None:
        tick = time.perf_counter()
        labels, note = _segment(t2w, prefix, files, session)
        scheme = "native"
        skipped.append(note)
        timings["segment"] = time.perf_counter() - tick

    t2map, tick = None, time.perf_counter()
    if not options.t2:
        skipped.append("T2: not asked for")
    elif not session.mese:
        skipped.append("T2: no MESE series")
    else:
        try:  # a bad series costs its own map, not the session's T2w measurements
            t2map = _fit_t2(session, options, prefix, inputs, files)
        except DiscMRIError as exc:
            unusable.append(f"T2 not fitted: {' '.join(str(exc).split())}")
    timings["t2"] = time.perf_counter() - tick

    adcmap, tick = None, time.perf_counter()
    if not options.adc:
        skipped.append("ADC: not asked for")
    elif session.dwi is None:
        skipped.append("ADC: no DWI series")
    elif session.bval is None or session.bvec is None:
        skipped.append("ADC: no .bval/.bvec beside the DWI series")
    else:
        try:
            adcmap = _fit_adc(session, options, prefix, inputs, files)
        except DiscMRIError as exc:
            unusable.append(f"ADC not fitted: {' '.join(str(exc).split())}")
    timings["adc"] = time.perf_counter() - tick

    tick = time.perf_counter()
    result = measure(t2w, labels, scheme=scheme, t2map=t2map,
                     adcmap=adcmap, dhi=options.dhi, positions=options.positions,
                     central_mm=options.central_mm, erosion_mm=options.erosion_mm,
                     edges=options.edges, parasagittal_mm=options.parasagittal_mm)
    table = result.table.copy()
    grades = None
    try:  # the suggestions assist; an input problem with them does not cost the measurements
        grades = suggest_grades(result, t2w, thresholds=options.grade_thresholds
                                or THRESHOLDS).set_index("level")
    except DiscMRIError as exc:  # a bug (any other exception) fails the session, as bugs do
        skipped.append(f"grade suggestions: {type(exc).__name__}: {exc}")
        for column in (*GRADE_COLUMNS, *GRADE_EVIDENCE_COLUMNS):
            table[column] = "" if column in TEXT_COLUMNS else math.nan
    else:
        for column, field in {**columns_from("grade"), **columns_from("evidence")}.items():
            table[column] = table["level"].map(grades[field])
    for i, (name, value) in enumerate(_ids(session).items()):
        table.insert(i, name, value)
    table.insert(4, "treated", table["level"].isin(session.treated_levels))
    table = table.reindex(columns=list(disc_columns(options.dhi, change=False)))
    for text in TEXT_COLUMNS:
        table[text] = table[text].fillna("")
    stats = result.stats
    who = session.key.replace("_", " ")  # "sub-01 ses-baseline"
    figures = {}
    if options.qc:
        from ..qc import disc_qc_figures, grade_figure, segmentation_figure

        figures = disc_qc_figures(result, t2w, name=who, t2map=t2map)
    if options.qc and grades is not None:
        figures["grades"] = grade_figure(result, t2w, grades.reset_index(), name=who)
    if options.qc and segmenting:
        figures["segmentation"] = segmentation_figure(t2w, labels,
                                                      title=f"{who}: segmented labels")
    timings["measure"] = time.perf_counter() - tick

    tick = time.perf_counter()
    written: tuple[str, ...] = ()
    if folder is not None and prefix is not None:
        from ..io.tables import table_files

        for level, png in figures.items():
            files[folder / "qc" / f"{session.key}_{level}.png"] = png
        files.update(table_files(stats, Path(f"{prefix}_regions.tsv"),
                                 column_sidecar(list(stats.columns)),
                                 inputs=list(inputs), hashes=inputs))
        record = {**result.sidecar(), **column_sidecar(list(table.columns)),
                  "Parameters": {**result.parameters, **options.parameters()},
                  "Skipped": skipped, "Unusable": unusable,
                  "Run": {"digest": options.digest, "inputs": inputs}}
        files.update(table_files(table, Path(f"{prefix}_discs.tsv"), record,
                                 inputs=list(inputs), hashes=inputs))
        written = _write_session(folder, session.key, files, root=Path(out), inputs=inputs)
    timings["write"] = time.perf_counter() - tick
    timings["total"] = time.perf_counter() - start
    measured = int((table["status"] == MEASURED).sum())
    return SessionResult(status="partial" if unusable else "done", table=table,
                         stats=stats.reset_index(drop=True), skipped=tuple(skipped),
                         error="; ".join(unusable), timings=timings, files=written,
                         inputs=inputs, levels=(measured, len(table)), **base)


def _segment(t2w, prefix: Path | None, files: dict[Path, bytes], session: Session):
    """Labels of a session without a label map, from its T2w image; the note for the record.

    The session's hints (``derivatives/labels/hints.tsv``: an L5-S1 point, a level range)
    guide the segmentation. The labels and their sidecar are written beside the session's
    tables (``<key>_desc-discmri_dseg.nii.gz``) so that a reader can check and correct them.
    """
    import numpy as np

    from ..io.bids import HINTS
    from ..spine.segmentation import segment_spine

    hint = None if session.hint_l5s1 is None else np.asarray(session.hint_l5s1, float)
    try:
        seg = segment_spine(t2w, hint_l5s1=hint, levels=session.level_range)
    except DiscMRIError as exc:
        given = []
        if session.hint_l5s1:
            given.append(f"hint_l5s1 {','.join(f'{v:g}' for v in session.hint_l5s1)}")
        if session.level_range:
            given.append(f"level_range {session.level_range}")
        with_hints = f" (with {' and '.join(given)} from {HINTS})" if given else ""
        where = "" if given else (f" In a run, give the point or the range in {HINTS} "
                                  "(columns participant_id, session, hint_l5s1, level_range).")
        raise type(exc)(f"no label map, and segmenting the T2w image failed{with_hints}: "
                        f"{exc}{where}") from exc
    lv = seg.sidecar["levels"]
    note = (f"labels: no label map; segmented from the T2w image ({len(seg.levels)} discs, "
            f"levels by {lv['method']}, confidence {lv['confidence']:.2f})")
    if prefix is not None:
        from ..io.labelmap import label_map_files

        files.update(label_map_files(seg.labels, seg.sidecar,
                                     f"{prefix}_desc-discmri_dseg.nii.gz"))
    return seg.labels, note


def _scheme(session: Session) -> str:
    """The label map's scheme: named in its sidecar (a .json beside it), else detected."""
    named = session.label_scheme
    if not named:
        return "auto"
    if str(named).lower().endswith(".json") and session.labels is not None:
        return str(Path(session.labels).parent / named)
    return str(named)


def _fit_t2(session, options, prefix, inputs, files):
    from ..io import Volume, load_mese
    from ..io.fitmaps import t2_map_files
    from ..relaxometry import fit_t2

    mese = load_mese(list(session.mese), echo_times_ms=session.echo_times_ms)
    fit = fit_t2(mese.data, mese.meta["echo_times_ms"], method=options.t2_method,
                 noise_sigma=options.noise_sigma, coils=options.coils,
                 threads=options.threads)
    if prefix is not None:
        files.update(t2_map_files(fit, mese, prefix, inputs=[str(p) for p in session.mese],
                                  hashes=inputs)[1])
    return Volume(fit.t2, mese.affine, {"sidecar": {"Units": "ms"}})


def _fit_adc(session, options, prefix, inputs, files):
    from ..diffusion import fit_adc
    from ..io import Volume, load_dwi
    from ..io.fitmaps import adc_map_files

    dwi = load_dwi(session.dwi, bval=session.bval, bvec=session.bvec)
    fit = fit_adc(dwi.data, dwi.meta["bvals"], bvecs=dwi.meta["bvecs"],
                  method=options.adc_method, b_range=options.b_range, threads=options.threads)
    if prefix is not None:
        used = [str(p) for p in (session.dwi, session.bval, session.bvec)]
        files.update(adc_map_files(fit, dwi, prefix, inputs=used, hashes=inputs)[1])
    return Volume(fit.adc, dwi.affine, {"sidecar": {"Units": "mm2/s"}})


def _write_session(folder: Path, key: str, files: dict[Path, bytes], *, root: Path,
                   inputs: dict[str, str]) -> tuple[str, ...]:
    """Write a session's files all or nothing; then remove its files of an earlier run."""
    from ..io.atomic import write_all_or_nothing

    record = folder / f"{key}_discs.json"
    with contextlib.suppress(FileNotFoundError):  # no record while the files are replaced
        record.unlink()
    for stray in folder.rglob(f".{key}_*"):  # temporary files of a run killed while writing
        with contextlib.suppress(OSError):
            stray.unlink()
    ordered = {p: b for p, b in files.items() if p != record}
    ordered[record] = files[record]  # the record last: it marks the session finished
    written = write_all_or_nothing(ordered, overwrite=True, protected=list(inputs))
    keep = {p.resolve() for p in written}
    for old in folder.rglob(f"{key}_*"):
        if old.is_file() and old.resolve() not in keep:
            old.unlink()
    qc = folder / "qc"
    if qc.is_dir() and not any(qc.iterdir()):
        qc.rmdir()
    return tuple(str(p.relative_to(root)) for p in written)
