"""Inject slips into a copy of the derivation and the printers, and check that the tests catch each one.

    python scripts/mutate_derivation.py                  # all mutants; prints the score and every survivor
    python scripts/mutate_derivation.py range            # only the mutants whose name contains "range"
    python scripts/mutate_derivation.py --root DIR       # the same mutants against another checkout (e.g. an older
                                                         # commit from `git archive`); a mutant whose text is not
                                                         # there is reported as "not applicable"

Each mutant is one textual change of ``lstm_lit`` (the list below).  For each, the package and the tests are copied
to a temporary directory, the change is made, and the derivation's tests run there (index-form proofs, printers,
the up-to-date check of the generated code, the generated kernels against SymPy); a mutant is *killed* when they
fail.  The first mutants are slips that leave the generated NumPy code byte-identical (sum ranges), the kind the
verification issue found surviving.  About half a minute per mutant.
"""

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

MUTANTS = [
    # ranges: the slips that need the range checks
    ("(15) range slip: s(t) cell axis over n_blk", "lstm_lit/symbolic/rtrl.py",
     "s_prev_base: (n_blk, d_blk)", "s_prev_base: (n_blk, n_blk)"),
    ("range: s(t+1) over d_blk x n_blk", "lstm_lit/symbolic/rtrl.py",
     "s_base: (n_blk, d_blk)}", "s_base: (d_blk, n_blk)}"),
    ("range: x~ one source short in the chain rule", "lstm_lit/symbolic/rtrl.py",
     "{x_tilde_base: (model.n_src(forget_gates),)", "{x_tilde_base: (model.n_src(forget_gates) - 1,)"),
    ("range: net inputs summed over j < n_src - 1", "lstm_lit/symbolic/model.py",
     "(j, 0, n_src(forget_gates) - 1))", "(j, 0, n_src(forget_gates) - 2))"),
    ("range: output layer misses the last cell", "lstm_lit/symbolic/model.py",
     "(j, 0, n_out_src - 1))))", "(j, 0, n_out_src - 2))))"),
    ("range: delta_yc misses the last output", "lstm_lit/symbolic/rtrl.py",
     "sp.Sum(W_out_c[m, k, i] * delta_out[m], (m, 0, d_out - 1))",
     "sp.Sum(W_out_c[m, k, i] * delta_out[m], (m, 1, d_out - 1))"),
    ("range: err_og over n_blk cells", "lstm_lit/symbolic/rtrl.py",
     "sp.Sum(delta_yc[k, i] * h_s[k, i], (i, 0, d_blk - 1))", "sp.Sum(delta_yc[k, i] * h_s[k, i], (i, 0, n_blk - 1))"),
    ("range: printed (13)/(14) sum over n_blk cells", "lstm_lit/symbolic/paper_forms.py",
     "h_prime(sp_[p, i2]), e[p, i2, q]), (i2, 0, d_blk - 1))\n        return",
     "h_prime(sp_[p, i2]), e[p, i2, q]), (i2, 0, n_blk - 1))\n        return"),
    # formulas
    ("(13) printed with s(t+1) for s(t)", "lstm_lit/symbolic/paper_forms.py",
     "M(f_prime(A[\"z_fg\"][k]), xq, A[\"s_prev\"][k, i])", "M(f_prime(A[\"z_fg\"][k]), xq, A[\"s\"][k, i])"),
    ("(9) without the forget gate on s(t)", "lstm_lit/symbolic/model.py",
     "keep = A[\"y_fg\"][k] if fg else state_decay\n    st.append",
     "keep = 1 if fg else state_decay\n    st.append"),
    ("loss without the 1/2", "lstm_lit/symbolic/rtrl.py",
     "L = sp.Sum((A[\"y\"][m] - target[m]) ** 2 / 2, (m, 0, d_out - 1))",
     "L = sp.Sum((A[\"y\"][m] - target[m]) ** 2, (m, 0, d_out - 1))"),
    ("no truncation (paths through x~ kept)", "lstm_lit/symbolic/rtrl.py",
     "return {x_tilde_base: 0 if truncated else dx_tilde(weight)", "return {x_tilde_base: dx_tilde(weight)"),
    ("h = 2 sigma - 1 written 2 sigma - 2", "lstm_lit/symbolic/activations.py",
     "return 2 * sigmoid(z) - 1", "return 2 * sigmoid(z) - 2"),
    ("trace kernel: source term on the old trace only", "lstm_lit/symbolic/rtrl.py",
     "carry * e + src[k, i] * A[\"x_tilde\"][q]", "carry * e + src[k, i]"),
    # the proof machinery and the printers
    ("index_form_equal without renaming bound indices", "lstm_lit/symbolic/calculus.py",
     "a, b = fresh_bound(sp.sympify(a)), fresh_bound(sp.sympify(b))", "a, b = sp.sympify(a), sp.sympify(b)"),
    ("collapse without the range check", "lstm_lit/symbolic/calculus.py",
     "if ranges is not None and not _pin(v, lo, hi, other, ranges):", "if False:"),
    ("chain_rule without checking its ranges", "lstm_lit/symbolic/calculus.py",
     "    free = _model_index_ranges(ranges, [expr, wrt])\n", "    free = None\n"),
    ("NumPy printer ignores sum limits", "lstm_lit/codegen.py",
     "        self._check_whole_axis(expr, inside)\n", ""),
    ("Numba printer ignores sum limits", "lstm_lit/codegen_numba.py",
     "        self.check_sum_limits(st)\n", ""),
    ("Numba loop one short", "lstm_lit/codegen_numba.py",
     "for {v} in range({printer.doprint(lo)}, {printer.doprint(hi + 1)}):\")\n            self.emit(inner + len(s.limits)",
     "for {v} in range({printer.doprint(lo)}, {printer.doprint(hi)}):\")\n            self.emit(inner + len(s.limits)"),
]

