"""Index-form calculus: the chain rule with explicit dependencies, and Kronecker-delta sums collapsed.

``sympy.diff`` differentiates an expression in ``IndexedBase`` arrays element-wise and answers with
``KroneckerDelta`` factors inside ``Sum``.  :func:`collapse` performs the sums those deltas make trivial, and
:func:`chain_rule` adds, for every array the expression depends on *through the past* (the recurrent input
x~(t), the state s(t)), the term ``sum (d expr / d A[a]) * dA[a]`` with ``dA`` an array of derivatives that
the caller names -- or sets to zero, which is exactly the truncation rule (10).
"""

import sympy as sp


def _collapse_sum(body, limits):
    """Sum ``body`` over ``limits`` (a list of (var, lo, hi)), eliminating variables fixed by a delta."""
    terms = sp.Add.make_args(sp.expand(body, deep=False, power_base=False, power_exp=False, log=False, multinomial=False))
    out = []
    for term in terms:
        remaining = []
        for (v, lo, hi) in limits:
            delta = next((f for f in sp.Mul.make_args(term)
                          if isinstance(f, sp.KroneckerDelta) and v in f.args and f.args[0] != f.args[1]), None)
            if delta is None:
                remaining.append((v, lo, hi))
                continue
            other = delta.args[1] if delta.args[0] == v else delta.args[0]
            if other.has(v):
                remaining.append((v, lo, hi))
                continue
            term = (term / delta).subs(v, other)
            remaining = [(w, a.subs(v, other), b.subs(v, other)) for (w, a, b) in remaining]
        if remaining:
            independent = [(v, lo, hi) for (v, lo, hi) in remaining if not term.has(v)]
            dependent = [lim for lim in remaining if lim not in independent]
            for (v, lo, hi) in independent:
                term = term * (hi - lo + 1)
            term = sp.Sum(term, *dependent) if dependent else term
        out.append(term)
    return sp.Add(*out)


def collapse(expr):
    """Perform every sum whose summation variable is pinned by a KroneckerDelta (assumes indices in range)."""
    if isinstance(expr, sp.Sum):
        return _collapse_sum(collapse(expr.function), [tuple(lim) for lim in expr.limits])
    if not expr.args or isinstance(expr, sp.Indexed):
        return expr
    return expr.func(*[collapse(a) for a in expr.args])


def expand_definitions(expr, equations, names):
    """Replace every occurrence of the arrays ``names`` by their defining right-hand sides (in that order)."""
    for name in names:
        st = equations[name]
        expr = expr.replace(lambda e: isinstance(e, sp.Indexed) and str(e.base.label) == name,
                            lambda e: st.rhs.subs(dict(zip(st.indices, e.indices)), simultaneous=True))
    return expr


def name_subexpressions(expr, equations, names):
    """The inverse of :func:`expand_definitions`: write ``names``' right-hand sides back as the arrays."""
    for name in names:
        st = equations[name]
        pattern_indices = [sp.Wild(f"w{n}", exclude=()) for n in range(len(st.indices))]
        pattern = st.rhs.subs(dict(zip(st.indices, pattern_indices)), simultaneous=True)
        def rebuild(match, st=st, pattern_indices=pattern_indices):
            return st.lhs.func(st.lhs.base, *[match[w] for w in pattern_indices])
        expr = expr.replace(pattern, lambda **m: rebuild({pattern_indices[int(k[1:])]: v for k, v in m.items()}))
    return expr


def fresh_indices(base_name, count):
    return tuple(sp.Symbol(f"{base_name}{n}", integer=True, nonnegative=True) for n in range(count))


def chain_rule(expr, wrt, dependencies, ranges):
    """Total derivative of ``expr`` with respect to the array element ``wrt``.

    ``dependencies`` maps an ``IndexedBase`` that ``expr`` uses (e.g. ``x_tilde``, ``s_prev``) to the
    ``IndexedBase`` of its derivatives with respect to the weight array of ``wrt`` -- element
    ``dA[a..., wrt indices...]`` is dA[a]/d wrt -- or to 0 to drop that path.  ``ranges`` gives each dependency's
    index upper bounds (exclusive), one per axis.
    """
    total = sp.diff(expr, wrt)
    for base, dbase in dependencies.items():
        if dbase == 0:
            continue
        idx = fresh_indices(f"{base.label}_", len(ranges[base]))
        body = sp.diff(expr, base[idx]) * dbase[idx + tuple(wrt.indices)]
        total += sp.Sum(body, *[(v, 0, n - 1) for v, n in zip(idx, ranges[base])])
    return collapse(total)


_counter = {"n": 0}


def _fresh(name):
    _counter["n"] += 1
    return sp.Symbol(f"{name}_{_counter['n']}", integer=True, nonnegative=True)


def total_derivative(expr, wrt, definitions, leaves, shapes):
    """d expr / d wrt through named intermediates.

    ``definitions`` maps an ``IndexedBase`` to ``(lhs indices, rhs)``: the array is differentiated through its
    definition, recursively.  ``leaves`` maps an ``IndexedBase`` to the ``IndexedBase`` of its derivatives
    (element ``dA[a..., wrt indices...]``) or to 0 (a path that is dropped, e.g. by the truncation rule).
    ``shapes`` gives the index upper bounds (exclusive) of every array in ``definitions`` and ``leaves``.
    The result keeps the intermediates' names: it is the chain rule written out, not the expression expanded.
    """
    total = sp.diff(expr, wrt)
    present = {ix.base for ix in expr.atoms(sp.Indexed)}
    for base in present:
        if base not in definitions and base not in leaves:
            continue
        if base in leaves and leaves[base] == 0:
            continue
        idx = tuple(_fresh(str(base.label)) for _ in shapes[base])
        outer = sp.diff(expr, base[idx])
        if outer == 0:
            continue
        if base in leaves:
            inner = leaves[base][idx + tuple(wrt.indices)]
        else:
            lhs_idx, rhs = definitions[base]
            inner = total_derivative(rhs.subs(dict(zip(lhs_idx, idx)), simultaneous=True), wrt, definitions, leaves, shapes)
        total += sp.Sum(outer * inner, *[(v, 0, n - 1) for v, n in zip(idx, shapes[base])])
    return collapse(total)


def _flatten(term):
    """A product of factors and (nested) sums as (body, limits) with all sums pulled out."""
    limits, factors = [], []
    stack = list(sp.Mul.make_args(term))
    while stack:
        f = stack.pop()
        if isinstance(f, sp.Sum):
            limits += [tuple(lim) for lim in f.limits]
            stack += list(sp.Mul.make_args(f.function))
        else:
            factors.append(f)
    return sp.Mul(*factors), limits


def index_form_equal(a, b):
    """True when ``a - b`` vanishes in general index form (sums combined after renaming their dummies)."""
    groups = {}
    for sign, expr in ((1, a), (-1, b)):
        for term in sp.Add.make_args(sp.expand(collapse(sp.expand(expr)))):
            body, limits = _flatten(term)
            limits.sort(key=lambda lim: (str(lim[2]), str(lim[1])))
            key = tuple((str(lo), str(hi)) for _, lo, hi in limits)
            rename = {v: sp.Symbol(f"_d{n}", integer=True, nonnegative=True) for n, (v, _, _) in enumerate(limits)}
            groups[key] = groups.get(key, 0) + sign * body.subs(rename, simultaneous=True)
    return all(sp.expand(body) == 0 for body in groups.values())
