import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lagomjax.transform import RunningMeanVar, mean_var_init, mean_var_update


def batches(seed=0, shape=(3,)):
    rng = np.random.default_rng(seed)
    return [rng.normal(2.0, 3.0, (n, *shape)) for n in (1, 7, 50, 3)]


def test_class_matches_numpy_moments():
    f = RunningMeanVar(shape=(3,))
    np.testing.assert_array_equal(f.mean, 0.0)
    np.testing.assert_array_equal(f.var, 1.0)
    assert f.n == 0 and isinstance(f.n, int)
    data = batches()
    for x in data:
        f(x)
    allx = np.concatenate(data)
    # the 1e-8 pseudo-count of the prior (mean 0, var 1) shifts the moments by ~1e-10 relative
    np.testing.assert_allclose(f.mean, allx.mean(0), rtol=1e-9)
    np.testing.assert_allclose(f.var, allx.var(0), rtol=1e-9)
    assert f.n == len(allx) and isinstance(f.n, int)
    assert f.mean.dtype == np.float64


def test_exact_chan_formula_with_pseudo_count():
    """Including the prior as a weighted pseudo-sample gives the exact merged moments."""
    f = RunningMeanVar(shape=())
    x = np.array([1.0, 2.0, 4.0])
    f(x)
    n0 = 1e-8
    n = n0 + 3
    mean = (0.0 * n0 + x.sum()) / n
    var = (n0 * (1.0 + (0.0 - mean) ** 2) + ((x - mean) ** 2).sum()) / n
    np.testing.assert_allclose([f.mean, f.var], [mean, var], rtol=1e-12)


def test_functional_form_matches_class_and_jits():
    data = batches(1)
    f = RunningMeanVar(shape=(3,))
    state = mean_var_init((3,))
    update = jax.jit(mean_var_update)
    for x in data:
        f(x)
        state = update(state, jnp.asarray(x, jnp.float32))
    np.testing.assert_allclose(state.mean, f.mean, rtol=1e-5)
    np.testing.assert_allclose(state.var, f.var, rtol=1e-4)
    assert state.mean.dtype == jnp.float32 and state.count.dtype == jnp.float32


def test_functional_form_keeps_dtype_in_scan_and_x64():
    xs = jnp.asarray(np.random.default_rng(2).standard_normal((5, 4, 2)), jnp.float32)
    final, _ = jax.lax.scan(lambda s, x: (mean_var_update(s, x), None), mean_var_init((2,)), xs)
    np.testing.assert_allclose(final.mean, xs.reshape(-1, 2).mean(0), rtol=1e-4, atol=1e-6)
    with jax.enable_x64(True):
        assert mean_var_init((2,)).mean.dtype == jnp.float64


def test_shape_errors():
    with pytest.raises(ValueError, match=r"x must be \[N, \*shape\]"):
        RunningMeanVar(shape=(3,))(np.zeros(3))
    with pytest.raises(ValueError, match=r"x.shape=\(4, 2\)"):
        mean_var_update(mean_var_init((3,)), np.zeros((4, 2)))


def test_an_empty_batch_leaves_the_moments_alone():
    state = mean_var_update(mean_var_init((2,)), jnp.ones((4, 2)))
    same = mean_var_update(state, jnp.zeros((0, 2)))
    for a, b in zip(jax.tree.leaves(state), jax.tree.leaves(same), strict=True):
        np.testing.assert_array_equal(a, b)
    f = RunningMeanVar((2,))
    f(np.ones((3, 2)))
    f(np.zeros((0, 2)))
    assert f.n == 3 and np.all(np.isfinite(f.var))
    np.testing.assert_allclose(f.mean, 1.0, rtol=1e-7)
