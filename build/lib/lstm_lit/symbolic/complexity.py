"""Cost in time and space of one online step, counted from the statements the generator prints.

Nothing here is counted by hand.  Every :class:`~lstm_lit.symbolic.model.Define` of the forward step
(:func:`model.forward_equations`), the trace update (:func:`rtrl.trace_equations`), the gradients
(:func:`rtrl.gradient_equations`) and the weight update (16) (:func:`rtrl.update_equations`) is weighed as

    elements (product of the ranges of its free indices)  x  operations per element,

where the operations of a right-hand side are its arithmetic nodes: a binary ``Add`` or ``Mul`` counts one
(an n-ary node n - 1; a factor -1 is free), an integer power n counts n - 1, a squashing function (sigma)
counts one, and ``Sum(body, (j, a, b))`` counts (b - a + 1) x (operations of the body): the accumulating add
is folded into the body's multiply, so a dot product of length n counts n multiply-adds.  ``Concat`` and
``CellColumns`` only copy or view and count zero.  Following the benchmark convention every counted operation
is a "multiply-add" worth 2 flops (an upper estimate for the elementwise ones).

Space is the number of stored trace entries: the product of the shapes of e_fg, e_ig and e_c (18).

The notes' complexity formulas (17) and (19) are transcribed in :func:`printed_17` and :func:`printed_19`;
:func:`verdict` compares them with the counts.
"""

import functools

import sympy as sp

from . import model, rtrl
from .model import Define, d_blk, d_in, d_out, n_blk

#: ranges of the index symbols when an array's axes are not registered in ``model.ARRAYS``
INDEX_RANGES = {"k": n_blk, "p": n_blk, "i": d_blk, "r": d_blk, "m": d_out}

WEIGHTS = ("W_fg", "W_ig", "W_og", "W_c", "W_out")
TRACES = ("e_fg", "e_ig", "e_c")


# --- the dimensions the notes use --------------------------------------------------------------------------
def dims(forget_gates=True):
    """dim(W) of the notes as polynomials in the sizes (dense connectivity: the arrays the code allocates).

    dim(W_out) = d_out (d_in + 1 + n_blk d_blk); dim(W_og) = dim(W_ig) = dim(W_fg) = n_blk n_src;
    dim(W_blk_k) = d_blk n_src (one block's cell-input weights; W_c holds n_blk of them).
    """
    ns = model.n_src(forget_gates)
    out = {"W_out": d_out * model.n_out_src, "W_og": n_blk * ns, "W_ig": n_blk * ns, "W_blk1": d_blk * ns}
    if forget_gates:
        out["W_fg"] = n_blk * ns
    return {name: sp.expand(v) for name, v in out.items()}


def printed_17(forget_gates=True):
    """(17) as printed: dim(W_out) + dim(W_og) + dim(W_ig) d_blk + n_blk dim(W_blk_1) (the O() dropped)."""
    D = dims(forget_gates)
    return sp.expand(D["W_out"] + D["W_og"] + D["W_ig"] * d_blk + n_blk * D["W_blk1"])


def printed_19(forget_gates=True):
    """(19) as printed: the same expression as (17)."""
    return printed_17(forget_gates)


def corrected_19(forget_gates=True):
    """(19) with the forget-gate traces of (18) counted: adds dim(W_fg) d_blk."""
    D = dims(forget_gates)
    return sp.expand(printed_19(forget_gates) + (D["W_fg"] * d_blk if forget_gates else 0))


def printed_18_traces(forget_gates=True):
    """The traces (18) lists, as counts: ds/dW_fg (d_blk per W_fg weight), ds/dW_ig (same), ds/dW_blk."""
    D = dims(forget_gates)
    terms = {"ds/dW_ig": D["W_ig"] * d_blk, "ds/dW_blk": n_blk * D["W_blk1"]}
    if forget_gates:
        terms = {"ds/dW_fg": D["W_fg"] * d_blk, **terms}
    return {name: sp.expand(v) for name, v in terms.items()}


