"""The CERG engine, old and new, on the same workload in one process; per-step costs against the counted limit.

Not a test: the numbers depend on the machine.  Writes a JSON that the complexity chapter reads:

    python benchmarks/bench_cerg.py --json book/data/bench_cerg.json

Workload (the engine issue): 8 forget-gate networks, 3,000 training streams, caps 10^4, one core.

* ``stepwise``: the previous engine (:mod:`lstm_lit.cerg.stepwise`): Python steps the batch of 8 one symbol at a
  time through the fused training kernel, and tests at learning rate 0 after every stream.
* ``compiled, full tests``: the compiled engine with the paper's literal testing (``full_test_every=1``): the same
  steps, bit for bit the same results.
* ``compiled, early exit``: the default (a full test every 100th stream): the same outcomes, fewer test steps.

End-to-end figures are microseconds per network-step of the workload, i.e. wall time divided by the steps of the
literal protocol, so that early exit shows up as a speed-up.  Per-step figures time the compiled steps alone, in a
compiled loop over a stream, and compare them with the operations counted by :mod:`lstm_lit.symbolic.complexity`
at the machine's measured peak (a one-thread matrix product).
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")   # the peak and every engine on one core
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402

import numba  # noqa: E402
import numpy as np  # noqa: E402

from lstm_lit import cerg  # noqa: E402
from lstm_lit.cerg import engine, stepwise, streams  # noqa: E402
from lstm_lit.generated import cerg_steps  # noqa: E402
from lstm_lit.symbolic import complexity, model  # noqa: E402

WORKLOAD = dict(variant="forget", seed=0, runs=8, max_streams=3000, train_cap=10_000, test_cap=10_000)
GOOD = dict(variant="forget", seed=7, runs=8, max_streams=8000, train_cap=2000, test_cap=2000)


def peak_flops(n=1500, reps=3):
    """Flops per second of a one-thread float64 matrix product (the BLAS's vectorised multiply-adds)."""
    a = np.random.default_rng(0).random((n, n))
    best = min(_timed(lambda: a @ a)[1] for _ in range(reps))
    return 2 * n ** 3 / best


def _timed(fn):
    t = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t


@numba.njit
def _steps(train, n, symbols, targets, state, weights, test_weights, masks, traces, tw, fw, x, target, y):
    for t in range(n):
        for m in range(x.shape[1]):
            x[0, m] = 0.0
            target[0, m] = targets[t, m]
        x[0, symbols[t]] = 1.0
        if train:
            cerg_steps.train_step_net(0, x, target, 0.5, 1.0, state, weights, masks, traces, tw, y)
        else:
            cerg_steps.test_step_net(0, x, 1.0, state, test_weights, fw, y)


def step_costs(n=200_000):
    """Microseconds per training step and per test step of one CERG network on a stream of ``n`` symbols."""
    config = cerg.Config(**WORKLOAD)
    st = streams.keyed_stream(0, 0, streams.TRAIN, 1, n=n)
    out = {}
    for train in (False, True):
        ws = engine._Workspace(config, engine.initial_weights(config, 0))
        args = (st.indices, st.targets, ws.state, ws.weights, ws.test_weights, ws.masks, ws.traces, ws.train_work,
                ws.test_work, ws.x, ws.target, ws.y)
        _steps(train, 10, *args)
        best = min(_timed(lambda: _steps(train, n, *args))[1] for _ in range(7))
        out["train" if train else "test"] = best / n * 1e6
    return out


def counted_ops():
    sizes = dict(zip(model.SIZES, (7, 4, 2, 7)))
    by_phase = {p: int(v.subs(sizes)) for p, v in complexity.op_count(True, by_phase=True).items()}
    return {"test": by_phase["forward"], "train": sum(by_phase.values())}


def end_to_end(config_kw, literal_old=True):
    """Wall time and steps of the workload under the three engines."""
    rows = {}
    if literal_old:
        old, t = _timed(lambda: stepwise.run_experiment(cerg.Config(**config_kw, full_test_every=1), batch=8))
        steps = sum(r.train_steps + r.test_steps for r in old.records.values())
        rows["stepwise"] = dict(seconds=t, steps=steps)
    for name, every in (("compiled, full tests", 1), ("compiled, early exit", 100)):
        exp, t = _timed(lambda: cerg.run_experiment(cerg.Config(**config_kw, full_test_every=every)))
        steps = sum(r.train_steps + r.test_steps for r in exp.runs.values())
        rows[name] = dict(seconds=t, steps=steps, outcomes=[exp.runs[j].outcome for j in sorted(exp.runs)],
                          train_steps=sum(r.train_steps for r in exp.runs.values()))
    literal = rows["compiled, full tests"]["steps"]
    for r in rows.values():
        r["us_per_workload_step"] = r["seconds"] / literal * 1e6
        r["us_per_executed_step"] = r["seconds"] / r["steps"] * 1e6
    return rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--json", help="write the numbers here")
    p.add_argument("--quick", action="store_true", help="a tenth of the workload (a smoke run)")
    args = p.parse_args(argv)
    work = dict(WORKLOAD, max_streams=300) if args.quick else WORKLOAD
    cerg.run_experiment(cerg.Config(**dict(work, runs=1, max_streams=2)))   # compile (or load the cache) first
    peak = peak_flops()
    ops = counted_ops()
    per_step = step_costs(20_000 if args.quick else 100_000)
    limit = {k: 2 * v / peak * 1e6 for k, v in ops.items()}
    e2e = end_to_end(work)
    good = end_to_end(dict(GOOD, max_streams=800) if args.quick else GOOD, literal_old=False)
    old = e2e["stepwise"]["us_per_workload_step"]
    result = {
        "meta": {"machine": platform.machine(), "processor": platform.processor(), "cores_used": 1,
                 "numba": numba.__version__, "numpy": np.__version__, "workload": work, "good_workload": GOOD,
                 "command": "python benchmarks/bench_cerg.py --json book/data/bench_cerg.json"},
        "peak_gflops": peak / 1e9,
        "counted_ops": ops,
        "limit_us": limit,
        "step_us": per_step,
        "step_fraction_of_limit": {k: limit[k] / per_step[k] for k in ops},
        "end_to_end": e2e,
        "speedup_vs_stepwise": {k: old / v["us_per_workload_step"] for k, v in e2e.items()},
        "good_networks": good,
        "early_exit_speedup_good": good["compiled, full tests"]["seconds"] / good["compiled, early exit"]["seconds"],
    }
    print(f"peak {peak / 1e9:.1f} GFLOP/s (one thread, matrix product)")
    for k in ("test", "train"):
        print(f"{k:5s} step: {per_step[k]:.3f} us   counted {ops[k]} multiply-adds -> limit {limit[k]:.3f} us "
              f"({100 * limit[k] / per_step[k]:.0f}% of the limit reached)")
    for name, r in e2e.items():
        print(f"{name:22s} {r['seconds']:8.1f} s  {r['us_per_workload_step']:7.3f} us per workload step  "
              f"x{old / r['us_per_workload_step']:.1f} vs stepwise")
    print(f"with good networks ({GOOD}): early exit x{result['early_exit_speedup_good']:.1f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)
            f.write("\n")


if __name__ == "__main__":
    main()
