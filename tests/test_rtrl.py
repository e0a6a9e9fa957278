"""Truncated RTRL: the derivation against the published forms, the generated kernels against SymPy, and the
gradient against finite differences of the frozen-recurrence surrogate.  Every check has a broken twin."""

import dataclasses
import functools
import importlib.util

import numpy as np
import pytest
import sympy as sp

from helpers import CERG_SIZES, SIZES, max_deviation
from lstm_lit import codegen
from lstm_lit.generated import rtrl as generated
from lstm_lit.network import LSTMNetwork
from lstm_lit.symbolic import model, rtrl
from lstm_lit.symbolic.calculus import index_form_equal, registry_shapes
from lstm_lit.symbolic.evaluate import concrete_sizes

# --- the derivation in general index form ----------------------------------------------------------------
TRACE_CASES = [("W_fg", True), ("W_ig", True), ("W_c", True), ("W_ig", False), ("W_c", False)]


@pytest.mark.parametrize("weight,forget_gates", TRACE_CASES)
def test_trace_recursion_derived_equals_printed(weight, forget_gates):
    derived = rtrl.reduced_trace_update(weight, forget_gates)
    assert index_form_equal(derived, rtrl.printed_trace_update(weight, forget_gates), registry_shapes(forget_gates))


def test_trace_recursion_broken_twin():
    """Without the forget gate's factor on the old trace (the 1997 recursion inside the forget-gate net) it must fail."""
    derived = rtrl.reduced_trace_update("W_ig", True)
    broken = rtrl.printed_trace_update("W_ig", True).subs(model.A["y_fg"][model.k] * rtrl.reduced_trace("W_ig")[model.k, model.i, model.q],
                                                          rtrl.reduced_trace("W_ig")[model.k, model.i, model.q])
    assert not index_form_equal(derived, broken, registry_shapes(True))


def test_output_gate_trace_stays_zero():
    """d s/d W^og has no source term: started at zero, it stays zero -- why (12) needs no trace."""
    d = rtrl.state_derivative("W_og")
    assert d.subs(rtrl.full_trace("W_og")[model.k, model.i, model.p, model.q], 0) == 0


@pytest.mark.parametrize("weight", ["W_out", "W_og", "W_fg", "W_ig", "W_c"])
def test_gradient_derived_equals_printed_and_generated(weight):
    derived = rtrl.gradient(weight)
    printed = rtrl.printed_output_gradient() if weight == "W_out" else rtrl.printed_gradient(weight)
    assert index_form_equal(derived, printed, registry_shapes(True))
    assert index_form_equal(derived, rtrl.kernel_gradient(weight), registry_shapes(True))


def test_gradient_broken_twin():
    """(14) without its output-gate factor must not be the derived gradient."""
    printed = rtrl.printed_gradient("W_ig")
    assert index_form_equal(rtrl.gradient("W_ig"), printed, registry_shapes(True))
    assert not index_form_equal(rtrl.gradient("W_ig"), printed / model.A["y_og"][model.p], registry_shapes(True))


def test_truncation_drops_exactly_the_recurrent_paths():
    """Without rule (10) the state derivative gains terms, each carrying d x~(t)/dW."""
    extra = rtrl.untruncated_extra_terms("W_fg")
    assert extra != 0
    dx = rtrl.dx_tilde("W_fg")
    for term in sp.Add.make_args(sp.expand(extra)):
        assert term.has(dx)


# --- generated kernels against SymPy's evaluation ----------------------------------------------------------
def _random_rtrl_inputs(rng, sizes, batch, forget_gates):
    d_in, n_blk, d_blk, d_out = sizes
    n_src = int(model.n_src(forget_gates).subs(concrete_sizes(*sizes)))
    n_osrc = d_in + 1 + n_blk * d_blk
    v = {
        "x_tilde": rng.normal(size=(batch, n_src)), "s_prev": rng.normal(size=(batch, n_blk, d_blk)),
        "y_fg": rng.random((batch, n_blk)), "y_ig": rng.random((batch, n_blk)), "y_og": rng.random((batch, n_blk)),
        "z_c": rng.normal(size=(batch, n_blk, d_blk)), "s": rng.normal(size=(batch, n_blk, d_blk)),
        "y": rng.random((batch, d_out)), "target": rng.integers(0, 2, (batch, d_out)).astype(float),
        "x_out": rng.normal(size=(batch, n_osrc)), "W_out": rng.normal(size=(batch, d_out, n_osrc)),
    }
    for e in ("e_fg", "e_ig", "e_c"):
        v[e] = rng.normal(size=(batch, n_blk, d_blk, n_src))
        v[e + "_next"] = rng.normal(size=(batch, n_blk, d_blk, n_src))
    v["state_decay"] = 0.9
    v["learning_rate"] = rng.random(batch)
    from lstm_lit.connectivity import weight_shapes
    for w, shape in weight_shapes(*sizes, forget_gates=forget_gates).items():
        v[w] = rng.normal(size=(batch,) + shape)
        v["grad_" + w] = rng.normal(size=(batch,) + shape)
        v["mask_" + w] = rng.integers(0, 2, size=shape).astype(float)
    return v


