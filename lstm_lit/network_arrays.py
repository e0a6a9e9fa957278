"""The arrays one network needs in a compiled engine (CERG, :mod:`lstm_lit.cerg.engine`; NTO, :mod:`lstm_lit.nto.engine`).

Both engines run one network at a time through the per-network kernels of :mod:`lstm_lit.codegen_numba`, which take
batched arrays (a leading axis of length 1 here) grouped into tuples: state, weights, masks, traces and the scratch
arrays of the training and the test step.  The test steps printed for fixed sizes read the weights source-major
(:func:`source_major`): an engine refreshes that copy with :func:`copy_source_major` before every test.
"""

import numba
from numba import literal_unroll
import numpy as np


FORGET_GATE_WEIGHTS = 5
"""Weight matrices of the LSTM with forget gates (the 1997 LSTM has one fewer): how the engines tell the two apart."""


def source_major(weights):
    """New arrays in the layout the fixed-size test steps read: W_t[b, j, ...] = W[b, ..., j] for every W."""
    return tuple(np.ascontiguousarray(np.moveaxis(w, -1, 1)) for w in weights)


@numba.njit(cache=True)
def copy_source_major(pairs):
    """For every pair (W, W_t) of ``pairs`` (W_t made by :func:`source_major`), copy W into W_t; compiled code."""
    for pair in literal_unroll(pairs):
        w, wt = pair
        b, j = w.shape[0], w.shape[-1]
        rows = w.size // (b * j)          # the axes between the network and the source, flattened
        w3 = w.reshape((b, rows, j))
        wt3 = wt.reshape((b, j, rows))
        for n in range(b):
            for r in range(rows):
                for q in range(j):
                    wt3[n, q, r] = w3[n, r, q]


class NetworkArrays:
    """State, weights, masks, traces, workspaces and one row each of input, target and output, for one network
    shaped like ``template`` (a one-network :class:`lstm_lit.network.LSTMNetwork`), with the given ``weights``
    (name -> array, checked: a clear error names what is wrong).  ``variant`` names the network in errors;
    ``kernels`` is the module of kernels the engine runs (its ``*_workspace`` functions give the scratch arrays)."""

    def __init__(self, template, weights, variant, kernels):
        fg = template.forget_gates
        names = (["W_fg"] if fg else []) + ["W_ig", "W_og", "W_c", "W_out"]
        if not isinstance(weights, dict) or sorted(weights) != sorted(names):
            got = sorted(weights) if isinstance(weights, dict) else type(weights).__name__
            raise ValueError(f"a {variant!r} network needs the weights {names}, got {got}")
        for n in names:
            w = np.asarray(weights[n])
            if w.shape != template.shapes[n] or w.dtype.kind not in "fi" or not np.all(np.isfinite(w)):
                raise ValueError(f"weight {n} must be a finite real array of shape {template.shapes[n]}, got "
                                 f"shape {w.shape}, dtype {w.dtype}")
        self.names = names
        self.weights = tuple(np.ascontiguousarray(np.asarray(weights[n])[None], dtype=np.float64) for n in names)
        self.test_weights = source_major(self.weights)   # the layout of the fixed-size test steps
        self.weight_pairs = tuple(zip(self.weights, self.test_weights))
        self.masks = tuple(np.ascontiguousarray(template.masks[n], dtype=np.float64) for n in names)
        n_blk, d_blk = template.n_blk, template.d_blk
        state = [(n_blk, d_blk)] + [(n_blk,)] * (3 if fg else 2) + [(n_blk, d_blk)]   # s, (y_fg,) y_ig, y_og, y_c
        self.state = tuple(np.zeros((1,) + s) for s in state)
        self.traces = tuple(np.zeros((1, n_blk, d_blk, template.n_src)) for _ in range(3 if fg else 2))
        suffix = "" if fg else "_1997"
        self.train_work = getattr(kernels, f"train_step{suffix}_workspace")(self.weights)
        self.test_work = getattr(kernels, f"test_step{suffix}_workspace")(self.weights)
        self.x = np.zeros((1, template.d_in))
        self.target = np.zeros((1, template.d_out))
        self.y = np.zeros((1, template.d_out))

    def weights_dict(self):
        """The current weights, name -> array without the batch axis (copies)."""
        return {name: w[0].copy() for name, w in zip(self.names, self.weights)}
