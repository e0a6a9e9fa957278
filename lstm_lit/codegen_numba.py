"""Print one fused online step (forward, traces, gradients, update) as explicit loops compiled by Numba.

The statements are the same ones that :mod:`lstm_lit.codegen` prints as batched NumPy; here each becomes a loop
nest over its free indices inside one loop over the networks, so a whole online step is a single compiled call
that updates states, traces and weights in place.  Nothing is derived here either.
"""

import sympy as sp
from sympy.printing.pycode import PythonCodePrinter

from .symbolic import model, rtrl
from .symbolic.model import CellColumns, Concat, Define

PER_NETWORK = ("learning_rate",)
SIZE_OF_AXIS = {"in": "d_in", "blk": "n_blk", "cell": "d_blk", "out": "d_out", "src": "n_src", "osrc": "n_osrc"}


class ScalarPrinter(PythonCodePrinter):
    """Prints one element of an index-form expression; arrays are looked up through ``self.ref``."""

    def __init__(self, ref):
        super().__init__({"fully_qualified_modules": False, "standard": "python3"})
        self.ref = ref

    def _print_Indexed(self, expr):
        return self.ref(str(expr.base.label), [self._print(ix) for ix in expr.indices])

    def _print_sigmoid(self, expr):
        return f"_sigmoid({self._print(expr.args[0])})"

    def _print_Symbol(self, expr):
        if expr.name in PER_NETWORK:  # one value per network
            return f"{expr.name}[b]"
        return expr.name

    def _print_Pow(self, expr, rational=False):
        if expr.exp.is_Integer and 1 < expr.exp <= 3:
            base = self.parenthesize(expr.base, sp.printing.precedence.PRECEDENCE["Mul"])
            return "*".join([base] * int(expr.exp))
        return super()._print_Pow(expr, rational)


