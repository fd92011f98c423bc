"""Initialisers: orthogonal kernels with a gain, constant biases."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from flax import linen as nn
from jax import custom_batching

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


@custom_batching.custom_vmap
def _qr_q(a):
    """``Q`` of the thin QR factorisation of ``a [m, n]`` (``m >= n``), signs fixed so ``diag(R) > 0``.

    One LAPACK call per matrix: under ``vmap`` the matrices go through ``lax.map`` one at a time
    (the batching rule below), never through jaxlib's batched QR, which splits the batch over XLA:CPU's
    thread pool and waits on it; two such calls at once (two layers initialised in parallel)
    deadlocked that pool on 2-core machines (jax 0.10.2: a vmapped ``init`` idle forever in
    ``ParallelBatchMap``). A Householder loop in plain ``jnp`` avoided it too, at 0.6 s more compile
    per PPO program.
    """
    return _signed_q(a)


def _signed_q(a):
    q, r = jnp.linalg.qr(a)
    return q * jnp.where(jnp.diagonal(r) >= 0, 1.0, -1.0).astype(a.dtype)


@_qr_q.def_vmap
def _qr_q_vmap(axis_size, in_batched, a):
    if not in_batched[0]:
        return _qr_q(a), False
    if jax.default_backend() != "cpu":  # the deadlock is XLA:CPU's: accelerators batch the QR
        return jax.vmap(_signed_q)(a), True
    return jax.lax.map(_qr_q, a), True


_qr_q_jit = jax.jit(_qr_q)  # one program per shape: eager initialisation (outside any jit) compiles it once


def orthogonal(scale: float = 1.0):
    """An orthogonal initialiser (Saxe et al. 2014) like ``jax.nn.initializers.orthogonal(scale)``
    (last axis = output columns), one LAPACK QR per matrix so that it is safe under ``vmap`` on CPU."""

    def init(key, shape, dtype=jnp.float32):
        if len(shape) < 2:
            raise ValueError(f"orthogonal initialisation needs at least 2 dimensions, got shape {shape}")
        n_rows, n_cols = math.prod(shape[:-1]), shape[-1]
        tall = (max(n_rows, n_cols), min(n_rows, n_cols))
        q = _qr_q_jit(jax.random.normal(key, tall, jnp.float32))
        q = q.T if n_rows < n_cols else q
        return (scale * q).reshape(shape).astype(dtype)

    return init


def ortho_init(nonlinearity: str | None = None, weight_scale: float = 1.0, constant_bias: float = 0.0) -> dict:
    """Orthogonal kernel initialiser with gain, and a constant bias initialiser (lagom's ``ortho_init``).

    The gain is ``calculate_gain(nonlinearity)`` when a nonlinearity name is given, else ``weight_scale``.
    Returns keyword arguments for ``nn.Dense`` / ``nn.Conv``.

    Example:
      >>> layer = nn.Dense(64, **ortho_init('relu'))
      >>> head = nn.Dense(4, **ortho_init(weight_scale=0.01))
    """
    gain = calculate_gain(nonlinearity) if nonlinearity is not None else float(weight_scale)
    return dict(kernel_init=orthogonal(gain), bias_init=nn.initializers.constant(constant_bias))


INITS = ("orthogonal", "lecun")


def dense_init(init: str = "orthogonal", nonlinearity: str | None = None, weight_scale: float = 1.0) -> dict:
    """``nn.Dense`` keyword arguments by name: ``'orthogonal'``, lagom's :func:`ortho_init` (gain from
    ``nonlinearity`` or ``weight_scale``), or ``'lecun'``, Flax's default (LeCun normal kernels, zero
    biases; rejax and most Flax code), where ``nonlinearity`` and ``weight_scale`` play no part."""
    if init == "orthogonal":
        return ortho_init(nonlinearity, weight_scale)
    if init == "lecun":
        return dict(kernel_init=nn.initializers.lecun_normal(), bias_init=nn.initializers.zeros)
    raise ValueError(f"weight_init must be one of {INITS}, got {init!r}")


def zeros_like_init(value: float):
    """A constant initialiser (for state-independent parameters such as a log-std)."""

    def init(key, shape, dtype=jnp.float32):
        return jnp.full(shape, value, dtype)

    return init
