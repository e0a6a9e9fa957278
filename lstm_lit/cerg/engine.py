"""The compiled CERG engine: whole training streams and tests of one network in one Numba call.

The step arithmetic is not written here: :func:`run_streams` calls the training step and the forward-only test step
that :mod:`lstm_lit.codegen_numba` printed from the SymPy statements for the CERG net's sizes
(:mod:`lstm_lit.generated.cerg_steps`; the test step reads the weights source-major, so before every test this module
copies them into that layout).  This module writes only the bookkeeping around them, by hand: drawing each stream's
symbols
(:mod:`lstm_lit.cerg.streams`), the 0.49 rule, stream ends and caps, the external reset, alpha-decay, the test with
its exact early exit (:mod:`lstm_lit.cerg.protocol`) and the stop rules.

A network between two training streams is fully described by its weights and a few counters (every stream starts
from the zero state and zero traces, and every stream is drawn from its own key), so :class:`NetworkRun` is all a
checkpoint holds and all a worker needs.  :func:`advance` runs one network for a bounded amount of work and returns
the new :class:`NetworkRun`: this is the task that local processes or a Dask cluster execute
(:mod:`lstm_lit.cerg.runner`), and how the work is split never changes the results.

Reproducibility.  No kernel is compiled with ``fastmath``, so the compiler may not reorder, fuse or approximate any
floating-point operation, and the sigmoid is made of additions, multiplications and one division (no ``exp`` or
``tanh`` from the system's math library, whose last bit differs between CPUs and library versions).  A run is
therefore a function of its configuration alone: the same seed gives the same bits on any number of workers, after
any interruption, and on every IEEE-754 machine; ``tests/test_engine.py`` compares a run compiled for the host CPU
with one compiled for baseline x86-64.  Statistical tests still judge learning over many networks, never the fate
of one (a chaotic trajectory would magnify any difference that a future compiler introduced).
"""

from __future__ import annotations

import copy
import functools
import time
from dataclasses import dataclass, field

import numba
from numba import literal_unroll
import numpy as np

from ..generated import cerg_steps
from ..network import LSTMNetwork
from ..network_arrays import FORGET_GATE_WEIGHTS, NetworkArrays, copy_source_major
from . import streams
from .protocol import CRITERIA, SIZES, VARIANTS, Config

NO_OUTCOME, PERFECT, LAST_STREAM = 0, 1, 2
SKIPPED = -1   # error-free length of a test stream that early exit did not run
DEFAULT_STEP_BUDGET = 20_000_000   # network-steps per call of advance (about 10 s on one core)


@numba.njit(cache=True)
def _zero(arrays):
    for a in literal_unroll(arrays):
        a.fill(0.0)


@numba.njit(cache=True)
def _correct(y, target, criterion, tolerance):
    """The 0.49 rule for network 0 of ``y``/``target`` (criterion 0: abs, 1: sq, 2: mse; see protocol)."""
    d = y.shape[1]
    if criterion == 2:
        total = 0.0
        for m in range(d):
            e = y[0, m] - target[0, m]
            if m == 0:
                total = e * e
            else:
                total = total + e * e
        return total / d < tolerance
    for m in range(d):
        e = y[0, m] - target[0, m]
        if criterion == 0:
            if not abs(e) < tolerance:
                return False
        elif not e * e < tolerance:
            return False
    return True


