"""Kernels of the background chapters (vanilla RNN, modern LSTM, GRU): {file name: (doc, [StepEquations])}."""


def modules():
    return {}
