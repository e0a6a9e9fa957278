"""The gated recurrent unit (GRU) and its BPTT step, derived in SymPy index form.

The convention of this module (one step, for every hidden unit ``p``)::

    z_G[p] = b_G[p] + sum_q W_G[p, q] h_prev[q] + sum_j U_G[p, j] x[j]          for G in r, u
    r = sigma(z_r)     u = sigma(z_u)
    z_c[p] = b_c[p] + sum_q W_c[p, q] r[q] h_prev[q] + sum_j U_c[p, j] x[j]     c = tanh(z_c)
    h[p] = u[p] c[p] + (1 - u[p]) h_prev[p]

* **Where the reset gate acts: before the recurrent matrix product.**  It scales the old state element-wise,
  and the candidate's weights then read the scaled state: ``W_c (r * h_prev)``.
* **Which gate weights the old state: ``1 - u``.**  The update gate ``u`` weights the new candidate ``c``.

What the references print:

* Cho et al. (2014), eqs. (5)-(8), the paper that introduced the unit: the reset gate also acts before the
  product, ``h~ = phi(W x + U (r * h_prev))`` (eq. 8), but their update gate weights the *old* state,
  ``h = z h_prev + (1 - z) h~`` (eq. 7).  So ``z = 1 - u``; they write no biases.
* Goodfellow et al. (2016), eq. (10.45): the gate on the old state too, ``h = u' h_prev + (1 - u') sigma(...)``,
  with ``u' = 1 - u`` (:func:`goodfellow_form`).
* ``torch.nn.GRUCell`` (PyTorch's documented equations)::

      r = sigma(W_ir x + b_ir + W_hr h + b_hr)
      z = sigma(W_iz x + b_iz + W_hz h + b_hz)
      n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
      h' = (1 - z) * n + z * h

  Its update gate weights the old state, as in Cho et al., but its reset gate acts *after* the product:
  ``r * (W_hn h + b_hn)``.

The mapping to ``torch.nn.GRUCell`` (:func:`to_torch_gru_cell`):

* reset gate, the same gate: ``W_ir = U_r``, ``W_hr = W_r``, ``b_ir = b_r``, ``b_hr = 0``;
* update gate, ``z = 1 - u = sigma(-z_u)``: ``W_iz = -U_u``, ``W_hz = -W_u``, ``b_iz = -b_u``, ``b_hz = 0``;
* candidate: ``W_in = U_c``, ``b_in = b_c``, ``W_hn = W_c``, ``b_hn = 0``.

The gates map exactly for any weights.  The candidate maps exactly only when ``W_c`` is diagonal, because
``r * (W h) = W (r * h)`` for every ``r`` and ``h`` only for a diagonal ``W``; for a full ``W_c`` the two cells
compute different functions with these weights.  torch's ``weight_ih`` stacks ``[W_ir; W_iz; W_in]`` and
``weight_hh`` stacks ``[W_hr; W_hz; W_hn]`` (rows r, z, n), the biases likewise.
"""

import numpy as np
import sympy as sp

from ..numerics import gated_random_params

from .activations import sigmoid
from .calculus import INDEX, derivative_form, gate_parameter_gradients, normal_form, pullback
from .model import Define, StepEquations

n_in, n_hid = sp.symbols("n_in n_hid", integer=True, positive=True)
SIZES = (n_in, n_hid)
p, q, j = sp.symbols("p q j", **INDEX)

GATES = ("r", "u", "c")  #: reset gate, update gate, candidate
SHAPES = {"x": (n_in,), "h_prev": (n_hid,), "h": (n_hid,), "y": (n_hid,)}
for _G in GATES:
    SHAPES.update({f"W_{_G}": (n_hid, n_hid), f"U_{_G}": (n_hid, n_in), f"b_{_G}": (n_hid,), f"z_{_G}": (n_hid,),
                   _G: (n_hid,)})
SHAPES.update({"d_" + name: shape for name, shape in list(SHAPES.items())})
X = {name: sp.IndexedBase(name) for name in SHAPES}
PARAMS = tuple(f"{kind}_{G}" for G in GATES for kind in ("W", "U", "b"))


def concrete_sizes(n_in_, n_hid_):
    return dict(zip(SIZES, (n_in_, n_hid_)))


def forward_statements():
    st = []
    for G in ("r", "u"):
        st.append(Define(X[f"z_{G}"][p], X[f"b_{G}"][p] + sp.Sum(X[f"W_{G}"][p, q] * X["h_prev"][q], (q, 0, n_hid - 1))
                         + sp.Sum(X[f"U_{G}"][p, j] * X["x"][j], (j, 0, n_in - 1))))
        st.append(Define(X[G][p], sigmoid(X[f"z_{G}"][p])))
    st.append(Define(X["z_c"][p], X["b_c"][p] + sp.Sum(X["W_c"][p, q] * X["r"][q] * X["h_prev"][q], (q, 0, n_hid - 1))
                     + sp.Sum(X["U_c"][p, j] * X["x"][j], (j, 0, n_in - 1))))
    st.append(Define(X["c"][p], sp.tanh(X["z_c"][p])))
    st.append(Define(X["h"][p], X["u"][p] * X["c"][p] + (1 - X["u"][p]) * X["h_prev"][p]))
    return st


def goodfellow_form():
    """Goodfellow et al.'s GRU update (eq. 10.45) h = u' h_prev + (1 - u') c, the gate u' on the old state
    (candidate squashed by tanh here), as an expression."""
    u_keep = sp.IndexedBase("u_keep")
    return u_keep[p] * X["h_prev"][p] + (1 - u_keep[p]) * X["c"][p], u_keep


