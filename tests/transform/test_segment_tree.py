import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lagomjax.transform import MinTree, SegmentTree, SumTree


def np_find(values, prefix):
    return int(np.searchsorted(np.cumsum(values), prefix, side="right"))


@pytest.mark.parametrize("capacity", [1, 4, 13, 64])
def test_sum_and_min_tree_against_numpy(capacity):
    rng = np.random.default_rng(capacity)
    sums, mins = SumTree(capacity), MinTree(capacity)
    ref = np.zeros(capacity)
    ref_min = np.full(capacity, np.inf)
    update_sum, update_min = jax.jit(SumTree.update), jax.jit(MinTree.update)
    for _ in range(5):
        idx = rng.integers(0, capacity, size=min(capacity, 6))
        val = rng.uniform(0.1, 2.0, size=idx.shape).astype(np.float32)
        sums, mins = update_sum(sums, idx, val), update_min(mins, idx, val)
        # reference: sequential writes, so the last duplicate wins
        for i, v in zip(idx, val, strict=True):
            ref[i] = v
            ref_min[i] = v
    np.testing.assert_allclose(sums.leaves, ref, rtol=1e-6)
    np.testing.assert_allclose(sums.sum(), ref.sum(), rtol=1e-5)
    np.testing.assert_allclose(mins.min(), ref_min.min(), rtol=1e-6)
    # every range [a, b) with b - a = 1 mod 3, traced start/end (one vmapped program; eager below)
    pairs = np.array([(a, b) for a in range(capacity) for b in range(a + 1, capacity + 1, 3)], np.int32)
    ranges = jax.jit(jax.vmap(lambda s, m, a, b: (s.sum(a, b), m.min(a, b)), in_axes=(None, None, 0, 0)))
    got_sum, got_min = ranges(sums, mins, pairs[:, 0], pairs[:, 1])
    np.testing.assert_allclose(got_sum, [ref[a:b].sum() for a, b in pairs], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got_min, [ref_min[a:b].min() for a, b in pairs], rtol=1e-6)
    # lagom: a negative end (and start) counts from the end, like a Python slice
    for a, b in [(0, -1), (-3, -1), (1, -capacity + 1), (-capacity, capacity)]:
        np.testing.assert_allclose(sums.sum(a, b), ref[a:b].sum(), rtol=1e-5, atol=1e-6)
        if ref_min[a:b].size:
            np.testing.assert_allclose(mins.min(a, b), ref_min[a:b].min(), rtol=1e-6)
    prefixes = rng.uniform(0, ref.sum(), size=50).astype(np.float32)
    found = jax.jit(SumTree.find_prefixsum_index)(sums, prefixes)
    expected = [min(np_find(ref, p), capacity - 1) for p in prefixes]
    np.testing.assert_array_equal(found, expected)


def test_duplicate_indices_last_wins_and_out_of_range_dropped():
    """Concrete out-of-range indices raise (tests/test_bad_inputs.py); traced ones are dropped."""
    update = jax.jit(lambda t, i, v: t.update(i, v))
    t = update(SumTree(8), jnp.array([2, 2, 2, 9, -1]), jnp.array([1.0, 5.0, 3.0, 100.0, 100.0]))
    assert float(t[2]) == 3.0
    assert float(t.sum()) == 3.0


def test_sampling_frequencies_follow_priorities():
    t = SumTree(4).update(jnp.arange(4), jnp.array([1.0, 2.0, 3.0, 4.0]))
    u = jax.random.uniform(jax.random.key(0), (40_000,)) * t.sum()
    counts = np.bincount(np.asarray(t.find_prefixsum_index(u)), minlength=4) / 40_000
    np.testing.assert_allclose(counts, [0.1, 0.2, 0.3, 0.4], atol=0.01)


def test_tree_is_a_pytree_through_scan_without_retrace():
    traces = []

    def step(tree, x):
        traces.append(1)
        i, v = x
        return tree.update(i, v), tree.sum()

    run = jax.jit(lambda tree, xs: jax.lax.scan(step, tree, xs))
    xs = (jnp.arange(10) % 4, jnp.arange(10, dtype=jnp.float32))
    tree, partial = run(SumTree(4), xs)
    run(tree, xs)
    assert len(traces) == 1
    np.testing.assert_allclose(tree.sum(), 6 + 7 + 8 + 9)
    assert tree.nodes.dtype == jnp.float32


def test_generic_segment_tree_and_errors():
    t = SegmentTree(5, jnp.maximum, -np.inf).update(jnp.array([0, 4]), jnp.array([3.0, 7.0]))
    assert float(t.reduce()) == 7.0 and float(t.reduce(0, 3)) == 3.0
    with pytest.raises(ValueError, match="capacity"):
        SumTree(0)
    with pytest.raises(ValueError, match="index must be"):
        SumTree(4).update(jnp.zeros((2, 2), int), 1.0)