# --- counting ----------------------------------------------------------------------------------------------
def operations(expr):
    """Arithmetic operations to evaluate ``expr`` once (see the module docstring for the rules)."""
    expr = sp.sympify(expr)
    if isinstance(expr, sp.Sum):
        body_ops = operations(expr.function)
        total = max(body_ops, sp.Integer(1))  # a plain sum of elements still costs one add per term
        for _, lo, hi in expr.limits:
            total = total * (hi - lo + 1)
        return sp.expand(total)
    if expr.is_Atom or isinstance(expr, (sp.Indexed, sp.IndexedBase, sp.KroneckerDelta)):
        return sp.Integer(0)
    args = expr.args
    if isinstance(expr, sp.Add):
        own = len(args) - 1
    elif isinstance(expr, sp.Mul):
        own = len([a for a in args if a != -1]) - 1
    elif isinstance(expr, sp.Pow):
        e = expr.exp
        own = int(abs(e)) - 1 + (1 if e < 0 else 0) if (e.is_Integer) else 1
        return sp.Integer(own) + operations(expr.base)
    elif isinstance(expr, sp.Function):
        own = 1
    else:
        raise TypeError(f"cannot count operations of {type(expr).__name__}: {expr}")
    return sp.expand(own + sum((operations(a) for a in args), sp.Integer(0)))


def _range_of(target, index, position, forget_gates):
    name = target[:-len("_new")] if target.endswith("_new") else target
    array = model.ARRAYS.get(name)
    if array is not None:
        return array.shape(forget_gates)[position]
    return INDEX_RANGES[str(index)]


def elements(statement, forget_gates=True):
    """How many elements a ``Define`` computes: the product of the ranges of its free indices."""
    return sp.expand(sp.Mul(*[_range_of(statement.target, ix, n, forget_gates) for n, ix in enumerate(statement.indices)]))


def phases(forget_gates=True):
    """The statement lists of one online step, by phase."""
    return {"forward": model.forward_equations(forget_gates), "traces": rtrl.trace_equations(forget_gates),
            "gradients": rtrl.gradient_equations(forget_gates), "update": rtrl.update_equations(forget_gates)}


@functools.lru_cache(maxsize=None)
def statement_costs(forget_gates=True):
    """((phase, target, elements, operations per element, total), ...) for every Define of one online step."""
    rows = []
    for phase, eqs in phases(forget_gates).items():
        for st in eqs.statements:
            if isinstance(st, Define):
                n, ops = elements(st, forget_gates), operations(st.rhs)
                rows.append((phase, st.target, n, ops, sp.expand(n * ops)))
    return tuple(rows)


def op_count(forget_gates=True, by_phase=False):
    """Multiply-adds of one online step (forward + traces + gradients + (16)) as a polynomial in the sizes."""
    totals = {}
    for phase, _, _, _, cost in statement_costs(forget_gates):
        totals[phase] = totals.get(phase, 0) + cost
    totals = {p: sp.expand(v) for p, v in totals.items()}
    return totals if by_phase else sp.expand(sum(totals.values()))


def trace_entries(forget_gates=True, by_array=False):
    """Stored eligibility-trace entries of one network: the product of the shapes of e_fg, e_ig, e_c."""
    names = TRACES if forget_gates else TRACES[1:]
    counts = {n: sp.expand(sp.Mul(*model.ARRAYS[n].shape(forget_gates))) for n in names}
    return counts if by_array else sp.expand(sum(counts.values()))


def weight_entries(forget_gates=True):
    """Stored weights of one network (dense arrays, as allocated)."""
    names = [w for w in WEIGHTS if forget_gates or w != "W_fg"]
    return sp.expand(sum(sp.Mul(*model.ARRAYS[w].shape(forget_gates)) for w in names))


