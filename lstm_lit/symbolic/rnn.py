"""The vanilla recurrent network of Goodfellow, Bengio & Courville (2016, ch. 10) and its BPTT gradient, derived.

The network (one step, hidden state ``s``, softmax output, cross-entropy loss against a one-hot target ``y``)::

    a(t) = b + W s(t-1) + U x(t)        s(t) = tanh(a(t))
    o(t) = c + V s(t)                   prob(t) = softmax(o(t))        L(t) = -sum_m y_m(t) log prob_m(t)

The softmax is printed in its stable form: the largest logit is subtracted before ``exp`` (which overflows for
arguments above about 709.78 in double precision), ``e_m = exp(o_m - max_r o_r)``, ``prob_m = e_m / sum_r e_r``,
and the log-probabilities by the log-sum-exp ``log prob_m = o_m - max_r o_r - log sum_r e_r``.
:func:`softmax_shift_invariance` proves that subtracting any quantity that does not depend on the class changes
nothing; :class:`MaxOver` is the reduction ``max_r o_r``.

Everything is written for one network in SymPy index form (``IndexedBase``, ``Sum``, ``KroneckerDelta``), with
0-based indices.  The backward step is *derived*: :func:`~lstm_lit.symbolic.calculus.pullback` applies the chain
rule with ``sympy.diff`` to the forward statements and :func:`~lstm_lit.symbolic.calculus.normal_form` removes the
Kronecker deltas that the differentiation leaves.  The same two tools derive the modern LSTM (:mod:`.modern_lstm`)
and the GRU (:mod:`.gru`).

Index conventions of this module: ``p, q`` hidden units (``n_hid``), ``j`` inputs (``n_in``), ``m`` outputs
(``n_out``).  Quantities of the previous step are ``*_prev``; adjoints (gradients of the total loss) are ``d_*``;
``d_a_next`` is the adjoint of ``a(t+1)``, which the step after this one hands back.
"""

import numpy as np
import sympy as sp

from .calculus import INDEX, derivative_form, fresh_bound, normal_form, pullback, shift
from .model import Define, StepEquations

n_in, n_hid, n_out = sp.symbols("n_in n_hid n_out", integer=True, positive=True)
SIZES = (n_in, n_hid, n_out)
p, q, j, m, r = sp.symbols("p q j m r", **INDEX)

SHAPES = {
    "x": (n_in,), "s_prev": (n_hid,), "y": (n_out,),
    "W": (n_hid, n_hid), "U": (n_hid, n_in), "b": (n_hid,), "V": (n_out, n_hid), "c": (n_out,),
    "a": (n_hid,), "s": (n_hid,), "o": (n_out,), "e": (n_out,), "prob": (n_out,), "log_prob": (n_out,),
    "a_next": (n_hid,), "s_next": (n_hid,),
}
SHAPES.update({"d_" + name: shape for name, shape in list(SHAPES.items())})

X = {name: sp.IndexedBase(name) for name in SHAPES}


def concrete_sizes(n_in_, n_hid_, n_out_):
    return dict(zip(SIZES, (n_in_, n_hid_, n_out_)))


class MaxOver(sp.Expr):
    """``max_r term(r)`` for ``r = 0 .. upper``: a reduction over one index, like ``Sum``.

    ``doit()`` writes it out as ``Max`` when the upper bound is a number (so SymPy's own evaluation,
    :func:`lstm_lit.symbolic.evaluate.evaluate`, needs nothing new); the NumPy printer of the generator prints it
    as ``numpy.amax`` over the array's axis (``_numpycode``), broadcast to the statement's free indices; the
    book prints it as ``max_r``.
    """

    def __new__(cls, term, limits):
        return sp.Expr.__new__(cls, sp.sympify(term), sp.Tuple(*limits))

    @property
    def term(self):
        return self.args[0]

    @property
    def limits(self):
        return tuple(self.args[1])

    @property
    def free_symbols(self):
        var, lo, hi = self.limits
        return (self.term.free_symbols | lo.free_symbols | hi.free_symbols) - {var}

    def doit(self, **hints):
        var, lo, hi = self.limits
        term = self.term.doit(**hints) if hints.get("deep", True) else self.term
        if lo.is_Integer and hi.is_Integer:
            return sp.Max(*[term.subs(var, v) for v in range(int(lo), int(hi) + 1)])
        return MaxOver(term, (var, lo, hi))

    def _numpycode(self, printer):
        var, _, _ = self.limits
        term = self.term
        if not (isinstance(term, sp.Indexed) and term.indices == (var,)):
            raise ValueError(f"codegen: cannot print {self} as a maximum over one axis")
        return printer._broadcast(f"numpy.amax({term.base.label}, axis=1)", (), printer.free)

    def _latex(self, printer):
        var, _, _ = self.limits
        return r"\max_{%s} %s" % (printer._print(var), printer._print(self.term))