@numba.njit(cache=True)
def _run_stream(training, rng_start, cap, alpha, alpha_decay, reset_strings, criterion,
                tolerance, state_decay, state, weights, masks, traces, train_work, test_work, x, target, y,
                symbol, next_state, forks, legal, start):
    """One stream from the zero state: returns (error-free length, steps taken).  ``weights`` are source-major
    (:func:`lstm_lit.network_arrays.source_major`) for a test stream (``training`` False)."""
    rng = np.uint64(rng_start)
    _zero(state)
    _zero(traces)
    q = start
    length = 0
    steps = 0
    while True:
        if reset_strings and q == start and steps > 0:   # external reset: every embedded string from zero
            _zero(state)
            _zero(traces)
        rng, sym, q = streams.next_symbol(rng, q, symbol, next_state, forks)
        for m in range(x.shape[1]):
            x[0, m] = 0.0
        x[0, sym] = 1.0
        for m in range(target.shape[1]):
            target[0, m] = legal[q, m]
        # The steps printed for the CERG net's fixed sizes, of the LSTM that ``weights`` belong to: len(weights) of an
        # argument is a constant when Numba compiles, so only one branch is compiled, and the kernel is called
        # directly (through a wrapper, a second call would pass every field of every array again).
        if training:
            if len(weights) == FORGET_GATE_WEIGHTS:
                cerg_steps.train_step_net(0, x, target, alpha, state_decay, state, weights, masks, traces, train_work, y)
            else:
                cerg_steps.train_step_1997_net(0, x, target, alpha, state_decay, state, weights, masks, traces,
                                               train_work, y)
            alpha *= alpha_decay
        elif len(weights) == FORGET_GATE_WEIGHTS:
            cerg_steps.test_step_net(0, x, state_decay, state, weights, test_work, y)
        else:
            cerg_steps.test_step_1997_net(0, x, state_decay, state, weights, test_work, y)
        steps += 1
        if not _correct(y, target, criterion, tolerance):
            return length, steps
        length += 1
        if length >= cap:
            return length, steps


@numba.njit(cache=True)
def run_streams(state, weights, test_weights, weight_pairs, masks, traces, train_work, test_work, x, target, y,
                symbol, next_state, forks, legal, start, bases, state_decay, alpha0, alpha_decay, reset_strings,
                criterion, tolerance, streams_done, max_streams, n_test, train_cap, test_cap, full_test_every,
                step_budget, train_len, train_steps, test_len, test_steps):
    """Training streams ``streams_done + 1, ...``, each followed by its test, until the network is perfect, reaches
    ``max_streams``, has used ``step_budget`` steps, or the output arrays (one row per stream) are full.

    Returns (streams run, outcome code): NO_OUTCOME, PERFECT or LAST_STREAM.  A test not on the full-test schedule
    stops at its first stream shorter than ``test_cap``; the streams it skips get length SKIPPED.
    ``test_weights`` (source-major) are refreshed from ``weights`` before every test (``weight_pairs`` pairs
    them up).
    """
    n = 0
    used = 0
    while n < train_len.size:
        s = streams_done + n + 1
        length, steps = _run_stream(True, streams.stream_start(bases[0], s, 0), train_cap,
                                    alpha0, alpha_decay, reset_strings, criterion, tolerance, state_decay, state,
                                    weights, masks, traces, train_work, test_work, x, target, y,
                                    symbol, next_state, forks, legal, start)
        train_len[n] = length
        train_steps[n] = steps
        used += steps
        full = s % full_test_every == 0 or s == max_streams
        copy_source_major(weight_pairs)
        capped = 0
        spent = 0
        for k in range(n_test):
            length, steps = _run_stream(False, streams.stream_start(bases[1], s, k),
                                        test_cap, 0.0, 1.0, reset_strings, criterion, tolerance, state_decay, state,
                                        test_weights, masks, traces, train_work, test_work, x, target, y,
                                        symbol, next_state, forks, legal, start)
            test_len[n, k] = length
            spent += steps
            if length >= test_cap:
                capped += 1
            elif not full:   # exact early exit: this test cannot make the network perfect
                for rest in range(k + 1, n_test):
                    test_len[n, rest] = SKIPPED
                break
        test_steps[n] = spent
        used += spent
        n += 1
        if capped == n_test:
            return n, PERFECT
        if s == max_streams:
            return n, LAST_STREAM
        if used >= step_budget:
            break
    return n, NO_OUTCOME


TAIL = 100   # training-stream lengths kept per network


@functools.lru_cache(maxsize=None)
def _template(forget_gates, state_decay):
    """A one-network LSTMNetwork of the CERG shape (building one evaluates the connectivity in SymPy: do it once)."""
    return LSTMNetwork(**SIZES, batch=1, forget_gates=forget_gates, connectivity="cerg", state_decay=state_decay)


