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
