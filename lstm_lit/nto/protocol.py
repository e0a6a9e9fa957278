"""What is run and counted in experiments 2 (NTO) and 3 (continual NTO) of Gers, Schmidhuber & Cummins (2000).

**The network** (both experiments): the CERG net of experiment 1 with 8 inputs and 8 outputs (``SIZES``: 4 blocks
of 2 cells, the CERG connectivity of :mod:`lstm_lit.connectivity`), initialised as there (weights uniform in
[-0.2, 0.2], input- and output-gate biases -0.5, -1, -1.5, -2 by block), except that every forget-gate bias starts
at ``forget_bias`` (5 or 1; the 1997 LSTM has no forget gates).  Learning: truncated RTRL, one update per step.

**The error signal.**  In a sequence the target exists only at its last step (the trigger ``B``).  At the other
steps the network still steps and its traces still accumulate, but ``between="none"`` injects no error (the
training step runs with learning rate 0, which leaves every weight unchanged); ``between="zero"`` asks for output 0
at every other step (the notes' guess for the continual task).  Default ``"none"``: it keeps each sequence of the
continual stream exactly the task of experiment 2, so that experiment 3 differs from experiment 2 only by the
missing reset, which is the question the paper asks; zero targets would add a second, easier task (stay silent
until ``B``) whose gradients compete with the one that matters.

**Experiment 2, NTO** (``task="nto"``).  Training sequence ``s = 1, 2, ...`` is a fresh sequence, run from the zero
state with zero traces.  The network is *solved* after ``window`` successive training sequences classified
correctly (the 1997 paper stops "when the 2000 most recent sequences were classified correctly" and the average
training error is below 0.1; the error condition is not used here), and stops unsolved after ``max_train``
sequences.  Then a test of ``n_test`` fresh sequences (default 2000, as the 1997 paper's "wrong classifications
out of 2000") without learning.  Reported: sequences until solved, and the test errors.

**Experiment 3, continual NTO** (``task="cnto"``).  A training stream is ``stream_len`` (100) sequences with no reset
in between (variant ``"reset"``: the 1997 LSTM with an external reset of state and traces before every sequence).
It stops at the first misclassification.  The learning rate is ``alpha0`` at the start of every training stream; with
alpha-decay it is multiplied by ``alpha_decay`` (0.9) after every sequence (the paper gives the factor; per sequence
is our reading: per step, 0.9 would end learning within a sequence).  After every training stream, ``n_test`` (10)
test streams, each stopping at its first misclassification; a test's *score* is the mean number of sequences
classified correctly.  The network is *solved* when all test streams of a test classify all ``stream_len``
sequences; otherwise it stops after ``max_train`` training streams (paper: 10^5).  Tests not on the
``full_test_every`` schedule stop at their first short stream (exact: such a test cannot solve the network).

A classification is correct when every output unit is within ``tolerance`` (0.3) of its target.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from ..cerg.protocol import check_shared_fields
from ..connectivity import NTO_SIZES

SIZES = NTO_SIZES
TASKS = ("nto", "cnto")
VARIANTS = {
    # task: {name: (forget_gates, forget-gate bias, external reset per sequence, alpha decay per sequence)}
    "nto": {"lstm1997": (False, None, False, 1.0),
            "forget-b5": (True, 5.0, False, 1.0),
            "forget-b1": (True, 1.0, False, 1.0)},
    "cnto": {"reset": (False, None, True, 1.0),
             "standard": (False, None, False, 1.0),
             "forget": (True, 5.0, False, 1.0),
             "forget-decay": (True, 5.0, False, 0.9)},
}
VARIANT_LABELS = {
    "lstm1997": "1997 LSTM", "forget-b5": "forget gates, bias 5", "forget-b1": "forget gates, bias 1",
    "reset": "1997 LSTM, external reset", "standard": "1997 LSTM, no reset", "forget": "forget gates (bias 5)",
    "forget-decay": "forget gates (bias 5) + α-decay 0.9",
}
BETWEEN = ("none", "zero")
DEFAULT_N_TEST = {"nto": 2000, "cnto": 10}
DEFAULT_MAX_TRAIN = {"nto": 1_000_000, "cnto": 100_000}


@dataclass(frozen=True)
class Config:
    """Everything that defines a run of experiment 2 or 3: its results are a function of this alone."""

    task: str = "nto"
    variant: str = "forget-b5"
    seed: int = 0
    runs: int = 10
    max_train: int = 1_000_000     #: NTO: training sequences; CNTO: training streams (paper 10^5)
    window: int = 2000             #: NTO: successive correct training sequences that solve it
    n_test: int = 2000             #: NTO: test sequences; CNTO: test streams per test (10)
    stream_len: int = 100          #: CNTO: sequences per stream
    tolerance: float = 0.3
    alpha0: float = 0.5
    between: str = "none"          #: error signal at steps that are not classification steps
    full_test_every: int = 100     #: CNTO: a full test after every N-th training stream
    curve_block: int = 1000        #: NTO: the learning curve counts correct sequences per block of this many

    @classmethod
    def for_task(cls, task, **kw):
        """A Config with the task's own defaults for ``max_train`` and ``n_test``."""
        if task not in TASKS:
            raise ValueError(f"unknown task {task!r}; choose one of {TASKS}")
        kw.setdefault("variant", "forget-b5" if task == "nto" else "forget")
        kw.setdefault("max_train", DEFAULT_MAX_TRAIN[task])
        kw.setdefault("n_test", DEFAULT_N_TEST[task])
        return cls(task=task, **kw).validate()

    @property
    def spec(self):
        """(forget_gates, forget_bias, reset, alpha_decay) of the variant."""
        return VARIANTS[self.task][self.variant]

    def validate(self):
        """Return self, or raise ValueError naming the first bad field."""
        if self.task not in TASKS:
            raise ValueError(f"unknown task {self.task!r}; choose one of {TASKS}")
        if self.variant not in VARIANTS[self.task]:
            raise ValueError(f"unknown variant {self.variant!r} for task {self.task!r}; choose one of "
                             f"{sorted(VARIANTS[self.task])}")
        if self.between not in BETWEEN:
            raise ValueError(f"unknown between {self.between!r}; choose one of {BETWEEN}")
        check_shared_fields(self, ("runs", "max_train", "window", "n_test", "stream_len", "full_test_every",
                                   "curve_block"), "a wrong class could count as correct")
        return self

    def to_json(self):
        return asdict(self)


