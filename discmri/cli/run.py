"""``discmri run``: a BIDS dataset → ``discs.tsv`` (one row per participant × session × level)."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import time
from collections.abc import Iterator
from concurrent.futures import Executor
from pathlib import Path

from ..errors import DiscMRIError, ParameterError
from ._common import add_command, add_edges_argument, noise, value_range, words
from .report import add_report_arguments


def _cores() -> int:
    """CPUs this process may run on (the affinity mask where there is one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """Treat SIGTERM like Ctrl-C while the run goes on, so that it stops the same clean way."""
    if sys.platform == "win32":  # pragma: no cover
        yield
        return
    try:
        previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    except ValueError:  # not the main thread (e.g. called from a test runner thread)
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def _executor(args: argparse.Namespace) -> Iterator[Executor | None]:
    """A Dask cluster's executor, a process pool, or None (serial) as the options ask."""
    if args.scheduler:
        try:
            from distributed import Client
        except ImportError as exc:
            raise DiscMRIError('--scheduler needs Dask: pip install "discmri[dask]"') from exc
        try:
            client = Client(args.scheduler, timeout="5s", set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise DiscMRIError(f"--scheduler {args.scheduler}: cannot reach a Dask scheduler "
                               f"there ({' '.join(str(exc).split()) or type(exc).__name__}); "
                               "expected tcp://HOST:PORT of a running scheduler") from exc
        try:
            yield client.get_executor()
        finally:
            client.close()
        return
    workers = args.workers
    if workers <= 1:
        yield None
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    # spawn: workers start clean (no forked threads or locks); each holds one session, and
    # the pool starts them as sessions arrive, so a small dataset starts few
    pool = ProcessPoolExecutor(max_workers=workers,
                               mp_context=multiprocessing.get_context("spawn"))
    try:
        yield pool
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def _cmd_run(args: argparse.Namespace) -> int:
    from ..pipeline import RunOptions, run_dataset

    cores = _cores()
    if args.threads < 1:
        raise ParameterError(f"--threads {args.threads}: expected 1 or more")
    if args.workers is None:
        args.workers = max(1, cores // args.threads)
    if args.workers < 1:
        raise ParameterError(f"--workers {args.workers}: expected 1 or more")
    if not args.scheduler and args.workers * args.threads > cores:
        raise ParameterError(f"--workers {args.workers} × --threads {args.threads} would keep "
                             f"more threads busy than the {cores} CPUs here; expected "
                             "workers × threads at most the CPU count")
    thresholds = None
    if args.thresholds:
        from ..grading import load_thresholds

        thresholds = load_thresholds(args.thresholds)
    if args.resume and args.overwrite:
        raise ParameterError("--resume and --overwrite together: expected one (--resume keeps "
                             "an earlier run's finished sessions, --overwrite redoes them)")
    options = RunOptions(t2=not args.no_t2, adc=not args.no_adc, t2_method=args.t2_method,
                         noise_sigma=args.noise_sigma, coils=args.coils,
                         adc_method=args.adc_method,
                         b_range=args.b_range, dhi=args.dhi,
                         parasagittal_mm=args.parasagittal_mm, edges=args.edges, qc=args.qc,
                         grade_thresholds=thresholds, segment=not args.no_segment,
                         threads=args.threads)
    if not args.no_report:
        _check_report_options(args)
    start = time.perf_counter()
    with _sigterm_as_interrupt(), _executor(args) as executor:
        try:
            discs = run_dataset(args.dataset, args.out, executor=executor, only=args.only,
                                resume=args.resume, overwrite=args.overwrite, options=options,
                                participants=args.participants_file, progress=True)
        except KeyboardInterrupt:
            print(f"discmri: interrupted; finished sessions are kept in {args.out}; run again "
                  "with --resume to finish the rest", file=sys.stderr)
            return 130
    sessions = discs.attrs["sessions"]
    counts = sessions["status"].value_counts()
    done = int(counts.get("done", 0)) + int(counts.get("resumed", 0))
    failed = int(counts.get("failed", 0))
    partial = int(counts.get("partial", 0))
    print(f"{len(sessions)} sessions in {time.perf_counter() - start:.1f} s: {done} done"
          f" ({int(counts.get('resumed', 0))} resumed), {partial} partial, "
          f"{int(counts.get('skipped', 0))} skipped, {failed} failed")
    for row in sessions.itertuples():
        name = f"{row.participant_id} {row.session or ''}".strip()
        if row.status in ("failed", "partial"):
            print(f"  {name}: {row.status}: {row.error}")
        elif row.status == "skipped":
            print(f"  {name}: skipped: {row.skipped}")
    out = Path(args.out)
    print(f"wrote {len(discs)} disc rows to {out / 'discs.tsv'} (sessions: "
          f"{out / 'sessions.tsv'})")
    if not args.no_report:
        _report(out, args)
    return 1 if failed or partial else 0


def _check_report_options(args: argparse.Namespace) -> None:
    """The report's options against the dataset, before any session is processed."""
    from ..io import find_sessions
    from ..report import check_report_options
    from ..table import ID_COLUMNS, TEXT_COLUMNS, disc_columns

    sessions = find_sessions(args.dataset, participants=args.participants_file)
    columns = [c for c in disc_columns(args.dhi) if c not in ID_COLUMNS
               and c not in TEXT_COLUMNS]
    check_report_options(columns=columns, arms=[s.arm for s in sessions],
                         sessions=[s.session for s in sessions], endpoints=args.endpoints,
                         control=args.control, baseline=args.baseline)


def _report(out: Path, args: argparse.Namespace) -> None:
    """The trial report at the end of a run; a report that cannot be made loses nothing."""
    from ..errors import DiscMRIError
    from ..report.make import make_report, page_extras_missing

    missing = page_extras_missing()
    try:
        written = make_report(out, endpoints=args.endpoints, levels=args.levels,
                              baseline=args.baseline, control=args.control, holm=args.holm,
                              formats=() if missing else ("html",))
    except DiscMRIError as exc:
        print(f"no trial report: {' '.join(str(exc).split())}")
        return
    print("wrote the trial report: " + ", ".join(p.name for p in written))
    if missing:
        print(f"report.html needs {' and '.join(missing)}: pip install \"discmri[report]\"")


def add_parser(sub) -> None:
    """Register ``run``."""
    p = add_command(
        sub, "run", help="process a BIDS dataset: T2 and ADC maps, disc measurements, discs.tsv",
        description="Process every session of a BIDS dataset and write one row per "
                    "participant × session × disc level to OUT/discs.tsv, then the trial "
                    "report. Every option is checked before the first session. Exit status: "
                    "0 when every session was done or skipped, 1 when one failed or was "
                    "partial (a MESE or DWI series that could not be used; see "
                    "OUT/sessions.tsv), 2 for bad input, 130 when interrupted.",
        examples=["run sample_data results", "run trial results --resume",
                  "run trial results --only sub-01,sub-02 --no-adc --qc",
                  "run trial results --scheduler tcp://127.0.0.1:8786"])
    p.add_argument("dataset", metavar="DATASET", help="BIDS dataset folder")
    p.add_argument("out", metavar="OUT",
                   help="output folder (BIDS derivatives; not inside the raw dataset)")
    p.add_argument("--workers", type=int, default=None,
                   help="sessions processed at once, one per process [CPUs / --threads]")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="send sessions to a Dask distributed scheduler (tcp://HOST:PORT) "
                        "instead of local processes (needs discmri[dask])")
    p.add_argument("--resume", action="store_true",
                   help="keep sessions finished by an earlier run into OUT whose inputs and "
                        "settings are unchanged; do the rest")
    p.add_argument("--overwrite", action="store_true", help="redo an earlier run into OUT")
    p.add_argument("--only", type=words, metavar="sub-01,sub-02",
                   help="process only these participants (the tables then hold only them; a "
                        "later run of all with --resume reuses their sessions)")
    p.add_argument("--participants-file", metavar="F",
                   help="participants.tsv to use instead of the dataset's (arms, treated levels)")
    p.add_argument("--no-t2", action="store_true", help="do not fit T2 maps")
    p.add_argument("--no-adc", action="store_true", help="do not fit ADC maps")
    p.add_argument("--qc", action="store_true",
                   help="also write QC figures beside the outputs: one per disc and each "
                        "session's grading figure, in sub-*/[ses-*/]qc/ (needs matplotlib)")
    p.add_argument("--t2-method", default="auto",
                   choices=["auto", "loglinear", "nlls", "offset", "epg"], help="T2 model [auto]")
    p.add_argument("--noise-sigma", type=noise, default=None,
                   help="noise SD for the T2 noise-floor correction, or 'auto' [none]")
    p.add_argument("--coils", type=int, default=1,
                   help="with --noise-sigma: receive channels of a root-sum-of-squares "
                        "combination (noncentral chi); 1 for Rician data [1]")
    p.add_argument("--adc-method", default="wls", choices=["ols", "wls", "nlls", "ivim"],
                   help="ADC model [wls]")
    p.add_argument("--b-range", type=value_range, default=None,
                   help="fit ADC shells with LOW <= b <= HIGH, s/mm²")
    p.add_argument("--dhi", type=words, default=("mean_height", "masuda", "farfan", "area",
                                                  "height_width"),
                   help="DHI formulas, comma-separated [all]")
    p.add_argument("--parasagittal-mm", type=float, default=0.0, metavar="MM",
                   help="heights from the mean of the mid-sagittal plane and the planes MM to "
                        "either side [0: mid-sagittal only]")
    add_edges_argument(p)
    p.add_argument("--thresholds", metavar="F",
                   help="JSON file of grade thresholds, e.g. from 'discmri grade --calibrate' "
                        "(as 'discmri grade --thresholds') [the documented defaults]")
    p.add_argument("--no-segment", action="store_true",
                   help="skip sessions without a label map instead of segmenting their T2w "
                        "image ('discmri segment')")
    p.add_argument("--no-report", action="store_true",
                   help="do not write the trial report (report.html, stats.tsv, report.json)")
    add_report_arguments(p)
    p.add_argument("--threads", type=int, default=1,
                   help="threads inside each session's fits [1]; keep workers × threads <= CPUs")
    p.set_defaults(func=_cmd_run)
