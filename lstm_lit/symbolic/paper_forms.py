"""The paper's printed forms of (1)-(5) and (12)-(16), typed independently of the derivation.

Gers, Schmidhuber & Cummins (2000) and the notes the book follows print the gradients and the trace recursions with
named activations: ``f'`` of a gate or output unit, ``g``, ``g'``, ``h``, ``h'``.  This module types those forms
(0-based indices, this package's array names) and gives the activations **their own definitions**, written out here:
the logistic function sigma, ``g = 4 sigma - 2`` and ``h = 2 sigma - 1``.  Nothing is imported from
:mod:`lstm_lit.symbolic.activations`, which the derivation uses: if a shared activation were wrong there, the
derived expressions would change and the proofs "derived = printed" (:func:`equal`) would fail.

Two views of every form:

* **named** (what the book displays): the activations appear as :class:`g`, :class:`h`, their derivatives as
  :class:`g_prime`, :class:`h_prime`, and a gate's or output unit's derivative as :class:`f_prime` of its net input.
  Built unevaluated, so that :func:`lstm_lit.symbolic.display.show` with ``as_written=True`` prints the factors in
  the paper's order.
* **written out** (:func:`written_out`): every named activation replaced by its definition above; a logistic unit's
  derivative ``f'(z)`` by ``y (1 - y)``, with ``y = sigma(z)`` the unit's stored activation (as the derivation
  names it).

The derivation's logistic function is a different SymPy class; :func:`equal` maps it onto :class:`sigma` (one
symbol for one function: ``tests/test_paper_forms.py`` checks that both are ``1 / (1 + exp(-z))`` with the same
derivative) and then compares in general index form.
"""

import sympy as sp

from .calculus import index_form_equal, registry_shapes
from .model import A, d_blk, d_out, i, k, m, p, q, state_decay

# --- the activations, defined here ------------------------------------------------------------------------------


class sigma(sp.Function):
    """The logistic function sigma(z) = 1 / (1 + exp(-z)); sigma' = sigma (1 - sigma)."""

    nargs = 1

    def fdiff(self, argindex=1):
        s = sigma(self.args[0])
        return s * (1 - s)

    @classmethod
    def eval(cls, z):
        if z.is_zero:
            return sp.S.Half
        return None

    def _eval_rewrite_as_exp(self, z, **kwargs):
        return 1 / (1 + sp.exp(-z))

    def _latex(self, printer, exp=None):
        base = r"\sigma\left(%s\right)" % printer._print(self.args[0])
        return base if exp is None else r"%s^{%s}" % (base, exp)


def g_def(z):
    """The cell input squashing of the paper, g(z) = 4 sigma(z) - 2 (range [-2, 2])."""
    return 4 * sigma(z) - 2


def h_def(z):
    """The cell output squashing of the paper, h(z) = 2 sigma(z) - 1 (range [-1, 1])."""
    return 2 * sigma(z) - 1


# --- the activations by name (for display) ------------------------------------------------------------------------


class _Named(sp.Function):
    nargs = 1
    tex = ""

    def _latex(self, printer, exp=None):
        base = r"%s\left(%s\right)" % (self.tex, printer._print(self.args[0]))
        return base if exp is None else r"%s^{%s}" % (base, exp)


class g_prime(_Named):
    """g'(z), shown by name."""
    tex = "g'"


class h_prime(_Named):
    """h'(z), shown by name."""
    tex = "h'"


class g(_Named):
    """g(z), shown by name; its derivative is :class:`g_prime`."""
    tex = "g"

    def fdiff(self, argindex=1):
        return g_prime(self.args[0])


class h(_Named):
    """h(z), shown by name; its derivative is :class:`h_prime`."""
    tex = "h"

    def fdiff(self, argindex=1):
        return h_prime(self.args[0])


_UNIT = {"z_fg": ("y_fg", r"\fg"), "z_ig": ("y_ig", r"\ig"), "z_og": ("y_og", r"\og"), "z_out": ("y", r"\outp")}


class f_prime(_Named):
    """f'(z) of a logistic gate or output unit, shown as the paper writes it: {f^{fg}}'(z^{fg}_k(t+1))."""

    def _latex(self, printer, exp=None):
        _, sup = _UNIT[str(self.args[0].base.label)]
        base = r"{f^{%s}}'\left(%s\right)" % (sup, printer._print(self.args[0]))
        return base if exp is None else r"%s^{%s}" % (base, exp)


def _unit_derivative(z):
    """f'(z) = y (1 - y) with y = sigma(z) the unit's stored activation (same indices)."""
    y = sp.IndexedBase(_UNIT[str(z.base.label)][0])[z.indices]
    return y * (1 - y)


def written_out(expr):
    """``expr`` with every named activation replaced by its definition in this module."""
    expr = sp.sympify(expr)
    z = sp.Dummy("z")
    rules = ((g, g_def), (h, h_def), (g_prime, lambda a: sp.diff(g_def(z), z).subs(z, a)),
             (h_prime, lambda a: sp.diff(h_def(z), z).subs(z, a)), (f_prime, _unit_derivative))
    for cls, definition in rules:
        expr = expr.replace(lambda e, cls=cls: isinstance(e, cls), lambda e, d=definition: d(e.args[0]))
    return expr


