"""Numerical checks shared by the chapters and the tests."""

import numpy as np


def central_differences(loss, params, step=1e-6):
    """Gradient of ``loss(params) -> (B,)`` at ``params`` (arrays with a batch axis of length 1), by central
    differences.  All 2N perturbed copies of the network run at once, one per entry of the batch axis."""
    names = list(params)
    sizes = [params[k][0].size for k in names]
    total = sum(sizes)
    batch = {k: np.repeat(params[k], 2 * total, axis=0) for k in names}
    at = 0
    for k, n in zip(names, sizes):
        flat = batch[k].reshape(2 * total, -1)
        for e in range(n):
            flat[2 * (at + e), e] += step
            flat[2 * (at + e) + 1, e] -= step
        at += n
    values = loss(batch)
    diff = (values[0::2] - values[1::2]) / (2 * step)
    grads, at = {}, 0
    for k, n in zip(names, sizes):
        grads[k] = diff[at:at + n].reshape(params[k].shape)
        at += n
    return grads


def gated_random_params(rng, gates, batch, n_in, n_hid, scale=0.5):
    """Normal random weights W_G (hidden x hidden), U_G (hidden x input) and biases b_G for every gate G, batched."""
    out = {}
    for G in gates:
        out[f"W_{G}"] = scale * rng.normal(size=(batch, n_hid, n_hid))
        out[f"U_{G}"] = scale * rng.normal(size=(batch, n_hid, n_in))
        out[f"b_{G}"] = scale * rng.normal(size=(batch, n_hid))
    return out
