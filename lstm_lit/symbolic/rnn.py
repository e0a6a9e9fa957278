"""The vanilla recurrent network of Goodfellow, Bengio & Courville (2016, ch. 10) and its BPTT gradient, derived.

The network (one step, hidden state ``s``, softmax output, cross-entropy loss against a one-hot target ``y``)::

    a(t) = b + W s(t-1) + U x(t)        s(t) = tanh(a(t))
    o(t) = c + V s(t)                   prob(t) = softmax(o(t))        L(t) = -sum_m y_m(t) log prob_m(t)

Everything is written for one network in SymPy index form (``IndexedBase``, ``Sum``, ``KroneckerDelta``), with
0-based indices.  The backward step is *derived*: :func:`pullback` applies the chain rule with ``sympy.diff`` to
the forward statements and :func:`normal_form` removes the Kronecker deltas that the differentiation leaves.
The same two tools derive the modern LSTM (:mod:`.modern_lstm`) and the GRU (:mod:`.gru`).

Index conventions of this module: ``p, q`` hidden units (``n_hid``), ``j`` inputs (``n_in``), ``m`` outputs
(``n_out``).  Quantities of the previous step are ``*_prev``; adjoints (gradients of the total loss) are ``d_*``;
``d_a_next`` is the adjoint of ``a(t+1)``, which the step after this one hands back.
"""

import functools
import itertools

import numpy as np
import sympy as sp
from sympy.printing.latex import LatexPrinter

from .model import Define, StepEquations

# =============================================================================================================
# Index-form calculus shared by the background chapters
# =============================================================================================================

_INDEX = {"integer": True, "nonnegative": True}


def _fresh_bound(expr):
    """Give every summation variable in ``expr`` a fresh ``Dummy`` (so no bound name can clash with a free one)."""
    if isinstance(expr, sp.Sum):
        body = _fresh_bound(expr.function)
        limits = []
        for v, lo, hi in expr.limits:
            new = sp.Dummy(str(v), **_INDEX)
            body = body.xreplace({v: new})
            limits.append((new, lo, hi))
        return sp.Sum(body, *limits)
    if expr.args and not isinstance(expr, sp.Indexed):
        return expr.func(*[_fresh_bound(a) for a in expr.args])
    return expr


def _sum_term(term, v, lo, hi):
    """``Sum(term, (v, lo, hi))`` for one product ``term``: a Kronecker delta in ``v`` collapses the sum; factors
    free of ``v`` move outside.  (A delta ``delta(v, x)`` is resolved as ``x``: the free index ``x`` runs over the
    same axis as ``v``, which holds for every statement derived here.)"""
    factors = sp.Mul.make_args(term)
    for f in factors:
        if isinstance(f, sp.KroneckerDelta) and v in f.free_symbols:
            other = f.args[1] if f.args[0] == v else f.args[0]
            if not other.has(v):
                rest = sp.Mul(*[g for g in factors if g is not f])
                return rest.xreplace({v: other})
    inside = [f for f in factors if f.has(v)]
    outside = [f for f in factors if not f.has(v)]
    if not inside:
        return sp.Mul(*outside) * (hi - lo + 1)
    return sp.Mul(*outside) * sp.Sum(sp.Mul(*inside), (v, lo, hi))


def _collapse(expr):
    """Bottom-up: collapse the inner sums first, then this one (one pass suffices: after the inner sums are
    collapsed no delta inside them involves their own variable, and substituting an outer variable keeps it so)."""
    if isinstance(expr, sp.Sum):
        out = _collapse(expr.function)
        for v, lo, hi in expr.limits:  # innermost first
            out = sp.Add(*[_sum_term(t, v, lo, hi) for t in sp.Add.make_args(sp.expand(out))])
        return sp.expand(out)
    if expr.args and not isinstance(expr, sp.Indexed):
        return sp.expand(expr.func(*[_collapse(a) for a in expr.args]))
    return expr


