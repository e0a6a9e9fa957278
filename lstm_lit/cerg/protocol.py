"""The CERG protocol of Gers, Schmidhuber & Cummins (2000), section 4 and Table 2: what is run and what is counted.

* Each network is the paper's CERG net (7 inputs, 4 blocks of 2 cells, 7 outputs, 424 weights; see
  :mod:`lstm_lit.connectivity`), initialised as in the paper (:meth:`lstm_lit.network.LSTMNetwork.initialise`).
* A **training stream** is a fresh continual embedded Reber stream (:mod:`lstm_lit.cerg.streams`).  The network is
  updated online at every step (truncated RTRL, equation (16)); the stream stops at the first wrong prediction or
  when ``train_cap`` symbols have been predicted correctly (paper: 10^5).  The learning rate is ``alpha0`` (0.5) at
  the start of every training stream; with alpha-decay it is multiplied by 0.99 after every step.
* After every training stream the network is **tested** on ``n_test`` (10) fresh streams without learning; each runs
  until its first wrong prediction or until ``test_cap`` correct predictions.  A stream's *error-free length* is the
  number of symbols predicted correctly before the first error.
* **perfect**: all test streams of one test reach ``test_cap`` (the run of that network stops).  Otherwise it stops
  after ``max_streams`` training streams (paper: 30,000) and is **good** if the mean error-free length of that last
  test exceeds ``good_threshold`` (1000), else it is in the **rest**.
* Every stream (training or test) starts from the zero state with zero traces.  The variant ``"reset"`` also resets
  state and traces at the start of every embedded string (the 1997 LSTM's *external reset*).

Early exit (exact).  Table 2 needs only two things from the tests: whether all test streams of a test reach the cap,
and the full final test.  A test that is not on the schedule below therefore stops at its first test stream that
ends before the cap: the network cannot be perfect at that test, whatever the other streams do.  Every test stream
has its own key (:mod:`lstm_lit.cerg.streams`), so the streams that are skipped change nothing else.  A full test
(all ``n_test`` streams) is run after every ``full_test_every``-th training stream and after the last one; those
full tests give the learning curve of each network.  ``full_test_every=1`` is the paper's literal protocol.

Correctness of a prediction.  The paper: "the prediction is correct if all output units are within 0.49 of their
targets".  ``criterion``:

* ``"abs"`` (default): ``|y_m - t_m| < 0.49`` for every output unit m.  This is the literal reading of "every output
  unit within 0.49 of its target", and it is the one that makes 0.49 meaningful: with sigmoid outputs in (0, 1) and
  0/1 targets it says "every unit is on the right side of 0.5, with a margin of 0.01".
* ``"sq"``: ``(y_m - t_m)^2 < 0.49`` for every unit, i.e. every unit within 0.7 (a weaker test).
* ``"mse"``: ``mean_m (y_m - t_m)^2 < 0.49`` (the reading of some secondary notes; much weaker still: one unit can
  be entirely wrong).  The mean is summed left to right, unit 0 first, in every implementation here.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from ..connectivity import CERG_SIZES

VARIANTS = {
    # name: (forget_gates, state_decay, external_reset, alpha_decay)
    "reset": (False, 1.0, True, 1.0),
    "standard": (False, 1.0, False, 1.0),
    "decay": (False, 0.9, False, 1.0),
    "forget": (True, 1.0, False, 1.0),
    "forget-decay": (True, 1.0, False, 0.99),
}
"""Table 2's rows: standard LSTM with external reset, standard LSTM, LSTM with state decay 0.9, LSTM with forget
gates, LSTM with forget gates and sequential alpha-decay."""

VARIANT_LABELS = {
    "reset": "standard LSTM, external reset",
    "standard": "standard LSTM",
    "decay": "state decay (0.9)",
    "forget": "forget gates",
    "forget-decay": "forget gates + sequential α-decay",
}

CRITERIA = ("abs", "sq", "mse")
SIZES = CERG_SIZES
OUTCOMES = ("perfect", "good", "rest")


def correct(y, target, criterion="abs", tolerance=0.49):
    """Boolean array: is each prediction ``y`` (..., 7) correct for ``target`` (same shape)?

    ``criterion`` is ``"abs"`` (every unit: |y - t| < tolerance; the default), ``"sq"`` (every unit:
    (y - t)^2 < tolerance) or ``"mse"`` (mean over units of (y - t)^2 < tolerance); see the module docstring.
    """
    y, target = np.asarray(y, dtype=float), np.asarray(target, dtype=float)
    if y.shape != target.shape:
        raise ValueError(f"y and target must have the same shape, got {y.shape} and {target.shape}")
    err = y - target
    if criterion == "abs":
        return np.all(np.abs(err) < tolerance, axis=-1)
    if criterion == "sq":
        return np.all(err * err < tolerance, axis=-1)
    if criterion == "mse":
        sq = err * err
        total = sq[..., 0]
        for m in range(1, sq.shape[-1]):   # left to right, as in the compiled engine
            total = total + sq[..., m]
        return total / sq.shape[-1] < tolerance
    raise ValueError(f"unknown criterion {criterion!r}; choose one of {CRITERIA}")


def _is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _is_real(value):
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


def check_shared_fields(config, positive_fields, larger_tolerance_risk):
    """Raise ValueError naming the first bad one of the fields that the CERG and NTO configs share, in this order:
    the positive integers ``positive_fields``, ``seed``, ``tolerance`` (in (0, 0.5]; ``larger_tolerance_risk`` says
    what a larger one would let through) and ``alpha0``."""
    for name in positive_fields:
        value = getattr(config, name)
        if not _is_int(value) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if not _is_int(config.seed) or config.seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {config.seed!r}")
    if not (_is_real(config.tolerance) and 0 < config.tolerance <= 0.5):
        raise ValueError(f"tolerance must be a number in (0, 0.5] (with a larger one {larger_tolerance_risk}), "
                         f"got {config.tolerance!r}")
    if not (_is_real(config.alpha0) and math.isfinite(config.alpha0) and config.alpha0 > 0):
        raise ValueError(f"alpha0 must be a positive number, got {config.alpha0!r}")


@dataclass(frozen=True)
class Config:
    """Everything that defines a CERG run: its results are a function of this alone."""

    variant: str = "forget"
    seed: int = 0
    runs: int = 10
    max_streams: int = 30000
    train_cap: int = 100000
    test_cap: int = 100000
    n_test: int = 10
    good_threshold: float = 1000.0
    criterion: str = "abs"
    tolerance: float = 0.49
    alpha0: float = 0.5
    outer_be: bool = True
    full_test_every: int = 100   #: a full test after every N-th training stream (1: the paper's literal protocol)

    def validate(self):
        """Return self, or raise ValueError naming the first bad field."""
        if self.variant not in VARIANTS:
            raise ValueError(f"unknown variant {self.variant!r}; choose one of {sorted(VARIANTS)}")
        if self.criterion not in CRITERIA:
            raise ValueError(f"unknown criterion {self.criterion!r}; choose one of {CRITERIA}")
        check_shared_fields(self, ("runs", "max_streams", "train_cap", "test_cap", "n_test", "full_test_every"),
                            "a prediction on the wrong side of 0.5 would count as correct")
        if not (_is_real(self.good_threshold) and math.isfinite(self.good_threshold) and self.good_threshold >= 0):
            raise ValueError(f"good_threshold must be a finite non-negative number, got {self.good_threshold!r}")
        if not isinstance(self.outer_be, (bool, np.bool_)):
            raise ValueError(f"outer_be must be True or False, got {self.outer_be!r}")
        return self

    def to_json(self):
        return asdict(self)

    @classmethod
    def from_json(cls, d):
        return cls(**d).validate()


def summarize(nets):
    """Table 2 from per-network records: count, fraction and mean training streams of perfect nets, and of good
    nets and the rest the mean error-free length of their final test (finished networks only)."""
    done = [n for n in nets if n["outcome"]]
    out = {"finished": len(done)}
    for cls in OUTCOMES:
        sel = [n for n in done if n["outcome"] == cls]
        out[cls] = {"count": len(sel), "fraction": len(sel) / len(done) if done else None,
                    "mean_streams": float(np.mean([n["streams"] for n in sel])) if sel else None,
                    "mean_test_length": float(np.mean([n["mean_test_length"] for n in sel])) if sel else None}
    return out
