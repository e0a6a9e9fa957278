"""Index-form calculus: the chain rule with explicit dependencies, and Kronecker-delta sums collapsed.

``sympy.diff`` differentiates an expression in ``IndexedBase`` arrays element-wise and answers with
``KroneckerDelta`` factors inside ``Sum``.  :func:`collapse` performs the sums those deltas make trivial, and
:func:`chain_rule` adds, for every array the expression depends on *through the past* (the recurrent input
x~(t), the state s(t)), the term ``sum (d expr / d A[a]) * dA[a]`` with ``dA`` an array of derivatives that
the caller names -- or sets to zero, which is exactly the truncation rule (10).

:func:`index_form_equal` proves two index-form expressions equal, checking index ranges against array shapes and
refusing (:class:`IndexFormError`) what it cannot decide.  The background chapters' tools are here too:
:func:`normal_form` (the canonical form their kernels are printed from), :func:`pullback` (the chain rule of
reverse mode, one statement at a time), :func:`shift` (a statement one step later) and :func:`substitute_array`.
"""

import sympy as sp

from .model import Define

INDEX = {"integer": True, "nonnegative": True}  #: the assumptions of every index symbol


class IndexFormError(ValueError):
    """An index-form question this module cannot decide (an index range it cannot compare, an array read beyond its
    shape): it refuses rather than guess."""


def _nonnegative(expr):
    """True / False when ``expr >= 0`` holds / fails for every value of the (positive integer) sizes, else None."""
    expr = sp.expand(expr)
    if expr.is_nonnegative:
        return True
    if expr.is_negative:
        return False
    return None


def _range_of(index, ranges):
    """The range (lo, hi) of an index expression: a number, or a symbol with a known range; None if unknown."""
    if index.is_Integer:
        return (index, index)
    return ranges.get(index)


def _pin(v, lo, hi, other, ranges):
    """May ``sum_{v=lo}^{hi} delta(v, other) f(v)`` become ``f(other)``?  Only when ``other``'s range lies inside
    [lo, hi] for all sizes (True); False when it provably does not (the sum stays); IndexFormError when unknown."""
    rng = _range_of(other, ranges)
    if rng is None:
        raise IndexFormError(f"cannot sum out KroneckerDelta({v}, {other}): the range of {other} is unknown "
                             f"(give the shapes of the arrays it indexes)")
    olo, ohi = rng
    inside = [_nonnegative(olo - lo), _nonnegative(hi - ohi)]
    if all(inside):
        return True
    if False in inside:
        return False
    raise IndexFormError(f"cannot decide whether {other} in [{olo}, {ohi}] lies in the summation range "
                         f"[{lo}, {hi}] of {v}")


def _collapse_sum(body, limits, ranges=None):
    """Sum ``body`` over ``limits`` (a list of (var, lo, hi)), eliminating variables fixed by a delta.

    ``ranges`` (index symbol -> (lo, hi)) makes every step checked: a delta is summed out only when the pinned
    value provably lies in the summation range, and a sum of a constant over a range of unknown length refuses.
    ``None``: every index is assumed in range (the derivations' own use, where the sums are full axes).
    """
    if ranges is not None:
        ranges = {**ranges, **{v: (lo, hi) for (v, lo, hi) in limits}}
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
            if ranges is not None and not _pin(v, lo, hi, other, ranges):
                remaining.append((v, lo, hi))
                continue
            term = (term / delta).subs(v, other)
            remaining = [(w, a.subs(v, other), b.subs(v, other)) for (w, a, b) in remaining]
        if remaining:
            independent = [(v, lo, hi) for (v, lo, hi) in remaining if not term.has(v)]
            dependent = [lim for lim in remaining if lim not in independent]
            for (v, lo, hi) in independent:
                if ranges is not None and not _nonnegative(hi - lo + 1):
                    raise IndexFormError(f"cannot count the terms of the sum over {v} in [{lo}, {hi}]: "
                                         f"its length {hi - lo + 1} may be negative")
                term = term * (hi - lo + 1)
            term = sp.Sum(term, *dependent) if dependent else term
        out.append(term)
    return sp.Add(*out)


