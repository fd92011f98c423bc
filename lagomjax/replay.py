"""A replay buffer as a pytree (it lives in the train state, inside ``jit``), uniform or prioritised.

Prioritised replay (Schaul et al. 2016, arXiv:1511.05952) keeps ``p_i^alpha`` in a
:class:`~lagomjax.transform.SumTree` (proportional, stratified sampling) and a
:class:`~lagomjax.transform.MinTree` (the largest importance weight, for normalisation); new
transitions get the largest priority seen so far.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from lagomjax._checks import check_int, check_unit_interval
from lagomjax.transform.segment_tree import MinTree, SumTree


@struct.dataclass
class ReplayBuffer:
    data: Any  # pytree of arrays [capacity, ...]
    pos: jnp.ndarray  # int32: next slot to write
    size: jnp.ndarray  # int32: number of stored transitions
    sum_tree: SumTree | None = None  # p^alpha (prioritised only)
    min_tree: MinTree | None = None
    max_priority: jnp.ndarray | None = None  # largest p (not raised to alpha) seen so far
    alpha: float = struct.field(pytree_node=False, default=0.6)

    @property
    def capacity(self) -> int:
        return jax.tree.leaves(self.data)[0].shape[0]

    @property
    def prioritized(self) -> bool:
        return self.sum_tree is not None


def init(example, capacity: int, prioritized: bool = False, alpha: float = 0.6) -> ReplayBuffer:
    """An empty buffer for transitions shaped like ``example`` (one transition, no batch axis)."""
    check_int("capacity", capacity, 1)
    check_unit_interval("alpha", alpha)
    data = jax.tree.map(lambda x: jnp.zeros((capacity, *jnp.shape(x)), jnp.asarray(x).dtype), example)
    zero = jnp.zeros((), jnp.int32)
    if not prioritized:
        return ReplayBuffer(data, zero, zero)
    return ReplayBuffer(data, zero, zero, SumTree(capacity), MinTree(capacity), jnp.ones((), jnp.float32), alpha)


def add(buffer: ReplayBuffer, batch) -> ReplayBuffer:
    """Append a batch of ``N`` transitions (leaves ``[N, ...]``, ``N <= capacity``), overwriting the oldest."""
    if jax.tree.structure(batch) != jax.tree.structure(buffer.data):
        raise ValueError(f"batch structure {jax.tree.structure(batch)} != buffer's {jax.tree.structure(buffer.data)}")
    for x, d in zip(jax.tree.leaves(batch), jax.tree.leaves(buffer.data), strict=True):
        if jnp.ndim(x) < 1 or jnp.shape(x)[1:] != d.shape[1:]:
            raise ValueError(f"batch leaves must be [N, *{d.shape[1:]}] like the buffer's, got shape {jnp.shape(x)}")
    n = jax.tree.leaves(batch)[0].shape[0]
    if n > buffer.capacity:
        raise ValueError(f"cannot add {n} transitions to a buffer of capacity {buffer.capacity}")
    idx = (buffer.pos + jnp.arange(n)) % buffer.capacity
    data = jax.tree.map(lambda d, x: d.at[idx].set(x.astype(d.dtype)), buffer.data, batch)
    out = buffer.replace(
        data=data, pos=(buffer.pos + n) % buffer.capacity, size=jnp.minimum(buffer.size + n, buffer.capacity)
    )
    if buffer.prioritized:
        p = buffer.max_priority**buffer.alpha
        out = out.replace(sum_tree=buffer.sum_tree.update(idx, p), min_tree=buffer.min_tree.update(idx, p))
    return out


def sample(buffer: ReplayBuffer, key, batch_size: int, beta: float = 0.4):
    """``(batch, indices, weights)``. Uniform: weights are ones. Prioritised: stratified proportional
    sampling and importance weights ``(N P(i))^-beta`` divided by their largest possible value."""
    check_int("batch_size", batch_size, 1)
    check_unit_interval("beta", beta)
    if not buffer.prioritized:
        idx = jax.random.randint(key, (batch_size,), 0, jnp.maximum(buffer.size, 1))
        weights = jnp.ones((batch_size,), jnp.float32)
    else:
        total = buffer.sum_tree.sum()
        u = (jnp.arange(batch_size) + jax.random.uniform(key, (batch_size,))) * (total / batch_size)
        idx = jnp.minimum(buffer.sum_tree.find_prefixsum_index(u), jnp.maximum(buffer.size - 1, 0))
        n = jnp.maximum(buffer.size, 1).astype(jnp.float32)
        prob = buffer.sum_tree[idx] / total
        max_weight = (n * buffer.min_tree.min() / total) ** -beta
        weights = (n * prob) ** -beta / max_weight
    return jax.tree.map(lambda d: d[idx], buffer.data), idx, weights


def update_priorities(buffer: ReplayBuffer, indices, priorities) -> ReplayBuffer:
    """Set the priorities ``p`` (e.g. ``|TD error| + eps``, all > 0) of sampled ``indices``."""
    if not buffer.prioritized:
        raise ValueError("update_priorities needs a prioritised buffer: replay.init(..., prioritized=True)")
    priorities = jnp.asarray(priorities, jnp.float32)
    p = priorities**buffer.alpha
    return buffer.replace(
        sum_tree=buffer.sum_tree.update(indices, p),
        min_tree=buffer.min_tree.update(indices, p),
        max_priority=jnp.maximum(buffer.max_priority, priorities.max()),
    )
