"""``python -m lstm_lit.nto``: run experiment 2 (NTO) or 3 (continual NTO) for one variant and many networks,
resumably."""

from __future__ import annotations

import argparse

from ..experiment_cli import (_non_negative, _positive, _positive_float, _tolerance, add_running_options,
                              call_with_stop_flag, progress_bar, run_command)
from .protocol import BETWEEN, DEFAULT_MAX_TRAIN, DEFAULT_N_TEST, TASKS, VARIANTS, Config

EPILOG = """\
variants:  nto: lstm1997, forget-b5, forget-b1;  cnto: reset, standard, forget, forget-decay

Re-running the same command resumes from OUT.ckpt.npz. Ctrl-C or SIGTERM saves and exits (status 130); no
finished network is lost, and the resumed run gives exactly the results of an uninterrupted one.
On a Dask cluster: dask scheduler; dask worker ADDRESS on every machine; then this command with --scheduler ADDRESS.
"""


def parser():
    p = argparse.ArgumentParser(prog="python -m lstm_lit.nto", description=__doc__.split("\n")[0].strip("`: "),
                                epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", choices=TASKS, default="nto", help="nto (experiment 2) or cnto (experiment 3)")
    p.add_argument("--variant", default=None, help="see below (default: forget-b5 for nto, forget for cnto)")
    p.add_argument("--seed", type=_non_negative, default=0)
    p.add_argument("--runs", type=_positive, default=10, help="independent networks")
    p.add_argument("--max-train", type=_positive, default=None,
                   help="training sequences (nto, default 1e6) or streams (cnto, default 1e5, the paper's) per network")
    p.add_argument("--window", type=_positive, default=2000, help="nto: correct training sequences in a row that "
                                                                  "solve the task (default 2000, as in 1997)")
    p.add_argument("--n-test", type=_positive, default=None, help="test sequences (nto, 2000) or streams (cnto, 10)")
    p.add_argument("--stream-len", type=_positive, default=100, help="cnto: sequences per stream")
    p.add_argument("--full-test-every", type=_positive, default=100, help="cnto: full test every N-th stream")
    p.add_argument("--between", choices=BETWEEN, default="none",
                   help="error signal between classification steps (see lstm_lit.nto.protocol)")
    p.add_argument("--tolerance", type=_tolerance, default=0.3)
    p.add_argument("--alpha", type=_positive_float, default=0.5, help="learning rate (at each stream's start)")
    add_running_options(p)
    return p


def _progress_bar(experiment):
    config = experiment.config
    unit = "seq" if config.task == "nto" else "streams"
    return progress_bar(experiment, f"{config.task} {config.variant}", unit, lambda r: r.done, ("solved",))


def main(argv=None, restore_signals=True):
    """The command; ``restore_signals=False`` (``python -m``) keeps Ctrl-C a stop flag until the process exits."""
    return call_with_stop_flag(_main, argv, restore=restore_signals)


def _main(argv, stop):
    from .runner import Experiment
    p = parser()
    args = p.parse_args(argv)
    variant = args.variant or ("forget-b5" if args.task == "nto" else "forget")
    if variant not in VARIANTS[args.task]:
        p.error(f"argument --variant: {variant!r} is not a variant of --task {args.task}; choose one of "
                f"{', '.join(VARIANTS[args.task])}")
    config = Config(task=args.task, variant=variant, seed=args.seed, runs=args.runs,
                    max_train=args.max_train or DEFAULT_MAX_TRAIN[args.task], window=args.window,
                    n_test=args.n_test or DEFAULT_N_TEST[args.task], stream_len=args.stream_len,
                    full_test_every=args.full_test_every, between=args.between, tolerance=args.tolerance,
                    alpha0=args.alpha)
    return run_command(p, args, config, Experiment, _progress_bar, stop)