def logit_max(o_base=None):
    """max_r o[r], the shift of the stable softmax."""
    o_base = X["o"] if o_base is None else o_base
    return MaxOver(o_base[r], (r, 0, n_out - 1))


def forward_statements():
    """One step of the RNN as index-form statements (equations 10.8-10.11 of Goodfellow et al.), the softmax in
    its stable form (the largest logit subtracted; log-probabilities by the log-sum-exp)."""
    W, U, b, V, c = X["W"], X["U"], X["b"], X["V"], X["c"]
    return [
        Define(X["a"][p], b[p] + sp.Sum(W[p, q] * X["s_prev"][q], (q, 0, n_hid - 1))
               + sp.Sum(U[p, j] * X["x"][j], (j, 0, n_in - 1)), "10.8"),
        Define(X["s"][p], sp.tanh(X["a"][p]), "10.9"),
        Define(X["o"][m], c[m] + sp.Sum(V[m, p] * X["s"][p], (p, 0, n_hid - 1)), "10.10"),
        Define(X["e"][m], sp.exp(X["o"][m] - logit_max())),
        Define(X["prob"][m], X["e"][m] / sp.Sum(X["e"][r], (r, 0, n_out - 1)), "10.11"),
        Define(X["log_prob"][m], X["o"][m] - logit_max() - sp.log(sp.Sum(X["e"][r], (r, 0, n_out - 1)))),
    ]


def softmax_shift_invariance(shift_the_sum=True):
    """Proof that the stable forms equal the textbook's softmax and its logarithm.

    For a shift ``k`` that is the same for every term of the sum (the statements use k = max_r o_r),
    ``exp(o_m - k) / sum_r exp(o_r - k) = exp(o_m) / sum_r exp(o_r)`` and
    ``o_m - k - log sum_r exp(o_r - k) = log(exp(o_m) / sum_r exp(o_r))``.  Returns the two differences after
    :func:`normal_form` (``exp(-k)`` leaves the sum as a factor and cancels); both are 0.
    ``shift_the_sum=False`` shifts the numerator but not the sum (a slip the proof must catch: not 0).
    """
    k = sp.Symbol("k", real=True)
    o = X["o"]
    total = sp.Sum(sp.exp(o[r] - k) if shift_the_sum else sp.exp(o[r]), (r, 0, n_out - 1))
    prob_diff = normal_form(sp.powsimp(sp.expand(normal_form(sp.exp(o[m] - k) / total) - softmax_of(o)),
                                       combine="exp"))
    log_diff = normal_form(sp.expand_log(normal_form(o[m] - k - sp.log(total)), force=True)
                           - sp.expand_log(sp.log(softmax_of(o)), force=True))
    return prob_diff, log_diff


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
    raw = normal_form(sp.diff(fresh_bound(step_loss()), X["o"][m]))
    one_hot = {sp.Sum(X["y"][sp.Symbol("nu0", **INDEX)], (sp.Symbol("nu0", **INDEX), 0, n_out - 1)): 1}
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


# --- what the textbook prints (Goodfellow et al. 2016, eqs. 10.17-10.28), transcribed in index form -------------------------
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
                            "o, e = exp(o - max(o)), prob = softmax(o) = e / sum(e), "
                            "log_prob = o - max(o) - log(sum(e)).")
    eqs.statements = forward_statements()
    eqs.outputs = tuple(st.target for st in eqs.statements)
    return eqs


def backward_kernel(derivations=None):
    """The derived backward step.  ``d_a_next`` is the adjoint of a(t+1) (zeros at the last step)."""
    doc = ("One BPTT step of B vanilla RNNs, derived with SymPy: d_o, d_s, d_a and this step's "
           "share of every parameter gradient.\n\n    ``d_a_next`` is dL/da(t+1) from the "
           "later step (zeros at the last step).")
    inputs = ("y", "prob", "s", "s_prev", "x", "d_a_next", "W", "V")
    return StepEquations.from_derivations("rnn_backward_step", inputs, derivations or backward_derivations(), doc)


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
    """Total cross-entropy sum_t L(t) of every network in the batch (shape (B,)), from the log-sum-exp form."""
    return -sum(np.sum(y * st["log_prob"], axis=-1) for st, y in zip(steps, ys))


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
