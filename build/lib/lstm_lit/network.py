"""B independent LSTMs trained online by truncated RTRL, on the generated kernels.

One :class:`LSTMNetwork` holds the weights, states and eligibility traces of ``batch`` independent networks of
the same size as plain NumPy arrays (leading axis = network).  :meth:`LSTMNetwork.step` advances all of them
one time step (forward pass and trace update, :mod:`lstm_lit.generated`); :meth:`LSTMNetwork.update` applies
equation (16), ``W <- W - alpha dL/dW``, with the gradients of equations (1), (12)-(15).

>>> import numpy as np
>>> net = LSTMNetwork(d_in=3, n_blk=2, d_blk=2, d_out=3, batch=4, rng=np.random.default_rng(0))
>>> out = net.step(np.eye(3)[[0, 1, 2, 0]])
>>> grads = net.update(target=np.eye(3)[[1, 2, 0, 1]], learning_rate=0.5)
>>> out["y"].shape, grads["grad_W_c"].shape
((4, 3), (4, 2, 2, 14))
"""

import math

import numpy as np

from .connectivity import CONNECTIVITIES, masks, weight_shapes
from .generated import forward, rtrl, rtrl_fused

PAPER_GATE_BIASES = (-0.5, -1.0, -1.5, -2.0)   # input and output gates, block by block
PAPER_FORGET_BIASES = (0.5, 1.0, 1.5, 2.0)     # forget gates, block by block


