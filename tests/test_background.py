"""Background chapters: the vanilla RNN, the modern LSTM and the GRU (derivations, generated kernels, gradients),
the sources' printed forms and slips, the stable softmax, the GRU's mapping to torch.nn.GRUCell, and the bridge to
the paper's truncated gradient.

Every check that can pass has a deliberately broken twin that must fail.
"""

import importlib.util

import numpy as np
import pytest
import sympy as sp

from lstm_lit import codegen
from lstm_lit.numerics import central_differences
from lstm_lit.generated import forward
from lstm_lit.generated import gru as g_gru
from lstm_lit.generated import modern_lstm as g_lstm
from lstm_lit.generated import rnn as g_rnn
from lstm_lit.symbolic import gru, model, modern_lstm, rnn
from lstm_lit.symbolic.model import Define
from lstm_lit.symbolic.calculus import at_sizes, normal_form, substitute_array
from lstm_lit.symbolic.calculus import index_form_equal as equal
from lstm_lit.symbolic.evaluate import evaluate


# --------------------------------------------------------------------------------------------------------------
# helpers
def _print_kernel(tmp_path, equations, name):
    """Print ``equations`` with the project's generator into a throw-away module and return the function."""
    shapes = {"rnn": rnn.SHAPES, "lstm": modern_lstm.SHAPES, "gru": gru.SHAPES}[equations.name.split("_")[0]]
    path = tmp_path / f"{name}.py"
    path.write_text(codegen.module_source("test module", [equations], shapes))
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return getattr(mod, equations.name)


def _random_inputs(rng, equations, shapes, sizes, batch):
    vals = {}
    for name in equations.inputs:
        shape = tuple(int(sp.sympify(n).subs(sizes)) for n in shapes[name])
        vals[name] = rng.uniform(-1.0, 1.0, size=(batch,) + shape)
    return vals


def _deviation_from_reference(step, equations, shapes, sizes, vals):
    """Largest |generated - SymPy reference| over every output of every network in the batch."""
    out = step(**vals)
    worst = 0.0
    for b in range(next(iter(vals.values())).shape[0]):
        ref = evaluate(equations, sizes, {k: v[b] for k, v in vals.items()}, shapes=shapes)
        for name in equations.outputs:
            worst = max(worst, float(np.max(np.abs(out[name][b] - ref[name]))))
    return worst


def _replace(equations, target, rhs):
    """A copy of ``equations`` with one statement's right-hand side replaced (a broken twin)."""
    twin = type(equations)(equations.name, equations.inputs, list(equations.statements), equations.outputs,
                           equations.scalars, equations.forget_gates, equations.doc)
    idx = next(n for n, st in enumerate(twin.statements) if st.target == target)
    assert twin.statements[idx].rhs != rhs
    twin.statements[idx] = Define(twin.statements[idx].lhs, rhs)
    return twin


def _max_diff(a, b):
    return max(float(np.max(np.abs(a[k] - b[k]))) for k in a)


# --------------------------------------------------------------------------------------------------------------
# derivations against the printed forms
R = rnn.X


def _d_a_next(ix):
    """d_a(t+1) = d_s(t+1) (1 - s(t+1)^2): the derived d_a, one step later."""
    return R["d_s_next"][ix] * (1 - R["s_next"][ix] ** 2)


def test_rnn_gradients_match_goodfellow_in_index_form():
    d = rnn.backward_derivations()
    printed = rnn.printed_forms()
    assert equal(d["d_o"][1], printed["d_o"])
    assert equal(substitute_array(d["d_a"][1], "d_s", lambda ix: R["d_s"][ix]),
                 R["d_s"][rnn.p] * (1 - R["s"][rnn.p] ** 2))
    assert equal(substitute_array(d["d_s"][1], "d_a_next", _d_a_next), printed["d_s"])
    assert equal(substitute_array(d["d_s"][1], "d_a_next", lambda ix: 0), printed["d_s_last"])
    assert equal(d["d_c"][1], printed["d_c"])
    assert equal(substitute_array(d["d_b"][1], "d_a", lambda ix: d["d_a"][1].xreplace({rnn.p: ix})),
                 printed["d_b"])
    # broken twins: the recursion without the derivative of tanh, the gradient at o without the target
    assert not equal(substitute_array(d["d_s"][1], "d_a_next", lambda ix: R["d_s_next"][ix]), printed["d_s"])
    assert not equal(d["d_o"][1], R["prob"][rnn.m])


