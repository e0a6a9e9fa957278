"""Tests of lstm_lit.symbolic.paper_model_forms: the papers' forms of the forward step equal the derivation.

Besides SymPy's proof (difference simplified to 0), each form is compared numerically with the derived statement at
random points with the activations written out here (not taken from the package).  Broken twins: forms with a
factor or a function swapped must fail both checks.
"""

import math
import random

import pytest
import sympy as sp

from lstm_lit.symbolic import model
from lstm_lit.symbolic import paper_model_forms as pf

A, k, i = model.A, model.k, model.i


def _logistic(z):
    return 1.0 / (1.0 + math.exp(-z))


# The paper's activations, typed here from the paper's experiment section: logistic gates and outputs,
# g = 4 sigma - 2 in [-2, 2], h = 2 sigma - 1 in [-1, 1].
NUMERIC = {pf.f_fg: _logistic, pf.f_ig: _logistic, pf.f_og: _logistic, pf.f_out: _logistic,
           pf.g: lambda z: 4 * _logistic(z) - 2, pf.h: lambda z: 2 * _logistic(z) - 1}


def _numeric_value(expr, values):
    """Evaluate an expression of named activations and Indexed symbols at ``values`` (no sums)."""
    if isinstance(expr, pf._NamedActivation):
        return NUMERIC[type(expr)](_numeric_value(expr.args[0], values))
    if isinstance(expr, sp.Indexed):
        return values[expr]
    if expr.func.__name__ == "sigmoid":
        return _logistic(_numeric_value(expr.args[0], values))
    if expr.is_Number:
        return float(expr)
    if expr.is_Symbol:
        return values[expr]
    args = [_numeric_value(a, values) for a in expr.args]
    if expr.is_Add:
        return sum(args)
    if expr.is_Mul:
        return math.prod(args)
    raise TypeError(expr)


def _agree_numerically(paper_rhs, derived_rhs, trials=20):
    rng = random.Random(7)
    atoms = sorted(paper_rhs.atoms(sp.Indexed) | derived_rhs.atoms(sp.Indexed), key=str)
    for _ in range(trials):
        values = {a: rng.uniform(-3, 3) for a in atoms}
        values[model.state_decay] = 1.0
        if not math.isclose(_numeric_value(paper_rhs, values), _numeric_value(derived_rhs, values), abs_tol=1e-12):
            return False
    return True


NON_SUM_STATEMENTS = {True: ["y_fg", "y_ig", "y_og", "s", "y_c", "y"], False: ["y_ig", "y_og", "s", "y_c", "y"]}


@pytest.mark.parametrize("forget_gates", [True, False])
def test_every_paper_form_is_proved_equal(forget_gates):
    forms = pf.paper_forms(forget_gates)
    derived = model.forward_equations(forget_gates)
    assert list(forms) == [st.target for st in derived.statements if isinstance(st, model.Define)]
    for name in forms:
        assert pf.proof(name, forget_gates), name
    for name in NON_SUM_STATEMENTS[forget_gates]:
        assert _agree_numerically(forms[name][1], derived.rhs(name)), name


def test_paper_forms_use_named_functions_and_the_forget_factor():
    forms = pf.paper_forms(True)
    s_rhs = forms["s"][1]
    assert not s_rhs.has(sp.Function("sigmoid")) and s_rhs.has(pf.g)
    assert sp.Mul(A["y_fg"][k], A["s_prev"][k, i]) in [sp.Mul(*t.args) for t in s_rhs.args]
    assert forms["y_c"][1].has(pf.h)
    assert pf.paper_forms(False)["s"][1].has(A["s_prev"][k, i]) and not pf.paper_forms(False)["s"][1].has(A["y_fg"][k])


def test_broken_twins_fail():
    derived = model.forward_equations(True)
    # the notes' slip in their derivation of the positive bias: the forget gate in place of the input gate
    wrong_gate = sp.Add(sp.Mul(A["y_fg"][k], A["s_prev"][k, i]), sp.Mul(A["y_fg"][k], pf.g(A["z_c"][k, i])))
    # g and h exchanged in the cell output
    wrong_function = sp.Mul(A["y_og"][k], pf.g(A["s"][k, i]))
    for name, rhs in (("s", wrong_gate), ("y_c", wrong_function)):
        assert sp.simplify(pf.with_paper_activations(rhs) - derived.rhs(name)) != 0
        assert not _agree_numerically(rhs, derived.rhs(name))
    # the 1997 form of the state is not the forget-gate derivation
    old_form = pf.paper_forms(False)["s"][1]
    assert sp.simplify(pf.with_paper_activations(old_form) - derived.rhs("s")) != 0


def test_show_paper_refuses_a_wrong_form(monkeypatch):
    real = pf.paper_forms

    def broken(forget_gates=True, current_cells=True):
        forms = dict(real(forget_gates, current_cells))
        lhs, _ = forms["y_c"]
        forms["y_c"] = (lhs, sp.Mul(A["y_og"][k], pf.g(A["s"][k, i]), evaluate=False))
        return forms

    monkeypatch.setattr(pf, "paper_forms", broken)
    pf.proof.cache_clear()  # proofs are cached; this one must be redone against the broken form
    try:
        with pytest.raises(AssertionError):
            pf.show_paper("y_c")
    finally:
        pf.proof.cache_clear()
