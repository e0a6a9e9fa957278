"""Tests of lstm_lit.reber (grammars, targets, recognisers) and lstm_lit.symbolic.reber_chain (exact statistics).

Oracles are kept apart from the code under test: regular expressions written from the Reber graph, a walk of
the graph for the targets, and Monte Carlo averages for the Markov-chain results.
"""

import itertools
import random
import re

import numpy as np
import pytest
import sympy as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from lstm_lit import reber
from lstm_lit.symbolic import reber_chain

# ---------------------------------------------------------------------------------------------------------------
# Oracles

# From state 3 to the final E's predecessor: T*V, then any number of (P X T* V), then V or P S.
_FROM_STATE_3 = "T*V(?:PXT*V)*(?:V|PS)"
REBER_RE = f"B(?:TS*X(?:S|X{_FROM_STATE_3})|P{_FROM_STATE_3})E"
EMBEDDED_BODY_RE = f"(?:T{REBER_RE}T|P{REBER_RE}P)"
EMBEDDED_RE = f"B{EMBEDDED_BODY_RE}E"
ORACLE = {
    "reber": re.compile(REBER_RE),
    "embedded": re.compile(EMBEDDED_RE),
    "continual": re.compile(f"(?:{EMBEDDED_RE})*"),
    "continual_no_be": re.compile(f"{EMBEDDED_BODY_RE}*"),
}

# Examples from the Reber-grammar page of N. Schraudolph's NN course (cnl.salk.edu/~schraudo/teach/NNcourse).
PUBLISHED_REBER = ["BTSSXXTVVE", "BPVVE", "BTXXVPSE", "BPVPXVPXVPXVVE", "BTSXXVPSE"]
PUBLISHED_NON_REBER = ["BTSSPXSE", "BPTVVB", "BTXXVVSE", "BPVSPSE", "BTSSSE"]


def graph_walk_targets(symbols, outer_be):
    """Legal next symbols after every prefix, by walking the Reber graph; None as soon as a symbol is illegal."""
    graph = {state: dict(edges) for state, edges in reber.REBER_TRANSITIONS.items()}
    phase, branch, state, targets = ("outer B" if outer_be else "branch"), None, None, []
    for symbol in symbols:
        if phase == "outer B" and symbol == "B":
            phase = "branch"
        elif phase == "branch" and symbol in "TP":
            phase, branch, state = "inner", symbol, reber.REBER_START_STATE
        elif phase == "inner" and symbol in graph.get(state, {}):
            state = graph[state][symbol]
            phase = "closing" if state == reber.REBER_FINAL_STATE else "inner"
        elif phase == "closing" and symbol == branch:
            phase = "outer E" if outer_be else "branch"
        elif phase == "outer E" and symbol == "E":
            phase = "outer B"
        else:
            return None
        legal = {"outer B": "B", "branch": "TP", "closing": branch, "outer E": "E"}.get(phase) or "".join(graph[state])
        targets.append([1.0 if s in legal else 0.0 for s in "BTPSXVE"])
    return np.array(targets).reshape(-1, 7)


seeds = st.integers(0, 2**63 - 1)


def whole_strings_stream(seed, n_strings, outer_be):
    """A stream of n_strings whole embedded strings."""
    rng = np.random.default_rng(seed)
    return next(reber.iter_continual_stream(rng, outer_be=outer_be, strings_per_chunk=n_strings))


# ---------------------------------------------------------------------------------------------------------------
# The grammar and the recognisers


def test_symbol_order():
    assert reber.SYMBOLS == "BTPSXVE"
    assert [reber.SYMBOL_INDEX[s] for s in "BTPSXVE"] == list(range(7))


def test_regex_oracle_agrees_with_published_examples():
    assert all(ORACLE["reber"].fullmatch(s) for s in PUBLISHED_REBER)
    assert not any(ORACLE["reber"].fullmatch(s) for s in PUBLISHED_NON_REBER)


