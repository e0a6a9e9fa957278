"""The training step and the test step of either LSTM, chosen inside compiled code.

A module of kernels printed by :mod:`lstm_lit.codegen_numba` (:mod:`lstm_lit.generated.cerg_steps` for the CERG
net's fixed sizes, :mod:`lstm_lit.generated.rtrl_fused` for general sizes) has one kernel per LSTM: ``*_net`` for
the LSTM with forget gates (five weight matrices) and ``*_1997_net`` for the 1997 LSTM (four).  The engines call
one name for both; Numba picks the kernel when it compiles the caller, from the number of weight matrices.
"""

from numba.extending import overload

FORGET_GATE_WEIGHTS = 5   # weight matrices of the LSTM with forget gates (the 1997 LSTM has one fewer)


def train_and_test_steps(kernels):
    """``(train_step, test_step)`` for compiled code, each calling the kernel of the module ``kernels`` that fits the
    number of weight matrices it is given (same arguments as the kernels; callable from Numba only)."""

    def train_step(b, x, target, learning_rate, state_decay, state, weights, masks, traces, work, y):
        """The training step for either LSTM (compiled code only; chosen by the number of weight matrices)."""

    def test_step(b, x, state_decay, state, weights, work, y):
        """The test step for either LSTM (compiled code only; chosen by the number of weight matrices)."""

    @overload(train_step)
    def _choose_train_step(b, x, target, learning_rate, state_decay, state, weights, masks, traces, work, y):
        forget = len(weights) == FORGET_GATE_WEIGHTS
        kernel = kernels.train_step_net if forget else kernels.train_step_1997_net

        def step(b, x, target, learning_rate, state_decay, state, weights, masks, traces, work, y):
            kernel(b, x, target, learning_rate, state_decay, state, weights, masks, traces, work, y)
        return step

    @overload(test_step)
    def _choose_test_step(b, x, state_decay, state, weights, work, y):
        forget = len(weights) == FORGET_GATE_WEIGHTS
        kernel = kernels.test_step_net if forget else kernels.test_step_1997_net

        def step(b, x, state_decay, state, weights, work, y):
            kernel(b, x, state_decay, state, weights, work, y)
        return step

    return train_step, test_step
