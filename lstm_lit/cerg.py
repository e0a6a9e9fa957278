"""The continual embedded Reber grammar (CERG) experiment of Gers, Schmidhuber & Cummins (2000), batched.

Protocol (section 4 of the paper, Table 2)
------------------------------------------
* Each network is the paper's CERG net (7 inputs, 4 blocks of 2 cells, 7 outputs, 424 weights; see
  :mod:`lstm_lit.connectivity`), initialised as in the paper (:meth:`LSTMNetwork.initialise`).
* A **training stream** is a fresh continual embedded Reber stream (:mod:`lstm_lit.reber`).  The network is
  updated online at every step (truncated RTRL, equation (16)) and the stream stops at the first wrong prediction
  or when ``train_cap`` symbols have been predicted correctly (paper: 10^5).  The learning rate is ``alpha0`` (0.5)
  at the start of every training stream; with alpha-decay it is multiplied by 0.99 after every step.
* After every training stream the network is **tested** on ``n_test`` (10) fresh streams without learning; each
  runs until its first wrong prediction or ``test_cap`` correct predictions.  (``test_every`` > 1 tests after
  every ``test_every``-th training stream only; training streams come from their own source, so the training
  trajectory is the same, and a network is judged at the tests it gets.)  A stream's *error-free length* is
  the number of symbols predicted correctly before the first error.
* **perfect**: all test streams of one test reach ``test_cap`` (the run stops).  Otherwise the run stops after
  ``max_streams`` training streams (paper: 30,000) and the network is **good** if the mean error-free length of its
  last test exceeds ``good_threshold`` (1000), else it is in the **rest**.
* Every stream (training or test) starts from the zero state with zero traces.  The variant ``"reset"`` also
  resets state and traces at the start of every embedded string (the 1997 LSTM's *external reset*).

Correctness of a prediction
---------------------------
The paper: "the prediction is correct if all output units are within 0.49 of their targets".  ``criterion``:

* ``"abs"`` (default): ``|y_m - t_m| < 0.49`` for every output unit m.  This is the literal reading of "every
  output unit within 0.49 of its target", and it is the one that makes 0.49 meaningful: with sigmoid outputs in
  (0, 1) and 0/1 targets it says "every unit is on the right side of 0.5, with a margin of 0.01".
* ``"sq"``: ``(y_m - t_m)^2 < 0.49`` for every unit, i.e. every unit within 0.7 (a weaker test).
* ``"mse"``: ``mean_m (y_m - t_m)^2 < 0.49`` (the seed notes' reading; much weaker still: one unit can be
  entirely wrong).

Batching, randomness and resumption
-----------------------------------
Up to ``batch`` networks share one :class:`~lstm_lit.network.LSTMNetwork`; every network has its own phase
(training, or test stream 1..10), its own stream and its own learning rate, so the batch never waits.  A finished
network's slot is given to the next network of the run; when no networks are left to start and the batch is less
than half full it is compacted.  All randomness is derived from the run seed by :class:`numpy.random.SeedSequence`
with spawn keys ``(net,)`` (weights), ``(net, 1)`` (the source of all its training streams, cut one after the other
from one endless stream, see :class:`StreamSource`) and ``(net, 2)`` (of all its test streams), so a network's results do not depend on the batch it ran in or on interruptions (checked in
``tests/test_cerg.py``).  A checkpoint holds every active network's weights, state, traces, learning rate and
stream-source positions; resuming regenerates the current chunk of each source and continues at the saved position.

Command line::

    python -m lstm_lit.cerg --variant forget --seed 0 --runs 10 --max-streams 100 \\
        --train-cap 100000 --test-cap 100000 --out runs/forget.json

writes the results to ``runs/forget.json`` and a checkpoint to ``runs/forget.json.ckpt.npz`` (both atomically); the
checkpoint also holds the final weights of every finished network (``final/<net>/<weight>``, see
:func:`final_weights`).
Ctrl-C or SIGTERM writes a checkpoint and exits; running the same command again resumes (the configuration must
match).  A hard kill (SIGKILL) loses at most ``--checkpoint-every`` seconds.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import signal
import sys
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from . import reber
from .network import LSTMNetwork

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
SIZES = dict(d_in=7, n_blk=4, d_blk=2, d_out=7)
WINDOW = 64               # symbols of each network's stream held in the batched window
FORMAT = "lstm-lit-cerg-1"


def correct(y, target, criterion="abs", tolerance=0.49):
    """Boolean array (batch,): is each network's prediction ``y`` (batch, 7) correct for ``target``?

    ``criterion`` is ``"abs"`` (every unit: |y - t| < tolerance; the default), ``"sq"`` (every unit:
    (y - t)^2 < tolerance) or ``"mse"`` (mean over units of (y - t)^2 < tolerance); see the module docstring.
    """
    err = np.asarray(y) - np.asarray(target)
    if criterion == "abs":
        return np.all(np.abs(err) < tolerance, axis=-1)
    if criterion == "sq":
        return np.all(err * err < tolerance, axis=-1)
    if criterion == "mse":
        return np.mean(err * err, axis=-1) < tolerance
    raise ValueError(f"unknown criterion {criterion!r}; choose one of {CRITERIA}")


@dataclass
class Config:
    """Everything that defines a CERG run (results are a function of this alone)."""

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
    test_every: int = 1   #: test after every ``test_every``-th training stream (paper: 1)

    def validate(self):
        if self.variant not in VARIANTS:
            raise ValueError(f"unknown variant {self.variant!r}; choose one of {sorted(VARIANTS)}")
        if self.criterion not in CRITERIA:
            raise ValueError(f"unknown criterion {self.criterion!r}; choose one of {CRITERIA}")
        for name in ("runs", "max_streams", "train_cap", "test_cap", "n_test", "test_every"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")
        for name in ("tolerance", "alpha0"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and np.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number, got {value!r}")
        return self


# ----------------------------------------------------------------------------------------------------------------
# Streams


def stream_rng(seed, net, kind):
    """The Generator of network ``net``'s streams: ``kind`` 1 = training streams, 2 = test streams."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(net, kind)))