def test_recogniser_on_published_examples():
    assert all(reber.is_reber(s) for s in PUBLISHED_REBER)
    assert not any(reber.is_reber(s) for s in PUBLISHED_NON_REBER)


def test_recogniser_matches_regex_on_every_short_string():
    counts = {}
    for n in range(7):
        for middle in itertools.product("TPSXV", repeat=n):
            s = "B" + "".join(middle) + "E"
            accepted = reber.is_reber(s)
            assert accepted == bool(ORACLE["reber"].fullmatch(s)), s
            counts[len(s)] = counts.get(len(s), 0) + accepted
    # Published count (J. McCaffrey, "Programmatically generating Reber grammar strings", 2015): 7 of length 8.
    assert counts[8] == 7
    assert min(length for length, count in counts.items() if count) == 5  # BTXSE and BPVVE


@settings(max_examples=60, deadline=None)
@given(seeds)
def test_generated_strings_are_accepted(seed):
    rng = np.random.default_rng(seed)
    r, e = reber.reber_string(rng), reber.embedded_reber_string(rng)
    assert reber.is_reber(r) and ORACLE["reber"].fullmatch(r)
    assert reber.is_embedded_reber(e) and ORACLE["embedded"].fullmatch(e)
    assert not reber.is_embedded_reber(r) and not reber.is_reber(e)
    assert e[1] == e[-2] and reber.is_reber(e[2:-2])


@st.composite
def corrupted(draw, text):
    """text with one symbol substituted, deleted or inserted (the result may still be legal)."""
    position = draw(st.integers(0, len(text)))
    symbol = draw(st.sampled_from(reber.SYMBOLS))
    operation = draw(st.sampled_from(["substitute", "delete", "insert"]))
    if operation == "insert":
        return text[:position] + symbol + text[position:]
    position = min(position, len(text) - 1)
    return text[:position] + (symbol if operation == "substitute" else "") + text[position + 1 :]


@settings(max_examples=200, deadline=None)
@given(st.data(), seeds)
def test_recognisers_on_corrupted_strings_agree_with_regex(data, seed):
    rng = np.random.default_rng(seed)
    r = data.draw(corrupted(reber.reber_string(rng)))
    e = data.draw(corrupted(reber.embedded_reber_string(rng)))
    stream = data.draw(corrupted(whole_strings_stream(seed, 3, True).symbols))
    stream_no_be = data.draw(corrupted(whole_strings_stream(seed, 3, False).symbols))
    assert reber.is_reber(r) == bool(ORACLE["reber"].fullmatch(r)), r
    assert reber.is_embedded_reber(e) == bool(ORACLE["embedded"].fullmatch(e)), e
    assert reber.is_continual_stream(stream) == bool(ORACLE["continual"].fullmatch(stream)), stream
    assert reber.is_continual_stream(stream_no_be, outer_be=False) == bool(
        ORACLE["continual_no_be"].fullmatch(stream_no_be)
    ), stream_no_be


def test_some_corruptions_stay_legal():
    # Deleting one S of BTSXSE gives BTXSE, still a Reber string: the oracle, not the corruption, decides.
    assert reber.is_reber("BTSXSE") and reber.is_reber("BTXSE")
    assert not reber.is_reber("BTSXSXE")


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=reber.SYMBOLS, max_size=25))
def test_recognisers_on_arbitrary_strings_agree_with_regex(text):
    for s in (text, "B" + text + "E", "BT" + text + "TE", "BP" + text + "PE"):
        assert reber.is_reber(s) == bool(ORACLE["reber"].fullmatch(s))
        assert reber.is_embedded_reber(s) == bool(ORACLE["embedded"].fullmatch(s))
        assert reber.is_continual_stream(s) == bool(ORACLE["continual"].fullmatch(s))
        assert reber.is_continual_stream(s, outer_be=False) == bool(ORACLE["continual_no_be"].fullmatch(s))


