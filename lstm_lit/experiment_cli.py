"""The command-line parts shared by ``python -m lstm_lit.cerg`` and ``python -m lstm_lit.nto``: argument types, the
options that run and resume many networks, and running one configuration with Ctrl-C saving the checkpoint."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time

import numpy as np

from .experiment import STEP_BUDGET, ConfigMismatch, StopRequested, checkpoint_path, run


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


def add_running_options(p):
    """The options that say where and how the networks run, and where their files go."""
    p.add_argument("--workers", type=_positive, default=os.cpu_count() or 1, help="local processes (default: all cores)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS", help="a Dask scheduler, e.g. tcp://host:8786")
    p.add_argument("--out", required=True, help="results JSON (checkpoint: OUT.ckpt.npz)")
    p.add_argument("--checkpoint-every", type=_positive_float, default=60.0, help="seconds between checkpoints")
    p.add_argument("--step-budget", type=_positive, default=STEP_BUDGET, help="network-steps per task")
    p.add_argument("--fresh", action="store_true", help="ignore an existing checkpoint and start again")
    p.add_argument("--no-progress", action="store_true")


def progress_bar(experiment, desc, unit, work, outcomes):
    """A tqdm bar of the finished networks of ``experiment`` (labelled ``desc``) and its update function, which also
    shows the rate of work since the start (``work(run)``: how many ``unit`` a network has done) and how many
    finished networks have each of the ``outcomes``."""
    from tqdm import tqdm
    t0 = time.perf_counter()
    done = sum(1 for r in experiment.runs.values() if r.outcome)
    bar = tqdm(total=experiment.config.runs, initial=done, unit="net", desc=desc, file=sys.stderr)
    work0 = sum(work(r) for r in experiment.runs.values())

    def update(exp):
        finished = [r for r in exp.runs.values() if r.outcome]
        bar.n = len(finished)
        rate = (sum(work(r) for r in exp.runs.values()) - work0) / max(time.perf_counter() - t0, 1e-9)
        counts = ", ".join(f"{c} {sum(r.outcome == c for r in finished)}" for c in outcomes)
        bar.set_postfix_str(f"{rate:,.0f} {unit}/s; {counts}", refresh=False)
        bar.refresh()
    return bar, update


def exit_with(main):
    """``sys.exit(main(restore_signals=False))`` for ``python -m``: from here on Ctrl-C only sets the runner's stop
    flag, even while the process exits (:func:`call_with_stop_flag`); a Ctrl-C in the instant before that flag's
    handler is installed finds nothing started and nothing to save."""
    try:
        status = main(restore_signals=False)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted before the run started; nothing to save\n")
        sys.exit(130)
    sys.exit(status)


def call_with_stop_flag(body, argv, restore=True):
    """``body(argv, stop)`` while Ctrl-C and SIGTERM only set the flag ``stop`` (the runner stops at a safe point);
    the previous signal handlers are restored afterwards unless ``restore`` is False.  The command line passes False:
    once the run has returned, everything is saved, and a signal that arrives while the interpreter shuts down (and
    joins the worker pool's threads) must only set the flag, not print a KeyboardInterrupt traceback."""
    stop = StopRequested()
    old = {s: signal.signal(s, stop.set) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        return body(argv, stop)
    finally:
        if restore:
            for s, h in old.items():
                signal.signal(s, h)


def run_command(p, args, config, experiment_class, progress_bar, stop):
    """Run ``config`` as an ``experiment_class`` writing to ``args.out`` (resuming its checkpoint unless
    ``args.fresh``), with the options of :func:`add_running_options`; ``progress_bar(experiment)`` returns a bar
    (closed at the end) and its update function.  Bad input exits through ``p.error``.  Returns the exit status:
    0 complete, 130 stopped (checkpoint saved), 1 a worker process died."""
    try:
        config.validate()
    except ValueError as e:
        p.error(str(e))
    out_dir = os.path.dirname(os.path.abspath(args.out))
    if not os.path.isdir(out_dir):
        p.error(f"the directory of --out does not exist: {out_dir}")
    try:
        experiment = experiment_class(config, args.out, fresh=args.fresh)
    except (ConfigMismatch, ValueError) as e:
        p.error(str(e))
    if experiment.runs:
        finished = sum(1 for r in experiment.runs.values() if r.outcome)
        print(f"resuming {args.out}: {finished} of {config.runs} networks finished", file=sys.stderr)
    bar, update = (None, None) if args.no_progress else progress_bar(experiment)
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