@pytest.mark.parametrize("sizes", [(2, 3, 2), (1, 2, 3)])
def test_rnn_recursion_at_concrete_sizes(sizes):
    derived = substitute_array(rnn.backward_derivations()["d_s"][1], "d_a_next", _d_a_next)
    printed = rnn.printed_forms()["d_s"]
    conc = rnn.concrete_sizes(*sizes)
    for value in range(sizes[1]):
        difference = derived.subs(rnn.p, value) - printed.subs(rnn.p, value)
        assert at_sizes(difference, conc) == 0
    # broken twin, checked the same way: the recursion without the derivative of tanh (d_a(t+1) = d_s(t+1))
    broken = substitute_array(rnn.backward_derivations()["d_s"][1], "d_a_next", lambda ix: R["d_s_next"][ix])
    assert any(at_sizes(broken.subs(rnn.p, value) - printed.subs(rnn.p, value), conc) != 0
               for value in range(sizes[1]))


def test_goodfellow_outer_products_are_printed_without_transpose():
    shapes, outer = rnn.printed_outer_products()
    assert str(shapes["d_V"]).startswith("ShapeError")  # a 1x3 row times a 2x1 column
    assert shapes["d_W"] == (1, 1)  # a number, where a 2x2 matrix is needed
    d = rnn.backward_derivations()
    assert equal(d["d_V"][1], outer["d_V"])
    assert equal(d["d_W"][1].xreplace({R["d_a"][rnn.p]: d["d_a"][1]}), outer["d_W"])
    assert not equal(d["d_V"][1], R["d_o"][rnn.m] * R["s"][rnn.m])  # a wrong index is caught


# --------------------------------------------------------------------------------------------------------------
# generated kernels against SymPy's own evaluation of the derivations
KERNELS = {
    "rnn_forward": (rnn.forward_kernel, g_rnn.rnn_forward_step, rnn.SHAPES, rnn.concrete_sizes(2, 3, 2)),
    "rnn_backward": (rnn.backward_kernel, g_rnn.rnn_backward_step, rnn.SHAPES, rnn.concrete_sizes(2, 3, 2)),
    "lstm_forward": (modern_lstm.forward_kernel, g_lstm.lstm_forward_step, modern_lstm.SHAPES,
                     modern_lstm.concrete_sizes(2, 2)),
    "lstm_backward": (modern_lstm.backward_kernel, g_lstm.lstm_backward_step, modern_lstm.SHAPES,
                      modern_lstm.concrete_sizes(2, 2)),
    "gru_forward": (gru.forward_kernel, g_gru.gru_forward_step, gru.SHAPES, gru.concrete_sizes(2, 2)),
    "gru_backward": (gru.backward_kernel, g_gru.gru_backward_step, gru.SHAPES, gru.concrete_sizes(2, 2)),
}


@pytest.mark.parametrize("name", sorted(KERNELS))
def test_generated_kernel_matches_sympy_reference(name):
    build, step, shapes, sizes = KERNELS[name]
    eqs = build()
    vals = _random_inputs(np.random.default_rng(sorted(KERNELS).index(name)), eqs, shapes, sizes, batch=2)
    assert _deviation_from_reference(step, eqs, shapes, sizes, vals) < 1e-12