def _canonical_names(expr, depth=0):
    """Rename summation variables by nesting depth (nu0, nu1, ...) so equal sums compare equal."""
    if isinstance(expr, sp.Sum):
        (v, lo, hi), = expr.limits
        new = sp.Symbol(f"nu{depth}", **_INDEX)
        return sp.Sum(_canonical_names(expr.function.xreplace({v: new}), depth + 1), (new, lo, hi))
    if expr.args and not isinstance(expr, sp.Indexed):
        return expr.func(*[_canonical_names(a, depth) for a in expr.args])
    return expr


def normal_form(expr):
    """A canonical index-form expression: expanded, sums split over terms, Kronecker deltas summed out, factors
    that do not depend on a summation variable moved in front of the sum, summation variables renamed by depth.

    Two expressions are equal in general index form when the normal form of their difference is 0.
    """
    expr = _collapse(_fresh_bound(sp.expand(expr)))
    expr = _canonical_names(_fresh_bound(expr))
    return sp.expand(expr)


def equal(a, b):
    """SymPy proof that ``a == b`` for every size and every index value (``normal_form(a - b) == 0``)."""
    return normal_form(a - b) == 0


def pullback(wrt, uses, shapes):
    """The chain rule in index form: the adjoint of ``wrt`` (an ``Indexed`` with free index symbols).

    ``uses`` lists ``(adjoint, statement)`` pairs: every statement whose right-hand side reads the array of ``wrt``,
    with the ``IndexedBase`` that holds the adjoint of its left-hand side.  ``shapes`` maps array names to sizes.
    Returns ``sum_uses sum_idx adjoint[idx] * d rhs[idx] / d wrt`` in :func:`normal_form`.
    """
    total = sp.Integer(0)
    for adjoint, st in uses:
        dummies = [sp.Dummy(str(ix), **_INDEX) for ix in st.indices]
        rhs = _fresh_bound(st.rhs).xreplace(dict(zip(st.indices, dummies)))
        term = adjoint[tuple(dummies)] * sp.diff(rhs, wrt)
        for d, n in zip(dummies, shapes[st.target]):
            term = sp.Sum(term, (d, 0, n - 1))
        total += term
    return normal_form(total)


def rename_arrays(statement, mapping):
    """The statement with arrays renamed (``{"s_prev": "s", ...}``): the same equation one step later or earlier."""
    table = {sp.IndexedBase(old): sp.IndexedBase(new) for old, new in mapping.items()}
    return Define(statement.lhs.xreplace(table), statement.rhs.xreplace(table), statement.label)


def shift(statement, arrays):
    """The statement one step later: every array ``name`` in ``arrays`` becomes ``name_next``, ``*_prev`` becomes ``*``."""
    mapping = {}
    for base in statement.rhs.atoms(sp.IndexedBase) | {statement.lhs.base}:
        name = str(base.label)
        if name.endswith("_prev"):
            mapping[name] = name[: -len("_prev")]
        elif name in arrays:
            mapping[name] = name + "_next"
    return rename_arrays(statement, mapping)


def substitute_array(expr, name, element):
    """Replace every ``name[idx]`` in ``expr`` by ``element(*idx)`` (also inside sums), then :func:`normal_form`."""
    return normal_form(sp.sympify(expr).replace(
        lambda e: isinstance(e, sp.Indexed) and str(e.base.label) == name, lambda e: element(*e.indices)))


def at_sizes(expr, sizes):
    """``expr`` with concrete sizes, every sum written out (for checks on several concrete sizes)."""
    return sp.expand(sp.sympify(expr).subs(sizes).doit())


# --- an independent numerical reference (SymPy expands every element and lambdify prints it) -----------------
def _sigmoid_np(z):
    return 1.0 / (1.0 + np.exp(-z))


@functools.lru_cache(maxsize=None)
def _element_function(statement, shape):
    elements = []
    for values in itertools.product(*(range(n) for n in shape)):
        elements.append(statement.rhs.subs(dict(zip(statement.indices, values))).doit())
    bases = sorted({ix.base for e in elements for ix in e.atoms(sp.Indexed)}, key=str)
    f = sp.lambdify(bases, elements, modules=[{"sigmoid": _sigmoid_np}, "numpy"])
    return f, [str(b.label) for b in bases]


