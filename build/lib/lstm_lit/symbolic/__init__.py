"""The LSTM and its truncated-RTRL gradient, derived in SymPy (index form, one network, 0-based indices)."""

from . import activations, model  # noqa: F401
from .activations import g, h, sigmoid  # noqa: F401
from .model import forward_equations  # noqa: F401