class StreamSource:
    """An endless continual embedded Reber stream (:func:`lstm_lit.reber.iter_continual_stream`, chunks of
    ``STRINGS_PER_CHUNK`` strings) from which one network's streams are cut, one after the other.

    A new stream begins at the first embedded-string start at or after the position reached so far (the rest of an
    interrupted string is skipped).  Embedded strings are independent, so each stream is a fresh continual stream;
    starting one costs almost nothing, which matters because the protocol opens millions of streams, most of which
    end after a few symbols.  The position is ``(Generator state before the current chunk, offset in the chunk)``,
    which is all a checkpoint needs.
    """

    STRINGS_PER_CHUNK = 256   # about 3000 symbols

    def __init__(self, rng, outer_be=True, position=None):
        self.rng, self.outer_be = rng, bool(outer_be)
        if position is not None:
            rng.bit_generator.state = position[0]
        self._next_chunk()
        if position is not None:
            self.at = int(position[1])

    def _next_chunk(self):
        self.chunk_state = self.rng.bit_generator.state
        chunk = next(reber.iter_continual_stream(self.rng, outer_be=self.outer_be,
                                                 strings_per_chunk=self.STRINGS_PER_CHUNK))
        self.idx, self.tgt, self.starts = chunk.indices, chunk.targets, chunk.string_starts
        self.flags = np.zeros(len(chunk), bool)
        self.flags[chunk.string_starts] = True
        self.at = 0

    def position(self, unread=0):
        """Where the source stands if the last ``unread`` symbols handed out are given back."""
        return self.chunk_state, self.at - unread

    def new_stream(self, unread=0):
        """Give back ``unread`` symbols and move to the next embedded-string start."""
        self.at -= unread
        k = int(np.searchsorted(self.starts, self.at))
        if k < self.starts.size:
            self.at = int(self.starts[k])
        else:
            self._next_chunk()

    def take(self, n):
        """The next (at most ``n``) symbols: (unit indices, multi-hot targets, embedded-string-start flags); never
        crosses a chunk boundary."""
        if self.at >= self.idx.size:
            self._next_chunk()
        sl = slice(self.at, min(self.at + n, self.idx.size))
        self.at = sl.stop
        return self.idx[sl], self.tgt[sl], self.flags[sl]


# ----------------------------------------------------------------------------------------------------------------
# The batched runner


