"""Continual embedded Reber streams generated inside compiled code, one independent stream per key.

The CERG protocol opens millions of streams, most of which end after a few symbols.  So a stream is not cut from
a long pre-generated array: its symbols are drawn one at a time, inside the compiled loop that feeds them to the
network, from the grammar's automaton (:func:`lstm_lit.reber.continual_transitions`, as arrays) and a SplitMix64
generator (Steele, Lea & Flood 2014, the seeding generator of ``java.util.SplittableRandom``).

Keys.  Every stream of a run is a pure function of its key:

* training stream ``s`` (1, 2, ...) of network ``net``:  ``(net, 1, s)``;
* test stream ``k`` (0..n_test-1) of the test after training stream ``s``:  ``(net, 2, s, k)``.

``numpy.random.SeedSequence(seed, spawn_key=(net, kind))`` gives one 64-bit base per network and kind; the stream's
generator starts at ``mix(mix(base + s) + k)``, where ``mix`` is SplitMix64's output function (a bijection of 64-bit
words).  Because a stream depends on its key alone, a test may stop early, a run may be split over any number of
workers or interrupted anywhere, and every other stream stays the same.

Every fork of the grammar takes one 64-bit draw and follows its top bit, so each branch has probability exactly 1/2.
"""

import numba
import numpy as np

from .. import reber

GOLDEN = np.uint64(0x9E3779B97F4A7C15)
TRAIN, TEST = 1, 2   # the "kind" of a stream in its key


@numba.njit(cache=True)
def mix(z):
    """SplitMix64's output function: a bijection of uint64 that scatters every input bit over the output."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


@numba.njit(cache=True)
def stream_start(base, s, k):
    """Generator state of the stream with key (base's network and kind, s, k)."""
    return mix(mix(base + np.uint64(s)) + np.uint64(k))


@numba.njit(cache=True)
def next_bit(state):
    """Advance a SplitMix64 state; return (new state, the top bit of its output)."""
    state = state + GOLDEN
    return state, mix(state) >> np.uint64(63)


def stream_bases(seed, net):
    """The 64-bit bases (training, test) of network ``net`` of a run with ``seed``."""
    return np.array([np.random.SeedSequence(seed, spawn_key=(net, kind)).generate_state(1, np.uint64)[0]
                     for kind in (TRAIN, TEST)], dtype=np.uint64)


class Automaton:
    """The continual stream's automaton as arrays (built from :func:`lstm_lit.reber.continual_transitions`).

    ``symbol[q, c]`` and ``next_state[q, c]``: the symbol emitted and the state reached from state ``q`` when the
    fork's bit is ``c`` (a state with one edge ignores the bit); ``forks[q]``: does ``q`` have two edges;
    ``legal[q]``: the multi-hot target after arriving in ``q`` (the symbols that may come next); ``start``: the
    state in which every embedded string begins.
    """

    def __init__(self, outer_be=True):
        table = reber.continual_transitions(outer_be)
        names = list(table)
        number = {name: q for q, name in enumerate(names)}
        n = len(names)
        self.symbol = np.zeros((n, 2), np.int64)
        self.next_state = np.zeros((n, 2), np.int64)
        self.forks = np.zeros(n, np.bool_)
        self.legal = np.zeros((n, len(reber.SYMBOLS)))
        for q, name in enumerate(names):
            edges = table[name]
            if len(edges) not in (1, 2):
                raise ValueError(f"state {name} has {len(edges)} edges; the generator handles 1 or 2")
            self.forks[q] = len(edges) == 2
            for c in (0, 1):
                sym, nxt = edges[c % len(edges)]
                self.symbol[q, c] = reber.SYMBOL_INDEX[sym]
                self.next_state[q, c] = number[nxt]
            for sym, _ in edges:
                self.legal[q, reber.SYMBOL_INDEX[sym]] = 1.0
        self.start = number[reber.string_start_state(outer_be)]
        self.outer_be = bool(outer_be)

    def arrays(self):
        """(symbol, next_state, forks, legal, start): what the compiled loops take."""
        return self.symbol, self.next_state, self.forks, self.legal, self.start


@numba.njit(cache=True)
def next_symbol(rng, q, symbol, next_state, forks):
    """One symbol of a stream: returns (rng, symbol, the state after it).  ``rng`` must be a uint64 (mixing it
    with a signed integer would turn it into a float)."""
    c = np.int64(0)
    if forks[q]:
        rng, bit = next_bit(rng)
        c = np.int64(bit)
    return rng, symbol[q, c], next_state[q, c]


@numba.njit(cache=True)
def _symbols(rng_start, q, n, symbol, next_state, forks, legal, start):
    rng = np.uint64(rng_start)
    indices = np.empty(n, np.int64)
    targets = np.empty((n, legal.shape[1]))
    starts = np.empty(n, np.bool_)
    for t in range(n):
        starts[t] = q == start
        rng, indices[t], q = next_symbol(rng, q, symbol, next_state, forks)
        targets[t] = legal[q]
    return indices, targets, starts, rng, q


def keyed_stream(seed, net, kind, s, k=0, n=100, outer_be=True):
    """The first ``n`` symbols of the stream with key ``(net, kind, s, k)`` of a run with ``seed``, as
    :class:`lstm_lit.reber.ReberStream` (for tests and for the chapter; the engine draws symbols one at a time)."""
    auto = Automaton(outer_be)
    base = stream_bases(seed, net)[kind - 1]
    idx, tgt, starts, _, _ = _symbols(np.uint64(stream_start(base, s, k)), auto.start, n, *auto.arrays())
    return reber.ReberStream(indices=idx, targets=tgt, string_starts=np.flatnonzero(starts), outer_be=bool(outer_be))


class KeyedStream:
    """A stream read in windows by Python code (the per-step reference engine, :mod:`lstm_lit.cerg.stepwise`)."""

    def __init__(self, base, s, k, automaton):
        self.rng, self.q, self.auto = np.uint64(stream_start(base, s, k)), automaton.start, automaton

    def take(self, n):
        """The next ``n`` symbols: (unit indices, multi-hot targets, embedded-string-start flags)."""
        idx, tgt, starts, rng, self.q = _symbols(self.rng, self.q, n, *self.auto.arrays())
        self.rng = np.uint64(rng)
        return idx, tgt, starts
