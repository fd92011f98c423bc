import jax
import numpy as np
import pytest

from lagomjax.transform import explained_variance, rank_transform


def np_explained_variance(y, p):
    y, p = np.asarray(y, np.float64), np.asarray(p, np.float64)
    cols = y.reshape(len(y), -1).T, p.reshape(len(p), -1).T
    return np.mean([1 - np.var(a - b) / np.var(a) for a, b in zip(*cols, strict=True)])


def test_explained_variance_lagom_values():
    np.testing.assert_allclose(explained_variance([3, -0.5, 2, 7], [2.5, 0, 2, 8]), 0.9571734, 1e-6)
    np.testing.assert_allclose(
        explained_variance([[0.5, 1], [-1, 1], [7, -6]], [[0, 2], [-1, 2], [8, -5]]), 0.9838709, 1e-6
    )


@pytest.mark.parametrize("shape", [(50,), (50, 3)])
def test_explained_variance_random_and_jit(shape):
    rng = np.random.default_rng(0)
    y = rng.standard_normal(shape)
    p = y + 0.3 * rng.standard_normal(shape)
    np.testing.assert_allclose(jax.jit(explained_variance)(y, p), np_explained_variance(y, p), rtol=1e-5)


def test_explained_variance_squeezes_singleton_axes_as_lagom():
    np.testing.assert_allclose(explained_variance([[3, -0.5, 2, 7]], [[2.5, 0, 2, 8]]), 0.9571734, 1e-6)
    np.testing.assert_allclose(explained_variance([[3], [-0.5], [2], [7]], [[2.5], [0], [2], [8]]), 0.9571734, 1e-6)


def test_explained_variance_constant_target_is_finite():
    assert float(explained_variance([1.0, 1.0, 1.0], [1.0, 1.0, 1.0])) == 1.0
    assert float(explained_variance([1.0, 1.0, 1.0], [0.0, 1.0, 2.0])) == 0.0


def test_explained_variance_shape_mismatch():
    with pytest.raises(ValueError, match=r"y_pred.*\(3,\).*y_true.*\(4,\)"):
        explained_variance([1, 2, 3, 4], [1, 2, 3])


def test_rank_transform_lagom_values():
    np.testing.assert_allclose(rank_transform([3, 14, 1]), [0, 0.5, -0.5])
    np.testing.assert_array_equal(rank_transform([3, 14, 1], centered=False), [1, 2, 0])


def test_rank_transform_random_batched_jit():
    x = np.random.default_rng(0).standard_normal((4, 10))
    ranks = jax.jit(rank_transform, static_argnums=1)(x, False)
    for row in range(4):
        np.testing.assert_array_equal(ranks[row], np.argsort(np.argsort(x[row])))
    centred = rank_transform(x)
    np.testing.assert_allclose(centred.min(-1), -0.5)
    np.testing.assert_allclose(centred.max(-1), 0.5)


def test_zero_where_resets_leaves_by_leading_mask():
    import jax.numpy as jnp

    from lagomjax.transform import zero_where

    carry = (jnp.ones((3, 4)), jnp.full((3, 2, 5), 2.0))
    h, c = zero_where(jnp.array([True, False, True]), carry)
    np.testing.assert_array_equal(h, [[0] * 4, [1] * 4, [0] * 4])
    np.testing.assert_array_equal(c[1], 2.0)
    assert float(jnp.abs(c[0]).sum() + jnp.abs(c[2]).sum()) == 0.0
    assert zero_where(jnp.array([True]), None) is None
    ints = zero_where(jnp.array([True, False]), jnp.array([[3, 4], [5, 6]], jnp.int32))
    assert ints.dtype == jnp.int32 and ints.tolist() == [[0, 0], [5, 6]]


@pytest.mark.parametrize("batch", [(5,), (2, 3)])
@pytest.mark.parametrize("jit", [False, True])
def test_select_where_picks_leaves_by_leading_mask_as_a_loop_does(batch, jit):
    import jax.numpy as jnp

    from lagomjax.transform import select_where

    rng = np.random.default_rng(0)
    mask = rng.random(batch) < 0.5
    new = {"obs": rng.normal(size=(*batch, 4)).astype(np.float32), "t": rng.integers(0, 9, batch).astype(np.int32)}
    old = {"obs": rng.normal(size=(*batch, 4)).astype(np.float32), "t": rng.integers(0, 9, batch).astype(np.int32)}
    f = jax.jit(select_where) if jit else select_where
    out = f(jnp.asarray(mask), new, old)
    for name in new:
        want = np.array(old[name])
        for index in np.ndindex(*batch):  # the plain loop
            if mask[index]:
                want[index] = new[name][index]
        np.testing.assert_array_equal(out[name], want)
        assert out[name].dtype == new[name].dtype


def np_sort_permutation(bits, n):
    """The permutation a stable sort by ``bits`` (rounds of random keys) makes, by a plain loop."""
    perm = list(range(n))
    for round_bits in bits:
        order = sorted(range(n), key=lambda i: (round_bits[i], i))
        perm = [perm[i] for i in order]
    return perm


@pytest.mark.parametrize("n", [1, 2, 5, 128, 512, 1000])
def test_permutation_is_a_stable_sort_by_random_keys(n):
    import jax.numpy as jnp

    from lagomjax.transform import permutation

    key = jax.random.key(n)
    perm = np.asarray(jax.jit(permutation, static_argnums=1)(key, n))
    assert perm.dtype == np.int32 and sorted(perm.tolist()) == list(range(n))
    # the same permutation from the same random high bits, by a plain stable sort
    index_bits = max(1, (n - 1).bit_length())
    rounds = max(1, int(np.ceil(3 * np.log2(n) / (32 - index_bits)))) if n > 1 else 1
    high = ~np.uint32((1 << index_bits) - 1)
    keys = jax.random.split(key, rounds)
    bits = [np.asarray(jax.random.bits(k, (n,), jnp.uint32)) & high for k in keys]
    assert perm.tolist() == np_sort_permutation(bits, n)
    np.testing.assert_array_equal(permutation(key, n), perm)  # eager equals jit


def test_permutation_uniform_batched_and_compiled_once():
    from lagomjax.transform import permutation

    draws = jax.jit(jax.vmap(permutation, in_axes=(0, None)), static_argnums=1)
    perms = np.asarray(draws(jax.random.split(jax.random.key(0), 24_000), 4))
    counts = np.unique(perms @ 4 ** np.arange(4), return_counts=True)[1]
    assert len(counts) == 24  # every permutation of 4 appears
    chi2 = float(np.sum((counts - 1000.0) ** 2 / 1000.0))
    assert chi2 < 49.7, chi2  # 23 degrees of freedom, p = 0.001
    positions = np.asarray(draws(jax.random.split(jax.random.key(1), 2_000), 512))
    np.testing.assert_allclose(positions.mean(0), 255.5, atol=15)  # no index drifts to one end
    draws(jax.random.split(jax.random.key(2), 2_000), 512)
    assert draws._cache_size() == 2  # one program per n, none for new keys


def test_permutation_large_n_and_bad_n():
    from lagomjax.transform import permutation

    n = 2**16 + 3  # past the packed sort: jax.random.permutation
    np.testing.assert_array_equal(permutation(jax.random.key(0), n), jax.random.permutation(jax.random.key(0), n))
    for bad in (0, -3, 2.5, "4"):
        with pytest.raises(ValueError, match="n must be a positive int"):
            permutation(jax.random.key(0), bad)
