"""A dataset run: every session on any executor, resumable, written all or nothing."""

from __future__ import annotations

import os
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor, Future, as_completed
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import DatasetError, DiscMRIError, OutputExistsError, ParameterError
from .lock import RunLock, check_out
from .options import RunOptions
from .outputs import reader_grades, write_run
from .progress import Progress
from .resume import resumable
from .session import SessionResult, input_hashes, process_session

if TYPE_CHECKING:
    import pandas as pd

    from ..io.bids import Session

__all__ = ["run_dataset"]


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
    from ..io import find_sessions
    from ..io.atomic import ensure_folder

    options = options or RunOptions()
    if resume and overwrite:
        raise ParameterError("resume and overwrite (--resume, --overwrite) together: expected "
                             "one — resume keeps an earlier run's finished sessions, overwrite "
                             "redoes them")
    root, out = Path(root), Path(out)
    started = datetime.now(timezone.utc)
    t0 = time.perf_counter()
    if options.qc:
        from ..plotting import require_matplotlib

        require_matplotlib()  # fail before the work when matplotlib is missing
    sessions = _select(find_sessions(root, participants=participants), only)
    readers = reader_grades(root)  # checked before the work, used at the end
    check_out(root, out)
    ensure_folder(out, what="output folder")
    lock = RunLock(out)
    lock.acquire()
    try:
        if (out / "run.json").exists() and not (resume or overwrite):
            raise OutputExistsError(f"output folder {out}: holds an earlier run (run.json); "
                                    "resume=True continues it, overwrite=True redoes it")
        results, interrupted = _run_sessions(sessions, out, executor, options, resume,
                                             progress, on_result)
        discs = write_run(root, out, sessions, results, options, started, t0, participants,
                           readers)
        if interrupted:  # the finished sessions are written: now stop as asked
            raise KeyboardInterrupt
        return discs
    finally:
        lock.release()


def _run_sessions(sessions, out, executor, options, resume, progress, on_result):
    results: dict[int, SessionResult] = {}
    bar = Progress(len(sessions), progress)

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
            hashes = input_hashes(session)
            earlier = resumable(session, out, options, hashes)
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