def reference(equations, shapes, sizes, values):
    """Run the statements of ``equations`` for one network by expanding every element in SymPy.

    ``shapes`` maps array names to symbolic sizes, ``sizes`` the size symbols to integers, ``values`` every input
    (no batch axis).  Shares nothing with :mod:`lstm_lit.codegen` but the derivation.
    """
    env = dict(values)
    for st in equations.statements:
        if not isinstance(st, Define):
            raise TypeError(st)
        shape = tuple(int(sp.sympify(n).subs(sizes)) for n in shapes[st.target])
        rhs = st.rhs.subs(sizes)
        f, names = _element_function(Define(st.lhs, rhs, st.label), shape)
        env[st.target] = np.asarray(f(*[env[n] for n in names]), dtype=float).reshape(shape)
    return env


def derivative_form(expr, activations):
    """Write activation derivatives through the stored activations: ``{sigmoid(z[p]): f[p], tanh(a[p]): s[p]}``."""
    return sp.expand(expr.xreplace(activations))


# =============================================================================================================
# The vanilla RNN
# =============================================================================================================

n_in, n_hid, n_out = sp.symbols("n_in n_hid n_out", integer=True, positive=True)
SIZES = (n_in, n_hid, n_out)
p, q, j, m, r = sp.symbols("p q j m r", **_INDEX)

SHAPES = {
    "x": (n_in,), "s_prev": (n_hid,), "y": (n_out,),
    "W": (n_hid, n_hid), "U": (n_hid, n_in), "b": (n_hid,), "V": (n_out, n_hid), "c": (n_out,),
    "a": (n_hid,), "s": (n_hid,), "o": (n_out,), "e": (n_out,), "prob": (n_out,),
    "a_next": (n_hid,), "s_next": (n_hid,),
}
SHAPES.update({"d_" + name: shape for name, shape in list(SHAPES.items())})

X = {name: sp.IndexedBase(name) for name in SHAPES}


def concrete_sizes(n_in_, n_hid_, n_out_):
    return dict(zip(SIZES, (n_in_, n_hid_, n_out_)))


def forward_statements():
    """One step of the RNN as index-form statements (equations 10.8-10.11 of Goodfellow et al.)."""
    W, U, b, V, c = X["W"], X["U"], X["b"], X["V"], X["c"]
    return [
        Define(X["a"][p], b[p] + sp.Sum(W[p, q] * X["s_prev"][q], (q, 0, n_hid - 1))
               + sp.Sum(U[p, j] * X["x"][j], (j, 0, n_in - 1)), "10.8"),
        Define(X["s"][p], sp.tanh(X["a"][p]), "10.9"),
        Define(X["o"][m], c[m] + sp.Sum(V[m, p] * X["s"][p], (p, 0, n_hid - 1)), "10.10"),
        Define(X["e"][m], sp.exp(X["o"][m])),
        Define(X["prob"][m], X["e"][m] / sp.Sum(X["e"][r], (r, 0, n_out - 1)), "10.11"),
    ]


def statement(target, statements=None):
    for st in statements or forward_statements():
        if st.target == target:
            return st
    raise KeyError(target)


def softmax_of(o_base):
    """prob[m] written through the logits: exp(o[m]) / sum_r exp(o[r])."""
    return sp.exp(o_base[m]) / sp.Sum(sp.exp(o_base[r]), (r, 0, n_out - 1))


def step_loss():
    """L(t) = -sum_m y[m] log prob[m], with prob written through o (the negative log-likelihood, eq. 10.13)."""
    return -sp.Sum(X["y"][m] * sp.log(softmax_of(X["o"])), (m, 0, n_out - 1))


def derive_d_o():
    """dL(t)/do[m] by differentiating the loss; the one-hot target sums to 1 and softmax is renamed prob."""
    raw = normal_form(sp.diff(_fresh_bound(step_loss()), X["o"][m]))
    one_hot = {sp.Sum(X["y"][sp.Symbol("nu0", **_INDEX)], (sp.Symbol("nu0", **_INDEX), 0, n_out - 1)): 1}
    softmax = normal_form(softmax_of(X["o"]))
    return normal_form(raw.xreplace(one_hot).xreplace({softmax: X["prob"][m]}))