def collapse(expr, ranges=None):
    """Perform every sum whose summation variable is pinned by a KroneckerDelta.

    Without ``ranges`` every index is assumed to lie in every range it is summed over.  With ``ranges`` (a dict
    from free index symbols to (lo, hi)) a delta is summed out only where that is proved, see :func:`_collapse_sum`.
    """
    if isinstance(expr, sp.Sum):
        limits = [tuple(lim) for lim in expr.limits]
        inner = ranges if ranges is None else {**ranges, **{v: (lo, hi) for (v, lo, hi) in limits}}
        return _collapse_sum(collapse(expr.function, inner), limits, ranges)
    if not expr.args or isinstance(expr, sp.Indexed):
        return expr
    return expr.func(*[collapse(a, ranges) for a in expr.args])


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
    return tuple(sp.Symbol(f"{base_name}{n}", **INDEX) for n in range(count))


def chain_rule(expr, wrt, dependencies, ranges):
    """Total derivative of ``expr`` with respect to the array element ``wrt``.

    ``dependencies`` maps an ``IndexedBase`` that ``expr`` uses (e.g. ``x_tilde``, ``s_prev``) to the
    ``IndexedBase`` of its derivatives with respect to the weight array of ``wrt`` -- element
    ``dA[a..., wrt indices...]`` is dA[a]/d wrt -- or to 0 to drop that path.  ``ranges`` gives each dependency's
    index upper bounds (exclusive), one per axis.

    Every range is checked: ``ranges`` must give an array of the model (:data:`lstm_lit.symbolic.model.ARRAYS`) its
    registered shape, and a Kronecker delta is summed out only where the pinned index provably lies in the
    summation range (the free indices' ranges come from the registered shapes of the arrays they index); anything
    else raises :class:`IndexFormError`.
    """
    free = _model_index_ranges(ranges, [expr, wrt])
    total = sp.diff(expr, wrt)
    for base, dbase in dependencies.items():
        if dbase == 0:
            continue
        idx = fresh_indices(f"{base.label}_", len(ranges[base]))
        body = sp.diff(expr, base[idx]) * dbase[idx + tuple(wrt.indices)]
        total += sp.Sum(body, *[(v, 0, n - 1) for v, n in zip(idx, ranges[base])])
    return collapse(total, free)


_counter = {"n": 0}


def _fresh(name):
    _counter["n"] += 1
    return sp.Symbol(f"{name}_{_counter['n']}", **INDEX)


def total_derivative(expr, wrt, definitions, leaves, shapes):
    """d expr / d wrt through named intermediates.

    ``definitions`` maps an ``IndexedBase`` to ``(lhs indices, rhs)``: the array is differentiated through its
    definition, recursively.  ``leaves`` maps an ``IndexedBase`` to the ``IndexedBase`` of its derivatives
    (element ``dA[a..., wrt indices...]``) or to 0 (a path that is dropped, e.g. by the truncation rule).
    ``shapes`` gives the index upper bounds (exclusive) of every array in ``definitions`` and ``leaves``; for an
    array of the model they must be its registered shape (else :class:`IndexFormError`).
    The result keeps the intermediates' names: it is the chain rule written out, not the expression expanded.
    """
    _model_index_ranges(shapes, [])
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


def registry_shapes(forget_gates=True):
    """{array name: shape} for every array of the model with axes (:data:`lstm_lit.symbolic.model.ARRAYS`)."""
    from . import model

    return {name: a.shape(forget_gates) for name, a in model.ARRAYS.items() if a.axes}


def _same_size(a, b):
    return sp.expand(sp.sympify(a) - sp.sympify(b)) == 0


