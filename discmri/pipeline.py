"""The dataset pipeline: one session → its disc rows; many sessions on any executor.

:func:`process_session` does, for one session found by :func:`discmri.io.find_sessions`, what a
trial analyst would otherwise script by hand: load the T2-weighted image and its label map, fit
the T2 map (MESE) and the ADC map (DWI) when present, measure every disc level with regions on
each map's grid, and assemble the rows. What a session lacks is skipped and said.

:func:`run_dataset` runs every session of a dataset on any :class:`concurrent.futures.Executor`
(serial when none is given; a process pool or a Dask ``distributed`` cluster's executor), and
writes BIDS-derivative outputs: per session the maps, the disc table, region statistics and QC
figures; at the top ``discs.tsv`` (one row per participant × session × level, with change from
baseline), ``sessions.tsv``, ``run.json``, ``run.log`` and ``dataset_description.json``.

Nothing is lost: each session's files are written all or nothing, and its record
(``<session>_discs.json``) says with which inputs (SHA-256) and parameters it was made, so a
resumed run redoes exactly the sessions that changed or did not finish.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import socket
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor, Future, as_completed
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._version import __version__
from .errors import DatasetError, DiscMRIError, OutputError, OutputExistsError, ParameterError
from .morphometry.dhi import DHI_FORMULAS
from .morphometry.structure import edge_mode
from .provenance import software_versions
from .table import (
    GRADE_COLUMNS,
    GRADE_EVIDENCE_COLUMNS,
    MEASURED,
    SESSION_COLUMNS,
    TEXT_COLUMNS,
    add_change_from_baseline,
    column_sidecar,
    columns_from,
    disc_columns,
    read_discs,
)

if TYPE_CHECKING:
    import pandas as pd

    from .grading.criteria import Thresholds
    from .io.bids import Session

__all__ = ["RunOptions", "SessionResult", "process_session", "run_dataset", "session_files"]

_LOCK = ".discmri-run.lock"


@dataclass(frozen=True)
class RunOptions:
    """Settings of a dataset run (what each session is processed with).

    Attributes
    ----------
    t2, adc : bool
        Fit the T2 map (from a MESE series) and the ADC map (from a DWI series) when the
        session has them.
    t2_method : str
        :func:`discmri.fit_t2` method (``"auto"``, ``"loglinear"``, ``"nlls"``, ``"offset"``,
        ``"epg"``).
    noise_sigma : float, "auto" or None
        Noise-floor correction of the T2 fit.
    coils : int
        With ``noise_sigma``: channels of a root-sum-of-squares combination (1: Rician).
    adc_method : str
        :func:`discmri.fit_adc` method (``"ols"``, ``"wls"``, ``"nlls"``, ``"ivim"``).
    b_range : (float, float) or None
        Shells fitted for the ADC, s/mm².
    dhi : tuple of str
        DHI formulas reported.
    positions : tuple of 3 float
        Height positions, fractions of the depth from anterior.
    edges : {"marrow", "endplate", "labels"}
        Where the endplate edges are placed (:data:`~discmri.morphometry.EDGE_MODES`, as in
        :func:`~discmri.morphometry.measure_structure`; default the marrow boundary).
    parasagittal_mm : float
        0: heights in the mid-sagittal plane; otherwise the mean of it and the planes this far
        (mm) to either side (:func:`discmri.measure`).
    central_mm, erosion_mm : float
        Region settings (:func:`discmri.regions.disc_regions`).
    qc : bool
        Write one QC figure per disc and one of the grade suggestions (needs matplotlib).
    grade_thresholds : discmri.grading.Thresholds or None
        Boundaries of the grade suggestions (a site's, from ``discmri grade --calibrate``);
        None: the documented defaults.
    segment : bool
        Segment sessions that have a T2-weighted image but no label map
        (:func:`discmri.spine.segmentation.segment_spine`), and write the labels beside the
        session's tables (and, with ``qc``, ``qc/<key>_segmentation.png``); False skips
        them.
    threads : int
        Threads inside each fit (results do not depend on it).
    """

    t2: bool = True
    adc: bool = True
    t2_method: str = "auto"
    noise_sigma: float | str | None = None
    coils: int = 1
    adc_method: str = "wls"
    b_range: tuple[float, float] | None = None
    dhi: tuple[str, ...] = DHI_FORMULAS
    positions: tuple[float, ...] = (0.1, 0.5, 0.9)
    edges: str = "marrow"
    parasagittal_mm: float = 0.0
    central_mm: float = 5.0
    erosion_mm: float = 0.5
    qc: bool = False
    grade_thresholds: Thresholds | None = None
    segment: bool = True
    threads: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "dhi", tuple(self.dhi))
        object.__setattr__(self, "positions", tuple(float(p) for p in self.positions))
        if self.b_range is not None:
            object.__setattr__(self, "b_range", tuple(float(b) for b in self.b_range))
        from .diffusion.adc import METHODS as ADC_METHODS
        from .relaxometry.t2 import METHODS as T2_METHODS

        if self.t2_method not in T2_METHODS:
            raise ParameterError(f"T2 method {self.t2_method!r} unknown; expected one of "
                                 f"{', '.join(T2_METHODS)}")
        if self.adc_method not in ADC_METHODS:
            raise ParameterError(f"ADC method {self.adc_method!r} unknown; expected one of "
                                 f"{', '.join(ADC_METHODS)}")
        bad = [f for f in self.dhi if f not in DHI_FORMULAS]
        if bad or not self.dhi:
            raise ParameterError(f"DHI formulas {', '.join(bad) or '(none)'} unknown; expected "
                                 f"some of {', '.join(DHI_FORMULAS)}")
        if len(self.positions) != 3 or not all(0 < p < 1 for p in self.positions):
            raise ParameterError(f"height positions {', '.join(f'{p:g}' for p in self.positions)}"
                                 ": expected three fractions of the depth in (0, 1)")
        edge_mode(self.edges)  # raises naming the choices
        if not (math.isfinite(self.parasagittal_mm) and self.parasagittal_mm >= 0):
            raise ParameterError(f"parasagittal distance {self.parasagittal_mm} mm: expected "
                                 "0 (the mid-sagittal plane only) or more")
        if self.threads < 1:
            raise ParameterError(f"threads {self.threads}: expected 1 or more")
        from .grading.criteria import Thresholds

        if self.grade_thresholds is not None and not isinstance(self.grade_thresholds,
                                                                Thresholds):
            raise ParameterError(f"grade thresholds {self.grade_thresholds!r}: expected a "
                                 "discmri.grading.Thresholds (load_thresholds) or None")
        if self.coils < 1:
            raise ParameterError(f"coils {self.coils}: expected 1 or more receive channels")
        if isinstance(self.noise_sigma, str) and self.noise_sigma != "auto":
            raise ParameterError(f"noise_sigma {self.noise_sigma!r}: expected a number or "
                                 "'auto'")
        if self.noise_sigma is not None and not isinstance(self.noise_sigma, str) and not (
                math.isfinite(self.noise_sigma) and self.noise_sigma > 0):
            raise ParameterError(f"noise_sigma {self.noise_sigma:g}: expected the noise SD of "
                                 "the MESE images, a positive number in their units, or "
                                 "'auto'")
        if self.b_range is not None and not (
                len(self.b_range) == 2 and all(math.isfinite(b) for b in self.b_range)
                and 0 <= self.b_range[0] < self.b_range[1]):
            raise ParameterError(f"b_range {','.join(f'{b:g}' for b in self.b_range)}: "
                                 "expected LOW,HIGH in s/mm² with 0 <= LOW < HIGH")

    def parameters(self) -> dict[str, Any]:
        """The settings as JSON-ready values."""
        out = asdict(self)
        out["dhi"], out["positions"] = list(self.dhi), list(self.positions)
        out["b_range"] = None if self.b_range is None else list(self.b_range)
        return out

    @property
    def digest(self) -> str:
        """SHA-256 of what changes results: the settings (less threads) and discmri's version."""
        settings = {k: v for k, v in self.parameters().items() if k != "threads"}
        text = json.dumps({"settings": settings, "version": __version__}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()


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


def _relative(session: Session) -> Path:
    parts = [f"sub-{session.participant}"] + ([f"ses-{session.session}"] if session.session
                                              else [])
    return Path(*parts)


def session_files(session: Session) -> list[Path]:
    """Every input file of a session (what its record hashes)."""
    found = [session.t2w, session.labels, *session.mese, session.dwi, session.bval,
             session.bvec, session.hints]
    return [Path(p) for p in found if p is not None]


def _hashes(session: Session) -> dict[str, str]:
    from .io.atomic import file_sha256

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
    from .grading.assist import suggest_grades
    from .grading.criteria import THRESHOLDS
    from .io import load_volume
    from .measure import disc_qc_figures, measure

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
    inputs = dict(hashes) if hashes else _hashes(session)
    t2w = load_volume(session.t2w)
    labels = None if segmenting else load_volume(session.labels)
    timings["load"] = time.perf_counter() - tick
    skipped: list[str] = []
    unusable: list[str] = []  # series that could not be used, and why
    files: dict[Path, bytes] = {}
    folder = None if out is None else Path(out) / _relative(session)
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
    figures = disc_qc_figures(result, t2w, name=who, t2map=t2map) if options.qc else {}
    if options.qc and grades is not None:
        from .grading.qc import grade_figure

        figures["grades"] = grade_figure(result, t2w, grades.reset_index(), name=who)
    if options.qc and segmenting:
        from .spine.segmentation.qc import segmentation_figure

        figures["segmentation"] = segmentation_figure(t2w, labels,
                                                      title=f"{who}: segmented labels")
    timings["measure"] = time.perf_counter() - tick

    tick = time.perf_counter()
    written: tuple[str, ...] = ()
    if folder is not None and prefix is not None:
        from .io.tables import table_files

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

    from .io.bids import HINTS
    from .spine.segmentation import segment_spine

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
        files.update(seg.files(f"{prefix}_desc-discmri_dseg.nii.gz"))
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
    from .io import Volume, load_mese
    from .relaxometry import fit_t2, t2_map_files

    mese = load_mese(list(session.mese), echo_times_ms=session.echo_times_ms)
    fit = fit_t2(mese.data, mese.meta["echo_times_ms"], method=options.t2_method,
                 noise_sigma=options.noise_sigma, coils=options.coils,
                 threads=options.threads)
    if prefix is not None:
        files.update(t2_map_files(fit, mese, prefix, inputs=[str(p) for p in session.mese],
                                  hashes=inputs)[1])
    return Volume(fit.t2, mese.affine, {"sidecar": {"Units": "ms"}})


def _fit_adc(session, options, prefix, inputs, files):
    from .diffusion import adc_map_files, fit_adc
    from .io import Volume, load_dwi

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
    from .io.atomic import write_all_or_nothing

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


def _run_one(session: Session, options: RunOptions, out: str | None,
             hashes: dict[str, str] | None) -> SessionResult:
    """Process a session in a worker: BLAS on one thread, every failure recorded."""
    from threadpoolctl import threadpool_limits

    start = time.perf_counter()
    try:
        with threadpool_limits(limits=1):
            return process_session(session, options=options, out=out, hashes=hashes)
    except DiscMRIError as exc:  # bad input: the message says what and where
        return _failed(session, str(exc), "", start)
    except Exception as exc:  # noqa: BLE001 - a bug fails this session alone, traceback kept
        return _failed(session, f"internal error: {type(exc).__name__}: {exc} (traceback in "
                       "run.log)", traceback.format_exc(), start)


def _failed(session: Session, error: str, tb: str, start: float,
            status: str = "failed") -> SessionResult:
    return SessionResult(participant=session.participant, session=session.session,
                         status=status, error=" ".join(error.split()), traceback=tb,
                         problems=tuple(session.problems), arm=session.arm,
                         months=session.months,
                         timings={"total": time.perf_counter() - start})


def _resumable(session: Session, out: Path, options: RunOptions,
               hashes: dict[str, str]) -> SessionResult | None:
    """The finished result of an earlier run of this session, if inputs and settings match."""
    folder = out / _relative(session)
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


def _as_written(table: pd.DataFrame) -> pd.DataFrame:
    """The table with the values a reader of its TSV gets.

    So that a fresh run and a resumed one build ``discs.tsv`` (and its changes from baseline)
    from the same numbers.
    """
    from .io.tables import table_bytes

    return read_discs(table_bytes(table))


class _RunLock:
    """A lock file in the output folder naming the run that holds it (pid and host)."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / _LOCK
        self.held = False

    def acquire(self) -> None:
        me = {"pid": os.getpid(), "host": socket.gethostname(),
              "since": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                holder = self._holder()
                if holder is not None and not self._stale(holder):
                    raise OutputError(
                        f"{self.path.parent}: another discmri run is writing there (pid "
                        f"{holder.get('pid')} on {holder.get('host')}, since "
                        f"{holder.get('since')}); wait for it, or remove {self.path} if that "
                        "run is gone") from None
                with contextlib.suppress(FileNotFoundError):
                    self.path.unlink()
                continue
            with os.fdopen(fd, "w") as fh:
                json.dump(me, fh)
            self.held = True
            return
        raise OutputError(f"{self.path}: could not take the run lock")

    def _holder(self) -> dict[str, Any] | None:
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None  # unreadable (half-written by a killed run): stale

    @staticmethod
    def _stale(holder: dict[str, Any]) -> bool:
        if holder.get("host") != socket.gethostname():
            return False  # cannot tell for another host: assume it is alive
        try:
            os.kill(int(holder.get("pid", -1)), 0)
        except ProcessLookupError:
            return True
        except (PermissionError, ValueError, OverflowError):
            return False
        return False

    def release(self) -> None:
        if self.held:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
            self.held = False


def _check_out(root: Path, out: Path) -> None:
    root_r, out_r = root.resolve(), out.resolve()
    if out_r == root_r or root_r in out_r.parents:
        inside = out_r.relative_to(root_r).parts
        if not inside or inside[0] != "derivatives" or len(inside) < 2 or inside[1] == "labels":
            raise OutputError(f"output folder {out}: inside the dataset {root} (outside its "
                              "derivatives/ folder, or in its label maps); expected a folder "
                              f"elsewhere or under {root / 'derivatives'}/<name>")
    if out_r in root_r.parents:
        raise OutputError(f"output folder {out}: holds the dataset {root}; expected a folder "
                          "elsewhere")


def _select(sessions: list[Session], only: Iterable[str] | None) -> list[Session]:
    if only is None:
        return sessions
    wanted = {w.strip().removeprefix("sub-") for w in only if w.strip()}
    known = {s.participant for s in sessions}
    unknown = sorted(wanted - known)
    if unknown:
        raise DatasetError(f"participants {', '.join('sub-' + u for u in unknown)} are not in "
                           f"the dataset; expected some of "
                           f"{', '.join('sub-' + k for k in sorted(known))}")
    return [s for s in sessions if s.participant in wanted]


class _Progress:
    """A bar over sessions (tqdm) on a terminal, else one line per session."""

    def __init__(self, total: int, mode: str | bool) -> None:
        self.total, self.done, self.bar = total, 0, None
        if mode is True:
            mode = "bar" if sys.stderr.isatty() else "lines"
        self.mode = mode or None
        if self.mode == "bar":
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="session", desc="discmri run")

    def update(self, result: SessionResult) -> None:
        self.done += 1
        if self.bar is not None:
            self.bar.update(1)
        elif self.mode == "lines":
            name = f"sub-{result.participant}" + (f" ses-{result.session}" if result.session
                                                  else "")
            what = result.status
            if result.status in ("done", "partial", "resumed") and result.levels[1]:
                what += f", {result.levels[0]}/{result.levels[1]} levels"
            if "total" in result.timings and result.status != "resumed":
                what += f", {result.timings['total']:.1f} s"
            if result.error:
                what += f": {result.error}"
            elif result.status == "skipped":
                what += f": {'; '.join(result.skipped)}"
            print(f"[{self.done}/{self.total}] {name}: {what}", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def run_dataset(
    root: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    executor: Executor | None = None,
    only: Sequence[str] | None = None,
    resume: bool = False,
    overwrite: bool = False,
    options: RunOptions | None = None,
    participants: str | os.PathLike[str] | None = None,
    progress: bool | str = False,
    on_result: Callable[[SessionResult], None] | None = None,
) -> pd.DataFrame:
    """Process every session of a BIDS dataset and write one tidy disc table.

    Parameters
    ----------
    root : path-like
        BIDS dataset (see :func:`discmri.io.find_sessions`).
    out : path-like
        Output folder (BIDS derivatives); not inside the dataset's raw folders.
    executor : concurrent.futures.Executor, optional
        Where sessions run: a ``ProcessPoolExecutor``, or a Dask cluster's
        ``Client(address).get_executor()``. Serial, in this process, when omitted. Each
        session holds BLAS to one thread, so that workers × threads ≤ cores.
    only : sequence of str, optional
        Participants to process (``"sub-01"`` or ``"01"``).
    resume : bool
        Reuse each session finished by an earlier run into ``out`` whose inputs (SHA-256) and
        settings are unchanged; redo the others.
    overwrite : bool
        Redo every session of an earlier run into ``out``.
    options : RunOptions, optional
    participants : path-like, optional
        A ``participants.tsv`` to use instead of the dataset's own.
    progress : bool or {"bar", "lines"}
        Report progress on standard error: a bar, one line per session, or (True) a bar on a
        terminal and lines elsewhere.
    on_result : callable, optional
        Called with each :class:`SessionResult` as it arrives.

    Returns
    -------
    pandas.DataFrame
        ``discs.tsv``: one row per participant × session × disc level (columns of
        :func:`discmri.table.disc_columns`), with ``attrs["sessions"]``, the
        ``sessions.tsv`` table.

    Raises
    ------
    DiscMRIError
        Before any work: the dataset is missing or empty, ``out`` is inside it or cannot be
        written, another run holds ``out``, or ``out`` holds an earlier run and neither
        ``resume`` nor ``overwrite`` is set. A session that fails does not raise: it is
        recorded (``status`` failed, the error and, for a bug, its traceback).
    KeyboardInterrupt
        After writing the tables of the sessions finished so far (the rest are
        ``interrupted``; a resumed run finishes them).
    """
    from .io import find_sessions
    from .io.atomic import ensure_folder

    options = options or RunOptions()
    if resume and overwrite:
        raise ParameterError("resume and overwrite (--resume, --overwrite) together: expected "
                             "one — resume keeps an earlier run's finished sessions, overwrite "
                             "redoes them")
    root, out = Path(root), Path(out)
    started = datetime.now(timezone.utc)
    t0 = time.perf_counter()
    if options.qc:
        from .morphometry.qc import _matplotlib

        _matplotlib()  # fail before the work when matplotlib is missing
    sessions = _select(find_sessions(root, participants=participants), only)
    readers = _reader_grades(root)  # checked before the work, used at the end
    _check_out(root, out)
    ensure_folder(out, what="output folder")
    lock = _RunLock(out)
    lock.acquire()
    try:
        if (out / "run.json").exists() and not (resume or overwrite):
            raise OutputExistsError(f"output folder {out}: holds an earlier run (run.json); "
                                    "resume=True continues it, overwrite=True redoes it")
        results, interrupted = _run_sessions(sessions, out, executor, options, resume,
                                             progress, on_result)
        discs = _write_run(root, out, sessions, results, options, started, t0, participants,
                           readers)
        if interrupted:  # the finished sessions are written: now stop as asked
            raise KeyboardInterrupt
        return discs
    finally:
        lock.release()


#: Where a dataset keeps its readers' grades (discmri.grading.read_reader_grades).
READER_GRADES = Path("derivatives") / "readers" / "grades.tsv"


def _reader_grades(root: Path):
    """The dataset's reader grades, or None (:data:`READER_GRADES`)."""
    path = root / READER_GRADES
    if not path.is_file():
        return None
    from .grading import read_reader_grades

    return read_reader_grades(path)


def _run_sessions(sessions, out, executor, options, resume, progress, on_result):
    results: dict[int, SessionResult] = {}
    bar = _Progress(len(sessions), progress)

    def arrived(i: int, result: SessionResult) -> None:
        results[i] = result
        bar.update(result)
        if on_result is not None:
            on_result(result)

    pending: list[tuple[int, Session, dict[str, str] | None]] = []
    for i, session in enumerate(sessions):
        hashes = None
        # a session without a label map is resumable too when it was segmented
        if resume and session.t2w is not None and (session.labels is not None
                                                   or options.segment):
            hashes = _hashes(session)
            earlier = _resumable(session, out, options, hashes)
            if earlier is not None:
                arrived(i, earlier)
                continue
        pending.append((i, session, hashes))
    futures: dict[Future, tuple[int, Session]] = {}
    try:
        if executor is None:
            for i, session, hashes in pending:
                arrived(i, _run_one(session, options, str(out), hashes))
        else:
            for i, session, hashes in pending:
                futures[executor.submit(_run_one, session, options, str(out), hashes)] = (
                    i, session)
            for future in as_completed(futures):
                i, session = futures[future]
                try:
                    result = future.result()
                except Exception as exc:  # noqa: BLE001 - a lost worker fails its session
                    result = _failed(session, f"worker failed: {type(exc).__name__}: {exc}",
                                     traceback.format_exc(), time.perf_counter())
                arrived(i, result)
    except KeyboardInterrupt:
        for future, (i, _) in futures.items():
            # a session a worker finished (its files are written) is done, whether or not its
            # result was collected before the interrupt
            if i not in results and future.done() and not future.cancelled() and (
                    future.exception() is None):
                results[i] = future.result()
            future.cancel()
        for i, session, _ in pending:
            if i not in results:
                results[i] = _failed(session, "interrupted before it finished", "",
                                     time.perf_counter(), status="interrupted")
        return [results[i] for i in range(len(sessions))], True
    finally:
        bar.close()
    return [results[i] for i in range(len(sessions))], False


def _table_hashes(root: Path, participants) -> dict[str, str]:
    """SHA-256 of the dataset's tables by path.

    participants.tsv (or the file given instead), each participant's sessions.tsv and the
    readers' grades.
    """
    from .io.atomic import file_sha256

    paths = [Path(participants) if participants is not None else root / "participants.tsv",
             *sorted(root.glob("sub-*/sub-*_sessions.tsv")), root / READER_GRADES]
    return {str(p): file_sha256(p) for p in paths if p.is_file()}


def _write_run(root, out, sessions, results, options, started, t0, participants, readers=None):
    import pandas as pd

    from .io.atomic import write_all_or_nothing
    from .io.tables import table_bytes

    columns = disc_columns(options.dhi)
    tables = [r.table if r.status == "resumed" else _as_written(r.table)
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
        from .grading import agreement_table

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
