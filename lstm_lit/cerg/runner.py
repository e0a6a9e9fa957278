"""Running all networks of a CERG experiment (Table 2): the CERG parts of :mod:`lstm_lit.experiment`, which runs
them in this process, in local worker processes, or on a Dask cluster, with a checkpoint that loses no finished
network and a results file written as networks finish.

Networks are independent, and a network between two training streams is a small :class:`~lstm_lit.cerg.engine.
NetworkRun` (its weights and record).  The unit of work is :func:`~lstm_lit.cerg.engine.advance`: one network,
a bounded number of steps.  This process hands out those tasks, collects the new states, and owns every file:

* ``OUT`` (JSON): configuration, one record per network (finished or not) and the Table 2 summary;
* ``OUT.ckpt.npz``: the same records plus every network's current weights.

Running the same command again resumes from the checkpoint, and a resumed run gives exactly the results of an
uninterrupted one, with any number of workers (see :mod:`lstm_lit.experiment`).
"""

from __future__ import annotations

import json

import numpy as np

from .. import experiment
# re-exported as this package's API
from ..experiment import STEP_BUDGET, ConfigMismatch, StopRequested, checkpoint_path, run  # noqa: F401
from . import engine, protocol

FORMAT = "lstm-lit-cerg-2"


class Experiment(experiment.Experiment):
    """The networks of one CERG run (config) and its two files (``out`` and ``out.ckpt.npz``)."""

    FORMAT = FORMAT
    engine = engine
    protocol = protocol
    results_json_options = {"indent": 1}

    def summary(self, nets):
        return protocol.summarize(nets)


def final_weights(out, include_active=False):
    """{net: {weight name: array}} of the finished networks of the run written to ``out`` (``include_active``:
    also the current weights of unfinished ones).  Reads this engine's checkpoints and the previous format."""
    with np.load(checkpoint_path(out)) as z:
        meta = json.loads(str(z["meta"]))
        arrays = {k: z[k] for k in z.files if k != "meta"}
    result = {}
    if meta.get("format") == FORMAT:
        finished = {r["net"] for r in meta["records"] if r["outcome"]}
        for key, w in arrays.items():
            _, j, name = key.split("/")
            if include_active or int(j) in finished:
                result.setdefault(int(j), {})[name] = w
        return result
    # format lstm-lit-cerg-1 (the per-step engine's checkpoints in book/data)
    if include_active:
        for slot, j in enumerate(meta["slots"]):
            result[j] = {key[2:]: w[slot] for key, w in arrays.items() if key.startswith("w/")}
    for key, w in arrays.items():
        if key.startswith("final/"):
            _, j, name = key.split("/")
            result.setdefault(int(j), {})[name] = w
    return result
