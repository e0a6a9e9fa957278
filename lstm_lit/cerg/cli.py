"""``python -m lstm_lit.cerg``: run a row of Table 2 (one variant, many networks), resumably."""

from __future__ import annotations

import argparse

import numpy as np

from ..experiment_cli import (_non_negative, _positive, _tolerance, _typed, add_running_options,
                              call_with_stop_flag, progress_bar, run_command)
from .protocol import CRITERIA, OUTCOMES, VARIANTS, Config
from .runner import Experiment

EPILOG = """\
Re-running the same command resumes from OUT.ckpt.npz. Ctrl-C or SIGTERM saves and exits (status 130); no
finished network is lost, and the resumed run gives exactly the results of an uninterrupted one.

On a Dask cluster:  dask scheduler  (prints its address);  dask worker ADDRESS  on every machine;  then this
command with --scheduler ADDRESS.  Only this process writes files.
"""


_threshold = _typed(float, lambda v: bool(np.isfinite(v) and v >= 0), "a finite non-negative number")


def parser():
    p = argparse.ArgumentParser(prog="python -m lstm_lit.cerg", description=__doc__.split("\n")[0].strip("`: "),
                                epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--variant", choices=sorted(VARIANTS), default="forget", help="Table 2 row")
    p.add_argument("--seed", type=_non_negative, default=0)
    p.add_argument("--runs", type=_positive, default=10, help="independent networks (paper 100)")
    p.add_argument("--max-streams", type=_positive, default=30000, help="training streams per network (paper 30000)")
    p.add_argument("--train-cap", type=_positive, default=100000, help="symbols per training stream (paper 1e5)")
    p.add_argument("--test-cap", type=_positive, default=100000, help="symbols per test stream (paper 1e5)")
    p.add_argument("--n-test", type=_positive, default=10, help="test streams per test (paper 10)")
    p.add_argument("--full-test-every", type=_positive, default=100,
                   help="full test after every N-th training stream, for the learning curves; the other tests stop "
                        "at their first short stream, which changes no outcome (default 100)")
    p.add_argument("--full-tests", action="store_true", help="test fully after every stream (the paper's literal "
                                                             "protocol; same outcomes, slower)")
    p.add_argument("--criterion", choices=CRITERIA, default="abs", help="correct prediction (see lstm_lit.cerg.protocol)")
    p.add_argument("--tolerance", type=_tolerance, default=0.49)
    p.add_argument("--good-threshold", type=_threshold, default=1000.0, help="good: mean test length above this")
    p.add_argument("--no-outer-be", action="store_true", help="the paper's extra experiment without outer B/E")
    add_running_options(p)
    return p


def _progress_bar(experiment):
    return progress_bar(experiment, experiment.config.variant, "streams", lambda r: r.streams, OUTCOMES)


def main(argv=None, restore_signals=True):
    """The command; ``restore_signals=False`` (``python -m``) keeps Ctrl-C a stop flag until the process exits."""
    return call_with_stop_flag(_main, argv, restore=restore_signals)


def _main(argv, stop):
    p = parser()
    args = p.parse_args(argv)
    config = Config(variant=args.variant, seed=args.seed, runs=args.runs, max_streams=args.max_streams,
                    train_cap=args.train_cap, test_cap=args.test_cap, n_test=args.n_test,
                    full_test_every=1 if args.full_tests else args.full_test_every,
                    criterion=args.criterion, tolerance=args.tolerance, good_threshold=args.good_threshold,
                    outer_be=not args.no_outer_be)
    return run_command(p, args, config, Experiment, _progress_bar, stop)