TWINS = {  # one perturbed statement per kernel: (target, how to break its right-hand side)
    "rnn_forward": ("s", lambda rhs: sp.sin(rnn.X["a"][rnn.p])),
    "rnn_backward": ("d_a", lambda rhs: rnn.X["d_s"][rnn.p]),
    "lstm_forward": ("h", lambda rhs: rhs.subs(sp.tanh(modern_lstm.X["s"][modern_lstm.p]), modern_lstm.X["s"][modern_lstm.p])),
    "lstm_backward": ("d_s", lambda rhs: rhs.subs(modern_lstm.X["f_next"][modern_lstm.p], 1)),
    "gru_forward": ("h", lambda rhs: gru.X["u"][gru.p] * gru.X["c"][gru.p]),
    "gru_backward": ("d_u", lambda rhs: gru.X["d_h"][gru.p] * gru.X["c"][gru.p]),
}


@pytest.mark.parametrize("name", sorted(TWINS))
def test_broken_twin_kernel_is_caught(tmp_path, name):
    build, _, shapes, sizes = KERNELS[name]
    good = build()
    target, breaking = TWINS[name]
    broken = _replace(good, target, breaking(good.rhs(target)))
    vals = _random_inputs(np.random.default_rng(11), good, shapes, sizes, batch=2)
    assert _deviation_from_reference(_print_kernel(tmp_path, broken, "broken_" + name), good, shapes, sizes, vals) > 1e-3
    assert _deviation_from_reference(_print_kernel(tmp_path, good, "good_" + name), good, shapes, sizes, vals) < 1e-12


# --------------------------------------------------------------------------------------------------------------
# generated BPTT against central finite differences of the generated forward pass
def _rnn_case(rng, backward_step):
    T, ni, nh, no = 5, 3, 4, 3
    params = rnn.random_params(rng, 1, ni, nh, no)
    xs = rng.normal(size=(T, 1, ni))
    ys = np.eye(no)[rng.integers(0, no, size=(T, 1))]

    def loss(p):
        n = p["W"].shape[0]
        steps = rnn.run(p, np.repeat(xs, n, 1), np.zeros((n, nh)), g_rnn.rnn_forward_step)
        return rnn.sequence_loss(steps, np.repeat(ys, n, 1))

    steps = rnn.run(params, xs, np.zeros((1, nh)), g_rnn.rnn_forward_step)
    return rnn.bptt(params, steps, ys, backward_step)[0], central_differences(loss, params)


def _lstm_case(rng, backward_step, truncate=False):
    T, ni, nh = 5, 2, 3
    params = modern_lstm.random_params(rng, 1, ni, nh)
    xs, ys = rng.normal(size=(T, 1, ni)), 0.5 * rng.normal(size=(T, 1, nh))
    zeros = lambda n: np.zeros((n, nh))  # noqa: E731
    steps = modern_lstm.run(params, xs, zeros(1), zeros(1), g_lstm.lstm_forward_step)
    recorded = [st["h_prev"] for st in steps]

    def loss(p):
        n = p["W_f"].shape[0]
        if truncate:
            out = modern_lstm.run_fixed_recurrent(p, np.repeat(xs, n, 1), None, zeros(n), g_lstm.lstm_forward_step,
                                                  [np.repeat(r, n, 0) for r in recorded])
        else:
            out = modern_lstm.run(p, np.repeat(xs, n, 1), zeros(n), zeros(n), g_lstm.lstm_forward_step)
        return modern_lstm.sequence_loss(out, np.repeat(ys, n, 1))

    return modern_lstm.bptt(params, steps, ys, backward_step, truncate), central_differences(loss, params)


def _gru_case(rng, backward_step):
    T, ni, nh = 5, 2, 3
    params = gru.random_params(rng, 1, ni, nh)
    xs, ys = rng.normal(size=(T, 1, ni)), 0.5 * rng.normal(size=(T, 1, nh))

    def loss(p):
        n = p["W_r"].shape[0]
        return gru.sequence_loss(gru.run(p, np.repeat(xs, n, 1), np.zeros((n, nh)), g_gru.gru_forward_step),
                                 np.repeat(ys, n, 1))

    steps = gru.run(params, xs, np.zeros((1, nh)), g_gru.gru_forward_step)
    return gru.bptt(params, steps, ys, backward_step), central_differences(loss, params)


