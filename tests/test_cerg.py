"""Tests of lstm_lit.cerg: the CERG protocol of Gers, Schmidhuber & Cummins (2000), its runner and its CLI.

(a) Online training on a CERG stream with the generated kernels (via LSTMNetwork) follows, to 1e-12, a plain NumPy
    implementation written here from the paper's equations (forward pass (8)-(9) and the output layer with
    y^c(t+1); truncated RTRL traces (13)-(15); update (16)), for the forget-gate and the 1997 LSTM.
(b) The small CERG experiment judged statistically is in test_cerg_learning.py (its own file, so that the test
    processes share the suite's longest tests).
(c) Results do not depend on how many workers ran them (local processes, a Dask cluster); the CLI interrupted by
    SIGINT at any moment resumes to exactly the uninterrupted results.
(d) Bad arguments give a clear message and a non-zero exit status, never a traceback.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lstm_lit import cerg, reber
from lstm_lit.network import LSTMNetwork

ROOT = Path(__file__).resolve().parents[1]

# ---------------------------------------------------------------------------------------------------------------
# (a) an independent implementation of one CERG network, from the equations


def sig(z):
    return 1.0 / (1.0 + np.exp(-z))


class PlainCergLSTM:
    """One CERG LSTM: 4 blocks x 2 cells; gates and cells see u = [x; 1; y^c(t-1)] (16 values, no gate-to-gate
    connections; cells ignore the bias), the outputs see v = [x; 1; y^c(t+1)].  g(z) = 4 sig(z) - 2,
    h(z) = 2 sig(z) - 1, gates sig.  Weights are taken from an LSTMNetwork (only the CERG columns)."""

    def __init__(self, weights, b, forget_gates=True, decay=1.0):
        n_src = weights["W_ig"].shape[-1]
        cols = np.r_[0:8, n_src - 8:n_src]            # x, 1 and y^c(t-1) inside the generated x~ layout
        self.cols, self.fg, self.decay = cols, forget_gates, decay
        self.W = {"in": weights["W_ig"][b][:, cols].copy(), "og": weights["W_og"][b][:, cols].copy(),
                  "c": weights["W_c"][b][:, :, cols].copy(), "out": weights["W_out"][b].copy()}
        if forget_gates:
            self.W["fg"] = weights["W_fg"][b][:, cols].copy()
        self.s = np.zeros((4, 2))
        self.yc = np.zeros((4, 2))
        self.e = {k: np.zeros((4, 2, 16)) for k in ("in", "c", "fg")}
        self.broken = False

    def step_and_learn(self, x, target, lr):
        W = self.W
        u = np.concatenate([x, [1.0], self.yc.ravel()])
        y_in, y_og = sig(W["in"] @ u), sig(W["og"] @ u)
        y_fg = sig(W["fg"] @ u) if self.fg else None
        net_c = np.einsum("jvm,m->jv", W["c"], u)
        g, dg = 4 * sig(net_c) - 2, 4 * sig(net_c) * (1 - sig(net_c))
        keep = y_fg[:, None] if self.fg else self.decay    # what multiplies s(t) (and the traces)
        s_new = keep * self.s + y_in[:, None] * g
        yc_new = y_og[:, None] * (2 * sig(s_new) - 1)
        v = np.concatenate([x, [1.0], yc_new.ravel()])
        y = sig(W["out"] @ v)
        # truncated RTRL: d s(t+1) / d W, with y^c(t-1) in u held fixed
        k3 = keep[..., None] if self.fg else keep         # shaped for the traces (4, 2, 16)
        tk = 1.0 if self.broken else k3                    # broken twin: e^c without the y^fg factor
        e_c = tk * self.e["c"] + (dg * y_in[:, None])[..., None] * u
        e_in = k3 * self.e["in"] + (g * (y_in * (1 - y_in))[:, None])[..., None] * u
        if self.fg:
            e_fg = k3 * self.e["fg"] + (self.s * (y_fg * (1 - y_fg))[:, None])[..., None] * u
        # errors of L = |y - target|^2 / 2
        d_out = (y - target) * y * (1 - y)
        d_yc = (W["out"][:, 8:].T @ d_out).reshape(4, 2)
        hs, dhs = 2 * sig(s_new) - 1, 2 * sig(s_new) * (1 - sig(s_new))
        e_s = y_og[:, None] * dhs * d_yc
        grads = {"out": np.outer(d_out, v),
                 "og": ((y_og * (1 - y_og)) * np.sum(hs * d_yc, axis=1))[:, None] * u[None, :],
                 "c": e_s[..., None] * e_c,
                 "in": np.einsum("jv,jvm->jm", e_s, e_in)}
        if self.fg:
            grads["fg"] = np.einsum("jv,jvm->jm", e_s, e_fg)
        grads["c"][:, :, 7] = 0.0                         # cells have no bias weight in the CERG net
        for k in W:
            W[k] = W[k] - lr * grads[k]
        self.s, self.yc = s_new, yc_new
        self.e = {"c": e_c, "in": e_in, "fg": e_fg if self.fg else self.e["fg"]}
        return y


@pytest.mark.parametrize("forget_gates,decay", [(True, 1.0), (False, 1.0), (False, 0.9)])
def test_online_training_trajectory_matches_plain_numpy(forget_gates, decay):
    batch, n_steps, lr = 3, 200, 0.5
    net = LSTMNetwork(7, 4, 2, 7, batch=batch, forget_gates=forget_gates, connectivity="cerg", state_decay=decay,
                      rng=np.random.default_rng(11))
    assert net.n_weights == (424 if forget_gates else 424 - 4 * 16)
    plain = [PlainCergLSTM(net.weights, b, forget_gates, decay) for b in range(batch)]
    streams = [reber.continual_stream(np.random.default_rng(100 + b), n_steps) for b in range(batch)]
    max_dev = 0.0
    for t in range(n_steps):
        x = np.stack([s.inputs[t] for s in streams])
        target = np.stack([s.targets[t] for s in streams])
        y = net.step(x)["y"]
        net.update(target, lr)
        for b in range(batch):
            y_plain = plain[b].step_and_learn(x[b], target[b], lr)
            max_dev = max(max_dev, np.max(np.abs(y[b] - y_plain)))
    for b in range(batch):
        W = net.weights
        max_dev = max(max_dev, np.max(np.abs(W["W_ig"][b][:, plain[b].cols] - plain[b].W["in"])),
                      np.max(np.abs(W["W_og"][b][:, plain[b].cols] - plain[b].W["og"])),
                      np.max(np.abs(W["W_c"][b][:, :, plain[b].cols] - plain[b].W["c"])),
                      np.max(np.abs(W["W_out"][b] - plain[b].W["out"])),
                      np.max(np.abs(net.state["s"][b] - plain[b].s)))
        if forget_gates:
            max_dev = max(max_dev, np.max(np.abs(W["W_fg"][b][:, plain[b].cols] - plain[b].W["fg"])))
    assert max_dev < 1e-12
    # the run did learn something: weights moved well away from their initial values
    assert np.max(np.abs(plain[0].W["out"] - LSTMNetwork(7, 4, 2, 7, batch=batch, forget_gates=forget_gates,
                  connectivity="cerg", state_decay=decay, rng=np.random.default_rng(11)).weights["W_out"][0])) > 0.1


def test_trajectory_check_detects_a_wrong_trace():
    """Broken twin: the plain implementation whose traces forget the factor y^fg (the 1997 trace) must disagree."""
    net = LSTMNetwork(7, 4, 2, 7, batch=1, forget_gates=True, connectivity="cerg", rng=np.random.default_rng(3))
    plain = PlainCergLSTM(net.weights, 0, True)
    plain.broken = True
    stream = reber.continual_stream(np.random.default_rng(5), 100)
    dev = 0.0
    for t in range(100):
        y = net.step(stream.inputs[t][None])["y"][0]
        net.update(stream.targets[t][None], 0.5)
        dev = max(dev, np.max(np.abs(y - plain.step_and_learn(stream.inputs[t], stream.targets[t], 0.5))))
    assert dev > 1e-6


# ---------------------------------------------------------------------------------------------------------------
# the correctness criterion and the configuration


def test_correctness_criteria():
    y = np.array([[0.52, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.6, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
                  [1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0]])
    t = np.array([[1, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0]], float)
    assert cerg.correct(y, t, "abs").tolist() == [True, False, False]
    assert cerg.correct(y, t, "sq").tolist() == [True, True, False]      # 0.6^2 = 0.36 < 0.49
    assert cerg.correct(y, t, "mse").tolist() == [True, True, True]      # 2/7 < 0.49
    assert cerg.correct(y, t, "abs", tolerance=0.4).tolist() == [False, False, False]
    with pytest.raises(ValueError, match="criterion"):
        cerg.correct(y, t, "max")
    with pytest.raises(ValueError, match="same shape"):
        cerg.correct(y, t[0])


@pytest.mark.parametrize("field,value,message", [
    ("tolerance", 0.6, r"\(0, 0.5\]"), ("tolerance", 0.0, r"\(0, 0.5\]"), ("good_threshold", float("nan"), "finite"),
    ("good_threshold", -1.0, "non-negative"), ("outer_be", "no", "True or False"), ("runs", True, "positive integer"),
    ("variant", "lstm", "unknown variant"), ("full_test_every", 0, "positive integer"), ("alpha0", 0.0, "positive"),
])
def test_config_rejects_bad_values(field, value, message):
    with pytest.raises(ValueError, match=message):
        cerg.Config(**{field: value}).validate()


# ---------------------------------------------------------------------------------------------------------------
# (c) workers, Dask, interruption

SMALL = cerg.Config(variant="forget-decay", seed=3, runs=6, max_streams=200, train_cap=300, test_cap=5, n_test=3,
                    good_threshold=2.0, full_test_every=10)


def _records(experiment):
    nets = experiment.records() if hasattr(experiment, "records") else experiment["networks"]
    return [{k: v for k, v in n.items() if k != "cpu_s"} for n in nets]


def test_results_do_not_depend_on_the_number_of_local_workers():
    one = cerg.run_experiment(SMALL)
    two = cerg.Experiment(SMALL)
    assert cerg.run(two, workers=2, step_budget=3000) == "complete"
    assert _records(one) == _records(two)


def test_results_on_a_dask_cluster_equal_those_of_one_process():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as c:
        exp = cerg.Experiment(SMALL)
        assert cerg.run(exp, scheduler=c.scheduler_address, step_budget=3000) == "complete"
    assert _records(exp) == _records(cerg.run_experiment(SMALL))


def _cli(*args, timeout=120):
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-m", "lstm_lit.cerg", *args], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=timeout)


CLI_SMALL = ["--variant", "forget-decay", "--seed", "3", "--runs", "6", "--max-streams", "200", "--train-cap", "300",
             "--test-cap", "5", "--n-test", "3", "--good-threshold", "2", "--full-test-every", "10", "--no-progress"]


def test_cli_interrupted_at_many_moments_resumes_to_the_uninterrupted_results(tmp_path):
    """SIGINT (and every third time SIGTERM) at 12 delays spread over the run (during start-up, computing and
    saving), each time resumed by the same command: after every interruption, each finished network's record equals
    the uninterrupted one and no finished network is lost; at the end the results are identical."""
    import signal
    import time
    r = _cli(*CLI_SMALL, "--workers", "1", "--out", str(tmp_path / "whole.json"))
    assert r.returncode == 0, r.stderr
    whole = {n["net"]: n for n in _records(json.loads((tmp_path / "whole.json").read_text()))}
    out = tmp_path / "cut.json"
    args = [sys.executable, "-m", "lstm_lit.cerg", *CLI_SMALL, "--workers", "2", "--step-budget", "2000",
            "--checkpoint-every", "0.3", "--out", str(out)]
    delays = np.linspace(0.5, 4.0, 12)
    finished_before, interrupted = set(), 0
    for n, delay in enumerate(delays):
        sig = signal.SIGTERM if n % 3 == 2 else signal.SIGINT
        # its own process group, so that the finally below ends the CLI *and* its worker processes, whatever happens
        # SIGINT at its default even when this suite runs as a background job (whose children start with SIGINT
        # ignored, so that a signal during start-up would be lost and the run would simply finish)
        p = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        try:
            time.sleep(delay)
            p.send_signal(sig)
            _, err = p.communicate(timeout=60)
        finally:
            if p.poll() is None:
                p.kill()
            p.wait()
            try:  # the group outlives its reaped leader only while a worker is left; its id is not reused till then
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        # 130: saved and stopped; 0: finished first; -sig: killed while Python was still starting (nothing begun)
        assert p.returncode in (0, 130, -sig) and "Traceback" not in err, err
        interrupted += p.returncode != 0
        if out.exists():
            now = {n["net"]: n for n in _records(json.loads(out.read_text()))}
            finished = {j for j, n in now.items() if n["outcome"]}
            assert finished >= finished_before                       # no finished network is ever lost
            assert all(now[j] == whole[j] for j in finished)          # and each is exactly the uninterrupted one
            assert all(now[j]["streams"] <= whole[j]["streams"] for j in now)
            finished_before = finished
        if p.returncode == 0:
            assert {n["net"]: n for n in _records(json.loads(out.read_text()))} == whole
            if interrupted >= 3:
                break
            # finished before enough interruptions (a signal can arrive while Python is still starting up and be
            # lost there, and then the run simply completes): check it, and start the schedule's rest afresh
            for f in (out, tmp_path / "cut.json.ckpt.npz"):
                f.unlink(missing_ok=True)
            finished_before = set()
    assert interrupted >= 3
    r = _cli(*CLI_SMALL, "--workers", "2", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert {n["net"]: n for n in _records(json.loads(out.read_text()))} == whole


def test_cli_resumes_after_a_lost_worker(tmp_path):
    """A local worker killed with SIGKILL: the run stops with a clear message, and the same command resumes to the
    uninterrupted results."""
    import signal
    import time
    psutil = pytest.importorskip("psutil")
    out = tmp_path / "lost.json"
    args = [sys.executable, "-m", "lstm_lit.cerg", *CLI_SMALL, "--workers", "2", "--step-budget", "2000",
            "--out", str(out)]
    p = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        victims = []
        while not victims and time.monotonic() < deadline:
            time.sleep(0.2)
            victims = [c for c in psutil.Process(p.pid).children(recursive=True) if "spawn_main" in " ".join(c.cmdline())]
        time.sleep(1.0)
        victims[0].send_signal(signal.SIGKILL)
        _, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode in (0, 1) and "Traceback" not in err, err
    if p.returncode == 1:
        assert "worker process died" in err
    r = _cli(*CLI_SMALL, "--workers", "2", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert _records(json.loads(out.read_text())) == _records(cerg.run_experiment(SMALL))


# ---------------------------------------------------------------------------------------------------------------
# (d) bad arguments


@pytest.mark.parametrize("args,message", [
    (["--variant", "lstm"], "invalid choice"),
    (["--runs", "0"], "positive integer"),
    (["--runs", "ten"], "positive integer"),
    (["--seed", "-1"], "non-negative integer"),
    (["--criterion", "rmse"], "invalid choice"),
    (["--tolerance", "nan"], "(0, 0.5]"),
    (["--tolerance", "5"], "(0, 0.5]"),
    (["--good-threshold", "-3"], "non-negative"),
    (["--workers", "0"], "positive integer"),
    ([], "required: --out"),
    (["--out", "/nonexistent/dir/x.json"], "does not exist"),
])
def test_cli_bad_arguments(args, message):
    r = _cli(*args)
    assert r.returncode != 0
    assert message in r.stderr and "Traceback" not in r.stderr, r.stderr


def test_cli_refuses_to_resume_a_different_configuration(tmp_path):
    out = str(tmp_path / "x.json")
    assert _cli("--runs", "1", "--max-streams", "2", "--train-cap", "50", "--test-cap", "50", "--no-progress",
                "--workers", "1", "--out", out).returncode == 0
    r = _cli("--runs", "2", "--max-streams", "2", "--train-cap", "50", "--test-cap", "50", "--no-progress",
             "--out", out)
    assert r.returncode == 2 and "different configuration" in r.stderr and "Traceback" not in r.stderr


def test_cli_unreachable_scheduler_is_a_clear_error(tmp_path):
    r = _cli("--runs", "1", "--max-streams", "2", "--no-progress", "--scheduler", "tcp://127.0.0.1:9",
             "--out", str(tmp_path / "x.json"), timeout=120)
    assert r.returncode != 0 and "Traceback" not in r.stderr and "scheduler" in r.stderr, r.stderr


def test_runner_rejects_bad_input_clearly():
    with pytest.raises(TypeError, match="Config"):
        cerg.Experiment({"variant": "forget"})
    with pytest.raises(TypeError, match="Experiment"):
        cerg.run(SMALL)
    with pytest.raises(ValueError, match="workers"):
        cerg.run(cerg.Experiment(SMALL), workers=0)