def index_ranges(exprs, shapes):
    """The range (0, size - 1) of every free index that indexes an array of known shape in ``exprs`` (an index
    inside a sum over it is bound, not free).  ``shapes`` maps array names to sizes.  Raises
    :class:`IndexFormError` when one index is given two different sizes (``i`` of a cell and of a block)."""
    found = {}

    def walk(e, bound):
        if isinstance(e, sp.Sum):
            for (_, lo, hi) in e.limits:
                walk(lo, bound)
                walk(hi, bound)
            walk(e.function, bound | {lim[0] for lim in e.limits})
            return
        if isinstance(e, sp.Indexed):
            shape = shapes.get(str(e.base.label))
            if shape is not None and len(shape) == len(e.indices):
                for ix, n in zip(e.indices, shape):
                    if not (ix.is_Symbol and ix not in bound):
                        continue
                    if ix in found and not _same_size(found[ix][0], n):
                        raise IndexFormError(f"index {ix} runs over {found[ix][0]} in {found[ix][1]} but over {n} in {e}")
                    found.setdefault(ix, (n, e))
            for ix in e.indices:
                walk(ix, bound)
            return
        for arg in e.args:
            walk(arg, bound)

    for e in exprs:
        walk(sp.sympify(e), frozenset())
    return {ix: (sp.Integer(0), n - 1) for ix, (n, _) in found.items()}


def check_sum_ranges(expr, shapes):
    """Raise :class:`IndexFormError` unless every summation range provably stays inside the axes it indexes
    (``shapes``: array name -> sizes); a sum may cover part of an axis, never more than the axis."""
    for s in sp.sympify(expr).atoms(sp.Sum):
        for (v, lo, hi) in s.limits:
            for ix in s.function.atoms(sp.Indexed):
                shape = shapes.get(str(ix.base.label))
                if shape is None or len(shape) != len(ix.indices):
                    continue
                for axis, (index, n) in enumerate(zip(ix.indices, shape)):
                    if index != v:
                        continue
                    inside = [_nonnegative(lo), _nonnegative(n - 1 - hi)]
                    if all(inside):
                        continue
                    if False in inside:
                        raise IndexFormError(f"the sum over {v} in [{lo}, {hi}] reads {ix} outside axis {axis} of "
                                             f"{ix.base} (size {n})")
                    raise IndexFormError(f"cannot decide whether the sum over {v} in [{lo}, {hi}] stays inside axis "
                                         f"{axis} of {ix.base} (size {n})")


def _model_index_ranges(declared, exprs):
    """Check ``declared`` ({IndexedBase: sizes}) against the model's registered shapes (with or without forget
    gates, whichever fits); return the free-index ranges of ``exprs`` implied by those shapes."""
    mismatches = []
    for fg in (True, False):
        shapes = registry_shapes(fg)
        wrong = [(str(base.label), tuple(sizes), shapes[str(base.label)]) for base, sizes in declared.items()
                 if str(base.label) in shapes and not (len(sizes) == len(shapes[str(base.label)])
                                                       and all(map(_same_size, sizes, shapes[str(base.label)])))]
        if not wrong:
            return index_ranges(exprs, shapes)
        mismatches.append(wrong)
    name, given, shape = min(mismatches, key=len)[0]
    raise IndexFormError(f"the ranges give {name} the shape {given}, but the model's {name} has the shape {shape}")


_MAX_RENAMINGS = 720


def _rename_inner(expr, depth=0):
    """Name the summation variables of the sums left inside factors (e.g. inside sigma(...)) by nesting depth."""
    if isinstance(expr, sp.Sum):
        limits, body = [], expr.function
        for n, (v, lo, hi) in enumerate(expr.limits):
            new = sp.Symbol(f"_inner{depth}_{n}", **INDEX)
            body = body.xreplace({v: new})
            limits.append((new, lo, hi))
        return sp.Sum(_rename_inner(body, depth + 1), *limits)
    if expr.args and not isinstance(expr, sp.Indexed):
        return expr.func(*[_rename_inner(a, depth) for a in expr.args])
    return expr