def _from_derivation(expr):
    """Map the derivation's logistic function onto :class:`sigma` (the only thing the two sides have in common)."""
    return sp.sympify(expr).replace(lambda e: isinstance(e, sp.Function) and type(e).__name__ == "sigmoid"
                                    and type(e).__module__.endswith("symbolic.activations"),
                                    lambda e: sigma(e.args[0]))


def equal(derived, paper, forget_gates=True):
    """True when the derived expression equals the paper's form (named or written out), in general index form, with
    the arrays' shapes of the network with (or without) forget gates bounding every index and sum."""
    return index_form_equal(_from_derivation(derived), written_out(paper), registry_shapes(forget_gates))


def difference(derived, paper):
    """derived - paper, expanded, with both sides in this module's activations (for proofs that hold only where a
    Kronecker delta is 1, which index-form equality cannot state)."""
    return sp.expand(_from_derivation(derived) - written_out(paper))


# --- the forms ------------------------------------------------------------------------------------------------------
M = lambda *a: sp.Mul(*a, evaluate=False)  # noqa: E731 -- a product kept in the paper's order
P = lambda *a: sp.Add(*a, evaluate=False)  # noqa: E731
i2 = sp.Symbol("j", integer=True, nonnegative=True)   # the notes' j: a cell of block p (bound in every sum)
r = sp.Symbol("r", integer=True, nonnegative=True)    # the cell of a W^c weight
W_out_c = sp.IndexedBase("W_out_c")                   # the columns of W^out that read the cells, [m, block, cell]
target = sp.IndexedBase("target")                     # \hat y(t+1)
_TRACE = {"W_fg": "e_fg", "W_ig": "e_ig", "W_c": "e_c"}


def output_error(mm=m):
    """(y_m - \\hat y_m) f_out'(z_out_m): the error at an output unit's net input."""
    return M(P(A["y"][mm], -target[mm]), f_prime(A["z_out"][mm]))


def _carry(old, forget_gates, decay):
    """The old derivative as carried to t+1: times the forget gate, or (1997) times the decay (omitted when 1)."""
    keep = A["y_fg"][k] if forget_gates else decay
    return old if keep == 1 else M(keep, old)


def trace_update(weight, forget_gates=True, decay=state_decay):
    """The second lines of (13), (14), (15): e(t+1) in terms of e(t) (1997: (3), (4) with ``decay``, 1 in the paper)."""
    e = sp.IndexedBase(_TRACE[weight])[k, i, q]
    xq = A["x_tilde"][q]
    local = {
        "W_fg": M(f_prime(A["z_fg"][k]), xq, A["s_prev"][k, i]),   # (13): f_fg'(z_fg) x~_q s(t)
        "W_ig": M(f_prime(A["z_ig"][k]), xq, g(A["z_c"][k, i])),   # (14): f_ig'(z_ig) x~_q g(z_c)
        "W_c": M(A["y_ig"][k], g_prime(A["z_c"][k, i]), xq),       # (15): y_ig g'(z_c) x~_q
    }[weight]
    if weight == "W_fg" and not forget_gates:
        raise ValueError("the 1997 LSTM has no forget gate")
    return P(_carry(e, forget_gates, decay), local)


def output_gradient():
    """(1): (y_m - \\hat y_m) f_out'(z_out_m) x^out_q."""
    return M(output_error(), A["x_out"][q])


def gradient(weight, forget_gates=True):
    """The first lines of (2)-(4) and (12)-(15): d L(t+1) / d W with the trace at t+1 (``W_out``: see (1))."""
    if weight == "W_out":
        return output_gradient()
    sp_ = A["s"]
    back = lambda kk, ii: sp.Sum(M(output_error(), W_out_c[m, kk, ii]), (m, 0, d_out - 1))  # noqa: E731
    if weight == "W_og":  # (2) = (12): (sum_j [sum_i delta_i W^out_{i,c(p,j)}] h(s_pj)) f_og'(z_og_p) x~_q
        return M(sp.Sum(M(back(p, i2), h(sp_[p, i2])), (i2, 0, d_blk - 1)), f_prime(A["z_og"][p]), A["x_tilde"][q])
    e = sp.IndexedBase(_TRACE[weight] + "_next")
    if weight == "W_c":   # (4), (15): [sum_i delta_i W^out_{i,c(p,r)}] y_og_p h'(s_pr) ds_pr/dW^c_prq
        return M(back(p, r), A["y_og"][p], h_prime(sp_[p, r]), e[p, r, q])
    if forget_gates:      # (13), (14): (sum_i [delta_i sum_j [W^out_{i,c(p,j)} h'(s_pj) ds_pj/dW_pq]]) y_og_p
        inner = sp.Sum(M(W_out_c[m, p, i2], h_prime(sp_[p, i2]), e[p, i2, q]), (i2, 0, d_blk - 1))
        return M(sp.Sum(M(output_error(), inner), (m, 0, d_out - 1)), A["y_og"][p])
    # (3): (sum_j [sum_i delta_i W^out_{i,c(p,j)}] h'(s_pj) sum_t* [...]) y_og_p, the running sum being the trace
    return M(sp.Sum(M(back(p, i2), h_prime(sp_[p, i2]), e[p, i2, q]), (i2, 0, d_blk - 1)), A["y_og"][p])


