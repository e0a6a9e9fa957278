"""The forward equations as the papers print them, with named activations, and the proof that they are ours.

:func:`lstm_lit.symbolic.model.forward_equations` builds the forward step with the paper's activation functions
already substituted (``g`` appears as ``4 sigma - 2``).  The papers instead name the functions: ``f^fg``, ``f^ig``,
``f^og`` for the gates, ``g`` and ``h`` for the cell's input and output squashing, ``f^out`` for the output
units, and write the state update with the forget-gate factor in front of the old state.  This module builds those
forms (unevaluated, in the papers' order of factors and terms, for :func:`lstm_lit.symbolic.display.show` with
``as_written=True``), and :func:`proof` shows that each equals the derived right-hand side once the named functions
are replaced by the paper's choices (:data:`PAPER_ACTIVATIONS`).
"""

from __future__ import annotations

from functools import lru_cache

import sympy as sp

from . import activations, model

A, k, i, m, j = model.A, model.k, model.i, model.m, model.j


class _NamedActivation(sp.Function):
    """An activation function known only by its name, printed as the papers print it."""

    latex_name = "f"

    def _latex(self, printer, exp=None):
        text = r"%s\left(%s\right)" % (self.latex_name, printer._print(self.args[0]))
        return text if exp is None else r"\left(%s\right)^{%s}" % (text, exp)


def _named(python_name, latex_name):
    return type(python_name, (_NamedActivation,), {"latex_name": latex_name})


f_fg = _named("f_fg", r"f^{\mathrm{fg}}")
f_ig = _named("f_ig", r"f^{\mathrm{ig}}")
f_og = _named("f_og", r"f^{\mathrm{og}}")
f_out = _named("f_out", r"f^{\mathrm{out}}")
g = _named("g", "g")
h = _named("h", "h")

PAPER_ACTIVATIONS = {
    f_fg: activations.f_gate,
    f_ig: activations.f_gate,
    f_og: activations.f_gate,
    f_out: activations.f_out,
    g: activations.g,
    h: activations.h,
}
"""The choices of the paper (section on the experiment): logistic gates and outputs, g = 4 sigma - 2, h = 2 sigma - 1."""


def _mul(*factors):
    return sp.Mul(*factors, evaluate=False)


def _add(*terms):
    return sp.Add(*terms, evaluate=False)


def _weight_first(net_input):
    """A net input ``Sum(W[...] * source[j], limits)`` with the weight written first, as the papers do."""
    (term, *limits) = net_input.args
    weights = [f for f in term.args if str(f.base.label).startswith("W")]
    others = [f for f in term.args if f not in weights]
    return sp.Sum(_mul(*weights, *others), *limits)


def paper_forms(forget_gates: bool = True, current_cells: bool = True) -> dict:
    """``{statement name: (lhs, rhs as the paper writes it)}`` for every statement of the forward step.

    Net inputs are the sums of :func:`~lstm_lit.symbolic.model.forward_equations` (the papers write the same sum
    over the source units); activations are the named functions; the state update is
    ``y^fg s(t) + y^ig g(z^c)`` with forget gates, ``s(t) + y^ig g(z^c)`` without (the 1997 cell, decay 1); the
    cell output is ``y^og h(s)``.
    """
    derived = model.forward_equations(forget_gates, current_cells)
    forms = {}
    for st in derived.statements:
        if isinstance(st, model.Define) and st.target.startswith("z_"):
            forms[st.target] = (st.lhs, _weight_first(st.rhs))
    for gate, f in (("fg", f_fg), ("ig", f_ig), ("og", f_og)):
        if gate == "fg" and not forget_gates:
            continue
        forms[f"y_{gate}"] = (A[f"y_{gate}"][k], f(A[f"z_{gate}"][k]))
    cell_input = _mul(A["y_ig"][k], g(A["z_c"][k, i]))
    old = _mul(A["y_fg"][k], A["s_prev"][k, i]) if forget_gates else A["s_prev"][k, i]
    forms["s"] = (A["s"][k, i], _add(old, cell_input))
    forms["y_c"] = (A["y_c"][k, i], _mul(A["y_og"][k], h(A["s"][k, i])))
    forms["y"] = (A["y"][m], f_out(A["z_out"][m]))
    order = [st.target for st in derived.statements if isinstance(st, model.Define)]
    return {name: forms[name] for name in order}


def with_paper_activations(expr):
    """``expr`` with every named activation replaced by the paper's function (:data:`PAPER_ACTIVATIONS`)."""
    return expr.replace(lambda e: isinstance(e, _NamedActivation), lambda e: PAPER_ACTIVATIONS[type(e)](*e.args))


def difference(name: str, forget_gates: bool = True, current_cells: bool = True):
    """Paper form minus derived right-hand side of statement ``name``, simplified (zero when they agree).

    The 1997 derivation carries the state-decay factor; it is set to 1 here, which is the 1997 LSTM.
    """
    derived = model.forward_equations(forget_gates, current_cells)
    lhs, paper_rhs = paper_forms(forget_gates, current_cells)[name]
    if lhs != derived[name].lhs:
        raise ValueError(f"{name}: the paper form defines {lhs}, the derivation {derived[name].lhs}")
    ours = derived.rhs(name).subs(model.state_decay, 1)
    return sp.simplify(with_paper_activations(paper_rhs) - ours)


@lru_cache(maxsize=None)
def proof(name: str, forget_gates: bool = True, current_cells: bool = True) -> bool:
    """True when SymPy proves the paper form of ``name`` equal to the derived statement (difference exactly 0).

    Cached: the forms and the derivation are fixed, so a proof done once (in a chapter's cell) is not redone."""
    return difference(name, forget_gates, current_cells) == 0


def show_paper(*names, forget_gates: bool = True, tag=None):
    """Display the paper forms of ``names`` as one aligned block (optionally tagged), after proving each."""
    from .display import show  # imported here: display imports IPython, which the package does not need

    forms = paper_forms(forget_gates)
    for name in names:
        if not proof(name, forget_gates):
            raise AssertionError(f"the paper form of {name} is not the derived statement")
    return show(*(sp.Eq(*forms[name], evaluate=False) for name in names), tag=tag, as_written=True)