def test_rnn_bptt_matches_finite_differences(tmp_path):
    assert _max_diff(*_rnn_case(np.random.default_rng(1), g_rnn.rnn_backward_step)) < 1e-7
    # broken twin: the error does not flow back through W (d_s without the recurrent term)
    good = rnn.backward_kernel()
    broken = _replace(good, "d_s", substitute_array(good.rhs("d_s"), "d_a_next", lambda ix: 0))
    assert _max_diff(*_rnn_case(np.random.default_rng(1), _print_kernel(tmp_path, broken, "rnn_broken"))) > 1e-4


def test_lstm_bptt_matches_finite_differences(tmp_path):
    assert _max_diff(*_lstm_case(np.random.default_rng(2), g_lstm.lstm_backward_step)) < 1e-7
    # broken twin = the wiki page's state recursion without the forget gate of step t+1
    good = modern_lstm.backward_kernel()
    broken = _replace(good, "d_s", good.rhs("d_s").subs(modern_lstm.X["f_next"][modern_lstm.p], 1))
    assert _max_diff(*_lstm_case(np.random.default_rng(2), _print_kernel(tmp_path, broken, "lstm_broken"))) > 1e-4


def test_gru_bptt_matches_finite_differences(tmp_path):
    assert _max_diff(*_gru_case(np.random.default_rng(3), g_gru.gru_backward_step)) < 1e-7
    good = gru.backward_kernel()
    X = gru.X
    broken = _replace(good, "d_h_prev", good.rhs("d_h_prev") - X["d_h"][gru.q] * (1 - X["u"][gru.q]))
    assert _max_diff(*_gru_case(np.random.default_rng(3), _print_kernel(tmp_path, broken, "gru_broken"))) > 1e-4


def test_lstm_truncated_bptt_is_the_gradient_of_the_fixed_recurrent_input_surrogate():
    truncated, fd_surrogate = _lstm_case(np.random.default_rng(4), g_lstm.lstm_backward_step, truncate=True)
    assert _max_diff(truncated, fd_surrogate) < 1e-7
    full, _ = _lstm_case(np.random.default_rng(4), g_lstm.lstm_backward_step, truncate=False)
    assert _max_diff(full, fd_surrogate) > 1e-3  # the recurrent paths matter: the comparison can fail


# --------------------------------------------------------------------------------------------------------------
# the bridge: the paper's truncated gradient is the full gradient without the paths through x~
@pytest.fixture(scope="module")
def paper_grads():
    rng = np.random.default_rng(5)
    weights = modern_lstm.paper_random_weights(rng, 2, 2, 2, 2)
    xs, targets = rng.normal(size=(5, 1, 2)), rng.random((5, 1, 2))
    return modern_lstm.paper_gradients(weights, xs, targets, forward.forward_step)


def test_paper_full_gradient_is_truncated_plus_x_tilde_paths(paper_grads):
    path = modern_lstm.paper_path_term(paper_grads)
    rebuilt = {k: paper_grads["truncated"][k] + path[k] for k in path}
    assert _max_diff(rebuilt, paper_grads["full"]) < 1e-7
    assert _max_diff(paper_grads["truncated"], paper_grads["full"]) > 1e-4
    # broken twin: leave out the paths through the first recurrent input
    partial = dict(paper_grads, dL_dxi=paper_grads["dL_dxi"] * (np.arange(len(paper_grads["dL_dxi"])) != 1)[:, None])
    path2 = modern_lstm.paper_path_term(partial)
    assert _max_diff({k: paper_grads["truncated"][k] + path2[k] for k in path2}, paper_grads["full"]) > 1e-6
    # the output weights never feed x~: full and truncated gradients agree exactly
    assert np.array_equal(paper_grads["truncated"]["W_out"], paper_grads["full"]["W_out"])


