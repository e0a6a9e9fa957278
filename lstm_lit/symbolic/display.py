"""Print the derivations as the book writes them: ``s_{k,i}(t+1)`` rather than ``s[k, i]``.

Two notations: :func:`latex` / :func:`show` print the paper's arrays (:data:`lstm_lit.symbolic.model.ARRAYS`);
:func:`step_latex` / :func:`show_steps` print arrays named by the background chapters' conventions (``d_`` an
adjoint, ``dot_`` a tangent, ``_prev`` / ``_next`` the neighbouring steps).
"""

import re

import sympy as sp
from IPython.display import Math
from sympy.printing.latex import LatexPrinter

from . import model


class BookLatexPrinter(LatexPrinter):
    """LaTeX with the book's array names, indices before the time argument, and n_src for the source count."""

    def _print_Indexed(self, expr):
        name = str(expr.base.label)
        array = model.ARRAYS.get(name)
        idx = ",".join(self._print(ix) for ix in expr.indices)
        if array is None:
            return r"{%s}_{%s}" % (self._print(expr.base.label), idx)
        found = re.match(r"^(.*?)(\(t(?:\+1)?\))?$", array.latex)
        body, time = found.group(1), found.group(2) or ""
        if "^" in body:  # W^{fg} -> W^{fg}_{k,j}
            return r"%s_{%s}%s" % (body, idx, time)
        return r"{%s}_{%s}%s" % (body, idx, time)

    def _print_IndexedBase(self, expr):
        array = model.ARRAYS.get(str(expr.label))
        return array.latex if array else super()._print_IndexedBase(expr)

    def _print_Symbol(self, expr, style="plain"):
        special = {"state_decay": r"\lambda", "d_in": r"\dIn", "d_out": r"\dOut", "d_blk": r"\dBlk",
                   "n_blk": r"\nBlk", "n_src": r"\nSrc", "k'": "k'", "i'": "i'"}
        return special.get(expr.name) or super()._print_Symbol(expr)


n_src_symbol = sp.Symbol("n_src", integer=True, positive=True)


def _name_source_count(expr):
    """Write the upper limit of sums over x~ as n_src - 1 (only there: elsewhere the sizes stay spelled out)."""
    def rename(limit):
        for fg in (True, False):
            if sp.expand(limit - (model.n_src(fg) - 1)) == 0:
                return n_src_symbol - 1
        return limit
    return sp.sympify(expr).replace(lambda e: isinstance(e, sp.Sum),
                        lambda e: sp.Sum(e.function, *[(v, lo, rename(hi)) for v, lo, hi in e.limits]))


class _AsWrittenPrinter(BookLatexPrinter):
    """Terms and factors in the order they were built; sizes and limits (no arrays in them) in SymPy's order."""

    def _print_Add(self, expr, order=None):
        if not expr.has(sp.Indexed):
            return super()._print_Add(expr, order="lex")
        return super()._print_Add(expr, order="none")


def latex(expr, as_written=False):
    """LaTeX of ``expr`` in the book's notation; ``as_written=True`` keeps the order of the factors and terms of an
    unevaluated expression (the paper's forms are built that way), instead of SymPy's canonical order."""
    if as_written:
        return _AsWrittenPrinter({"mul_symbol": None, "order": "none"}).doprint(_name_source_count(expr))
    return BookLatexPrinter({"mul_symbol": None}).doprint(_name_source_count(expr))


def _side(x, as_written):
    return x if isinstance(x, str) else latex(x, as_written)


def show(*items, tag=None, as_written=False):
    """Display equations/statements as one aligned block, optionally tagged (n).

    An item is a ``Define`` or ``sympy.Eq`` (printed with "="), a triple ``(lhs, relation, rhs)`` with the relation
    in LaTeX (``r"\\aptr"`` for the truncated equalities (10)-(11), ``r"\\leftarrow"`` for an update; a side given
    as a string is used as LaTeX as it is), or a single expression.
    """
    rows = []
    for it in items:
        if isinstance(it, model.Define):
            rows.append(latex(it.lhs, as_written) + " &= " + latex(it.rhs, as_written))
        elif isinstance(it, sp.Eq):
            rows.append(latex(it.lhs, as_written) + " &= " + latex(it.rhs, as_written))
        elif isinstance(it, tuple) and len(it) == 3:
            lhs, rel, rhs = it
            rows.append(f"{_side(lhs, as_written)} &{rel} {_side(rhs, as_written)}")
        else:
            rows.append(_side(it, as_written))
    body = r"\begin{aligned}" + r" \\ ".join(rows) + r"\end{aligned}"
    if tag:
        body += r" \tag{%s}" % tag
    return Math(body)


# --- the background chapters' notation (arrays named by convention, not listed in the model) ------------------
def latex_array(name, params=(), paper=False):
    """(base, time) LaTeX for an array name: ``d_`` marks an adjoint (bar), ``dot_`` a tangent (dot), ``_prev`` /
    ``_next`` / ``_next2`` the steps t-1 / t+1 / t+2; ``params`` have no time; ``paper=True`` uses the paper's
    names and times (:data:`lstm_lit.symbolic.model.ARRAYS`)."""
    mark = None
    if name.startswith("dot_"):
        mark, name = r"\dot", name[4:]
    elif name.startswith("d_"):
        mark, name = r"\bar", name[2:]
    if paper and name in model.ARRAYS:
        text = model.ARRAYS[name].latex
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


class _StepPrinter(LatexPrinter):
    def __init__(self, params, paper):
        super().__init__({})
        self.params, self.paper = params, paper

    def _print_Indexed(self, expr):
        base, time = latex_array(str(expr.base.label), self.params, self.paper)
        return f"{base}_{{{','.join(self._print(i) for i in expr.indices)}}}{time}"


def step_latex(expr, params=(), paper=False):
    """LaTeX of ``expr`` with arrays printed by :func:`latex_array`."""
    return _StepPrinter(set(params), paper).doprint(expr)


def tidy(expr):
    """For display only: group the terms of ``expr`` by the adjoints and tangents outside sums and factor each group."""
    expr = sp.sympify(expr)
    keys = sorted({ix for ix in expr.atoms(sp.Indexed) if str(ix.base.label).startswith(("d_", "dot_"))
                   and not any(ix in s.atoms(sp.Indexed) for s in expr.atoms(sp.Sum))}, key=str)
    return sp.collect(expr, keys, func=sp.factor_terms) if keys else sp.factor_terms(expr)


def show_steps(*pairs, params=(), paper=False):
    """Display ``(lhs, rhs)`` pairs (or Define statements) as one aligned block of equations (right-hand sides
    grouped by :func:`tidy`; a string left-hand side is used as LaTeX as it is), in :func:`step_latex`."""
    rows = []
    for item in pairs:
        lhs, rhs = (item.lhs, item.rhs) if isinstance(item, model.Define) else item
        left = lhs if isinstance(lhs, str) else step_latex(lhs, params, paper)
        rows.append(f"{left} &= {step_latex(tidy(rhs), params, paper)}")
    return Math(r"\begin{aligned}" + r" \\ ".join(rows) + r"\end{aligned}")