@settings(max_examples=60, deadline=None)
@given(seeds, st.booleans(), st.data())
def test_prefix_of_a_stream_is_a_valid_prefix(seed, outer_be, data):
    full = whole_strings_stream(seed, 4, outer_be)
    n = data.draw(st.integers(0, len(full)))
    prefix = full.symbols[:n]
    parse = reber.parse_continual_stream(prefix, outer_be=outer_be)
    at_boundary = n in set(full.string_starts.tolist()) | {len(full)}
    assert parse.valid_prefix and parse.error_position is None
    assert parse.complete == at_boundary == reber.is_continual_stream(prefix, outer_be=outer_be)
    assert reber.is_continual_stream(prefix, outer_be=outer_be, allow_prefix=True)
    expected_next = reber.decode_targets(full.targets[n - 1 : n])[0] if n else ("B" if outer_be else "TP")
    assert parse.legal_next == expected_next


def test_parse_reports_the_first_illegal_symbol():
    parse = reber.parse_continual_stream("BTBTXSETEBPBPVVETE")
    assert not parse.valid_prefix and not parse.complete
    assert parse.error_position == 16 and parse.legal_next == "P"  # BP...P E: the T at 16 breaks the dependency
    assert parse.string_starts == (0, 9)


# ---------------------------------------------------------------------------------------------------------------
# Streams and targets


@settings(max_examples=60, deadline=None)
@given(seeds, st.integers(0, 400), st.booleans())
def test_targets_are_the_legal_successors(seed, n, outer_be):
    stream = reber.continual_stream(np.random.default_rng(seed), n, outer_be=outer_be)
    assert len(stream) == n and stream.targets.shape == (n, 7) and stream.targets.dtype == np.float64
    expected = graph_walk_targets(stream.symbols, outer_be)
    assert expected is not None
    np.testing.assert_array_equal(stream.targets, expected)
    np.testing.assert_array_equal(stream.inputs, reber.encode(stream.symbols))


@pytest.mark.parametrize("outer_be", [True, False])
def test_targets_of_a_long_stream(outer_be):
    stream = reber.continual_stream(np.random.default_rng(7), 10**5, outer_be=outer_be)
    np.testing.assert_array_equal(stream.targets, graph_walk_targets(stream.symbols, outer_be))


def test_targets_at_the_critical_places():
    stream = whole_strings_stream(3, 50, True)
    text, targets = stream.symbols, reber.decode_targets(stream.targets)
    ends = list(stream.string_starts[1:]) + [len(stream)]
    for start, end in zip(stream.string_starts, ends):
        branch = text[start + 1]
        assert targets[start] == "TP"  # after the outer B
        assert targets[end - 3] == branch  # after the inner E: only the remembered T or P
        assert targets[end - 2] == "E" and targets[end - 1] == "B"  # after the closing T|P; after the outer E
    no_be = whole_strings_stream(3, 50, False)
    ends = list(no_be.string_starts[1:]) + [len(no_be)]
    assert all(reber.decode_targets(no_be.targets[end - 1 : end])[0] == "TP" for end in ends)


@settings(max_examples=40, deadline=None)
@given(seeds, st.integers(1, 3000), st.booleans())
def test_stream_splits_back_into_embedded_strings(seed, n, outer_be):
    stream = reber.continual_stream(np.random.default_rng(seed), n, outer_be=outer_be)
    text, starts = stream.symbols, stream.string_starts.tolist()
    assert starts[0] == 0 and starts == sorted(set(starts))
    assert list(reber.parse_continual_stream(text, outer_be=outer_be).string_starts) == starts
    one_string = ORACLE["embedded"] if outer_be else re.compile(EMBEDDED_BODY_RE)
    pieces = [text[a:b] for a, b in zip(starts, starts[1:])]
    assert all(one_string.fullmatch(piece) for piece in pieces)
    assert "".join(pieces) + text[starts[-1] :] == text
    assert reber.is_continual_stream(text[starts[-1] :], outer_be=outer_be, allow_prefix=True)


