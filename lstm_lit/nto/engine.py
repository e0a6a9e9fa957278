"""The compiled NTO engine: many training sequences (NTO) or whole streams and their tests (continual NTO) of one
network per Numba call.

As in the CERG engine (:mod:`lstm_lit.cerg.engine`), the step arithmetic is not written here: the loops call the
training step and the forward-only test step printed from the SymPy statements for the NTO network's sizes
(:mod:`lstm_lit.generated.nto_steps`, ``train_step_net`` / ``test_step_net`` and their 1997 twins; the test step
reads the weights source-major, refreshed before every test).  This module
writes only the bookkeeping: drawing the symbols (:mod:`lstm_lit.nto.streams`), the error signal, the 0.3 rule,
resets, alpha-decay, the stop rules and the tests (:mod:`lstm_lit.nto.protocol`).  No ``fastmath``.

A network between two training sequences (NTO) or streams (CNTO) is its weights plus a few counters
(:class:`NetworkRun`); every sequence or stream starts from the zero state with zero traces and is drawn from its own
key, so :func:`advance` may split the work anywhere and the results stay a function of (config, network index).
"""

from __future__ import annotations

import copy
import functools
import time
from dataclasses import dataclass, field

import numba
import numpy as np

from ..cerg.engine import _zero
from ..cerg.streams import stream_bases, stream_start
from ..generated import nto_steps
from ..network import LSTMNetwork
from ..network_arrays import FORGET_GATE_WEIGHTS, NetworkArrays, copy_source_major
from . import streams
from .protocol import SIZES, Config

NO_OUTCOME, SOLVED, LAST = 0, 1, 2
SKIPPED = -1            # score of a test stream that early exit did not run
DEFAULT_STEP_BUDGET = 2_000_000
TAIL = 100              # CNTO: training-stream lengths kept per network


@numba.njit(cache=True)   # not inlined: len(weights) of its own argument must be a compile-time constant (below)
def _sequence(rng, training, alpha, between_zero, tolerance, state, weights, masks, traces, train_work, test_work,
              x, target, y):
    """One NTO sequence from the current state (no reset): returns (rng, classified correctly, steps).  ``weights``
    are source-major (:func:`lstm_lit.network_arrays.source_major`) when ``training`` is False."""
    rng, length, t1, t2, t3, label = streams.layout(rng)
    for t in range(1, length + 1):
        rng, unit = streams.symbol_at(rng, t, length, t1, t2, t3, label)
        for m in range(x.shape[1]):
            x[0, m] = 0.0
        x[0, unit] = 1.0
        last = t == length
        for m in range(target.shape[1]):
            target[0, m] = 0.0
        if last:
            target[0, label] = 1.0
        # The steps printed for the NTO net's fixed sizes, of the LSTM that ``weights`` belong to: len(weights) of an
        # argument is a constant when Numba compiles, so only one branch is compiled, and the kernel is called
        # directly (through a wrapper, a second call would pass every field of every array again).
        if training:
            lr = alpha if (last or between_zero) else 0.0   # rate 0: traces advance, weights stay (W - 0 * grad)
            if len(weights) == FORGET_GATE_WEIGHTS:
                nto_steps.train_step_net(0, x, target, lr, 1.0, state, weights, masks, traces, train_work, y)
            else:
                nto_steps.train_step_1997_net(0, x, target, lr, 1.0, state, weights, masks, traces, train_work, y)
        elif len(weights) == FORGET_GATE_WEIGHTS:
            nto_steps.test_step_net(0, x, 1.0, state, weights, test_work, y)
        else:
            nto_steps.test_step_1997_net(0, x, 1.0, state, weights, test_work, y)
    ok = True
    for m in range(y.shape[1]):
        if not abs(y[0, m] - target[0, m]) < tolerance:
            ok = False
    return rng, ok, length


