"""index_form_equal and the checked collapse: what they prove, what they must report unequal, what they refuse.

Each proof has broken twins: a Kronecker-delta sum over a range that misses the pinned index (too short, shifted,
empty), a bound index that would capture a free one, and the notes' slip in (15) (the cell axis summed over n_blk
instead of d_blk), both in index form and injected into a copy of ``rtrl.py``'s source.
"""

import importlib.util
import inspect
import sys

import pytest
import sympy as sp

from lstm_lit.symbolic import calculus, model, rtrl
from lstm_lit.symbolic.calculus import INDEX, IndexFormError, index_form_equal, registry_shapes

n, m_ = sp.symbols("n m", integer=True, positive=True)
j, p, r = sp.symbols("j p r", **INDEX)
X, B = sp.IndexedBase("X"), sp.IndexedBase("B")
SHAPES = {"X": (n,), "B": (n,)}
delta = sp.KroneckerDelta


# --- Kronecker-delta sums ------------------------------------------------------------------------------
def test_delta_sum_over_the_whole_axis_is_the_element():
    assert index_form_equal(sp.Sum(delta(j, p) * X[j], (j, 0, n - 1)), X[p], SHAPES)
    assert index_form_equal(sp.Sum(delta(p, j) * X[j] * B[j], (j, 0, n - 1)), X[p] * B[p], SHAPES)


@pytest.mark.parametrize("lo,hi", [(0, n - 2), (1, n - 1), (0, -1)], ids=["misses-last", "misses-first", "empty"])
def test_delta_sum_over_a_range_that_misses_the_index_is_not_the_element(lo, hi):
    assert not index_form_equal(sp.Sum(delta(j, p) * X[j], (j, lo, hi)), X[p], SHAPES)


def test_delta_sum_over_a_range_of_another_size_is_refused():
    """p runs over n (the shape of X); whether 0..m-1 contains it depends on the sizes: refused, not 'equal'."""
    with pytest.raises(IndexFormError, match="cannot decide"):
        index_form_equal(sp.Sum(delta(j, p) * B[p], (j, 0, m_ - 1)), B[p], SHAPES)


def test_delta_on_an_index_of_unknown_range_is_refused():
    with pytest.raises(IndexFormError, match="range of p is unknown"):
        index_form_equal(sp.Sum(delta(j, p) * X[j], (j, 0, n - 2)), X[p])


def test_a_sum_beyond_an_axis_is_refused():
    with pytest.raises(IndexFormError, match="outside axis 0 of X"):
        index_form_equal(sp.Sum(X[j], (j, 0, n)), sp.Sum(X[j], (j, 0, n)), SHAPES)
    with pytest.raises(IndexFormError, match="cannot decide"):
        index_form_equal(sp.Sum(X[j], (j, 0, m_ - 1)), 0, SHAPES)


def test_an_index_with_two_sizes_is_refused():
    Y = sp.IndexedBase("Y")
    with pytest.raises(IndexFormError, match="index p runs over"):
        index_form_equal(X[p] * Y[p], Y[p] * X[p], {"X": (n,), "Y": (m_,)})


# --- bound indices ------------------------------------------------------------------------------------------
def test_bound_index_does_not_capture_a_free_one():
    """X[j] * sum_j B[j] (j free outside the sum) is not sum_j X[j] B[j]."""
    assert not index_form_equal(X[j] * sp.Sum(B[j], (j, 0, n - 1)), sp.Sum(X[j] * B[j], (j, 0, n - 1)), SHAPES)
    # ... and renaming a bound index is harmless
    assert index_form_equal(X[j] * sp.Sum(B[j], (j, 0, n - 1)), X[j] * sp.Sum(B[r], (r, 0, n - 1)), SHAPES)
    assert index_form_equal(sp.Sum(X[j] * B[j], (j, 0, n - 1)), sp.Sum(B[p] * X[p], (p, 0, n - 1)), SHAPES)


def test_double_sums_compare_under_every_renaming():
    W = sp.IndexedBase("W")
    a = sp.Sum(W[j, r] * X[j] * B[r], (j, 0, n - 1), (r, 0, n - 1))
    b = sp.Sum(W[r, j] * X[r] * B[j], (r, 0, n - 1), (j, 0, n - 1))
    transposed = sp.Sum(W[r, j] * X[j] * B[r], (j, 0, n - 1), (r, 0, n - 1))
    shapes = {**SHAPES, "W": (n, n)}
    assert index_form_equal(a, b, shapes)
    assert not index_form_equal(a, transposed, shapes)