@given(seeds)
@settings(max_examples=20, deadline=None)
def test_no_be_variant_is_the_stream_without_outer_b_and_e(seed):
    with_be, without_be = whole_strings_stream(seed, 20, True), whole_strings_stream(seed, 20, False)
    ends = np.append(with_be.string_starts[1:], len(with_be))
    keep = np.ones(len(with_be), dtype=bool)
    keep[with_be.string_starts] = keep[ends - 1] = False
    assert with_be.symbols[0] == "B" and without_be.symbols[0] in "TP"
    assert "".join(np.array(list(with_be.symbols))[keep]) == without_be.symbols
    assert reber.is_continual_stream(without_be.symbols, outer_be=False)
    assert not reber.is_continual_stream(without_be.symbols, outer_be=True)


@settings(max_examples=30, deadline=None)
@given(seeds, st.integers(0, 5000), st.booleans())
def test_same_seed_same_stream_and_shorter_is_prefix(seed, n, outer_be):
    a = reber.continual_stream(np.random.default_rng(seed), n, outer_be=outer_be)
    b = reber.continual_stream(np.random.default_rng(seed), n, outer_be=outer_be)
    longer = reber.continual_stream(np.random.default_rng(seed), n + 100, outer_be=outer_be)
    assert a.symbols == b.symbols == longer.symbols[:n]
    np.testing.assert_array_equal(a.targets, b.targets)
    np.testing.assert_array_equal(a.targets, longer.targets[:n])
    np.testing.assert_array_equal(a.string_starts, longer.string_starts[longer.string_starts < n])


def test_different_seeds_differ_and_global_state_is_untouched():
    numpy_state, python_state = np.random.get_state(), random.getstate()
    a = reber.continual_stream(np.random.default_rng(1), 1000).symbols
    b = reber.continual_stream(np.random.default_rng(2), 1000).symbols
    reber.reber_string(np.random.default_rng(3))
    assert a != b
    assert random.getstate() == python_state
    after = np.random.get_state()
    assert all(np.array_equal(x, y) for x, y in zip(after, numpy_state))


def test_chunks_are_lazy_whole_strings():
    chunks = reber.iter_continual_stream(np.random.default_rng(0), strings_per_chunk=5)
    first, second = next(chunks), next(chunks)
    for chunk in (first, second):
        assert chunk.string_starts.size == 5 and chunk.string_starts[0] == 0
        assert reber.is_continual_stream(chunk.symbols)
    assert first.symbols != second.symbols


@settings(max_examples=50, deadline=None)
@given(st.text(alphabet=reber.SYMBOLS, max_size=50))
def test_encode_decode_round_trip(text):
    one_hot = reber.encode(text)
    assert one_hot.shape == (len(text), 7) and one_hot.dtype == np.float64
    assert (one_hot.sum(axis=1) == 1).all()
    assert reber.decode(one_hot) == text
    assert reber.decode_targets(one_hot) == list(text)
    assert [reber.SYMBOLS[i] for i in one_hot.argmax(axis=1)] == list(text)


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: reber.is_reber("BTXSe"), ValueError, "unknown symbol 'e' at position 4"),
        (lambda: reber.is_embedded_reber("BTBTXSETE!"), ValueError, "unknown symbol '!' at position 9"),
        (lambda: reber.is_continual_stream(["B", "TX"]), ValueError, "item 1 is 'TX'"),
        (lambda: reber.encode("BQ"), ValueError, "unknown symbol 'Q' at position 1"),
        (lambda: reber.encode([1, 2]), ValueError, "item 0 is 1"),
        (lambda: reber.decode(np.ones((2, 7))), ValueError, "exactly one 1"),
        (lambda: reber.decode(np.zeros((2, 6))), ValueError, r"shape \(n, 7\)"),
        (lambda: reber.decode_targets(np.full((1, 7), 0.5)), ValueError, "entries must be 0 or 1"),
        (lambda: reber.continual_stream(np.random.default_rng(0), -1), ValueError, "non-negative int"),
        (lambda: reber.continual_stream(np.random.default_rng(0), 2.5), ValueError, "non-negative int"),
        (lambda: reber.iter_continual_stream(np.random.default_rng(0), strings_per_chunk=0), ValueError, "positive"),
        (lambda: reber.iter_continual_stream(0), TypeError, "numpy.random.Generator"),
        (lambda: reber.reber_string(42), TypeError, "numpy.random.Generator"),
        (lambda: reber.is_reber(5), TypeError, "must be a str"),
        (lambda: reber_chain.time_lag_pgf("steps"), ValueError, "unknown time-lag convention"),
    ],
)
def test_bad_input_raises_a_clear_error(call, error, message):
    with pytest.raises(error, match=message):
        call()


