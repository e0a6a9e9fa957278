"""The NTO and continual-NTO protocols on the compiled engine (lstm_lit.nto.engine) against a plain-Python
step-by-step reference written here from the paper's rules (NumPy step and update of lstm_lit.network, sequences
from the keyed generator), with a broken twin; resume after an interruption; clear errors for bad arguments.

Compiling the general-size kernels costs far more than running these tests, so by default only the forget-gate
kernels are compiled; LSTM_LIT_SLOW=1 adds the 1997 LSTM's paths."""

import dataclasses
import json
import os

import numpy as np
import pytest

from lstm_lit.network import LSTMNetwork
from lstm_lit.nto import cli, engine, protocol, runner, streams
from lstm_lit.nto.protocol import Config

TOL = 0.3   # the classifier rule of the 1997 paper: every output unit within 0.3 of its target


def _net(config, net):
    fg = config.spec[0]
    n = LSTMNetwork(d_in=8, n_blk=4, d_blk=2, d_out=8, batch=1, forget_gates=fg, connectivity="cerg")
    n.set_weights({k: v[None] for k, v in engine.initial_weights(config, net).items()})
    return n


def _sequence(n, seq, alpha, training, between_zero, tol=TOL):
    """Feed one sequence step by step; return whether its last output classifies it correctly."""
    for t, unit in enumerate(seq.indices):
        out = n.step(np.eye(8)[[unit]])
        last = t == len(seq.indices) - 1
        target = np.eye(8)[[seq.label]] if last else np.zeros((1, 8))
        if training:
            n.update(target, alpha if (last or between_zero) else 0.0)
    return bool(np.all(np.abs(out["y"][0] - np.eye(8)[seq.label]) < tol))


def reference_nto(config, net):
    n = _net(config, net)
    flags, streak = [], 0
    for s in range(1, config.max_train + 1):
        n.reset()
        ok = _sequence(n, streams.keyed_sequences(config.seed, net, streams.TRAIN, s)[0], config.alpha0, True, False)
        flags.append(ok)
        streak = streak + 1 if ok else 0
        if streak >= config.window:
            break
    errors = 0
    for k in range(config.n_test):
        n.reset()
        errors += not _sequence(n, streams.keyed_sequences(config.seed, net, streams.TEST, 0, k)[0], 0, False, False)
    return flags, errors, n.weights


def reference_cnto(config, net, broken=False):
    reset, decay = {"reset": (True, 1.0), "standard": (False, 1.0), "forget": (False, 1.0),
                    "forget-decay": (False, 0.9), "forget-reset": (True, 1.0)}[config.variant]
    if broken:
        reset, decay = not reset, decay * 0.5
    n = _net(config, net)

    def stream(key, training):
        seqs = streams.keyed_sequences(config.seed, net, *key, n=config.stream_len)
        n.reset()
        alpha, good = config.alpha0, 0
        for j, seq in enumerate(seqs):
            if reset and j > 0:
                n.reset()
            if not _sequence(n, seq, alpha, training, config.between == "zero", config.tolerance):
                break
            good += 1
            alpha *= decay
        return good

    train, tests = [], []
    for s in range(1, config.max_train + 1):
        train.append(stream((streams.TRAIN, s, 0), True))
        tests.append([stream((streams.TEST, s, k), False) for k in range(config.n_test)])
        if all(t == config.stream_len for t in tests[-1]):   # solved
            break
    return train, tests, n.weights


def _engine(config, net=0):
    run = engine.NetworkRun.new(config, net)
    while run.outcome is None:
        run = engine.advance(config, run, max_per_call=1)   # one sequence or stream per call: the finest split
    return run


def test_nto_agrees_with_reference():
    config = Config.for_task("nto", variant="forget-b1", max_train=6, n_test=4, curve_block=4)
    run = _engine(config)
    flags, errors, weights = reference_nto(config, 0)
    assert run.done == len(flags) and run.outcome == "unsolved"
    assert run.curve == [sum(flags[:4]), sum(flags[4:])]
    assert run.test_errors == errors
    for name, w in weights.items():
        np.testing.assert_allclose(run.weights[name], w[0], rtol=0, atol=1e-12)
    one_call = engine.advance(config, engine.NetworkRun.new(config, 0), step_budget=10**9)
    assert one_call.record() | {"cpu_s": 0} == run.record() | {"cpu_s": 0}


def _engine_unchecked(config):
    """The engine's CNTO loop without the Config check (to allow tolerance 1, where every class is 'correct')."""
    run = engine.NetworkRun.new(config, 0)
    ws = engine._Workspace(config, run.weights)
    engine._advance_cnto(config, run, ws, streams.stream_bases(config.seed, 0), 10**9, None)
    run.weights = {name: w[0].copy() for name, w in zip(ws.names, ws.weights)}
    return run


