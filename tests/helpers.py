"""Shared helpers for the tests: random inputs for the step functions."""

import numpy as np

from lstm_lit.connectivity import masks, weight_shapes
from lstm_lit.symbolic.evaluate import concrete_sizes, evaluate

SIZES = [  # (d_in, n_blk, d_blk, d_out): several blocks, several cells per block, and degenerate ones
    (3, 2, 2, 4),
    (2, 3, 1, 2),
    (1, 1, 3, 1),
]
CERG_SIZES = (7, 4, 2, 7)


def random_step_inputs(rng, sizes, batch, forget_gates=True, connectivity="full", scale=1.0):
    """Random states and weights (with a leading batch axis) for one forward step."""
    d_in, n_blk, d_blk, d_out = sizes
    vals = {
        "x": rng.normal(size=(batch, d_in)),
        "s_prev": rng.normal(size=(batch, n_blk, d_blk)),
        "y_ig_prev": rng.random((batch, n_blk)),
        "y_og_prev": rng.random((batch, n_blk)),
        "y_c_prev": rng.uniform(-1, 1, size=(batch, n_blk, d_blk)),
    }
    if forget_gates:
        vals["y_fg_prev"] = rng.random((batch, n_blk))
    mk = masks(*sizes, forget_gates=forget_gates, connectivity=connectivity)
    for name, shape in weight_shapes(*sizes, forget_gates=forget_gates).items():
        vals[name] = scale * rng.normal(size=(batch,) + shape) * mk[name]
    return vals


def unbatch(vals, b):
    return {k: (v[b] if isinstance(v, np.ndarray) else v) for k, v in vals.items()}


def max_deviation(equations, function, sizes, vals):
    """Largest |generated - SymPy reference| over every output of every network in the batch.

    ``vals`` may hold more arrays than the function takes; each network's reference is evaluated by
    :func:`lstm_lit.symbolic.evaluate.evaluate`, which shares nothing with the generator but the equations.
    """
    args = {n: vals[n] for n in equations.inputs + equations.scalars}
    out = function(**args)
    batch = next(v for k, v in args.items() if isinstance(v, np.ndarray) and k not in equations.unbatched).shape[0]
    worst = 0.0
    for b in range(batch):
        one = {k: (v if k in equations.unbatched else v[b]) if isinstance(v, np.ndarray) else v for k, v in args.items()}
        ref = evaluate(equations, concrete_sizes(*sizes), one)
        for name in equations.outputs:
            worst = max(worst, float(np.max(np.abs(out[name][b] - ref[name]))))
    return worst
