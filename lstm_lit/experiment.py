"""Running all networks of an experiment (CERG, :mod:`lstm_lit.cerg`; NTO and continual NTO, :mod:`lstm_lit.nto`):
in this process, in local worker processes, or on a Dask cluster; with a checkpoint that loses no finished network
and a results file written as networks finish.

Networks are independent, and a network between two training streams (or sequences) is a small ``NetworkRun`` of
its experiment's engine (its weights and record).  The unit of work is the engine's ``advance``: one network, a
bounded number of steps.  This process hands out those tasks, collects the new states, and owns every file:

* ``OUT`` (JSON): configuration, one record per network (finished or not) and the summary;
* ``OUT.ckpt.npz``: the same records plus every network's current weights.

Both are rewritten atomically whenever a network finishes (and at least every ``checkpoint_every`` seconds), so a
crash or a lost worker loses at most the unfinished work of the tasks that were running.  Running the same command
again resumes from the checkpoint; since every task starts from a saved state between two streams, and every stream
has its own key, a resumed run gives exactly the results of an uninterrupted one, with any number of workers.

Executors: ``workers=1`` runs in this process; ``workers=N`` uses :class:`concurrent.futures.ProcessPoolExecutor`;
``scheduler="tcp://host:8786"`` submits to an existing Dask distributed cluster (``dask.distributed.Client``).
No scheduling of our own: the executors do it.
"""

from __future__ import annotations

import concurrent.futures as cf
import io
import json
import multiprocessing
import os
import signal
import time

import numpy as np

STEP_BUDGET = 2_000_000   # network-steps per task: a few seconds, so that a stop request is honoured quickly

# ----------------------------------------------------------------------------------------------------------------
# Files


def checkpoint_path(out):
    return f"{out}.ckpt.npz"


def _atomic_write(path, data: bytes):
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class ConfigMismatch(ValueError):
    pass


class Experiment:
    """The networks of one run (config) and its two files (``out`` and ``out.ckpt.npz``).

    An experiment package subclasses this and names its parts: ``FORMAT`` (written into both files, and required
    of a checkpoint to resume), its ``engine`` (a module with ``NetworkRun`` and ``advance``) and ``protocol`` (a
    module with ``Config`` and ``VARIANT_LABELS``), ``results_json_options`` (the layout of the results JSON, as
    keyword arguments of :func:`json.dumps`) and :meth:`summary`.
    """

    FORMAT: str
    engine = None
    protocol = None
    results_json_options: dict

    def __init__(self, config, out=None, fresh=False):
        if self.protocol is None:
            raise TypeError("lstm_lit.experiment.Experiment is a base class: use lstm_lit.cerg.Experiment or "
                            "lstm_lit.nto.Experiment")
        if not isinstance(config, self.protocol.Config):
            raise TypeError(f"config must be a {self.protocol.__name__}.Config, "
                            f"got {type(config).__module__}.{type(config).__qualname__}")
        self.config = config.validate()
        self.out = out
        self.runs = {}              # net -> NetworkRun (started networks)
        self.elapsed_s = 0.0        # wall time of earlier sessions
        if out and os.path.exists(checkpoint_path(out)) and not fresh:
            self._load()

    def summary(self, nets):
        """The summary of the results file, from the records ``nets``."""
        raise NotImplementedError

    def _load(self):
        path = checkpoint_path(self.out)
        try:
            with np.load(path) as z:
                meta = json.loads(str(z["meta"]))
                arrays = {k: z[k] for k in z.files if k != "meta"}
        except Exception as e:  # noqa: BLE001 - any unreadable file gets the same plain message
            raise ValueError(f"cannot read checkpoint {path} ({e}); use --fresh to start again") from None
        if meta.get("format") != self.FORMAT:
            raise ConfigMismatch(f"{path} was written by another version of the engine (format "
                                 f"{meta.get('format')!r}, expected {self.FORMAT!r}); use --fresh or another --out")
        if self.protocol.Config(**meta["config"]) != self.config:
            raise ConfigMismatch(f"{path} belongs to a different configuration ({meta['config']}); use the same "
                                 "arguments to resume, --fresh to start again, or another --out")
        self.elapsed_s = meta.get("elapsed_s") or 0.0
        for rec in meta["records"]:
            net = rec["net"]
            weights = {k.split("/")[2]: v for k, v in arrays.items() if k.startswith(f"weights/{net}/")}
            self.runs[net] = self.engine.NetworkRun(weights=weights, **rec)

    # --- state -----------------------------------------------------------------------------------------------
    def run_of(self, net):
        if net not in self.runs:
            self.runs[net] = self.engine.NetworkRun.new(self.config, net)
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
        return {"format": self.FORMAT, "config": self.config.to_json(),
                "variant_label": self.protocol.VARIANT_LABELS[self.config.variant], "complete": self.complete,
                "elapsed_s": elapsed_s, "workers": workers, "cpu_s": float(sum(n["cpu_s"] for n in nets)),
                "networks": nets, "summary": self.summary(nets)}

    def save(self, elapsed_s=None, workers=None):
        """Write the checkpoint, then the results JSON (each atomically)."""
        if not self.out:
            return
        meta = {"format": self.FORMAT, "config": self.config.to_json(), "elapsed_s": elapsed_s,
                "records": self.records()}
        arrays = {f"weights/{j}/{name}": w for j, r in self.runs.items() for name, w in r.weights.items()}
        buf = io.BytesIO()
        np.savez_compressed(buf, meta=np.array(json.dumps(meta)), **arrays)
        _atomic_write(checkpoint_path(self.out), buf.getvalue())
        results = json.dumps(self.results(elapsed_s, workers), **self.results_json_options)
        _atomic_write(self.out, (results + "\n").encode())