class FusedStep:
    """Collects the statements of one online step and prints them as a Numba function."""

    def __init__(self, forget_gates=True):
        self.fg = forget_gates
        fw = model.forward_equations(forget_gates)
        tr = rtrl.trace_equations(forget_gates)
        gr = rtrl.gradient_equations(forget_gates)
        up = rtrl.update_equations(forget_gates)
        self.statements = fw.statements + tr.statements + gr.statements + up.statements
        weights = list(up.inputs[: len(up.statements)])
        traces = [n for n in tr.inputs if n.startswith("e_")]
        self.state = ["s"] + (["y_fg"] if forget_gates else []) + ["y_ig", "y_og", "y_c"]
        # in place: traces and weights are overwritten by their new values; the state is copied at the end
        self.in_place = {n + "_next": n for n in traces} | {n + "_new": n for n in weights}
        self.batched = (["x", "target", "y_out"] + [n + "_prev" for n in self.state] + weights + traces)
        self.unbatched = ["mask_" + w for w in weights]
        self.args = (["x", "target", "learning_rate"] + [n + "_prev" for n in self.state] + weights
                     + self.unbatched + traces + ([] if forget_gates else ["state_decay"]) + ["y_out"])
        self.name = "online_step" if forget_gates else "online_step_1997"
        self.lines = []

    # array references ---------------------------------------------------------------------------------
    def ref(self, name, idx):
        name = self.in_place.get(name, name)
        if name == "W_out_c":  # the columns of W_out that read the cells
            m_, k_, i_ = idx
            return f"W_out[b, {m_}, n_osrc - n_blk * d_blk + ({k_}) * d_blk + {i_}]"
        if name in self.batched:
            return f"{name}[b, {', '.join(idx)}]"
        return f"{name}[{', '.join(idx)}]"

    def emit(self, depth, text):
        self.lines.append("    " * depth + text)

    def scratch_arrays(self):
        """Per-network scratch for every computed array that is not written in place."""
        seen = []
        for st in self.statements:
            name = st.target
            if isinstance(st, CellColumns) or name in self.in_place or name in seen:
                continue
            seen.append(name)
        return seen

    def size(self, name):
        axes = model.ARRAYS[self.in_place.get(name, name)].axes
        return [SIZE_OF_AXIS[a] for a in axes]

    # statements ---------------------------------------------------------------------------------------
    def concat(self, st, depth):
        self.emit(depth, "o = 0")
        for name, _ in st.segments:
            if name == "one":
                self.emit(depth, f"{st.target}[o] = 1.0")
                self.emit(depth, "o += 1")
                continue
            dims = self.size(name)
            loops = [f"a{n}" for n in range(len(dims))]
            for n, (v, d) in enumerate(zip(loops, dims)):
                self.emit(depth + n, f"for {v} in range({d}):")
            flat = loops[0] if len(loops) == 1 else f"{loops[0]} * {dims[1]} + {loops[1]}"
            self.emit(depth + len(loops), f"{st.target}[o + {flat}] = {self.ref(name, loops)}")
            self.emit(depth, f"o += {' * '.join(dims)}")

    def define(self, st, depth):
        printer = ScalarPrinter(self.ref)
        target = st.target
        dims = self.size(target)
        free = [str(ix) for ix in st.indices]
        for n, (v, d) in enumerate(zip(free, dims)):
            self.emit(depth + n, f"for {v} in range({d}):")
        inner = depth + len(free)
        rhs = st.rhs
        for a, s in enumerate(sorted(rhs.atoms(sp.Sum), key=str)):
            acc = sp.Symbol(f"acc{a}")
            self.emit(inner, f"{acc} = 0.0")
            for n, (v, lo, hi) in enumerate(s.limits):
                self.emit(inner + n, f"for {v} in range({printer.doprint(lo)}, {printer.doprint(hi + 1)}):")
            self.emit(inner + len(s.limits), f"{acc} += {printer.doprint(s.function)}")
            rhs = rhs.subs(s, acc)
        self.emit(inner, f"{self.ref(target, free)} = {printer.doprint(rhs)}")

    def source(self, doc):
        self.lines = []
        self.emit(0, "@numba.njit(cache=True, fastmath=True, error_model=\"numpy\")")
        self.emit(0, f"def {self.name}({', '.join(self.args)}):")
        self.emit(1, f'"""{doc}"""')
        self.emit(1, "B, d_in = x.shape")
        self.emit(1, "n_blk, d_blk = s_prev.shape[1], s_prev.shape[2]")
        self.emit(1, "d_out, n_osrc = W_out.shape[1], W_out.shape[2]")
        self.emit(1, "n_src = W_ig.shape[2]")
        for name in self.scratch_arrays():
            self.emit(1, f"{name} = numpy.empty(({', '.join(self.size(name))},))")
        self.emit(1, "for b in range(B):")
        for st in self.statements:
            if isinstance(st, Concat):
                self.concat(st, 2)
            elif isinstance(st, Define):
                self.define(st, 2)
        for name in self.state:  # the new state becomes the state of the next step
            dims = self.size(name)
            loops = [f"a{n}" for n in range(len(dims))]
            for n, (v, d) in enumerate(zip(loops, dims)):
                self.emit(2 + n, f"for {v} in range({d}):")
            self.emit(2 + len(loops), f"{name}_prev[b, {', '.join(loops)}] = {name}[{', '.join(loops)}]")
        self.emit(2, "for a0 in range(d_out):")
        self.emit(3, "y_out[b, a0] = y[a0]")
        return "\n".join(self.lines) + "\n"


def module_source(header):
    doc = ("One online step of B networks{}: forward pass, trace update, gradients and equation (16), all in place.\n\n"
           "    States (``*_prev``), traces (``e_*``) and weights are overwritten with their values after the step;\n"
           "    the outputs y(t+1) (before the weight update) are written to ``y_out`` (shape (B, d_out)).")
    parts = [header, '"""Fused online steps compiled by Numba: the statements of lstm_lit.symbolic printed as loops."""\n',
             "import math\n", "import numba", "import numpy\n", "",
             "@numba.njit(cache=True, inline=\"always\")",
             "def _sigmoid(z):",
             '    """Logistic sigmoid, as (1 + tanh(z/2)) / 2: finite and free of overflow warnings for any z."""',
             "    return 0.5 * math.tanh(0.5 * z) + 0.5", ""]
    for fg in (True, False):
        parts += ["", FusedStep(fg).source(doc.format("" if fg else " of the 1997 LSTM (``state_decay`` on s(t))"))]
    return "\n".join(parts)
