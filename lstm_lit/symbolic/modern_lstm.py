"""The modern LSTM (sigma/tanh gates, h = o * tanh(s)), its BPTT step derived in SymPy, and the bridge to the paper.

One step (index form, one network, 0-based; ``p, q`` hidden units, ``j`` inputs)::

    z_G[p] = b_G[p] + sum_q W_G[p, q] h_prev[q] + sum_j U_G[p, j] x[j]        for G in f, i, g, o
    f = sigma(z_f)   i = sigma(z_i)   g = tanh(z_g)   o = sigma(z_o)
    s[p] = f[p] s_prev[p] + i[p] g[p]          h[p] = o[p] tanh(s[p])

The backward step is derived with :func:`lstm_lit.symbolic.calculus.pullback`.  Its inputs are ``d_h`` (the *total*
gradient of the loss with respect to h(t): the loss's own share plus what the step t+1 sends back through its
gates, ``d_h_prev`` of that step) and ``d_s_next``, ``f_next`` (the gradient at s(t+1) and the forget gate of
step t+1).  The error at s(t) arrives from h(t) and, through the forget gate, from s(t+1).

The bridge to Gers et al. (2000): their truncated RTRL gradient drops every path through the recurrent inputs
x~(tau).  :func:`paper_tangent` derives the forward-mode (RTRL) tangent of one step of the paper's LSTM with and
without the x~ terms; :func:`paper_gradients` and :func:`paper_path_term` compute the full gradient, the truncated
gradient and the part carried by the paths through x~ for a small paper network, all by central finite differences
of the generated ``forward_step``.
"""

import numpy as np
import sympy as sp

from ..numerics import central_differences, gated_random_params
from . import model
from .activations import sigmoid
from .calculus import INDEX, derivative_form, gate_parameter_gradients, fresh_bound, normal_form, pullback, shift, substitute_array
from .evaluate import sigmoid_numpy
from .model import Define, StepEquations

n_in, n_hid = sp.symbols("n_in n_hid", integer=True, positive=True)
SIZES = (n_in, n_hid)
p, q, j = sp.symbols("p q j", **INDEX)

GATES = ("f", "i", "g", "o")  #: forget gate, input gate, candidate (cell input), output gate
ACTIVATION = {"f": sigmoid, "i": sigmoid, "g": sp.tanh, "o": sigmoid}

SHAPES = {"x": (n_in,), "h_prev": (n_hid,), "s_prev": (n_hid,), "s": (n_hid,), "h": (n_hid,), "y": (n_hid,),
          "s_next": (n_hid,)}
for _G in GATES:
    SHAPES.update({f"W_{_G}": (n_hid, n_hid), f"U_{_G}": (n_hid, n_in), f"b_{_G}": (n_hid,), f"z_{_G}": (n_hid,),
                   _G: (n_hid,), f"{_G}_next": (n_hid,)})
SHAPES.update({"d_" + name: shape for name, shape in list(SHAPES.items())})
X = {name: sp.IndexedBase(name) for name in SHAPES}
PARAMS = tuple(f"{kind}_{G}" for G in GATES for kind in ("W", "U", "b"))


def concrete_sizes(n_in_, n_hid_):
    return dict(zip(SIZES, (n_in_, n_hid_)))


def net_input(G, recurrent="h_prev"):
    """z_G[p] = b_G[p] + sum_q W_G[p, q] h_prev[q] + sum_j U_G[p, j] x[j]."""
    return (X[f"b_{G}"][p] + sp.Sum(X[f"W_{G}"][p, q] * X[recurrent][q], (q, 0, n_hid - 1))
            + sp.Sum(X[f"U_{G}"][p, j] * X["x"][j], (j, 0, n_in - 1)))


def forward_statements(output="o*tanh(s)"):
    """One step of the modern LSTM.  ``output="s*o"`` builds the wiki page's second definition h = s * o instead."""
    st = []
    for G in GATES:
        st.append(Define(X[f"z_{G}"][p], net_input(G)))
        st.append(Define(X[G][p], ACTIVATION[G](X[f"z_{G}"][p])))
    st.append(Define(X["s"][p], X["f"][p] * X["s_prev"][p] + X["i"][p] * X["g"][p]))
    h_rhs = {"o*tanh(s)": X["o"][p] * sp.tanh(X["s"][p]), "s*o": X["s"][p] * X["o"][p]}[output]
    st.append(Define(X["h"][p], h_rhs))
    return st


