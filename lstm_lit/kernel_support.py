"""What the generated kernels import besides Numba: powers of two built from their bits, and ``njit`` with LLVM's SLP
vectoriser.

Both serve speed only; neither changes a bit of any result (the tests compare the kernels with the general ones and
with each other bit for bit).

* The compiled sigmoid (:func:`lstm_lit.codegen_numba.sigmoid_source`) scales its polynomial by 2^-n.  A table
  lookup (one load per evaluation) keeps the compiler from evaluating several sigmoids at once in the lanes of one
  vector register; the double 2^-h built from its exponent bits, (1023 - h) << 52, is a shift and a
  reinterpretation, and both vectorise.
* LLVM's SLP ("superword-level parallelism") vectoriser packs independent scalar operations of the same shape into
  vector operations.  That is what the straight-line test steps are printed for: their elements are independent
  expressions of one shape.  Numba turns the SLP vectoriser off by default since version 0.57 because LLVM
  miscompiled some other code with it (numba/numba#8852); :func:`slp_njit` turns it on for the functions it
  compiles and for nothing else.  It only packs operations as they are (no reassociation, no fused multiply-add),
  so the results are those of the scalar code; ``tests/test_engine.py`` checks this against the general kernels.
"""

import numba
from numba.core import config, types
from numba.core.compiler_lock import global_compiler_lock
from numba.extending import intrinsic


@intrinsic
def float_from_bits(typingctx, bits):
    """The float64 whose IEEE-754 bit pattern is the int64 ``bits`` (a reinterpretation, not a conversion)."""
    if bits != types.int64:
        return None

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.float64))
    return types.float64(types.int64), codegen


@numba.njit(cache=True, inline="always")
def pow2_negative(h):
    """2^-h for an integer 0 <= h <= 1022 (a normal double, exact)."""
    return float_from_bits(numba.int64(1023 - h) << 52)


def slp_njit(**options):
    """``numba.njit(**options)``, compiled with LLVM's SLP vectoriser on (see the module's docstring).

    Numba reads the setting when it optimises a function's machine code, which happens inside the dispatcher's
    ``compile``; the setting is switched on for that call alone, under Numba's compiler lock, so no other function
    is compiled with it.  A cached compilation is loaded as it was compiled (with the vectoriser, by this decorator).
    """
    def decorate(function):
        dispatcher = numba.njit(**options)(function)
        compile_scalar = dispatcher.compile

        def compile_vectorised(signature):
            with global_compiler_lock:
                before = config.SLP_VECTORIZE
                config.SLP_VECTORIZE = 1
                try:
                    return compile_scalar(signature)
                finally:
                    config.SLP_VECTORIZE = before
        dispatcher.compile = compile_vectorised
        return dispatcher
    return decorate
