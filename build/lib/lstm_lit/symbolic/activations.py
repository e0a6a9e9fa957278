"""The squashing functions of the paper, as SymPy functions.

Gates and output units use the logistic sigmoid; the cell input squashing is ``g = 4 sigma - 2`` (range
[-2, 2]) and the cell output squashing is ``h = 2 sigma - 1`` (range [-1, 1]).  ``sigmoid`` knows its own
derivative, so every derivative below follows from the chain rule.
"""

import sympy as sp


class sigmoid(sp.Function):
    """The logistic function 1 / (1 + exp(-z)); its derivative is sigmoid(z) (1 - sigmoid(z))."""

    nargs = 1

    def fdiff(self, argindex=1):
        s = sigmoid(self.args[0])
        return s * (1 - s)

    @classmethod
    def eval(cls, z):
        if z.is_zero:
            return sp.S.Half
        return None

    def _eval_rewrite_as_exp(self, z, **kwargs):
        return 1 / (1 + sp.exp(-z))

    def _latex(self, printer, exp=None):
        arg = printer._print(self.args[0])
        base = r"\sigma\left(%s\right)" % arg
        return base if exp is None else r"%s^{%s}" % (base, exp)


def f_gate(z):
    """Activation of the forget, input and output gates: the logistic sigmoid (range [0, 1])."""
    return sigmoid(z)


def f_out(z):
    """Activation of the output units: the logistic sigmoid."""
    return sigmoid(z)


def g(z):
    """Cell input squashing, g = 4 sigma - 2 (range [-2, 2])."""
    return 4 * sigmoid(z) - 2


def h(z):
    """Cell output squashing, h = 2 sigma - 1 (range [-1, 1])."""
    return 2 * sigmoid(z) - 1
