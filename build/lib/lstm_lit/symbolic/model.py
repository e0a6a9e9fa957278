"""The LSTM of DESIGN.md in SymPy index form: sizes, arrays, the recurrent input and the forward equations.

Everything is written for *one* network with 0-based integer indices; the generated NumPy code adds a
leading batch axis so that many independent networks step at once.

Index conventions (used in every derivation):

====  ======================  =====================================
name  runs over               size
====  ======================  =====================================
k     memory blocks           ``n_blk``
i     cells of a block        ``d_blk``
j, q  recurrent sources x~    ``n_src`` (see :func:`n_src`)
m     output units            ``d_out``
====  ======================  =====================================

Quantities at time ``t`` that feed the step are called ``*_prev`` (``s_prev`` is s(t)); everything the
step computes is at time ``t + 1`` (``s`` is s(t+1)).
"""

from dataclasses import dataclass, field

import sympy as sp

from .activations import f_gate, f_out, g, h

# --- sizes -----------------------------------------------------------------------------------------------
d_in, n_blk, d_blk, d_out = sp.symbols("d_in n_blk d_blk d_out", integer=True, positive=True)
SIZES = (d_in, n_blk, d_blk, d_out)

# --- index symbols ---------------------------------------------------------------------------------------
k, i, j, q, m, p = sp.symbols("k i j q m p", integer=True, nonnegative=True)
k2, i2 = sp.symbols("k' i'", integer=True, nonnegative=True)

#: the state-decay factor of the 1997 cell: 1 for Hochreiter & Schmidhuber's LSTM, 0.9 for the paper's
#: "LSTM with state decay" baseline.
state_decay = sp.Symbol("state_decay", positive=True)


def source_segments(forget_gates=True):
    """The recurrent input x~(t) = [x; 1; y^fg; y^ig; y^og; y^c] as (name, length) segments.

    The constant 1 carries the biases.  The 1997 LSTM has no y^fg segment.
    """
    gates = ("y_fg_prev", "y_ig_prev", "y_og_prev") if forget_gates else ("y_ig_prev", "y_og_prev")
    return (("x", d_in), ("one", sp.Integer(1))) + tuple((name, n_blk) for name in gates) + (("y_c_prev", n_blk * d_blk),)


def output_source_segments(current_cells=True):
    """The output layer's input x^out = [x(t); 1; y^c(t+1)] (``current_cells=False``: the papers' y^c(t))."""
    return (("x", d_in), ("one", sp.Integer(1)), ("y_c" if current_cells else "y_c_prev", n_blk * d_blk))


def segment_offsets(segments):
    """Offset of every segment in the concatenated vector, as expressions in the sizes."""
    offsets, at = {}, sp.Integer(0)
    for name, length in segments:
        offsets[name] = at
        at = at + length
    return offsets


def n_src(forget_gates=True):
    """Length of x~(t): d_in + 1 + n_blk (3 + d_blk) with forget gates, d_in + 1 + n_blk (2 + d_blk) without."""
    return sp.expand(sum(length for _, length in source_segments(forget_gates)))


n_out_src = d_in + 1 + n_blk * d_blk  #: length of x^out(t+1)

# --- arrays ----------------------------------------------------------------------------------------------
AXIS_SIZES = {"in": d_in, "blk": n_blk, "cell": d_blk, "out": d_out, "osrc": n_out_src}


@dataclass(frozen=True)
class Array:
    """A named array of the model: its code name, its axes (kinds above, or "src") and how the book writes it."""

    name: str
    axes: tuple
    latex: str  # how the book writes the array; "(t)" / "(t+1)" at the end is the time argument

    @property
    def base(self):
        return sp.IndexedBase(self.name)

    def __getitem__(self, idx):
        return self.base[idx]

    def shape(self, forget_gates=True):
        return tuple(n_src(forget_gates) if a == "src" else AXIS_SIZES[a] for a in self.axes)


def _a(name, axes, latex):
    return Array(name, tuple(axes.split()), latex)


ARRAYS = {a.name: a for a in [
    _a("x", "in", r"x(t)"),
    _a("x_tilde", "src", r"\tilde{x}(t)"),
    _a("s_prev", "blk cell", r"s(t)"),
    _a("y_fg_prev", "blk", r"y^{\mathrm{fg}}(t)"),
    _a("y_ig_prev", "blk", r"y^{\mathrm{ig}}(t)"),
    _a("y_og_prev", "blk", r"y^{\mathrm{og}}(t)"),
    _a("y_c_prev", "blk cell", r"y^{c}(t)"),
    _a("W_fg", "blk src", r"W^{\mathrm{fg}}"),
    _a("W_ig", "blk src", r"W^{\mathrm{ig}}"),
    _a("W_og", "blk src", r"W^{\mathrm{og}}"),
    _a("W_c", "blk cell src", r"W^{c}"),
    _a("W_out", "out osrc", r"W^{\mathrm{out}}"),
    _a("z_fg", "blk", r"z^{\mathrm{fg}}(t+1)"),
    _a("y_fg", "blk", r"y^{\mathrm{fg}}(t+1)"),
    _a("z_ig", "blk", r"z^{\mathrm{ig}}(t+1)"),
    _a("y_ig", "blk", r"y^{\mathrm{ig}}(t+1)"),
    _a("z_og", "blk", r"z^{\mathrm{og}}(t+1)"),
    _a("y_og", "blk", r"y^{\mathrm{og}}(t+1)"),
    _a("z_c", "blk cell", r"z^{c}(t+1)"),
    _a("s", "blk cell", r"s(t+1)"),
    _a("y_c", "blk cell", r"y^{c}(t+1)"),
    _a("x_out", "osrc", r"x^{\mathrm{out}}(t+1)"),
    _a("z_out", "out", r"z^{\mathrm{out}}(t+1)"),
    _a("y", "out", r"y(t+1)"),
]}
A = ARRAYS  # short alias for the equations below


