"""Benchmark objectives (minimisation), jittable and batched over leading axes: ``f(x [..., D]) -> [...]``."""

from __future__ import annotations

import jax.numpy as jnp

from lagomjax._checks import as_float_array


def _as_array(x):
    """Lists and NumPy arrays too (lagom's objectives take Python lists)."""
    x = as_float_array("x", x)
    if x.ndim < 1:
        raise ValueError(f"x must be [..., D] with D >= 1, got shape {tuple(x.shape)}")
    return x


def sphere(x):
    r""":math:`\sum_i x_i^2`; minimum 0 at 0."""
    x = _as_array(x)
    return jnp.sum(jnp.square(x), axis=-1)


def ellipsoid(x, condition=1e6):
    r""":math:`\sum_i c^{(i-1)/(D-1)} x_i^2` with condition number ``c``; minimum 0 at 0."""
    x = _as_array(x)
    d = x.shape[-1]
    scales = condition ** (jnp.arange(d) / max(d - 1, 1))
    return jnp.sum(scales * jnp.square(x), axis=-1)


def rosenbrock(x):
    r""":math:`\sum_i 100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2`; minimum 0 at 1."""
    x = _as_array(x)
    return jnp.sum(100.0 * jnp.square(x[..., 1:] - jnp.square(x[..., :-1])) + jnp.square(1.0 - x[..., :-1]), axis=-1)


def rastrigin(x):
    r""":math:`10 D + \sum_i x_i^2 - 10 \cos(2 \pi x_i)`; minimum 0 at 0."""
    x = _as_array(x)
    return 10.0 * x.shape[-1] + jnp.sum(jnp.square(x) - 10.0 * jnp.cos(2.0 * jnp.pi * x), axis=-1)


def styblinski_tang(x):
    r""":math:`\frac12 \sum_i x_i^4 - 16 x_i^2 + 5 x_i`; minimum about -39.166 D at x_i = -2.9035."""
    x = _as_array(x)
    return 0.5 * jnp.sum(x**4 - 16.0 * x**2 + 5.0 * x, axis=-1)


def holder_table(x):
    r"""2-D: :math:`-|\sin x_1 \cos x_2 \exp(|1 - \|x\| / \pi|)|`; minimum -19.2085 at (+-8.05502, +-9.66459)."""
    x = _as_array(x)
    if x.shape[-1] != 2:
        raise ValueError(f"holder_table is 2-D: x must be [..., 2], got shape {tuple(x.shape)}")
    x1, x2 = x[..., 0], x[..., 1]
    return -jnp.abs(jnp.sin(x1) * jnp.cos(x2) * jnp.exp(jnp.abs(1.0 - jnp.sqrt(x1**2 + x2**2) / jnp.pi)))
