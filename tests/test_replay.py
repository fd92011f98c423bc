"""The replay buffer pytree: ring-buffer writes, uniform and prioritised sampling, importance weights."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lagomjax import replay


def _example():
    return {"obs": jnp.zeros(3), "actions": jnp.zeros((), jnp.int32), "rewards": jnp.zeros(())}


def _batch(start, n):
    i = jnp.arange(start, start + n)
    return {"obs": jnp.stack([i, i, i], 1).astype(jnp.float32), "actions": i, "rewards": i.astype(jnp.float32)}


def test_ring_buffer_overwrites_oldest_and_keeps_dtypes():
    buf = replay.init(_example(), capacity=5)
    add = jax.jit(replay.add)
    buf = add(buf, _batch(0, 3))
    assert int(buf.size) == 3 and int(buf.pos) == 3
    buf = add(buf, _batch(3, 3))  # 6 items into 5 slots: item 0 is overwritten by item 5
    assert int(buf.size) == 5 and int(buf.pos) == 1
    np.testing.assert_array_equal(buf.data["actions"], [5, 1, 2, 3, 4])
    assert buf.data["actions"].dtype == jnp.int32 and buf.data["obs"].dtype == jnp.float32
    assert add._cache_size() == 1


def test_uniform_sampling_only_from_stored():
    buf = replay.add(replay.init(_example(), capacity=100), _batch(0, 7))
    batch, idx, weights = jax.jit(replay.sample, static_argnums=2)(buf, jax.random.key(0), 2000)
    assert int(idx.max()) == 6 and int(idx.min()) == 0
    np.testing.assert_array_equal(batch["actions"], idx)
    np.testing.assert_array_equal(weights, 1.0)
    counts = np.bincount(np.asarray(idx), minlength=7)
    assert counts.min() > 2000 / 7 * 0.7


def test_prioritised_sampling_frequencies_and_weights():
    alpha, beta = 0.6, 0.4
    buf = replay.init(_example(), capacity=8, prioritized=True, alpha=alpha)
    buf = replay.add(buf, _batch(0, 4))
    priorities = jnp.array([1.0, 2.0, 4.0, 8.0])
    buf = replay.update_priorities(buf, jnp.arange(4), priorities)
    p = np.asarray(priorities) ** alpha
    probs = p / p.sum()
    _, idx, weights = replay.sample(buf, jax.random.key(1), 40_000, beta)
    freq = np.bincount(np.asarray(idx), minlength=4) / 40_000
    np.testing.assert_allclose(freq, probs, atol=0.01)
    expected = (4 * probs) ** -beta / ((4 * probs.min()) ** -beta)  # normalised by the largest weight
    np.testing.assert_allclose(np.asarray(weights), expected[np.asarray(idx)], rtol=1e-4)
    # new transitions enter with the largest priority seen so far
    buf = replay.add(buf, _batch(4, 1))
    np.testing.assert_allclose(float(buf.sum_tree[4]), 8.0**alpha, rtol=1e-6)
    assert float(buf.max_priority) == 8.0


def test_bad_input():
    buf = replay.init(_example(), capacity=4)
    with pytest.raises(ValueError, match="capacity"):
        replay.add(buf, _batch(0, 5))
    with pytest.raises(ValueError, match="structure"):
        replay.add(buf, {"obs": jnp.zeros((2, 3))})
    with pytest.raises(ValueError, match="capacity"):
        replay.init(_example(), capacity=0)
    with pytest.raises(ValueError, match="update_priorities needs a prioritised buffer"):
        replay.update_priorities(buf, jnp.array([0]), jnp.array([1.0]))
