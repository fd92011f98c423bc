"""Initialisers: orthogonal kernels with a gain, constant biases."""

from __future__ import annotations

import math

import jax.numpy as jnp
from flax import linen as nn

_GAINS = {
    "linear": 1.0,
    "conv": 1.0,
    "sigmoid": 1.0,
    "tanh": 5.0 / 3.0,
    "relu": math.sqrt(2.0),
    "leaky_relu": math.sqrt(2.0 / (1 + 0.01**2)),
    "selu": 0.75,
}


def calculate_gain(nonlinearity: str) -> float:
    """The gain PyTorch's ``calculate_gain`` recommends for a nonlinearity name."""
    if nonlinearity not in _GAINS:
        raise ValueError(f"nonlinearity must be one of {sorted(_GAINS)}, got {nonlinearity!r}")
    return _GAINS[nonlinearity]


def ortho_init(nonlinearity: str | None = None, weight_scale: float = 1.0, constant_bias: float = 0.0) -> dict:
    """Orthogonal kernel initialiser with gain, and a constant bias initialiser (lagom's ``ortho_init``).

    The gain is ``calculate_gain(nonlinearity)`` when a nonlinearity name is given, else ``weight_scale``.
    Returns keyword arguments for ``nn.Dense`` / ``nn.Conv``.

    Example:
      >>> layer = nn.Dense(64, **ortho_init('relu'))
      >>> head = nn.Dense(4, **ortho_init(weight_scale=0.01))
    """
    gain = calculate_gain(nonlinearity) if nonlinearity is not None else float(weight_scale)
    return dict(kernel_init=nn.initializers.orthogonal(gain), bias_init=nn.initializers.constant(constant_bias))


def zeros_like_init(value: float):
    """A constant initialiser (for state-independent parameters such as a log-std)."""

    def init(key, shape, dtype=jnp.float32):
        return jnp.full(shape, value, dtype)

    return init
