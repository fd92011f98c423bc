"""Discounted sums: the one reverse linear recurrence every RL metric is built on."""

from __future__ import annotations

import jax.numpy as jnp
from jax import lax

from lagomjax._checks import as_float_array, check_rank_at_least


def reverse_linear_scan(x, discount, init=None):
    r"""Time-major reverse linear recurrence, one ``lax.scan`` over axis 0.

    .. math:: y_t = x_t + c_t\, y_{t+1}, \qquad y_T = \text{init} \;(0 \text{ by default})

    Args:
      x: ``[T, *B]`` inputs.
      discount: ``c``; a scalar (read once, not per step) or an array broadcastable to ``[T, *B]``.
      init: ``y_T``, broadcastable to ``*B``; zero when ``None``.

    Returns:
      ``y``, ``[T, *B]``, same dtype as ``x``.

    Example:
      >>> reverse_linear_scan(jnp.array([1., 2., 3.]), 0.5)   # [1 + .5 (2 + .5 * 3), 2 + .5 * 3, 3]
      Array([2.75, 3.5 , 3.  ], dtype=float32)
    """
    x = as_float_array("x", x)
    check_rank_at_least("x", x, 1)
    batch = x.shape[1:]
    y_T = jnp.zeros(batch, x.dtype) if init is None else jnp.broadcast_to(jnp.asarray(init, x.dtype), batch)
    if jnp.ndim(discount) == 0:
        c = jnp.asarray(discount, x.dtype)

        def step(y, x_t):
            y = x_t + c * y
            return y, y

        _, ys = lax.scan(step, y_T, x, reverse=True)
    else:
        c = jnp.broadcast_to(jnp.asarray(discount, x.dtype), x.shape)

        def step(y, xc_t):
            x_t, c_t = xc_t
            y = x_t + c_t * y
            return y, y

        _, ys = lax.scan(step, y_T, (x, c), reverse=True)
    return ys


def geometric_cumsum(alpha, x):
    r"""Geometric cumulative sum along the last axis (lagom's ``geometric_cumsum``).

    .. math:: y_i = \sum_{k \ge 0} \alpha^k x_{i+k}

    Args:
      alpha: scalar ratio.
      x: ``[..., N]``; the sum runs along the last axis, every leading axis is a batch axis.

    Example:
      >>> geometric_cumsum(0.1, [[1, 2, 3, 4], [5, 6, 7, 8]])
      Array([[1.234, 2.34 , 3.4  , 4.   ],
             [5.678, 6.78 , 7.8  , 8.   ]], dtype=float32)
    """
    x = as_float_array("x", x)
    check_rank_at_least("x", x, 1)
    return jnp.moveaxis(reverse_linear_scan(jnp.moveaxis(x, -1, 0), alpha), 0, -1)