def test_sums_over_different_ranges_are_not_combined():
    assert not index_form_equal(sp.Sum(X[j], (j, 0, n - 1)), sp.Sum(X[j], (j, 0, n - 2)), SHAPES)
    assert index_form_equal(sp.Sum(X[j], (j, 0, n - 1)) - sp.Sum(X[j], (j, 0, n - 2)),
                            sp.Sum(X[r], (r, 0, n - 1)) - sp.Sum(X[r], (r, 0, n - 2)), SHAPES)


# --- the notes' slip in (15): the cell axis summed over n_blk -----------------------------------------------
def _state_path(cell_range):
    """The chain-rule term of d s_{k,i}(t+1) / d W^c_{p,r,q} through s(t), before its deltas are summed out."""
    k, i, q = model.k, model.i, model.q
    a, c = sp.symbols("a c", **INDEX)
    dS = rtrl.full_trace("W_c")
    body = delta(k, a) * delta(i, c) * model.A["y_fg"][k] * dS[a, c, p, r, q]
    return sp.Sum(body, (a, 0, model.n_blk - 1), (c, 0, cell_range - 1)), model.A["y_fg"][k] * dS[k, i, p, r, q]


def _trace_shapes():
    shapes = registry_shapes(True)
    shapes["dS_dW_c"] = (model.n_blk, model.d_blk, model.n_blk, model.d_blk, model.n_src(True))
    shapes["s"] = (model.n_blk, model.d_blk)
    return shapes


def test_state_path_over_the_cell_axis_is_the_carried_trace():
    summed, carried = _state_path(model.d_blk)
    assert index_form_equal(summed, carried, _trace_shapes())


def test_the_15_range_slip_is_not_equal():
    summed, carried = _state_path(model.n_blk)
    with pytest.raises(IndexFormError, match="n_blk"):
        index_form_equal(summed, carried, _trace_shapes())


def test_chain_rule_refuses_the_15_range_slip():
    eqs, s_expr = rtrl._cell_update(True)
    wrt = model.A["W_c"][rtrl.WEIGHT_INDEX["W_c"]]
    deps = rtrl.truncation_rule("W_c")
    good = calculus.chain_rule(s_expr, wrt, deps, rtrl.ranges(True))
    assert good.has(rtrl.full_trace("W_c")[model.k, model.i, model.p, rtrl.r, model.q])
    slipped = {**rtrl.ranges(True), rtrl.s_prev_base: (model.n_blk, model.n_blk)}
    with pytest.raises(IndexFormError, match=r"s_prev the shape \(n_blk, n_blk\)"):
        calculus.chain_rule(s_expr, wrt, deps, slipped)


def _rtrl_copy(source, name):
    """Import a copy of lstm_lit.symbolic.rtrl from ``source`` (as a sibling module, so its imports resolve)."""
    spec = importlib.util.spec_from_loader(f"lstm_lit.symbolic.{name}", loader=None)
    module = importlib.util.module_from_spec(spec)
    module.__package__ = "lstm_lit.symbolic"
    sys.modules[spec.name] = module
    try:
        exec(compile(source, f"<{name}>", "exec"), module.__dict__)
    finally:
        del sys.modules[spec.name]
    return module


def test_the_15_slip_injected_into_rtrl_fails_the_proofs():
    """The notes' slip typed into the derivation (rtrl.ranges: s(t) over n_blk x n_blk): the trace proofs fail."""
    source = inspect.getsource(rtrl)
    line = "s_prev_base: (n_blk, d_blk)"
    assert source.count(line) == 1
    same = _rtrl_copy(source, "rtrl_unchanged")
    assert index_form_equal(same.reduced_trace_update("W_c"), same.printed_trace_update("W_c"), registry_shapes(True))
    slipped = _rtrl_copy(source.replace(line, "s_prev_base: (n_blk, n_blk)"), "rtrl_slipped")
    for weight in ("W_c", "W_fg"):
        with pytest.raises(IndexFormError, match="s_prev"):
            slipped.reduced_trace_update(weight)


def test_total_derivative_refuses_shapes_that_are_not_the_models():
    eqs, defs, shapes = rtrl._gradient_definitions(True)
    L = sp.Sum((model.A["y"][model.m] - rtrl.target[model.m]) ** 2 / 2, (model.m, 0, model.d_out - 1))
    leaves = {rtrl.x_tilde_base: 0, rtrl.s_base: rtrl.full_trace_next("W_ig")}
    wrong = {**shapes, rtrl.s_base: (model.n_blk, model.n_blk)}
    with pytest.raises(IndexFormError, match=r"s the shape \(n_blk, n_blk\)"):
        calculus.total_derivative(L, model.A["W_ig"][model.p, model.q], defs, leaves, wrong)
