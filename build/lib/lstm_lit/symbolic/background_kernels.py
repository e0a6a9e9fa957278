"""Kernels of the background chapters (vanilla RNN, modern LSTM, GRU): {file name: (doc, [StepEquations])}."""


def modules():
    from . import gru, modern_lstm, rnn

    return {
        "rnn.py": ("Forward and back-propagation-through-time steps of the vanilla RNN (Goodfellow et al. 2016, ch. 10).",
                   rnn.kernels()),
        "modern_lstm.py": ("Forward and BPTT steps of the modern LSTM (sigma/tanh gates, h = o * tanh(s)).",
                           modern_lstm.kernels()),
        "gru.py": ("Forward and BPTT steps of the gated recurrent unit.", gru.kernels()),
    }