def backward_derivations(output="o*tanh(s)"):
    """Every adjoint of one BPTT step, derived by the chain rule; ``{name: (lhs, rhs)}`` in computing order."""
    fw = {st.target: st for st in forward_statements(output)}
    s_next = shift(fw["s"], arrays=("s", "f", "i", "g"))  # s(t+1) = f(t+1) s(t) + i(t+1) g(t+1)
    act = {sigmoid(X[f"z_{G}"][p]): X[G][p] for G in ("f", "i", "o")}
    act[sp.tanh(X["z_g"][p])] = X["g"][p]
    d = {}
    d["d_s"] = (X["d_s"][p], pullback(X["s"][p], [(X["d_h"], fw["h"]), (X["d_s_next"], s_next)], SHAPES))
    d["d_o"] = (X["d_o"][p], pullback(X["o"][p], [(X["d_h"], fw["h"])], SHAPES))
    for G in ("f", "i", "g"):
        d[f"d_{G}"] = (X[f"d_{G}"][p], pullback(X[G][p], [(X["d_s"], fw["s"])], SHAPES))
    for G in GATES:
        rhs = pullback(X[f"z_{G}"][p], [(X[f"d_{G}"], fw[G])], SHAPES)
        d[f"d_z_{G}"] = (X[f"d_z_{G}"][p], derivative_form(rhs, act))
    uses = [(X[f"d_z_{G}"], fw[f"z_{G}"]) for G in GATES]
    d["d_h_prev"] = (X["d_h_prev"][q], pullback(X["h_prev"][q], uses, SHAPES))
    d["d_x"] = (X["d_x"][j], pullback(X["x"][j], uses, SHAPES))
    d.update(gate_parameter_gradients(X, GATES, fw, SHAPES))
    return d


# --- what the wiki page prints, in index form ---------------------------------------------------------------
def wiki_state_error_rows12():
    """The wiki page's dL(t)/ds(t), rows 1-2: dL(t)/dh(t) dh(t)/ds(t) + dL(t+1)/dh(t+1) dh(t+1)/ds(t), on the page's own
    model h = s * o (so dh(t)/ds(t) = o(t), and h(t+1) = s(t+1) o(t+1) with s(t+1) = f(t+1) s(t) + ...)."""
    return X["d_h"][p] * X["o"][p] + sp.IndexedBase("d_h_next")[p] * X["o_next"][p] * X["f_next"][p]


def state_error_two_steps(output="s*o"):
    """The derived dL/ds(t) with dL/ds(t+1) written out once more (same recursion one step later)."""
    d_s = backward_derivations(output)["d_s"][1]
    later = d_s.xreplace({X["d_h"]: sp.IndexedBase("d_h_next"), X["o"]: X["o_next"], X["s"]: X["s_next"],
                          X["d_s_next"]: sp.IndexedBase("d_s_next2"), X["f_next"]: sp.IndexedBase("f_next2")})
    return normal_form(d_s.xreplace({X["d_s_next"][p]: later}))


# --- the gradient notes' sum over paths, checked on a scalar LSTM unrolled over a few steps ---------------------------
def scalar_lstm(T, w_o_recurrent=True, initial_state=True):
    """A one-unit modern LSTM unrolled over T steps with symbolic weights; returns a dict of its pieces.

    ``E[k] = 1/2 (s_k - y_k)^2``; ``c`` is the cell state (the notes' C), ``s`` the output h (the notes' s).
    ``w_o_recurrent=False`` removes the output gate's recurrent weight (its gate then reads x only);
    ``initial_state=False`` starts from c_{-1} = s_{-1} = 0 instead of the symbols c_init, s_init."""
    names = "w_f u_f b_f w_i u_i b_i w_g u_g b_g w_o u_o b_o"
    sym = dict(zip(names.split(), sp.symbols(names)))
    if not w_o_recurrent:
        sym["w_o"] = sp.Integer(0)
    if initial_state:
        sym["c_init"], sym["s_init"] = sp.symbols("c_init s_init")
    else:
        sym["c_init"], sym["s_init"] = sp.Integer(0), sp.Integer(0)
    xs, ys = sp.symbols(f"x0:{T}"), sp.symbols(f"y0:{T}")
    c, s = [sym["c_init"]], [sym["s_init"]]
    parts = []
    for t in range(T):
        def net(G):
            return sym[f"w_{G}"] * s[-1] + sym[f"u_{G}"] * xs[t] + sym[f"b_{G}"]
        f, i, g, o = sigmoid(net("f")), sigmoid(net("i")), sp.tanh(net("g")), sigmoid(net("o"))
        c.append(f * c[-1] + i * g)
        s.append(o * sp.tanh(c[-1]))
        parts.append((f, i, g, o))
    E = [sp.Rational(1, 2) * (s[k + 1] - ys[k]) ** 2 for k in range(T)]
    return {"sym": sym, "x": xs, "y": ys, "c": c[1:], "s": s[1:], "E": E}


