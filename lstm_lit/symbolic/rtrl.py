"""Truncated RTRL for the LSTM, derived: the truncation rule (10)-(11), the eligibility traces and the
gradients (1)-(5), (12)-(16).

The derivation is mechanical.  ``sympy.diff`` differentiates one step of the network, and
:func:`lstm_lit.symbolic.calculus.chain_rule` adds the paths through the past: through the recurrent input
x~(t) (whose derivative the **truncation rule** sets to zero) and through the state s(t) (whose derivative
with respect to a weight is the weight's *eligibility trace*).  Applied to equation (9) this yields the trace
recursions; applied to the loss it yields the gradients.  Each result is compared with the published form
(the ``printed_*`` functions: the forms of :mod:`lstm_lit.symbolic.paper_forms`, typed there from the notes in this
package's 0-based notation with their own activation definitions, written out here for the comparison).
"""

import sympy as sp

from . import model
from .activations import h, sigmoid
from .calculus import chain_rule, collapse, expand_definitions, name_subexpressions, total_derivative
from .model import A, Define, StepEquations, d_blk, d_in, d_out, i, k, m, n_blk, p, q

r = sp.Symbol("r", integer=True, nonnegative=True)  #: cell index of a W^c weight (W^c_{p,r,q})

#: the weights whose influence is carried in traces, and the axes of one weight element
TRACED = ("W_fg", "W_ig", "W_c")
WEIGHT_INDEX = {"W_fg": (p, q), "W_ig": (p, q), "W_og": (p, q), "W_c": (p, r, q), "W_out": (m, q)}

x_tilde_base = A["x_tilde"].base
s_prev_base = A["s_prev"].base
s_base = A["s"].base


def full_trace(weight):
    """d s_{k,i}(t) / d weight, the untruncated-form trace over all weights: indices (k, i) + weight indices."""
    return sp.IndexedBase(f"dS_d{weight}")


def full_trace_next(weight):
    return sp.IndexedBase(f"dS_d{weight}_next")


def dx_tilde(weight):
    """d x~_j(t) / d weight -- what the truncation rule (10) drops."""
    return sp.IndexedBase(f"dXt_d{weight}")


def reduced_trace(weight):
    """The eligibility trace that survives: e[k, i, q] (see :func:`reduction`)."""
    return sp.IndexedBase({"W_fg": "e_fg", "W_ig": "e_ig", "W_c": "e_c"}[weight])


def reduced_trace_next(weight):
    return sp.IndexedBase({"W_fg": "e_fg_next", "W_ig": "e_ig_next", "W_c": "e_c_next"}[weight])


def ranges(forget_gates=True):
    return {x_tilde_base: (model.n_src(forget_gates),), s_prev_base: (n_blk, d_blk), s_base: (n_blk, d_blk)}


# --- the truncation rule ------------------------------------------------------------------------------
def truncation_rule(weight, truncated=True):
    """Dependencies for the chain rule: d x~(t)/dW is dropped by rule (10) when ``truncated``; d s(t)/dW is the trace."""
    return {x_tilde_base: 0 if truncated else dx_tilde(weight), s_prev_base: full_trace(weight)}


def _cell_update(forget_gates):
    eqs = model.forward_equations(forget_gates)
    gates = (["y_fg", "z_fg"] if forget_gates else []) + ["y_ig", "z_ig", "z_c"]
    return eqs, expand_definitions(eqs.rhs("s"), eqs, gates)


def _named(expr, eqs, forget_gates):
    names = ["z_c", "z_ig"] + (["z_fg"] if forget_gates else []) + ["z_og", "y_ig", "y_og"] + (["y_fg"] if forget_gates else [])
    return name_subexpressions(expr, eqs, [n for n in names if n in eqs.outputs])


def net_input_derivative(gate, weight, truncated=True, forget_gates=True):
    """d z^gate_k(t+1) / d weight, with or without the truncation rule: the first half of (10)-(11)."""
    eqs = model.forward_equations(forget_gates)
    z = eqs[gate]
    return chain_rule(z.rhs, A[weight][WEIGHT_INDEX[weight]], truncation_rule(weight, truncated), ranges(forget_gates))


def state_derivative(weight, forget_gates=True, truncated=True):
    """d s_{k,i}(t+1) / d weight by the chain rule through equation (9) (or (6)), in terms of the trace d s(t)/d weight."""
    eqs, s_expr = _cell_update(forget_gates)
    d = chain_rule(s_expr, A[weight][WEIGHT_INDEX[weight]], truncation_rule(weight, truncated), ranges(forget_gates))
    return _named(d, eqs, forget_gates)