def backward_derivations():
    """Every adjoint of one BPTT step, derived by :func:`pullback` from the forward statements.

    Returns ``{name: (lhs, rhs)}`` in the order a backward step computes them.  ``d_a_next`` (the adjoint of
    a(t+1)) is what the later step hands back; at the last step it is 0.
    """
    fw = {st.target: st for st in forward_statements()}
    a_next = shift(fw["a"], arrays=("a",))  # a(t+1) reads s(t)
    d = {}
    d["d_o"] = (X["d_o"][m], derive_d_o())
    d["d_s"] = (X["d_s"][p], pullback(X["s"][p], [(X["d_o"], fw["o"]), (X["d_a_next"], a_next)], SHAPES))
    d["d_a"] = (X["d_a"][p], derivative_form(pullback(X["a"][p], [(X["d_s"], fw["s"])], SHAPES),
                                             {sp.tanh(X["a"][p]): X["s"][p]}))
    d["d_W"] = (X["d_W"][p, q], pullback(X["W"][p, q], [(X["d_a"], fw["a"])], SHAPES))
    d["d_U"] = (X["d_U"][p, j], pullback(X["U"][p, j], [(X["d_a"], fw["a"])], SHAPES))
    d["d_b"] = (X["d_b"][p], pullback(X["b"][p], [(X["d_a"], fw["a"])], SHAPES))
    d["d_V"] = (X["d_V"][m, p], pullback(X["V"][m, p], [(X["d_o"], fw["o"])], SHAPES))
    d["d_c"] = (X["d_c"][m], pullback(X["c"][m], [(X["d_o"], fw["o"])], SHAPES))
    return d


# --- what the textbook prints (seed 002, eqs. 10.17-10.28), transcribed in index form -------------------------
def printed_forms():
    """Goodfellow et al.'s printed gradients in index form (their row-vector products written out).

    ``d_s_next`` is the gradient with respect to s(t+1); ``s_next`` is s(t+1).
    """
    V, W, d_o = X["V"], X["W"], X["d_o"]
    return {
        # 10.18: (grad_o L)_i = prob_i - 1_{i, y(t)}  (one-hot target y)
        "d_o": X["prob"][m] - X["y"][m],
        # 10.19 (last step): dL/ds_j(T) = sum_i dL/do_i(T) V_ij
        "d_s_last": sp.Sum(d_o[r] * V[r, p], (r, 0, n_out - 1)),
        # 10.21: grad_s(t) L = grad_s(t+1) L diag(1 - s(t+1)^2) W + grad_o(t) L V
        "d_s": sp.Sum(X["d_s_next"][q] * (1 - X["s_next"][q] ** 2) * W[q, p], (q, 0, n_hid - 1))
        + sp.Sum(d_o[r] * V[r, p], (r, 0, n_out - 1)),
        # 10.22: grad_c L = sum_t grad_o(t) L       (one step's share)
        "d_c": d_o[m],
        # 10.23: grad_b L = sum_t grad_s(t) L diag(1 - s(t)^2)
        "d_b": X["d_s"][p] * (1 - X["s"][p] ** 2),
    }


def printed_outer_products():
    """10.24 and 10.26 as printed: ``grad_o(t) L s(t)`` and ``grad_s(t) L diag(1 - s(t)^2) s(t-1)``.

    Returns ``(shape of the printed product or the error it raises, the outer-product reading in index form)``
    for both, on a concrete size (2 hidden units, 3 outputs), with the gradients as row vectors as in the text.
    """
    H, K = 2, 3
    go = sp.Matrix(1, K, lambda _, i: sp.Symbol(f"go{i}"))
    gs = sp.Matrix(1, H, lambda _, i: sp.Symbol(f"gs{i}"))
    s_col = sp.Matrix(H, 1, lambda i, _: sp.Symbol(f"s{i}"))
    sp_col = sp.Matrix(H, 1, lambda i, _: sp.Symbol(f"sprev{i}"))
    diag = sp.diag(*[1 - sp.Symbol(f"s{i}") ** 2 for i in range(H)])
    results = {}
    for name, build in (("d_V", lambda: go * s_col), ("d_W", lambda: gs * diag * sp_col)):
        try:
            results[name] = build().shape
        except sp.matrices.exceptions.ShapeError as err:
            results[name] = f"ShapeError: {err}"
    outer = {
        "d_V": X["d_o"][m] * X["s"][p],
        "d_W": X["d_s"][p] * (1 - X["s"][p] ** 2) * X["s_prev"][q],
    }
    return results, outer


