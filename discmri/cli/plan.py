"""``discmri plan``: repeatability, variance components and sample size from a run's table."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import ParameterError
from ._common import add_command, check_outputs, floats


def _effects(texts):
    from ..planning import parse_effect

    return [parse_effect(t) for t in texts or ()]


def _cmd_plan(args: argparse.Namespace) -> int:
    from ..planning import plan_trial
    from ..planning.page import plan_files
    from ..report.make import page_extras_missing
    from ..report.stats import control_arm
    from ..table import read_discs

    effects = _effects(args.effect)  # checked before anything is read
    if not effects:
        raise ParameterError("--effect: give at least one, e.g. --effect np_t2_ms=+10 or "
                             "--effect dhi_mean_height=+5%")
    if args.n is not None and args.power is not None:
        raise ParameterError("--power and --n: give one (the power wanted, or the number per "
                             "arm whose power is asked)")
    source = Path(args.discs)
    if not source.is_file():
        raise ParameterError(f"{source}: not found; expected the discs.tsv of a discmri run")
    out = Path(args.out) if args.out else source.parent
    html = not args.no_page
    if html and page_extras_missing():
        raise ParameterError(f"the plan page needs {' and '.join(page_extras_missing())}: "
                             'pip install "discmri[report]" (or --no-page)')
    names = ["plan.tsv", "repeatability.tsv", "plan.json"] + (["plan.html"] if html else [])
    check_outputs([out / n for n in names], [source], args.overwrite)
    try:
        discs = read_discs(source)
    except (OSError, ValueError) as exc:
        raise ParameterError(f"{source}: {exc}; expected the discs.tsv of a discmri run") \
            from exc
    arms = sorted({str(a).strip() for a in discs.get("arm", ())} - {""})
    control = (control_arm(arms, args.control) if args.control is not None or len(arms) > 1
               else None)
    power = None if args.n is not None else (0.8 if args.power is None else args.power)
    plan = plan_trial(discs, effects, power=power, n=args.n, alpha=args.alpha,
                      dropout=args.dropout, visits=args.visits or None,
                      levels=args.discs_per_participant, control=control,
                      n_sim=args.simulations, seed=args.seed)
    from ..io.atomic import write_all_or_nothing

    files = plan_files(plan, out, source=str(source), html=html)
    write_all_or_nothing(files, overwrite=args.overwrite, protected=[source])
    for row in plan.table.to_dict("records"):
        if args.n is not None:
            size = f"power {row.get('power', float('nan')):.2f} with {args.n} per arm"
        elif row.get("n_per_arm") == row.get("n_per_arm"):  # not NaN
            size = f"{row['n_per_arm']:.0f} per arm"
        else:
            size = "no size: nothing to estimate the precision from"
        print(f"{row['endpoint']} ({row['effect']}): {size} — {row['source']}")
    for note in plan.notes:
        print(f"  note: {note}")
    print("wrote " + ", ".join(p.name for p in files) + f" in {out}")
    return 0


def add_parser(sub) -> None:
    """Register ``plan``."""
    p = add_command(
        sub, "plan", help="repeatability and sample size per endpoint from a run's discs.tsv",
        description="From a run's discs.tsv: each endpoint's repeatability (retest sessions "
                    "ses-…retest: within-subject SD, CV, ICC(2,1)/(3,1), Bland–Altman, MDC95), "
                    "variance components between visits (the control arm's mixed model), "
                    "and the participants per arm a two-arm trial needs for the effect given "
                    "(or the power of --n per arm), checked by simulating trials. Writes "
                    "plan.tsv, repeatability.tsv, plan.json and plan.html.",
        examples=["plan results/discs.tsv --effect dhi_mean_height=+5% --effect "
                  "np_t2_ms=+10 --power 0.8",
                  "plan results/discs.tsv --effect np_t2_ms=+10 --n 26 --dropout 0.1"])
    p.add_argument("discs", help="discs.tsv of a discmri run")
    p.add_argument("--effect", action="append", metavar="COLUMN=VALUE[%]",
                   help="difference between arms hoped for, in the column's unit or in %% of "
                        "its baseline mean (repeat for several endpoints)")
    p.add_argument("--power", type=float, default=None,
                   help="power wanted: the number per arm is computed [0.8]")
    p.add_argument("--n", type=int, default=None,
                   help="participants per arm: their power and detectable effect instead")
    p.add_argument("--alpha", type=float, default=0.05, help="two-sided level [0.05]")
    p.add_argument("--dropout", type=float, default=0.0,
                   help="fraction lost before the last visit [0]")
    p.add_argument("--visits", type=floats, default=None,
                   help="visit months of the planned trial, baseline first [the table's]")
    p.add_argument("--discs-per-participant", type=int, default=1,
                   help="discs analysed per participant (DREAM: the treated disc) [1]")
    p.add_argument("--control", help="control arm giving the variance between visits "
                                     "[one named sham, placebo, control …]")
    p.add_argument("--simulations", type=int, default=2000,
                   help="trials simulated per row [2000]")
    p.add_argument("--seed", type=int, default=0, help="seed of the simulations [0]")
    p.add_argument("--out", help="output folder [the folder of DISCS]")
    p.add_argument("--no-page", action="store_true", help="tables and JSON only")
    p.add_argument("--overwrite", action="store_true", help="replace earlier plan files")
    p.set_defaults(func=_cmd_plan)
