"""Saving and restoring a whole train state (parameters, optimiser states, env states, normaliser
moments, typed PRNG keys, replay buffers) with the metrics so far, atomically.

The state goes to the host as a list of NumPy leaves (typed keys as their raw data); restoring
needs a state of the same structure (e.g. a fresh ``init``) that says the shapes, dtypes and which
leaves are keys. Checkpoints are pickles: load only files you wrote.
"""

from __future__ import annotations

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from lagomjax.utils import pickle_dump, pickle_load


def _is_key(x) -> bool:
    return jnp.issubdtype(x.dtype, jax.dtypes.prng_key)


def to_host(state) -> list[np.ndarray]:
    """A train state's leaves as NumPy arrays (typed PRNG keys as their raw data)."""
    return [np.asarray(jax.random.key_data(x) if _is_key(x) else x) for x in jax.tree.leaves(state)]


def from_host(like, leaves):
    """Rebuild a state shaped like ``like`` (which also says which leaves are keys) from
    :func:`to_host`'s output; a leaf of another shape raises."""
    ref, treedef = jax.tree.flatten(like)
    if len(ref) != len(leaves):
        raise ValueError(f"checkpoint has {len(leaves)} leaves, the train state {len(ref)}")
    out = []
    for r, x in zip(ref, leaves, strict=True):
        x = jax.random.wrap_key_data(x, impl=jax.random.key_impl(r)) if _is_key(r) else jnp.asarray(x, r.dtype)
        if x.shape != r.shape:
            raise ValueError(f"checkpoint leaf of shape {x.shape} does not match the train state's {r.shape}")
        out.append(x)
    return jax.tree.unflatten(treedef, out)


def save(path, state, meta: dict, **extra) -> Path:
    """Write ``state`` with ``meta`` (what the run is: refused on restore if it differs) and any
    ``extra`` host data (metrics so far, counters) to ``path``, atomically."""
    return pickle_dump({"meta": meta, "state": to_host(state), **extra}, path, ext=None)


def restore(path, like, meta: dict):
    """``(state, extra)`` from :func:`save`'s file, the state rebuilt like ``like``. Raises
    ``ValueError`` if the file was written for another ``meta``."""
    saved = pickle_load(path)
    if saved["meta"] != meta:
        raise ValueError(f"checkpoint {path} is for {saved['meta']}, not {meta}")
    state = from_host(like, saved.pop("state"))
    saved.pop("meta")
    return state, saved