@dataclass
class NetRecord:
    """Bookkeeping and results of one network."""

    net: int
    streams: int = 0                 # training streams finished
    train_steps: int = 0
    test_steps: int = 0
    train_lengths_tail: list = field(default_factory=list)  # error-free lengths of the last 100 training streams
    test_lengths: list = field(default_factory=list)        # the current / last test
    mean_test_length: float | None = None                   # of the last finished test
    best_mean_test_length: float = 0.0
    first_good_stream: int | None = None                    # first training stream whose test mean > threshold
    history: list = field(default_factory=list)             # [streams, mean test length] whenever the best improves
    outcome: str | None = None                              # "perfect" / "good" / "rest" when finished
    wall_s: float = 0.0                                      # wall time while the network occupied a batch slot

    def to_json(self):
        return asdict(self)


TRAIN = 0  # phase 0 = training; phase i in 1..n_test = test stream i


class CergRun:
    """A CERG run of ``config.runs`` networks, at most ``batch`` at a time (see the module docstring)."""

    def __init__(self, config, batch=None):
        self.config = config.validate()
        fg, decay, self.external_reset, self.alpha_decay = VARIANTS[config.variant]
        self.net_kwargs = dict(SIZES, forget_gates=fg, connectivity="cerg", state_decay=decay)
        self.batch = min(int(batch or min(config.runs, 64)), config.runs)
        self.records = {}          # net -> NetRecord
        self.final_weights = {}    # net -> {weight name: array} of finished networks
        self.next_net = 0          # the next network to start
        self.slot_net = np.full(self.batch, -1)
        self.finished_streams = 0
        self._init_net = LSTMNetwork(**self.net_kwargs, batch=1)
        self._new_batch(self.batch)

    # --- slots ------------------------------------------------------------------------------------------------
    def _new_batch(self, size):
        self.net = LSTMNetwork(**self.net_kwargs, batch=size)
        self.phase = np.zeros(size, np.int64)
        self.stream_len = np.zeros(size, np.int64)   # correct predictions so far in the current stream
        self.stream_pos = np.zeros(size, np.int64)   # symbols consumed so far in the current stream
        self.alpha = np.zeros(size)
        self.cap = np.ones(size, np.int64)
        self.win_idx = np.zeros((size, WINDOW), np.int64)
        self.win_tgt = np.zeros((size, WINDOW, 7))
        self.win_start = np.zeros((size, WINDOW), bool)
        self.win_pos = np.zeros(size, np.int64)
        self.win_len = np.ones(size, np.int64)
        self.sources = [None] * size            # (training StreamSource, test StreamSource) per slot
        self.slot_t0 = np.zeros(size)

    def _source(self, slot):
        return self.sources[slot][0 if self.phase[slot] == TRAIN else 1]

    def _unread(self, slot):
        return int(self.win_len[slot] - self.win_pos[slot])

    def _open_stream(self, slot):
        """Open the next stream of the current phase of ``slot``."""
        cfg = self.config
        self._source(slot).new_stream()
        self.cap[slot] = cfg.train_cap if self.phase[slot] == TRAIN else cfg.test_cap
        self._refill(slot)

    def _refill(self, slot):
        idx, tgt, st = self._source(slot).take(WINDOW)
        n = idx.size
        self.win_idx[slot, :n], self.win_tgt[slot, :n], self.win_start[slot, :n] = idx, tgt, st
        self.win_pos[slot], self.win_len[slot] = 0, n

    def _start_stream(self, slot, phase):
        if self.slot_net[slot] >= 0 and self.sources[slot] is not None and self.win_len[slot] > 0:
            self._source(slot).at -= self._unread(slot)   # give back the symbols read ahead
            self.win_len[slot] = self.win_pos[slot] = 0
        self.phase[slot] = phase
        self.stream_len[slot] = self.stream_pos[slot] = 0
        self.alpha[slot] = self.config.alpha0 if phase == TRAIN else 0.0
        self._open_stream(slot)   # the caller resets the slot's state and traces

    def _start_net(self, slot):
        """Give ``slot`` to the next network of the run (or leave it empty)."""
        if self.next_net >= self.config.runs:
            self.slot_net[slot] = -1
            self.alpha[slot] = 0.0
            return
        j = self.next_net
        self.next_net += 1
        self.slot_net[slot] = j
        self.records[j] = NetRecord(net=j)
        one = self._init_net
        one.initialise(np.random.default_rng(np.random.SeedSequence(self.config.seed, spawn_key=(j,))))
        for name, w in one.weights.items():
            self.net.weights[name][slot] = w[0]
        self.sources[slot] = tuple(StreamSource(stream_rng(self.config.seed, j, kind), self.config.outer_be)
                                   for kind in (1, 2))
        self.win_len[slot] = self.win_pos[slot] = 0
        self.slot_t0[slot] = time.perf_counter()
        self._start_stream(slot, TRAIN)

    def _finish_net(self, slot, outcome):
        rec = self.records[int(self.slot_net[slot])]
        rec.outcome = outcome
        self.final_weights[rec.net] = {n: w[slot].copy() for n, w in self.net.weights.items()}
        rec.wall_s += time.perf_counter() - self.slot_t0[slot]
        self._start_net(slot)

    def _end_stream(self, slot):
        """Bookkeeping when the current stream of ``slot`` ends; starts the next stream or network."""
        cfg, rec = self.config, self.records[int(self.slot_net[slot])]
        length, ph = int(self.stream_len[slot]), int(self.phase[slot])
        if ph == TRAIN:
            rec.train_steps += int(self.stream_pos[slot])
        else:
            rec.test_steps += int(self.stream_pos[slot])
        if ph == TRAIN:
            rec.train_lengths_tail = (rec.train_lengths_tail + [length])[-100:]
            if (rec.streams + 1) % cfg.test_every and rec.streams + 1 < cfg.max_streams:  # no test after this one
                rec.streams += 1
                self.finished_streams += 1
                self._start_stream(slot, TRAIN)
                return
            rec.test_lengths = []
            self._start_stream(slot, 1)
            return
        rec.test_lengths.append(length)
        if ph < cfg.n_test:
            self._start_stream(slot, ph + 1)
            return
        # a test has finished
        rec.streams += 1
        mean = float(np.mean(rec.test_lengths))
        rec.mean_test_length = mean
        if mean > cfg.good_threshold and rec.first_good_stream is None:
            rec.first_good_stream = rec.streams
        if mean > rec.best_mean_test_length:
            rec.best_mean_test_length = mean
            rec.history.append([rec.streams, mean])
        self.finished_streams += 1
        if all(n >= cfg.test_cap for n in rec.test_lengths):
            self._finish_net(slot, "perfect")
        elif rec.streams >= cfg.max_streams:
            self._finish_net(slot, "good" if mean > cfg.good_threshold else "rest")
        else:
            self._start_stream(slot, TRAIN)

    def _compact(self):
        keep = np.flatnonzero(self.slot_net >= 0)
        old = self.__dict__.copy()
        old_net = self.net
        self._new_batch(max(keep.size, 1))
        if keep.size == 0:
            self.slot_net = np.full(1, -1)
            return
        for d_new, d_old in ((self.net.weights, old_net.weights), (self.net.state, old_net.state),
                             (self.net.traces, old_net.traces)):
            for name in d_new:
                d_new[name] = d_old[name][keep].copy()
        self.slot_net = old["slot_net"][keep]
        for name in ("phase", "stream_len", "stream_pos", "alpha", "cap", "win_idx", "win_tgt", "win_start",
                     "win_pos", "win_len", "slot_t0"):
            setattr(self, name, old[name][keep].copy())
        self.sources = [old["sources"][k] for k in keep]

    # --- the loop ---------------------------------------------------------------------------------------------
    @property
    def done(self):
        return self.next_net >= self.config.runs and not np.any(self.slot_net >= 0)

    def start(self):
        for slot in range(self.batch):
            if self.slot_net[slot] < 0:
                self._start_net(slot)
        self.net.reset()

    def run(self, stop_after_streams=None, checkpoint=None, checkpoint_every=60.0, progress=None):
        """Step until every network has finished (or ``stop_after_streams`` training streams+tests have finished in
        this call: then return ``False``).  ``checkpoint(run)`` is called every ``checkpoint_every`` seconds."""
        cfg = self.config
        eye = np.eye(7)
        self.finished_streams = 0
        last_ckpt = time.perf_counter()
        if self.next_net == 0:
            self.start()
        while not self.done:
            if stop_after_streams is not None and self.finished_streams >= stop_after_streams:
                return False
            live = self.slot_net >= 0
            ar = np.arange(self.net.batch)
            wp = self.win_pos
            x = eye[self.win_idx[ar, wp]]
            target = self.win_tgt[ar, wp]
            if self.external_reset:
                boundary = self.win_start[ar, wp] & live
                if boundary.any():
                    self.net.reset(boundary)
            training = live & (self.phase == TRAIN)
            # forward, traces, gradients and (16) in one compiled call; networks that are testing learn at rate 0
            y = self.net.train_step(x, target, np.where(training, self.alpha, 0.0))
            ok = correct(y, target, cfg.criterion, cfg.tolerance)
            if self.alpha_decay != 1.0:
                self.alpha[training] *= self.alpha_decay
            self.stream_len += ok & live
            self.stream_pos += 1
            self.win_pos += 1
            self.win_pos[~live] = 0
            ended = live & (~ok | (self.stream_len >= self.cap))
            for slot in np.flatnonzero(live & ~ended & (self.win_pos >= self.win_len)):
                self._refill(slot)
            if ended.any():
                before = self.finished_streams
                for slot in np.flatnonzero(ended):
                    self._end_stream(slot)
                self.net.reset(ended)       # every new stream (and network) starts from zero state and traces
                if progress is not None and self.finished_streams > before:
                    progress(self.finished_streams - before)
            if self.next_net >= cfg.runs and 1 < self.net.batch and 2 * np.sum(self.slot_net >= 0) <= self.net.batch:
                self._compact()
            if checkpoint is not None and time.perf_counter() - last_ckpt > checkpoint_every:
                checkpoint(self)
                last_ckpt = time.perf_counter()
        return True

    # --- results and checkpoints ------------------------------------------------------------------------------
    def results(self, elapsed_s=None):
        """JSON-able results: config, per-network records (finished and unfinished) and a Table-2 summary."""
        nets = [self.records[j].to_json() for j in sorted(self.records)]
        return {"format": FORMAT, "config": asdict(self.config), "variant_label": VARIANT_LABELS[self.config.variant],
                "complete": self.done, "elapsed_s": elapsed_s, "networks": nets, "summary": summarize(nets)}

    def _source_position(self, slot, kind):
        active = (0 if self.phase[slot] == TRAIN else 1) == kind
        state, at = self.sources[slot][kind].position(self._unread(slot) if active else 0)
        return [_jsonable(state), int(at)]

    def state_dict(self):
        """Everything needed to continue exactly: arrays of the active networks plus the records."""
        live = np.flatnonzero(self.slot_net >= 0)
        now = time.perf_counter()
        records = {j: r.to_json() for j, r in self.records.items()}
        for slot in live:   # wall time so far of running networks
            records[int(self.slot_net[slot])]["wall_s"] += now - self.slot_t0[slot]
        meta = {"format": FORMAT, "config": asdict(self.config), "next_net": self.next_net,
                "records": [records[j] for j in sorted(records)],
                "slots": [int(self.slot_net[s]) for s in live],
                "sources": [[self._source_position(s, k) for k in (0, 1)] for s in live]}
        arrays = {}
        for group, d in (("w", self.net.weights), ("s", self.net.state), ("t", self.net.traces)):
            for name, arr in d.items():
                arrays[f"{group}/{name}"] = arr[live]
        for name in ("phase", "stream_len", "stream_pos", "alpha"):
            arrays[name] = getattr(self, name)[live]
        for j, ws in self.final_weights.items():
            for name, w in ws.items():
                arrays[f"final/{j}/{name}"] = w
        return meta, arrays

    @classmethod
    def from_state(cls, meta, arrays, batch=None):
        config = Config(**meta["config"])
        run = cls(config, batch=batch)
        run.records = {r["net"]: NetRecord(**r) for r in meta["records"]}
        run.next_net = meta["next_net"]
        for key, w in arrays.items():
            if key.startswith("final/"):
                _, j, name = key.split("/")
                run.final_weights.setdefault(int(j), {})[name] = w
        slots = meta["slots"]
        if len(slots) > run.batch:
            run._new_batch(len(slots))
            run.batch = len(slots)
        run.slot_net = np.full(run.batch, -1)
        for name in ("phase", "stream_len", "stream_pos", "alpha"):
            getattr(run, name)[:len(slots)] = arrays[name]
        for group, d in (("w", run.net.weights), ("s", run.net.state), ("t", run.net.traces)):
            for name in d:
                d[name][:len(slots)] = arrays[f"{group}/{name}"]
        now = time.perf_counter()
        for slot, (j, positions) in enumerate(zip(slots, meta["sources"])):
            run.slot_net[slot] = j
            run.slot_t0[slot] = now
            run.sources[slot] = tuple(
                StreamSource(stream_rng(config.seed, j, kind), config.outer_be, (_from_jsonable(st), at))
                for kind, (st, at) in zip((1, 2), positions))
            run.cap[slot] = config.train_cap if run.phase[slot] == TRAIN else config.test_cap
            run._refill(slot)
        fresh = np.zeros(run.batch, bool)
        for slot in range(len(slots), run.batch):   # free slots: the next networks
            run._start_net(slot)
            fresh[slot] = True
        run.net.reset(fresh)
        return run


