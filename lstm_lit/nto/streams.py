"""NTO sequences drawn inside compiled code, from keyed SplitMix64 generators (as the CERG streams,
:mod:`lstm_lit.cerg.streams`, whose ``mix``, ``next_bit``, ``stream_start`` and ``stream_bases`` this reuses).

Keys.  Every sequence or stream of a run is a pure function of its key, so a run may be split or interrupted
anywhere and every other sequence stays the same:

* NTO, training sequence ``s`` (1, 2, ...) of network ``net``: ``(net, TRAIN, s, 0)``;
  final test sequence ``k`` (0, 1, ...): ``(net, TEST, 0, k)``;
* continual NTO, training stream ``s``: ``(net, TRAIN, s, 0)``; test stream ``k`` of the test after training
  stream ``s``: ``(net, TEST, s, k)``.  The sequences of a stream are drawn one after another from its generator.

A sequence is drawn in the order: length, t1, t2, t3, the three marker bits, then one draw per distractor as the
steps are fed to the network.  An integer in [lo, hi] is ``lo + (w mod (hi - lo + 1))`` for a 64-bit output ``w``
(bias below 10^-18 for these ranges); a marker is the top bit of one output.  The distribution is the one of
:func:`lstm_lit.nto.task.sequence`, with another generator.
"""

import numba
import numpy as np

from ..cerg.streams import GOLDEN, TEST, TRAIN, mix, next_bit, stream_bases, stream_start  # noqa: F401
from .task import LENGTH, MARKER_WINDOWS, SYMBOL_INDEX, Sequence

E_UNIT, B_UNIT, X_UNIT = SYMBOL_INDEX["E"], SYMBOL_INDEX["B"], SYMBOL_INDEX["X"]
(T1_LO, T1_HI), (T2_LO, T2_HI), (T3_LO, T3_HI) = MARKER_WINDOWS
L_LO, L_HI = LENGTH


@numba.njit(cache=True)
def uniform(rng, lo, hi):
    """Advance ``rng``; return (rng, an integer uniform in [lo, hi])."""
    rng = rng + GOLDEN
    return rng, lo + np.int64(mix(rng) % np.uint64(hi - lo + 1))


@numba.njit(cache=True)
def layout(rng):
    """Draw a sequence's layout: returns (rng, L, t1, t2, t3, label)."""
    rng, length = uniform(rng, L_LO, L_HI)
    rng, t1 = uniform(rng, T1_LO, T1_HI)
    rng, t2 = uniform(rng, T2_LO, T2_HI)
    rng, t3 = uniform(rng, T3_LO, T3_HI)
    label = np.int64(0)
    for _ in range(3):
        rng, bit = next_bit(rng)
        label = 2 * label + np.int64(bit)
    return rng, length, t1, t2, t3, label


@numba.njit(cache=True)
def symbol_at(rng, t, length, t1, t2, t3, label):
    """The input unit at step ``t`` (from 1) of the sequence with this layout: returns (rng, unit)."""
    if t == 1:
        return rng, E_UNIT
    if t == length:
        return rng, B_UNIT
    if t == t1:
        return rng, X_UNIT + (label >> 2) % 2
    if t == t2:
        return rng, X_UNIT + (label >> 1) % 2
    if t == t3:
        return rng, X_UNIT + label % 2
    return uniform(rng, 0, 3)


@numba.njit(cache=True)
def _draw(rng_start, n, out, info):
    rng = np.uint64(rng_start)
    pos = 0
    for j in range(n):
        rng, length, t1, t2, t3, label = layout(rng)
        info[j, 0], info[j, 1], info[j, 2], info[j, 3], info[j, 4] = length, t1, t2, t3, label
        for t in range(1, length + 1):
            rng, out[pos] = symbol_at(rng, t, length, t1, t2, t3, label)
            pos += 1
    return pos


def keyed_sequences(seed, net, kind, s, k=0, n=1):
    """The first ``n`` sequences of the generator with key ``(net, kind, s, k)`` of a run with ``seed``, as
    :class:`lstm_lit.nto.task.Sequence` (for tests and the chapter; the engine draws the same symbols step by step)."""
    base = stream_bases(seed, net)[kind - 1]
    out = np.empty(n * L_HI, np.int64)
    info = np.empty((n, 5), np.int64)
    _draw(np.uint64(stream_start(base, s, k)), n, out, info)
    seqs, pos = [], 0
    for length, t1, t2, t3, label in info:
        seqs.append(Sequence(indices=out[pos:pos + length].copy(), markers=(int(t1), int(t2), int(t3)),
                             label=int(label)))
        pos += length
    return seqs