def local_partials(net, t):
    """The gradient notes' local factors at step t, each the partial derivative with the other arguments held:
    dc_t/dc_{t-1}, dc_t/ds_{t-1}, ds_t/dc_t and dc_t/dw_f (the immediate one)."""
    sym = net["sym"]
    c_prev, s_prev = sp.symbols("c_prev s_prev")
    x = net["x"][t]

    def gate(G, act):
        return act(sym[f"w_{G}"] * s_prev + sym[f"u_{G}"] * x + sym[f"b_{G}"])

    c_t = gate("f", sigmoid) * c_prev + gate("i", sigmoid) * gate("g", sp.tanh)
    c_var = sp.Symbol("c_t")
    s_t = gate("o", sigmoid) * sp.tanh(c_var)
    at = {c_prev: net["c"][t - 1] if t > 0 else net["sym"]["c_init"],
          s_prev: net["s"][t - 1] if t > 0 else net["sym"]["s_init"]}
    return {"dc_dc": sp.diff(c_t, c_prev).subs(at), "dc_ds": sp.diff(c_t, s_prev).subs(at),
            "ds_dc": sp.diff(s_t, c_var).subs(c_var, net["c"][t]).subs(at),
            "dc_dw": sp.diff(c_t, sym["w_f"]).subs(at)}


def notes_path_sum(net, indices="corrected"):
    """The gradient notes' dF/dW_f = sum_l sum_{k>=l} dF_k/ds_k ds_k/dc_k prod_{j=l+1}^{k} (dc_j/dc_{j-1} + dc_j/ds_{j-1}
    ds_{j-1}/dc_{j-1}) dc_l/dw_f.  ``indices="printed"`` takes the formula as printed: the product up to K (the last
    step) and the last factor dc_0/dw_f for every l."""
    T = len(net["E"])
    loc = [local_partials(net, t) for t in range(T)]
    total = sp.Integer(0)
    for l in range(T):
        for k in range(l, T):
            top = T - 1 if indices == "printed" else k
            prod = sp.Integer(1)
            for jj in range(l + 1, top + 1):
                prod *= loc[jj]["dc_dc"] + loc[jj]["dc_ds"] * loc[jj - 1]["ds_dc"]
            last = loc[0]["dc_dw"] if indices == "printed" else loc[l]["dc_dw"]
            dE_ds = net["s"][k] - net["y"][k]
            total += dE_ds * loc[k]["ds_dc"] * prod * last
    return total


def random_values(net, rng):
    """Random values for every symbol of a :func:`scalar_lstm` (weights, inputs, targets, initial state)."""
    values = {v: float(rng.normal()) for _, v in sorted(net["sym"].items()) if isinstance(v, sp.Symbol)}
    values.update({x: float(rng.normal()) for x in net["x"]})
    values.update({y: float(rng.uniform(-1, 1)) for y in net["y"]})
    return values


def evaluate_at(expr, values):
    """A float from a SymPy expression of a :func:`scalar_lstm` at ``values``."""
    names = list(values)
    f = sp.lambdify(names, sp.sympify(expr), modules=[{"sigmoid": sigmoid_numpy}, "numpy"])
    return float(f(*[values[k] for k in names]))


def notes_path_check(T=3, seed=0, w_o_recurrent=True, indices="corrected", initial_state=True):
    """(exact dE/dw_f, the gradient notes' path sum) at random parameter values, as floats."""
    net = scalar_lstm(T, w_o_recurrent, initial_state)
    rng = np.random.default_rng(seed)
    values = random_values(net, rng)
    exact = sp.diff(sum(net["E"]), net["sym"]["w_f"])
    path = notes_path_sum(net, indices)
    return evaluate_at(exact, values), evaluate_at(path, values)