def _jsonable(state):
    """A bit generator's state with its big integers as strings (JSON has no big integers)."""
    return json.loads(json.dumps(state, default=str), parse_int=str)


def _from_jsonable(state):
    def conv(v):
        if isinstance(v, dict):
            return {k: conv(x) for k, x in v.items()}
        return int(v) if isinstance(v, str) and v.lstrip("-").isdigit() else v
    return conv(state)


def summarize(nets):
    """Table 2 from per-network records: fraction and mean training streams of perfect nets, fraction and mean
    error-free test length of good nets and of the rest (finished networks only)."""
    done = [n for n in nets if n["outcome"]]
    out = {"finished": len(done)}
    for cls in ("perfect", "good", "rest"):
        sel = [n for n in done if n["outcome"] == cls]
        out[cls] = {"count": len(sel), "fraction": len(sel) / len(done) if done else None,
                    "mean_streams": float(np.mean([n["streams"] for n in sel])) if sel else None,
                    "mean_test_length": float(np.mean([n["mean_test_length"] for n in sel])) if sel else None}
    return out


def run_experiment(config, batch=None, stop_after_streams=None, resume_from=None):
    """Run (or continue from ``resume_from=(meta, arrays)``) in memory; returns the :class:`CergRun`."""
    run = CergRun.from_state(*resume_from, batch=batch) if resume_from else CergRun(config, batch=batch)
    run.run(stop_after_streams=stop_after_streams)
    return run


