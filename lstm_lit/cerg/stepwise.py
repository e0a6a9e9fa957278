"""The previous CERG engine, kept as the reference: Python steps a batch of networks one symbol at a time.

At every time step Python calls the batched training kernel (:func:`lstm_lit.network.LSTMNetwork.train_step`) for
all networks of a batch, and networks that are being tested learn at rate 0; all bookkeeping (windows of stream
symbols, stream ends, tests, slots) is NumPy and Python.  It tests every network fully after every training stream
(the paper's literal protocol).  It is slow (see ``benchmarks/bench_cerg.py``) and is kept for two reasons: the
compiled engine (:mod:`lstm_lit.cerg.engine`) must reproduce it bit for bit (``tests/test_engine.py``), and the
benchmark measures the speed-up against it.  It draws the same keyed streams (:mod:`lstm_lit.cerg.streams`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from ..network import LSTMNetwork
from . import streams
from .engine import initial_weights
from .protocol import SIZES, VARIANTS, correct

WINDOW = 64               # symbols of each network's stream held in the batched window


@dataclass
class NetRecord:
    """Bookkeeping and results of one network."""

    net: int
    streams: int = 0                 # training streams finished
    train_steps: int = 0
    test_steps: int = 0
    test_lengths: list = field(default_factory=list)        # the current / last test
    mean_test_length: float | None = None                   # of the last finished test
    outcome: str | None = None                              # "perfect" / "good" / "rest" when finished

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
        self.automaton = streams.Automaton(config.outer_be)
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
        self.streams = [None] * size            # the current KeyedStream of each slot
        self.bases = [None] * size              # (training, test) stream bases of each slot's network

    def _refill(self, slot):
        idx, tgt, st = self.streams[slot].take(WINDOW)
        self.win_idx[slot], self.win_tgt[slot], self.win_start[slot] = idx, tgt, st
        self.win_pos[slot], self.win_len[slot] = 0, WINDOW

    def _start_stream(self, slot, phase):
        """Open the stream of ``phase`` (0: training, k: test stream k) after the slot's finished training streams;
        the caller resets the slot's state and traces."""
        rec = self.records[int(self.slot_net[slot])]
        self.phase[slot] = phase
        self.stream_len[slot] = self.stream_pos[slot] = 0
        self.alpha[slot] = self.config.alpha0 if phase == TRAIN else 0.0
        self.cap[slot] = self.config.train_cap if phase == TRAIN else self.config.test_cap
        base = self.bases[slot][0 if phase == TRAIN else 1]
        s = rec.streams + 1   # training stream s, or the test after it
        self.streams[slot] = streams.KeyedStream(base, s, 0 if phase == TRAIN else phase - 1, self.automaton)
        self._refill(slot)

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
        for name, w in initial_weights(self.config, j).items():
            self.net.weights[name][slot] = w
        self.bases[slot] = streams.stream_bases(self.config.seed, j)
        self._start_stream(slot, TRAIN)

    def _finish_net(self, slot, outcome):
        rec = self.records[int(self.slot_net[slot])]
        rec.outcome = outcome
        self.final_weights[rec.net] = {n: w[slot].copy() for n, w in self.net.weights.items()}
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
                     "win_pos", "win_len"):
            setattr(self, name, old[name][keep].copy())
        self.streams = [old["streams"][k] for k in keep]
        self.bases = [old["bases"][k] for k in keep]

    # --- the loop ---------------------------------------------------------------------------------------------
    @property
    def done(self):
        return self.next_net >= self.config.runs and not np.any(self.slot_net >= 0)

    def start(self):
        for slot in range(self.batch):
            if self.slot_net[slot] < 0:
                self._start_net(slot)
        self.net.reset()

    def run(self):
        """Step until every network has finished; return self."""
        cfg = self.config
        eye = np.eye(7)
        if self.next_net == 0:
            self.start()
        while not self.done:
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
                for slot in np.flatnonzero(ended):
                    self._end_stream(slot)
                self.net.reset(ended)       # every new stream (and network) starts from zero state and traces
            if self.next_net >= cfg.runs and 1 < self.net.batch and 2 * np.sum(self.slot_net >= 0) <= self.net.batch:
                self._compact()
        return self


def run_experiment(config, batch=None):
    """All networks of ``config``, stepped together in batches of ``batch``; returns the finished :class:`CergRun`
    (``records``: net -> :class:`NetRecord`, ``final_weights``: net -> {name: array})."""
    return CergRun(config, batch=batch).run()
