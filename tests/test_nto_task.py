"""The NTO generator (lstm_lit.nto.task, numpy Generator) and the keyed compiled one (lstm_lit.nto.streams):
property-based checks of lengths, marker positions and the class read from the order of X and Y."""

import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from lstm_lit.nto import streams, task

# The rules, restated from Hochreiter & Schmidhuber (1997), experiment 6b, independently of the code under test.
WINDOWS = [(10, 20), (33, 43), (66, 76)]
ORDERS = ["XXX", "XXY", "XYX", "XYY", "YXX", "YXY", "YYX", "YYY"]   # classes Q R S U V A B C


def check_sequence(seq):
    s = seq.symbols
    assert 100 <= len(s) <= 110
    assert s[0] == "E" and s[-1] == "B"
    assert "E" not in s[1:] and "B" not in s[:-1]
    marker_steps = [i + 1 for i, c in enumerate(s) if c in "XY"]
    assert marker_steps == list(seq.markers)
    for t, (lo, hi) in zip(marker_steps, WINDOWS):
        assert lo <= t <= hi
    assert set(s[1:-1]) - set("XY") <= set("abcd")
    order = "".join(c for c in s if c in "XY")
    assert seq.label == ORDERS.index(order)
    assert seq.class_name == "QRSUVABC"[ORDERS.index(order)]
    t = seq.targets()
    assert np.all(np.isnan(t[:-1])) and t[-1].tolist() == [float(k == seq.label) for k in range(8)]


@given(st.integers(0, 2**63 - 1))
@settings(max_examples=200, deadline=None)
def test_numpy_generator_properties(seed):
    check_sequence(task.sequence(np.random.default_rng(seed)))


@given(st.integers(0, 2**32), st.integers(0, 50), st.sampled_from([streams.TRAIN, streams.TEST]),
       st.integers(0, 10**6), st.integers(0, 9))
@settings(max_examples=100, deadline=None)
def test_keyed_generator_properties(seed, net, kind, s, k):
    for seq in streams.keyed_sequences(seed, net, kind, s, k, n=3):
        check_sequence(seq)


def test_keyed_streams_are_functions_of_their_key():
    a = streams.keyed_sequences(1, 2, streams.TRAIN, 3, 0, n=2)
    b = streams.keyed_sequences(1, 2, streams.TRAIN, 3, 0, n=3)
    assert all(np.array_equal(x.indices, y.indices) for x, y in zip(a, b))   # a prefix does not depend on n
    c = streams.keyed_sequences(1, 2, streams.TRAIN, 4, 0, n=2)
    assert not np.array_equal(a[0].indices, c[0].indices)


def chisquare_p(counts):
    """Upper tail of Pearson's chi-square against the uniform distribution (Wilson-Hilferty approximation)."""
    counts = np.asarray(counts, float)
    expected = counts.sum() / counts.size
    stat, df = float(((counts - expected) ** 2 / expected).sum()), counts.size - 1
    z = ((stat / df) ** (1 / 3) - (1 - 2 / (9 * df))) / math.sqrt(2 / (9 * df))
    return 0.5 * math.erfc(z / math.sqrt(2))


@pytest.mark.parametrize("draw", ["numpy", "keyed"])
def test_distribution(draw):
    """Lengths, marker steps and classes are uniform: chi-square over 4000 sequences (each test fails with
    probability 1e-4 under the hypothesis; the broken twin below shows it can fail)."""
    if draw == "numpy":
        rng = np.random.default_rng(7)
        seqs = [task.sequence(rng) for _ in range(4000)]
    else:
        seqs = streams.keyed_sequences(7, 0, streams.TRAIN, 1, 0, n=4000)
    assert chisquare_p(np.bincount([len(q.indices) - 100 for q in seqs], minlength=11)) > 1e-4
    assert chisquare_p(np.bincount([q.label for q in seqs], minlength=8)) > 1e-4
    for i, (lo, hi) in enumerate(WINDOWS):
        assert chisquare_p(np.bincount([q.markers[i] - lo for q in seqs], minlength=hi - lo + 1)) > 1e-4
    dist = np.bincount(np.concatenate([q.indices[1:-1] for q in seqs]), minlength=8)[:4]
    assert chisquare_p(dist) > 1e-4
    # broken twin: a length drawn from [100, 109] instead of [100, 110] is detected
    skewed = np.bincount([min(len(q.indices) - 100, 9) for q in seqs], minlength=11)
    assert chisquare_p(skewed) < 1e-4


def test_classifier_rule():
    y = np.full(8, 0.29)
    y[3] = 0.71
    assert task.correct(y, 3)
    assert not task.correct(y, 2)
    y[3] = 0.7   # exactly 0.3 away: not within 0.3
    assert not task.correct(y, 3)
    y[3], y[5] = 0.9, 0.31
    assert not task.correct(y, 3)
    batch = np.stack([np.eye(8)[2] * 0.8 + 0.1, np.eye(8)[2]])
    assert task.correct(batch, np.array([2, 1])).tolist() == [True, False]
    assert task.class_of("XYX") == 2 and task.read_class(task.sequence(np.random.default_rng(3)).indices) >= 0
    with pytest.raises(ValueError, match="three letters"):
        task.class_of("XZX")