# ----------------------------------------------------------------------------------------------------------------
# Files


def _atomic_write(path, data: bytes):
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def checkpoint_path(out):
    return f"{out}.ckpt.npz"


def save(run, out, elapsed_s=None):
    """Write the checkpoint, then the results JSON (both atomically)."""
    meta, arrays = run.state_dict()
    meta["elapsed_s"] = elapsed_s
    buf = io.BytesIO()
    np.savez(buf, meta=np.array(json.dumps(meta)), **arrays)
    _atomic_write(checkpoint_path(out), buf.getvalue())
    _atomic_write(out, (json.dumps(run.results(elapsed_s), indent=1) + "\n").encode())


def load_checkpoint(out):
    with np.load(checkpoint_path(out)) as z:
        meta = json.loads(str(z["meta"]))
        arrays = {k: z[k] for k in z.files if k != "meta"}
    return meta, arrays


def final_weights(out, include_active=False):
    """{net: {weight name: array}} of the finished networks of the run written to ``out`` (with
    ``include_active``: also the current weights of networks still training)."""
    meta, arrays = load_checkpoint(out)
    result = {}
    if include_active:
        for slot, j in enumerate(meta["slots"]):
            result[j] = {key[2:]: w[slot] for key, w in arrays.items() if key.startswith("w/")}
    for key, w in arrays.items():
        if key.startswith("final/"):
            _, j, name = key.split("/")
            result.setdefault(int(j), {})[name] = w
    return result