def leading_decomposition(forget_gates=True):
    """Write :func:`op_count` through the terms of (17): ops = a n_blk d_blk n_src + b n_blk n_src + c dim(W_out) + rest.

    n_blk d_blk n_src = dim(W_fg) d_blk = dim(W_ig) d_blk = n_blk dim(W_blk_1) (the trace-sized terms),
    n_blk n_src = dim(W_og) (the gate-sized terms), dim(W_out) = d_out (d_in + 1 + n_blk d_blk).  The
    coefficients are read off exactly after writing d_in through n_src; ``rest`` is of lower order.
    """
    ops = op_count(forget_gates)
    ns, N = model.n_src(forget_gates), sp.Symbol("N_SRC", positive=True)
    d_in_of = sp.solve(sp.Eq(N, ns), d_in)[0]
    poly = sp.Poly(sp.expand(ops.subs(d_in, d_in_of)), N, n_blk, d_blk, d_out)
    c_cells = poly.coeff_monomial(N * n_blk * d_blk)
    c_gates = poly.coeff_monomial(N * n_blk)
    c_out = poly.coeff_monomial(N * d_out)
    rest = sp.expand(ops - c_cells * n_blk * d_blk * ns - c_gates * n_blk * ns - c_out * d_out * model.n_out_src)
    return {"n_blk d_blk n_src": c_cells, "n_blk n_src": c_gates, "dim(W_out)": c_out, "rest": rest}


def verdict(forget_gates=True):
    """Exact comparisons of the counts with (17)-(19); every entry is a SymPy expression (0 means equal)."""
    D = dims(forget_gates)
    traces = trace_entries(forget_gates)
    listed = sum(printed_18_traces(forget_gates).values())
    trace_part_19 = D["W_ig"] * d_blk + n_blk * D["W_blk1"]
    return {
        "traces counted - traces listed in (18)": sp.expand(traces - listed),
        "traces counted - trace terms of (19)": sp.expand(traces - trace_part_19),
        "missing term dim(W_fg) d_blk": sp.expand(D.get("W_fg", 0) * d_blk),
        "corrected (19) - printed (19)": sp.expand(corrected_19(forget_gates) - printed_19(forget_gates)),
        "ops / corrected (17), all sizes -> oo": ratio_limit(op_count(forget_gates), corrected_19(forget_gates)),
        "traces / corrected (19), all sizes -> oo": ratio_limit(traces, corrected_19(forget_gates)),
        "traces / printed (19), all sizes -> oo": ratio_limit(traces, printed_19(forget_gates)),
    }


def ratio_limit(num, den, scaling=None):
    """lim_{t -> oo} num / den with every size replaced by ``scaling[size] * t`` (default: all equal to t)."""
    t = sp.Symbol("t", positive=True)
    scaling = scaling or {s: 1 for s in model.SIZES}
    sub = {s: scaling.get(s, 1) * t if scaling.get(s, 1) else 1 for s in model.SIZES}
    return sp.limit(sp.expand(num).subs(sub) / sp.expand(den).subs(sub), t, sp.oo)


def concrete(d_in_=7, n_blk_=4, d_blk_=2, d_out_=7, forget_gates=True):
    """The counts for concrete sizes (default: the CERG net) as plain ints."""
    sub = dict(zip(model.SIZES, (d_in_, n_blk_, d_blk_, d_out_)))
    ev = lambda e: int(sp.sympify(e).subs(sub))  # noqa: E731
    phases_ = {p: ev(v) for p, v in op_count(forget_gates, by_phase=True).items()}
    return {"sizes": dict(d_in=d_in_, n_blk=n_blk_, d_blk=d_blk_, d_out=d_out_),
            "n_src": ev(model.n_src(forget_gates)),
            "ops": sum(phases_.values()), "ops_by_phase": phases_,
            "trace_entries": ev(trace_entries(forget_gates)),
            "trace_entries_by_array": {n: ev(v) for n, v in trace_entries(forget_gates, by_array=True).items()},
            "weight_entries": ev(weight_entries(forget_gates)),
            "printed_17": ev(printed_17(forget_gates)), "printed_19": ev(printed_19(forget_gates)),
            "corrected_19": ev(corrected_19(forget_gates))}
