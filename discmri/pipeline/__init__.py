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

from .options import RunOptions
from .outputs import READER_GRADES
from .run import run_dataset
from .session import SessionResult, process_session, session_files

__all__ = ["READER_GRADES", "RunOptions", "SessionResult", "process_session", "run_dataset",
           "session_files"]
