"""Trace-time argument checks shared by the numeric modules (they cost nothing under ``jit``)."""

from __future__ import annotations

import numbers

import jax.numpy as jnp
import numpy as np


def as_float_array(name: str, x) -> jnp.ndarray:
    """``x`` as a JAX array of the default float dtype (or its own float dtype)."""
    try:
        x = jnp.asarray(x)
    except TypeError as e:
        raise TypeError(f"{name} must be array-like, got {type(x).__name__}") from e
    if not jnp.issubdtype(x.dtype, jnp.floating):
        x = x.astype(jnp.result_type(float))
    return x


def as_bool_array(name: str, x) -> jnp.ndarray:
    """``x`` as a JAX bool array (ints 0/1 and floats 0./1. are accepted)."""
    try:
        x = jnp.asarray(x)
    except TypeError as e:
        raise TypeError(f"{name} must be array-like, got {type(x).__name__}") from e
    return x.astype(bool)


def check_rank_at_least(name: str, x, rank: int) -> None:
    if x.ndim < rank:
        raise ValueError(f"{name} must have at least {rank} dimension(s) [T, *B], got shape {tuple(x.shape)}")


def check_same_shape(name: str, x, ref_name: str, ref) -> None:
    if tuple(x.shape) != tuple(ref.shape):
        raise ValueError(
            f"{name} must have the same shape as {ref_name}: got {name}.shape={tuple(x.shape)} "
            f"and {ref_name}.shape={tuple(ref.shape)}"
        )


def check_broadcasts_to(name: str, x, shape: tuple, what: str) -> None:
    try:
        ok = np.broadcast_shapes(tuple(x.shape), tuple(shape)) == tuple(shape)
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"{name} must broadcast to {what} {tuple(shape)}, got shape {tuple(x.shape)}")


def check_unit_interval(name: str, value) -> None:
    """If ``value`` is a Python number (not traced), check ``0 <= value <= 1``."""
    if isinstance(value, numbers.Real) and not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"{name} must lie in [0, 1], got {value}")


def check_positive(name: str, value) -> None:
    if isinstance(value, numbers.Real) and not float(value) > 0.0:
        raise ValueError(f"{name} must be > 0, got {value}")