# --- kernels -----------------------------------------------------------------------------------------------
def forward_kernel():
    eqs = StepEquations("lstm_forward_step", ("x", "h_prev", "s_prev") + PARAMS,
                        doc="One step of B modern LSTMs (sigma gates, tanh candidate, h = o * tanh(s)).")
    eqs.statements = forward_statements()
    eqs.outputs = tuple(st.target for st in eqs.statements)
    return eqs


BACKWARD_INPUTS = ("d_h", "d_s_next", "f_next", "x", "h_prev", "s_prev", "f", "i", "g", "o", "s") + tuple(
    f"{kind}_{G}" for G in GATES for kind in ("W", "U"))


def backward_kernel(derivations=None, name="lstm_backward_step"):
    doc = ("One BPTT step of B modern LSTMs, derived with SymPy.\n\n    ``d_h`` is the total "
           "dL/dh(t); ``d_s_next``, ``f_next`` are dL/ds(t+1) and f(t+1) (zeros at the last step);"
           "\n    ``d_h_prev`` is what this step sends back to h(t-1) through its gates.")
    return StepEquations.from_derivations(name, BACKWARD_INPUTS, derivations or backward_derivations(), doc)


def kernels():
    return [forward_kernel(), backward_kernel()]


# --- a NumPy driver (loops and sums only) --------------------------------------------------------------------
def run(params, xs, h0, s0, forward_step):
    steps, h_prev, s_prev = [], h0, s0
    for x in xs:
        out = forward_step(x, h_prev, s_prev, *(params[k] for k in PARAMS))
        out.update(x=x, h_prev=h_prev, s_prev=s_prev)
        steps.append(out)
        h_prev, s_prev = out["h"], out["s"]
    return steps


def run_fixed_recurrent(params, xs, h0, s0, forward_step, recorded_h_prev):
    """The surrogate of the truncated gradient: the gates read h(t-1) from ``recorded_h_prev`` (held fixed),
    the state s is carried live."""
    steps, s_prev = [], s0
    for x, h_rec in zip(xs, recorded_h_prev):
        out = forward_step(x, h_rec, s_prev, *(params[k] for k in PARAMS))
        steps.append(out)
        s_prev = out["s"]
    return steps


def sequence_loss(steps, ys):
    """sum_t 1/2 ||h(t) - y(t)||^2 (the wiki page's Euclidean loss on the whole hidden state)."""
    return sum(0.5 * np.sum((st["h"] - y) ** 2, axis=-1) for st, y in zip(steps, ys))


def bptt(params, steps, ys, backward_step, truncate=False):
    """Gradient of :func:`sequence_loss` by BPTT.  ``truncate=True`` discards ``d_h_prev``: no error flows back
    through the recurrent input h(t-1) of the gates, only along the state (the truncated gradient)."""
    grads = {k: np.zeros_like(v) for k, v in params.items()}
    d_s_next = np.zeros_like(steps[-1]["s"])
    f_next = np.zeros_like(steps[-1]["f"])
    d_h_rec = np.zeros_like(steps[-1]["h"])
    for st, y in zip(reversed(steps), reversed(ys)):
        d_h = (st["h"] - y) + d_h_rec
        out = backward_step(d_h, d_s_next, f_next, st["x"], st["h_prev"], st["s_prev"], st["f"], st["i"],
                            st["g"], st["o"], st["s"], *(params[f"{kind}_{G}"] for G in GATES for kind in ("W", "U")))
        for k in PARAMS:
            grads[k] += out["d_" + k]
        d_s_next, f_next = out["d_s"], st["f"]
        d_h_rec = np.zeros_like(out["d_h_prev"]) if truncate else out["d_h_prev"]
    return grads


def random_params(rng, batch, n_in_, n_hid_, scale=0.5):
    return gated_random_params(rng, GATES, batch, n_in_, n_hid_, scale)


# =============================================================================================================
# The bridge to Gers et al. (2000)
# =============================================================================================================
eps = sp.Symbol("epsilon")  #: 1 keeps the paths through x~ (full gradient), 0 removes them (truncated)


def tangent_name(name):
    return "dot_" + name