# ---------------------------------------------------------------------------------------------------------------
# The Markov-chain results (lstm_lit.symbolic.reber_chain)

z = reber_chain.z


def test_first_passage_pgf_of_a_geometric_walk():
    # Leave state 0 with probability 1/2 per step: T is geometric, E[z**T] = z / (2 - z), mean 2, variance 2.
    walk = {0: (("a", 0), ("b", 1)), 1: ()}
    pgf = reber_chain.first_passage_pgf(walk, 0, 1)
    assert sp.simplify(pgf - z / (2 - z)) == 0
    assert reber_chain.pgf_mean(pgf) == 2 and reber_chain.pgf_variance(pgf) == 2
    with pytest.raises(ValueError, match="no edges"):
        reber_chain.first_passage_pgf({0: (("a", 1),), 1: (), 2: ()}, 0, 2)


def test_pgfs_are_distributions_with_the_expected_structure():
    g = reber_chain.reber_length_pgf()
    for pgf in (g, reber_chain.embedded_length_pgf(True), reber_chain.embedded_length_pgf(False)):
        assert pgf.subs(z, 1) == 1
        assert all(p >= 0 for p in reber_chain.pgf_pmf(pgf, 30).values())
    # Derived through the stream automaton, yet they must be the Reber length plus the outer symbols.
    assert sp.simplify(reber_chain.embedded_length_pgf(True) - z**4 * g) == 0
    assert sp.simplify(reber_chain.embedded_length_pgf(False) - z**2 * g) == 0
    assert sp.simplify(reber_chain.time_lag_pgf("prediction") - g) == 0
    assert sp.simplify(reber_chain.time_lag_pgf("prediction", "P") - g) == 0
    assert sp.simplify(reber_chain.time_lag_pgf("between_inputs") - z * g) == 0
    assert sp.simplify(reber_chain.time_lag_pgf("symbols_inclusive") - z**2 * g) == 0


def test_exact_values_are_rationals_and_match_the_chapter():
    values = [
        reber_chain.expected_reber_length(),
        reber_chain.expected_embedded_length(True),
        reber_chain.expected_embedded_length(False),
        reber_chain.expected_time_lag(),
    ]
    assert all(isinstance(v, sp.Rational) for v in values)
    assert values == [8, 12, 10, 8]
    assert [reber_chain.minimal_time_lag(c) for c in reber_chain.TIME_LAG_CONVENTIONS] == [5, 6, 7]
    assert reber_chain.minimal_reber_length() == 5 and reber_chain.minimal_embedded_length() == 9


def test_seed_claims_against_the_derivation():
    # 11.5 is no expected length of this grammar; 7 is the minimal lag only when counting the symbols c ... c.
    claimed_length = reber_chain.NOTES_CLAIMS["expected_length"]
    lengths = {reber_chain.expected_reber_length(), reber_chain.expected_embedded_length(True),
               reber_chain.expected_embedded_length(False)}
    assert claimed_length not in lengths
    lags = {c: reber_chain.minimal_time_lag(c) for c in reber_chain.TIME_LAG_CONVENTIONS}
    assert [c for c, lag in lags.items() if lag == reber_chain.NOTES_CLAIMS["minimal_time_lag"]] == [
        "symbols_inclusive"
    ]