def test_paper_tangent_without_x_tilde_terms_is_the_truncated_rtrl_rule():
    """epsilon = 0 gives the notes'  d s(t+1)/d W_fg[kk, qq] ~tr delta_{k,kk} (f'(z_fg) x~_qq s(t)) + y_fg ds(t)/dW_fg."""
    I = sp.IndexedBase
    k, i = model.k, model.i
    kk, qq = sp.symbols("kk qq", integer=True, nonnegative=True)
    rule = modern_lstm.paper_rtrl_rule("W_fg", (kk, qq))
    sig = modern_lstm.sigmoid(model.A["z_fg"][k])
    paper = (sp.KroneckerDelta(k, kk) * sig * (1 - sig) * I("x_tilde")[qq] * model.A["s_prev"][k, i]
             + model.A["y_fg"][k] * I("dot_s_prev")[k, i])
    assert equal(rule[0], paper)
    assert not equal(rule[1], paper)  # epsilon = 1: the paths through x~ are there


# --------------------------------------------------------------------------------------------------------------
# the sources' slips, found by derivation
L = modern_lstm.X
P = modern_lstm.p


def test_wiki_two_definitions_of_h():
    tanh_form = modern_lstm.backward_derivations("o*tanh(s)")
    product_form = modern_lstm.backward_derivations("s*o")
    # the walk-through's dL/do = dL/dh s(t) and dh/ds = o(t) belong to h = s o ...
    assert equal(product_form["d_o"][1], L["d_h"][P] * L["s"][P])
    assert equal(product_form["d_s"][1], L["d_h"][P] * L["o"][P] + L["d_s_next"][P] * L["f_next"][P])
    # ... not to h = o tanh(s), the LSTM the page describes first
    assert equal(tanh_form["d_o"][1], L["d_h"][P] * sp.tanh(L["s"][P]))
    assert not equal(tanh_form["d_o"][1], product_form["d_o"][1])
    assert equal(tanh_form["d_s"][1], L["d_h"][P] * L["o"][P] * (1 - sp.tanh(L["s"][P]) ** 2)
                 + L["d_s_next"][P] * L["f_next"][P])


def test_wiki_state_recursion_drops_the_carry():
    missing = normal_form(modern_lstm.state_error_two_steps() - modern_lstm.wiki_state_error_rows12())
    assert missing == normal_form(sp.IndexedBase("d_s_next2")[P] * sp.IndexedBase("f_next2")[P] * L["f_next"][P])
    assert missing != 0


def test_wiki_loss_sum_index():
    s_, t_, T_ = sp.symbols("s t T", integer=True, positive=True)
    l = sp.Function("l")
    printed, right = sp.Sum(l(t_), (s_, t_, T_)).doit(), sp.Sum(l(s_), (s_, t_, T_))
    assert sp.simplify(printed - (T_ - t_ + 1) * l(t_)) == 0
    assert printed.subs({t_: 1, T_: 2}) != right.subs({t_: 1, T_: 2}).doit()


def test_notes_path_sum():
    exact, path = modern_lstm.notes_path_check(3, w_o_recurrent=False)
    assert abs(exact - path) < 1e-12  # with the indices corrected and no recurrent output-gate weight: exact
    exact, printed = modern_lstm.notes_path_check(3, w_o_recurrent=False, indices="printed")
    assert abs(exact - printed) > 1e-6  # as printed (product up to the last step, dc_0/dw_f for every l): wrong
    exact, printed = modern_lstm.notes_path_check(3, w_o_recurrent=False, indices="printed", initial_state=False)
    assert printed == 0.0 and abs(exact) > 1e-6
    exact, path = modern_lstm.notes_path_check(3, w_o_recurrent=True)
    assert abs(exact - path) > 1e-6  # the output gate's recurrent path is not in the formula


