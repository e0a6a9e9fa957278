"""The generated code is up to date, carries no date or version, the up-to-date check can fail, and both printers
refuse a sum they would print wrongly."""

import re
import shutil

import pytest
import sympy as sp

from lstm_lit import codegen, codegen_numba
from lstm_lit.symbolic import model
from lstm_lit.symbolic.model import A, Define, StepEquations, j, k

#: what must not appear in a generated file: a version, a date or a content hash (they change between regenerations)
UNSTABLE = re.compile(r"version|\b(19|20)\d\d-\d\d-\d\d|\b[0-9a-f]{32,}\b", re.IGNORECASE)


def test_generated_code_is_up_to_date():
    assert codegen.check() == []


def test_generated_files_carry_header_without_version_or_date():
    files = sorted(codegen.GENERATED_DIR.glob("*.py"))  # equal to a fresh rendering: the test above
    assert len(files) >= 7
    for path in files:
        text = path.read_text()
        assert text.startswith(codegen.HEADER), path.name
        assert not UNSTABLE.search(text), path.name
    # the same pattern catches each thing it is meant to catch
    for unstable in ("# version 1.2", "# generated 2026-11-25", "# sha " + "0123456789abcdef" * 2):
        assert UNSTABLE.search(codegen.HEADER + unstable)


def test_check_detects_a_hand_edit(tmp_path):
    copy = tmp_path / "generated"
    shutil.copytree(codegen.GENERATED_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    target = copy / "forward.py"
    target.write_text(target.read_text().replace("4*_sigmoid", "4.0001*_sigmoid", 1))
    problems = codegen.check(copy)
    assert problems and "forward.py" in problems[0]
    (copy / "stale.py").write_text("# left over\n")
    assert any("stale.py" in p for p in codegen.check(copy))


def test_check_detects_a_missing_file(tmp_path):
    copy = tmp_path / "generated"
    shutil.copytree(codegen.GENERATED_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "forward.py").unlink()
    assert any("missing" in p for p in codegen.check(copy))


# --- sum limits: an einsum sums a whole axis, a loop runs over exactly its limits -------------------------------
N_SRC = model.n_src(True)


def _net_input(hi):
    """z_ig[k] = sum_{j=0}^{hi} W_ig[k, j] x~[j] as a one-statement kernel."""
    eqs = StepEquations("net", ("W_ig", "x_tilde"))
    eqs.statements = [Define(A["z_ig"][k], sp.Sum(A["W_ig"][k, j] * A["x_tilde"][j], (j, 0, hi)))]
    eqs.outputs = ("z_ig",)
    return eqs


def test_numpy_printer_prints_a_whole_axis_sum_and_refuses_a_partial_one():
    assert "numpy.einsum('bac,bc->ba', W_ig, x_tilde" in codegen.function_source(_net_input(N_SRC - 1))
    for hi in (N_SRC - 2, N_SRC, model.d_in - 1):
        with pytest.raises(ValueError, match="does not cover axis 1 of W_ig"):
            codegen.function_source(_net_input(hi))
    with pytest.raises(ValueError, match="no shape known for W_ig"):
        codegen.function_source(_net_input(N_SRC - 1), shapes={})


def _numba_define(hi):
    step = codegen_numba.FusedStep(True, training=False)
    step.lines = []
    step.define(_net_input(hi).statements[0], 1)
    return "\n".join(step.lines)


def test_numba_printer_prints_a_partial_sum_over_its_limits_and_refuses_one_beyond_the_axis():
    whole, partial = _numba_define(N_SRC - 1), _numba_define(model.d_in - 1)
    assert "for j in range(0, d_blk*n_blk + d_in + 3*n_blk + 1):" in whole
    assert "for j in range(0, d_in):" in partial
    with pytest.raises(ValueError, match=r"does not stay inside axis 1 of W_ig \(0 \.\. d_blk\*n_blk \+ d_in \+ 3\*n_blk\)"):
        _numba_define(N_SRC)
    with pytest.raises(ValueError, match=r"does not stay inside axis 1 of W_ig \(0 \.\. d_blk\*n_blk \+ d_in \+ 3\*n_blk\)"):
        _numba_define(model.d_out)  # d_out against n_src - 1 cannot be decided: refused too


def test_a_range_slip_in_the_model_stops_the_numpy_generator(monkeypatch):
    """The audit's experiment: the net inputs summed over j = 0 .. n_src - 2 (model._net).  The NumPy printer used to
    print the same einsum; now it refuses, and the Numba printer prints the shorter loop."""
    good = codegen_numba.FusedStep(True, training=False).net_source("")

    def short_net(W, row, forget_gates):
        return sp.Sum(W[row + (j,)] * A["x_tilde"][j], (j, 0, model.n_src(forget_gates) - 2))

    monkeypatch.setattr(model, "_net", short_net)
    with pytest.raises(ValueError, match="does not cover axis"):
        codegen.module_source("forward", [model.forward_equations(True)])
    slipped = codegen_numba.FusedStep(True, training=False).net_source("")
    assert slipped != good and "range(0, d_blk*n_blk + d_in + 3*n_blk)" in slipped