def paper_tangent(forget_gates=True):
    """Forward-mode (RTRL) tangents of one step of the paper's LSTM, derived by differentiating every statement
    along a direction: each array A becomes A + tau * dot_A and d/dtau at tau = 0.

    The tangent of the recurrent input, ``dot_x_tilde``, is multiplied by ``epsilon``: epsilon = 1 is the exact
    tangent (every path), epsilon = 0 is the truncation of the paper (dz(t+1)/dx~(t) ~tr 0).  The external input
    x has no tangent.  Returns ``{target: rhs}`` for every Define of :func:`lstm_lit.symbolic.model.forward_equations`.
    """
    tau = sp.Symbol("tau")
    eqs = model.forward_equations(forget_gates)
    out = {}
    for st in eqs.statements:
        if not isinstance(st, Define):
            continue

        def moved(ix):
            name = str(ix.base.label)
            if name == "x":
                return ix
            scale = eps if name == "x_tilde" else 1
            return ix + tau * scale * sp.IndexedBase(tangent_name(name))[ix.indices]

        rhs = fresh_bound(st.rhs).replace(lambda e: isinstance(e, sp.Indexed), moved)
        out[st.target] = normal_form(sp.diff(rhs, tau).subs(tau, 0))
    return out


def paper_rtrl_rule(weight, index):
    """d s(t+1)[k, i] / d weight[index] from :func:`paper_tangent`, for epsilon = 0 (truncated) and 1 (exact).

    Only ``weight`` moves (its tangent is a Kronecker delta at ``index``); ``dot_s_prev`` is ds(t)/dweight and, for
    epsilon = 1, ``dot_x_tilde`` is dx~(t)/dweight.  Returns ``(truncated, exact)``.
    """
    tan = paper_tangent()
    moving = {"W_fg", "W_ig", "W_og", "W_c"}

    def direction(name):
        def element(*ix):
            if name != weight:
                return 0
            return sp.Mul(*[sp.KroneckerDelta(a, b) for a, b in zip(ix, index)])
        return element

    out = []
    for value in (0, 1):
        z = {}
        for gate in ("z_fg", "z_ig", "z_c"):
            expr = tan[gate].subs(eps, value)
            for w in moving:
                expr = substitute_array(expr, tangent_name(w), direction(w))
            z[gate] = expr
        y_fg = substitute_array(tan["y_fg"], "dot_z_fg", lambda *ix: z["z_fg"])
        y_ig = substitute_array(tan["y_ig"], "dot_z_ig", lambda *ix: z["z_ig"])
        s = substitute_array(tan["s"], "dot_y_fg", lambda *ix: y_fg)
        s = substitute_array(s, "dot_y_ig", lambda *ix: y_ig)
        s = substitute_array(s, "dot_z_c", lambda *ix: z["z_c"])
        out.append(s)
    return tuple(out)


def paper_recurrent_inputs(out):
    """The recurrent part of x~(t+1) from a step's outputs (everything after x and the constant 1)."""
    return np.concatenate([out[k].reshape(out[k].shape[0], -1) for k in ("y_fg", "y_ig", "y_og", "y_c")], axis=1)


PAPER_WEIGHTS = ("W_fg", "W_ig", "W_og", "W_c", "W_out")


def paper_run(weights, xs, forward_step, recorded=None, shift=None):
    """Unroll the paper's LSTM (zero initial state).  With ``recorded`` (T, B, n_rec) the recurrent inputs of every
    step are taken from it (held fixed) instead of from the previous step; ``shift`` (T, B, n_rec) is added to them
    (to differentiate with respect to the held values).  Returns the per-step outputs."""
    batch = xs.shape[1]
    n_blk, d_blk = weights["W_c"].shape[1:3]
    state = {"s_prev": np.zeros((batch, n_blk, d_blk)), "y_fg_prev": np.zeros((batch, n_blk)),
             "y_ig_prev": np.zeros((batch, n_blk)), "y_og_prev": np.zeros((batch, n_blk)),
             "y_c_prev": np.zeros((batch, n_blk, d_blk))}
    steps = []
    for t, x in enumerate(xs):
        rec = {k: state[k] for k in ("y_fg_prev", "y_ig_prev", "y_og_prev", "y_c_prev")}
        if recorded is not None:
            flat = recorded[t] + (0 if shift is None else shift[t])
            cut = np.cumsum([n_blk, n_blk, n_blk])
            rec = {"y_fg_prev": flat[:, :cut[0]], "y_ig_prev": flat[:, cut[0]:cut[1]],
                   "y_og_prev": flat[:, cut[1]:cut[2]], "y_c_prev": flat[:, cut[2]:].reshape(batch, n_blk, d_blk)}
        out = forward_step(x, state["s_prev"], rec["y_fg_prev"], rec["y_ig_prev"], rec["y_og_prev"],
                           rec["y_c_prev"], *(weights[k] for k in PAPER_WEIGHTS))
        steps.append(out)
        state = {"s_prev": out["s"], "y_fg_prev": out["y_fg"], "y_ig_prev": out["y_ig"], "y_og_prev": out["y_og"],
                 "y_c_prev": out["y_c"]}
    return steps