def wilson(k, n, z=1.96):
    """The Wilson score interval (low, high) of a proportion k/n (95 % for z = 1.96)."""
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def summarize(config, nets):
    """Per run: networks finished and solved, the fraction solved with its Wilson interval, and the mean, median and
    quartiles of the training needed by the solved networks (sequences for NTO, streams for CNTO)."""
    done = [n for n in nets if n["outcome"]]
    solved = [n for n in done if n["outcome"] == "solved"]
    need = np.array([n["solved_at"] for n in solved], dtype=float)
    out = {"finished": len(done), "solved": len(solved),
           "fraction_solved": len(solved) / len(done) if done else None,
           "wilson95": list(wilson(len(solved), len(done))) if done else None,
           "mean_to_solve": float(need.mean()) if need.size else None,
           "median_to_solve": float(np.median(need)) if need.size else None,
           "quartiles_to_solve": [float(q) for q in np.percentile(need, [25, 75])] if need.size else None}
    if config.task == "nto":
        errs = [n["test_errors"] for n in done if n["test_errors"] is not None]
        out["mean_test_errors"] = float(np.mean(errs)) if errs else None
    else:
        scores = [n["mean_test_score"] for n in done if n["mean_test_score"] is not None]
        out["mean_final_test_score"] = float(np.mean(scores)) if scores else None
    return out