def reduction(weight):
    """The sparsity of the trace: d s_{k,i}/dW is zero unless the weight feeds block k (and, for W^c, cell i).

    Returns ``(full trace element, reduced form)``: dS_dW[k, i, p, q] = delta(k, p) e[k, i, q], and
    dS_dW_c[k, i, p, r, q] = delta(k, p) delta(i, r) e_c[k, i, q].
    """
    full = full_trace(weight)
    e = reduced_trace(weight)
    if weight == "W_c":
        return full[k, i, p, r, q], sp.KroneckerDelta(k, p) * sp.KroneckerDelta(i, r) * e[k, i, q]
    return full[k, i, p, q], sp.KroneckerDelta(k, p) * e[k, i, q]


def _select(weight):
    """The substitution that reads the reduced trace off the full one (p -> k, r -> i)."""
    return {p: k, r: i} if weight == "W_c" else {p: k}


def reduced_trace_update(weight, forget_gates=True):
    """Derive the recursion of the reduced trace e[k, i, q] and prove that the reduced form is preserved.

    Substituting the reduced form of d s(t)/dW into :func:`state_derivative` must give
    delta(...) * (something): that something is e(t+1).  Raises if the form were not preserved.
    """
    full_elem, reduced = reduction(weight)
    d = state_derivative(weight, forget_gates)
    d = collapse(d.replace(lambda e: isinstance(e, sp.Indexed) and e.base == full_elem.base,
                           lambda e: reduced.subs(dict(zip(full_elem.indices, e.indices)), simultaneous=True)))
    update = d.subs(_select(weight), simultaneous=True)
    update = update.replace(lambda e: isinstance(e, sp.KroneckerDelta) and e.args[0] == e.args[1], lambda e: sp.S.One)
    update = sp.expand(update.subs(sp.KroneckerDelta(k, k), 1))
    factor = sp.KroneckerDelta(k, p) * (sp.KroneckerDelta(i, r) if weight == "W_c" else 1)
    assert sp.expand(d - factor * update) == 0, f"the trace of {weight} does not keep its reduced form"
    return sp.collect(update, reduced_trace(weight)[k, i, q])


def _printed(form):
    """A form of :mod:`lstm_lit.symbolic.paper_forms` (typed there with its own g, h and sigma), written out and in
    this derivation's sigmoid, so that it compares with the derived expressions directly."""
    from . import paper_forms
    return paper_forms.written_out(form).replace(paper_forms.sigma, sigmoid)


def printed_trace_update(weight, forget_gates=True):
    """The trace recursions as the notes print them: second lines of (13), (14), (15) (0-based, in our names)."""
    from . import paper_forms
    return _printed(paper_forms.trace_update(weight, forget_gates))


def untruncated_extra_terms(weight, forget_gates=True):
    """What the truncation drops from d s(t+1)/dW: the terms carrying d x~(t)/dW (for the book's table)."""
    full = state_derivative(weight, forget_gates, truncated=False)
    cut = state_derivative(weight, forget_gates, truncated=True)
    return sp.expand(full - cut)


# --- the output side and the gradients ------------------------------------------------------------------
W_out_c = sp.IndexedBase("W_out_c")  #: the columns of W^out that read the cells: W_out_c[m, k, i]
target = sp.IndexedBase("target")    #: the desired output \hat y(t+1)
i2 = sp.Symbol("i2", integer=True, nonnegative=True)
k2 = sp.Symbol("k2", integer=True, nonnegative=True)


def loss():
    """L(t+1) = 1/2 sum_m (y_m(t+1) - target_m)^2, with y written out down to the cells (the state s(t+1) kept)."""
    eqs = model.forward_equations(True)
    z_out = (sp.Sum(A["W_out"][m, q] * A["x"][q], (q, 0, d_in - 1)) + A["W_out"][m, d_in]
             + sp.Sum(W_out_c[m, k2, i2] * eqs.rhs("y_c").subs({k: k2, i: i2}, simultaneous=True), (k2, 0, n_blk - 1), (i2, 0, d_blk - 1)))
    y = sigmoid(z_out)
    return sp.Sum((y - target[m]) ** 2 / 2, (m, 0, d_out - 1)), z_out