@numba.njit(cache=True, inline="always")
def _run_nto(bases, done, streak, max_train, window, alpha0, tolerance, step_budget, correct_out,
            state, weights, masks, traces, train_work, test_work, x, target, y):
    """NTO training sequences ``done + 1, ...`` until solved (``window`` correct in a row), ``max_train``, the step
    budget or the end of ``correct_out`` (one flag per sequence).  Returns (sequences run, streak, outcome, steps)."""
    n = 0
    used = 0
    while n < correct_out.size:
        s = done + n + 1
        _zero(state)
        _zero(traces)
        rng, ok, steps = _sequence(stream_start(bases[0], s, 0), True, alpha0, False, tolerance, state, weights,
                                   masks, traces, train_work, test_work, x, target, y)
        correct_out[n] = ok
        streak = streak + 1 if ok else 0
        used += steps
        n += 1
        if streak >= window:
            return n, streak, SOLVED, used
        if s >= max_train:
            return n, streak, LAST, used
        if used >= step_budget:
            break
    return n, streak, NO_OUTCOME, used


@numba.njit(cache=True, inline="always")
def _test_nto(bases, n_test, tolerance, state, test_weights, weight_pairs, masks, traces, train_work, test_work, x,
              target, y):
    """The NTO test: ``n_test`` fresh sequences without learning.  Returns (errors, 0, NO_OUTCOME, steps)."""
    copy_source_major(weight_pairs)
    errors = 0
    used = 0
    for k in range(n_test):
        _zero(state)
        rng, ok, steps = _sequence(stream_start(bases[1], 0, k), False, 0.0, False, tolerance, state, test_weights,
                                   masks, traces, train_work, test_work, x, target, y)
        errors += 0 if ok else 1
        used += steps
    return errors, 0, NO_OUTCOME, used


@numba.njit(cache=True, inline="always")
def _stream(training, rng_start, stream_len, alpha0, alpha_decay, reset, between_zero, tolerance,
            state, weights, masks, traces, train_work, test_work, x, target, y):
    """One continual stream from the zero state: returns (sequences classified before the first error, steps)."""
    rng = np.uint64(rng_start)
    _zero(state)
    _zero(traces)
    alpha = alpha0
    good = 0
    used = 0
    for j in range(stream_len):
        if reset and j > 0:   # the 1997 LSTM's external reset before every sequence
            _zero(state)
            _zero(traces)
        rng, ok, steps = _sequence(rng, training, alpha, between_zero, tolerance, state, weights, masks, traces,
                                   train_work, test_work, x, target, y)
        used += steps
        if not ok:
            break
        good += 1
        alpha *= alpha_decay
    return good, used


@numba.njit(cache=True, inline="always")
def _run_cnto(bases, done, max_train, stream_len, n_test, full_test_every, alpha0, alpha_decay, reset, between_zero,
             tolerance, step_budget, train_len, test_len, state, weights, test_weights, weight_pairs, masks, traces,
             train_work, test_work, x, target, y):
    """CNTO training streams ``done + 1, ...``, each followed by its test, until solved, ``max_train``, the step
    budget or the end of the output arrays.  Returns (streams run, 0, outcome, steps).  A test off the full-test
    schedule stops at its first stream shorter than ``stream_len`` (the rest get SKIPPED)."""
    n = 0
    used = 0
    while n < train_len.size:
        s = done + n + 1
        good, steps = _stream(True, stream_start(bases[0], s, 0), stream_len, alpha0, alpha_decay, reset,
                              between_zero, tolerance, state, weights, masks, traces, train_work, test_work, x,
                              target, y)
        train_len[n] = good
        used += steps
        full = s % full_test_every == 0 or s == max_train
        copy_source_major(weight_pairs)
        complete = 0
        for k in range(n_test):
            good, steps = _stream(False, stream_start(bases[1], s, k), stream_len, 0.0, 1.0, reset, False,
                                  tolerance, state, test_weights, masks, traces, train_work, test_work, x, target, y)
            test_len[n, k] = good
            used += steps
            if good == stream_len:
                complete += 1
            elif not full:
                for rest in range(k + 1, n_test):
                    test_len[n, rest] = SKIPPED
                break
        n += 1
        if complete == n_test:
            return n, 0, SOLVED, used
        if s >= max_train:
            return n, 0, LAST, used
        if used >= step_budget:
            break
    return n, 0, NO_OUTCOME, used


NTO_TRAIN, NTO_TEST, CNTO = 0, 1, 2   # what :func:`simulate` runs


