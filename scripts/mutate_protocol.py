"""Inject protocol mutants into a copy of lstm_lit and check that tests/test_protocol.py catches each one.

    python scripts/mutate_protocol.py            # all mutants; prints the score and every survivor
    python scripts/mutate_protocol.py cap        # only the mutants whose name contains "cap"

Each mutant is one textual change of the package (the list below: the mutants of the verification issue).  For each,
the package and the tests are copied to a temporary directory, the change is made, and the protocol tests run
there; a mutant is *killed* when they fail.  It takes about a minute per mutant (the copy compiles its kernels).
"""

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

MUTANTS = [
    ("tolerance 0.49 -> 0.5", "lstm_lit/cerg/protocol.py", "tolerance: float = 0.49", "tolerance: float = 0.5"),
    ("< -> <= in the 0.49 rule", "lstm_lit/cerg/engine.py", "if not abs(e) < tolerance:", "if not abs(e) <= tolerance:"),
    ("alpha-decay 0.99 -> 0.9", "lstm_lit/cerg/protocol.py", '"forget-decay": (True, 1.0, False, 0.99)',
     '"forget-decay": (True, 1.0, False, 0.9)'),
    ("state decay 0.9 -> 0.5", "lstm_lit/cerg/protocol.py", '"decay": (False, 0.9, False, 1.0)',
     '"decay": (False, 0.5, False, 1.0)'),
    ("networks learn during test streams", "lstm_lit/cerg/engine.py",
     "length, steps = _run_stream(False, streams.stream_start(bases[1], s, k),\n                                        test_cap, 0.0, 1.0,",
     "length, steps = _run_stream(True, streams.stream_start(bases[1], s, k),\n                                        test_cap, alpha0, 1.0,"),
    ("negative forget-gate biases", "lstm_lit/network.py", "PAPER_FORGET_BIASES = (0.5, 1.0, 1.5, 2.0)",
     "PAPER_FORGET_BIASES = (-0.5, -1.0, -1.5, -2.0)"),
    ("initial weights in [-0.1, 0.1]", "lstm_lit/network.py", "def initialise(self, rng, scale=0.2,",
     "def initialise(self, rng, scale=0.1,"),
    ("3 test streams instead of 10", "lstm_lit/cerg/protocol.py", "n_test: int = 10", "n_test: int = 3"),
    ("training stream does not stop at the cap", "lstm_lit/cerg/engine.py", "        if length >= cap:\n            return length, steps",
     "        if length >= cap and not training:\n            return length, steps"),
    ("no external reset", "lstm_lit/cerg/protocol.py", '"reset": (False, 1.0, True, 1.0)', '"reset": (False, 1.0, False, 1.0)'),
    ("learning rate not reset per stream", "lstm_lit/cerg/engine.py",
     "streams.stream_start(bases[0], s, 0), train_cap,\n                                    alpha0,",
     "streams.stream_start(bases[0], s, 0), train_cap,\n                                    alpha0 * 0.99 ** (s - 1),"),
]


def run(mutant, tmp):
    name, path, old, new = mutant
    work = Path(tmp) / "work"
    shutil.copytree(ROOT / "lstm_lit", work / "lstm_lit", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "tests", work / "tests", ignore=shutil.ignore_patterns("__pycache__", "browser"))
    target = work / path
    text = target.read_text()
    if text.count(old) != 1:
        raise SystemExit(f"mutant {name!r}: the text to change occurs {text.count(old)} times in {path}")
    target.write_text(text.replace(old, new))
    r = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", "-o", "addopts=",
                        "tests/test_protocol.py"], cwd=work, capture_output=True, text=True,
                       env={"PYTHONPATH": str(work), "PATH": "/usr/bin:/bin"})
    return r.returncode != 0


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    chosen = [m for m in MUTANTS if not argv or any(a in m[0] for a in argv)]
    killed, survivors = 0, []
    for mutant in chosen:
        with tempfile.TemporaryDirectory() as tmp:
            dead = run(mutant, tmp)
        killed += dead
        if not dead:
            survivors.append(mutant[0])
        print(f"{'killed ' if dead else 'SURVIVED'}  {mutant[0]}", flush=True)
    print(f"score: {killed} of {len(chosen)} mutants killed" + (f"; survivors: {survivors}" if survivors else ""))
    return 1 if survivors else 0


if __name__ == "__main__":
    sys.exit(main())
