"""Time and peak memory of one online step of :class:`lstm_lit.network.LSTMNetwork`, both ways it can run:
``step`` + ``update`` (the batched NumPy kernels) and ``train_step`` (the same statements printed as Numba loops).

Prints a table: for each size and batch B, microseconds per network-step, achieved GFLOP/s against the
multiply-adds counted by :mod:`lstm_lit.symbolic.complexity` (2 flops each), peak extra memory of one step
(tracemalloc), and the same for a straightforward hand-written NumPy implementation of one network (plain
matrix ops) run in the same process.  Not a test: numbers depend on the machine.

    python benchmarks/bench_step.py                       # the table
    python benchmarks/bench_step.py --json book/data/bench.json   # also write the numbers for the book

Targets (the issue): batched over >= 100 networks, <= 3.5 us per network-step for the CERG net; the
single-network step >= 5x faster than the hand-written reference.
"""

import argparse
import json
import os
import platform
import time
import tracemalloc

import numpy as np

from lstm_lit.network import LSTMNetwork
from lstm_lit.symbolic import complexity

SIZES = [(7, 4, 2, 7), (7, 8, 2, 7), (7, 8, 4, 7), (16, 16, 4, 16), (32, 32, 4, 32)]
BATCHES = (1, 10, 100, 1000)
MAX_TRACE_ELEMENTS = 3e7   # skip (size, B) whose traces alone would exceed ~240 MB
LR = 0.5


# --- the hand-written reference: one network, plain NumPy ---------------------------------------------------
def _sig(z):
    return 1.0 / (1.0 + np.exp(-z))


class Reference:
    """One LSTM with forget gates trained by truncated RTRL, written out directly (no generated code)."""

    def __init__(self, net, b=0):
        self.W = {n: w[b].copy() for n, w in net.weights.items()}
        self.M = net.masks
        self.nb, self.db = net.n_blk, net.d_blk
        self.s = np.zeros((self.nb, self.db))
        self.y_fg, self.y_ig, self.y_og = np.zeros(self.nb), np.zeros(self.nb), np.zeros(self.nb)
        self.y_c = np.zeros((self.nb, self.db))
        ns = net.n_src
        self.e_fg, self.e_ig, self.e_c = (np.zeros((self.nb, self.db, ns)) for _ in range(3))

    def step(self, x, target, lr=LR):
        W, nb, db = self.W, self.nb, self.db
        xt = np.concatenate([x, [1.0], self.y_fg, self.y_ig, self.y_og, self.y_c.ravel()])
        y_fg, y_ig, y_og = _sig(W["W_fg"] @ xt), _sig(W["W_ig"] @ xt), _sig(W["W_og"] @ xt)
        z_c = (W["W_c"].reshape(nb * db, -1) @ xt).reshape(nb, db)
        gz = 4 * _sig(z_c) - 2
        s_prev = self.s
        s = y_fg[:, None] * s_prev + y_ig[:, None] * gz
        hs = 2 * _sig(s) - 1
        y_c = y_og[:, None] * hs
        x_out = np.concatenate([x, [1.0], y_c.ravel()])
        y = _sig(W["W_out"] @ x_out)
        # traces (13)-(15), second lines
        sc = _sig(z_c)
        self.e_fg = self.e_fg * y_fg[:, None, None] + ((y_fg * (1 - y_fg))[:, None] * s_prev)[:, :, None] * xt
        self.e_ig = self.e_ig * y_fg[:, None, None] + ((y_ig * (1 - y_ig))[:, None] * gz)[:, :, None] * xt
        self.e_c = self.e_c * y_fg[:, None, None] + (y_ig[:, None] * 4 * sc * (1 - sc))[:, :, None] * xt
        # gradients (1), (12)-(15)
        delta_out = (y - target) * y * (1 - y)
        delta_yc = (W["W_out"][:, -nb * db:].T @ delta_out).reshape(nb, db)
        ss = _sig(s)
        err_s = delta_yc * y_og[:, None] * 2 * ss * (1 - ss)
        err_og = (delta_yc * hs).sum(axis=1)
        grads = {"W_out": np.outer(delta_out, x_out), "W_og": np.outer(err_og * y_og * (1 - y_og), xt),
                 "W_fg": np.einsum("kiq,ki->kq", self.e_fg, err_s), "W_ig": np.einsum("kiq,ki->kq", self.e_ig, err_s),
                 "W_c": self.e_c * err_s[:, :, None]}
        for n in W:  # (16)
            W[n] -= lr * grads[n] * self.M[n]
        self.s, self.y_fg, self.y_ig, self.y_og, self.y_c = s, y_fg, y_ig, y_og, y_c
        return y, grads


def check_reference(sizes, rng):
    """The reference and the package agree on one network for a few steps (else the comparison is void)."""
    net = LSTMNetwork(*sizes, batch=1, connectivity="cerg", rng=rng)
    ref = Reference(net)
    for _ in range(3):
        x, t = rng.uniform(size=(1, sizes[0])), rng.uniform(size=(1, sizes[3]))
        out = net.step(x)
        g = net.update(t, LR)
        y, gr = ref.step(x[0], t[0])
        assert np.allclose(out["y"][0], y) and all(np.allclose(g["grad_" + n][0], gr[n]) for n in gr)