def initial_weights(config, net):
    """The paper's initial weights of network ``net`` (seeded by ``SeedSequence(seed, spawn_key=(net,))``)."""
    fg, decay, _, _ = VARIANTS[config.variant]
    one = _template(fg, decay)
    one.initialise(np.random.default_rng(np.random.SeedSequence(config.seed, spawn_key=(net,))))
    return {name: w[0].copy() for name, w in one.weights.items()}


@dataclass
class NetworkRun:
    """One network between two training streams: its weights and its record so far (all a checkpoint holds)."""

    net: int
    weights: dict
    streams: int = 0                 # training streams finished (each with its test)
    train_steps: int = 0
    test_steps: int = 0
    test_streams: int = 0            # test streams run (early exit skips some)
    outcome: str | None = None       # "perfect" / "good" / "rest" when finished
    test_lengths: list = field(default_factory=list)        # error-free lengths of the last full test
    mean_test_length: float | None = None                   # their mean
    best_mean_test_length: float = 0.0                      # best mean over the full tests
    first_good_stream: int | None = None                    # first full test whose mean exceeds good_threshold
    curve: list = field(default_factory=list)               # [stream, mean test length] of every full test
    train_lengths_tail: list = field(default_factory=list)  # error-free lengths of the last TAIL training streams
    cpu_s: float = 0.0                                      # process CPU time spent on this network

    @classmethod
    def new(cls, config, net):
        return cls(net=net, weights=initial_weights(config, net))

    def record(self):
        """The JSON-able record (everything but the weights)."""
        d = {k: copy.deepcopy(v) for k, v in self.__dict__.items() if k != "weights"}
        return d

    def absorb(self, config, n, outcome, train_len, train_steps, test_len, test_steps):
        """Fold the per-stream results of one :func:`run_streams` call into the record."""
        ran = test_len[:n] != SKIPPED
        self.train_steps += int(train_steps[:n].sum())
        self.test_steps += int(test_steps[:n].sum())
        self.test_streams += int(ran.sum())
        for i in np.flatnonzero(ran.all(axis=1)):   # the full tests (on the schedule, or a perfect one)
            lengths = test_len[i]
            mean = float(np.mean(lengths))
            stream = self.streams + int(i) + 1
            self.test_lengths = [int(v) for v in lengths]
            self.mean_test_length = mean
            self.curve.append([stream, mean])
            self.best_mean_test_length = max(self.best_mean_test_length, mean)
            if mean > config.good_threshold and self.first_good_stream is None:
                self.first_good_stream = stream
        self.streams += int(n)
        self.train_lengths_tail = (self.train_lengths_tail + [int(v) for v in train_len[:n]])[-TAIL:]
        if outcome == PERFECT:
            self.outcome = "perfect"
        elif outcome == LAST_STREAM:
            self.outcome = "good" if self.mean_test_length > config.good_threshold else "rest"


class _Workspace(NetworkArrays):
    """The arrays a network needs while it runs (rebuilt per call: cheap next to the work)."""

    def __init__(self, config, weights):
        fg, decay, reset, alpha_decay = VARIANTS[config.variant]
        super().__init__(_template(fg, decay), weights, config.variant, cerg_steps)
        auto = streams.Automaton(config.outer_be)
        self.tables = auto.arrays()
        self.params = (float(decay), float(config.alpha0), float(alpha_decay), bool(reset),
                       CRITERIA.index(config.criterion), float(config.tolerance))


