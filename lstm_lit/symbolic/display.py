"""Print the derivations as the book writes them: ``s_{k,i}(t+1)`` rather than ``s[k, i]``."""

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
    """Write the upper limit of sums over x~ as n_src - 1."""
    for fg in (True, False):
        expr = expr.subs(model.n_src(fg) - 1, n_src_symbol - 1)
    return expr


def latex(expr):
    return BookLatexPrinter({"mul_symbol": None}).doprint(_name_source_count(expr))


def show(*items, tag=None):
    """Display equations/statements (``Define`` or ``sympy.Eq``) as one aligned block, optionally tagged (n)."""
    rows = []
    for it in items:
        if isinstance(it, model.Define):
            rows.append(latex(it.lhs) + " &= " + latex(it.rhs))
        elif isinstance(it, sp.Eq):
            rows.append(latex(it.lhs) + " &= " + latex(it.rhs))
        else:
            rows.append(latex(it))
    body = r"\begin{aligned}" + r" \\ ".join(rows) + r"\end{aligned}"
    if tag:
        body += r" \tag{%s}" % tag
    return Math(body)
