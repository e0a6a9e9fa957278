"""The continual embedded Reber grammar (CERG) experiment of Gers, Schmidhuber & Cummins (2000), Table 2.

The parts, in the order a run uses them:

* :mod:`~lstm_lit.cerg.protocol`: what is run and counted (variants, the 0.49 rule, perfect/good/rest, Config);
* :mod:`~lstm_lit.cerg.streams`: the continual streams, one per key, drawn inside compiled code;
* :mod:`~lstm_lit.cerg.engine`: whole streams and tests of one network in one compiled call, around the steps
  printed by :mod:`lstm_lit.codegen_numba`;
* :mod:`~lstm_lit.cerg.runner`: all networks, in this process, local processes or a Dask cluster, with checkpoints;
* :mod:`~lstm_lit.cerg.cli`: ``python -m lstm_lit.cerg``;
* :mod:`~lstm_lit.cerg.stepwise`: the previous engine (Python steps a batch one symbol at a time), the reference
  that the compiled engine reproduces bit for bit.

>>> from lstm_lit import cerg
>>> exp = cerg.run_experiment(cerg.Config(variant="forget", runs=1, max_streams=3, train_cap=100, test_cap=100))
>>> exp.runs[0].streams, exp.runs[0].outcome
(3, 'rest')
"""

from .engine import NetworkRun, advance, run_network
from .protocol import CRITERIA, SIZES, VARIANT_LABELS, VARIANTS, Config, correct, summarize
from .runner import Experiment, final_weights, run

__all__ = ["CRITERIA", "SIZES", "VARIANTS", "VARIANT_LABELS", "Config", "Experiment", "NetworkRun", "advance",
           "correct", "final_weights", "run", "run_experiment", "run_network", "summarize"]


def run_experiment(config, workers=1, out=None):
    """Run every network of ``config`` (in this process unless ``workers`` > 1); return the :class:`Experiment`
    (``experiment.runs``: net -> :class:`NetworkRun`).  With ``out``, resume from and write its files."""
    experiment = Experiment(config, out)
    run(experiment, workers=workers)
    return experiment
