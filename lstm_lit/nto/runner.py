"""All networks of an NTO or continual-NTO run: the NTO parts of :mod:`lstm_lit.experiment`, which runs them in this
process, local processes or a Dask cluster, with the same two files as a CERG run: ``OUT`` (JSON, one compact record
per network and the summary) and ``OUT.ckpt.npz`` (the records plus every network's current weights), both rewritten
atomically whenever a network finishes and at least every ``checkpoint_every`` seconds.  Running the same command
again resumes; the results do not depend on the number of workers, the scheduler, the step budget or interruptions.
"""

from __future__ import annotations

from .. import experiment
# re-exported as this package's API
from ..experiment import ConfigMismatch, StopRequested, checkpoint_path, run  # noqa: F401
from . import engine, protocol

FORMAT = "lstm-lit-nto-1"


class Experiment(experiment.Experiment):
    """The networks of one NTO or continual-NTO run (config) and its two files (``out`` and ``out.ckpt.npz``)."""

    FORMAT = FORMAT
    engine = engine
    protocol = protocol
    results_json_options = {"separators": (",", ":")}

    def summary(self, nets):
        return protocol.summarize(self.config, nets)