# --- the kernels --------------------------------------------------------------------------------------------
def forward_kernel():
    eqs = StepEquations("rnn_forward_step", ("x", "s_prev", "W", "U", "b", "V", "c"),
                        doc="One step of B vanilla RNNs (Goodfellow et al. eqs. 10.8-10.11): a, s = tanh(a), "
                            "o, e = exp(o), prob = softmax(o).")
    eqs.statements = forward_statements()
    eqs.outputs = tuple(st.target for st in eqs.statements)
    return eqs


def backward_kernel(derivations=None):
    """The derived backward step.  ``d_a_next`` is the adjoint of a(t+1) (zeros at the last step)."""
    d = derivations or backward_derivations()
    eqs = StepEquations("rnn_backward_step", ("y", "prob", "s", "s_prev", "x", "d_a_next", "W", "V"),
                        doc="One BPTT step of B vanilla RNNs, derived with SymPy: d_o, d_s, d_a and this step's "
                            "share of every parameter gradient.\n\n    ``d_a_next`` is dL/da(t+1) from the "
                            "later step (zeros at the last step).")
    eqs.statements = [Define(lhs, rhs) for lhs, rhs in d.values()]
    eqs.outputs = tuple(d)
    return eqs


def kernels():
    return [forward_kernel(), backward_kernel()]


# --- a plain NumPy driver for whole sequences (only loops and sums; every formula is in the kernels) --------
PARAMS = ("W", "U", "b", "V", "c")


def run(params, xs, s0, forward_step):
    """Forward pass over a sequence ``xs`` (T, B, n_in) from ``s0``; returns the list of per-step dicts."""
    steps, s_prev = [], s0
    for x in xs:
        out = forward_step(x, s_prev, *(params[k] for k in PARAMS))
        out["s_prev"], out["x"] = s_prev, x
        steps.append(out)
        s_prev = out["s"]
    return steps


def sequence_loss(steps, ys):
    """Total cross-entropy sum_t L(t) of every network in the batch (shape (B,))."""
    return -sum(np.sum(y * np.log(st["prob"]), axis=-1) for st, y in zip(steps, ys))


def bptt(params, steps, ys, backward_step):
    """Gradients of the summed loss by back-propagation through time (accumulates the per-step shares)."""
    grads = {k: np.zeros_like(v) for k, v in params.items()}
    d_a_next = np.zeros_like(steps[-1]["a"])
    hidden = {"d_s": [], "d_a": []}
    for st, y in zip(reversed(steps), reversed(ys)):
        out = backward_step(y, st["prob"], st["s"], st["s_prev"], st["x"], d_a_next, params["W"], params["V"])
        for k in PARAMS:
            grads[k] += out["d_" + k]
        hidden["d_s"].append(out["d_s"])
        hidden["d_a"].append(out["d_a"])
        d_a_next = out["d_a"]
    hidden = {k: v[::-1] for k, v in hidden.items()}
    return grads, hidden


def random_params(rng, batch, n_in_, n_hid_, n_out_, scale=0.5):
    shapes = {"W": (n_hid_, n_hid_), "U": (n_hid_, n_in_), "b": (n_hid_,), "V": (n_out_, n_hid_), "c": (n_out_,)}
    return {k: scale * rng.normal(size=(batch,) + s) for k, s in shapes.items()}