def _canonical_term(body, limits):
    """(key, body): the term's summation ranges in a fixed order and its body with the summation variables renamed
    canonically -- among the variables with equal ranges, the renaming that prints smallest."""
    import itertools
    import math

    body = _rename_inner(body)
    groups = {}
    for (v, lo, hi) in limits:
        groups.setdefault((str(lo), str(hi)), []).append(v)
    keys = sorted(groups)
    if math.prod(math.factorial(len(groups[k])) for k in keys) > _MAX_RENAMINGS:
        raise IndexFormError(f"too many summation variables with equal ranges to compare: {limits}")
    names = [sp.Symbol(f"_bound{n}", **INDEX) for n in range(len(limits))]
    best = None
    for orders in itertools.product(*(itertools.permutations(groups[k]) for k in keys)):
        variables = [v for order in orders for v in order]
        renamed = body.xreplace(dict(zip(variables, names)))
        if best is None or str(renamed) < str(best):
            best = renamed
    key = tuple(k for k in keys for _ in groups[k])
    return key, best


def index_form_equal(a, b, shapes=None):
    """True when ``a - b`` vanishes in general index form: for all sizes and every value of the free indices.

    The bound (summation) indices of both sides are renamed apart first, so a bound index cannot capture a free one
    (``X[j] * Sum(B[j], j)`` is not ``Sum(X[j] B[j], j)``).  ``shapes`` ({array name: sizes}) gives the ranges of
    the free indices and bounds the sums: every sum must stay inside the axes it reads, and a Kronecker delta is
    summed out only where the pinned index provably lies in the summation range (otherwise the sum stays, and a
    sum over the wrong range or an empty one is not equal to the element).  Terms are grouped by their summation
    ranges and compared with the summation variables renamed canonically.

    Returns False when the two sides differ in this normal form.  Raises :class:`IndexFormError` for what it
    cannot decide: an index range it cannot compare (``d_blk`` against ``n_blk``), a delta on an index of unknown
    range (give ``shapes``), an index used with two different sizes.
    """
    a, b = fresh_bound(sp.sympify(a)), fresh_bound(sp.sympify(b))
    shapes = dict(shapes or {})
    for e in (a, b):
        check_sum_ranges(e, shapes)
    ranges = index_ranges([a, b], shapes)
    groups = {}
    for sign, expr in ((1, a), (-1, b)):
        for term in sp.Add.make_args(sp.expand(collapse(sp.expand(expr), ranges))):
            body, limits = _flatten(term)
            key, body = _canonical_term(body, limits)
            groups[key] = groups.get(key, 0) + sign * body
    return all(sp.expand(body) == 0 for body in groups.values())


# --- the normal form and the reverse-mode chain rule of the background chapters --------------------------------
def fresh_bound(expr):
    """Give every summation variable in ``expr`` a fresh ``Dummy`` (so no bound name can clash with a free one)."""
    if isinstance(expr, sp.Sum):
        body = fresh_bound(expr.function)
        limits = []
        for v, lo, hi in expr.limits:
            new = sp.Dummy(str(v), **INDEX)
            body = body.xreplace({v: new})
            limits.append((new, lo, hi))
        return sp.Sum(body, *limits)
    if expr.args and not isinstance(expr, sp.Indexed):
        return expr.func(*[fresh_bound(a) for a in expr.args])
    return expr


def _sum_term(term, v, lo, hi):
    """``Sum(term, (v, lo, hi))`` for one product ``term``, with the factors free of ``v`` outside the sum."""
    factors = sp.Mul.make_args(term)
    inside = [f for f in factors if f.has(v)]
    outside = [f for f in factors if not f.has(v)]
    if not inside:
        return sp.Mul(*outside) * (hi - lo + 1)
    return sp.Mul(*outside) * sp.Sum(sp.Mul(*inside), (v, lo, hi))


def _split_sums(expr):
    """Bottom-up: split every sum over the terms of its (expanded) body, one summation variable at a time
    (innermost first), with the factors that do not depend on it in front."""
    if isinstance(expr, sp.Sum):
        out = _split_sums(expr.function)
        for v, lo, hi in expr.limits:  # innermost first
            out = sp.Add(*[_sum_term(t, v, lo, hi) for t in sp.Add.make_args(sp.expand(out))])
        return sp.expand(out)
    if expr.args and not isinstance(expr, sp.Indexed):
        return sp.expand(expr.func(*[_split_sums(a) for a in expr.args]))
    return expr