# ----------------------------------------------------------------------------------------------------------------
# Command line


def _typed(convert, ok, what):
    """An argparse type: ``convert`` the text, and reject it with a message naming ``what`` unless ``ok``."""
    def parse(text):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if not ok(value):
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return value
    parse.__name__ = what  # argparse names the type in its messages
    return parse


_positive = _typed(int, lambda v: v >= 1, "a positive integer")
_non_negative = _typed(int, lambda v: v >= 0, "a non-negative integer")
_positive_float = _typed(float, lambda v: bool(np.isfinite(v) and v > 0), "a positive number")


def parser():
    p = argparse.ArgumentParser(prog="python -m lstm_lit.cerg", description=__doc__.split("\n")[0],
                                epilog="Re-running with the same --out resumes from its checkpoint.")
    p.add_argument("--variant", choices=sorted(VARIANTS), default="forget", help="Table 2 row")
    p.add_argument("--seed", type=_non_negative, default=0)
    p.add_argument("--runs", type=_positive, default=10, help="independent networks")
    p.add_argument("--max-streams", type=_positive, default=30000, help="training streams per network (paper 30000)")
    p.add_argument("--train-cap", type=_positive, default=100000, help="symbols per training stream (paper 1e5)")
    p.add_argument("--test-cap", type=_positive, default=100000, help="symbols per test stream (paper 1e5)")
    p.add_argument("--n-test", type=_positive, default=10, help="test streams per test (paper 10)")
    p.add_argument("--test-every", type=_positive, default=1,
                   help="test after every N-th training stream (paper 1; training is the same either way)")
    p.add_argument("--criterion", choices=CRITERIA, default="abs", help="correct prediction: see module docstring")
    p.add_argument("--tolerance", type=_positive_float, default=0.49)
    p.add_argument("--no-outer-be", action="store_true", help="the paper's extra experiment without outer B/E")
    p.add_argument("--batch", type=_positive, default=None, help="networks stepped together (default min(runs, 64))")
    p.add_argument("--out", required=True, help="results JSON (checkpoint: OUT.ckpt.npz)")
    p.add_argument("--checkpoint-every", type=_positive_float, default=60.0, help="seconds between checkpoints")
    p.add_argument("--fresh", action="store_true", help="ignore an existing checkpoint and start again")
    p.add_argument("--stop-after", type=_positive, default=None, help=argparse.SUPPRESS)  # testing: simulate a kill
    p.add_argument("--no-progress", action="store_true")
    return p