def statement(name, forget_gates=True, decay=state_decay):
    """The paper's named form of one statement of the generated gradient and trace steps (same left-hand side).

    The trace steps ``e_*_next`` are written as the old trace carried (by the forget gate, or in 1997 by ``decay``)
    plus the per-cell local factor gamma (``src_*``) times the source."""
    s_ = A["s"][k, i]
    if name.startswith("e_") and name.endswith("_next"):
        gate = name[2:-5]
        e = sp.IndexedBase(f"e_{gate}")[k, i, q]
        return P(_carry(e, forget_gates, decay), M(sp.IndexedBase(f"src_{gate}")[k, i], A["x_tilde"][q]))
    forms = {
        "delta_out": output_error(),
        "h_s": h(s_),
        "err_s": M(sp.IndexedBase("delta_yc")[k, i], A["y_og"][k], h_prime(s_)),
        "grad_W_og": M(sp.IndexedBase("err_og")[p], f_prime(A["z_og"][p]), A["x_tilde"][q]),
        "src_fg": M(f_prime(A["z_fg"][k]), A["s_prev"][k, i]),
        "src_ig": M(f_prime(A["z_ig"][k]), g(A["z_c"][k, i])),
        "src_c": M(A["y_ig"][k], g_prime(A["z_c"][k, i])),
    }
    return forms[name]


def state_derivative(weight, forget_gates=True, decay=state_decay):
    """d s_{k,i}(t+1) / d W before the reduction: the notes' first step, the old derivative carried by the forget
    gate (1997: ``decay``) plus a local term that only the weights of block k (and, for W^c, cell i) have."""
    xq = A["x_tilde"][q]
    if weight == "W_c":
        old = sp.IndexedBase("dS_dW_c")[k, i, p, r, q]
        local = M(sp.KroneckerDelta(k, p), sp.KroneckerDelta(i, r), A["y_ig"][k], g_prime(A["z_c"][k, i]), xq)
    else:
        old = sp.IndexedBase("dS_d" + weight)[k, i, p, q]
        local = {"W_fg": M(sp.KroneckerDelta(k, p), f_prime(A["z_fg"][k]), xq, A["s_prev"][k, i]),
                 "W_ig": M(sp.KroneckerDelta(k, p), f_prime(A["z_ig"][k]), xq, g(A["z_c"][k, i]))}[weight]
    return P(_carry(old, forget_gates, decay), local)


def notes_second_line(weight):
    """The notes' second lines of (13)-(15) as printed: the Kronecker delta(s) in front of a bracket written for the
    weight's own block p (and cell r), with the old derivative d s_{p,i}(t) / d W_{p,q} = e_{p,i,q}(t) (for W^c:
    d s_{p,r}(t) / d W^c_{p,r,q} = e^c_{p,r,q}(t)); the state's block is k and its cell i."""
    xq = A["x_tilde"][q]
    e = sp.IndexedBase(_TRACE[weight])
    if weight == "W_c":
        bracket = P(M(A["y_fg"][p], e[p, r, q]), M(A["y_ig"][p], g_prime(A["z_c"][p, r]), xq))
        return M(sp.KroneckerDelta(k, p), sp.KroneckerDelta(i, r), bracket)
    if weight == "W_fg":
        bracket = P(M(f_prime(A["z_fg"][p]), xq, A["s_prev"][p, i]), M(A["y_fg"][p], e[p, i, q]))
    else:
        bracket = P(M(A["y_fg"][p], e[p, i, q]), M(f_prime(A["z_ig"][p]), xq, g(A["z_c"][p, i])))
    return M(sp.KroneckerDelta(k, p), bracket)


#: the statements :func:`statement` knows
STATEMENTS = ("delta_out", "h_s", "err_s", "grad_W_og", "src_fg", "src_ig", "src_c",
              "e_fg_next", "e_ig_next", "e_c_next")


def update(weight, learning_rate):
    """(5), (16): the new value of a weight, W - alpha dL/dW (the book displays it as W <- W - alpha nabla W)."""
    ix = {"W_c": (k, i, q), "W_out": (m, q)}.get(weight, (k, q))
    return P(A[weight][ix], -learning_rate * sp.IndexedBase("grad_" + weight)[ix]), ix


__all__ = ["sigma", "g_def", "h_def", "g", "h", "g_prime", "h_prime", "f_prime", "written_out", "equal", "difference",
           "output_error", "output_gradient", "gradient", "trace_update", "state_derivative", "notes_second_line",
           "statement", "STATEMENTS", "update"]