# --- timing ------------------------------------------------------------------------------------------------
def _time(fn, min_time=0.25, min_reps=3):
    fn()  # warm-up
    reps, elapsed = 0, 0.0
    best = []
    while elapsed < min_time or reps < min_reps:
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        best.append(dt)
        elapsed += dt
        reps += 1
    return float(np.median(best))


def _peak(fn):
    fn()
    tracemalloc.start()
    tracemalloc.reset_peak()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def bench_package(sizes, B, rng):
    net = LSTMNetwork(*sizes, batch=B, connectivity="cerg", rng=rng)
    x, t = rng.uniform(size=(B, sizes[0])), rng.uniform(size=(B, sizes[3]))

    def one():
        net.step(x)
        net.update(t, LR)
    return _time(one), _peak(one)


def bench_fused(sizes, B, rng):
    net = LSTMNetwork(*sizes, batch=B, connectivity="cerg", rng=rng)
    x, t = rng.uniform(size=(B, sizes[0])), rng.uniform(size=(B, sizes[3]))
    return _time(lambda: net.train_step(x, t, LR))


def bench_reference(sizes, rng):
    net = LSTMNetwork(*sizes, batch=1, connectivity="cerg", rng=rng)
    ref = Reference(net)
    x, t = rng.uniform(size=sizes[0]), rng.uniform(size=sizes[3])
    return _time(lambda: ref.step(x, t)), _peak(lambda: ref.step(x, t))


def run(sizes_list=SIZES, batches=BATCHES, seed=0):
    rng = np.random.default_rng(seed)
    check_reference(SIZES[0], rng)
    rows = []
    for sizes in sizes_list:
        c = complexity.concrete(*sizes)
        ref_t, ref_mem = bench_reference(sizes, rng)
        for B in batches:
            if B * c["trace_entries"] > MAX_TRACE_ELEMENTS:
                continue
            t, mem = bench_package(sizes, B, rng)
            us = t / B * 1e6
            fused_us = bench_fused(sizes, B, rng) / B * 1e6
            rows.append(dict(d_in=sizes[0], n_blk=sizes[1], d_blk=sizes[2], d_out=sizes[3], B=B,
                             ops=c["ops"], trace_entries=c["trace_entries"],
                             us_per_net_step=us, gflops=2 * c["ops"] / (us * 1e3),
                             peak_bytes=mem, peak_bytes_per_net=mem / B,
                             ref_us=ref_t * 1e6, ref_gflops=2 * c["ops"] / (ref_t * 1e9), ref_peak_bytes=ref_mem,
                             speedup_vs_ref=ref_t * 1e6 / us,
                             fused_us_per_net_step=fused_us, fused_gflops=2 * c["ops"] / (fused_us * 1e3),
                             fused_speedup_vs_ref=ref_t * 1e6 / fused_us))
    return rows


def table(rows):
    head = (f"{'sizes (d_in,n_blk,d_blk,d_out)':>30} {'B':>5} {'mult-adds':>9} {'us/net-step':>11} {'GFLOP/s':>8} "
            f"{'peak KiB/net':>12} {'ref us':>8} {'ref GFLOP/s':>11} {'speed-up':>8} {'fused us':>9} {'fused GFLOP/s':>13} "
            f"{'fused speed-up':>14}")
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{str((r['d_in'], r['n_blk'], r['d_blk'], r['d_out'])):>30} {r['B']:>5} {r['ops']:>9} "
                     f"{r['us_per_net_step']:>11.2f} {r['gflops']:>8.3f} {r['peak_bytes_per_net'] / 1024:>12.1f} "
                     f"{r['ref_us']:>8.1f} {r['ref_gflops']:>11.3f} {r['speedup_vs_ref']:>8.2f} "
                     f"{r['fused_us_per_net_step']:>9.2f} {r['fused_gflops']:>13.3f} {r['fused_speedup_vs_ref']:>14.2f}")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", help="also write the rows to this JSON file (e.g. book/data/bench.json)")
    ap.add_argument("--quick", action="store_true", help="the CERG net only")
    a = ap.parse_args(argv)
    rows = run(SIZES[:1] if a.quick else SIZES)
    print(f"numpy {np.__version__}, {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '')!r}")
    print(table(rows))
    cerg = {r["B"]: r for r in rows if (r["d_in"], r["n_blk"], r["d_blk"], r["d_out"]) == SIZES[0]}
    if cerg:
        for label, key, spd in (("step + update (NumPy)", "us_per_net_step", "speedup_vs_ref"),
                                ("train_step (Numba)", "fused_us_per_net_step", "fused_speedup_vs_ref")):
            big = [r[key] for b, r in cerg.items() if b >= 100]
            best = min(big) if big else float("nan")
            s1 = cerg[1][spd] if 1 in cerg else float("nan")
            print(f"\nCERG net, {label}: best batched (B >= 100) {best:.2f} us per network-step (target <= 3.5): "
                  f"{'met' if best <= 3.5 else 'NOT met'}; single network {s1:.2f}x the hand-written reference "
                  f"(target >= 5x): {'met' if s1 >= 5 else 'NOT met'}")
    if a.json:
        meta = {"numpy": np.__version__, "machine": platform.machine(), "cores": os.cpu_count(),
                "command": "python benchmarks/bench_step.py --json book/data/bench.json"}
        with open(a.json, "w") as f:
            json.dump({"meta": meta, "rows": rows}, f, indent=1)
    return rows


if __name__ == "__main__":
    main()
