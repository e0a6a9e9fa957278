"""The paper's experiments 2 and 3: the noisy temporal order (NTO) task and its continual version (CNTO).

The parts, in the order a run uses them:

* :mod:`~lstm_lit.nto.task`: the task (sequences, targets, the 0.3 classifier rule), with numpy Generators;
* :mod:`~lstm_lit.nto.streams`: the same sequences drawn inside compiled code from keyed generators;
* :mod:`~lstm_lit.nto.protocol`: what is run and counted (variants, error signal, solved, Config);
* :mod:`~lstm_lit.nto.engine`: many sequences or whole streams of one network per compiled call, around the general
  training and test steps printed by :mod:`lstm_lit.codegen_numba`;
* :mod:`~lstm_lit.nto.runner`: all networks, in this process, local processes or Dask, with checkpoints;
* :mod:`~lstm_lit.nto.cli`: ``python -m lstm_lit.nto``.
"""

import importlib

_EXPORTS = {"NetworkRun": "engine", "advance": "engine", "run_network": "engine", "initial_weights": "engine",
            "Config": "protocol", "VARIANTS": "protocol", "VARIANT_LABELS": "protocol", "summarize": "protocol",
            "wilson": "protocol", "Experiment": "runner", "run": "runner"}
__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