def latex_names():
    """``symbol_names`` for :func:`sympy.latex` so that arrays print as the book writes them."""
    names = {sp.Symbol(a.name): a.latex for a in ARRAYS.values()}
    names.update({state_decay: r"\lambda"})
    return names


# --- statements ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Concat:
    """``target = [part_1; part_2; ...]`` (a part named "one" is the constant 1; 2-D parts are flattened)."""

    target: str
    segments: tuple


@dataclass(frozen=True)
class Define:
    """``lhs[indices] = rhs`` for every value of the free indices of ``lhs``; ``label`` is the equation number."""

    lhs: sp.Indexed
    rhs: sp.Expr
    label: str = ""

    @property
    def target(self):
        return str(self.lhs.base.label)

    @property
    def indices(self):
        return tuple(self.lhs.indices)

    def as_eq(self):
        return sp.Eq(self.lhs, self.rhs, evaluate=False)


@dataclass
class StepEquations:
    """The ordered statements of one step, with the names of what goes in and what comes out."""

    name: str
    inputs: tuple
    statements: list = field(default_factory=list)
    outputs: tuple = ()
    scalars: tuple = ()
    forget_gates: bool = True
    doc: str = ""
    per_network: tuple = ()  #: scalar symbols that take one value per network (an array over the batch)
    unbatched: tuple = ()    #: input arrays shared by all networks (no batch axis), e.g. connectivity masks

    @classmethod
    def from_derivations(cls, name, inputs, derivations, doc):
        """Statements ``lhs = rhs`` for every ``{output name: (lhs, rhs)}`` of a derivation, in its order."""
        eqs = cls(name, tuple(inputs), doc=doc)
        eqs.statements = [Define(lhs, rhs) for lhs, rhs in derivations.values()]
        eqs.outputs = tuple(derivations)
        return eqs

    def __getitem__(self, target):
        for st in self.statements:
            if st.target == target:
                return st
        raise KeyError(f"no statement defines {target!r} in {self.name}")

    def rhs(self, target):
        return self[target].rhs


def _net(W, row, forget_gates):
    """Net input ``sum_j W[row..., j] x~[j]``."""
    return sp.Sum(W[row + (j,)] * A["x_tilde"][j], (j, 0, n_src(forget_gates) - 1))


def forward_equations(forget_gates=True, current_cells=True):
    """The forward step as ordered statements.

    ``forget_gates=True``: equations (8)-(9) of the notes (the LSTM of Gers et al. 2000);
    ``forget_gates=False``: the 1997 LSTM, equations (6)-(7), with the state carried by ``state_decay``
    (1 for the 1997 LSTM).  ``current_cells=False`` builds the output layer as printed in the papers
    (from y^c(t) instead of y^c(t+1)) -- see the errata.
    """
    fg = forget_gates
    inputs = ["x", "s_prev"] + (["y_fg_prev"] if fg else []) + ["y_ig_prev", "y_og_prev", "y_c_prev"]
    inputs += (["W_fg"] if fg else []) + ["W_ig", "W_og", "W_c", "W_out"]
    eqs = StepEquations("forward_step" if fg else "forward_step_1997", tuple(inputs),
                        scalars=() if fg else ("state_decay",), forget_gates=fg)
    st = eqs.statements
    st.append(Concat("x_tilde", source_segments(fg)))
    if fg:
        st.append(Define(A["z_fg"][k], _net(A["W_fg"], (k,), fg), "8"))
        st.append(Define(A["y_fg"][k], f_gate(A["z_fg"][k]), "8"))
    st.append(Define(A["z_ig"][k], _net(A["W_ig"], (k,), fg)))
    st.append(Define(A["y_ig"][k], f_gate(A["z_ig"][k])))
    st.append(Define(A["z_og"][k], _net(A["W_og"], (k,), fg)))
    st.append(Define(A["y_og"][k], f_gate(A["z_og"][k])))
    st.append(Define(A["z_c"][k, i], _net(A["W_c"], (k, i), fg)))
    keep = A["y_fg"][k] if fg else state_decay
    st.append(Define(A["s"][k, i], keep * A["s_prev"][k, i] + A["y_ig"][k] * g(A["z_c"][k, i]), "9" if fg else "6"))
    st.append(Define(A["y_c"][k, i], A["y_og"][k] * h(A["s"][k, i]), "7"))
    st.append(Concat("x_out", output_source_segments(current_cells)))
    st.append(Define(A["z_out"][m], sp.Sum(A["W_out"][m, j] * A["x_out"][j], (j, 0, n_out_src - 1))))
    st.append(Define(A["y"][m], f_out(A["z_out"][m])))
    eqs.outputs = tuple(s.target for s in st)
    return eqs


@dataclass(frozen=True)
class CellColumns:
    """``target[m, k, i] = source[m, offset + k d_blk + i]``: the columns of ``source`` that read the cells, as a
    view shaped like ``like`` (an array with axes (blk, cell)); the offset is whatever comes before them."""

    target: str
    source: str
    like: str
