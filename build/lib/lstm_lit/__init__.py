"""lstm-lit: the LSTM with forget gates (Gers, Schmidhuber & Cummins 2000), derived in SymPy and run in NumPy.

The package follows one flow:

* ``lstm_lit.symbolic``  -- the model and its truncated-RTRL gradient, derived in SymPy;
* ``lstm_lit.codegen``   -- prints NumPy kernels from those derivations (``python -m lstm_lit.codegen``);
* ``lstm_lit.generated`` -- the printed kernels (do not edit);
* ``lstm_lit.network``   -- parameters, connectivity, initialisation, online training on the kernels;
* ``lstm_lit.reber``     -- Reber, embedded and continual Reber grammars;
* ``lstm_lit.cerg``      -- the paper's CERG experiment (``python -m lstm_lit.cerg``).
"""

__version__ = "0.1.0"
