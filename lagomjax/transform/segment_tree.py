"""Array-backed, jittable segment trees for prioritised replay: ``SegmentTree``, ``SumTree``, ``MinTree``.

A tree is an immutable pytree (pass it through ``jit`` and ``lax.scan``): ``update`` returns a new
tree. Leaves live at ``[size, 2 size)`` of one
array (``size`` is ``capacity`` rounded up to a power of two; padding leaves hold the identity), node
``i`` holds ``op(node[2i], node[2i+1])`` and the root is node 1. A batched update writes the leaves and
then recomputes only their ancestors, one vectorised step per tree level (``log2(size)`` steps,
unrolled at trace time), so it costs ``O(batch * log capacity)``.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from lagomjax._checks import concrete


def _levels(size: int) -> int:
    return size.bit_length() - 1


@jax.tree_util.register_pytree_node_class
class SegmentTree:
    """Segment tree over ``capacity`` values with an associative ``operation``; an immutable pytree.

    Args:
      capacity: number of leaves, a positive int.
      operation: associative, elementwise binary function of arrays (``jnp.add``, ``jnp.minimum``).
      identity_element: ``operation(x, identity) == x``; every leaf starts at this value.
      dtype: dtype of the stored values.
    """

    def __init__(self, capacity: int, operation: Callable, identity_element: float, dtype=jnp.float32):
        if not isinstance(capacity, int) or capacity <= 0:
            raise ValueError(f"capacity must be a positive int, got {capacity!r}")
        size = 1 << (capacity - 1).bit_length()
        self.nodes = jnp.full((2 * size,), identity_element, dtype)  # nodes[0] is unused
        self.capacity = capacity
        self.operation = operation
        self.identity_element = identity_element

    def tree_flatten(self):
        return (self.nodes,), (self.capacity, self.operation, self.identity_element)

    @classmethod
    def tree_unflatten(cls, aux, children):
        tree = object.__new__(cls)
        (tree.nodes,) = children
        tree.capacity, tree.operation, tree.identity_element = aux
        return tree

    def replace(self, nodes) -> SegmentTree:
        return self.tree_unflatten(self.tree_flatten()[1], (nodes,))

    @property
    def size(self) -> int:
        return self.nodes.shape[0] // 2

    @property
    def leaves(self) -> jnp.ndarray:
        """The ``capacity`` stored values."""
        return self.nodes[self.size : self.size + self.capacity]

    def __getitem__(self, index):
        return self.nodes[self.size + jnp.asarray(index)]

    def update(self, index, value) -> SegmentTree:
        """Set ``leaf[index] = value`` (scalars or 1-D batches) and return the new tree.

        With repeated indices in one batch the last occurrence wins, deterministically. An index
        outside ``[0, capacity)`` raises ``IndexError`` where it is known (a concrete index); a traced
        one (inside ``jit``) cannot be checked and is dropped.
        """
        known = concrete(index)
        if known is not None and np.size(known) and (np.min(known) < 0 or np.max(known) >= self.capacity):
            raise IndexError(f"index must lie in [0, capacity={self.capacity}), got {np.asarray(known).tolist()}")
        index = jnp.atleast_1d(jnp.asarray(index, jnp.int32))
        value = jnp.broadcast_to(jnp.asarray(value, self.nodes.dtype), index.shape)
        if index.ndim != 1:
            raise ValueError(f"index must be a scalar or 1-D, got shape {tuple(index.shape)}")
        n = index.shape[0]
        later_duplicate = (index[None, :] == index[:, None]) & (jnp.arange(n)[None, :] > jnp.arange(n)[:, None])
        # Out-of-range indices and shadowed duplicates are dropped by the scatter.
        keep = ~jnp.any(later_duplicate, axis=1) & (index >= 0) & (index < self.capacity)
        pos = jnp.where(keep, index + self.size, 2 * self.size)
        nodes = self.nodes.at[pos].set(value, mode="drop")
        parent = pos
        for _ in range(_levels(self.size)):
            parent = jnp.where(keep, parent // 2, 2 * self.size)  # dropped entries stay out of range
            # Siblings sharing a parent write the same value, so duplicate parents are harmless.
            nodes = nodes.at[parent].set(self.operation(nodes[2 * parent], nodes[2 * parent + 1]), mode="drop")
        return self.replace(nodes=nodes)

    def reduce(self, start=0, end=None):
        """``operation`` over ``leaf[start:end]`` (the whole tree by default); jittable in start/end.
        ``start`` and ``end`` follow Python's slice rules (a negative one counts from the end, as in
        lagom; both are then clipped to ``[0, capacity]``)."""
        if isinstance(start, int) and start == 0 and end is None:
            return self.nodes[1]
        end = self.capacity if end is None else end
        start, end = jnp.asarray(start, jnp.int32), jnp.asarray(end, jnp.int32)
        lo = jnp.clip(jnp.where(start < 0, start + self.capacity, start), 0, self.capacity) + self.size
        hi = jnp.clip(jnp.where(end < 0, end + self.capacity, end), 0, self.capacity) + self.size
        acc = jnp.asarray(self.identity_element, self.nodes.dtype)
        ident = acc
        for _ in range(_levels(self.size) + 1):
            take_lo = (lo < hi) & (lo % 2 == 1)
            acc = self.operation(acc, jnp.where(take_lo, self.nodes[lo % (2 * self.size)], ident))
            lo = jnp.where(take_lo, lo + 1, lo)
            take_hi = (lo < hi) & (hi % 2 == 1)
            hi = jnp.where(take_hi, hi - 1, hi)
            acc = self.operation(acc, jnp.where(take_hi, self.nodes[hi % (2 * self.size)], ident))
            lo, hi = lo // 2, hi // 2
        return acc


@jax.tree_util.register_pytree_node_class
class SumTree(SegmentTree):
    """A segment tree of sums, with ``sum`` and batched ``find_prefixsum_index``.

    Example:
      >>> t = SumTree(4).update(jnp.arange(4), jnp.array([1., 2., 3., 4.]))
      >>> t.sum(), t.find_prefixsum_index(jnp.array([0.5, 2.9, 9.9]))
      (Array(10., dtype=float32), Array([0, 1, 3], dtype=int32))
    """

    def __init__(self, capacity: int, dtype=jnp.float32):
        super().__init__(capacity, jnp.add, 0.0, dtype)

    def sum(self, start=0, end=None):
        """Sum of ``leaf[start:end]``."""
        return self.reduce(start, end)

    def find_prefixsum_index(self, prefixsum):
        r"""Smallest ``i`` with ``leaf[0] + ... + leaf[i] > prefixsum``, batched over ``prefixsum``.

        Sampling ``prefixsum ~ U(0, total)`` draws ``i`` with probability ``leaf[i] / total``. Results
        are clipped to ``capacity - 1`` (a ``prefixsum >= total`` from rounding stays in range).

        Args:
          prefixsum: scalar or ``[N]``, non-negative.

        Returns:
          int32 indices of the same shape.
        """
        prefixsum = jnp.asarray(prefixsum, self.nodes.dtype)
        idx = jnp.ones(prefixsum.shape, jnp.int32)
        for _ in range(_levels(self.size)):
            left = self.nodes[2 * idx]
            go_left = left > prefixsum
            prefixsum = jnp.where(go_left, prefixsum, prefixsum - left)
            idx = jnp.where(go_left, 2 * idx, 2 * idx + 1)
        return jnp.minimum(idx - self.size, self.capacity - 1)


@jax.tree_util.register_pytree_node_class
class MinTree(SegmentTree):
    """A segment tree of minima, with ``min``."""

    def __init__(self, capacity: int, dtype=jnp.float32):
        super().__init__(capacity, jnp.minimum, float("inf"), dtype)

    def min(self, start=0, end=None):
        """Minimum of ``leaf[start:end]``."""
        return self.reduce(start, end)