def derived_gradient(weight, forget_gates=True):
    """d L(t+1) / d weight under the truncation rule, with d s(t+1)/dW given by the (updated) reduced trace."""
    L, _ = loss()
    eqs = model.forward_equations(forget_gates)
    L = expand_definitions(L, eqs, ["y_og", "z_og"])
    wrt = A[weight][WEIGHT_INDEX[weight]]
    deps = {x_tilde_base: 0, s_base: (0 if weight in ("W_og", "W_out") else full_trace_next(weight))}
    d = chain_rule(L, wrt, deps, ranges(forget_gates))
    if weight in TRACED:
        full_elem, reduced = reduction(weight)
        nxt = reduced.subs(reduced_trace(weight), reduced_trace_next(weight))
        d = collapse(d.replace(lambda e: isinstance(e, sp.Indexed) and e.base == full_trace_next(weight),
                               lambda e: nxt.subs(dict(zip(full_elem.indices, e.indices)), simultaneous=True)))
    return d


def printed_gradient(weight, forget_gates=True):
    """The gradients as printed in the notes, (2)-(4), (12)-(15) first lines (0-based, our names), written out."""
    from . import paper_forms
    if weight == "W_out":
        raise ValueError("W_out: compare with printed_output_gradient")
    return _printed(paper_forms.gradient(weight, forget_gates))


def _gradient_definitions(forget_gates=True):
    """The chain from a hidden weight to L(t+1): y <- z_out <- y_c <- (y_og, s) <- z_og, with names kept."""
    eqs = model.forward_equations(forget_gates)
    k3, i3 = sp.symbols("k3 i3", integer=True, nonnegative=True)
    z_out_split = (sp.Sum(A["W_out"][m, q] * A["x"][q], (q, 0, d_in - 1)) + A["W_out"][m, d_in]
                   + sp.Sum(W_out_c[m, k3, i3] * A["y_c"][k3, i3], (k3, 0, n_blk - 1), (i3, 0, d_blk - 1)))
    defs = {A["y"].base: ((m,), eqs.rhs("y")), A["z_out"].base: ((m,), z_out_split)}
    for name in ("y_c", "y_og", "z_og"):
        st = eqs[name]
        defs[A[name].base] = (st.indices, st.rhs)
    shapes = {A["y"].base: (d_out,), A["z_out"].base: (d_out,), A["x_out"].base: (model.n_out_src,), A["y_c"].base: (n_blk, d_blk), A["y_og"].base: (n_blk,),
              A["z_og"].base: (n_blk,), s_base: (n_blk, d_blk), x_tilde_base: (model.n_src(forget_gates),)}
    return eqs, defs, shapes


def gradient(weight, forget_gates=True):
    """d L(t+1) / d weight derived by the chain rule with the truncation rule (10), in named quantities.

    The state s(t+1) enters through the updated trace (reduced form, :func:`reduction`); the output-gate and
    output weights reach the loss without any trace (their traces stay zero, see :func:`reduced_trace_update`).
    """
    eqs, defs, shapes = _gradient_definitions(forget_gates)
    L = sp.Sum((A["y"][m] - target[m]) ** 2 / 2, (m, 0, d_out - 1))
    traced = weight in TRACED
    leaves = {x_tilde_base: 0, s_base: full_trace_next(weight) if traced else 0}
    wrt = A[weight][WEIGHT_INDEX[weight]]
    if weight == "W_out":  # the output weights see x_out directly; differentiate the unsplit form
        z_out = model.forward_equations(forget_gates)["z_out"]
        defs = {A["y"].base: ((m,), eqs.rhs("y")), A["z_out"].base: ((m,), z_out.rhs)}
        leaves = {A["x_out"].base: 0}
    m2 = sp.Symbol("m2", integer=True, nonnegative=True)
    d = total_derivative(L, wrt, defs, leaves, shapes)
    if traced:
        full_elem, reduced = reduction(weight)
        nxt = reduced.subs(reduced_trace(weight), reduced_trace_next(weight))
        d = collapse(d.replace(lambda e: isinstance(e, sp.Indexed) and e.base == full_trace_next(weight),
                               lambda e: nxt.subs(dict(zip(full_elem.indices, e.indices)), simultaneous=True)))
    del m2
    return name_subexpressions(d, eqs, ["y", "y_og"])


def printed_output_gradient():
    """(1): (y_p - \\hat y_p) f_out'(z_out_p) x_out_q."""
    from . import paper_forms
    return _printed(paper_forms.output_gradient())