def _positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _finite_array(name, value, shape):
    if type(value) is np.ndarray and value.dtype == np.float64 and value.shape == shape:  # the common case, fast
        if not np.isfinite(value).all():
            raise ValueError(f"{name} contains NaN or infinite values")
        return value
    arr = np.asarray(value)
    if arr.dtype.kind not in "fiub":
        raise TypeError(f"{name} must be a real numeric array, got dtype {arr.dtype}")
    arr = arr.astype(np.float64, copy=False)
    if arr.shape != shape:
        raise ValueError(f"{name} must have shape {shape} (batch, ...), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


class LSTMNetwork:
    """``batch`` independent LSTMs (with forget gates unless ``forget_gates=False``) trained by truncated RTRL.

    Parameters
    ----------
    d_in, n_blk, d_blk, d_out : sizes (inputs, memory blocks, cells per block, outputs).
    batch : number of independent networks advanced together.
    forget_gates : the LSTM of Gers et al. (2000); ``False`` gives the 1997 LSTM.
    connectivity : ``"full"`` or ``"cerg"`` (the paper's CERG network; see :mod:`lstm_lit.connectivity`).
    state_decay : for the 1997 LSTM only, the factor on s(t) (1: the 1997 LSTM; the paper's baseline uses 0.9).
    rng : a ``numpy.random.Generator``; if given, weights are initialised as in the paper (:meth:`initialise`).

    Attributes (all NumPy arrays with the network on axis 0): ``weights`` {name: array}, ``masks`` {name: 0/1
    array without batch axis}, ``state`` {s, y_fg, y_ig, y_og, y_c}, ``traces`` {e_fg, e_ig, e_c}.
    """

    def __init__(self, d_in, n_blk, d_blk, d_out, batch=1, forget_gates=True, connectivity="full",
                 state_decay=1.0, rng=None):
        self.d_in, self.n_blk, self.d_blk, self.d_out = (_positive_int(n, v) for n, v in
                                                         zip(("d_in", "n_blk", "d_blk", "d_out"), (d_in, n_blk, d_blk, d_out)))
        self.batch = _positive_int("batch", batch)
        if connectivity not in CONNECTIVITIES:
            raise ValueError(f"unknown connectivity {connectivity!r}; choose one of {CONNECTIVITIES}")
        if not (isinstance(state_decay, (int, float)) and np.isfinite(state_decay) and 0 <= state_decay <= 1):
            raise ValueError(f"state_decay must be a number in [0, 1], got {state_decay!r}")
        if forget_gates and state_decay != 1.0:
            raise ValueError("state_decay applies to the 1997 LSTM only (forget_gates=False)")
        self.forget_gates = bool(forget_gates)
        self.connectivity = connectivity
        self.state_decay = float(state_decay)
        sizes = (self.d_in, self.n_blk, self.d_blk, self.d_out)
        self.shapes = weight_shapes(*sizes, forget_gates=self.forget_gates)
        self.masks = masks(*sizes, forget_gates=self.forget_gates, connectivity=connectivity)
        self.weights = {n: np.zeros((self.batch,) + s) for n, s in self.shapes.items()}
        self.n_src = self.shapes["W_ig"][-1]
        self.reset()
        self._last = None
        if rng is not None:
            self.initialise(rng)

    # --- set-up ------------------------------------------------------------------------------------------
    @property
    def n_weights(self):
        """Trainable weights per network (the CERG net: 424)."""
        return int(sum(int(m.sum()) for m in self.masks.values()))

    def initialise(self, rng, scale=0.2, gate_biases=PAPER_GATE_BIASES, forget_biases=PAPER_FORGET_BIASES):
        """The paper's initialisation: uniform in [-scale, scale]; input/output gate biases ``gate_biases`` and forget
        gate biases ``forget_biases`` block by block (cycled if there are more blocks)."""
        if not isinstance(rng, np.random.Generator):
            raise TypeError("rng must be a numpy.random.Generator (e.g. numpy.random.default_rng(seed))")
        if not (np.isfinite(scale) and scale >= 0):
            raise ValueError(f"scale must be a non-negative number, got {scale!r}")
        for name, shape in self.shapes.items():
            self.weights[name] = rng.uniform(-scale, scale, size=(self.batch,) + shape) * self.masks[name]
        bias = self.d_in  # column of the constant-1 input in x~
        for name, values in (("W_ig", gate_biases), ("W_og", gate_biases), ("W_fg", forget_biases)):
            if name in self.weights and values is not None:
                self.weights[name][:, :, bias] = [values[k % len(values)] for k in range(self.n_blk)]
        return self

    def reset(self, which=None):
        """Zero the state and the traces of all networks, or of those selected by the boolean array ``which``."""
        zeros = lambda *s: np.zeros((self.batch,) + s)  # noqa: E731
        if which is None:
            self.state = {"s": zeros(self.n_blk, self.d_blk), "y_ig": zeros(self.n_blk), "y_og": zeros(self.n_blk),
                          "y_c": zeros(self.n_blk, self.d_blk)}
            self.traces = {"e_ig": zeros(self.n_blk, self.d_blk, self.n_src), "e_c": zeros(self.n_blk, self.d_blk, self.n_src)}
            if self.forget_gates:
                self.state["y_fg"] = zeros(self.n_blk)
                self.traces["e_fg"] = zeros(self.n_blk, self.d_blk, self.n_src)
            return
        which = np.asarray(which, dtype=bool)
        if which.shape != (self.batch,):
            raise ValueError(f"which must be a boolean array of shape ({self.batch},), got {which.shape}")
        for d in (self.state, self.traces):
            for arr in d.values():
                arr[which] = 0.0

    def set_weights(self, weights):
        """Replace weights (dict of arrays shaped (batch, ...)); masked entries must be zero."""
        for name, value in weights.items():
            if name not in self.shapes:
                raise KeyError(f"unknown weight {name!r}; this network has {sorted(self.shapes)}")
            arr = _finite_array(name, value, (self.batch,) + self.shapes[name]).copy()
            if np.any(arr * (1 - self.masks[name]) != 0):
                raise ValueError(f"{name} has non-zero entries where the {self.connectivity} connectivity has no weight")
            self.weights[name] = arr

    # --- online learning ---------------------------------------------------------------------------------
    def step(self, x):
        """Advance every network one step on input ``x`` (shape (batch, d_in)): forward pass and trace update.

        Returns the forward step's arrays by name (``y`` is the output).  Call :meth:`update` next to learn.
        """
        x = _finite_array("x", x, (self.batch, self.d_in))
        st, W = self.state, self.weights
        if self.forget_gates:
            out = forward.forward_step(x, st["s"], st["y_fg"], st["y_ig"], st["y_og"], st["y_c"],
                                       W["W_fg"], W["W_ig"], W["W_og"], W["W_c"], W["W_out"])
            tr = rtrl.trace_step(out["x_tilde"], st["s"], out["y_fg"], out["y_ig"], out["z_c"],
                                 self.traces["e_fg"], self.traces["e_ig"], self.traces["e_c"])
        else:
            out = forward.forward_step_1997(x, st["s"], st["y_ig"], st["y_og"], st["y_c"],
                                            W["W_ig"], W["W_og"], W["W_c"], W["W_out"], self.state_decay)
            tr = rtrl.trace_step_1997(out["x_tilde"], st["s"], out["y_ig"], out["z_c"],
                                      self.traces["e_ig"], self.traces["e_c"], self.state_decay)
        self.traces = {name[:-len("_next")]: value for name, value in tr.items()}
        self.state = {name: out[name] for name in self.state}
        self._last = out
        return out

    def gradients(self, target):
        """The truncated-RTRL gradients of L = |y - target|^2 / 2 at the last step, without changing anything."""
        if self._last is None:
            raise RuntimeError("call step(x) before gradients/update")
        target = _finite_array("target", target, (self.batch, self.d_out))
        out, tr = self._last, self.traces
        if self.forget_gates:
            return rtrl.gradients(out["y"], target, out["x_out"], out["x_tilde"], out["y_og"], out["s"],
                                  self.weights["W_out"], tr["e_fg"], tr["e_ig"], tr["e_c"])
        return rtrl.gradients_1997(out["y"], target, out["x_out"], out["x_tilde"], out["y_og"], out["s"],
                                   self.weights["W_out"], tr["e_ig"], tr["e_c"])

    def _learning_rates(self, learning_rate):
        """One learning rate per network, as a contiguous float64 array (a number applies to all)."""
        if isinstance(learning_rate, (int, float)) and not isinstance(learning_rate, bool):
            if not (math.isfinite(learning_rate) and learning_rate >= 0):
                raise ValueError(f"learning_rate must be a non-negative number, got {learning_rate!r}")
            return np.full(self.batch, float(learning_rate))
        lr = np.asarray(learning_rate, dtype=np.float64)
        if lr.shape not in ((), (self.batch,)) or not np.all(np.isfinite(lr)) or np.any(lr < 0):
            raise ValueError(f"learning_rate must be a non-negative number or an array of shape ({self.batch},), "
                             f"got {learning_rate!r}")
        return np.ascontiguousarray(np.broadcast_to(lr, (self.batch,)))

    def update(self, target, learning_rate):
        """Equation (16): every weight moves by ``-learning_rate * gradient`` (masked weights stay zero).

        ``learning_rate`` is a number or one per network (shape (batch,)).  Returns the gradients.
        """
        lr = self._learning_rates(learning_rate)
        grads = self.gradients(target)
        names = list(self.weights)
        new = (rtrl.update if self.forget_gates else rtrl.update_1997)(
            **self.weights, **{"grad_" + n: grads["grad_" + n] for n in names},
            **{"mask_" + n: self.masks[n] for n in names}, learning_rate=lr)
        self.weights = {n: new[n + "_new"] for n in names}
        return grads

    def train_step(self, x, target, learning_rate):
        """:meth:`step` and :meth:`update` in one compiled call (Numba, :mod:`lstm_lit.generated.rtrl_fused`).

        Same arithmetic, printed from the same statements as loops: use it for long runs.  Returns the outputs
        y(t+1) computed before the weight update, shape (batch, d_out).  Intermediates are not kept.
        """
        x = _finite_array("x", x, (self.batch, self.d_in))
        target = _finite_array("target", target, (self.batch, self.d_out))
        lr = self._learning_rates(learning_rate)
        st, W, M, tr = self.state, self.weights, self.masks, self.traces
        if not all(a.flags.c_contiguous and a.flags.writeable for d in (st, W, tr) for a in d.values()):
            for d in (st, W, tr):  # the kernel works in place on contiguous float64 arrays
                for name, arr in d.items():
                    d[name] = np.array(arr, dtype=np.float64, order="C")
        y = np.empty((self.batch, self.d_out))
        if self.forget_gates:
            rtrl_fused.train_step(x, target, lr, st["s"], st["y_fg"], st["y_ig"], st["y_og"], st["y_c"],
                                   W["W_fg"], W["W_ig"], W["W_og"], W["W_c"], W["W_out"],
                                   M["W_fg"], M["W_ig"], M["W_og"], M["W_c"], M["W_out"],
                                   tr["e_fg"], tr["e_ig"], tr["e_c"], y)
        else:
            rtrl_fused.train_step_1997(x, target, lr, st["s"], st["y_ig"], st["y_og"], st["y_c"],
                                        W["W_ig"], W["W_og"], W["W_c"], W["W_out"],
                                        M["W_ig"], M["W_og"], M["W_c"], M["W_out"],
                                        tr["e_ig"], tr["e_c"], self.state_decay, y)
        self._last = None
        return y
