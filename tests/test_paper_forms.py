"""The paper's printed forms (lstm_lit.symbolic.paper_forms) are independent of the derivation's activations.

The forms carry their own sigma, g = 4 sigma - 2 and h = 2 sigma - 1.  These tests check those definitions against
closed forms that share nothing with the package, prove derived = printed for the gradients and traces that use g,
g', h and h', and then break the *shared* h (or g) of ``activations.py`` -- in every module that imported it -- to
show that the same proofs fail symbolically, without any numerical test.
"""

import ast
import inspect
import sys

import pytest
import sympy as sp

from lstm_lit.symbolic import activations, paper_forms, rtrl

z = sp.Symbol("z", real=True)


def test_the_module_does_not_import_the_shared_activations():
    tree = ast.parse(inspect.getsource(paper_forms))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) for alias in node.names}
    modules = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert "activations" not in imported and not any(m and "activations" in m for m in modules)
    assert paper_forms.sigma is not activations.sigmoid


def test_own_definitions_against_closed_forms():
    """sigma = 1/(1+e^-z) with sigma' = sigma(1-sigma); h = tanh(z/2), g = 2 tanh(z/2): ranges (-1, 1), (-2, 2)."""
    s = paper_forms.sigma(z)
    logistic = 1 / (1 + sp.exp(-z))
    points = (-40, -3, sp.Rational(-1, 2), 0, sp.Rational(17, 10), 40)
    for f, closed in ((s, logistic), (sp.diff(s, z), sp.diff(logistic, z)),
                      (paper_forms.h_def(z), sp.tanh(z / 2)), (paper_forms.g_def(z), 2 * sp.tanh(z / 2)),
                      (activations.sigmoid(z), logistic)):   # the derivation's logistic is the same function
        for x in points:
            assert abs(sp.N(f.subs(z, x).rewrite(sp.exp) - closed.subs(z, x), 30)) < 1e-25
    # broken twin: a wrong closed form is told apart
    assert abs(sp.N((paper_forms.h_def(z) - sp.tanh(z)).subs(z, 1).rewrite(sp.exp), 30)) > 1e-3


def test_named_forms_write_out_to_the_definitions():
    a = sp.IndexedBase("z_c")[0, 0]
    assert paper_forms.written_out(paper_forms.g(a)) == paper_forms.g_def(a)
    assert sp.expand(paper_forms.written_out(paper_forms.h_prime(a)) - sp.diff(paper_forms.h_def(a), a)) == 0
    assert sp.diff(paper_forms.g(a), a) == paper_forms.g_prime(a)


CASES = [("gradient", "W_og"), ("gradient", "W_c"), ("trace", "W_ig"), ("trace", "W_c")]


def _derived_and_printed(kind, weight):
    if kind == "gradient":
        return rtrl.gradient(weight), paper_forms.gradient(weight)
    return rtrl.reduced_trace_update(weight), paper_forms.trace_update(weight)


@pytest.mark.parametrize("kind, weight", CASES)
def test_derived_equals_printed(kind, weight):
    derived, printed = _derived_and_printed(kind, weight)
    assert paper_forms.equal(derived, printed)


def _patch_shared(monkeypatch, name, wrong):
    """Replace the shared activation ``name`` in activations.py and in every lstm_lit module that imported it."""
    original = getattr(activations, name)
    patched = 0
    for module in list(sys.modules.values()):
        if (getattr(module, "__name__", "") or "").startswith("lstm_lit") and getattr(module, name, None) is original:
            monkeypatch.setattr(module, name, wrong)
            patched += 1
    assert patched >= 2  # activations itself and at least the model


@pytest.mark.parametrize("name, wrong, cases", [
    ("h", lambda x: 4 * activations.sigmoid(x) - 2, [("gradient", "W_og"), ("gradient", "W_c")]),  # h := g
    ("g", lambda x: 2 * activations.sigmoid(x) - 1, [("trace", "W_ig"), ("trace", "W_c")]),        # g := h
])
def test_a_wrong_shared_activation_fails_the_proofs(monkeypatch, name, wrong, cases):
    """Broken twin: with a wrong h (or g) in activations.py the derivation changes and derived != printed."""
    right = {case: _derived_and_printed(*case)[0] for case in cases}
    _patch_shared(monkeypatch, name, wrong)
    for case in cases:
        derived, printed = _derived_and_printed(*case)
        assert sp.expand(derived - right[case]) != 0   # the patch reached the derivation ...
        assert not paper_forms.equal(derived, printed)  # ... and the independent form catches it
