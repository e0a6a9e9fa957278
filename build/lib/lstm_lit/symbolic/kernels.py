"""Which derivations become which generated kernels (the generator's single list of work)."""

from .model import forward_equations


def forward_kernels():
    fg = forward_equations(forget_gates=True)
    fg.doc = ("One forward step of B independent LSTMs with forget gates, equations (8)-(9) and the output "
              "layer.\n\n    Arrays carry a leading batch axis; returns every intermediate by name.")
    old = forward_equations(forget_gates=False)
    old.doc = ("One forward step of B independent 1997 LSTMs, equations (6)-(7) and the output layer; "
               "``state_decay`` multiplies s(t)\n    (1 for the 1997 LSTM).  Returns every intermediate by name.")
    return [fg, old]


def rtrl_kernels():
    from .rtrl import gradient_equations, trace_equations, update_equations

    return [trace_equations(True), trace_equations(False), gradient_equations(True), gradient_equations(False),
            update_equations(True), update_equations(False)]


def modules():
    """{file name: (module docstring, [StepEquations, ...])}."""
    from . import background_kernels

    return {
        "forward.py": ("Forward steps of the LSTM (Gers et al. 2000) and of the 1997 LSTM.", forward_kernels()),
        "rtrl.py": ("Truncated RTRL: eligibility-trace updates and gradients, for the LSTM with forget gates and the 1997 LSTM.",
                    rtrl_kernels()),
        **background_kernels.modules(),
    }