def test_notes_gate_gradients():
    d = modern_lstm.backward_derivations()
    assert equal(d["d_f"][1], L["d_s"][P] * L["s_prev"][P])  # not d_s * s(t+1)
    assert equal(d["d_g"][1], L["d_s"][P] * L["i"][P])  # product, not sum
    assert not equal(d["d_g"][1], L["d_s"][P] + L["i"][P])
    assert equal(d["d_z_g"][1], L["d_g"][P] * (1 - L["g"][P] ** 2))  # squared candidate
    assert not equal(d["d_z_g"][1], L["d_g"][P] * (1 - L["g"][P]))
    C = sp.Symbol("C")
    o = sp.Symbol("o")
    assert sp.simplify(sp.diff(o * sp.tanh(C), C) - o * (1 - sp.tanh(C) ** 2)) == 0
    assert sp.simplify(sp.diff(o * sp.tanh(C), C) - o * (1 - sp.tan(C) ** 2)) != 0


def test_gru_forms_agree():
    h_goodfellow, u_keep = gru.goodfellow_form()
    h_ours = gru.forward_statements()[-1].rhs
    assert sp.expand(h_goodfellow.subs(u_keep[gru.p], 1 - gru.X["u"][gru.p]) - h_ours) == 0
    assert sp.expand(h_goodfellow.subs(u_keep[gru.p], gru.X["u"][gru.p]) - h_ours) != 0


# --------------------------------------------------------------------------------------------------------------
# the stable softmax: logits of 10^3, against a 50-digit reference
LOGITS = np.array([[1000.0, 999.0, 990.0, -1000.0, 1000.5],  # exp(1000) overflows a double (limit about 709.78)
                   [-1000.0, -1001.0, -1040.0, -999.5, -1000.0],  # exp(-1000) underflows to 0
                   [710.0, 0.0, -710.0, 709.0, 1.0]])


def _softmax_at_logits(step, logits):
    """prob and log_prob of a generated forward step whose logits are ``logits`` (V = 0, c = logits)."""
    B, n_out = logits.shape
    n_in, n_hid = 2, 3
    out = step(np.ones((B, n_in)), np.zeros((B, n_hid)), np.zeros((B, n_hid, n_hid)), np.zeros((B, n_hid, n_in)),
               np.zeros((B, n_hid)), np.zeros((B, n_out, n_hid)), logits)
    assert np.array_equal(out["o"], logits)
    return out["prob"], out["log_prob"]


def _mpmath_softmax(row):
    import mpmath

    with mpmath.workdps(50):
        exps = [mpmath.exp(mpmath.mpf(float(v))) for v in row]
        total = mpmath.fsum(exps)
        return np.array([float(e / total) for e in exps]), np.array([float(mpmath.log(e / total)) for e in exps])


def test_stable_softmax_derivation():
    assert rnn.softmax_shift_invariance() == (0, 0)
    prob_diff, log_diff = rnn.softmax_shift_invariance(shift_the_sum=False)  # broken twin: the sum not shifted
    assert prob_diff != 0 and log_diff != 0


def test_stable_softmax_at_logits_of_1e3():
    prob, log_prob = _softmax_at_logits(g_rnn.rnn_forward_step, LOGITS)
    assert np.all(np.isfinite(prob)) and np.all(np.isfinite(log_prob))
    assert np.allclose(prob.sum(axis=1), 1.0, rtol=0, atol=4e-16)
    for row, p_row, lp_row in zip(LOGITS, prob, log_prob):
        ref_p, ref_lp = _mpmath_softmax(row)
        assert np.allclose(p_row, ref_p, rtol=1e-14, atol=1e-300)
        assert np.allclose(lp_row, ref_lp, rtol=1e-14, atol=1e-12)
    # the loss of the sequence, from the log-sum-exp form, is finite even for a target the network rules out
    steps = [{"log_prob": log_prob}]
    target = np.eye(5)[[3, 2, 2]]
    assert np.all(np.isfinite(rnn.sequence_loss(steps, [target])))


