"""The cost counts of lstm_lit.symbolic.complexity against the arrays the generated code really allocates,
and the notes' (19) against the count: it misses exactly dim(W_fg) d_blk."""

import numpy as np
import pytest
import sympy as sp

from lstm_lit.network import LSTMNetwork
from lstm_lit.symbolic import complexity, model
from lstm_lit.symbolic.model import d_blk, n_blk

SIZES = [(7, 4, 2, 7), (3, 2, 3, 5)]


def _run_one_step(sizes, B=3, forget_gates=True):
    rng = np.random.default_rng(1)
    net = LSTMNetwork(*sizes, batch=B, forget_gates=forget_gates, connectivity="cerg", rng=rng)
    net.step(rng.uniform(size=(B, sizes[0])))
    grads = net.update(rng.uniform(size=(B, sizes[3])), 0.1)
    return net, grads


@pytest.mark.parametrize("sizes", SIZES)
@pytest.mark.parametrize("forget_gates", [True, False])
def test_trace_count_is_what_the_step_allocates(sizes, forget_gates):
    B = 3
    net, grads = _run_one_step(sizes, B, forget_gates)
    c = complexity.concrete(*sizes, forget_gates=forget_gates)
    assert sum(t.size for t in net.traces.values()) == B * c["trace_entries"]
    assert {n: t.size for n, t in net.traces.items()} == {n: B * v for n, v in c["trace_entries_by_array"].items()}
    assert sum(w.size for w in net.weights.values()) == B * c["weight_entries"]
    assert c["n_src"] == net.n_src


@pytest.mark.parametrize("sizes", SIZES)
def test_element_counts_match_generated_arrays(sizes):
    """Every Define's element count equals the size of the array the generated code returns for it."""
    B = 2
    net, grads = _run_one_step(sizes, B)
    produced = dict(net._last)
    produced.update({n + "_next": v for n, v in net.traces.items()})
    produced.update(grads)
    sub = dict(zip(model.SIZES, sizes))
    checked = 0
    for phase, target, n, _, _ in complexity.statement_costs():
        if target in produced:
            assert produced[target].size == B * int(n.subs(sub)), target
            checked += 1
    assert checked >= 20


def test_printed_19_misses_the_forget_gate_traces():
    D = complexity.dims()
    missing = sp.expand(D["W_fg"] * d_blk)
    assert sp.expand(complexity.corrected_19() - complexity.printed_19()) == missing
    traces = complexity.trace_entries()
    assert sp.expand(traces - (D["W_fg"] * d_blk + D["W_ig"] * d_blk + n_blk * D["W_blk1"])) == 0
    assert sp.expand(traces - sum(complexity.printed_18_traces().values())) == 0  # (18) lists all three
    assert sp.expand(traces - (D["W_ig"] * d_blk + n_blk * D["W_blk1"])) == missing  # (19) keeps two of them
    c = complexity.concrete(7, 4, 2, 7)
    assert (c["trace_entries"], c["printed_19"], c["corrected_19"]) == (672, 672, 896)


def test_without_forget_gates_19_is_exact():
    v = complexity.verdict(forget_gates=False)
    assert v["traces counted - trace terms of (19)"] == 0


def test_ops_have_the_order_of_17():
    """ops / corrected (17) tends to exactly 16/3 when all sizes grow together, counted here by hand.

    With every size ~ t, n_src ~ t^2 and the leading terms are those of n_blk d_blk n_src elements (~ t^4).  By the
    module's rules (a dot product of length n is n multiply-adds, a binary node is one): z^c (one multiply-add per
    source: 1); the three trace updates e = keep * e + src * x~ (3 each: 9); the gradients of W^fg and W^ig (a sum
    over the cells of err_s * e: 1 each) and of W^c (err_s * e: 1); the update W^c - alpha mask grad (3).  That is
    1 + 9 + 2 + 1 + 3 = 16, against three terms of that order in the corrected (17)/(19): dim(W^fg) d_blk,
    dim(W^ig) d_blk and n_blk dim(W_blk1)."""
    dec = complexity.leading_decomposition()
    assert all(dec[k] > 0 for k in ("n_blk d_blk n_src", "n_blk n_src", "dim(W_out)"))
    assert dec["n_blk d_blk n_src"] == 1 + 3 * 3 + 2 + 1 + 3
    t = sp.Symbol("t", positive=True)
    grow = {s: t for s in model.SIZES}
    leading = n_blk * d_blk * model.n_src(True)
    assert sp.limit((complexity.corrected_19() / leading).subs(grow), t, sp.oo) == 3
    ratio = complexity.verdict()["ops / corrected (17), all sizes -> oo"]
    assert ratio == sp.Rational(1 + 3 * 3 + 2 + 1 + 3, 3)
    c = complexity.concrete(7, 4, 2, 7)
    assert c["ops"] == sum(c["ops_by_phase"].values()) > 0


def test_operations_rules():
    x, y = sp.symbols("x y")
    W, v = sp.IndexedBase("W"), sp.IndexedBase("v")
    j = sp.Symbol("j", integer=True)
    assert complexity.operations(x * y + x) == 2
    assert complexity.operations(-x * y) == 1
    assert complexity.operations(sp.Sum(W[j] * v[j], (j, 0, n_blk - 1))) == n_blk


def test_broken_twin_catches_a_dropped_trace(monkeypatch):
    """A count that forgets e_fg (as (19) does) fails the allocation check of
    :func:`test_trace_count_is_what_the_step_allocates`, by exactly B dim(W_fg) d_blk entries."""
    B, sizes = 3, SIZES[0]
    net, _ = _run_one_step(sizes, B)
    allocated = sum(t.size for t in net.traces.values())
    assert allocated == B * complexity.concrete(*sizes)["trace_entries"]
    monkeypatch.setattr(complexity, "TRACES", ("e_ig", "e_c"))
    broken = complexity.concrete(*sizes)
    assert "e_fg" not in broken["trace_entries_by_array"]
    assert allocated != B * broken["trace_entries"]
    assert allocated - B * broken["trace_entries"] == net.weights["W_fg"].size * sizes[2]  # B dim(W_fg) d_blk