@numba.njit(cache=True)
def simulate(mode, bases, done, streak, max_train, window, stream_len, n_test, full_test_every, alpha0, alpha_decay,
             reset, between_zero, tolerance, step_budget, flags, train_len, test_len,
             state, weights, test_weights, weight_pairs, masks, traces, train_work, test_work, x, target, y):
    """The one compiled entry point (the loops above are inlined into it): NTO training (``flags``: one per
    sequence), the NTO test, or CNTO training streams and tests (``train_len``, ``test_len``).  Returns
    (count, streak, outcome, steps).  One entry point, because every compiled function that contains the printed
    steps costs as much to compile as the steps themselves."""
    if mode == NTO_TRAIN:
        return _run_nto(bases, done, streak, max_train, window, alpha0, tolerance, step_budget, flags,
                        state, weights, masks, traces, train_work, test_work, x, target, y)
    if mode == NTO_TEST:
        return _test_nto(bases, n_test, tolerance, state, test_weights, weight_pairs, masks, traces, train_work,
                         test_work, x, target, y)
    return _run_cnto(bases, done, max_train, stream_len, n_test, full_test_every, alpha0, alpha_decay, reset,
                     between_zero, tolerance, step_budget, train_len, test_len, state, weights, test_weights,
                     weight_pairs, masks, traces, train_work, test_work, x, target, y)


# ----------------------------------------------------------------------------------------------------------------
# One network


@functools.lru_cache(maxsize=None)
def _template(forget_gates):
    """A one-network LSTMNetwork of the NTO shape (its connectivity is evaluated in SymPy: do it once)."""
    return LSTMNetwork(**SIZES, batch=1, forget_gates=forget_gates, connectivity="cerg")


def initial_weights(config, net):
    """The initial weights of network ``net`` (seeded by ``SeedSequence(seed, spawn_key=(net,))``)."""
    fg, bias, _, _ = config.spec
    one = _template(fg)
    one.initialise(np.random.default_rng(np.random.SeedSequence(config.seed, spawn_key=(net,))),
                   forget_biases=(bias,) if fg else None)
    return {name: w[0].copy() for name, w in one.weights.items()}


@dataclass
class NetworkRun:
    """One network between two training sequences (NTO) or streams (CNTO): weights and record."""

    net: int
    weights: dict
    done: int = 0                     # training sequences (NTO) or streams (CNTO) finished
    train_steps: int = 0
    test_steps: int = 0
    streak: int = 0                   # NTO: correct training sequences in a row
    outcome: str | None = None        # "solved" / "unsolved" when finished
    solved_at: int | None = None      # training sequences (NTO) or streams (CNTO) when solved
    curve: list = field(default_factory=list)   # NTO: correct per curve_block sequences; CNTO: [stream, mean score]
    test_errors: int | None = None    # NTO: misclassified test sequences (of n_test)
    test_scores: list = field(default_factory=list)   # CNTO: sequences per test stream, last full test
    mean_test_score: float | None = None               # CNTO: their mean
    best_mean_test_score: float = 0.0
    train_lengths_tail: list = field(default_factory=list)   # CNTO: the last TAIL training streams' lengths
    cpu_s: float = 0.0

    @classmethod
    def new(cls, config, net):
        return cls(net=net, weights=initial_weights(config, net))

    def record(self):
        return {k: copy.deepcopy(v) for k, v in self.__dict__.items() if k != "weights"}


class _Workspace(NetworkArrays):
    """The arrays a network needs while it runs (rebuilt per call)."""

    def __init__(self, config, weights):
        super().__init__(_template(config.spec[0]), weights, config.variant, nto_steps)

    def arrays(self):
        return (self.state, self.weights, self.test_weights, self.weight_pairs, self.masks, self.traces,
                self.train_work, self.test_work, self.x, self.target, self.y)


def _simulate(config, mode, bases, done, streak, step_budget, flags=None, train_len=None, test_len=None, ws=None):
    """Call :func:`simulate` with the configuration's parameters (unused outputs get empty arrays)."""
    _, _, reset, alpha_decay = config.spec
    flags = np.zeros(0, np.bool_) if flags is None else flags
    train_len = np.zeros(0, np.int64) if train_len is None else train_len
    test_len = np.zeros((0, config.n_test), np.int64) if test_len is None else test_len
    return simulate(mode, bases, done, streak, config.max_train, config.window, config.stream_len, config.n_test,
                    config.full_test_every, float(config.alpha0), float(alpha_decay), bool(reset),
                    config.between == "zero", float(config.tolerance), int(step_budget), flags, train_len, test_len,
                    *ws.arrays())