def test_unshifted_softmax_fails_at_logits_of_1e3(tmp_path):
    """Broken twin: the textbook's softmax printed as it stands, exp(o) / sum exp(o), gives NaN at these logits."""
    good = rnn.forward_kernel()
    X, m = rnn.X, rnn.m
    twin = _replace(good, "e", sp.exp(X["o"][m]))
    twin = _replace(twin, "log_prob", sp.log(X["prob"][m]))
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        prob, log_prob = _softmax_at_logits(_print_kernel(tmp_path, twin, "rnn_unshifted"), LOGITS)
    assert np.isnan(prob[0]).any() and not np.isfinite(log_prob).all()
    prob_small, _ = _softmax_at_logits(_print_kernel(tmp_path, twin, "rnn_unshifted_small"), LOGITS / 100)
    ref, _ = _mpmath_softmax(LOGITS[0] / 100)
    assert np.allclose(prob_small[0], ref, rtol=1e-13)  # the twin is the softmax: only its range is at fault


# --------------------------------------------------------------------------------------------------------------
# the GRU against torch.nn.GRUCell's documented equations, written out in NumPy (torch itself is not needed)
def _sigmoid_np(z):
    return 1.0 / (1.0 + np.exp(-z))


def _torch_gru_cell(x, h, weight_ih, weight_hh, bias_ih, bias_hh):
    """torch.nn.GRUCell as documented: r, z, n = rows [0:H], [H:2H], [2H:3H] of weight_ih / weight_hh (batched)."""
    H = h.shape[-1]
    gi = np.einsum("bki,bi->bk", weight_ih, x) + bias_ih
    gh = np.einsum("bkq,bq->bk", weight_hh, h) + bias_hh
    r = _sigmoid_np(gi[:, :H] + gh[:, :H])
    z = _sigmoid_np(gi[:, H:2 * H] + gh[:, H:2 * H])
    n = np.tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
    return (1 - z) * n + z * h


def _gru_sequences(params, torch_params, T=8, seed=7):
    rng = np.random.default_rng(seed)
    B, n_hid, n_in = params["U_r"].shape
    xs = rng.normal(size=(T, B, n_in))
    h_ours = h_torch = 0.3 * rng.normal(size=(B, n_hid))
    worst = 0.0
    for x in xs:
        h_ours = g_gru.gru_forward_step(x, h_ours, *(params[k] for k in gru.PARAMS))["h"]
        h_torch = _torch_gru_cell(x, h_torch, **torch_params)
        worst = max(worst, float(np.max(np.abs(h_ours - h_torch))))
    return worst


def _gru_params_with_diagonal_candidate(seed=6):
    params = gru.random_params(np.random.default_rng(seed), 3, 2, 4, scale=0.8)
    params["W_c"] = params["W_c"] * np.eye(4)
    return params


def test_gru_maps_to_torch_gru_cell_with_diagonal_candidate_weights():
    params = _gru_params_with_diagonal_candidate()
    assert _gru_sequences(params, gru.to_torch_gru_cell(params)) < 1e-14
    # broken twin: the update gate taken over without the sign flip (torch's z weights the old state)
    wrong = gru.to_torch_gru_cell(params)
    H = 4
    for key in ("weight_ih", "weight_hh"):
        wrong[key] = wrong[key].copy()
        wrong[key][:, H:2 * H] *= -1
    wrong["bias_ih"] = wrong["bias_ih"].copy()
    wrong["bias_ih"][:, H:2 * H] *= -1
    assert _gru_sequences(params, wrong) > 1e-3


def test_gru_reset_before_the_product_is_not_torch_for_full_candidate_weights():
    params = gru.random_params(np.random.default_rng(8), 3, 2, 4, scale=0.8)
    with pytest.raises(ValueError, match="not diagonal"):
        gru.to_torch_gru_cell(params)
    assert _gru_sequences(params, gru.to_torch_gru_cell(params, check=False)) > 1e-3