# ----------------------------------------------------------------------------------------------------------------
# Running


class StopRequested:
    """A flag that a signal handler may set; the runner looks at it between tasks."""

    def __init__(self):
        self.signal = None

    def __bool__(self):
        return self.signal is not None

    def set(self, signum=signal.SIGINT, frame=None):
        self.signal = signum


def _worker_init():
    """Local workers leave Ctrl-C to the parent (which saves and stops them); they compute until told."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class _InProcess:
    """The executor interface for ``workers=1``: runs each task when its result is asked for."""

    def __init__(self):
        self.pending = []

    def submit(self, fn, *args):
        f = cf.Future()
        self.pending.append((f, fn, args))
        return f

    def next_done(self):
        f, fn, args = self.pending.pop(0)
        f.set_result(fn(*args))
        return f

    def shutdown(self, **kw):
        pass


def run(experiment, workers=1, scheduler=None, step_budget=STEP_BUDGET, checkpoint_every=60.0, stop=None,
        progress=None):
    """Run every unfinished network of ``experiment`` to its outcome, or until ``stop`` is set.

    Returns ``"complete"``, ``"stopped"`` (a stop was requested; everything finished so far is saved) or
    ``"worker lost"`` (a local worker process died; same).  ``progress(experiment)`` is called whenever a task
    returns.  The results do not depend on ``workers``, ``scheduler`` or ``step_budget`` (network-steps per task).
    """
    if not isinstance(experiment, Experiment):
        raise TypeError("experiment must be an Experiment (lstm_lit.cerg.Experiment, lstm_lit.nto.Experiment), "
                        f"got {type(experiment).__name__}")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a positive integer, got {workers!r}")
    stop = stop if stop is not None else StopRequested()
    config = experiment.config
    t0 = time.perf_counter()
    elapsed = lambda: experiment.elapsed_s + time.perf_counter() - t0  # noqa: E731
    label = scheduler or workers
    todo = experiment.unfinished()
    if not todo:   # nothing to do: leave the files as they are
        return "complete"
    client = None
    if scheduler:
        from distributed import Client   # only needed for a cluster
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
    limit = config.runs if scheduler else 2 * workers if workers > 1 else 1   # tasks handed out at once
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
                in_flight[executor.submit(experiment.engine.advance, config, experiment.runs[j], step_budget)] = j
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
                    todo.insert(0, j)   # continue it next, so that networks finish one after the other
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


def _shutdown(executor):
    if isinstance(executor, cf.ProcessPoolExecutor):
        processes = list(getattr(executor, "_processes", {}).values())
        executor.shutdown(wait=False, cancel_futures=True)
        for p in processes:   # running tasks are abandoned: their networks resume from the checkpoint
            p.terminate()
    elif isinstance(executor, _InProcess):
        executor.shutdown()
    else:   # a Dask ClientExecutor: cancel what is still queued or running
        executor.shutdown(wait=False)