# --- central finite differences, one perturbed copy of the network per batch entry ---------------------------
def central_differences(loss, params, step=1e-6):
    """Gradient of ``loss(params) -> (B,)`` at ``params`` (arrays with a batch axis of length 1), by central
    differences.  All 2N perturbed copies of the network run at once, one per entry of the batch axis."""
    names = list(params)
    sizes = [params[k][0].size for k in names]
    total = sum(sizes)
    batch = {k: np.repeat(params[k], 2 * total, axis=0) for k in names}
    at = 0
    for k, n in zip(names, sizes):
        flat = batch[k].reshape(2 * total, -1)
        for e in range(n):
            flat[2 * (at + e), e] += step
            flat[2 * (at + e) + 1, e] -= step
        at += n
    values = loss(batch)
    diff = (values[0::2] - values[1::2]) / (2 * step)
    grads, at = {}, 0
    for k, n in zip(names, sizes):
        grads[k] = diff[at:at + n].reshape(params[k].shape)
        at += n
    return grads


# --- how the book prints index-form statements ---------------------------------------------------------------
def latex_array(name, params=(), paper=False):
    """(base, time) LaTeX for an array name: ``d_`` marks an adjoint (bar), ``dot_`` a tangent (dot), ``_prev`` /
    ``_next`` / ``_next2`` the steps t-1 / t+1 / t+2; ``params`` have no time; ``paper=True`` uses the paper's
    names and times (:data:`lstm_lit.symbolic.model.ARRAYS`)."""
    from .model import ARRAYS

    mark = None
    if name.startswith("dot_"):
        mark, name = r"\dot", name[4:]
    elif name.startswith("d_"):
        mark, name = r"\bar", name[2:]
    if paper and name in ARRAYS:
        text = ARRAYS[name].latex
        base, time = (text.split("(", 1)[0], "(" + text.split("(", 1)[1]) if "(" in text else (text, "")
    else:
        time = "" if name in params else "(t)"
        for suffix, when in (("_prev", "(t-1)"), ("_next2", "(t+2)"), ("_next", "(t+1)")):
            if name.endswith(suffix):
                name, time = name[: -len(suffix)], when
                break
        special = {"prob": r"\hat{y}", "x_tilde": r"\tilde{x}"}
        if name in special:
            base = special[name]
        elif "_" in name:
            head, tail = name.split("_", 1)
            base = f"{head}^{{{tail}}}"
        else:
            base = name
    if mark:
        head, _, sup = base.partition("^")
        base = f"{mark}{{{head}}}" + (f"^{sup}" if sup else "")
    return base, time


class _IndexPrinter(LatexPrinter):
    def __init__(self, params, paper):
        super().__init__({})
        self.params, self.paper = params, paper

    def _print_Indexed(self, expr):
        base, time = latex_array(str(expr.base.label), self.params, self.paper)
        return f"{base}_{{{','.join(self._print(i) for i in expr.indices)}}}{time}"


def latex(expr, params=(), paper=False):
    return _IndexPrinter(set(params), paper).doprint(expr)


def tidy(expr):
    """For display only: group the terms of ``expr`` by the adjoints and tangents outside sums and factor each group."""
    expr = sp.sympify(expr)
    keys = sorted({ix for ix in expr.atoms(sp.Indexed) if str(ix.base.label).startswith(("d_", "dot_"))
                   and not any(ix in s.atoms(sp.Indexed) for s in expr.atoms(sp.Sum))}, key=str)
    return sp.collect(expr, keys, func=sp.factor_terms) if keys else sp.factor_terms(expr)


def show(*pairs, params=(), paper=False):
    """Display ``(lhs, rhs)`` pairs (or Define statements) as one aligned block of equations (right-hand sides
    grouped by :func:`tidy`; a string left-hand side is used as LaTeX as it is)."""
    from IPython.display import Math

    rows = []
    for item in pairs:
        lhs, rhs = (item.lhs, item.rhs) if isinstance(item, Define) else item
        left = lhs if isinstance(lhs, str) else latex(lhs, params, paper)
        rows.append(f"{left} &= {latex(tidy(rhs), params, paper)}")
    return Math(r"\begin{aligned}" + r" \\ ".join(rows) + r"\end{aligned}")
