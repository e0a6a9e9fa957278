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

import importlib

_EXPORTS = {"NetworkRun": "engine", "advance": "engine", "run_network": "engine", "test_network": "engine",
            "CRITERIA": "protocol", "SIZES": "protocol", "VARIANT_LABELS": "protocol", "VARIANTS": "protocol",
            "Config": "protocol", "correct": "protocol", "summarize": "protocol",
            "Experiment": "runner", "final_weights": "runner", "run": "runner"}
__all__ = sorted(_EXPORTS) + ["run_experiment"]


def __getattr__(name):
    # Imported on first use, so that ``python -m lstm_lit.cerg`` can catch Ctrl-C before numba loads.
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def run_experiment(config, workers=1, out=None):
    """Run every network of ``config`` (in this process unless ``workers`` > 1); return the :class:`Experiment`
    (``experiment.runs``: net -> :class:`NetworkRun`).  With ``out``, resume from and write its files."""
    from .runner import Experiment, run
    experiment = Experiment(config, out)
    run(experiment, workers=workers)
    return experiment