def paper_loss(steps, targets):
    """sum_t 1/2 ||y(t+1) - target(t)||^2, the paper's squared error summed over the sequence."""
    return sum(0.5 * np.sum((st["y"] - tg) ** 2, axis=-1) for st, tg in zip(steps, targets))


def paper_gradients(weights, xs, targets, forward_step, step=1e-6):
    """Full gradient, truncated gradient and the two factors of the x~ paths, all by central differences.

    Returns ``full``, ``truncated`` (dicts like ``weights``), ``dL_dxi`` (T, n_rec: gradient of the surrogate
    loss with respect to the held recurrent inputs) and ``dxi_dw`` ({weight: (T, n_rec) + weight shape}: how the
    live recurrent inputs move with each weight), for a network with batch axis 1.
    """
    base = paper_run(weights, xs, forward_step)
    recorded = np.stack([np.zeros_like(paper_recurrent_inputs(base[0]))]
                        + [paper_recurrent_inputs(st) for st in base[:-1]])  # x~(t) feeds step t
    T, _, n_rec = recorded.shape

    def rep(a, n):
        return np.repeat(a, n, axis=1)

    def full(w):
        n = w["W_out"].shape[0]
        return paper_loss(paper_run(w, rep(xs, n), forward_step), rep(targets, n))

    def truncated(w):
        n = w["W_out"].shape[0]
        return paper_loss(paper_run(w, rep(xs, n), forward_step, recorded=rep(recorded, n)), rep(targets, n))

    g_full = central_differences(full, weights, step)
    g_trunc = central_differences(truncated, weights, step)
    # d L_surrogate / d xi(t): perturb the held values, one copy per perturbation
    shifts = np.zeros((T, 2 * T * n_rec, n_rec))
    for t in range(T):
        for e in range(n_rec):
            shifts[t, 2 * (t * n_rec + e), e] = step
            shifts[t, 2 * (t * n_rec + e) + 1, e] = -step
    n = 2 * T * n_rec
    w_rep = {k: np.repeat(v, n, axis=0) for k, v in weights.items()}
    vals = paper_loss(paper_run(w_rep, rep(xs, n), forward_step, recorded=rep(recorded, n), shift=shifts),
                      rep(targets, n))
    dL_dxi = ((vals[0::2] - vals[1::2]) / (2 * step)).reshape(T, n_rec)
    # d xi(t) / d w on the full network
    dxi_dw = {}
    for k, v in weights.items():
        size = v[0].size
        w_rep = {kk: np.repeat(vv, 2 * size, axis=0) for kk, vv in weights.items()}
        flat = w_rep[k].reshape(2 * size, -1)
        for e in range(size):
            flat[2 * e, e] += step
            flat[2 * e + 1, e] -= step
        steps = paper_run(w_rep, rep(xs, 2 * size), forward_step)
        xi = np.stack([np.zeros((2 * size, n_rec))] + [paper_recurrent_inputs(st) for st in steps[:-1]])
        dxi_dw[k] = ((xi[:, 0::2] - xi[:, 1::2]) / (2 * step)).transpose(0, 2, 1).reshape((T, n_rec) + v.shape[1:])
    return {"full": g_full, "truncated": g_trunc, "dL_dxi": dL_dxi, "dxi_dw": dxi_dw}


def paper_path_term(grads):
    """sum_t sum_e dL_sur/dxi_e(t) * dxi_e(t)/dw: the gradient carried by the paths through x~."""
    return {k: np.einsum("te,te...->...", grads["dL_dxi"], v)[None] for k, v in grads["dxi_dw"].items()}


def paper_random_weights(rng, d_in, n_blk, d_blk, d_out, scale=0.5):
    from lstm_lit.connectivity import weight_shapes

    return {k: scale * rng.normal(size=(1,) + shape) for k, shape in weight_shapes(d_in, n_blk, d_blk, d_out,
                                                                                   forget_gates=True).items()}
