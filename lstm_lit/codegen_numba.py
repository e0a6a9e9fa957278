"""Print the online training step (forward, traces, gradients, update) and the forward-only test step as explicit
loops compiled by Numba.

The statements are the same ones that :mod:`lstm_lit.codegen` prints as batched NumPy; here each becomes a loop
nest over its free indices, for one network at a time, so a whole step is a single compiled call that updates
states, traces and weights in place.  Nothing is derived here either.
"""

import itertools
import math

import sympy as sp
from sympy.printing.pycode import PythonCodePrinter

from .connectivity import weight_shapes
from .symbolic import model, rtrl
from .symbolic.activations import sigmoid
from .symbolic.model import CellColumns, Concat, Define

EXP_DEGREE = 13
LN2_HI = 0.6931471803691238   # fdlibm's ln2_hi (low bits zero): k * LN2_HI is exact for |k| < 2^11
LN2_LO = float(sp.Float(sp.log(2).evalf(40) - sp.Rational(LN2_HI), 40))   # ln 2 - LN2_HI, rounded
SIZE_OF_AXIS = {"in": "d_in", "blk": "n_blk", "cell": "d_blk", "out": "d_out", "src": "n_src", "osrc": "n_osrc"}


class ScalarPrinter(PythonCodePrinter):
    """Prints one element of an index-form expression; arrays are looked up through ``self.ref``."""

    def __init__(self, ref, evaluated=None):
        super().__init__({"fully_qualified_modules": False, "standard": "python3"})
        self.ref = ref
        self.evaluated = evaluated or {}   # sigmoid(...) of one element -> where its value already is

    def _print_Indexed(self, expr):
        return self.ref(str(expr.base.label), [self._print(ix) for ix in expr.indices])

    def _print_sigmoid(self, expr):
        if expr in self.evaluated:
            return self.evaluated[expr]
        return f"_sigmoid({self._print(expr.args[0])})"


    def _print_Pow(self, expr, rational=False):
        if expr.exp.is_Integer and 1 < expr.exp <= 3:
            base = self.parenthesize(expr.base, sp.printing.precedence.PRECEDENCE["Mul"])
            return "*".join([base] * int(expr.exp))
        return super()._print_Pow(expr, rational)


