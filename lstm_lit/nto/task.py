"""The noisy temporal order (NTO) task: Hochreiter & Schmidhuber (1997), section 5.6, experiment 6b, and its
continual version (Gers, Schmidhuber & Cummins 2000, section 5).

A sequence has a random length ``L`` in [100, 110] (uniform).  Time steps are counted from 1, as in the 1997 paper:
step 1 holds ``E``, step ``L`` holds the trigger ``B``, three steps ``t1`` in [10, 20], ``t2`` in [33, 43],
``t3`` in [66, 76] hold ``X`` or ``Y``, and every other step holds a distractor drawn uniformly from ``a b c d``.
Each of ``t1, t2, t3`` and each of the three X/Y choices is uniform and independent.  The class is the order of the
three markers, ``XXX -> Q, XXY -> R, XYX -> S, XYY -> U, YXX -> V, YXY -> A, YYX -> B, YYY -> C``: with X = 0 and
Y = 1 the class index is ``4 b1 + 2 b2 + b3``.  The target is given only at step ``L``: the one-hot vector of the
class over 8 output units.  A classification is **correct** when every output unit is within 0.3 of its target.

The continual version concatenates sequences without any reset in between: a *stream* of up to 100 sequences, each
still starting with ``E`` and ending with ``B`` and classified at its ``B``.

This module draws sequences with a ``numpy.random.Generator`` (for the book and for checks); the experiment draws
the same distribution inside compiled code from keyed SplitMix64 streams (:mod:`lstm_lit.nto.streams`).

>>> import numpy as np
>>> seq = sequence(np.random.default_rng(0))
>>> "".join(seq.symbols[t - 1] for t in seq.markers), seq.class_name == CLASS_NAMES[seq.label]
('XXX', True)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SYMBOLS = "abcdBEXY"
"""The 8 input units, in order: four distractors, the trigger B, the start E, and the markers X, Y."""
SYMBOL_INDEX = {s: i for i, s in enumerate(SYMBOLS)}
DISTRACTORS = "abcd"
START, TRIGGER, MARKERS = "E", "B", "XY"
CLASS_NAMES = "QRSUVABC"
"""Class names of the 1997 paper for XXX, XXY, XYX, XYY, YXX, YXY, YYX, YYY."""
LENGTH = (100, 110)
"""Shortest and longest sequence (inclusive)."""
MARKER_WINDOWS = ((10, 20), (33, 43), (66, 76))
"""Steps (from 1, inclusive) that may hold the first, second and third marker."""
N_CLASSES = 8
TOLERANCE = 0.3
STREAM_SEQUENCES = 100
"""Sequences per continual stream (Gers et al. 2000)."""


def class_of(order):
    """The class index (0..7) of a marker order such as ``"XYX"``."""
    if not (isinstance(order, str) and len(order) == 3 and set(order) <= set(MARKERS)):
        raise ValueError(f"order must be three letters from 'XY', got {order!r}")
    return sum(MARKERS.index(m) << (2 - i) for i, m in enumerate(order))


def target(label):
    """The one-hot target (8,) of class ``label``."""
    t = np.zeros(N_CLASSES)
    t[label] = 1.0
    return t


def correct(y, label, tolerance=TOLERANCE):
    """The classifier rule: is output ``y`` (..., 8) within ``tolerance`` of the target of ``label`` at every unit?"""
    y = np.asarray(y, dtype=float)
    if y.shape[-1] != N_CLASSES:
        raise ValueError(f"y must have {N_CLASSES} output units on its last axis, got shape {y.shape}")
    t = np.zeros(y.shape)
    np.put_along_axis(t, np.asarray(label)[..., None] * np.ones(y.shape[:-1] + (1,), dtype=int), 1.0, axis=-1)
    return np.all(np.abs(y - t) < tolerance, axis=-1)


@dataclass(frozen=True)
class Sequence:
    """One NTO sequence: ``indices`` (L,) input units, ``markers`` (t1, t2, t3) as steps from 1, ``label`` 0..7."""

    indices: np.ndarray
    markers: tuple
    label: int

    @property
    def symbols(self):
        return "".join(SYMBOLS[i] for i in self.indices)

    @property
    def class_name(self):
        return CLASS_NAMES[self.label]

    @property
    def inputs(self):
        """One-hot inputs (L, 8)."""
        return np.eye(len(SYMBOLS))[self.indices]

    def targets(self, between=np.nan):
        """Targets (L, 8): the class's one-hot at step L; ``between`` (NaN: no target) at every other step."""
        t = np.full((len(self.indices), N_CLASSES), between, dtype=float)
        t[-1] = target(self.label)
        return t


def sequence(rng):
    """One NTO sequence drawn with the ``numpy.random.Generator`` ``rng``."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError("rng must be a numpy.random.Generator (e.g. numpy.random.default_rng(seed))")
    length = int(rng.integers(LENGTH[0], LENGTH[1] + 1))
    markers = tuple(int(rng.integers(lo, hi + 1)) for lo, hi in MARKER_WINDOWS)
    bits = rng.integers(0, 2, size=3)
    idx = rng.integers(0, len(DISTRACTORS), size=length)
    idx[0], idx[-1] = SYMBOL_INDEX[START], SYMBOL_INDEX[TRIGGER]
    for t, b in zip(markers, bits):
        idx[t - 1] = SYMBOL_INDEX[MARKERS[b]]
    return Sequence(indices=idx, markers=markers, label=int(4 * bits[0] + 2 * bits[1] + bits[2]))


def stream(rng, n=STREAM_SEQUENCES):
    """A continual NTO stream: ``n`` sequences drawn one after another (concatenate their ``indices``)."""
    return [sequence(rng) for _ in range(n)]


def read_class(indices):
    """The class of a sequence read off its inputs alone (the markers' order), for checks."""
    order = "".join(SYMBOLS[i] for i in indices if SYMBOLS[i] in MARKERS)
    return class_of(order)
