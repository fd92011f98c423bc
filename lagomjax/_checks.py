"""Trace-time argument checks shared by the public functions (they cost nothing under ``jit``).

Shapes, ranks and dtypes are checked always; values are checked where they are known when the
function is called: Python numbers and concrete arrays. Traced values (inside ``jit``/``vmap``, e.g.
a hyper-parameter a sweep vmaps over) cannot be checked and are documented as such.
"""

from __future__ import annotations

import numbers

import jax
import jax.numpy as jnp
import numpy as np


def concrete(x) -> np.ndarray | None:
    """``x``'s values as a NumPy array if they are known now, ``None`` if ``x`` is traced."""
    if isinstance(x, jax.core.Tracer):
        return None
    try:
        return np.asarray(x)
    except (jax.errors.TracerArrayConversionError, jax.errors.ConcretizationTypeError, TypeError, ValueError):
        return None


def _as_array(name: str, x) -> jnp.ndarray:
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"{name} must be an array or a number, got {type(x).__name__} {x!r}")
    try:
        x = jnp.asarray(x)
    except (TypeError, ValueError) as e:
        raise TypeError(f"{name} must be array-like (numbers of one shape), got {type(x).__name__}: {e}") from e
    if jnp.issubdtype(x.dtype, jnp.complexfloating):
        raise TypeError(f"{name} must be real, got dtype {x.dtype}")
    return x


def as_float_array(name: str, x) -> jnp.ndarray:
    """``x`` as a JAX array of the default float dtype (or its own float dtype); strings, ``None``,
    ragged lists and complex numbers raise ``TypeError``."""
    x = _as_array(name, x)
    if not jnp.issubdtype(x.dtype, jnp.floating):
        x = x.astype(jnp.result_type(float))
    return x


def as_bool_array(name: str, x) -> jnp.ndarray:
    """``x`` as a JAX bool array. Ints and floats are accepted if they are 0 or 1 (checked where the
    values are known: ``0.5`` is an error, never silently ``True``)."""
    x = _as_array(name, x)
    if x.dtype != jnp.bool_:
        v = concrete(x)
        if v is not None and not np.isin(v, (0, 1)).all():
            bad = np.unique(v[~np.isin(v, (0, 1))])[:5]
            raise ValueError(f"{name} must be boolean (or 0/1), got values {bad.tolist()} (dtype {x.dtype})")
    return x.astype(bool)


def check_number(name: str, value) -> None:
    """``value`` must be a real number or array (not a string, ``None``, complex)."""
    if isinstance(value, bool) or isinstance(value, numbers.Real):
        return
    _as_array(name, value)


def _values_in(name: str, value, ok, what: str) -> None:
    check_number(name, value)
    v = concrete(value)
    if v is not None and not np.all(ok(v.astype(np.float64))):
        bad = np.unique(v[~ok(v.astype(np.float64))])[:5].tolist() if np.ndim(v) else None
        shown = value if bad is None else f"an array with values {bad}"
        raise ValueError(f"{name} must {what}, got {shown}")


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
    """``0 <= value <= 1`` where known (a number or a concrete array; NaN fails)."""
    _values_in(name, value, lambda v: (v >= 0.0) & (v <= 1.0), "lie in [0, 1]")


def check_positive(name: str, value) -> None:
    """``value > 0`` where known (a number or a concrete array; NaN fails)."""
    _values_in(name, value, lambda v: v > 0.0, "be > 0")


def check_nonnegative(name: str, value) -> None:
    """``value >= 0`` where known (a number or a concrete array; NaN fails; inf passes)."""
    _values_in(name, value, lambda v: v >= 0.0, "be >= 0")


def check_int(name: str, value, low: int | None = None) -> None:
    """``value`` must be a Python/NumPy int (not a bool), ``>= low`` if given."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if low is not None and value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value}")
