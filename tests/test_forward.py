"""The generated forward step against SymPy's own evaluation of the derived equations."""

import importlib.util
import warnings

import numpy as np
import pytest
import sympy as sp

from helpers import CERG_SIZES, SIZES, max_deviation, random_step_inputs
from lstm_lit import codegen
from lstm_lit.connectivity import masks, n_weights
from lstm_lit.generated import forward
from lstm_lit.symbolic import model
from lstm_lit.symbolic.activations import g, h


CASES = [(s, "full", b) for s in SIZES for b in (1, 4)] + [(CERG_SIZES, "cerg", 3)]


@pytest.mark.parametrize("sizes,connectivity,batch", CASES)
@pytest.mark.parametrize("forget_gates", [True, False])
def test_generated_forward_matches_sympy(sizes, connectivity, batch, forget_gates):
    rng = np.random.default_rng(hash((sizes, batch, forget_gates)) % 2**32)
    vals = random_step_inputs(rng, sizes, batch, forget_gates, connectivity)
    eqs = model.forward_equations(forget_gates)
    if not forget_gates:
        vals["state_decay"] = 0.9
        step = forward.forward_step_1997
    else:
        step = forward.forward_step
    assert max_deviation(eqs, step, sizes, vals) < 1e-12


def _print_module(tmp_path, equations, name):
    src = codegen.module_source("test module", [equations])
    path = tmp_path / f"{name}.py"
    path.write_text(src)
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return getattr(mod, equations.name)


def test_broken_twin_is_caught(tmp_path):
    """A deliberately perturbed derivation (h replaced by g in eq. (7)) printed by the same generator must fail the check."""
    good = model.forward_equations()
    broken = model.forward_equations()
    idx = next(n for n, st in enumerate(broken.statements) if getattr(st, "target", "") == "y_c")
    st = broken.statements[idx]
    s_ki = model.A["s"][model.k, model.i]
    broken.statements[idx] = model.Define(st.lhs, st.rhs.subs(h(s_ki), g(s_ki)))
    assert broken.statements[idx].rhs != st.rhs
    sizes = SIZES[0]
    vals = random_step_inputs(np.random.default_rng(1), sizes, 2)
    assert max_deviation(good, _print_module(tmp_path, broken, "broken"), sizes, vals) > 1e-3
    assert max_deviation(good, _print_module(tmp_path, good, "good"), sizes, vals) < 1e-12


def test_cerg_connectivity_has_424_weights():
    assert n_weights(masks(*CERG_SIZES, forget_gates=True, connectivity="cerg")) == 424
    # without forget gates the 4 forget gates' 16 weights each are gone
    assert n_weights(masks(*CERG_SIZES, forget_gates=False, connectivity="cerg")) == 424 - 4 * 16


def test_1997_equals_forget_gates_held_open_symbolically():
    """Eq. (9) with y^fg = 1 is eq. (6) with state_decay = 1."""
    fg = model.forward_equations(True)
    old = model.forward_equations(False)
    lhs = fg.rhs("s").subs(model.A["y_fg"][model.k], 1)
    rhs = old.rhs("s").subs(model.state_decay, 1)
    assert sp.simplify(lhs - rhs) == 0
    assert sp.simplify(fg.rhs("s") - old.rhs("s").subs(model.state_decay, 1)) != 0  # the check can fail


@pytest.mark.parametrize("sizes", SIZES)
def test_1997_equals_forget_gates_held_open_numerically(sizes):
    """A forget gate saturated at exactly 1 (bias 1000, nothing else feeding it) reproduces the 1997 step."""
    d_in, n_blk, d_blk, d_out = sizes
    rng = np.random.default_rng(7)
    vals = random_step_inputs(rng, sizes, 3, forget_gates=True)
    vals["W_fg"][:] = 0.0
    vals["W_fg"][:, :, d_in] = 1000.0  # the bias column (constant-1 input)
    out = forward.forward_step(**vals)
    assert np.all(out["y_fg"] == 1.0)
    # the 1997 net sees the same x~ without the y^fg segment
    fg_cols = slice(d_in + 1, d_in + 1 + n_blk)
    old = {k: v for k, v in vals.items() if k not in ("W_fg", "y_fg_prev")}
    for w in ("W_ig", "W_og", "W_c"):
        old[w] = np.delete(vals[w], np.arange(d_in + 1, d_in + 1 + n_blk), axis=-1)
        # the forget-gate net's y^fg(t) inputs must not matter for the comparison
        vals[w][..., fg_cols] = 0.0
    out = forward.forward_step(**vals)
    ref = forward.forward_step_1997(**old, state_decay=1.0)
    for name in ("s", "y_c", "y"):
        np.testing.assert_allclose(out[name], ref[name], rtol=0, atol=1e-14)
    ref_decayed = forward.forward_step_1997(**old, state_decay=0.9)
    assert np.max(np.abs(out["s"] - ref_decayed["s"])) > 1e-3


@pytest.mark.parametrize("forget_gates", [True, False])
def test_large_net_inputs_stay_finite_and_silent(forget_gates):
    """|z| = 1000 must neither overflow nor warn."""
    sizes = SIZES[0]
    vals = random_step_inputs(np.random.default_rng(3), sizes, 2, forget_gates)
    for w in ("W_fg", "W_ig", "W_og", "W_c", "W_out"):
        if w in vals:
            vals[w] = np.sign(vals[w]) * 1000.0
    step = forward.forward_step if forget_gates else forward.forward_step_1997
    if not forget_gates:
        vals["state_decay"] = 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = step(**vals)
    for name, arr in out.items():
        assert np.all(np.isfinite(arr)), name
    assert np.all((out["y"] >= 0) & (out["y"] <= 1))
