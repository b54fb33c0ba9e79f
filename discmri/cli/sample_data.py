"""``discmri sample-data``: write a synthetic trial dataset."""

from __future__ import annotations

import argparse
from pathlib import Path

from ._common import add_command, floats


def _cmd_sample_data(args: argparse.Namespace) -> int:
    from ..phantom.cohort import make_cohort

    cohort = make_cohort(
        args.out,
        participants=args.participants,
        seed=args.seed,
        visits_months=args.visits,
        dropout=args.dropout,
        unlabelled=args.unlabelled,
    )
    n_sessions = cohort.truth[["participant", "session"]].drop_duplicates().shape[0]
    print(f"wrote {args.participants} participants, {n_sessions} sessions to {cohort.root}")
    return 0


def add_parser(sub) -> None:
    """Register ``sample-data``."""
    p = add_command(
        sub, "sample-data",
        help="write a synthetic trial dataset (the shipped sample_data/ with the defaults)",
        description="Write a BIDS dataset of phantom spines: two arms (MSC, sham), visits at "
                    "0, 3 and 6 months, T2w, multi-echo and diffusion series, label maps "
                    "(the last sessions without, so that a run segments them).",
        examples=["sample-data my_sample", "sample-data trial --participants 40 --seed 3"])
    p.add_argument("out", type=Path, help="new dataset folder (must not exist)")
    p.add_argument("--participants", type=int, default=4, help="number of participants [4]")
    p.add_argument("--seed", type=int, default=0, help="random seed [0]")
    p.add_argument("--visits", type=floats, default=(0.0, 3.0, 6.0),
                   help="visit times in months since injection [0,3,6]")
    p.add_argument("--dropout", type=float, default=0.1,
                   help="probability of missing each follow-up visit [0.1]")
    p.add_argument("--unlabelled", type=int, default=1,
                   help="number of sessions, the last ones, written without a label map, so "
                        "that a run segments them [1]")
    p.set_defaults(func=_cmd_sample_data)