SLOW = pytest.mark.skipif(not os.environ.get("LSTM_LIT_SLOW"), reason="compiles the 1997 kernels (about 20 s of "
                          "CPU on a cold cache); set LSTM_LIT_SLOW=1")


@pytest.fixture
def forget_reset(monkeypatch):
    """A test-only CNTO variant: forget gates *and* the external reset, so that the reset logic of the loop is
    checked on the forget-gate kernels that the other tests compile anyway."""
    monkeypatch.setitem(protocol.VARIANTS["cnto"], "forget-reset", (True, 5.0, True, 1.0))


@pytest.mark.parametrize("variant,between,tolerance", [
    ("forget", "none", 0.3), ("forget-reset", "none", 1.0), ("forget-decay", "zero", 1.0),
    pytest.param("standard", "none", 0.3, marks=SLOW), pytest.param("reset", "none", 1.0, marks=SLOW)])
def test_cnto_agrees_with_reference(variant, between, tolerance, forget_reset):
    """With tolerance 1 every classification counts as correct, so the streams run to their end and the resets
    and the alpha-decay between sequences matter (an untrained network misclassifies its first sequence)."""
    config = dataclasses.replace(Config.for_task("cnto", variant=variant, max_train=2, stream_len=3, n_test=2,
                                                 full_test_every=1, between=between, alpha0=2.0), tolerance=tolerance)
    run = _engine(config) if tolerance <= 0.5 else _engine_unchecked(config)
    train, tests, weights = reference_cnto(config, 0)
    assert run.train_lengths_tail == train
    assert [c[1] for c in run.curve] == [float(np.mean(t)) for t in tests]
    assert run.test_scores == tests[-1]
    for name, w in weights.items():
        np.testing.assert_allclose(run.weights[name], w[0], rtol=0, atol=1e-12)
    if tolerance <= 0.5:
        return
    # broken twin: the reference with the reset and the decay rule changed must disagree
    _, _, broken = reference_cnto(config, 0, broken=True)
    assert any(not np.allclose(run.weights[name], w[0], atol=1e-9) for name, w in broken.items())


@SLOW
def test_nto_1997_agrees_with_reference():
    config = Config.for_task("nto", variant="lstm1997", max_train=3, n_test=2, curve_block=4)
    run = _engine(config)
    flags, errors, weights = reference_nto(config, 0)
    assert run.curve == [sum(flags)] and run.test_errors == errors
    for name, w in weights.items():
        np.testing.assert_allclose(run.weights[name], w[0], rtol=0, atol=1e-12)


def test_interrupt_and_resume_give_identical_results(tmp_path):
    config = Config.for_task("cnto", variant="forget", runs=3, max_train=4, stream_len=3, n_test=2)
    whole = runner.Experiment(config)
    runner.run(whole, step_budget=300)
    out = str(tmp_path / "r.json")
    stop = runner.StopRequested()
    calls = []

    def progress(exp):   # stop after the second task: some networks finished, one half-done
        calls.append(1)
        if len(calls) == 2:
            stop.set()
    assert runner.run(runner.Experiment(config, out), step_budget=300, stop=stop, progress=progress) == "stopped"
    saved = json.load(open(out))
    assert not saved["complete"]
    resumed = runner.Experiment(config, out)
    assert runner.run(resumed, step_budget=10**6) == "complete"
    strip = lambda recs: [r | {"cpu_s": 0} for r in recs]  # noqa: E731
    assert strip(resumed.records()) == strip(whole.records())
    assert json.load(open(out))["summary"] == whole.results()["summary"]


@pytest.mark.parametrize("argv,message", [
    (["--task", "cnto", "--variant", "lstm1997"], "not a variant of --task cnto"),
    (["--runs", "0"], "--runs: expected a positive integer"),
    (["--tolerance", "0.7"], "--tolerance: expected a number in (0, 0.5]"),
    (["--between", "ones"], "invalid choice: 'ones'"),
    (["--out", "/nonexistent-dir/x.json"], "the directory of --out does not exist"),
])
def test_bad_arguments_give_one_line_errors(argv, message, capsys, tmp_path):
    if "--out" not in argv:
        argv = argv + ["--out", str(tmp_path / "x.json")]
    with pytest.raises(SystemExit) as e:
        cli.main(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert message in err[-1] and err[-1].startswith("python -m lstm_lit.nto: error:")


def test_resume_with_other_arguments_is_refused(tmp_path, capsys):
    out = str(tmp_path / "r.json")
    args = ["--task", "nto", "--variant", "forget-b5", "--runs", "1", "--max-train", "2", "--n-test", "1",
            "--workers", "1", "--no-progress", "--out", out]
    assert cli.main(args) == 0
    with pytest.raises(SystemExit):
        cli.main(args[:-3] + ["--seed", "1", "--out", out])
    assert "different configuration" in capsys.readouterr().err