class FusedStep:
    """Collects the statements of one step and prints them as Numba functions.

    ``training=True``: the online step (forward pass, traces, gradients, equation (16)); ``training=False``: the
    forward pass alone, the step a network takes while it is tested (no traces, no gradients, no update).  Both
    print the forward statements identically, so a test step gives bit for bit the outputs of a training step at
    learning rate 0.

    Three functions are printed per step:

    * ``<name>_workspace(weights)``: the scratch arrays of one network, allocated once;
    * ``<name>_net(b, ...)``: one step of network ``b`` of batched arrays, all in place, with the arrays grouped
      into tuples (state, weights, masks, traces, workspace).  The forget-gate and the 1997 versions take the
      same arguments, so one compiled loop (:mod:`lstm_lit.cerg.engine`) can drive either;
    * ``<name>(...)``: the batched step over all networks (flat arguments), allocating its workspace.
    """

    def __init__(self, forget_gates=True, training=True, sizes=None):
        self.fg, self.training, self.sizes = forget_gates, training, sizes
        fw = model.forward_equations(forget_gates)
        self.state = ["s"] + (["y_fg"] if forget_gates else []) + ["y_ig", "y_og", "y_c"]
        self.weights = (["W_fg"] if forget_gates else []) + ["W_ig", "W_og", "W_c", "W_out"]
        if training:
            tr = rtrl.trace_equations(forget_gates)
            gr = rtrl.gradient_equations(forget_gates)
            up = rtrl.update_equations(forget_gates)
            self.statements = fw.statements + tr.statements + gr.statements + up.statements
            assert list(up.inputs[: len(up.statements)]) == self.weights
            self.traces = [n for n in tr.inputs if n.startswith("e_")]
        else:
            self.statements = list(fw.statements)
            self.traces = []
        # in place: traces and weights are overwritten by their new values; the state is copied at the end
        self.in_place = {n + "_next": n for n in self.traces} | {n + "_new": n for n in self.weights}
        self.masks = ["mask_" + w for w in self.weights] if training else []
        self.batched = (["x", "target", "y_out"] + [n + "_prev" for n in self.state] + self.weights + self.traces)
        suffix = "" if forget_gates else "_1997"
        self.name = ("train_step" if training else "test_step") + suffix
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
        if name == "sigma":   # one element per sigmoid that the step evaluates (straight-line test step only)
            counts = {}
            for st in self.statements:
                if isinstance(st, Define):
                    dims = "*".join(self.size(st.target))
                    counts[dims] = counts.get(dims, 0) + len(self._sigmoids(st.rhs))
            return [" + ".join(f"{n}*{dims}" if n > 1 else dims for dims, n in counts.items() if n)]
        axes = model.ARRAYS[self.in_place.get(name, name)].axes
        return [SIZE_OF_AXIS[a] for a in axes]

    @staticmethod
    def _sigmoids(expr):
        """The sigmoid(...) subexpressions of ``expr``, each once, in the order the expression tree shows them."""
        found = []
        for node in sp.preorder_traversal(expr):
            if isinstance(node, sigmoid) and node not in found:
                found.append(node)
        return found

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

    def check_sum_limits(self, st):
        """Refuse a sum that reads an array beyond one of its axes (a loop has no bounds check).  A sum over part of
        an axis is printed as it is written: its loop runs over exactly its limits."""
        shapes = {name: a.shape(self.fg) for name, a in model.ARRAYS.items()}
        for s in st.rhs.atoms(sp.Sum):
            for (v, lo, hi) in s.limits:
                for f in sorted(s.function.atoms(sp.Indexed), key=str):
                    shape = shapes.get(str(f.base.label))
                    if shape is None or len(shape) != len(f.indices):
                        raise ValueError(f"codegen_numba: no shape known for {f.base}, so the sum over {v} in "
                                         f"[{lo}, {hi}] cannot be shown to stay inside its axes")
                    for axis, (ix, n) in enumerate(zip(f.indices, shape)):
                        if ix == v and not (sp.expand(lo).is_nonnegative and sp.expand(n - 1 - hi).is_nonnegative):
                            raise ValueError(f"codegen_numba: the sum over {v} in [{lo}, {hi}] does not stay inside "
                                             f"axis {axis} of {f.base} (0 .. {n - 1})")

    def define(self, st, depth):
        self.check_sum_limits(st)
        printer = ScalarPrinter(self.ref)
        target = st.target
        dims = self.size(target)
        free = [str(ix) for ix in st.indices]
        rhs = st.rhs
        if self.sizes and isinstance(rhs, sp.Sum) and len(rhs.limits) == 1 and self.interleave(st, printer, free, depth):
            return
        for n, (v, d) in enumerate(zip(free, dims)):
            self.emit(depth + n, f"for {v} in range({d}):")
        inner = depth + len(free)
        for a, s in enumerate(sorted(rhs.atoms(sp.Sum), key=str)):
            acc = sp.Symbol(f"acc{a}")
            self.emit(inner, f"{acc} = 0.0")
            for n, (v, lo, hi) in enumerate(s.limits):
                self.emit(inner + n, f"for {v} in range({printer.doprint(lo)}, {printer.doprint(hi + 1)}):")
            self.emit(inner + len(s.limits), f"{acc} += {printer.doprint(s.function)}")
            rhs = rhs.subs(s, acc)
        self.emit(inner, f"{self.ref(target, free)} = {printer.doprint(rhs)}")

    def interleave(self, st, printer, free, depth, max_elements=8):
        """With fixed sizes, a dot product of a few elements is printed with one accumulator per element, all updated
        in the same pass over the summation index: each element is still summed from 0.0 in the order j = lo, lo+1,
        ..., so the bits are those of the plain loop nest, but the elements' additions no longer wait for each other.
        Returns False (and prints nothing) when there are too many elements or too few terms."""
        by_name = self._size_by_name()
        ranges = [by_name[d] for d in self.size(st.target)]
        (v, lo, hi), = st.rhs.limits
        n_terms = int((hi - lo + 1).subs({getattr(model, k): n for k, n in self.sizes.items()}))
        elements = list(itertools.product(*(range(r) for r in ranges)))
        if not 1 < len(elements) <= max_elements or n_terms < 8:
            return False
        accs = [f"acc_{'_'.join(map(str, e))}" for e in elements]
        for a in accs:
            self.emit(depth, f"{a} = 0.0")
        self.emit(depth, f"for {v} in range({printer.doprint(lo)}, {printer.doprint(hi + 1)}):")
        for a, e in zip(accs, elements):
            term = st.rhs.function.subs(dict(zip(st.indices, e)), simultaneous=True)
            self.emit(depth + 1, f"{a} += {printer.doprint(term)}")
        for a, e in zip(accs, elements):
            self.emit(depth, f"{self.ref(st.target, [str(i) for i in e])} = {a}")
        return True

    def _sizes(self, depth):
        if self.sizes:   # fixed sizes: every loop bound is a constant that the compiler can unroll
            shapes = weight_shapes(**self.sizes, forget_gates=self.fg)
            self.emit(depth, f"d_in = {self.sizes['d_in']}")
            self.emit(depth, f"n_blk, d_blk = {self.sizes['n_blk']}, {self.sizes['d_blk']}")
            self.emit(depth, f"d_out, n_osrc = {shapes['W_out'][0]}, {shapes['W_out'][1]}")
            self.emit(depth, f"n_src = {shapes['W_ig'][1]}")
            return
        self.emit(depth, "d_in = x.shape[1]")
        self.emit(depth, "n_blk, d_blk = s_prev.shape[1], s_prev.shape[2]")
        self.emit(depth, "d_out, n_osrc = W_out.shape[1], W_out.shape[2]")
        self.emit(depth, "n_src = W_ig.shape[2]")

    def _tuple(self, names):
        return f"({', '.join(names)},)" if names else "()"

    def _net_args(self):
        args = ["b", "x"] + (["target", "learning_rate"] if self.training else []) + ["state_decay", "state",
                                                                                      "weights"]
        return args + (["masks", "traces"] if self.training else []) + ["work", "y_out"]

    def straight_scratch(self):
        """The scratch arrays of the straight-line test step: the concatenated inputs of its sums, and ``sigma``
        (every other computed element is a local variable).  Fewer arrays also make the call cheaper: Numba passes
        every field of every array."""
        return [st.target for st in self.statements if isinstance(st, Concat)] + ["sigma"]

    def workspace_source(self, scratch=None):
        """``<name>_workspace(weights)``: the scratch arrays ``scratch`` (default: all of :meth:`scratch_arrays`)."""
        self.lines = []
        self.emit(0, "@numba.njit(cache=True)")
        self.emit(0, f"def {self.name}_workspace(weights):")
        self.emit(1, f'"""Scratch arrays of one network for :func:`{self.name}_net` (allocate once, reuse)."""')
        self.emit(1, f"{', '.join(self.weights)}, = weights")
        self.emit(1, "n_blk, n_src = W_ig.shape[1], W_ig.shape[2]")
        self.emit(1, "d_blk = W_c.shape[2]")
        self.emit(1, "d_out, n_osrc = W_out.shape[1], W_out.shape[2]")
        self.emit(1, "return (")
        for name in scratch or self.scratch_arrays():
            self.emit(2, f"numpy.empty(({', '.join(self.size(name))},)),  # {name}")
        self.emit(1, ")")
        return "\n".join(self.lines) + "\n"

    def _begin(self, name, args, doc, decorator="numba.njit"):
        """Start a new compiled function: decorator, signature and docstring."""
        self.lines = []
        self.emit(0, f"@{decorator}(cache=True, error_model=\"numpy\")")
        self.emit(0, f"def {name}({', '.join(args)}):")
        self.emit(1, f'"""{doc}"""')

    def net_source(self, doc):
        self._begin(f"{self.name}_net", self._net_args(), doc)
        self.emit(1, f"{', '.join(n + '_prev' for n in self.state)}, = state")
        self.emit(1, f"{', '.join(self.weights)}, = weights")
        if self.training:
            self.emit(1, f"{', '.join(self.masks)}, = masks")
            self.emit(1, f"{', '.join(self.traces)}, = traces")
        self.emit(1, f"{', '.join(self.scratch_arrays())}, = work")
        self._sizes(1)
        for st in self.statements:
            if isinstance(st, Concat):
                self.concat(st, 1)
            elif isinstance(st, Define):
                self.define(st, 1)
        for name in self.state:  # the new state becomes the state of the next step
            dims = self.size(name)
            loops = [f"a{n}" for n in range(len(dims))]
            for n, (v, d) in enumerate(zip(loops, dims)):
                self.emit(1 + n, f"for {v} in range({d}):")
            self.emit(1 + len(loops), f"{name}_prev[b, {', '.join(loops)}] = {name}[{', '.join(loops)}]")
        self.emit(1, "for a0 in range(d_out):")
        self.emit(2, "y_out[b, a0] = y[a0]")
        return "\n".join(self.lines) + "\n"

    # the forward step as straight-line code (fixed sizes only) --------------------------------------------
    def lane(self, name, element):
        """The local variable that holds one element of a computed array (``z_c`` (1, 0) -> ``z_c_1_0``)."""
        return "_".join([name] + [str(e) for e in element])

    def elements(self, name):
        by_name = self._size_by_name()
        return list(itertools.product(*(range(by_name[d]) for d in self.size(name))))

    def _size_by_name(self):
        """The fixed sizes by the names the printed code uses (``d_in``, ..., ``n_src``, ``n_osrc``)."""
        shapes = weight_shapes(**self.sizes, forget_gates=self.fg)
        return dict(self.sizes, n_src=shapes["W_ig"][1], n_osrc=shapes["W_out"][1])

    def source_major_ref(self, computed, sum_index):
        """Array references of the straight-line step: computed arrays are local variables, weights are read
        source-major (``W[b, j, k]`` for the paper's w_kj), everything else as in :meth:`ref`."""
        def ref(name, idx):
            if name in computed:
                return self.lane(name, idx)
            if name in self.weights and sum_index is not None:
                rest = [ix for ix in idx if ix != sum_index]
                return f"{name}_b[{', '.join([sum_index] + rest)}]"
            return self.ref(name, idx)
        return ref

    def straight_source(self, doc):
        """The forward step with every element a local variable and the weights read source-major.

        Every element is computed by the same operations in the same order as in :meth:`net_source` (each sum from
        0.0 in the order j = 0, 1, ...), so the bits are the same.  What changes is what the compiler sees: the sums
        of all arrays that read the same source vector run in one loop over j, with one accumulator per element,
        and the elements of one array are independent expressions of the same shape, which LLVM's SLP vectoriser
        evaluates several at a time in the lanes of a vector register; the source-major weights of one j are
        contiguous, so their loads vectorise too.  The sigmoids are evaluated in loops over a scratch vector
        (:meth:`_sigmoid_batch`).  It is compiled with the SLP vectoriser on (:func:`lstm_lit.kernel_support.slp_njit`).
        It takes only the scratch arrays of :meth:`straight_scratch` (its own ``*_workspace`` function)."""
        self._begin(f"{self.name}_net", self._net_args(), doc, decorator="slp_njit")
        self.emit(1, f"{', '.join(n + '_prev' for n in self.state)}, = state")
        self.emit(1, f"{', '.join(self.weights)}, = weights")
        # network b's weights as views: an element's address then needs no multiplication by b (measured: the step
        # takes 40% less time)
        self.emit(1, f"{', '.join(n + '_b' for n in self.weights)}, = {', '.join(n + '[b]' for n in self.weights)}")
        self.emit(1, f"{', '.join(self.straight_scratch())}, = work")
        self._sizes(1)
        computed = set()                                  # arrays held as local variables, one per element
        available = {"x", "one"} | {n + "_prev" for n in self.state} | set(self.weights)
        pending = [st for st in self.statements if isinstance(st, (Concat, Define))]
        self.evaluated = {}                               # sigmoid of one element -> its place in sigma
        while pending:   # statements in order, except that the sums that can run together do (a list scheduler)
            self._sigmoid_batch(pending, available, computed)
            ready = [st for st in pending if self._reads(st) <= available]
            sums = [st for st in ready if isinstance(st, Define) and isinstance(st.rhs, sp.Sum)]
            group = [st for st in sums if st.rhs.limits == sums[0].rhs.limits and
                     self._summed_vector(st) == self._summed_vector(sums[0])] if sums else [ready[0]]
            if sums:
                self._fused_sums(group, computed)
            elif isinstance(group[0], Concat):
                self._straight_concat(group[0], computed)
            else:
                self._straight_define(group[0], computed)
            for st in group:
                pending.remove(st)
                available.add(st.target)
                if isinstance(st, Define):
                    computed.add(st.target)
        for name in self.state:
            for e in self.elements(name):
                self.emit(1, f"{name}_prev[b, {', '.join(map(str, e))}] = {self.lane(name, e)}")
        for e in self.elements("y"):
            self.emit(1, f"y_out[b, {e[0]}] = {self.lane('y', e)}")
        return "\n".join(self.lines) + "\n"

    def _sigmoid_batch(self, pending, available, computed):
        """Every sigmoid whose argument is known and that is not evaluated yet, evaluated now, all in one loop.

        The arguments go into consecutive elements of ``sigma`` and one loop replaces each by its sigmoid, so that
        the compiler sees one copy of the sigmoid, applied to neighbouring elements (it evaluates several at once
        in the lanes of a vector register) and not one inlined copy per element (35 copies made compiling a step
        take 18 s).  The statements then read their sigmoids from ``sigma``.  Each sigmoid gets the argument the
        plain step gives it, so the bits do not change."""
        batch = []
        for st in pending:
            if not isinstance(st, Define):
                continue
            for e in self.elements(st.target):
                rhs = st.rhs.subs(dict(zip(st.indices, e)), simultaneous=True)
                for sig in self._sigmoids(rhs):
                    arg = sig.args[0]
                    known = {str(f.base.label) for f in arg.atoms(sp.Indexed)} <= available
                    nested = any(inner not in self.evaluated for inner in self._sigmoids(arg))
                    if known and not nested and sig not in self.evaluated and sig not in batch:
                        batch.append(sig)
        if not batch:
            return
        printer = ScalarPrinter(self.source_major_ref(computed, None), self.evaluated)
        start = len(self.evaluated)
        for at, sig in enumerate(batch, start):
            self.emit(1, f"sigma[{at}] = {printer.doprint(sig.args[0])}")
        self.emit(1, f"for i in range({start}, {start + len(batch)}):")
        self.emit(2, "sigma[i] = _sigmoid(sigma[i])")
        for at, sig in enumerate(batch, start):
            self.evaluated[sig] = f"sigma[{at}]"
        sizes = {sp.Symbol(k): v for k, v in self._size_by_name().items()}
        assert len(self.evaluated) <= sp.sympify(self.size("sigma")[0]).subs(sizes), "sigma too short"

    def _reads(self, st):
        if isinstance(st, Concat):
            return {name for name, _ in st.segments}
        return {str(f.base.label) for f in st.rhs.atoms(sp.Indexed)} - {st.target}

    def _summed_vector(self, st):
        """The array a sum runs along (``x_tilde`` for the gates and cell inputs, ``x_out`` for the outputs)."""
        (v, _, _), = st.rhs.limits
        return sorted(str(f.base.label) for f in st.rhs.atoms(sp.Indexed)
                      if str(f.base.label) not in self.weights and v in f.indices)

    def _straight_concat(self, st, computed):
        printer_ref = self.source_major_ref(computed, None)
        at = 0
        for name, length in st.segments:
            if name == "one":
                self.emit(1, f"{st.target}[{at}] = 1.0")
                at += 1
                continue
            for e in self.elements(name):
                self.emit(1, f"{st.target}[{at}] = {printer_ref(name, [str(i) for i in e])}")
                at += 1

    def _straight_define(self, st, computed):
        self.check_sum_limits(st)
        printer = ScalarPrinter(self.source_major_ref(computed, None), self.evaluated)
        for e in self.elements(st.target):
            rhs = st.rhs.subs(dict(zip(st.indices, e)), simultaneous=True)
            self.emit(1, f"{self.lane(st.target, e)} = {printer.doprint(rhs)}")

    def _fused_sums(self, group, computed):
        (v, lo, hi), = group[0].rhs.limits
        printer = ScalarPrinter(self.source_major_ref(computed, str(v)))
        terms = []
        for st in group:
            self.check_sum_limits(st)
            for e in self.elements(st.target):
                self.emit(1, f"{self.lane(st.target, e)} = 0.0")
                terms.append((self.lane(st.target, e),
                              st.rhs.function.subs(dict(zip(st.indices, e)), simultaneous=True)))
        self.emit(1, f"for {v} in range({printer.doprint(lo)}, {printer.doprint(hi + 1)}):")
        for acc, term in terms:
            self.emit(2, f"{acc} += {printer.doprint(term)}")

    def batched_source(self, doc):
        state = [n + "_prev" for n in self.state]
        args = (["x"] + (["target", "learning_rate"] if self.training else []) + state + self.weights
                + self.masks + self.traces + ([] if self.fg else ["state_decay"]) + ["y_out"])
        self._begin(self.name, args, doc)
        self.emit(1, f"weights = {self._tuple(self.weights)}")
        self.emit(1, f"work = {self.name}_workspace(weights)")
        call = ["b", "x"] + (["target", "learning_rate[b]"] if self.training else [])
        call += ["1.0" if self.fg else "state_decay", self._tuple(state), "weights"]
        call += [self._tuple(self.masks), self._tuple(self.traces)] if self.training else []
        self.emit(1, "for b in range(x.shape[0]):")
        self.emit(2, f"{self.name}_net({', '.join(call + ['work', 'y_out'])})")
        return "\n".join(self.lines) + "\n"