KERNELS = [(rtrl.trace_equations, True, generated.trace_step), (rtrl.trace_equations, False, generated.trace_step_1997),
           (rtrl.gradient_equations, True, generated.gradients), (rtrl.gradient_equations, False, generated.gradients_1997),
           (rtrl.update_equations, True, generated.update), (rtrl.update_equations, False, generated.update_1997)]


@pytest.mark.parametrize("sizes,batch", [(SIZES[0], 3), (SIZES[1], 1), (CERG_SIZES, 2)])
@pytest.mark.parametrize("make,forget_gates,function", KERNELS)
def test_generated_rtrl_matches_sympy(make, forget_gates, function, sizes, batch):
    vals = _random_rtrl_inputs(np.random.default_rng(11), sizes, batch, forget_gates)
    assert max_deviation(make(forget_gates), function, sizes, vals) < 1e-12


@functools.lru_cache(maxsize=None)
def _trace_equations(forget_gates):
    return rtrl.trace_equations(forget_gates)


def broken_trace_kernel(tmp_path, target, factor=sp.Rational(101, 100)):
    """The generated trace_step with the statement for ``target`` (e.g. ``e_fg_next``) multiplied by ``factor``.
    Returns (intact equations, broken equations, broken module)."""
    good = _trace_equations(True)
    broken = dataclasses.replace(good, statements=list(good.statements))
    at = next(n for n, st in enumerate(broken.statements) if st.target == target)
    st = broken.statements[at]
    broken.statements[at] = model.Define(st.lhs, st.rhs * factor, st.label)
    path = tmp_path / f"broken_{target}.py"
    path.write_text(codegen.module_source("broken", [broken]))
    spec = importlib.util.spec_from_file_location(f"broken_{target}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return good, broken, mod


def test_generated_rtrl_broken_twin(tmp_path):
    good, _, mod = broken_trace_kernel(tmp_path, "src_fg")
    vals = _random_rtrl_inputs(np.random.default_rng(12), SIZES[0], 2, True)
    assert max_deviation(good, mod.trace_step, SIZES[0], vals) > 1e-6


# --- the truncated gradient is the exact gradient of the frozen-recurrence surrogate ------------------------
def _sig(z):
    return 1.0 / (1.0 + np.exp(-z))


def surrogate_loss(W, xs, x_tildes, target, forget_gates=True):
    """L(T) of a network whose recurrent inputs x~(t) are frozen at recorded values; W arrays carry a leading
    axis of independent weight settings.  Written from the equations, independent of the generated code."""
    P = W["W_ig"].shape[0]
    n_blk, d_blk = W["W_c"].shape[1:3]
    s = np.zeros((P, n_blk, d_blk))
    for t in range(len(xs)):
        xt = x_tildes[t]
        y_ig = _sig(np.einsum("pkj,j->pk", W["W_ig"], xt))
        y_og = _sig(np.einsum("pkj,j->pk", W["W_og"], xt))
        keep = _sig(np.einsum("pkj,j->pk", W["W_fg"], xt)) if forget_gates else np.ones_like(y_ig)
        s = keep[:, :, None] * s + y_ig[:, :, None] * (4 * _sig(np.einsum("pkij,j->pki", W["W_c"], xt)) - 2)
        y_c = y_og[:, :, None] * (2 * _sig(s) - 1)
    x_out = np.concatenate([np.broadcast_to(np.append(xs[-1], 1.0), (P, xs.shape[1] + 1)), y_c.reshape(P, -1)], axis=1)
    y = _sig(np.einsum("pmj,pj->pm", W["W_out"], x_out))
    return 0.5 * np.sum((y - target) ** 2, axis=1)


def true_loss(W, xs, target, sizes, forget_gates=True):
    """L(T) of the real network (nothing frozen), with the weight settings as the batch."""
    P = W["W_ig"].shape[0]
    net = LSTMNetwork(*sizes, batch=P, forget_gates=forget_gates)
    net.weights = {k: v.copy() for k, v in W.items()}
    for x in xs:
        out = net.step(np.broadcast_to(x, (P, len(x))))
    return 0.5 * np.sum((out["y"] - target) ** 2, axis=1)


def central_differences(loss, W, masks, eps=1e-6):
    """d loss / dW for every unmasked weight by central differences, all perturbations in one batch."""
    entries = [(n, ix) for n in W for ix in zip(*np.nonzero(masks[n]))]
    batch = {n: np.repeat(W[n][None], 2 * len(entries), axis=0) for n in W}
    for e, (n, ix) in enumerate(entries):
        batch[n][(2 * e,) + ix] += eps
        batch[n][(2 * e + 1,) + ix] -= eps
    values = loss(batch)
    grads = {n: np.zeros_like(W[n]) for n in W}
    for e, (n, ix) in enumerate(entries):
        grads[n][ix] = (values[2 * e] - values[2 * e + 1]) / (2 * eps)
    return grads


def _run(sizes, connectivity, forget_bias, T=25, seed=0, forget_gates=True, grads_fn=None):
    rng = np.random.default_rng(seed)
    net = LSTMNetwork(*sizes, batch=1, forget_gates=forget_gates, connectivity=connectivity)
    for name, shape in net.shapes.items():
        net.weights[name] = rng.uniform(-0.5, 0.5, size=(1,) + shape) * net.masks[name]
    if forget_gates:
        net.weights["W_fg"] *= 0.1
        net.weights["W_fg"][0, :, sizes[0]] = forget_bias
    xs = np.eye(sizes[0])[rng.integers(0, sizes[0], T)]
    target = rng.integers(0, 2, sizes[3]).astype(float)
    x_tildes = []
    for x in xs:
        out = net.step(x[None])
        x_tildes.append(out["x_tilde"][0].copy())
    grads = (grads_fn or net.gradients)(target[None])
    W0 = {k: v[0].copy() for k, v in net.weights.items()}
    return net, W0, xs, np.array(x_tildes), target, {k[5:]: v[0] for k, v in grads.items() if k.startswith("grad_")}


def _rel_error(a, b):
    num = max(float(np.max(np.abs(a[n] - b[n]))) for n in a)
    den = max(float(np.max(np.abs(b[n]))) for n in b)
    return num / den


FD_CASES = [(SIZES[0], "full", 6.0), (SIZES[0], "full", -4.0), (CERG_SIZES, "cerg", 6.0), (CERG_SIZES, "cerg", -4.0),
            ((2, 1, 3, 2), "full", 1.0)]


@pytest.mark.parametrize("sizes,connectivity,forget_bias", FD_CASES)
def test_truncated_gradient_is_surrogate_gradient(sizes, connectivity, forget_bias):
    net, W0, xs, x_tildes, target, grads = _run(sizes, connectivity, forget_bias)
    fd = central_differences(lambda W: surrogate_loss(W, xs, x_tildes, target), W0, net.masks)
    masked = {n: grads[n] * net.masks[n] for n in grads}
    assert _rel_error(fd, masked) <= 1e-6


def test_truncated_gradient_1997_is_surrogate_gradient():
    net, W0, xs, x_tildes, target, grads = _run(SIZES[0], "full", None, forget_gates=False)
    fd = central_differences(lambda W: surrogate_loss(W, xs, x_tildes, target, forget_gates=False), W0, net.masks)
    assert _rel_error(fd, grads) <= 1e-6


def test_surrogate_check_broken_twin(tmp_path, monkeypatch):
    """The W^fg trace update off by 1% (e_fg(t+1) scaled by 1.01 in the generated trace_step that the network runs)
    must fail the finite-difference check on W^fg, and only there."""
    sizes = SIZES[0]
    net, W0, xs, x_tildes, target, grads = _run(sizes, "full", 6.0)
    fd = central_differences(lambda W: surrogate_loss(W, xs, x_tildes, target), W0, net.masks)
    assert _rel_error(fd, grads) <= 1e-6
    _, _, mod = broken_trace_kernel(tmp_path, "e_fg_next")
    monkeypatch.setattr(generated, "trace_step", mod.trace_step)
    net_b, W0_b, _, _, _, broken = _run(sizes, "full", 6.0)
    assert all(np.array_equal(W0[n], W0_b[n]) for n in W0)  # the same network and inputs; only the traces differ
    assert _rel_error({"W_fg": fd["W_fg"]}, {"W_fg": broken["W_fg"]}) > 1e-3
    assert _rel_error(fd, broken) > 1e-6
    others = [n for n in fd if n != "W_fg"]
    assert _rel_error({n: fd[n] for n in others}, {n: broken[n] for n in others}) <= 1e-6


def test_full_gradient_differs_from_truncated():
    sizes = SIZES[0]
    net, W0, xs, x_tildes, target, grads = _run(sizes, "full", 1.0)
    full = central_differences(lambda W: true_loss(W, xs, target, sizes), W0, net.masks)
    surrogate = central_differences(lambda W: surrogate_loss(W, xs, x_tildes, target), W0, net.masks)
    assert _rel_error(surrogate, grads) <= 1e-6
    assert _rel_error(full, grads) > 1e-3   # truncation is an approximation, not the gradient
    assert _rel_error(full, grads) < 1.0    # ... but not an unrelated one


def test_online_step_moves_every_weight_by_minus_alpha_gradient():
    rng = np.random.default_rng(5)
    net = LSTMNetwork(*CERG_SIZES, batch=3, connectivity="cerg", rng=rng)
    for _ in range(5):
        net.step(rng.normal(size=(3, 7)))  # dense inputs, so that every weight has a non-zero trace
    target = np.eye(7)[rng.integers(0, 7, 3)]
    before = {k: v.copy() for k, v in net.weights.items()}
    grads = net.gradients(target)
    alpha = np.array([0.5, 0.1, 0.0])
    net.update(target, alpha)
    changed = 0
    for name, w in net.weights.items():
        expected = before[name] - alpha.reshape((-1,) + (1,) * (w.ndim - 1)) * grads["grad_" + name] * net.masks[name]
        np.testing.assert_array_equal(w, expected)
        assert np.all(w[:, net.masks[name] == 0] == 0)
        changed += int(np.count_nonzero(w[0] != before[name][0]))
        assert np.array_equal(w[2], before[name][2])  # alpha = 0 leaves that network alone
    assert changed == net.n_weights == 424


@pytest.mark.parametrize("forget_gates", [True, False])
@pytest.mark.parametrize("connectivity", ["full", "cerg"])
def test_fused_numba_step_equals_numpy_step_and_update(forget_gates, connectivity):
    """The Numba loops (printed from the same statements) reproduce step + update over a run, to 1e-12."""
    kwargs = dict(batch=4, forget_gates=forget_gates, connectivity=connectivity,
                  state_decay=1.0 if forget_gates else 0.9)
    a = LSTMNetwork(*CERG_SIZES, **kwargs, rng=np.random.default_rng(3))
    b = LSTMNetwork(*CERG_SIZES, **kwargs, rng=np.random.default_rng(3))
    rng = np.random.default_rng(4)
    worst = 0.0
    for t in range(60):
        x, target = np.eye(7)[rng.integers(0, 7, 4)], np.eye(7)[rng.integers(0, 7, 4)]
        lr = np.array([0.5, 0.1, 0.0, 0.3])
        y_numpy = a.step(x)["y"]
        a.update(target, lr)
        y_fused = b.train_step(x, target, lr)
        worst = max(worst, float(np.abs(y_numpy - y_fused).max()))
        for d_a, d_b in ((a.weights, b.weights), (a.state, b.state), (a.traces, b.traces)):
            worst = max(worst, max(float(np.abs(d_a[n] - d_b[n]).max()) for n in d_a))
    assert worst < 1e-12
    # and the comparison can fail: one more step on one side only
    b.train_step(x, target, lr)
    assert max(float(np.abs(a.weights[n] - b.weights[n]).max()) for n in a.weights) > 1e-6