# --- what the generator prints ------------------------------------------------------------------------
delta_out = sp.IndexedBase("delta_out")  #: (y - \hat y) f_out'(z_out): error at the output net inputs
delta_yc = sp.IndexedBase("delta_yc")    #: d L / d y^c: the output error sent back to each cell output
h_s = sp.IndexedBase("h_s")              #: h(s(t+1))
err_s = sp.IndexedBase("err_s")          #: d L / d s(t+1) along the kept path: delta_yc y_og h'(s)
err_og = sp.IndexedBase("err_og")        #: sum_i delta_yc h(s): the error reaching an output gate's activation

def _register_arrays():
    """Name, axes and book notation of every array the derivation adds to the model (display and code generation)."""
    tex = {"W_fg": r"W^{\fg}", "W_ig": r"W^{\ig}", "W_og": r"W^{\og}", "W_c": r"W^{c}", "W_out": r"W^{\outp}"}
    sup = {"fg": r"\fg", "ig": r"\ig", "c": "c"}
    arrays = {
        "target": ("out", r"\hat{y}(t+1)"), "W_out_c": ("out blk cell", r"W^{\outp,c}"),
        "delta_out": ("out", r"\delta^{\outp}(t+1)"), "delta_yc": ("blk cell", r"\delta^{c}(t+1)"),
        "h_s": ("blk cell", r"h^{s}(t+1)"), "err_s": ("blk cell", r"\varepsilon^{s}(t+1)"),
        "err_og": ("blk", r"\varepsilon^{\og}(t+1)"),
    }
    for g_ in ("fg", "ig", "c"):
        arrays[f"e_{g_}"] = ("blk cell src", r"e^{%s}(t)" % sup[g_])
        arrays[f"e_{g_}_next"] = ("blk cell src", r"e^{%s}(t+1)" % sup[g_])
        arrays[f"src_{g_}"] = ("blk cell", r"\gamma^{%s}(t+1)" % sup[g_])
    for w, axes in (("W_fg", "blk src"), ("W_ig", "blk src"), ("W_og", "blk src"), ("W_c", "blk cell src"), ("W_out", "out osrc")):
        arrays["grad_" + w] = (axes, r"\nabla %s" % tex[w])
        arrays["mask_" + w] = (axes, "M" + tex[w][1:])
        arrays[w + "_new"] = (axes, tex[w] + r"_{\mathrm{new}}")
        if w != "W_out":
            arrays[f"dS_d{w}"] = ("", r"\left(\pd{s}{%s}\right)(t)" % tex[w])
            arrays[f"dS_d{w}_next"] = ("", r"\left(\pd{s}{%s}\right)(t+1)" % tex[w])
            arrays[f"dXt_d{w}"] = ("", r"\left(\pd{\xt}{%s}\right)(t)" % tex[w])
    for name, (axes, latex) in arrays.items():
        model.ARRAYS[name] = model.Array(name, tuple(axes.split()), latex)


_register_arrays()


def trace_equations(forget_gates=True):
    """The generated trace update: e(t+1) from e(t), the reduced recursions derived in :func:`reduced_trace_update`."""
    weights = ("W_fg", "W_ig", "W_c") if forget_gates else ("W_ig", "W_c")
    keep = ["y_fg"] if forget_gates else []
    eqs = StepEquations(
        "trace_step" if forget_gates else "trace_step_1997",
        tuple(["x_tilde", "s_prev"] + keep + ["y_ig", "z_c"] + [str(reduced_trace(w).label) for w in weights]),
        scalars=() if forget_gates else ("state_decay",), forget_gates=forget_gates)
    for w in weights:
        e = reduced_trace(w)[k, i, q]
        update = sp.expand(reduced_trace_update(w, forget_gates))
        carry = update.coeff(e)
        source = sp.factor(sp.expand((update - carry * e) / A["x_tilde"][q]))
        assert not source.has(A["x_tilde"].base) and sp.expand(carry * e + source * A["x_tilde"][q] - update) == 0
        # e(t+1) = keep * e(t) + (per-cell source factor) * x~_q(t): the factor is computed once per cell
        src = sp.IndexedBase("src_" + w[2:])
        eqs.statements.append(Define(src[k, i], source))
        eqs.statements.append(Define(reduced_trace_next(w)[k, i, q], carry * e + src[k, i] * A["x_tilde"][q],
                                     {"W_fg": "13", "W_ig": "14", "W_c": "15"}[w]))
    eqs.outputs = tuple(st.target for st in eqs.statements if st.target.endswith("_next"))
    eqs.doc = ("Advance the eligibility traces of B networks by one step (truncated RTRL, the second lines of (13)-(15)).\n\n"
               "    ``e_*[b, k, i, q]`` is d s_{k,i} / d W_{k,q} (for W^c: d s_{k,i} / d W^c_{k,i,q}); returns the traces at t+1.")
    return eqs