TRAIN_DOC = ("One online step of B networks{}: forward pass, trace update, gradients and equation (16), all in "
             "place.\n\n"
             "    States (``*_prev``), traces (``e_*``) and weights are overwritten with their values after the step;\n"
             "    the outputs y(t+1) (before the weight update) are written to ``y_out`` (shape (B, d_out)).")
TEST_DOC = ("One forward step of B networks{} (a test step: no traces, no gradients, no update).\n\n"
            "    States (``*_prev``) are overwritten with their values after the step; the outputs y(t+1) are written\n"
            "    to ``y_out`` (shape (B, d_out)).")
NET_DOC = ("{} of network ``b`` alone{}, in place (see :func:`{}`).\n\n"
           "    ``state``, ``weights``{} and ``work`` are tuples of arrays; ``state_decay`` is the factor on s(t) of\n"
           "    the 1997 LSTM{}.")


def exp_coefficients(degree=EXP_DEGREE):
    """Taylor coefficients 1/n! of e^r, n = 0 .. degree, as the nearest doubles."""
    return [float(sp.Rational(1, sp.factorial(n))) for n in range(degree + 1)]


def estrin(coefficients, r="r"):
    """Python source of sum_n c_n r^n by Estrin's scheme (pairs, then pairs of pairs...): depth log2(n) instead of
    Horner's n, so independent evaluations overlap in the CPU.  Returns (lines defining the powers, expression)."""
    terms = [repr(c) for c in coefficients]
    power, lines, level = r, [], 0
    while len(terms) > 1:
        if level:
            name = f"{r}{2 ** level}"
            lines.append(f"{name} = {power} * {power}")
            power = name
        paired = [f"({terms[n]} + {terms[n + 1]} * {power})" for n in range(0, len(terms) - 1, 2)]
        terms = paired + ([terms[-1]] if len(terms) % 2 else [])
        level += 1
    return lines, terms[0]


