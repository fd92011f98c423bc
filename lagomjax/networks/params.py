"""Parameter helpers: flat vectors, counts, atomic msgpack save/load with a structure check, LR schedule."""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import serialization
from jax.flatten_util import ravel_pytree

from lagomjax.utils import atomic_open


def to_vec(params) -> jnp.ndarray:
    """All leaves of a parameter pytree concatenated into one flat vector (leaf order of ``jax.tree``)."""
    return ravel_pytree(params)[0]


def from_vec(vec, like):
    """The pytree shaped like ``like`` holding the entries of the flat ``vec`` (inverse of :func:`to_vec`)."""
    flat, unravel = ravel_pytree(like)
    vec = jnp.asarray(vec)
    if vec.shape != flat.shape:
        raise ValueError(f"vec must have shape {flat.shape} (the number of parameters), got {vec.shape}")
    return unravel(vec)


def num_params(params) -> int:
    """Total number of scalars in a parameter pytree."""
    return int(sum(np.size(x) for x in jax.tree.leaves(params)))


def save(params, f) -> Path:
    """Write ``params`` (any pytree of arrays) to ``f`` as msgpack, atomically."""
    path = Path(f)
    with atomic_open(path, "wb") as fh:
        fh.write(serialization.to_bytes(jax.device_get(params)))
    return path


def _describe(tree, prefix=""):
    """``{path: (shape, dtype)}`` of a state dict."""
    if isinstance(tree, dict):
        out = {}
        for k, v in tree.items():
            out.update(_describe(v, f"{prefix}/{k}"))
        return out
    x = np.asarray(tree)
    return {prefix or "/": (x.shape, str(x.dtype))}


def load(f, target):
    """Read parameters saved by :func:`save` into the structure of ``target``.

    Raises ``ValueError`` naming every path whose presence, shape or dtype differs, instead of
    silently returning parameters that do not fit the model.
    """
    raw = serialization.msgpack_restore(Path(f).read_bytes())
    want = _describe(serialization.to_state_dict(target))
    got = _describe(raw)
    problems = [f"missing {p}" for p in want.keys() - got.keys()]
    problems += [f"unexpected {p}" for p in got.keys() - want.keys()]
    problems += [
        f"{p}: file has shape {got[p][0]} {got[p][1]}, model wants {want[p][0]} {want[p][1]}"
        for p in want.keys() & got.keys()
        if got[p] != want[p]
    ]
    if problems:
        raise ValueError(f"{f} does not match the target parameters: " + "; ".join(sorted(problems)))
    return serialization.from_state_dict(target, raw)


def linear_lr_scheduler(init_lr: float, N: int, min_lr: float = 0.0) -> optax.Schedule:
    """Learning rate decaying linearly from ``init_lr`` to ``min_lr`` over ``N`` steps, then constant.

    Example:
      >>> opt = optax.adam(linear_lr_scheduler(3e-4, N=1000))
    """
    if N <= 0:
        raise ValueError(f"N must be > 0, got {N}")
    if min_lr > init_lr:
        raise ValueError(f"min_lr must be <= init_lr, got min_lr={min_lr} > init_lr={init_lr}")
    return optax.linear_schedule(init_lr, min_lr, N)