#: the tests that guard the derivation, quickest first (pytest stops at the first failure)
TESTS = ["tests/test_calculus.py", "tests/test_codegen.py", "tests/test_rtrl.py::test_trace_recursion_derived_equals_printed",
         "tests/test_rtrl.py::test_gradient_derived_equals_printed_and_generated",
         "tests/test_rtrl.py::test_generated_rtrl_matches_sympy"]


def run(mutant, tmp, root):
    """True (killed), False (survived) or None (the text to change is not in this checkout)."""
    name, path, old, new = mutant
    work = Path(tmp) / "work"
    shutil.copytree(root / "lstm_lit", work / "lstm_lit", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(root / "tests", work / "tests", ignore=shutil.ignore_patterns("__pycache__", "browser"))
    target = work / path
    text = target.read_text() if target.exists() else ""
    if text.count(old) != 1:
        if root == ROOT:
            raise SystemExit(f"mutant {name!r}: the text to change occurs {text.count(old)} times in {path}")
        return None
    target.write_text(text.replace(old, new))
    tests = [t for t in TESTS if (work / t.split("::")[0]).exists()]
    r = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-o", "addopts=", *tests],
                       cwd=work, capture_output=True, text=True, env={"PYTHONPATH": str(work), "PATH": "/usr/bin:/bin"})
    return r.returncode != 0


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    root = ROOT
    if "--root" in argv:
        at = argv.index("--root")
        root = Path(argv[at + 1]).resolve()
        argv = argv[:at] + argv[at + 2:]
    chosen = [m for m in MUTANTS if not argv or any(a in m[0] for a in argv)]
    killed, survivors, applicable = 0, [], 0
    for mutant in chosen:
        with tempfile.TemporaryDirectory() as tmp:
            dead = run(mutant, tmp, root)
        if dead is None:
            print(f"n/a       {mutant[0]}", flush=True)
            continue
        applicable += 1
        killed += dead
        if not dead:
            survivors.append(mutant[0])
        print(f"{'killed ' if dead else 'SURVIVED'}  {mutant[0]}", flush=True)
    print(f"score: {killed} of {applicable} mutants killed" + (f"; survivors: {survivors}" if survivors else ""))
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main())