def sigmoid_source():
    """The compiled sigmoid, in IEEE-754 basic operations only (no ``exp``/``tanh`` from the system's libm).

    sigma(z) = 1 / (1 + e^-z) for z >= 0 and e^z / (1 + e^z) for z < 0 (identities proved here), so only e^x for
    x <= 0 is needed: x = k ln2 + r with |r| <= ln2/2 (Cody & Waite's two-part ln2, so k ln2_hi is exact), e^r by its
    Taylor polynomial of degree 13 (truncation error below 5e-18) by Estrin's scheme, times 2^k built from its
    exponent bits (:mod:`lstm_lit.kernel_support`).  Additions,
    multiplications and divisions are correctly rounded on every IEEE machine and nothing here may be reordered (no
    ``fastmath``), so every CPU computes the same bits; the libm's ``exp`` and ``tanh`` differ in the last bit between
    CPUs and library versions.  ``tests/test_engine.py`` bounds the error against ``math.exp``.
    """
    z = sp.Symbol("z")
    assert sp.simplify((sigmoid(z) - 1 / (1 + sp.exp(-z))).rewrite(sp.exp)) == 0
    assert sp.simplify((sigmoid(z) - sp.exp(z) / (1 + sp.exp(z))).rewrite(sp.exp)) == 0
    ln2_hi, ln2_lo = LN2_HI, LN2_LO
    powers, poly = estrin(exp_coefficients())
    body = powers + [f"p = {poly}"]
    lines = [
        "@numba.njit(cache=True, inline=\"always\")",
        "def _exp_nonpositive(x):",
        '    """e^x for x <= 0 (0 below -745.2; NaN stays NaN), in basic operations only: see lstm_lit.codegen_numba."""',
        "    y = x if x >= -745.2 else -745.2  # below, e^x < 2^-1075 rounds to 0 (NaN: see the end)",
        f"    k = numpy.floor(y * {1 / math.log(2)!r} + 0.5)  # a float: converting it to int64 and back would not vectorise",
        f"    r = (y - k * {ln2_hi!r}) - k * {ln2_lo!r}",
        *("    " + line for line in body),
        "    n = numpy.int32(-k)  # 0 .. 1075; e^x = p 2^-n",
        "    h = n >> 1",
        "    # 2^-n as two normal factors built from their exponent bits (a table lookup would not vectorise); the",
        "    # first product is exact, so the result is rounded once, like p times an exact 2^-n.  2^-1075 rounds to 0.",
        "    e = (p * pow2_negative(h)) * pow2_negative(n - h)",
        "    e = e if k > -1075.0 else 0.0",
        "    return e if x == x else x  # NaN in, NaN out; selects, not branches, so that the compiler can vectorise",
        "",
        "",
        "@numba.njit(cache=True, inline=\"always\")",
        "def _sigmoid(z):",
        '    """Logistic sigmoid: 1 / (1 + e^-z) for z >= 0, e^z * (1 / (1 + e^z)) below; finite for any z."""',
        "    e = _exp_nonpositive(-abs(z))",
        "    d = 1.0 / (1.0 + e)",
        "    return d if z >= 0.0 else e * d  # a select, not a branch: the sign of z is unpredictable",
    ]
    return "\n".join(lines) + "\n"


