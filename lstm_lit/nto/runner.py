"""All networks of an NTO or continual-NTO run: in this process, local processes or a Dask cluster, with the
checkpoint and results files of the CERG runner (:mod:`lstm_lit.cerg.runner`, whose file and executor helpers this
reuses): ``OUT`` (JSON, one compact record per network and the summary) and ``OUT.ckpt.npz`` (the records plus
every network's current weights), both rewritten atomically whenever a network finishes and at least every
``checkpoint_every`` seconds.  Running the same command again resumes; the results do not depend on the number of
workers, the scheduler, the step budget or interruptions.
"""

from __future__ import annotations

import concurrent.futures as cf
import io
import json
import multiprocessing
import os
import time

import numpy as np

from ..cerg.runner import (ConfigMismatch, StopRequested, _atomic_write, _InProcess, _shutdown,  # noqa: F401
                           _worker_init, checkpoint_path)
from .engine import DEFAULT_STEP_BUDGET, NetworkRun, advance
from .protocol import VARIANT_LABELS, Config, summarize

FORMAT = "lstm-lit-nto-1"


class Experiment:
    """The networks of one run (config) and its two files (``out`` and ``out.ckpt.npz``)."""

    def __init__(self, config, out=None, fresh=False):
        if not isinstance(config, Config):
            raise TypeError(f"config must be a lstm_lit.nto.Config, got {type(config).__name__}")
        self.config = config.validate()
        self.out = out
        self.runs = {}
        self.elapsed_s = 0.0
        if out and os.path.exists(checkpoint_path(out)) and not fresh:
            self._load()

    def _load(self):
        path = checkpoint_path(self.out)
        try:
            with np.load(path) as z:
                meta = json.loads(str(z["meta"]))
                arrays = {k: z[k] for k in z.files if k != "meta"}
        except Exception as e:  # noqa: BLE001
            raise ValueError(f"cannot read checkpoint {path} ({e}); use --fresh to start again") from None
        if meta.get("format") != FORMAT:
            raise ConfigMismatch(f"{path} was written by another version of the engine (format "
                                 f"{meta.get('format')!r}, expected {FORMAT!r}); use --fresh or another --out")
        if Config(**meta["config"]) != self.config:
            raise ConfigMismatch(f"{path} belongs to a different configuration ({meta['config']}); use the same "
                                 "arguments to resume, --fresh to start again, or another --out")
        self.elapsed_s = meta.get("elapsed_s") or 0.0
        for rec in meta["records"]:
            net = rec["net"]
            weights = {k.split("/")[2]: v for k, v in arrays.items() if k.startswith(f"weights/{net}/")}
            self.runs[net] = NetworkRun(weights=weights, **rec)

    def run_of(self, net):
        if net not in self.runs:
            self.runs[net] = NetworkRun.new(self.config, net)
        return self.runs[net]

    def unfinished(self):
        return [j for j in range(self.config.runs) if self.run_of(j).outcome is None]

    @property
    def complete(self):
        return len(self.runs) == self.config.runs and all(r.outcome for r in self.runs.values())

    def records(self):
        return [self.runs[j].record() for j in sorted(self.runs)]

    def results(self, elapsed_s=None, workers=None):
        nets = self.records()
        return {"format": FORMAT, "config": self.config.to_json(), "variant_label": VARIANT_LABELS[self.config.variant],
                "complete": self.complete, "elapsed_s": elapsed_s, "workers": workers,
                "cpu_s": float(sum(n["cpu_s"] for n in nets)), "networks": nets,
                "summary": summarize(self.config, nets)}

    def save(self, elapsed_s=None, workers=None):
        """Write the checkpoint, then the results JSON (each atomically)."""
        if not self.out:
            return
        meta = {"format": FORMAT, "config": self.config.to_json(), "elapsed_s": elapsed_s, "records": self.records()}
        arrays = {f"weights/{j}/{name}": w for j, r in self.runs.items() for name, w in r.weights.items()}
        buf = io.BytesIO()
        np.savez_compressed(buf, meta=np.array(json.dumps(meta)), **arrays)
        _atomic_write(checkpoint_path(self.out), buf.getvalue())
        _atomic_write(self.out, (json.dumps(self.results(elapsed_s, workers), separators=(",", ":")) + "\n").encode())


def run(experiment, workers=1, scheduler=None, step_budget=DEFAULT_STEP_BUDGET, checkpoint_every=60.0, stop=None,
        progress=None):
    """Run every unfinished network of ``experiment`` to its outcome, or until ``stop`` is set.  Returns
    ``"complete"``, ``"stopped"`` or ``"worker lost"``; ``progress(experiment)`` is called whenever a task returns."""
    if not isinstance(experiment, Experiment):
        raise TypeError(f"experiment must be a lstm_lit.nto.Experiment, got {type(experiment).__name__}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive integer, got {workers!r}")
    stop = stop if stop is not None else StopRequested()
    config = experiment.config
    t0 = time.perf_counter()
    elapsed = lambda: experiment.elapsed_s + time.perf_counter() - t0  # noqa: E731
    label = scheduler or workers
    todo = experiment.unfinished()
    if not todo:
        return "complete"
    client = None
    if scheduler:
        from distributed import Client
        try:
            client = Client(scheduler, timeout=10)
        except (OSError, TimeoutError, ValueError) as e:
            raise OSError(f"cannot reach the Dask scheduler at {scheduler!r}: {e}") from None
        executor = client.get_executor()
    elif workers > 1:
        executor = cf.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                          initializer=_worker_init)
    else:
        executor = _InProcess()
    limit = config.runs if scheduler else 2 * workers if workers > 1 else 1
    in_flight = {}
    status = "complete"
    last_save = time.perf_counter()
    try:
        while todo or in_flight:
            if stop:
                status = "stopped"
                break
            while todo and len(in_flight) < limit:
                j = todo.pop(0)
                in_flight[executor.submit(advance, config, experiment.runs[j], step_budget)] = j
            if isinstance(executor, _InProcess):
                done = [executor.next_done()]
            else:
                done, _ = cf.wait(list(in_flight), timeout=0.5, return_when=cf.FIRST_COMPLETED)
            finished = False
            for f in done:
                j = in_flight.pop(f)
                try:
                    new = f.result()
                except cf.process.BrokenProcessPool:
                    status = "worker lost"
                    break
                experiment.runs[j] = new
                if new.outcome is None:
                    todo.insert(0, j)
                else:
                    finished = True
            if status != "complete":
                break
            if progress and done:
                progress(experiment)
            if finished or time.perf_counter() - last_save > checkpoint_every:
                experiment.save(elapsed(), label)
                last_save = time.perf_counter()
    finally:
        experiment.save(elapsed(), label)
        _shutdown(executor)
        if client is not None:
            client.close()
    return status