def test_pmf_counts_the_reber_strings():
    # Every fork has probability 1/2 and a Reber string of length n passes n - 2 forks, so
    # 2**(n - 2) * P(length = n) is the number of Reber strings of length n.
    pmf = reber_chain.pgf_pmf(reber_chain.reber_length_pgf(), 20)
    for n in range(2, 9):
        count = sum(reber.is_reber("B" + "".join(m) + "E") for m in itertools.product("TPSXV", repeat=n - 2))
        assert pmf[n] * 2 ** (n - 2) == count, n
    assert pmf[20] * 2**18 == 783  # published count (McCaffrey 2015) of Reber strings of length 20


def shortest_walk(graph, source, target):
    """Breadth-first search over the graph (independent of the PGF)."""
    frontier, seen, steps = {source}, {source}, 0
    while target not in frontier:
        frontier = {nxt for state in frontier for _, nxt in graph.get(state, ())} - seen
        seen |= frontier
        steps += 1
    return steps


def test_minima_equal_shortest_paths():
    graph = reber.REBER_TRANSITIONS
    assert reber_chain.minimal_reber_length() == shortest_walk(graph, reber.REBER_START_STATE, reber.REBER_FINAL_STATE)
    assert reber_chain.minimal_time_lag() == reber_chain.minimal_reber_length()


def assert_close_to_exact(samples, exact_mean, exact_variance):
    """Sample mean within 4 standard errors of the exact mean."""
    standard_error = np.sqrt(float(exact_variance) / len(samples))
    assert abs(np.mean(samples) - float(exact_mean)) < 4 * standard_error


def assert_pmf_close(samples, pgf, values):
    pmf = reber_chain.pgf_pmf(pgf, max(values))
    for k in values:
        p = float(pmf[k])
        assert abs(np.mean(np.asarray(samples) == k) - p) < 4 * np.sqrt(p * (1 - p) / len(samples)), k


N_MONTE_CARLO = 20_000


def test_reber_length_monte_carlo():
    rng = np.random.default_rng(2024)
    lengths = [len(reber.reber_string(rng)) for _ in range(N_MONTE_CARLO)]
    pgf = reber_chain.reber_length_pgf()
    assert_close_to_exact(lengths, reber_chain.pgf_mean(pgf), reber_chain.pgf_variance(pgf))
    assert_pmf_close(lengths, pgf, range(5, 12))
    assert min(lengths) == reber_chain.minimal_reber_length()


def test_time_lag_monte_carlo():
    # Measured on the strings: the T|P is input at step 1, the inner E (after which it must be predicted)
    # at step len - 3.
    rng = np.random.default_rng(99)
    lags = []
    for _ in range(N_MONTE_CARLO):
        s = reber.embedded_reber_string(rng)
        inner_e = s.rindex("E", 0, len(s) - 1)
        lags.append(inner_e - s.index(s[1]))
    pgf = reber_chain.time_lag_pgf()
    assert_close_to_exact(lags, reber_chain.pgf_mean(pgf), reber_chain.pgf_variance(pgf))
    assert_pmf_close(lags, pgf, range(5, 12))
    assert min(lags) == reber_chain.minimal_time_lag()


@pytest.mark.parametrize("outer_be", [True, False])
def test_embedded_length_monte_carlo_on_streams(outer_be):
    stream = whole_strings_stream(5, N_MONTE_CARLO, outer_be)
    lengths = np.diff(np.append(stream.string_starts, len(stream)))
    pgf = reber_chain.embedded_length_pgf(outer_be)
    assert_close_to_exact(lengths, reber_chain.pgf_mean(pgf), reber_chain.pgf_variance(pgf))
    assert_pmf_close(lengths, pgf, range(reber_chain.pgf_minimum(pgf), reber_chain.pgf_minimum(pgf) + 6))
    assert lengths.min() == reber_chain.minimal_embedded_length(outer_be)
