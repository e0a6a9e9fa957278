"""The Reber grammars as absorbing Markov chains: exact string lengths and time lags, in SymPy.

Every automaton state emits one symbol per step and picks each of its edges with equal probability
(the graphs come from :mod:`lstm_lit.reber`; nothing here retypes the grammar).  For a walk from ``source`` to
``target`` let ``T`` be the number of symbols emitted until it first enters ``target``.  With ``target`` made
absorbing, ``Q`` the transition matrix among the other states and ``r`` the one-step probabilities of entering
``target``, the probability generating function is

    E[z**T] = e_source^T (I - z Q)^{-1} z r,

and ``E[T]`` is its derivative at ``z = 1`` (the row sum of the fundamental matrix ``(I - Q)^{-1}``).

**Time lag.**  Number the steps of an embedded string ``B c <Reber> c E`` from 0, so ``c`` is input at step 1.
The network must predict the second ``c`` at the step at which the inner Reber string's ``E`` is input; the lag
(convention ``"prediction"``) is the number of steps between those two steps.  It equals the length of the inner
Reber string (its ``B`` and ``E`` included).  Two other common counts: ``"between_inputs"`` (from the input of the
first ``c`` to the input of the second ``c``: one more) and ``"symbols_inclusive"`` (how many symbols the span
``c ... c`` holds, both ``c`` included: two more).  Removing the outer ``B``/``E`` does not change the lag.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from functools import cache

import sympy as sp

from lstm_lit import reber

z = sp.Symbol("z")
"""The variable of every probability generating function here."""

Transitions = Mapping[Hashable, Sequence[tuple[str, Hashable]]]

TIME_LAG_CONVENTIONS = ("prediction", "between_inputs", "symbols_inclusive")

NOTES_CLAIMS = {"expected_length": sp.Rational(23, 2), "minimal_time_lag": 7}
"""What the notes on the paper quote as the paper's figures for the CERG task (an expected string length of 11.5 and a
minimal time lag of 7), for comparison with the derived values."""


def first_passage_pgf(transitions: Transitions, source: Hashable, target: Hashable) -> sp.Expr:
    """PGF ``E[z**T]`` of the number ``T >= 1`` of symbols emitted from ``source`` until the walk enters ``target``.

    If ``source == target`` this is the return time.  Each state's edges are equally likely.
    """
    # States the walk can visit before it enters target, in a deterministic order.
    order: list[Hashable] = []
    frontier = [source] if source != target else [nxt for _, nxt in transitions[source]]
    while frontier:
        state = frontier.pop(0)
        if state == target or state in order:
            continue
        if not transitions.get(state):
            raise ValueError(f"state {state!r} has no edges: the walk can stop before it enters {target!r}")
        order.append(state)
        frontier.extend(nxt for _, nxt in transitions[state])
    number = {state: row for row, state in enumerate(order)}
    q = sp.zeros(len(order), len(order))
    r = sp.zeros(len(order), 1)
    for state in order:
        edges = transitions[state]
        for _, nxt in edges:
            if nxt == target:
                r[number[state], 0] += sp.Rational(1, len(edges))
            else:
                q[number[state], number[nxt]] += sp.Rational(1, len(edges))
    hitting = (sp.eye(len(order)) - z * q).LUsolve(z * r) if order else sp.zeros(0, 1)
    if source != target:
        return sp.factor(sp.cancel(hitting[number[source], 0]))
    edges = transitions[source]
    total = sum(
        (sp.Integer(1) if nxt == target else hitting[number[nxt], 0]) for _, nxt in edges
    )
    return sp.factor(sp.cancel(z * total / len(edges)))


def pgf_mean(pgf: sp.Expr) -> sp.Expr:
    """``E[T] = G'(1)``."""
    return sp.simplify(sp.diff(pgf, z).subs(z, 1))


def pgf_variance(pgf: sp.Expr) -> sp.Expr:
    """``Var T = G''(1) + G'(1) - G'(1)**2``."""
    mean = pgf_mean(pgf)
    return sp.simplify(sp.diff(pgf, z, 2).subs(z, 1) + mean - mean**2)


