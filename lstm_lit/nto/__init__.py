"""The paper's experiments 2 and 3: the noisy temporal order (NTO) task and its continual version (CNTO).

* :mod:`~lstm_lit.nto.task`: the task (sequences, targets, the 0.3 classifier rule), with numpy Generators;
* :mod:`~lstm_lit.nto.streams`: the same sequences drawn inside compiled code from keyed generators.
"""