def advance(config, run, step_budget=DEFAULT_STEP_BUDGET, max_streams_per_call=None):
    """Run network ``run`` (a :class:`NetworkRun`) for about ``step_budget`` network-steps (always at least one
    training stream and its test), stopping early when it finishes; return the new :class:`NetworkRun`.

    The result depends on ``config`` and ``run`` alone: calling ``advance`` once with a large budget or many times
    with small ones gives identical records and weights.  ``run`` itself is not changed.  ``max_streams_per_call``
    (for tests) stops after at most that many training streams instead.
    """
    if not isinstance(config, Config):
        raise TypeError(f"config must be a lstm_lit.cerg.Config, got {type(config).__name__}")
    if not isinstance(run, NetworkRun):
        raise TypeError(f"run must be a NetworkRun (e.g. NetworkRun.new(config, net)), got {type(run).__name__}")
    config = config.validate()
    if run.outcome is not None:
        return run
    t0 = time.process_time()
    run = copy.deepcopy(run)
    ws = _Workspace(config, run.weights)
    bases = streams.stream_bases(config.seed, run.net)
    chunk = max_streams_per_call or 4096
    while run.outcome is None and step_budget > 0:
        train_len = np.zeros(chunk, np.int64)
        train_steps = np.zeros(chunk, np.int64)
        test_len = np.full((chunk, config.n_test), SKIPPED, np.int64)
        test_steps = np.zeros(chunk, np.int64)
        n, outcome = run_streams(ws.state, ws.weights, ws.test_weights, ws.weight_pairs, ws.masks, ws.traces,
                                 ws.train_work, ws.test_work, ws.x, ws.target, ws.y, *ws.tables, bases, *ws.params,
                                 run.streams, config.max_streams, config.n_test, config.train_cap, config.test_cap,
                                 config.full_test_every, step_budget, train_len, train_steps, test_len, test_steps)
        step_budget -= int(train_steps[:n].sum() + test_steps[:n].sum())
        run.absorb(config, n, outcome, train_len, train_steps, test_len, test_steps)
        if max_streams_per_call:
            break
    run.weights = ws.weights_dict()
    run.cpu_s += time.process_time() - t0
    return run


@numba.njit(cache=True)
def _full_test(state, weights, masks, traces, train_work, test_work, x, target, y,
               symbol, next_state, forks, legal, start, test_base, state_decay, reset_strings,
               criterion, tolerance, after_stream, test_cap, lengths):
    """Every one of ``lengths.size`` test streams keyed (net, 2, after_stream, k), each to its first error or the cap
    (``weights`` source-major: :func:`lstm_lit.network_arrays.source_major`)."""
    for k in range(lengths.size):
        lengths[k], _ = _run_stream(False, streams.stream_start(test_base, after_stream, k), test_cap, 0.0, 1.0,
                                    reset_strings, criterion, tolerance, state_decay, state, weights, masks, traces,
                                    train_work, test_work, x, target, y, symbol, next_state, forks, legal, start)


RETEST_STREAM = 1_000_000
"""The stream index that keys re-tests (:func:`test_network`): above any training stream (at most 30,000 in the
paper), so a re-test never sees a stream that the protocol's own tests used."""


def test_network(config, weights, net, after_stream=RETEST_STREAM):
    """A full test (``config.n_test`` streams, each to its first error or ``config.test_cap``) of a network with
    ``weights``, without learning; returns the error-free lengths.

    The streams are keyed like the protocol's own test after training stream ``after_stream`` of network ``net``.
    The default key is one the protocol never uses, which makes this a fresh, independent test: e.g. of a network
    that was perfect at caps of 10^4, tested at the paper's 10^5.
    """
    if not isinstance(config, Config):
        raise TypeError(f"config must be a lstm_lit.cerg.Config, got {type(config).__name__}")
    config = config.validate()
    if isinstance(net, bool) or not isinstance(net, (int, np.integer)) or net < 0:
        raise ValueError(f"net must be a network index >= 0, got {net!r}")
    if isinstance(after_stream, bool) or not isinstance(after_stream, (int, np.integer)) or after_stream < 0:
        raise ValueError(f"after_stream must be a stream index >= 0, got {after_stream!r}")
    ws = _Workspace(config, weights)
    bases = streams.stream_bases(config.seed, int(net))
    lengths = np.zeros(config.n_test, np.int64)
    decay, _, _, reset, criterion, tolerance = ws.params
    _full_test(ws.state, ws.test_weights, ws.masks, ws.traces, ws.train_work, ws.test_work, ws.x, ws.target, ws.y,
               *ws.tables, bases[1], decay, reset, criterion, tolerance, int(after_stream), config.test_cap, lengths)
    return [int(v) for v in lengths]


def run_network(config, net, step_budget=DEFAULT_STEP_BUDGET):
    """Network ``net`` of the run ``config``, from its initial weights to its outcome (in this process)."""
    run = NetworkRun.new(config, net)
    while run.outcome is None:
        run = advance(config, run, step_budget)
    return run