def _advance_nto(config, run, ws, bases, step_budget, max_per_call):
    chunk = max_per_call or 65536
    while run.outcome is None and step_budget > 0:
        flags = np.zeros(min(chunk, config.max_train - run.done), np.bool_)
        n, streak, outcome, used = _simulate(config, NTO_TRAIN, bases, run.done, run.streak, step_budget, flags=flags,
                                             ws=ws)
        step_budget -= used
        run.train_steps += int(used)
        for i, ok in zip(range(run.done, run.done + n), flags[:n]):
            b = i // config.curve_block
            while len(run.curve) <= b:
                run.curve.append(0)
            run.curve[b] += int(ok)
        run.done += int(n)
        run.streak = int(streak)
        if outcome != NO_OUTCOME:
            errors, _, _, used = _simulate(config, NTO_TEST, bases, 0, 0, 0, ws=ws)
            run.test_errors, run.test_steps = int(errors), run.test_steps + int(used)
            run.outcome = "solved" if outcome == SOLVED else "unsolved"
            run.solved_at = run.done if outcome == SOLVED else None
        if max_per_call:
            break


def _advance_cnto(config, run, ws, bases, step_budget, max_per_call):
    chunk = max_per_call or 4096
    while run.outcome is None and step_budget > 0:
        size = min(chunk, config.max_train - run.done)
        train_len = np.zeros(size, np.int64)
        test_len = np.full((size, config.n_test), SKIPPED, np.int64)
        n, _, outcome, used = _simulate(config, CNTO, bases, run.done, 0, step_budget, train_len=train_len,
                                        test_len=test_len, ws=ws)
        step_budget -= used
        run.train_steps += int(used)   # training and test steps together (CNTO interleaves them)
        for i in np.flatnonzero((test_len[:n] != SKIPPED).all(axis=1)):
            scores = [int(v) for v in test_len[i]]
            run.test_scores, run.mean_test_score = scores, float(np.mean(scores))
            run.curve.append([run.done + int(i) + 1, run.mean_test_score])
            run.best_mean_test_score = max(run.best_mean_test_score, run.mean_test_score)
        run.train_lengths_tail = (run.train_lengths_tail + [int(v) for v in train_len[:n]])[-TAIL:]
        run.done += int(n)
        if outcome != NO_OUTCOME:
            run.outcome = "solved" if outcome == SOLVED else "unsolved"
            run.solved_at = run.done if outcome == SOLVED else None
        if max_per_call:
            break


def advance(config, run, step_budget=DEFAULT_STEP_BUDGET, max_per_call=None):
    """Run network ``run`` for about ``step_budget`` network-steps (at least one training sequence or stream),
    stopping early when it finishes; return the new :class:`NetworkRun` (``run`` is not changed).  The result
    depends on ``config`` and ``run`` alone, however the work is split.  ``max_per_call`` (for tests) stops after
    at most that many training sequences (NTO) or streams (CNTO)."""
    if not isinstance(config, Config):
        raise TypeError(f"config must be a lstm_lit.nto.Config, got {type(config).__name__}")
    if not isinstance(run, NetworkRun):
        raise TypeError(f"run must be a NetworkRun (e.g. NetworkRun.new(config, net)), got {type(run).__name__}")
    config = config.validate()
    if run.outcome is not None:
        return run
    t0 = time.process_time()
    run = copy.deepcopy(run)
    ws = _Workspace(config, run.weights)
    bases = stream_bases(config.seed, run.net)
    (_advance_nto if config.task == "nto" else _advance_cnto)(config, run, ws, bases, step_budget, max_per_call)
    run.weights = ws.weights_dict()
    run.cpu_s += time.process_time() - t0
    return run


def run_network(config, net, step_budget=DEFAULT_STEP_BUDGET):
    """Network ``net`` of the run ``config``, from its initial weights to its outcome (in this process)."""
    run = NetworkRun.new(config, net)
    while run.outcome is None:
        run = advance(config, run, step_budget)
    return run