def pgf_pmf(pgf: sp.Expr, max_value: int) -> dict[int, sp.Rational]:
    """Exact ``P(T = k)`` for ``k = 0 .. max_value`` (the Taylor coefficients of the PGF)."""
    numerator, denominator = (sp.Poly(part, z) for part in sp.fraction(sp.cancel(pgf)))
    n = [numerator.coeff_monomial(z**k) for k in range(max_value + 1)]
    d = [denominator.coeff_monomial(z**k) for k in range(max_value + 1)]
    if d[0] == 0:
        raise ValueError(f"{pgf} has a pole at z = 0; it is not a probability generating function")
    coefficients: list[sp.Expr] = []
    for k in range(max_value + 1):  # power-series division: denominator * series = numerator
        coefficients.append((n[k] - sum(d[j] * coefficients[k - j] for j in range(1, k + 1))) / d[0])
    return dict(enumerate(coefficients))


def pgf_minimum(pgf: sp.Expr) -> int:
    """Smallest ``k`` with ``P(T = k) > 0``: the order of the zero of the PGF at ``z = 0``."""
    numerator, denominator = sp.fraction(sp.cancel(pgf))
    order = lambda polynomial: min(m[0] for m in sp.Poly(polynomial, z).monoms())  # noqa: E731
    return order(numerator) - order(denominator)


# ----------------------------------------------------------------------------------------------------------------
# The quantities of the CERG task


@cache
def reber_length_pgf() -> sp.Expr:
    """PGF of the length of a Reber string, ``B`` and ``E`` included."""
    return first_passage_pgf(reber.REBER_TRANSITIONS, reber.REBER_START_STATE, reber.REBER_FINAL_STATE)


@cache
def embedded_length_pgf(outer_be: bool = True) -> sp.Expr:
    """PGF of the length of one embedded string of a continual stream (without its outer ``B``/``E`` if not
    ``outer_be``): the return time of the stream automaton to its string-start state."""
    start = reber.string_start_state(outer_be)
    return first_passage_pgf(reber.continual_transitions(outer_be), start, start)


@cache
def time_lag_pgf(convention: str = "prediction", branch_symbol: str = "T") -> sp.Expr:
    """PGF of the time lag the network must bridge (see the module docstring for the conventions)."""
    if convention not in TIME_LAG_CONVENTIONS:
        raise ValueError(f"unknown time-lag convention {convention!r}; choose one of {TIME_LAG_CONVENTIONS}")
    if branch_symbol not in reber.BRANCH_SYMBOLS:
        raise ValueError(f"branch_symbol must be one of {reber.BRANCH_SYMBOLS!r}, got {branch_symbol!r}")
    transitions = reber.continual_transitions(outer_be=True)
    after_first = reber.inner_state(branch_symbol, reber.REBER_START_STATE)  # state once c has been input
    if convention == "prediction":
        # Until the state whose only legal next symbol is c, i.e. until the inner E has been input.
        return first_passage_pgf(transitions, after_first, reber.inner_state(branch_symbol, reber.REBER_FINAL_STATE))
    # Until the second c has been input.
    between_inputs = first_passage_pgf(transitions, after_first, reber.OUTER_CLOSE)
    return between_inputs if convention == "between_inputs" else sp.factor(z * between_inputs)


def expected_reber_length() -> sp.Rational:
    """Expected length of a Reber string (``B`` and ``E`` included)."""
    return pgf_mean(reber_length_pgf())


def expected_embedded_length(outer_be: bool = True) -> sp.Rational:
    """Expected length of an embedded Reber string (of one string of the no-``B``/``E`` variant if not
    ``outer_be``); in a continual stream this is the mean distance between string starts."""
    return pgf_mean(embedded_length_pgf(outer_be))


def expected_time_lag(convention: str = "prediction") -> sp.Rational:
    """Expected time lag (see the module docstring)."""
    return pgf_mean(time_lag_pgf(convention))


def minimal_time_lag(convention: str = "prediction") -> int:
    """Smallest possible time lag (see the module docstring)."""
    return pgf_minimum(time_lag_pgf(convention))


def minimal_reber_length() -> int:
    """Length of the shortest Reber strings."""
    return pgf_minimum(reber_length_pgf())


def minimal_embedded_length(outer_be: bool = True) -> int:
    """Length of the shortest embedded Reber strings."""
    return pgf_minimum(embedded_length_pgf(outer_be))
