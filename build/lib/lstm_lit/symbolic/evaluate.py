"""Evaluate index-form statements numerically through SymPy itself (``doit`` + ``lambdify``), one network at a time.

This is the independent reference for the generated kernels: it expands every element of every statement
for concrete sizes and lets ``sympy.lambdify`` print it scalar by scalar, so it shares nothing with
``lstm_lit.codegen`` but the derivation.  It is slow; use it on small sizes.
"""

import functools
import itertools

import numpy as np
import sympy as sp

from .model import ARRAYS, SIZES, CellColumns, Concat, Define


def sigmoid_numpy(z):
    return 1.0 / (1.0 + np.exp(-z))


def concrete_sizes(d_in, n_blk, d_blk, d_out):
    return dict(zip(SIZES, (d_in, n_blk, d_blk, d_out)))


def _shape(name, sizes, forget_gates, shapes=None):
    """Concrete shape of array ``name``: from ``shapes`` (name -> symbolic sizes) if given, else the paper's arrays."""
    symbolic = shapes[name] if shapes is not None else ARRAYS[name].shape(forget_gates)
    return tuple(int(sp.sympify(n).subs(sizes)) for n in symbolic)


@functools.lru_cache(maxsize=None)
def _element_function(statement, sizes_key, shape):
    rhs = statement.rhs.subs(dict(sizes_key))
    elements = []
    for values in itertools.product(*(range(n) for n in shape)):
        expr = rhs.subs(dict(zip(statement.indices, values))).doit()
        elements.append(expr)
    bases = sorted({ix.base for e in elements for ix in e.atoms(sp.Indexed)}, key=str)
    scalars = sorted({s for e in elements for s in e.free_symbols if not isinstance(s, sp.Indexed)}
                     - {ix.base.label for e in elements for ix in e.atoms(sp.Indexed)}, key=str)
    f = sp.lambdify(bases + scalars, elements, modules=[{"sigmoid": sigmoid_numpy}, "numpy"])
    return f, [str(b.label) for b in bases], [str(s) for s in scalars]


def evaluate(equations, sizes, values, shapes=None):
    """Run ``equations`` for one network.  ``values`` maps input names (and scalars) to arrays without batch axis.

    ``sizes`` maps the size symbols to integers.  ``shapes`` maps every computed array's name to its symbolic
    sizes; without it the shapes are the paper's (:data:`lstm_lit.symbolic.model.ARRAYS`).
    Returns a dict with every input and every computed array.
    """
    env = dict(values)
    key = tuple(sorted(sizes.items(), key=lambda kv: str(kv[0])))
    for st in equations.statements:
        if isinstance(st, Concat):
            env[st.target] = np.concatenate([np.ones(1) if n == "one" else np.ravel(env[n]) for n, _ in st.segments])
        elif isinstance(st, CellColumns):
            like = np.asarray(env[st.like])
            env[st.target] = env[st.source][:, -like.size:].reshape(env[st.source].shape[0], *like.shape)
        elif isinstance(st, Define):
            shape = _shape(st.target, sizes, equations.forget_gates, shapes)
            f, arrays, scalars = _element_function(st, key, shape)
            out = f(*[env[a] for a in arrays], *[env[s] for s in scalars])
            env[st.target] = np.asarray(out, dtype=float).reshape(shape)
        else:
            raise TypeError(st)
    return env


def input_arrays(equations, sizes):
    """Concrete SymPy arrays of symbols for every input of ``equations`` (one network)."""
    arrays = {}
    for name in equations.inputs:
        shape = _shape(name, sizes, equations.forget_gates)
        arrays[name] = sp.Array([sp.IndexedBase(name)[ix] for ix in itertools.product(*(range(n) for n in shape))], shape)
    for name in equations.scalars:
        arrays[name] = sp.Symbol(name)
    return arrays


def compose(equations, sizes, values=None):
    """Every quantity of the step as explicit SymPy expressions of the inputs, for concrete sizes.

    ``values`` maps input names to SymPy arrays (default: :func:`input_arrays`).  Statements are
    substituted into one another, so ``compose(...)["y"]`` is y(t+1) written out in terms of the weights,
    x(t) and the state at time t -- the form in which ``sympy.diff`` gives exact derivatives.
    """
    env = dict(values or input_arrays(equations, sizes))
    for st in equations.statements:
        if isinstance(st, CellColumns):
            src, like = env[st.source], env[st.like]
            n = len(sp.flatten(like))
            env[st.target] = sp.Array([[src[a, src.shape[1] - n + c] for c in range(n)] for a in range(src.shape[0])]).reshape(src.shape[0], *like.shape)
            continue
        if isinstance(st, Concat):
            flat = []
            for name, _ in st.segments:
                flat += [sp.Integer(1)] if name == "one" else list(sp.flatten(env[name]))
            env[st.target] = sp.Array(flat, (len(flat),))
            continue
        shape = _shape(st.target, sizes, equations.forget_gates)
        rhs = st.rhs.subs(sizes)
        elements = []
        for ix in itertools.product(*(range(n) for n in shape)):
            expr = rhs.subs(dict(zip(st.indices, ix))).doit()
            expr = expr.replace(lambda e: isinstance(e, sp.Indexed) and str(e.base.label) in env,
                                lambda e: env[str(e.base.label)][tuple(int(v) for v in e.indices)])
            elements.append(expr)
        env[st.target] = sp.Array(elements, shape)
    return env