class _Terminated(Exception):
    pass


def main(argv=None):
    p = parser()
    args = p.parse_args(argv)
    config = Config(variant=args.variant, seed=args.seed, runs=args.runs, max_streams=args.max_streams,
                    train_cap=args.train_cap, test_cap=args.test_cap, n_test=args.n_test, test_every=args.test_every,
                    criterion=args.criterion, tolerance=args.tolerance, outer_be=not args.no_outer_be)
    try:
        config.validate()
    except ValueError as e:
        p.error(str(e))
    out_dir = os.path.dirname(os.path.abspath(args.out))
    if not os.path.isdir(out_dir):
        p.error(f"the directory of --out does not exist: {out_dir}")
    elapsed0 = 0.0
    if os.path.exists(checkpoint_path(args.out)) and not args.fresh:
        try:
            meta, arrays = load_checkpoint(args.out)
        except Exception as e:  # noqa: BLE001 - report any unreadable checkpoint plainly
            p.error(f"cannot read checkpoint {checkpoint_path(args.out)} ({e}); use --fresh to start again")
        if meta.get("format") != FORMAT or Config(**meta["config"]) != config:
            p.error(f"{checkpoint_path(args.out)} belongs to a different configuration ({meta.get('config')}); "
                    "use the same arguments to resume, --fresh to start again, or another --out")
        run = CergRun.from_state(meta, arrays, batch=args.batch)
        elapsed0 = meta.get("elapsed_s") or 0.0
        print(f"resuming {args.out}: {sum(r['outcome'] is not None for r in meta['records'])} of {config.runs} "
              "networks finished", file=sys.stderr)
    else:
        run = CergRun(config, batch=args.batch)
    t0 = time.perf_counter()
    elapsed = lambda: elapsed0 + time.perf_counter() - t0  # noqa: E731
    total = config.runs * config.max_streams
    done_streams = sum(r.streams for r in run.records.values())
    bar = None
    if not args.no_progress:
        from tqdm import tqdm
        bar = tqdm(total=total, initial=done_streams, unit="stream", desc=config.variant, file=sys.stderr)

    def progress(n):
        bar.update(n)
        nets = run.records.values()
        bar.set_postfix(perfect=sum(r.outcome == "perfect" for r in nets),
                        finished=sum(r.outcome is not None for r in nets), refresh=False)

    def on_term(signum, frame):
        raise _Terminated()

    old = signal.signal(signal.SIGTERM, on_term)
    finished = False
    try:
        finished = run.run(stop_after_streams=args.stop_after, checkpoint=lambda r: save(r, args.out, elapsed()),
                           checkpoint_every=args.checkpoint_every, progress=progress if bar else None)
    except (KeyboardInterrupt, _Terminated):
        save(run, args.out, elapsed())
        if bar:
            bar.close()
        print(f"interrupted: checkpoint written to {checkpoint_path(args.out)}; run the same command to resume",
              file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGTERM, old)
    save(run, args.out, elapsed())
    if bar:
        bar.close()
    if finished:
        print(json.dumps(run.results()["summary"]), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