def backward_derivations():
    """Every adjoint of one GRU BPTT step.  ``d_h`` is the total dL/dh(t) (the loss's share plus ``d_h_prev`` of
    step t+1); ``d_h_prev`` is everything this step sends back to h(t-1): directly through (1 - u) and through
    the three net inputs."""
    fw = {st.target: st for st in forward_statements()}
    act = {sigmoid(X["z_r"][p]): X["r"][p], sigmoid(X["z_u"][p]): X["u"][p], sp.tanh(X["z_c"][p]): X["c"][p]}
    d = {}
    d["d_u"] = (X["d_u"][p], pullback(X["u"][p], [(X["d_h"], fw["h"])], SHAPES))
    d["d_c"] = (X["d_c"][p], pullback(X["c"][p], [(X["d_h"], fw["h"])], SHAPES))
    d["d_z_c"] = (X["d_z_c"][p], derivative_form(pullback(X["z_c"][p], [(X["d_c"], fw["c"])], SHAPES), act))
    d["d_z_u"] = (X["d_z_u"][p], derivative_form(pullback(X["z_u"][p], [(X["d_u"], fw["u"])], SHAPES), act))
    d["d_r"] = (X["d_r"][q], pullback(X["r"][q], [(X["d_z_c"], fw["z_c"])], SHAPES))
    d["d_z_r"] = (X["d_z_r"][p], derivative_form(pullback(X["z_r"][p], [(X["d_r"], fw["r"])], SHAPES), act))
    uses = [(X["d_h"], fw["h"])] + [(X[f"d_z_{G}"], fw[f"z_{G}"]) for G in GATES]
    d["d_h_prev"] = (X["d_h_prev"][q], pullback(X["h_prev"][q], uses, SHAPES))
    d["d_x"] = (X["d_x"][j], pullback(X["x"][j], [(X[f"d_z_{G}"], fw[f"z_{G}"]) for G in GATES], SHAPES))
    d.update(gate_parameter_gradients(X, GATES, fw, SHAPES))
    return d


def forward_kernel():
    eqs = StepEquations("gru_forward_step", ("x", "h_prev") + PARAMS,
                        doc="One step of B GRUs (reset gate r, update gate u, candidate c = tanh(.), "
                            "h = u * c + (1 - u) * h_prev).")
    eqs.statements = forward_statements()
    eqs.outputs = tuple(st.target for st in eqs.statements)
    return eqs


BACKWARD_INPUTS = ("d_h", "x", "h_prev", "r", "u", "c") + tuple(f"{kind}_{G}" for G in GATES for kind in ("W", "U"))


def backward_kernel(derivations=None, name="gru_backward_step"):
    doc = ("One BPTT step of B GRUs, derived with SymPy.\n\n    ``d_h`` is the total dL/dh(t); "
           "``d_h_prev`` is what this step sends back to h(t-1).")
    return StepEquations.from_derivations(name, BACKWARD_INPUTS, derivations or backward_derivations(), doc)


def kernels():
    return [forward_kernel(), backward_kernel()]


def run(params, xs, h0, forward_step):
    steps, h_prev = [], h0
    for x in xs:
        out = forward_step(x, h_prev, *(params[k] for k in PARAMS))
        out.update(x=x, h_prev=h_prev)
        steps.append(out)
        h_prev = out["h"]
    return steps


def sequence_loss(steps, ys):
    return sum(0.5 * np.sum((st["h"] - y) ** 2, axis=-1) for st, y in zip(steps, ys))


def bptt(params, steps, ys, backward_step):
    grads = {k: np.zeros_like(v) for k, v in params.items()}
    d_h_rec = np.zeros_like(steps[-1]["h"])
    for st, y in zip(reversed(steps), reversed(ys)):
        out = backward_step((st["h"] - y) + d_h_rec, st["x"], st["h_prev"], st["r"], st["u"], st["c"],
                            *(params[f"{kind}_{G}"] for G in GATES for kind in ("W", "U")))
        for k in PARAMS:
            grads[k] += out["d_" + k]
        d_h_rec = out["d_h_prev"]
    return grads


def random_params(rng, batch, n_in_, n_hid_, scale=0.5):
    return gated_random_params(rng, GATES, batch, n_in_, n_hid_, scale)


def to_torch_gru_cell(params, check=True):
    """The parameters of ``torch.nn.GRUCell`` that compute this module's GRU (see the module docstring).

    ``params``: this module's parameters, batched (leading axis B).  Returns ``weight_ih`` (B, 3 n_hid, n_in),
    ``weight_hh`` (B, 3 n_hid, n_hid), ``bias_ih`` and ``bias_hh`` (B, 3 n_hid), rows in torch's order r, z, n.
    The map is exact only for a diagonal ``W_c``; ``check=True`` refuses any other.
    """
    W_c = params["W_c"]
    if check and np.any(W_c * (1 - np.eye(W_c.shape[-1])) != 0):
        raise ValueError("to_torch_gru_cell: W_c is not diagonal, and torch's GRUCell applies the reset gate after "
                         "the recurrent product, so no torch weights give the same candidate")
    zeros = np.zeros_like(params["b_r"])
    return {
        "weight_ih": np.concatenate([params["U_r"], -params["U_u"], params["U_c"]], axis=-2),
        "weight_hh": np.concatenate([params["W_r"], -params["W_u"], W_c], axis=-2),
        "bias_ih": np.concatenate([params["b_r"], -params["b_u"], params["b_c"]], axis=-1),
        "bias_hh": np.concatenate([zeros, zeros, zeros], axis=-1),
    }


__all__ = ["forward_statements", "backward_derivations", "goodfellow_form", "kernels", "normal_form",
           "to_torch_gru_cell"]
