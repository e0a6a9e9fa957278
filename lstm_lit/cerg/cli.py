"""``python -m lstm_lit.cerg``: run a row of Table 2 (one variant, many networks), resumably."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time

import numpy as np

from .protocol import CRITERIA, VARIANTS, Config
from .runner import STEP_BUDGET, ConfigMismatch, Experiment, StopRequested, checkpoint_path, run

EPILOG = """\
Re-running the same command resumes from OUT.ckpt.npz. Ctrl-C or SIGTERM saves and exits (status 130); no
finished network is lost, and the resumed run gives exactly the results of an uninterrupted one.

On a Dask cluster:  dask scheduler  (prints its address);  dask worker ADDRESS  on every machine;  then this
command with --scheduler ADDRESS.  Only this process writes files.
"""


def _typed(convert, ok, what):
    """An argparse type: ``convert`` the text, and reject it with a message naming ``what`` unless ``ok``."""
    def parse(text):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if not ok(value):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value
    parse.__name__ = what  # argparse names the type in its messages
    return parse


_positive = _typed(int, lambda v: v >= 1, "a positive integer")
_non_negative = _typed(int, lambda v: v >= 0, "a non-negative integer")
_positive_float = _typed(float, lambda v: bool(np.isfinite(v) and v > 0), "a positive number")
_tolerance = _typed(float, lambda v: bool(0 < v <= 0.5), "a number in (0, 0.5]")
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
    p.add_argument("--workers", type=_positive, default=os.cpu_count() or 1, help="local processes (default: all cores)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS", help="a Dask scheduler, e.g. tcp://host:8786")
    p.add_argument("--out", required=True, help="results JSON (checkpoint: OUT.ckpt.npz)")
    p.add_argument("--checkpoint-every", type=_positive_float, default=60.0, help="seconds between checkpoints")
    p.add_argument("--step-budget", type=_positive, default=STEP_BUDGET, help="network-steps per task")
    p.add_argument("--fresh", action="store_true", help="ignore an existing checkpoint and start again")
    p.add_argument("--no-progress", action="store_true")
    return p


def _progress_bar(experiment, t0):
    from tqdm import tqdm
    done = sum(1 for r in experiment.runs.values() if r.outcome)
    bar = tqdm(total=experiment.config.runs, initial=done, unit="net", desc=experiment.config.variant,
               file=sys.stderr)
    streams0 = sum(r.streams for r in experiment.runs.values())

    def update(exp):
        finished = [r for r in exp.runs.values() if r.outcome]
        bar.n = len(finished)
        streams = sum(r.streams for r in exp.runs.values()) - streams0
        counts = ", ".join(f"{c} {sum(r.outcome == c for r in finished)}" for c in ("perfect", "good", "rest"))
        rate = streams / max(time.perf_counter() - t0, 1e-9)
        bar.set_postfix_str(f"{rate:,.0f} streams/s; {counts}", refresh=False)
        bar.refresh()
    return bar, update


def main(argv=None):
    stop = StopRequested()   # from here on Ctrl-C and SIGTERM only set a flag; the runner stops at a safe point
    old = {s: signal.signal(s, stop.set) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        return _main(argv, stop)
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def _main(argv, stop):
    p = parser()
    args = p.parse_args(argv)
    config = Config(variant=args.variant, seed=args.seed, runs=args.runs, max_streams=args.max_streams,
                    train_cap=args.train_cap, test_cap=args.test_cap, n_test=args.n_test,
                    full_test_every=1 if args.full_tests else args.full_test_every,
                    criterion=args.criterion, tolerance=args.tolerance, good_threshold=args.good_threshold,
                    outer_be=not args.no_outer_be)
    try:
        config.validate()
    except ValueError as e:
        p.error(str(e))
    out_dir = os.path.dirname(os.path.abspath(args.out))
    if not os.path.isdir(out_dir):
        p.error(f"the directory of --out does not exist: {out_dir}")
    try:
        experiment = Experiment(config, args.out, fresh=args.fresh)
    except (ConfigMismatch, ValueError) as e:
        p.error(str(e))
    if experiment.runs:
        finished = sum(1 for r in experiment.runs.values() if r.outcome)
        print(f"resuming {args.out}: {finished} of {config.runs} networks finished", file=sys.stderr)
    bar, update = (None, None) if args.no_progress else _progress_bar(experiment, time.perf_counter())
    try:
        status = run(experiment, workers=args.workers, scheduler=args.scheduler, step_budget=args.step_budget,
                     checkpoint_every=args.checkpoint_every, stop=stop, progress=update)
    except OSError as e:   # e.g. a scheduler that cannot be reached
        p.exit(2, f"{p.prog}: error: {e}\n")
    finally:
        if bar:
            bar.close()
    if status == "stopped":
        print(f"interrupted: {checkpoint_path(args.out)} saved; run the same command to resume", file=sys.stderr)
        return 130
    if status == "worker lost":
        print(f"a worker process died; {checkpoint_path(args.out)} holds every finished network: run the same "
              "command to resume", file=sys.stderr)
        return 1
    print(json.dumps(experiment.results()["summary"]), file=sys.stderr)
    return 0