def _canonical_names(expr, depth=0):
    """Rename summation variables by nesting depth (nu0, nu1, ...) so equal sums compare equal."""
    if isinstance(expr, sp.Sum):
        (v, lo, hi), = expr.limits
        new = sp.Symbol(f"nu{depth}", **INDEX)
        return sp.Sum(_canonical_names(expr.function.xreplace({v: new}), depth + 1), (new, lo, hi))
    if expr.args and not isinstance(expr, sp.Indexed):
        return expr.func(*[_canonical_names(a, depth) for a in expr.args])
    return expr


def normal_form(expr):
    """A canonical index-form expression: expanded, Kronecker deltas summed out (:func:`collapse`), sums split
    over terms, factors that do not depend on a summation variable moved in front of the sum, summation variables
    renamed by depth (the form the background chapters' kernels are printed from).
    """
    expr = _split_sums(collapse(fresh_bound(sp.expand(expr))))
    expr = _canonical_names(fresh_bound(expr))
    return sp.expand(expr)


def pullback(wrt, uses, shapes):
    """The chain rule in index form: the adjoint of ``wrt`` (an ``Indexed`` with free index symbols).

    ``uses`` lists ``(adjoint, statement)`` pairs: every statement whose right-hand side reads the array of ``wrt``,
    with the ``IndexedBase`` that holds the adjoint of its left-hand side.  ``shapes`` maps array names to sizes.
    Returns ``sum_uses sum_idx adjoint[idx] * d rhs[idx] / d wrt`` in :func:`normal_form`.
    """
    total = sp.Integer(0)
    for adjoint, st in uses:
        dummies = [sp.Dummy(str(ix), **INDEX) for ix in st.indices]
        rhs = fresh_bound(st.rhs).xreplace(dict(zip(st.indices, dummies)))
        term = adjoint[tuple(dummies)] * sp.diff(rhs, wrt)
        for d, n in zip(dummies, shapes[st.target]):
            term = sp.Sum(term, (d, 0, n - 1))
        total += term
    return normal_form(total)


def derivative_form(expr, activations):
    """Write activation derivatives through the stored activations: ``{sigmoid(z[p]): f[p], tanh(a[p]): s[p]}``."""
    return sp.expand(expr.xreplace(activations))


def substitute_array(expr, name, element):
    """Replace every ``name[idx]`` in ``expr`` by ``element(*idx)`` (also inside sums), then :func:`normal_form`."""
    return normal_form(sp.sympify(expr).replace(
        lambda e: isinstance(e, sp.Indexed) and str(e.base.label) == name, lambda e: element(*e.indices)))


def at_sizes(expr, sizes):
    """``expr`` with concrete sizes, every sum written out (for checks on several concrete sizes)."""
    return sp.expand(sp.sympify(expr).subs(sizes).doit())


# --- statements one step later or earlier --------------------------------------------------------------------
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


def gate_parameter_gradients(arrays, gates, forward, shapes):
    """Adjoints of the parameters of gates z_G = W_G h_prev + U_G x + b_G, each pulled back from d_z_G.

    ``arrays`` maps names to ``IndexedBase``s (``W_G``, ``U_G``, ``b_G``, ``d_z_G`` and the results ``d_W_G`` ...),
    ``forward`` maps ``z_G`` to its statement.  Returns {name: (lhs, derived rhs)}.
    """
    p, q, j = sp.symbols("p q j", **INDEX)
    out = {}
    for G in gates:
        use = [(arrays[f"d_z_{G}"], forward[f"z_{G}"])]
        out[f"d_W_{G}"] = (arrays[f"d_W_{G}"][p, q], pullback(arrays[f"W_{G}"][p, q], use, shapes))
        out[f"d_U_{G}"] = (arrays[f"d_U_{G}"][p, j], pullback(arrays[f"U_{G}"][p, j], use, shapes))
        out[f"d_b_{G}"] = (arrays[f"d_b_{G}"][p], pullback(arrays[f"b_{G}"][p], use, shapes))
    return out
