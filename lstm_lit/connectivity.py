"""Which sources feed which units: 0/1 masks over the weight matrices of :mod:`lstm_lit.symbolic.model`.

The general derivation uses full connectivity.  The CERG network of the paper uses a subset: inputs and
cell outputs feed the cell inputs and all gates, gates and output units are biased, cells are not, there
are no gate-to-gate connections, and the output units also see the inputs directly ("shortcuts").  A
masked weight stays exactly zero: the training code multiplies every update by its mask.
"""

import numpy as np
import sympy as sp

from .symbolic import model

CONNECTIVITIES = ("full", "cerg")
CERG_SIZES = dict(d_in=7, n_blk=4, d_blk=2, d_out=7)
"""The CERG network of the paper: 7 inputs, 4 memory blocks of 2 cells, 7 outputs."""
NTO_SIZES = dict(d_in=8, n_blk=4, d_blk=2, d_out=8)
"""The network of the paper's experiments 2 and 3 (temporal order): the CERG net with 8 inputs and 8 outputs."""


def sizes_dict(d_in, n_blk, d_blk, d_out):
    return dict(zip(model.SIZES, (d_in, n_blk, d_blk, d_out)))


def _columns(segments, sizes, names):
    """Boolean column selector over a concatenated vector for the named segments."""
    offsets = model.segment_offsets(segments)
    total = int(sum(sp.sympify(n).subs(sizes) for _, n in segments))
    sel = np.zeros(total, dtype=bool)
    for name, length in segments:
        if name in names:
            start = int(sp.sympify(offsets[name]).subs(sizes))
            sel[start:start + int(sp.sympify(length).subs(sizes))] = True
    return sel


def weight_shapes(d_in, n_blk, d_blk, d_out, forget_gates=True):
    """Shapes (without batch axis) of every weight matrix."""
    sizes = sizes_dict(d_in, n_blk, d_blk, d_out)
    names = (["W_fg"] if forget_gates else []) + ["W_ig", "W_og", "W_c", "W_out"]
    return {n: tuple(int(sp.sympify(s).subs(sizes)) for s in model.ARRAYS[n].shape(forget_gates)) for n in names}


def masks(d_in, n_blk, d_blk, d_out, forget_gates=True, connectivity="full"):
    """{weight name: float 0/1 array} for ``connectivity`` in ``CONNECTIVITIES``."""
    if connectivity not in CONNECTIVITIES:
        raise ValueError(f"unknown connectivity {connectivity!r}; choose one of {CONNECTIVITIES}")
    shapes = weight_shapes(d_in, n_blk, d_blk, d_out, forget_gates)
    if connectivity == "full":
        return {n: np.ones(s) for n, s in shapes.items()}
    sizes = sizes_dict(d_in, n_blk, d_blk, d_out)
    src = model.source_segments(forget_gates)
    gate_cols = _columns(src, sizes, {"x", "one", "y_c_prev"})
    cell_cols = _columns(src, sizes, {"x", "y_c_prev"})
    out_cols = _columns(model.output_source_segments(), sizes, {"x", "one", "y_c"})
    out = {}
    for name, shape in shapes.items():
        cols = {"W_c": cell_cols, "W_out": out_cols}.get(name, gate_cols)
        out[name] = np.ascontiguousarray(np.broadcast_to(cols, shape), dtype=float)
    return out


def n_weights(mask_dict):
    """Number of trainable weights (ones in the masks)."""
    return int(sum(int(m.sum()) for m in mask_dict.values()))
