"""Tests of lstm_lit.cerg: the CERG protocol of Gers, Schmidhuber & Cummins (2000), batched and resumable.

(a) Online training on a CERG stream with the generated kernels (via LSTMNetwork) follows, to 1e-12, a plain NumPy
    implementation written here from the paper's equations (forward pass (8)-(9) and the output layer with
    y^c(t+1); truncated RTRL traces (13)-(15); update (16)), for the forget-gate and the 1997 LSTM.
(b) A small CERG run: forget-gate LSTMs learn the continual task (mean error-free test length > 1000), the 1997
    LSTM without reset, trained the same way, does not.
(c) An interrupted run resumed from its checkpoint gives exactly the results of an uninterrupted run, and results
    do not depend on the batch size.
(d) Bad command-line arguments give a clear message and a non-zero exit status, never a traceback.
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
# the stream generator and the correctness criterion


def _read_stream(source, n_symbols, piece=50):
    parts = []
    while sum(p[0].size for p in parts) < n_symbols:
        parts.append(source.take(piece))
    return [np.concatenate([p[k] for p in parts]) for k in range(3)]


def test_stream_source_gives_valid_continual_streams():
    for outer_be in (True, False):
        src = cerg.StreamSource(np.random.default_rng(1), outer_be)
        for n in (7000, 30, 1):               # the first read crosses chunk boundaries
            idx, tgt, flags = _read_stream(src, n)
            text = reber._text(idx)
            parse = reber.parse_continual_stream(text, outer_be=outer_be)
            assert parse.valid_prefix and parse.error_position is None
            assert np.flatnonzero(flags).tolist() == list(parse.string_starts)
            assert flags[0]                     # every stream begins with an embedded string
            for t in range(len(text) - 1):      # targets are the legal successors: the next symbol is one of them
                assert tgt[t, reber.SYMBOL_INDEX[text[t + 1]]] == 1.0
            src.new_stream(unread=int(idx.size - n))   # give back what was read beyond n; next stream


def test_stream_source_position_regenerates_the_stream():
    src = cerg.StreamSource(np.random.default_rng(4), True)
    _read_stream(src, 5000)
    src.new_stream(unread=13)
    pos = src.position()
    a = _read_stream(src, 4000)[0]
    again = cerg.StreamSource(np.random.default_rng(99), True, position=pos)
    b = _read_stream(again, 4000)[0]
    assert np.array_equal(a[:4000], b[:4000])


def test_stream_lengths_have_the_right_mean():
    from lstm_lit.symbolic import reber_chain
    src = cerg.StreamSource(np.random.default_rng(2), True)
    lengths = np.diff(np.flatnonzero(_read_stream(src, 60000)[2]))
    expected = float(reber_chain.expected_embedded_length(True))
    assert abs(lengths.mean() - expected) < 5 * lengths.std() / np.sqrt(lengths.size)


def test_correctness_criteria():
    y = np.array([[0.52, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.6, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
                  [1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0]])
    t = np.array([[1, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0, 0]], float)
    assert cerg.correct(y, t, "abs").tolist() == [True, False, False]
    assert cerg.correct(y, t, "sq").tolist() == [True, True, False]      # 0.6^2 = 0.36 < 0.49
    assert cerg.correct(y, t, "mse").tolist() == [True, True, True]      # 2/7 < 0.49
    with pytest.raises(ValueError, match="criterion"):
        cerg.correct(y, t, "max")


# ---------------------------------------------------------------------------------------------------------------
# (b) forget gates learn the continual task, the 1997 LSTM does not
#
# Three networks of seed 0, trained exactly as in the paper (online, alpha = 0.5, a training stream ends at the first
# error), caps of 2000 symbols, tested after every 250th training stream (training does not depend on how often it
# is tested, see the next test).  Measured on the 2-core machine: forget gates about 40 s, the 1997 LSTM about 10 s;
# network 2 with forget gates first passes a mean error-free test length of 1000 at training stream 5750 (with
# testing after every stream, at stream 5570).

LEARN = dict(seed=0, runs=3, max_streams=5750, train_cap=2000, test_cap=2000, test_every=250)


def test_forget_gates_learn_the_continual_task_and_the_1997_lstm_does_not():
    forget = cerg.run_experiment(cerg.Config(variant="forget", **LEARN))
    standard = cerg.run_experiment(cerg.Config(variant="standard", **LEARN))
    assert max(r.mean_test_length for r in forget.records.values()) > 1000
    assert any(r.outcome in ("good", "perfect") for r in forget.records.values())
    assert max(r.best_mean_test_length for r in standard.records.values()) <= 1000
    assert all(r.outcome == "rest" for r in standard.records.values())


def test_how_often_a_network_is_tested_does_not_change_its_training():
    base = dict(variant="forget", seed=5, runs=2, max_streams=40, train_cap=200, test_cap=50)
    a = cerg.run_experiment(cerg.Config(**base, test_every=1))
    b = cerg.run_experiment(cerg.Config(**base, test_every=7))
    for net in a.final_weights:
        for name, w in a.final_weights[net].items():
            np.testing.assert_array_equal(w, b.final_weights[net][name])
    assert [r.train_steps for r in a.records.values()] == [r.train_steps for r in b.records.values()]
    assert sum(r.test_steps for r in a.records.values()) > sum(r.test_steps for r in b.records.values())


# ---------------------------------------------------------------------------------------------------------------
# (c) resumption and batch independence


def _results(run):
    out = run.results()
    for n in out["networks"]:
        n.pop("wall_s")
    return out["networks"], out["summary"]


SMALL = cerg.Config(variant="forget-decay", seed=3, runs=5, max_streams=25, train_cap=300, test_cap=300)


def test_resume_after_interruption_gives_identical_results(tmp_path):
    whole = cerg.run_experiment(SMALL, batch=3)
    assert whole.done
    out = tmp_path / "r.json"
    run = cerg.CergRun(SMALL, batch=3)
    n_stops = 0
    while not run.run(stop_after_streams=17):         # "killed" after every 17 finished tests
        cerg.save(run, str(out))
        run = cerg.CergRun.from_state(*cerg.load_checkpoint(str(out)), batch=3)
        n_stops += 1
    assert n_stops >= 3
    assert _results(run) == _results(whole)


def test_results_do_not_depend_on_batch_size():
    a = cerg.run_experiment(SMALL, batch=1)
    b = cerg.run_experiment(SMALL, batch=5)
    assert _results(a) == _results(b)


def _cli(*args, timeout=120):
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    return subprocess.run([sys.executable, "-m", "lstm_lit.cerg", *args], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=timeout)


def test_cli_resume_after_simulated_kill_matches_uninterrupted_run(tmp_path):
    common = ["--variant", "reset", "--seed", "1", "--runs", "3", "--max-streams", "12", "--train-cap", "200",
              "--test-cap", "200", "--no-progress"]
    r = _cli(*common, "--out", str(tmp_path / "whole.json"))
    assert r.returncode == 0, r.stderr
    r = _cli(*common, "--out", str(tmp_path / "cut.json"), "--stop-after", "10")
    assert r.returncode == 0, r.stderr
    partial = json.loads((tmp_path / "cut.json").read_text())
    assert not partial["complete"]
    r = _cli(*common, "--out", str(tmp_path / "cut.json"))
    assert r.returncode == 0 and "resuming" in r.stderr, r.stderr
    whole = json.loads((tmp_path / "whole.json").read_text())
    cut = json.loads((tmp_path / "cut.json").read_text())
    assert cut["complete"] and whole["complete"]
    for res in (whole, cut):
        for n in res["networks"]:
            n.pop("wall_s")
    assert cut["networks"] == whole["networks"] and cut["summary"] == whole["summary"]


def test_cli_sigint_writes_a_checkpoint_and_exits_cleanly(tmp_path):
    import signal
    import time
    out = tmp_path / "int.json"
    args = [sys.executable, "-m", "lstm_lit.cerg", "--variant", "forget", "--runs", "2", "--max-streams", "100000",
            "--train-cap", "1000", "--test-cap", "1000", "--no-progress", "--checkpoint-every", "1", "--out", str(out)]
    p = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not out.exists() and time.monotonic() < deadline:   # running (first periodic checkpoint written)
        time.sleep(0.2)
    time.sleep(0.5)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=60)
    assert p.returncode == 130 and "Traceback" not in err, err
    res = json.loads(out.read_text())
    assert not res["complete"] and res["networks"][0]["streams"] > 0
    meta, _ = cerg.load_checkpoint(str(out))
    assert meta["slots"] == [0, 1]


# ---------------------------------------------------------------------------------------------------------------
# (d) bad arguments


@pytest.mark.parametrize("args,message", [
    (["--variant", "lstm"], "invalid choice"),
    (["--runs", "0"], "positive integer"),
    (["--runs", "ten"], "positive integer"),
    (["--seed", "-1"], "non-negative integer"),
    (["--criterion", "rmse"], "invalid choice"),
    (["--tolerance", "nan"], "positive number"),
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
                "--stop-after", "1", "--out", out).returncode == 0
    r = _cli("--runs", "2", "--max-streams", "2", "--train-cap", "50", "--test-cap", "50", "--no-progress",
             "--out", out)
    assert r.returncode == 2 and "different configuration" in r.stderr and "Traceback" not in r.stderr