def gradient_equations(forget_gates=True):
    """The generated gradients (1), (12)-(15) through named intermediates; :func:`kernel_gradient` proves them."""
    hprime = sp.diff(h(A["s"][k, i]), A["s"][k, i])
    weights = (["W_fg"] if forget_gates else []) + ["W_ig", "W_c"]
    inputs = ["y", "target", "x_out", "x_tilde", "y_og", "s", "W_out"] + [str(reduced_trace_next(w).label) for w in weights]
    eqs = StepEquations("gradients" if forget_gates else "gradients_1997", tuple(inputs), forget_gates=forget_gates)
    st = eqs.statements
    st.append(model.CellColumns("W_out_c", "W_out", "s"))
    st.append(Define(delta_out[m], (A["y"][m] - target[m]) * A["y"][m] * (1 - A["y"][m])))
    st.append(Define(delta_yc[k, i], sp.Sum(W_out_c[m, k, i] * delta_out[m], (m, 0, d_out - 1))))
    st.append(Define(h_s[k, i], h(A["s"][k, i])))
    st.append(Define(err_s[k, i], delta_yc[k, i] * A["y_og"][k] * hprime))
    st.append(Define(err_og[k], sp.Sum(delta_yc[k, i] * h_s[k, i], (i, 0, d_blk - 1))))
    st.append(Define(sp.IndexedBase("grad_W_out")[m, q], delta_out[m] * A["x_out"][q], "1"))
    st.append(Define(sp.IndexedBase("grad_W_og")[p, q], err_og[p] * A["y_og"][p] * (1 - A["y_og"][p]) * A["x_tilde"][q], "12"))
    for w in weights:
        e = reduced_trace_next(w)
        if w == "W_c":
            st.append(Define(sp.IndexedBase("grad_W_c")[p, r, q], err_s[p, r] * e[p, r, q], "15"))
        else:
            st.append(Define(sp.IndexedBase(f"grad_{w}")[p, q], sp.Sum(err_s[p, i] * e[p, i, q], (i, 0, d_blk - 1)),
                             {"W_fg": "13", "W_ig": "14"}[w]))
    eqs.outputs = tuple(s.target for s in st if isinstance(s, Define))
    eqs.doc = ("Truncated-RTRL gradients of L(t+1) = |y - target|^2 / 2 for B networks, equations (1) and (12)-(15).\n\n"
               "    Takes the forward step's outputs and the traces at t+1; returns every gradient and intermediate by name.")
    return eqs


def kernel_gradient(weight, forget_gates=True):
    """The generated statement for ``weight``'s gradient with every intermediate written out (for the proofs)."""
    eqs = gradient_equations(forget_gates)
    expr = eqs[f"grad_{weight}"].rhs
    for name in ("err_og", "err_s", "h_s", "delta_yc", "delta_out"):
        expr = expand_definitions(expr, eqs, [name])
    return collapse(expr)


learning_rate = sp.Symbol("learning_rate", nonnegative=True)  #: alpha of (16), one per network


def mask(weight):
    """The connectivity mask of a weight array (1 where the weight exists): updates never create a weight."""
    return sp.IndexedBase("mask_" + weight)


def update_equations(forget_gates=True):
    """Equation (16): W <- W - alpha * dL/dW for every weight that the connectivity has (mask 1)."""
    weights = (["W_fg"] if forget_gates else []) + ["W_ig", "W_og", "W_c", "W_out"]
    grads = tuple("grad_" + w for w in weights)
    masks = tuple("mask_" + w for w in weights)
    eqs = StepEquations("update" if forget_gates else "update_1997", tuple(weights) + grads + masks,
                        scalars=("learning_rate",), forget_gates=forget_gates, per_network=("learning_rate",),
                        unbatched=masks)
    for w in weights:
        ix = {"W_c": (k, i, q), "W_out": (m, q)}.get(w, (k, q))
        grad = sp.IndexedBase("grad_" + w)[ix]
        eqs.statements.append(Define(sp.IndexedBase(w + "_new")[ix], A[w][ix] - learning_rate * mask(w)[ix] * grad, "16"))
    eqs.outputs = tuple(st.target for st in eqs.statements)
    eqs.doc = ("Equation (16) for B networks: every weight moves by -learning_rate[b] * gradient where the connectivity "
               "mask is 1.\n\n    Returns the new weights by name (``W_*_new``); the old ones are not modified.")
    return eqs