def module_source(header):
    parts = [header, '"""Compiled steps: the statements of lstm_lit.symbolic printed as loops for Numba.\n\n'
             "No kernel is compiled with ``fastmath``, and the sigmoid uses no libm function: a network's run gives\n"
             "the same bits on every machine, whatever its vector width.\n"
             '"""\n',
             "import math\n", "import numba", "import numpy\n",
             "from lstm_lit.kernel_support import pow2_negative\n", "", sigmoid_source()]
    for training in (True, False):
        for fg in (True, False):
            step = FusedStep(fg, training)
            which = "" if fg else " of the 1997 LSTM (``state_decay`` on s(t))"
            net_doc = NET_DOC.format("One online step" if training else "One forward step",
                                     "" if fg else " (1997 LSTM)", step.name,
                                     ", ``masks``, ``traces``" if training else "",
                                     " (unused here: the forget gate takes its place)" if fg else "")
            parts += ["", step.workspace_source(), "", step.net_source(net_doc), "",
                      step.batched_source((TRAIN_DOC if training else TEST_DOC).format(which))]
    return "\n".join(parts)


def sized_module_source(header, network, sizes):
    """The per-network steps again, with the sizes of one experiment's network fixed (``network``: its name, e.g.
    "CERG" with ``d_in, n_blk, d_blk, d_out`` = 7, 4, 2, 7): the same statements and the same order of every
    operation, so the same bits as the general kernels, but every loop bound is a constant and the compiler unrolls
    the small loops.  The test steps are printed as straight-line code on source-major weights
    (:meth:`FusedStep.straight_source`)."""
    parts = [header, '"""Steps of the {network} network (sizes fixed at {d_in} inputs, {n_blk} blocks of {d_blk} '
             'cells, {d_out} outputs),\nprinted from the same statements as lstm_lit.generated.rtrl_fused.\n\n'
             'The bits are those of the general kernels; the constant sizes let the compiler unroll every small loop,\n'
             'and the test steps are straight-line code on source-major weights (W_t[b, j, ...] = W[b, ..., j]), so\n'
             'that the compiler can evaluate several elements at once in the lanes of a vector register.'
             '\n"""\n'.format(network=network, **sizes),
             "import math\n", "import numba", "import numpy\n",
             "from lstm_lit.kernel_support import pow2_negative, slp_njit\n", "", sigmoid_source()]
    for training in (True, False):
        for fg in (True, False):
            step = FusedStep(fg, training, sizes=sizes)
            doc = NET_DOC.format("One online step" if training else "One forward step",
                                 "" if fg else " (1997 LSTM)", "lstm_lit.generated.rtrl_fused." + step.name,
                                 ", ``masks``, ``traces``" if training else "",
                                 " (unused here: the forget gate takes its place)" if fg else "")
            if training:
                parts += ["", step.workspace_source(), "", step.net_source(doc)]
            else:   # straight-line code on source-major weights: see FusedStep.straight_source
                doc += ("\n\n    ``weights`` are source-major: ``numpy.moveaxis(W, -1, 1)`` of every W (W_t[b, j, ...] = "
                        "W[b, ..., j]).\n    ``work`` is the tuple of :func:`" + step.name + "_workspace` here, not the "
                        "general kernel's.\n    The outputs and states are bit for bit those of the general kernel.")
                parts += ["", step.workspace_source(step.straight_scratch()), "", step.straight_source(doc)]
    return "\n".join(parts)
